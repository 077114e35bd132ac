"""The account settings page (issue 14): change the password, sign out everywhere, delete the
account; and `DELETE /api/me`. Pages through the test client with real sessions in Redis;
the live `post.deleted` events through a real server and a real Socket.IO client; the page
itself in Chromium."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import httpx

from microblog.clock import now
from microblog.models import (
    ApiToken,
    Block,
    Comment,
    Conversation,
    Follow,
    Message,
    Notification,
    PasswordResetToken,
    Post,
    ScheduledPost,
    Task,
    TaskStatus,
    User,
    UserEvent,
)
from microblog.security import new_token, token_digest, verify_password
from microblog.services import accounts, messages, posts, scheduled, social
from microblog.services.signin_throttle import ACCOUNT
from microblog.services.tasks import export_dir
from microblog.testing import csrf_token
from tests.conftest import artifact
from tests.helpers import login, make_user, page, present, submit
from tests.realtime import Api, Recorder
from tests.test_api import token_for
from tests.test_browser import register_and_login

PASSWORD = "correct horse"
NEW_PASSWORD = "a much better passphrase"
SETTINGS = "/settings/account"


async def signed_in(client: Any) -> bool:
    response = await client.get(SETTINGS)
    return bool(response.status_code == 200)


async def change(client: Any, current: str, new: str, repeat: str | None = None) -> Any:
    return await submit(client, SETTINGS, {
        "current_password": current, "password": new,
        "password2": new if repeat is None else repeat}, action=f"{SETTINGS}/password")


async def delete(client: Any, password: str, confirm: bool = True) -> Any:
    data = {"delete_password": password, **({"confirm": "y"} if confirm else {})}
    return await submit(client, SETTINGS, data, action=f"{SETTINGS}/delete")


# --- the page -----------------------------------------------------------------------------


async def test_the_page_needs_a_sign_in_and_is_linked_from_the_menu(client):
    response = await client.get(SETTINGS)
    assert response.status_code == 302 and "/auth/login" in response.location
    await make_user("alice")
    await login(client)
    status, html = await page(client, SETTINGS)
    assert status == 200
    for words in ("Change password", "Sign out everywhere", "Delete account",
                  'action="/settings/account/password"', 'id="password-meter"'):
        assert words in html
    _status, home = await page(client, "/")
    assert f'href="{SETTINGS}"' in home  # the account menu
    _status, email_settings = await page(client, "/settings/notifications")
    assert f'href="{SETTINGS}"' in email_settings


async def test_every_form_needs_its_csrf_token(client):
    await make_user("alice")
    await login(client)
    for action, data in (("password", {"current_password": PASSWORD, "password": NEW_PASSWORD,
                                       "password2": NEW_PASSWORD}),
                         ("sign-out-everywhere", {}),
                         ("delete", {"delete_password": PASSWORD, "confirm": "y"})):
        response = await client.post(f"{SETTINGS}/{action}", form=data)
        assert response.status_code == 400, action
    assert await signed_in(client)
    alice = await User.get(username="alice")
    assert await verify_password(alice.password_hash, PASSWORD)


# --- changing the password ----------------------------------------------------------------


async def test_a_wrong_current_password_changes_nothing_and_counts_as_a_failed_sign_in(client):
    alice = await make_user("alice")
    await login(client)
    response = await change(client, "not my password", NEW_PASSWORD)
    assert response.status_code == 400
    assert "That is not your current password." in await response.get_data(as_text=True)
    response = await change(client, "", NEW_PASSWORD)
    assert response.status_code == 400
    assert "Please enter your current password." in await response.get_data(as_text=True)
    fresh = await User.get(id=alice.id)
    assert await verify_password(fresh.password_hash, PASSWORD)
    assert fresh.session_epoch == alice.session_epoch
    assert await signed_in(client)
    # counted with the sign-in attempts: a few more and the form has to wait
    for _ in range(ACCOUNT.delay_after - 1):
        assert (await change(client, "still not it", NEW_PASSWORD)).status_code == 400
    refused = await change(client, PASSWORD, NEW_PASSWORD)  # even the right one, for now
    assert refused.status_code == 429
    assert 1 <= int(refused.headers["Retry-After"]) <= ACCOUNT.max_delay
    assert "Wait" in await refused.get_data(as_text=True)
    assert await verify_password((await User.get(id=alice.id)).password_hash, PASSWORD)


async def test_the_new_password_follows_the_policy(client):
    alice = await make_user("alice")
    await login(client)
    for new, message in (("password", "one of the most common passwords"),
                         ("short", "at least 8 characters"),
                         ("alice in wonderland", "your username")):
        response = await change(client, PASSWORD, new)
        assert response.status_code == 400
        assert message in await response.get_data(as_text=True), new
    # the repeat differs: said, and the rules' verdict on the new one too, at once
    response = await change(client, PASSWORD, "password", repeat="passwort")
    html = await response.get_data(as_text=True)
    assert response.status_code == 400
    assert "Passwords must match." in html and "one of the most common passwords" in html
    assert await verify_password((await User.get(id=alice.id)).password_hash, PASSWORD)


async def test_a_new_password_keeps_this_browser_and_signs_out_everything_else(app, client):
    alice = await make_user("alice")
    await login(client)
    other = app.test_client()
    await login(other)
    token = await token_for(client)
    assert (await client.get("/api/timeline", headers=token)).status_code == 200

    response = await change(client, PASSWORD, NEW_PASSWORD)
    assert response.status_code == 302 and response.location.endswith(SETTINGS)
    _status, html = await page(client, SETTINGS)
    assert "Your password has been changed; you were signed out everywhere else." in html
    assert await signed_in(client)
    assert not await signed_in(other)  # its cookie is refused from now on
    assert (await client.get("/api/timeline", headers=token)).status_code == 401
    assert not await ApiToken.filter(user_id=alice.id).exists()
    assert await verify_password((await User.get(id=alice.id)).password_hash, NEW_PASSWORD)
    # the page still works for the browser that changed it (a new CSRF secret came with it)
    response = await change(client, NEW_PASSWORD, "and yet another one")
    assert response.status_code == 302
    third = app.test_client()
    await login(third, password="and yet another one")


async def test_a_remembered_browser_stays_remembered(client):
    await make_user("alice")
    await submit(client, "/auth/login", {"username": "alice", "password": PASSWORD,
                                         "remember_me": "y"})
    response = await change(client, PASSWORD, NEW_PASSWORD)
    assert response.status_code == 302
    cookie = next(c for c in response.headers.getlist("Set-Cookie")
                  if c.startswith("QUART_AUTH="))
    assert "expires=" in cookie.lower()


# --- signing out everywhere ---------------------------------------------------------------


async def test_sign_out_everywhere_ends_every_session_and_nothing_else(app, client):
    alice = await make_user("alice")
    await login(client)
    other = app.test_client()
    await login(other)
    token = await token_for(client)
    response = await submit(client, SETTINGS, {}, action=f"{SETTINGS}/sign-out-everywhere")
    assert response.status_code == 302 and response.location.endswith("/auth/login")
    _status, html = await page(client, "/auth/login")
    assert "You have been signed out on every device, this one too." in html
    assert not await signed_in(client)
    assert not await signed_in(other)
    # no password changed, no token revoked
    assert (await client.get("/api/timeline", headers=token)).status_code == 200
    assert await verify_password((await User.get(id=alice.id)).password_hash, PASSWORD)
    await login(client)
    assert await signed_in(client)


# --- deleting the account -----------------------------------------------------------------


async def test_deleting_needs_the_password_and_the_box_ticked(client):
    alice = await make_user("alice")
    await login(client)
    response = await delete(client, PASSWORD, confirm=False)
    assert response.status_code == 400
    assert "Tick the box to confirm that you want this." in await response.get_data(as_text=True)
    response = await delete(client, "wrong password")
    assert response.status_code == 400
    assert "That is not your password." in await response.get_data(as_text=True)
    response = await delete(client, "")
    assert response.status_code == 400
    assert "Please enter your password." in await response.get_data(as_text=True)
    assert await User.exists(id=alice.id)
    assert await signed_in(client)


async def alice_with_everything(settings: Any) -> dict[str, Any]:
    """alice, who wrote, commented, messaged, followed, blocked, exported; bob, who answered."""
    alice, bob = await make_user("alice"), await make_user("bob")
    carol = await make_user("carol")
    hers = [await posts.create_post(alice, f"zanzibar tale number {n} #mine") for n in range(3)]
    his = await posts.create_post(bob, "bob's own post about tea")
    await posts.add_comment(alice, his.id, "alice was here")
    await posts.add_comment(bob, hers[0].id, "bob answers alice")
    await social.follow(alice, bob)
    await social.follow(bob, alice)
    await messages.block(alice, carol)
    await messages.send_message(alice, "bob", "hi bob, from alice")
    await messages.send_message(alice, "bob", "are you there?")
    await messages.send_message(bob, "alice", "hi alice")
    await messages.send_message(carol, "bob", "carol's message stays")
    await accounts.issue_api_token(alice)
    await PasswordResetToken.create(user=alice, token_hash=token_digest(new_token()),
                                    expires_at=now() + timedelta(hours=1))
    await scheduled.schedule_post(alice, "for later", (now() + timedelta(days=1)).isoformat())
    task = await Task.create(user_id=alice.id, name="export", status=TaskStatus.COMPLETE)
    directory = export_dir(task)
    directory.mkdir(parents=True)
    (directory / "posts.json").write_text(json.dumps({"posts": []}))
    return {"alice": alice, "bob": bob, "hers": hers, "his": his, "export": directory}


async def test_deleting_the_account_removes_everything_it_owned(app, client, settings):
    made = await alice_with_everything(settings)
    alice, bob, his = made["alice"], made["bob"], made["his"]
    assert (await User.get(id=bob.id)).unread_messages == 3
    assert (await User.get(id=bob.id)).unread_notifications == 2  # her follow, her comment
    assert await Notification.filter(user_id=alice.id).count() == 2  # bob's follow, comment
    await login(client)
    bobs = app.test_client()
    await login(bobs, "bob")
    bob_token = await token_for(bobs, "bob")

    response = await delete(client, PASSWORD)
    assert response.status_code == 302 and response.location == "/"
    _status, html = await page(client, "/")
    assert "Your account has been deleted." in html
    assert not await signed_in(client)

    assert not await User.exists(id=alice.id)
    for model, where in ((Post, {"author_id": alice.id}), (Comment, {"author_id": alice.id}),
                         (Comment, {"post_id": made["hers"][0].id}),
                         (Message, {"sender_id": alice.id}), (Message, {"recipient_id": alice.id}),
                         (Conversation, {"user_id": alice.id}),
                         (Notification, {"user_id": alice.id}), (UserEvent, {"user_id": alice.id}),
                         (ApiToken, {"user_id": alice.id}),
                         (PasswordResetToken, {"user_id": alice.id}),
                         (Follow, {"follower_id": alice.id}), (Follow, {"followed_id": alice.id}),
                         (Block, {"blocker_id": alice.id}),
                         (ScheduledPost, {"author_id": alice.id}), (Task, {"user_id": alice.id})):
        assert not await model.filter(**where).exists(), (model.__name__, where)
    assert not made["export"].exists()
    # bob's things stay; his unread count forgets alice's messages, and his tabs are told
    assert await Post.exists(id=his.id)
    assert await Message.filter(recipient_id=bob.id).count() == 1  # carol's
    bob_now = await User.get(id=bob.id)
    assert bob_now.unread_messages == 1
    told = await UserEvent.filter(user_id=bob.id, name="message.read").order_by("-id").first()
    assert present(told).payload["unread"] == 1
    # and his bell forgets her follow and her comment
    assert not await Notification.filter(user_id=bob.id).exists()
    assert bob_now.unread_notifications == 0
    bell = await UserEvent.filter(user_id=bob.id, name="notifications.read").first()
    assert present(bell).payload["unread"] == 0

    # bob's pages work
    for path in ("/messages", "/messages/carol", f"/post/{his.id}", "/notifications",
                 "/user/bob", "/", "/explore"):
        status, html = await page(bobs, path)
        assert status == 200, path
        assert "alice was here" not in html and "zanzibar" not in html
    assert (await bobs.get("/user/alice")).status_code == 404
    assert (await bobs.get(f"/post/{made['hers'][0].id}")).status_code == 404
    # bob's inbox keeps the conversation, as a deleted account's, with nothing in it
    status, html = await page(bobs, "/messages")
    assert "Deleted account" in html and "hi bob, from alice" not in html
    listed = await bobs.get("/api/conversations", headers=bob_token)
    lines = (await listed.get_json())["items"]
    assert [(c["partner"] or {}).get("username") for c in lines] == ["carol", None]
    gone = lines[1]
    assert gone["last_message"] is None and gone["unread"] == 0
    # which he can remove, and only that one (carol's is a conversation with someone)
    carols = lines[0]["id"]
    assert (await bobs.delete(f"/api/conversations/{carols}", headers=bob_token)
            ).status_code == 404
    await make_user("mallory")
    mallory = await token_for(app.test_client(), "mallory")
    assert (await bobs.delete(f"/api/conversations/{gone['id']}", headers=mallory)
            ).status_code == 404
    removed = await submit(bobs, "/messages", {}, f"/messages/deleted/{gone['id']}/remove")
    assert removed.status_code == 302
    status, html = await page(bobs, "/messages")
    assert "Deleted account" not in html and "carol" in html
    assert (await bobs.delete(f"/api/conversations/{gone['id']}", headers=bob_token)
            ).status_code == 404
    # search no longer finds her posts
    found = await bobs.get("/api/search", query_string={"q": "zanzibar"}, headers=bob_token)
    assert found.status_code == 200 and (await found.get_json())["items"] == []
    # and her name is free again
    await make_user("alice", "another person's password")


async def test_delete_me_through_the_api(client):
    alice = await make_user("alice")
    await posts.create_post(alice, "gone with the account")
    token = await token_for(client)
    refused = await client.delete("/api/me", json={"password": "wrong"}, headers=token)
    assert refused.status_code == 400
    assert "password" in (await refused.get_json())["errors"]
    assert (await client.delete("/api/me", json={}, headers=token)).status_code == 400
    assert await User.exists(id=alice.id)
    response = await client.delete("/api/me", json={"password": PASSWORD}, headers=token)
    assert response.status_code == 204
    assert not await User.exists(id=alice.id)
    assert not await Post.exists()
    assert (await client.get("/api/timeline", headers=token)).status_code == 401


async def test_explore_hears_that_the_deleted_accounts_posts_are_gone(server, db):
    """A real server, a real socket on Explore: every post of the account is announced
    deleted, and the account's own socket is disconnected."""
    author, watcher = Api(server.url), Api(server.url)
    await author.register("leaving")
    await watcher.register("watcher")
    browser = httpx.AsyncClient(base_url=server.url, timeout=10)
    author_socket = await Recorder("leaving").connect(server.url, author.token)
    explore = await Recorder("explore").connect(server.url, watcher.token)
    try:
        assert await explore.call("subscribe", {"stream": "explore"}) == {"ok": True}
        ids = [(await author.http.post("/api/posts", json={"body": f"soon gone {n}"})).json()["id"]
               for n in range(3)]
        await explore.wait_for("post.created", count=3)
        # signs in and deletes the account on the page, as a browser would
        form = await browser.get("/auth/login")
        signed = await browser.post("/auth/login", data={
            "username": "leaving", "password": "socket pass 1",
            "csrf_token": csrf_token(form.text)})
        assert signed.status_code == 302
        settings_page = await browser.get(SETTINGS)
        assert settings_page.status_code == 200
        deleted = await browser.post(f"{SETTINGS}/delete", data={
            "delete_password": "socket pass 1", "confirm": "y",
            "csrf_token": csrf_token(settings_page.text)})
        assert deleted.status_code == 302, deleted.text
        gone = await explore.wait_for("post.deleted", count=3)
        assert sorted(event["id"] for event in gone) == sorted(ids)
        await author_socket.wait_until(lambda r: r.disconnects)
        assert explore.client.connected
    finally:
        for closing in (author_socket, explore):
            await closing.disconnect()
        for api in (author, watcher):
            await api.close()
        await browser.aclose()


# --- in Chromium --------------------------------------------------------------------------


async def test_the_settings_page_in_chromium_at_desktop_and_phone_widths(server, browser, db):
    base = server.url
    problems: list[str] = []
    desktop = await browser.new_context(viewport={"width": 1100, "height": 900})
    phone = await browser.new_context(viewport={"width": 390, "height": 844})
    try:
        page_ = await desktop.new_page()
        page_.on("pageerror", lambda error: problems.append(str(error)))
        # script errors and CSP violations (a refused form answers 400: not a problem)
        page_.on("console", lambda m: problems.append(m.text) if m.type == "error"
                 and not m.text.startswith("Failed to load resource") else None)
        await page_.add_init_script(
            "document.addEventListener('securitypolicyviolation', e => console.error("
            "'CSP violation: ' + e.violatedDirective + ' ' + e.blockedURI));")
        await register_and_login(page_, base, "alice")
        await page_.click("#account-menu")
        await page_.click("text=Account settings")
        await page_.wait_for_url(f"{base}{SETTINGS}")
        assert await page_.inner_text("h1") == "Account settings"
        await page_.screenshot(path=artifact("account-settings.png"), full_page=True)

        # a wrong current password: said next to the field
        await page_.fill("#current_password", "not it at all")
        await page_.fill("#password", "a long new passphrase")
        await page_.fill("#password2", "a long new passphrase")
        await page_.click("#submit")
        assert "That is not your current password." in await page_.inner_text(
            "#current_password-error")
        # the strength hint works here too
        await page_.fill("#current_password", "browser pass 1")
        await page_.fill("#password", "a long new passphrase")
        assert "strong" in await page_.inner_text("#password-meter")
        await page_.fill("#password2", "a long new passphrase")
        await page_.click("#submit")
        await page_.wait_for_url(f"{base}{SETTINGS}")
        assert "you were signed out everywhere else" in await page_.inner_text(".alert-success")
        await page_.screenshot(path=artifact("account-settings-changed.png"), full_page=True)
        # still signed in, and the live connection comes back
        await page_.wait_for_selector("#live-status[data-state=live]")

        small = await phone.new_page()
        await small.goto(f"{base}/auth/login")
        await small.fill("#username", "alice")
        await small.fill("#password", "a long new passphrase")
        await small.click("#submit")
        await small.wait_for_url(f"{base}/")
        await small.goto(f"{base}{SETTINGS}")
        width = await small.evaluate("document.documentElement.scrollWidth")
        assert width <= 390, f"the page is {width}px wide on a 390px screen"
        await small.screenshot(path=artifact("account-settings-phone.png"), full_page=True)
        # the desktop browser signs out everywhere: the phone is signed out too
        await page_.click("#sign-out-everywhere")
        await page_.wait_for_url(f"{base}/auth/login")
        # the phone's open tab notices by itself (its socket is closed) and asks to sign in
        await small.wait_for_url(f"{base}/auth/login?next=%2Fsettings%2Faccount")
    finally:
        await desktop.close()
        await phone.close()
    assert not problems, problems
