"""Real headless Chromium against a real `microblog serve`: what a person does first."""

from tests.conftest import artifact


async def register_and_login(page, base, username):
    await page.goto(f"{base}/auth/register")
    await page.fill("#username", username)
    await page.fill("#email", f"{username}@example.com")
    await page.fill("#password", "browser pass 1")
    await page.fill("#password2", "browser pass 1")
    await page.click("#submit")
    # registering signs in: straight to the home page, welcomed
    await page.wait_for_url(f"{base}/")
    assert f"Welcome to Microblog, {username}!" in await page.inner_text(".alert")
    assert f"Hi, {username}!" in await page.inner_text("h1")


async def test_register_post_follow_and_read_the_timeline(server, browser, db):
    base = server.url
    alice_ctx = await browser.new_context(viewport={"width": 1100, "height": 900})
    bob_ctx = await browser.new_context(viewport={"width": 390, "height": 844})  # a phone
    alice, bob = await alice_ctx.new_page(), await bob_ctx.new_page()
    try:
        await register_and_login(alice, base, "alice")
        await alice.fill("#post", "Hello <world> from Alice's browser")
        await alice.click("#submit")
        await alice.wait_for_selector("article.post")
        assert "Hello <world> from Alice's browser" in await alice.inner_text("article.post")
        await alice.screenshot(path=artifact("alice-home.png"), full_page=True)

        await register_and_login(bob, base, "bob")
        assert "Hello <world>" not in await bob.inner_text("main")
        await bob.goto(f"{base}/user/alice")
        await bob.click("button:has-text('Follow')")
        assert "You are following alice." in await bob.inner_text(".alert")
        assert "1 follower" in " ".join((await bob.inner_text("main")).split())
        await bob.goto(f"{base}/")
        assert "Hello <world> from Alice's browser" in await bob.inner_text("#timeline")
        await bob.screenshot(path=artifact("bob-home-phone.png"), full_page=True)
    finally:
        await alice_ctx.close()
        await bob_ctx.close()


async def test_live_follow_notification_and_live_timeline(server, browser, db):
    base = server.url
    alice_ctx = await browser.new_context(viewport={"width": 1100, "height": 800})
    bob_ctx = await browser.new_context(viewport={"width": 1100, "height": 800})
    alice, bob = await alice_ctx.new_page(), await bob_ctx.new_page()
    try:
        await register_and_login(alice, base, "alice")
        await register_and_login(bob, base, "bob")
        await alice.wait_for_selector("#live-status[data-state=live]")
        await bob.wait_for_selector("#live-status[data-state=live]")
        assert not await alice.is_visible("#bell-count")

        # bob follows alice: alice's bell and a toast update without a reload
        await bob.goto(f"{base}/user/alice")
        await bob.click("button:has-text('Follow')")
        await alice.wait_for_selector("#bell-count:not(.d-none)")
        assert await alice.inner_text("#bell-count") == "1"
        toast = await alice.wait_for_selector(".toast.show")
        assert "bob started following you" in await toast.inner_text()
        await alice.screenshot(path=artifact("alice-follow-toast.png"))

        # the bell's menu lists it; marking all read clears the badge
        await alice.click("#bell")
        await alice.wait_for_selector("#notification-items a[data-notification-id]")
        assert "bob started following you" in await alice.inner_text("#notification-items")
        await alice.click("#mark-all-read")
        await alice.wait_for_selector("#bell-count.d-none", state="attached")

        # alice posts: it appears at the top of bob's home timeline, no reload
        await bob.goto(f"{base}/")
        await bob.wait_for_selector("#live-status[data-state=live]")
        await alice.goto(f"{base}/")
        await alice.fill("#post", "Live <b>hello</b> to my followers")
        await alice.click("#submit")
        card = await bob.wait_for_selector("#timeline article.post", timeout=10_000)
        assert "Live <b>hello</b> to my followers" in await card.inner_text()
        assert await bob.evaluate("performance.getEntriesByType('navigation').length") == 1
        await bob.screenshot(path=artifact("bob-live-post.png"))
    finally:
        await alice_ctx.close()
        await bob_ctx.close()


async def test_two_people_chat_live_with_typing_and_seen(server, browser, db):
    base = server.url
    ann_ctx = await browser.new_context(viewport={"width": 1000, "height": 800})
    ben_ctx = await browser.new_context(viewport={"width": 1000, "height": 800})
    ann, ben = await ann_ctx.new_page(), await ben_ctx.new_page()
    try:
        await register_and_login(ann, base, "ann")
        await register_and_login(ben, base, "ben")
        await ann.goto(f"{base}/user/ben")
        await ann.click("text=Send message")
        await ann.wait_for_url(f"{base}/messages/ben")
        await ben.goto(f"{base}/messages/ann")
        for p in (ann, ben):
            await p.wait_for_selector("#live-status[data-state=live]")

        # ann types: ben sees the indicator; Enter sends; ben sees the message live
        await ann.click("#body")
        await ann.keyboard.type("Hello Ben, <script>x</script>")
        await ben.wait_for_selector("#typing:has-text('ann is typing')")
        await ann.keyboard.press("Enter")
        received = await ben.wait_for_selector(".msg.theirs .bubble")
        assert await received.inner_text() == "Hello Ben, <script>x</script>"
        await ann.wait_for_selector(".msg.mine[data-message-id]:not(.pending)")

        # ben has the tab open, so it is read: ann sees "Seen"
        await ann.wait_for_selector(".msg.mine .state:has-text('Seen')")

        # Shift+Enter makes a new line; ben replies and ann sees it
        await ben.click("#body")
        await ben.keyboard.type("Hi Ann!")
        await ben.keyboard.press("Shift+Enter")
        await ben.keyboard.type("Second line")
        await ben.keyboard.press("Enter")
        reply = await ann.wait_for_selector(".msg.theirs .bubble")
        assert await reply.inner_text() == "Hi Ann!\nSecond line"
        await ann.screenshot(path=artifact("ann-chat.png"))
        await ben.screenshot(path=artifact("ben-chat.png"))
        assert await ann.evaluate("performance.getEntriesByType('navigation').length") == 1
    finally:
        await ann_ctx.close()
        await ben_ctx.close()
