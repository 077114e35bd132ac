"""Search in real headless Chromium against a real `microblog serve`: the navbar box and its
keys, highlighted results, and a matching post arriving live behind the "new posts" bar."""

from __future__ import annotations

import base64
from typing import Any

from tests.conftest import artifact
from tests.helpers import sign_in_browser
from tests.test_browser import register_and_login

PASSWORD = "browser pass 1"
POSTS = [
    "First ripe tomatoes from the garden today! #gardening",
    "Tomato soup weather. Who has a good recipe?",
    "Planted basil next to the tomatoes: they like each other",
    "<b>Not bold</b>: a tomato is a fruit, botanically speaking",
    "Our cat sleeps in the sun all day",
]


async def api_author(request: Any, base: str, username: str) -> dict[str, str]:
    """A user made through the API, and the headers that post as them."""
    response = await request.post(f"{base}/api/users", data={
        "username": username, "email": f"{username}@example.com", "password": PASSWORD})
    assert response.status == 201, await response.text()
    basic = base64.b64encode(f"{username}:{PASSWORD}".encode()).decode()
    response = await request.post(f"{base}/api/tokens",
                                  headers={"Authorization": f"Basic {basic}"})
    assert response.status == 200, await response.text()
    return {"Authorization": f"Bearer {(await response.json())['token']}"}


async def api_post(request: Any, base: str, headers: dict[str, str], body: str) -> int:
    response = await request.post(f"{base}/api/posts", data={"body": body}, headers=headers)
    assert response.status == 201, await response.text()
    return int((await response.json())["id"])


async def sign_in(page: Any, base: str, username: str) -> None:
    await sign_in_browser(page, base, username, PASSWORD)


async def test_search_from_the_navbar_then_a_live_result(server, browser, db):
    base = server.url
    alice_ctx = await browser.new_context(viewport={"width": 1280, "height": 900})
    bob_ctx = await browser.new_context()
    phone_ctx = await browser.new_context(viewport={"width": 390, "height": 844},
                                          device_scale_factor=2, is_mobile=True, has_touch=True)
    alice = await alice_ctx.new_page()
    errors: list[str] = []
    alice.on("pageerror", lambda exc: errors.append(str(exc)))
    try:
        bob = await api_author(bob_ctx.request, base, "bob")
        for body in POSTS:
            await api_post(bob_ctx.request, base, bob, body)
        await register_and_login(alice, base, "alice")

        # "/" while typing in a field types a "/"; elsewhere it goes to the search box
        await alice.click("#post")
        await alice.keyboard.type("a/b")
        assert await alice.input_value("#post") == "a/b"
        assert await alice.evaluate("document.activeElement.id") == "post"
        await alice.fill("#post", "")
        await alice.evaluate("document.activeElement.blur()")
        await alice.keyboard.press("/")
        assert await alice.evaluate("document.activeElement.id") == "navbar-q"
        assert await alice.input_value("#navbar-q") == ""  # the "/" was not typed
        await alice.keyboard.press("Escape")
        assert await alice.evaluate("document.activeElement.id") != "navbar-q"

        await alice.keyboard.press("/")
        await alice.keyboard.type("tomato")
        await alice.keyboard.press("Enter")
        await alice.wait_for_url(f"{base}/search?q=tomato")
        await alice.wait_for_selector("#search-results article.post mark")
        bodies = await alice.locator("#search-results .post-body").all_inner_texts()
        assert len(bodies) == 4 and POSTS[4] not in bodies
        assert POSTS[3] in bodies  # the markup in a post is text
        marks = await alice.locator("#search-results mark").all_inner_texts()
        assert {m.lower() for m in marks} == {"tomato", "tomatoes"}
        assert await alice.locator("#search-results b").count() == 0
        assert await alice.input_value("#search-q") == "tomato"
        assert "tomato" in await alice.title()

        # bob posts a matching post (and one that does not match): alice's results get the
        # "new posts" bar; a click shows the post on top, highlighted
        await alice.wait_for_selector("#search-results[data-live=on]")
        await api_post(bob_ctx.request, base, bob, "Nothing to do with the search")
        fresh = await api_post(bob_ctx.request, base, bob,
                               "Fresh tomato salad with basil for lunch")
        bar = await alice.wait_for_selector("#new-posts:not(.d-none) button", timeout=10_000)
        assert await bar.inner_text() == "1 new post"
        assert await alice.locator("#search-results article.post").count() == 4
        await bar.click()
        first = alice.locator("#search-results article.post").first
        assert await first.get_attribute("data-post-id") == str(fresh)
        assert await first.locator(".post-body").inner_text() == (
            "Fresh tomato salad with basil for lunch")
        assert await first.locator("mark").all_inner_texts() == ["tomato"]
        assert await alice.is_hidden("#new-posts")
        assert await alice.locator("#search-results article.post").count() == 5
        assert await alice.inner_text("#search-count") == "5 results"
        assert await alice.evaluate("performance.getEntriesByType('navigation').length") == 1

        await alice.wait_for_timeout(2200)  # the new card's highlight fades
        await alice.screenshot(path=artifact("search.png"))  # copied to docs/ for README.md
        await alice.screenshot(path=artifact("search-desktop-full.png"), full_page=True)

        # the navbar stays one row from tablets up
        for width in (1280, 992, 768):
            await alice.set_viewport_size({"width": width, "height": 900})
            height = await alice.evaluate("document.querySelector('nav.navbar').offsetHeight")
            assert height < 70, f"the navbar wraps at {width}px ({height}px high)"
            await alice.screenshot(path=artifact(f"search-{width}.png"))
            assert await alice.is_visible("#navbar-q")
        await alice.focus("#navbar-q")  # on a tablet the icon opens into a box
        # a function, not an expression: Playwright polls an expression with eval(), which
        # the page's Content-Security-Policy refuses
        await alice.wait_for_function(
            "() => document.getElementById('navbar-q').offsetWidth > 250")
        await alice.screenshot(path=artifact("search-768-focused.png"))
        await alice.keyboard.press("Escape")
        await alice.set_viewport_size({"width": 1280, "height": 900})

        # the People and Tags tabs keep the query
        await alice.click(".nav-tabs >> text=People")
        await alice.wait_for_url(f"{base}/search?q=tomato&type=users")
        await alice.goto(f"{base}/search?q=%23garden&type=tags")
        await alice.click("text=#gardening")
        await alice.wait_for_url(f"{base}/search?q=%23gardening")
        assert await alice.locator("#search-results article.post").count() == 1

        # a phone: the box is in the navbar without opening the menu
        phone = await phone_ctx.new_page()
        await sign_in(phone, base, "alice")
        assert await phone.is_visible("#navbar-q")
        assert await phone.is_hidden("#nav")  # the collapsed menu
        await phone.fill("#navbar-q", "tomato")
        await phone.press("#navbar-q", "Enter")
        await phone.wait_for_selector("#search-results mark")
        width = await phone.evaluate("document.documentElement.scrollWidth")
        assert width <= 390, f"the page scrolls sideways ({width}px)"
        await phone.screenshot(path=artifact("search-phone.png"))
        assert not errors, errors
    finally:
        await alice_ctx.close()
        await bob_ctx.close()
        await phone_ctx.close()


async def test_a_bad_query_and_the_help(server, browser, db):
    base = server.url
    ctx = await browser.new_context(viewport={"width": 1000, "height": 800})
    page = await ctx.new_page()
    try:
        await register_and_login(page, base, "carol")
        await page.goto(f"{base}/search")
        assert await page.evaluate("document.activeElement.id") == "search-q"
        assert await page.is_visible("details.search-help[open] >> text=from:me")
        response = await page.goto(f"{base}/search?q=lang%3Aenglish")
        assert response is not None and response.status == 400
        assert await page.inner_text("#search-error") == (
            "lang: needs a language code, like lang:es.")
        assert await page.is_visible("details.search-help[open]")
        # the page's own box: "/" focuses it, Escape leaves it
        await page.evaluate("document.activeElement.blur()")
        await page.keyboard.press("/")
        assert await page.evaluate("document.activeElement.id") == "search-q"
        await page.keyboard.press("Escape")
        assert await page.evaluate("document.activeElement.id") != "search-q"
        assert await page.input_value("#search-q") == "lang:english"  # kept
        await page.screenshot(path=artifact("search-bad-query.png"))
    finally:
        await ctx.close()
