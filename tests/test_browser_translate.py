"""Translate in real headless Chromium against a real `microblog serve` whose translator is a
LibreTranslate stand-in (issue 13): in place and back, on a post that arrives live, and an
inline error when the service fails or hangs."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from playwright.async_api import expect

from microblog.settings import Settings
from microblog.testing_translators import LibreTranslateStandIn, settings_for
from tests.conftest import Server, artifact, start_server
from tests.test_browser import register_and_login
from tests.test_browser_search import api_author, api_post, sign_in

SPANISH = "Hola a todos, hoy hace un día precioso en la playa con mis amigos"
SPANISH_COMMENT = "Qué buena idea, me encanta esta foto"
ENGLISH = "Good morning everyone, the weather is lovely at the beach today"
LIVE = "¡Mañana vamos al mercado a comprar fruta fresca!"
LATER = "Gracias por la receta, la haré este fin de semana con mi familia"
TRANSLATED = LibreTranslateStandIn.translation
DANGER = re.compile(r"(^|\s)text-danger(\s|$)")


@pytest.fixture
async def libre() -> AsyncIterator[LibreTranslateStandIn]:
    async with LibreTranslateStandIn() as standin:
        yield standin


@pytest.fixture
def translating_server(settings: Settings, worker: Any,
                       libre: LibreTranslateStandIn) -> Iterator[Server]:
    """A server that translates with the stand-in, and gives up on it after 2 s."""
    s = start_server(settings.with_(**settings_for(libre), translator_timeout=2.0))
    yield s
    s.stop()


async def comment_as(page: Any, base: str, post_id: int, body: str) -> int:
    """A comment written on the post's page (there is no API for comments)."""
    await page.goto(f"{base}/post/{post_id}")
    before = await page.locator(".comment[data-comment-id]").count()
    await page.fill("#body", body)
    await page.click("#submit")
    await expect(page.locator(".comment[data-comment-id]")).to_have_count(before + 1)
    return int(await page.locator(".comment[data-comment-id]").last.get_attribute(
        "data-comment-id") or 0)


async def test_translate_in_place_live_and_failing(translating_server, libre, browser, db):
    base = translating_server.url
    bob_ctx = await browser.new_context()
    alice_ctx = await browser.new_context(viewport={"width": 1280, "height": 800},
                                          locale="en-US")
    phone_ctx = await browser.new_context(viewport={"width": 390, "height": 844},
                                          device_scale_factor=2, is_mobile=True, has_touch=True,
                                          locale="en-US")
    visitor_ctx = await browser.new_context(locale="en-US")
    alice = await alice_ctx.new_page()
    errors: list[str] = []
    alice.on("pageerror", lambda exc: errors.append(str(exc)))
    try:
        bob = await api_author(bob_ctx.request, base, "bob")
        post_id = await api_post(bob_ctx.request, base, bob, SPANISH)
        await api_post(bob_ctx.request, base, bob, ENGLISH)
        bob_page = await bob_ctx.new_page()
        await sign_in(bob_page, base, "bob")
        comment_id = await comment_as(bob_page, base, post_id, SPANISH_COMMENT)
        await register_and_login(alice, base, "alice")

        # the post's page: a Translate control under the Spanish post and comment
        await alice.goto(f"{base}/post/{post_id}")
        card = alice.locator(f'article.post[data-post-id="{post_id}"]')
        body = card.locator(".post-body")
        control = card.locator('[data-translate="post"]')
        button = control.locator(".translate-button")
        note = control.locator(".translate-note")
        await expect(button).to_have_text("Translate")
        assert await note.get_attribute("aria-live") == "polite"
        await expect(body).to_have_text(SPANISH)

        await button.click()
        await expect(body).to_have_text(TRANSLATED(SPANISH, "en"))
        await expect(note).to_have_text("Translated from Spanish · LibreTranslate · Show original")
        await expect(button).to_be_hidden()
        assert await body.get_attribute("lang") == "en"
        # the keyboard is where it was: on the way back
        await expect(note.locator("button.translate-original")).to_be_focused()
        assert len(libre.translate_calls()) == 1
        await alice.mouse.move(0, 0)
        await alice.screenshot(path=artifact("translate-post.png"))

        # the comment too
        comment = alice.locator(f'.comment[data-comment-id="{comment_id}"]')
        await comment.locator(".translate-button").click()
        await expect(comment.locator(".comment-body")).to_have_text(
            TRANSLATED(SPANISH_COMMENT, "en"))
        await expect(comment.locator(".translate-note")).to_contain_text("Show original")
        assert len(libre.translate_calls()) == 2
        await alice.screenshot(path=artifact("translate-comment.png"))

        # back and forth: the stored translation, no second request
        await note.get_by_role("button", name="Show original").click()
        await expect(body).to_have_text(SPANISH)
        await expect(button).to_have_text("Show translation")
        await expect(button).to_be_focused()
        await expect(note).to_have_text("")
        assert await body.get_attribute("lang") is None
        await button.click()
        await expect(body).to_have_text(TRANSLATED(SPANISH, "en"))
        await note.get_by_role("button", name="Show original").click()
        await expect(body).to_have_text(SPANISH)
        assert len(libre.translate_calls()) == 2

        # the explore timeline: only the Spanish post has the control; one that arrives live
        # gets a working one too
        await alice.goto(f"{base}/explore")
        await expect(alice.locator("#live-status")).to_have_attribute("data-state", "live")
        assert await alice.locator("[data-translate]").count() == 1
        live_id = await api_post(bob_ctx.request, base, bob, LIVE)
        live = alice.locator(f'article.post[data-post-id="{live_id}"]')
        await expect(live.locator(".translate-button")).to_have_text("Translate")
        english_live = await api_post(bob_ctx.request, base, bob, "See you all at the market")
        await expect(alice.locator(f'article.post[data-post-id="{english_live}"]')).to_be_visible()
        assert await alice.locator(
            f'article.post[data-post-id="{english_live}"] [data-translate]').count() == 0
        await live.locator(".translate-button").click()
        await expect(live.locator(".post-body")).to_have_text(TRANSLATED(LIVE, "en"))
        await expect(live.locator(".translate-note")).to_have_text(
            "Translated from Spanish · LibreTranslate · Show original")
        await alice.mouse.move(0, 0)
        # once the new cards' highlight has faded
        await alice.evaluate("Promise.all(document.getAnimations().map((a) => a.finished))")
        await alice.screenshot(path=artifact("translate.png"))  # copied to docs/ for README.md

        # a comment that arrives live on the post's page
        await alice.goto(f"{base}/post/{post_id}")
        await expect(alice.locator("#live-status")).to_have_attribute("data-state", "live")
        live_comment = await comment_as(bob_page, base, post_id, LATER)
        later = alice.locator(f'.comment[data-comment-id="{live_comment}"]')
        await later.locator(".translate-button").click()
        await expect(later.locator(".comment-body")).to_have_text(TRANSLATED(LATER, "en"))

        # the service fails: an inline error, the text as it was, and Translate again
        failing_id = await api_post(bob_ctx.request, base, bob,
                                    "Esta noche cenamos en casa de la abuela, como siempre")
        await alice.goto(f"{base}/post/{failing_id}")
        failing = alice.locator(f'article.post[data-post-id="{failing_id}"]')
        f_button = failing.locator(".translate-button")
        f_note = failing.locator(".translate-note")
        libre.fail(503)
        await f_button.click()
        await expect(f_note).to_contain_text("Translation is unavailable right now")
        await expect(f_note).to_contain_text("LibreTranslate")
        await expect(f_note).to_have_class(DANGER)
        await expect(failing.locator(".post-body")).to_have_text(
            "Esta noche cenamos en casa de la abuela, como siempre")
        await expect(f_button).to_have_text("Translate")
        await expect(f_button).to_be_enabled()
        await alice.screenshot(path=artifact("translate-error.png"))

        # it hangs: the server gives up after its timeout, the page says so
        libre.hang()
        await f_button.click()
        await expect(f_button).to_have_text("Translating…")
        await expect(f_button).to_be_disabled()
        await expect(f_note).to_contain_text("did not answer in time", timeout=15_000)
        await expect(f_button).to_be_enabled()

        # it recovers: the same control works
        libre.recover()
        await f_button.click()
        await expect(failing.locator(".post-body")).to_have_text(
            TRANSLATED("Esta noche cenamos en casa de la abuela, como siempre", "en"))
        await expect(f_note).not_to_have_class(DANGER)

        # a visitor sees the control; translating asks them to sign in
        visitor = await visitor_ctx.new_page()
        visitor.on("pageerror", lambda exc: errors.append(str(exc)))
        await visitor.goto(f"{base}/post/{post_id}")
        v_card = visitor.locator(f'article.post[data-post-id="{post_id}"]')
        await v_card.locator(".translate-button").click()
        login_link = v_card.locator(".translate-note a")
        await expect(login_link).to_have_text("Sign in to translate")
        assert await login_link.get_attribute("href") == (
            f"/auth/login?next=%2Fpost%2F{post_id}")
        await expect(v_card.locator(".post-body")).to_have_text(SPANISH)

        # a phone
        phone = await phone_ctx.new_page()
        phone.on("pageerror", lambda exc: errors.append(str(exc)))
        await phone.goto(f"{base}/auth/login")
        await phone.fill("#username", "alice")
        await phone.fill("#password", "browser pass 1")
        await phone.click("#submit")
        await phone.wait_for_url(f"{base}/")
        await phone.goto(f"{base}/post/{post_id}")
        p_card = phone.locator(f'article.post[data-post-id="{post_id}"]')
        await p_card.locator(".translate-button").click()
        await expect(p_card.locator(".translate-note")).to_contain_text("Show original")
        p_comment = phone.locator(f'.comment[data-comment-id="{comment_id}"]')
        await p_comment.locator(".translate-button").click()
        await expect(p_comment.locator(".translate-note")).to_contain_text("Show original")
        width = await phone.evaluate("document.documentElement.scrollWidth")
        assert width <= 390, f"the page scrolls sideways ({width}px)"
        await phone.screenshot(path=artifact("translate-phone.png"))

        assert not errors, errors
    finally:
        libre.recover()
        for ctx in (alice_ctx, bob_ctx, phone_ctx, visitor_ctx):
            await ctx.close()
