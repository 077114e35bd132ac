"""Post cards in real headless Chromium against a real `microblog serve`, two people in two
browsers (a desktop and a phone): like, repost, edit inline and a tag page, all live; the
cards the browser builds are the server's; rich text is the same on both sides."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

from playwright.async_api import expect

from microblog.services import engagement, messages, posts, social
from microblog.text import rich_text
from tests.conftest import artifact
from tests.helpers import make_user

PASSWORD = "correct horse"
DESKTOP = {"viewport": {"width": 1280, "height": 900}}
PHONE = {"viewport": {"width": 390, "height": 844}, "device_scale_factor": 2,
         "is_mobile": True, "has_touch": True}


async def sign_in(page: Any, base: str, username: str, then: str = "/") -> None:
    await page.goto(f"{base}/auth/login")
    await page.fill("#username", username)
    await page.fill("#password", PASSWORD)
    await page.click("#submit")
    await page.wait_for_url(f"{base}/")
    if then != "/":
        await page.goto(f"{base}{then}")
    await expect(page.locator("#live-status")).to_have_attribute("data-state", "live")


def watch_errors(page: Any) -> list[str]:
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    return errors


def card(page: Any, post_id: int) -> Any:
    return page.locator(f'article.post[data-post-id="{post_id}"]')


async def test_a_like_shows_live_on_the_authors_post_page(server, browser, db):
    base = server.url
    alice_user = await make_user("alice")
    await make_user("bob")
    post = await posts.create_post(alice_user, "Do you like #mornings, @bob?")
    alice_ctx = await browser.new_context(**DESKTOP)
    bob_ctx = await browser.new_context(**PHONE)
    alice, bob = await alice_ctx.new_page(), await bob_ctx.new_page()
    errors = watch_errors(alice) + watch_errors(bob)
    try:
        await sign_in(alice, base, "alice", f"/post/{post.id}")
        await sign_in(bob, base, "bob", "/explore")
        theirs, mine = card(bob, post.id), card(alice, post.id)
        like = theirs.locator("button.like-action")
        await expect(like).to_have_attribute("aria-pressed", "false")

        # bob likes it by keyboard: in place, and alice's open page counts it
        await like.focus()
        await bob.keyboard.press("Enter")
        await expect(like).to_have_attribute("aria-pressed", "true")
        await expect(like.locator(".post-count")).to_have_text("1")
        await expect(mine.locator('.post-count[data-count="like"]')).to_have_text("1")
        assert await bob.evaluate("performance.getEntriesByType('navigation').length") == 1
        await expect(alice.locator("#bell-count")).to_have_text("1")
        await bob.screenshot(path=artifact("post-actions-bob-liked-phone.png"))
        await alice.screenshot(path=artifact("post-actions-alice-live-count.png"))

        # and back: the heart empties in both
        await like.click()
        await expect(like).to_have_attribute("aria-pressed", "false")
        await expect(mine.locator('.post-count[data-count="like"]')).to_have_text("")

        # share: the link is copied, with a note
        await bob_ctx.grant_permissions(["clipboard-read", "clipboard-write"])
        await theirs.locator("a[data-share]").click()
        await expect(theirs.locator(".post-note")).to_have_text("Link copied")
        assert await bob.evaluate("navigator.clipboard.readText()") == f"{base}/post/{post.id}"
        assert errors == []
    finally:
        await alice_ctx.close()
        await bob_ctx.close()


async def test_a_failed_like_is_rolled_back_with_the_servers_message(server, browser, db):
    base = server.url
    alice_user = await make_user("alice")
    bob_user = await make_user("bob")
    post = await posts.create_post(alice_user, "no likes from bob")
    bob_ctx = await browser.new_context(**DESKTOP)
    bob = await bob_ctx.new_page()
    try:
        await sign_in(bob, base, "bob", "/explore")
        await messages.block(alice_user, bob_user)  # after bob's page was rendered
        like = card(bob, post.id).locator("button.like-action")
        await like.click()
        await expect(card(bob, post.id).locator(".post-note")).to_have_text(
            "You cannot like or repost this user's posts.")
        await expect(like).to_have_attribute("aria-pressed", "false")
        await expect(like.locator(".post-count")).to_have_text("")
    finally:
        await bob_ctx.close()


async def test_a_repost_joins_a_followers_home_live_and_undo_removes_it(server, browser, db):
    base = server.url
    alice_user = await make_user("alice")
    bob_user = await make_user("bob")
    carol_user = await make_user("carol")
    await social.follow(carol_user, bob_user)
    post = await posts.create_post(alice_user, "Worth a #repost: https://example.com/news")
    bob_ctx = await browser.new_context(**DESKTOP)
    carol_ctx = await browser.new_context(**PHONE)
    bob, carol = await bob_ctx.new_page(), await carol_ctx.new_page()
    errors = watch_errors(bob) + watch_errors(carol)
    try:
        await sign_in(carol, base, "carol")
        await sign_in(bob, base, "bob", "/explore")
        await expect(card(carol, post.id)).to_have_count(0)

        repost = card(bob, post.id).locator("button.repost-action")
        await repost.click()
        await expect(repost).to_have_attribute("aria-pressed", "true")
        shared = card(carol, post.id)
        await expect(shared.locator(".repost-line")).to_have_text("↻ bob reposted")
        await expect(shared.locator('.post-count[data-count="repost"]')).to_have_text("1")
        await expect(shared.locator(".post-body a[rel='nofollow noopener ugc']")).to_have_attribute(
            "href", "https://example.com/news")
        await carol.screenshot(path=artifact("post-actions-carol-live-repost-phone.png"))

        # someone carol does not follow reposts it too: nothing changes on her home
        await engagement.repost(await make_user("dave"), post.id)
        await expect(card(bob, post.id).locator('.post-count[data-count="repost"]')).to_have_text("1")
        # bob undoes his: the card that was there for his repost goes
        await repost.click()
        await expect(repost).to_have_attribute("aria-pressed", "false")
        await expect(card(carol, post.id)).to_have_count(0)
        assert await carol.evaluate("performance.getEntriesByType('navigation').length") == 1
        assert errors == []
    finally:
        await bob_ctx.close()
        await carol_ctx.close()


async def test_an_inline_edit_reaches_another_browser_live(server, browser, db):
    base = server.url
    alice_user = await make_user("alice")
    await make_user("bob")
    post = await posts.create_post(alice_user, "Frist post, with a typo")
    alice_ctx = await browser.new_context(**DESKTOP)
    bob_ctx = await browser.new_context(**PHONE)
    alice, bob = await alice_ctx.new_page(), await bob_ctx.new_page()
    errors = watch_errors(alice) + watch_errors(bob)
    try:
        await sign_in(alice, base, "alice")
        await sign_in(bob, base, "bob", f"/post/{post.id}")
        mine = card(alice, post.id)

        # the "more" menu by keyboard: Enter opens it, the arrow reaches Edit
        await mine.locator(".more-action").focus()
        await alice.keyboard.press("Enter")
        await expect(mine.locator(".dropdown-menu")).to_be_visible()
        await alice.keyboard.press("ArrowDown")
        await expect(mine.locator(".edit-action")).to_be_focused()
        await alice.screenshot(path=artifact("post-actions-alice-more-menu.png"))
        await alice.keyboard.press("Enter")
        editor = mine.locator(".post-editor textarea")
        await expect(editor).to_be_focused()
        await expect(editor).to_have_value("Frist post, with a typo")

        # an empty text: the server's message, inline
        await editor.fill("   ")
        await mine.locator(".post-editor button[type=submit]").click()
        await expect(mine.locator(".post-editor-error")).to_contain_text("the text is empty")
        await alice.screenshot(path=artifact("post-actions-alice-edit-error.png"))

        await editor.fill("First post, fixed for @bob #typos")
        await mine.locator(".post-editor button[type=submit]").click()
        await expect(mine.locator(".post-editor")).to_have_count(0)
        await expect(mine.locator(".post-body")).to_have_text("First post, fixed for @bob #typos")
        await expect(mine.locator(".post-edited a")).to_have_attribute(
            "href", f"/post/{post.id}/history")

        theirs = card(bob, post.id)
        await expect(theirs.locator(".post-body")).to_have_text(
            "First post, fixed for @bob #typos")
        await expect(theirs.locator(".post-body a.hashtag")).to_have_attribute(
            "href", "/tags/typos")
        await expect(theirs.locator(".post-edited")).to_have_text(" · edited")
        await bob.screenshot(path=artifact("post-actions-bob-live-edit-phone.png"))
        await theirs.locator(".post-edited a").click()
        await bob.wait_for_url(f"{base}/post/{post.id}/history")
        assert "Frist post, with a typo" in await bob.inner_text("main")
        assert errors == []
    finally:
        await alice_ctx.close()
        await bob_ctx.close()


async def test_the_tag_page_gets_new_tagged_posts_live(server, browser, db):
    base = server.url
    alice_user = await make_user("alice")
    await make_user("bob")
    bob_user = await make_user("carol")
    await posts.create_post(alice_user, "An older #Café post")
    await social.follow(bob_user, alice_user)  # carol follows alice: still only tagged posts
    alice_ctx = await browser.new_context(**DESKTOP)
    carol_ctx = await browser.new_context(**PHONE)
    alice, carol = await alice_ctx.new_page(), await carol_ctx.new_page()
    errors = watch_errors(alice) + watch_errors(carol)
    try:
        await sign_in(alice, base, "alice")
        await sign_in(carol, base, "carol", "/tags/CAF%C3%89")
        assert await carol.inner_text("h1") == "#café"
        timeline = carol.locator("#timeline")
        await expect(timeline.locator("article.post")).to_have_count(1)

        for text in ("Nothing tagged here", "Fresh coffee at the #café ☕"):
            await alice.fill("#post", text)
            await alice.click("#submit")
            await alice.wait_for_url(f"{base}/")
        arrived = timeline.locator("article.post").first
        await expect(arrived.locator(".post-body")).to_have_text("Fresh coffee at the #café ☕")
        await expect(arrived.locator("a.hashtag")).to_have_attribute("href", "/tags/caf%C3%A9")
        await expect(timeline.locator("article.post")).to_have_count(2)
        assert "Nothing tagged here" not in await timeline.inner_text()
        await carol.screenshot(path=artifact("post-actions-tag-page-phone.png"), full_page=True)
        await carol.set_viewport_size({"width": 1280, "height": 900})
        await carol.screenshot(path=artifact("post-actions-tag-page-desktop.png"))
        assert errors == []
    finally:
        await alice_ctx.close()
        await carol_ctx.close()


SIGNATURE = """(root) => {
  const out = [];
  const attrs = ["href", "action", "method", "aria-pressed", "aria-hidden", "aria-expanded",
    "tabindex", "data-count", "data-kind", "data-share", "data-bs-toggle", "data-reposted-by",
    "data-confirm", "type", "name", "lang", "rel", "target", "role", "fill-rule", "d"];
  const walk = (node, depth) => {
    for (const child of node.children) {
      const classes = [...child.classList].filter((c) => c !== "post-new").sort().join(" ");
      const text = child.children.length || child.tagName === "TIME" ? "" : child.textContent.trim();
      out.push([depth, child.tagName.toLowerCase(), classes, ...attrs.map((a) => child.getAttribute(a)), text]);
      walk(child, depth + 1);
    }
  };
  walk(root, 0);
  return out;
}"""


async def test_live_cards_are_the_servers_cards(server, browser, db):
    """postCard() in live.js builds what _post_card.html renders: the same elements, classes,
    links and labels (the time's words aside)."""
    base = server.url
    alice_user = await make_user("alice")
    bob_user = await make_user("bob")
    carol_user = await make_user("carol")
    await social.follow(carol_user, bob_user)
    await social.follow(carol_user, alice_user)
    carol_ctx = await browser.new_context(**DESKTOP)
    carol = await carol_ctx.new_page()
    try:
        await sign_in(carol, base, "carol")
        edited = await posts.create_post(alice_user, "Hello @carol, see #this https://x.y/z")
        await posts.edit_post(alice_user, edited.id, "Hello @carol, see #This https://x.y/z!")
        await posts.add_comment(bob_user, edited.id, "nice")
        await engagement.like(alice_user, edited.id)
        await expect(card(carol, edited.id)).to_have_count(1)  # alice's post, live
        await engagement.repost(bob_user, edited.id)  # already shown: not twice
        own = await posts.create_post(carol_user, "my own, with the more menu")
        await expect(card(carol, own.id)).to_have_count(1)
        await expect(card(carol, edited.id)).to_have_count(1)
        # a repost of a post carol's home did not show yet
        older = await posts.create_post(await make_user("dave"), "from someone carol misses")
        await engagement.repost(bob_user, older.id)
        await expect(card(carol, older.id).locator(".repost-line")).to_have_text("↻ bob reposted")
        live = {i: await card(carol, i).evaluate(SIGNATURE) for i in (own.id, older.id)}
        await carol.reload()
        for post_id, signature in live.items():
            assert await card(carol, post_id).evaluate(SIGNATURE) == signature, post_id
        # the edited post, as post.updated leaves it and as the server renders it
        await posts.edit_post(alice_user, edited.id, "Edited again, #live")
        await expect(card(carol, edited.id).locator(".post-body")).to_have_text(
            "Edited again, #live")
        updated = await card(carol, edited.id).evaluate(SIGNATURE)
        await carol.reload()
        assert await card(carol, edited.id).evaluate(SIGNATURE) == updated
    finally:
        await carol_ctx.close()


RICH_SAMPLES = [
    "Hello @alice and @Bob_1, see https://example.com/a?b=1&c=2. #Café #café #123 #_x a#b",
    "email bob@example.com @ab @abc ##double #tag! (https://example.com/path) #日本語",
    "<script>alert(1)</script> &amp; #Straße #ΣΟΦΟΣ #ﬁne #x\u0301y &#tag /#tag .@alice",
    "x@alice @alice@x #tag_ #a1 \"https://q.com/'x'\" `https://a.b` 😀#emoji #😀 end",
    "#" + "a" * 64 + " #" + "b" * 65 + " https://example.com/😀). \n new line @carol",
]


async def test_rich_text_in_the_browser_is_the_servers(server, browser, db):
    await make_user("alice")
    ctx = await browser.new_context()
    page = await ctx.new_page()
    try:
        await sign_in(page, server.url, "alice", "/explore")
        expected = [str(rich_text(text, lambda name: f"/user/{name}",
                                  lambda tag: f"/tags/{quote(tag)}")) for text in RICH_SAMPLES]
        same = await page.evaluate("""async ([texts, expected]) => {
          const { richText } = await import("/static/js/richtext.js");
          return texts.map((text, i) => {
            const built = document.createElement("p");
            built.append(richText(text));
            const parsed = document.createElement("p");
            parsed.innerHTML = expected[i];  // the server's escaped HTML, a test fixture
            return [built.innerHTML, parsed.innerHTML];
          });
        }""", [RICH_SAMPLES, expected])
        for built, parsed in same:
            assert built == parsed
        assert json.dumps(same).count("nofollow noopener ugc") >= 4
    finally:
        await ctx.close()
