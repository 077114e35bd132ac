"""The composer and the people around it in real headless Chromium against a real `microblog
serve`: the counter counts as the server does, the schedule field behind its clock button,
@mention suggestions, the card over a username; on a desktop and on a phone."""

from __future__ import annotations

import re
from typing import Any

from playwright.async_api import expect

from microblog.limits import POST_MAX
from microblog.services import posts, social
from tests.conftest import artifact
from tests.helpers import make_user, sign_in_browser
from tests.test_accessibility import axe, report

PASSWORD = "composer pass 1"
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}
EMOJI = "😀"


async def sign_in(page: Any, base: str, username: str) -> None:
    await sign_in_browser(page, base, username, PASSWORD)


async def people() -> None:
    alice = await make_user("alice", PASSWORD)
    bob = await make_user("bob", PASSWORD)
    await make_user("bobby", PASSWORD)
    carol = await make_user("carol", PASSWORD)
    await bob.update_from_dict({"about_me": "Tomatoes and <soup>"}).save()
    await posts.create_post(bob, "Who has a soup recipe? #cooking")
    await posts.create_post(carol, "Bread today, @bob #baking")
    await social.follow(carol, bob)
    await social.follow(alice, carol)


async def test_counter_schedule_and_mentions_on_a_desktop(server, browser, db):
    await people()
    ctx = await browser.new_context(viewport=DESKTOP)
    page = await ctx.new_page()
    try:
        await sign_in(page, server.url, "alice")
        counter = page.locator('[data-counter-for="post"]')
        submit = page.locator("#submit")
        await expect(counter).to_have_text(str(POST_MAX))

        # the counter counts an emoji as one, as the server does
        await page.fill("#post", f"Hi {EMOJI}")
        await expect(counter).to_have_text(str(POST_MAX - 4))
        await page.fill("#post", EMOJI * POST_MAX)
        await expect(counter).to_have_text("0")
        assert await page.input_value("#post") == EMOJI * POST_MAX  # not cut at half
        await expect(submit).to_be_enabled()
        # (the browser's maxlength, in UTF-16 units, is twice the limit: this is 560 of them)
        await page.fill("#post", EMOJI * (POST_MAX - 1) + "ab")
        await expect(counter).to_have_text("-1")
        await expect(counter).to_have_class(re.compile(r"(^|\s)text-danger(\s|$)"))
        await expect(submit).to_be_disabled()
        await page.screenshot(path=artifact("composer-over-limit.png"))
        await page.fill("#post", "")
        await expect(submit).to_be_enabled()

        # "Schedule for later" waits behind the clock button
        clock = page.locator("[data-schedule-toggle]")
        await expect(page.locator("#publish_at")).to_be_hidden()
        await expect(clock).to_have_attribute("aria-expanded", "false")
        await clock.click()
        await expect(page.locator("#publish_at")).to_be_visible()
        await expect(page.locator("#publish_at")).to_be_focused()
        await expect(clock).to_have_attribute("aria-expanded", "true")
        await expect(page.locator("#publish_at-help")).to_contain_text("Your local time.")
        await page.screenshot(path=artifact("composer-schedule-open.png"))
        await clock.click()
        await expect(page.locator("#publish_at")).to_be_hidden()

        # @mention suggestions: "@bo" offers bob and bobby; Enter takes the one in focus
        await page.click("#post")
        await page.keyboard.type("Soup with @bo")
        options = page.locator("#mentions-post [role=option]")
        await expect(options).to_have_text(["bob", "bobby"])
        area = page.locator("#post")
        await expect(area).to_have_attribute("aria-activedescendant", "mentions-post-0")
        await expect(options.nth(0)).to_have_attribute("aria-selected", "true")
        await page.screenshot(path=artifact("composer-mentions.png"))
        problems = await axe(page, server.url, "/ (suggestions open)")
        assert not problems, report(problems)
        await page.keyboard.press("ArrowDown")
        await expect(area).to_have_attribute("aria-activedescendant", "mentions-post-1")
        await page.keyboard.press("ArrowUp")
        await page.keyboard.press("Enter")
        await expect(area).to_have_value("Soup with @bob ")
        await expect(page.locator("#mentions-post")).to_be_hidden()
        # Escape closes the list and leaves the text as it is
        await page.keyboard.type("and @car")
        await expect(options).to_have_text(["carol"])
        await page.keyboard.press("Escape")
        await expect(page.locator("#mentions-post")).to_be_hidden()
        await expect(area).to_have_value("Soup with @bob and @car")
        assert await area.get_attribute("aria-activedescendant") is None
        # Tab takes it too; then the post goes out with both mentions
        await page.keyboard.press("Backspace")
        await page.keyboard.type("r")
        await expect(options).to_have_text(["carol"])
        await page.keyboard.press("Tab")
        await expect(area).to_have_value("Soup with @bob and @carol ")
        await submit.click()
        await page.wait_for_selector("#timeline article.post:has-text('Soup with')")
        await expect(page.locator("#timeline article.post").first.locator("a.mention")).to_have_count(2)
    finally:
        await ctx.close()


async def test_user_card_on_hover_and_focus(server, browser, db):
    await people()
    ctx = await browser.new_context(viewport=DESKTOP)
    page = await ctx.new_page()
    try:
        await sign_in(page, server.url, "alice")
        await page.goto(f"{server.url}/explore")
        author = page.locator('article.post a.fw-semibold[href="/user/bob"]').first
        await author.hover()
        card = page.locator(".user-card-pop")
        await expect(card).to_be_visible()
        await expect(card).to_contain_text("Tomatoes and <soup>")
        await expect(card).to_contain_text("1 post")
        await expect(card).to_contain_text("1 follower")
        follow = card.get_by_role("button", name="Follow")
        await expect(follow).to_be_visible()
        await page.screenshot(path=artifact("user-card-hover.png"))
        problems = await axe(page, server.url, "/explore (a user card open)")
        assert not problems, report(problems)

        # the pointer goes from the name to the card: it stays; then Follow, back here
        await card.hover()
        await expect(card).to_be_visible()
        await follow.click()
        await page.wait_for_url(f"{server.url}/explore")
        await expect(page.locator(".alert")).to_contain_text("You are following bob.")

        # now it says Unfollow; Escape closes it, and so does moving away
        await author.hover()
        await expect(card.get_by_role("button", name="Unfollow")).to_be_visible()
        await page.keyboard.press("Escape")
        await expect(card).to_have_count(0)
        await page.mouse.move(5, 890)
        await author.hover()
        await expect(card).to_be_visible()
        await page.mouse.move(5, 890)
        await expect(card).to_have_count(0)

        # the keyboard: focusing the name shows it, Tab goes into it
        mention = page.locator("article.post a.mention[href='/user/bob']").first
        await page.locator("#navbar-q").focus()
        await page.keyboard.press("Escape")
        await mention.focus()
        await expect(card).to_be_visible()
        await page.keyboard.press("Tab")
        await page.keyboard.press("Tab")
        assert await page.evaluate(
            "document.activeElement.closest('.user-card-pop') !== null")
        await page.keyboard.press("Escape")
        await expect(card).to_have_count(0)
        await expect(mention).to_be_focused()

        # not on your own name
        await page.goto(f"{server.url}/people/alice/card")
        assert "Follow" not in await page.content()
    finally:
        await ctx.close()


async def test_phone_composer_explore_and_landing(server, browser, db):
    await people()
    visitor = await browser.new_context(viewport=PHONE, device_scale_factor=2, is_mobile=True,
                                        has_touch=True)
    ctx = await browser.new_context(viewport=PHONE, device_scale_factor=2, is_mobile=True,
                                    has_touch=True)
    try:
        landing = await visitor.new_page()
        await landing.goto(f"{server.url}/")
        await expect(landing.locator("article.post")).to_have_count(2)
        await expect(landing.get_by_role("link", name="Create an account")).to_be_visible()
        await landing.screenshot(path=artifact("landing-phone.png"), full_page=True)
        desk = await browser.new_context(viewport=DESKTOP)
        try:
            wide = await desk.new_page()
            await wide.goto(f"{server.url}/")
            await wide.screenshot(path=artifact("landing-desktop.png"), full_page=True)
        finally:
            await desk.close()

        page = await ctx.new_page()
        await sign_in(page, server.url, "alice")
        await page.tap("#post")
        await page.keyboard.type(f"On the phone @b {EMOJI}")
        await expect(page.locator('[data-counter-for="post"]')).to_have_text(str(POST_MAX - 17))
        await page.keyboard.press("Backspace")
        await page.keyboard.press("Backspace")
        await expect(page.locator("#mentions-post [role=option]")).to_have_text(["bob", "bobby"])
        await page.locator("#mentions-post [role=option]", has_text="bobby").tap()
        await expect(page.locator("#post")).to_have_value("On the phone @bobby ")
        await page.tap("[data-schedule-toggle]")
        await expect(page.locator("#publish_at")).to_be_visible()
        await page.screenshot(path=artifact("composer-phone.png"), full_page=True)

        await page.goto(f"{server.url}/explore")
        aside = page.locator(".explore-aside")
        # (trending tags are cached for 30 s by the server: another test's may show)
        await expect(aside.get_by_role("heading", name="Trending today")).to_be_visible()
        await expect(aside.get_by_role("button", name="Follow bob")).to_be_visible()
        # under the posts on a phone
        posts_box = await page.locator("#timeline").bounding_box()
        aside_box = await aside.bounding_box()
        assert posts_box and aside_box and aside_box["y"] > posts_box["y"]
        await page.screenshot(path=artifact("explore-phone.png"), full_page=True)
    finally:
        await visitor.close()
        await ctx.close()


async def test_explore_sidebar_on_a_desktop(server, browser, db):
    await people()
    ctx = await browser.new_context(viewport=DESKTOP)
    page = await ctx.new_page()
    try:
        await sign_in(page, server.url, "alice")
        await page.goto(f"{server.url}/explore")
        aside = page.locator(".explore-aside")
        posts_box = await page.locator("#timeline").bounding_box()
        aside_box = await aside.bounding_box()
        assert posts_box and aside_box and aside_box["x"] > posts_box["x"] + posts_box["width"]
        await page.screenshot(path=artifact("explore-desktop.png"), full_page=True)
        await page.goto(f"{server.url}/")  # alice's home is nearly empty: suggestions
        await expect(page.get_by_role("heading", name="People you might like")).to_be_visible()
        await page.screenshot(path=artifact("home-suggestions.png"), full_page=True)
    finally:
        await ctx.close()


async def test_comment_box_and_a_comment_authors_card(server, browser, db):
    await people()
    from microblog.models import User

    bob = await User.get(username="bob")
    carol = await User.get(username="carol")
    post = await posts.create_post(bob, "Comment on this, please")
    await posts.add_comment(carol, post.id, "Here is one")
    ctx = await browser.new_context(viewport=DESKTOP)
    page = await ctx.new_page()
    try:
        await sign_in(page, server.url, "alice")
        await page.goto(f"{server.url}/post/{post.id}")
        counter = page.locator('[data-counter-for="body"]')
        await expect(counter).to_have_text("280")
        await page.click("#body")
        await page.keyboard.type(f"{EMOJI} thanks @ca")
        await expect(counter).to_have_text(str(280 - 12))
        await expect(page.locator("#mentions-body [role=option]")).to_have_text(["carol"])
        await page.keyboard.press("Enter")
        await expect(page.locator("#body")).to_have_value(f"{EMOJI} thanks @carol ")

        name = page.locator('.comment a.fw-semibold[href="/user/carol"]').first
        await name.hover()
        card = page.locator(".user-card-pop")
        await expect(card).to_be_visible()
        await expect(card.get_by_role("button", name="Follow")).to_be_visible()
        # under the name, inside the window
        name_box = await name.bounding_box()
        card_box = await card.bounding_box()
        assert name_box and card_box
        bottom = name_box["y"] + name_box["height"]
        assert bottom <= card_box["y"] <= bottom + 12
        assert card_box["x"] >= 0 and card_box["x"] + card_box["width"] <= DESKTOP["width"]
        await page.screenshot(path=artifact("comment-card.png"))
    finally:
        await ctx.close()
