"""Sessions and tokens that really end (issue 14, item 1): a server-side session per login;
logout, a password change and a revoked token end them at once, and every live socket opened
with them is disconnected on every instance; a socket re-checks its credential before any
write; non-remembered cookies end with the browser; new ids at login and logout."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import httpx
import socketio

from microblog.clock import now
from microblog.models import ApiToken, User
from microblog.services import accounts, sessions
from microblog.testing import csrf_token, login_cookie
from tests.helpers import login, make_user, page, submit
from tests.realtime import Api, Recorder

PASSWORD = "socket pass 1"


async def cookie_socket(url: str, cookie: str, name: str) -> Recorder:
    recorder = Recorder(name)
    await recorder.client.connect(url, headers={"Cookie": cookie, "Origin": url},
                                  transports=["websocket"], wait_timeout=10)
    return recorder


async def test_logout_ends_the_session_and_a_replayed_cookie_is_refused(client):
    await make_user("alice")
    await login(client, "alice")
    assert (await page(client, "/edit_profile"))[0] == 200
    # an attacker copied the cookies while alice was signed in
    saved = {c.name: c.value for c in client.cookie_jar}
    _status, html = await page(client, "/")
    response = await client.post("/auth/logout", form={"csrf_token": csrf_token(html)})
    assert response.status_code == 302
    replay = client.app.test_client()
    for name, value in saved.items():
        replay.set_cookie("localhost", name, value)
    response = await replay.get("/edit_profile")
    assert response.status_code == 302 and "/auth/login" in response.headers["Location"]
    assert (await replay.get("/api/notifications")).status_code == 401


async def test_remember_me_decides_the_cookie_lifetime_and_login_gives_new_ids(client):
    await make_user("alice")
    _status, html = await page(client, "/auth/login")
    before = {c.name: c.value for c in client.cookie_jar}
    response = await client.post("/auth/login", form={
        "username": "alice", "password": "correct horse", "csrf_token": csrf_token(html)})
    set_cookies = response.headers.get_all("Set-Cookie")
    auth = next(c for c in set_cookies if c.startswith("QUART_AUTH="))
    assert "Expires" not in auth and "Max-Age" not in auth  # ends with the browser
    after = {c.name: c.value for c in client.cookie_jar}
    assert after.get("session") != before.get("session")  # a new CSRF secret
    remembered = client.__class__(client.app)
    _status, html = await page(remembered, "/auth/login")
    response = await remembered.post("/auth/login", form={
        "username": "alice", "password": "correct horse", "remember_me": "y",
        "csrf_token": csrf_token(html)})
    auth = next(c for c in response.headers.get_all("Set-Cookie")
                if c.startswith("QUART_AUTH="))
    assert "Expires" in auth or "Max-Age" in auth
    # two logins, two sessions: each its own id
    ids = [c.value for c in client.cookie_jar if c.name == "QUART_AUTH"]
    ids += [c.value for c in remembered.cookie_jar if c.name == "QUART_AUTH"]
    assert len(set(ids)) == 2


async def test_an_idle_session_expires(db):
    alice = await make_user("alice")
    auth_id = await sessions.start(alice, remember=False)
    assert await sessions.user_for(auth_id) is not None
    from microblog.infra import resources

    assert resources.redis is not None
    parsed = sessions.parse(auth_id)
    assert parsed is not None
    ttl = await resources.redis.ttl(resources.key("session", parsed.sid))
    assert 0 < ttl <= sessions.IDLE_TTL
    await resources.redis.delete(resources.key("session", parsed.sid))  # time passed
    assert await sessions.user_for(auth_id) is None


async def test_sockets_of_a_changed_password_close_on_every_instance(server, server2, db):
    bob_api = Api(server.url)
    await bob_api.register("bob", PASSWORD)
    alice_api = Api(server.url)
    await alice_api.register("alice", PASSWORD)
    cookie = await asyncio.to_thread(login_cookie, server2.url, "bob", PASSWORD)
    by_token = await Recorder("bob-token").connect(server.url, bob_api.token)
    by_cookie = await cookie_socket(server2.url, cookie, "bob-cookie")
    try:
        bob = await User.get(username="bob")
        await accounts.change_password(bob, "another long passphrase",
                                       current_password=PASSWORD)
        for socket in (by_token, by_cookie):
            await socket.wait_until(lambda r: not r.client.connected, within=5)
        # nothing more reaches them: a message to bob is delivered to no old socket
        await alice_api.http.post("/api/messages", json={"to": "bob", "body": "still there?"})
        assert not by_token.of("message.created") and not by_cookie.of("message.created")
        # and they cannot come back with the old credentials
        again = Recorder("bob-again")
        try:
            await again.connect(server.url, bob_api.token)
            raise AssertionError("a revoked token opened a socket")
        except socketio.exceptions.ConnectionError:
            pass
        finally:
            await again.disconnect()
    finally:
        for socket in (by_token, by_cookie):
            await socket.disconnect()
        await bob_api.close()
        await alice_api.close()


async def test_a_revoked_token_closes_its_sockets_only(server, server2, db):
    bob_api = Api(server.url)
    await bob_api.register("bob", PASSWORD)
    second = (await bob_api.http.post(
        "/api/tokens", auth=("bob", PASSWORD))).json()["token"]
    revoked = await Recorder("revoked").connect(server2.url, bob_api.token)
    kept = await Recorder("kept").connect(server.url, second)
    try:
        response = await bob_api.http.delete("/api/tokens")
        assert response.status_code == 204
        await revoked.wait_until(lambda r: not r.client.connected, within=5)
        assert kept.client.connected
        ack = await kept.call("typing", {"to": "bob"})
        assert ack["code"] != "unauthorized"
    finally:
        await revoked.disconnect()
        await kept.disconnect()
        await bob_api.close()


async def test_a_socket_rechecks_its_credential_before_a_write(server, db):
    bob_api = Api(server.url)
    await bob_api.register("bob", PASSWORD)
    alice_api = Api(server.url)
    await alice_api.register("alice", PASSWORD)
    socket = await Recorder("bob").connect(server.url, bob_api.token)
    try:
        # the token disappears without any announcement (as if the broadcast were lost)
        await ApiToken.filter(user__username="bob").delete()
        ack = await socket.call("message.send", {"to": "alice", "body": "sneaky"})
        assert ack["ok"] is False and ack["code"] == "unauthorized"
        await socket.wait_until(lambda r: not r.client.connected, within=5)
        history = await alice_api.http.get("/api/conversations")
        assert history.json()["items"] == []
    finally:
        await socket.disconnect()
        await bob_api.close()
        await alice_api.close()


async def test_an_expiring_token_closes_its_socket(server, db):
    bob_api = Api(server.url)
    await bob_api.register("bob", PASSWORD)
    await ApiToken.filter(user__username="bob").update(expires_at=now() + timedelta(seconds=1))
    socket = await Recorder("bob").connect(server.url, bob_api.token)
    try:
        await socket.wait_until(lambda r: not r.client.connected, within=10)
    finally:
        await socket.disconnect()
        await bob_api.close()


async def test_logout_closes_that_browsers_sockets(server, db):
    api = Api(server.url)
    await api.register("bob", PASSWORD)
    cookie_one = await asyncio.to_thread(login_cookie, server.url, "bob", PASSWORD)
    cookie_two = await asyncio.to_thread(login_cookie, server.url, "bob", PASSWORD)
    one = await cookie_socket(server.url, cookie_one, "one")
    two = await cookie_socket(server.url, cookie_two, "two")
    try:
        jar = dict(part.split("=", 1) for part in cookie_one.split("; "))
        async with httpx.AsyncClient(base_url=server.url, cookies=jar, timeout=10) as http:
            home = await http.get("/")
            response = await http.post("/auth/logout",
                                       data={"csrf_token": csrf_token(home.text)})
            assert response.status_code == 302
        await one.wait_until(lambda r: not r.client.connected, within=5)
        assert two.client.connected  # another browser's session goes on
    finally:
        await one.disconnect()
        await two.disconnect()
        await api.close()


async def test_pages_sign_in_and_out(client: Any):
    await make_user("alice")
    await login(client, "alice")
    status, html = await page(client, "/edit_profile")
    assert status == 200
    await submit(client, "/", {}, action="/auth/logout")
    status, _html = await page(client, "/edit_profile")
    assert status == 302


async def test_the_sweep_finds_sockets_whose_session_expired_and_renews_the_others(db):
    from microblog.infra import resources
    from microblog.realtime.personal import Cursor
    from microblog.web.sockets import ended_sessions

    alice = await make_user("alice")
    live_id = sessions.parse(await sessions.start(alice, remember=False))
    gone_id = sessions.parse(await sessions.start(alice, remember=False))
    assert live_id is not None and gone_id is not None
    cursors = []
    for n, session in enumerate((live_id, gone_id)):
        cursor = Cursor(f"socket{n}", alice.id, 0)
        cursor.credential = ("session", session.sid)
        cursors.append(cursor)
    token_socket = Cursor("socket-token", alice.id, 0)
    token_socket.credential = ("token", "digest")
    assert resources.redis is not None
    await resources.redis.delete(resources.key("session", gone_id.sid))  # it expired
    await resources.redis.expire(resources.key("session", live_id.sid), 5)
    assert await ended_sessions([*cursors, token_socket]) == ["socket1"]
    assert await resources.redis.ttl(resources.key("session", live_id.sid)) > 5  # renewed
