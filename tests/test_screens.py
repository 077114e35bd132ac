"""Issue 15, "every screen size" and small fixes: registering signs in, pluralised counts,
Follow back, no "Online now" for yourself, notifications that link to what they are about
(and a Mentions tab), confirmations, and the bell and badges on a phone."""

import re

from microblog.models import Follow, Notification, NotificationKind, User
from microblog.services import messages, posts, social
from tests.conftest import artifact
from tests.helpers import csrf_from, login, make_user, page, submit
from tests.test_browser import register_and_login


async def test_registering_signs_you_in_and_asks_to_confirm_the_address(client):
    response = await submit(client, "/auth/register", {
        "username": "newbie", "email": "newbie@example.com",
        "password": "long enough pw", "password2": "long enough pw"})
    assert response.status_code == 302 and response.location == "/"
    status, html = await page(client, "/")
    assert status == 200
    assert "Hi, newbie!" in html and "Welcome to Microblog, newbie!" in html
    assert 'id="verify-email-banner"' in html and "newbie@example.com" in html
    # a session like any other: signing out ends it
    response = await client.post("/auth/logout", form={"csrf_token": csrf_from(html)})
    assert response.status_code == 302
    _s, html = await page(client, "/")
    assert "Hi, newbie!" not in html


def counts_of(html: str) -> list[str]:
    return [" ".join(re.sub(r"<[^>]+>", "", item).split())
            for item in re.findall(r'<li class="list-inline-item profile-count">(.*?)</li>', html)]


async def test_profile_counts_are_pluralised(client):
    alice = await make_user("alice")
    bob = await make_user("bob")
    await posts.create_post(alice, "first")
    await social.follow(bob, alice)
    await social.follow(alice, bob)
    await login(client)
    _s, html = await page(client, "/user/alice")
    assert counts_of(html) == ["1 post", "1 follower", "1 following"]

    carol = await make_user("carol")
    await posts.create_post(alice, "second")
    await social.follow(carol, alice)
    _s, html = await page(client, "/user/alice")
    assert counts_of(html) == ["2 posts", "2 followers", "1 following"]
    _s, html = await page(client, "/user/carol")
    assert counts_of(html) == ["0 posts", "0 followers", "1 following"]


async def test_profile_counts_in_spanish_and_chinese(client):
    alice = await make_user("alice")
    bob = await make_user("bob")
    await posts.create_post(alice, "uno")
    await social.follow(bob, alice)
    await login(client)
    for locale, expected in (("es", ["1 publicación", "1 seguidor"]),
                             ("zh", ["1 条帖子", "1 位关注者"])):
        await User.filter(id=alice.id).update(locale=locale)
        _s, html = await page(client, "/user/alice")
        assert counts_of(html)[:2] == expected, locale
    await User.filter(id=alice.id).update(locale="es")
    await posts.create_post(alice, "dos")
    await social.follow(await make_user("carol"), alice)
    _s, html = await page(client, "/user/alice")
    assert counts_of(html)[:2] == ["2 publicaciones", "2 seguidores"]


async def test_no_online_now_on_your_own_profile(client, monkeypatch):
    from microblog.realtime import presence

    async def always_online(_user_id):
        return True

    monkeypatch.setattr(presence, "is_online", always_online)
    await make_user("alice")
    await make_user("bob")
    await login(client)
    _s, own = await page(client, "/user/alice")
    assert "Online now" not in own
    _s, other = await page(client, "/user/bob")
    assert "Online now" in other


async def test_block_sits_in_the_more_menu_and_asks_first(client):
    await make_user("alice")
    await make_user("bob")
    await login(client)
    _s, html = await page(client, "/user/bob")
    follow_at = html.index('action="/follow/bob"')
    more_at = html.index('id="profile-more"')
    block_at = html.index('action="/messages/block/bob"')
    assert follow_at < more_at < block_at  # behind the "More" toggle, not beside Follow
    block_form = html[html.rindex("<form", 0, block_at):html.index(">", block_at)]
    assert 'data-confirm="Block bob?' in block_form


async def test_delete_post_asks_first(client):
    alice = await make_user("alice")
    post = await posts.create_post(alice, "mine")
    await login(client)
    _s, html = await page(client, f"/post/{post.id}")
    form = re.search(rf'<form[^>]*action="/post/{post.id}/delete"[^>]*>', html)
    assert form and 'data-confirm="Delete this post? This cannot be undone."' in form.group(0)


async def test_follow_back_on_your_followers_list(client):
    alice = await make_user("alice")
    bob = await make_user("bob")
    carol = await make_user("carol")
    await social.follow(bob, alice)
    await social.follow(carol, alice)
    await social.follow(alice, carol)  # already followed: no button
    await login(client)
    _s, html = await page(client, "/user/alice/followers")
    assert 'action="/follow/bob?next=/user/alice/followers"' in html
    assert 'action="/follow/carol' not in html
    assert html.count("Follow back") == 1
    # someone else's list has no Follow back buttons
    _s, others = await page(client, "/user/carol/followers")
    assert "Follow back" not in others

    response = await client.post("/follow/bob?next=/user/alice/followers",
                                 form={"csrf_token": csrf_from(html)})
    assert response.status_code == 302 and response.location == "/user/alice/followers"
    assert await Follow.exists(follower_id=alice.id, followed_id=bob.id)
    _s, html = await page(client, "/user/alice/followers")
    assert "You are following bob." in html and "Follow back" not in html


def notification_links(html: str) -> list[tuple[str, str]]:
    items = re.findall(r'<li class="list-group-item[^"]*" data-notification-id="\d+"'
                       r' data-kind="[a-z_]+">(.*?)</li>', html, re.S)
    found = []
    for item in items:
        link = re.search(r'<a class="stretched-link[^"]*" href="([^"]+)">(.*?)</a>', item, re.S)
        assert link, item
        found.append((link.group(1), " ".join(re.sub(r"<[^>]+>", "", link.group(2)).split())))
    return found


async def test_notifications_link_to_what_they_are_about(client):
    alice = await make_user("alice")
    bob = await make_user("bob")
    post = await posts.create_post(alice, "a post worth a comment")
    await social.follow(bob, alice)
    comment = await posts.add_comment(bob, post.id, "nice one")
    await login(client)
    _s, html = await page(client, "/notifications")
    assert notification_links(html) == [
        (f"/post/{post.id}#comment-{comment.id}", "bob commented on your post: nice one"),
        ("/user/bob", "bob started following you"),
    ]


async def test_grouped_likes_and_reposts_read_naturally(client):
    alice = await make_user("alice")
    post = await posts.create_post(alice, "liked")
    ref = [{"id": 100 + i, "username": name, "avatar": ""}
           for i, name in enumerate(("bob", "carol", "dave"))]
    for kind, count, users in ((NotificationKind.LIKE, 1, ref[:1]),
                               (NotificationKind.LIKE, 2, ref[:2]),
                               (NotificationKind.LIKE, 4, ref),
                               (NotificationKind.REPOST, 1, ref[:1]),
                               (NotificationKind.REPOST, 2, ref[:2]),
                               (NotificationKind.REPOST, 2, ref[:1]),
                               (NotificationKind.REPOST, 3, ref[:3])):
        await Notification.create(user_id=alice.id, kind=kind, data={
            "users": users, "count": count, "post_id": post.id, "excerpt": "liked"})
    await login(client)
    _s, html = await page(client, "/notifications")
    url = f"/post/{post.id}"
    assert notification_links(html) == [  # newest first
        (url, "bob and 2 others reposted your post"),
        (url, "bob and 1 other reposted your post"),
        (url, "bob and carol reposted your post"),
        (url, "bob reposted your post"),
        (url, "bob and 3 others liked your post"),
        (url, "bob and carol liked your post"),
        (url, "bob liked your post"),
    ]


async def test_mentions_tab_shows_only_mentions_and_pages(client):
    alice = await make_user("alice")
    bob = await make_user("bob")
    post = await posts.create_post(bob, "hello there")  # (written directly below)
    await social.follow(bob, alice)
    user = {"id": bob.id, "username": "bob", "avatar": ""}
    await Notification.create(user_id=alice.id, kind=NotificationKind.MENTION, data={
        "user": user, "post_id": post.id, "excerpt": "hello @alice"})
    for n in range(25):  # more than a page of mentions in comments
        await Notification.create(user_id=alice.id, kind=NotificationKind.MENTION, data={
            "user": user, "post_id": post.id, "comment_id": 1000 + n,
            "excerpt": f"comment {n}"})
    await login(client)
    _s, html = await page(client, "/notifications?kind=mention")
    assert 'aria-current="page" href="/notifications?kind=mention"' in html
    links = notification_links(html)
    assert len(links) == 25 and links[0] == (f"/post/{post.id}#comment-1024",
                                             "bob mentioned you: comment 24")
    assert 'href="/notifications?kind=mention&amp;page=2"' in html \
        or 'href="/notifications?page=2&amp;kind=mention"' in html
    _s, html = await page(client, "/notifications?kind=mention&page=2")
    assert notification_links(html) == [(f"/post/{post.id}", "bob mentioned you: hello @alice")]
    # All: the follow too
    _s, html = await page(client, "/notifications")
    assert 'aria-current="page" href="/notifications"' in html
    assert "started following you" in html
    _s, html = await page(client, "/notifications?kind=mention&page=3")
    assert "No mentions yet." in html


async def test_phone_shows_the_bell_messages_badge_and_live_state(server, browser, db):
    base = server.url
    context = await browser.new_context(viewport={"width": 390, "height": 844})
    phone = await context.new_page()
    problems: list[str] = []
    phone.on("pageerror", lambda error: problems.append(str(error)))
    try:
        await register_and_login(phone, base, "alice")
        alice = await User.get(username="alice")
        bob = await make_user("bob")
        await phone.wait_for_selector("#live-status[data-state=live]")
        assert await phone.is_hidden("#nav")  # the menu stays collapsed
        assert await phone.is_visible("#live-status")
        assert await phone.is_visible("#bell")
        assert not await phone.is_visible("#bell-count")

        # live: a follow lights the bell, a message the messages badge, all in the bar
        await social.follow(bob, alice)
        await phone.wait_for_selector("#bell-count:not(.d-none)")
        assert await phone.inner_text("#bell-count") == "1"
        await messages.send_message(bob, "alice", "hi from bob")
        badge = phone.locator(".navbar-status [data-messages-count]")
        await badge.wait_for(state="visible")
        assert await badge.inner_text() == "1"
        assert await phone.inner_text("#messages-count") == "1"  # the menu's, too
        assert await phone.is_hidden("#nav")
        for width in (390, 360):
            await phone.set_viewport_size({"width": width, "height": 800})
            for selector in ("#live-status", "#bell", "#bell-count", ".navbar-toggler",
                             ".navbar-status [data-messages-count]", "#navbar-q"):
                box = await phone.locator(selector).bounding_box()
                assert box and box["x"] >= 0 and box["x"] + box["width"] <= width, selector
                assert box["y"] + box["height"] <= 60, selector  # all in one row
            scroll = await phone.evaluate("document.documentElement.scrollWidth")
            assert scroll <= width, f"the page scrolls sideways ({scroll}px)"
        await phone.set_viewport_size({"width": 390, "height": 844})
        await phone.screenshot(path=artifact("phone-badges.png"))

        # the bell's menu opens under the bar, on the screen
        await phone.click("#bell")
        menu = phone.locator(".notifications-menu")
        await phone.wait_for_selector("#notification-items a[data-notification-id]")
        box = await menu.bounding_box()
        assert box and box["x"] >= 0 and box["x"] + box["width"] <= 390
        assert "bob started following you" in await phone.inner_text("#notification-items")
        await phone.screenshot(path=artifact("phone-bell-menu.png"))
        await phone.click("text=See all notifications")
        await phone.wait_for_url(f"{base}/notifications")
        assert await phone.get_attribute("#notification-list a", "href") == "/user/bob"
        await phone.screenshot(path=artifact("phone-notifications.png"))

        # a wide screen: the live state and the bell at the end of the bar, the messages
        # badge in the menu's Messages link (the phone's envelope is gone)
        await phone.keyboard.press("Escape")
        await phone.set_viewport_size({"width": 1100, "height": 700})
        assert await phone.is_visible("#nav") and await phone.is_visible("#messages-count")
        assert await phone.is_hidden(".navbar-status [data-messages-count]")
        assert await phone.is_visible("#live-status") and await phone.is_visible("#bell")
        assert "Live" in await phone.inner_text("#live-status")
        await phone.screenshot(path=artifact("desktop-navbar.png"),
                               clip={"x": 0, "y": 0, "width": 1100, "height": 80})
        assert not problems, problems
    finally:
        await context.close()


async def test_confirmation_before_deleting_a_post(server, browser, db):
    base = server.url
    context = await browser.new_context(viewport={"width": 390, "height": 844})
    phone = await context.new_page()
    try:
        await register_and_login(phone, base, "alice")
        alice = await User.get(username="alice")
        post = await posts.create_post(alice, "to be deleted")
        await phone.goto(f"{base}/post/{post.id}")
        questions: list[str] = []

        async def dismiss(dialog):
            questions.append(dialog.message)
            await dialog.dismiss()

        phone.on("dialog", dismiss)
        await phone.click("text=Delete post")
        assert questions == ["Delete this post? This cannot be undone."]
        assert phone.url == f"{base}/post/{post.id}"
        assert await posts.get_post(post.id)
        phone.remove_listener("dialog", dismiss)

        async def accept(dialog):
            await dialog.accept()

        phone.on("dialog", accept)
        await phone.click("text=Delete post")
        await phone.wait_for_url(f"{base}/user/alice")
        assert "Your post has been deleted." in await phone.inner_text(".alert")
    finally:
        await context.close()


BAR_WATCH = """
window.__bar = {};
document.addEventListener("DOMContentLoaded", () => {
  const bar = document.querySelector("[data-task-id] .progress");
  if (!bar) return;
  const note = () => {
    const hidden = bar.classList.contains("d-none");
    if (!hidden && window.__bar.shown === undefined) window.__bar.shown = performance.now();
    if (hidden && window.__bar.shown !== undefined && window.__bar.hidden === undefined) {
      window.__bar.hidden = performance.now();
    }
  };
  note();
  new MutationObserver(note).observe(bar, { attributes: true, attributeFilter: ["class"] });
});
"""


async def test_a_quick_export_still_shows_its_bar_and_the_banner_goes(server, browser, db):
    base = server.url
    context = await browser.new_context(viewport={"width": 390, "height": 844})
    phone = await context.new_page()
    try:
        await register_and_login(phone, base, "alice")
        alice = await User.get(username="alice")
        for n in range(3):
            await posts.create_post(alice, f"post {n}")
        await phone.goto(f"{base}/exports")
        await phone.add_init_script(BAR_WATCH)
        await phone.click("#start-export")
        await phone.wait_for_url(f"{base}/exports")
        await phone.wait_for_selector("[data-task-id] .task-links:not(.d-none)", timeout=30_000)
        assert await phone.is_hidden("[data-task-id] .progress")
        bar = await phone.evaluate("window.__bar")
        assert "shown" in bar and "hidden" in bar, bar
        assert bar["hidden"] - bar["shown"] >= 500, bar  # seen, not a flash
        # the "started" banner went with it
        await phone.wait_for_selector('.alert[data-flash="export-started"]', state="detached")
        assert await phone.inner_text("[data-task-id] .task-status") == "Ready"
        await phone.screenshot(path=artifact("phone-export-ready.png"))
    finally:
        await context.close()


async def test_phone_profile_and_follow_back(server, browser, db):
    base = server.url
    context = await browser.new_context(viewport={"width": 390, "height": 844})
    phone = await context.new_page()
    try:
        await register_and_login(phone, base, "alice")
        alice = await User.get(username="alice")
        bob = await make_user("bob", verified=True)
        await posts.create_post(bob, "hello from bob")
        await social.follow(bob, alice)

        # bob's profile: Follow and Send message; Block only behind "More", asking first
        await phone.goto(f"{base}/user/bob")
        assert await phone.is_visible("button:has-text('Follow')")
        assert await phone.is_hidden("text=Block bob")
        assert "1 post" in " ".join((await phone.inner_text("main")).split())
        await phone.click("#profile-more")
        await phone.wait_for_selector("text=Block bob", state="visible")
        await phone.screenshot(path=artifact("phone-profile-more.png"))
        questions: list[str] = []

        async def dismiss(dialog):
            questions.append(dialog.message)
            await dialog.dismiss()

        phone.once("dialog", dismiss)
        await phone.click("text=Block bob")
        assert questions and questions[0].startswith("Block bob?")
        assert phone.url == f"{base}/user/bob"

        # my followers: Follow back, and I stay on the list
        await phone.goto(f"{base}/user/alice/followers")
        await phone.screenshot(path=artifact("phone-follow-back.png"))
        await phone.click("button.follow-back")
        await phone.wait_for_selector(".alert:has-text('You are following bob.')")
        assert phone.url == f"{base}/user/alice/followers"
        assert await phone.locator("button.follow-back").count() == 0
        assert await Follow.exists(follower_id=alice.id, followed_id=bob.id)
    finally:
        await context.close()
