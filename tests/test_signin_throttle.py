"""Password guessing is throttled (issue 14): attempts are counted per account and per client
address in Redis; past the limits a sign-in waits, then locks for a while, on the login form,
`POST /api/tokens` and the jobs admin UI, the same way whether the account exists or not.
Waiting is simulated by moving the counter's `next` time into the past (what time would do)."""

from __future__ import annotations

import asyncio
import base64
from datetime import timedelta
from typing import Any

from microblog.clock import now
from microblog.infra import resources
from microblog.models import PasswordResetToken
from microblog.security import new_token, token_digest
from microblog.services import accounts, signin_throttle
from microblog.services.signin_throttle import ACCOUNT, ADDRESS
from tests.helpers import make_user, page, submit

PASSWORD = "correct horse"


def basic(login: str, password: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{login}:{password}".encode()).decode()}


async def waited(key: str) -> None:
    """As if the wait a counter imposes had passed."""
    assert resources.redis is not None
    if await resources.redis.exists(key):
        await resources.redis.hset(key, "next", "0")  # type: ignore[misc]


# the test client's connections come from this peer (a real server's scope has one)
PROXY_PEER = {"client": ("127.0.0.1", 40000)}


async def token(client: Any, login: str, password: str, **headers: str) -> Any:
    return await client.post("/api/tokens", headers={**basic(login, password), **headers},
                             scope_base=PROXY_PEER)


async def login_form(client: Any, login: str, password: str) -> tuple[int, str, Any]:
    response = await submit(client, "/auth/login", {"username": login, "password": password})
    return response.status_code, await response.get_data(as_text=True), response


async def test_wrong_passwords_slow_down_then_lock_and_the_lock_lifts(client):
    alice = await make_user("alice", PASSWORD)
    key = signin_throttle.account_key(alice.id, "alice")
    # the first few are free, one after the other
    for _ in range(ACCOUNT.delay_after - 1):
        assert (await token(client, "alice", "wrong guess")).status_code == 401
    # from here each attempt makes the next one wait: the very next one is refused unchecked
    assert (await token(client, "alice", "wrong guess")).status_code == 401
    refused = await token(client, "alice", PASSWORD)  # even the right one, while waiting
    assert refused.status_code == 429
    assert 1 <= int(refused.headers["Retry-After"]) <= ACCOUNT.max_delay
    assert "Wait" in (await refused.get_json())["message"]
    # after waiting, more guesses, each followed by a longer wait, until the lock
    for _ in range(ACCOUNT.lock_after - ACCOUNT.delay_after):
        await waited(key)
        assert (await token(client, "alice", "wrong guess")).status_code == 401
    locked = await token(client, "alice", PASSWORD)
    assert locked.status_code == 429
    assert int(locked.headers["Retry-After"]) > ACCOUNT.max_delay
    assert (await locked.get_json())["message"] == (
        "Too many failed sign-ins for this account. Try again in 15 minutes, or reset your "
        "password.")
    # by email too: one count per account
    assert (await token(client, "alice@example.com", PASSWORD)).status_code == 429
    # the lock lifts by itself; the owner's success starts the count over
    await waited(key)
    assert (await token(client, "alice", PASSWORD)).status_code == 200
    assert (await token(client, "alice", "wrong guess")).status_code == 401
    assert (await token(client, "alice", PASSWORD)).status_code == 200


async def test_the_login_form_says_so_and_does_not_tell_who_exists(client):
    await make_user("alice", PASSWORD)
    answers = {}
    for name in ("alice", "nobody_here"):
        for _ in range(ACCOUNT.delay_after):
            status, _html, _r = await login_form(client, name, "wrong guess")
            assert status == 400
        status, html, response = await login_form(client, name, "wrong guess")
        answers[name] = (status, "Too many failed sign-ins. Wait" in html,
                         response.headers.get("Retry-After"))
    assert answers["alice"] == answers["nobody_here"]
    assert answers["alice"][:2] == (429, True)


async def test_parallel_guesses_are_counted_before_the_password_is_checked(client):
    await make_user("alice", PASSWORD)
    answers = await asyncio.gather(*(token(client, "alice", f"guess {i}") for i in range(16)))
    statuses = sorted(r.status_code for r in answers)
    # only the attempts before the first wait were checked at all
    assert statuses.count(401) == ACCOUNT.delay_after
    assert statuses.count(429) == 16 - ACCOUNT.delay_after


async def test_a_password_reset_lifts_the_lock(client, mailbox):
    alice = await make_user("alice", PASSWORD)
    key = signin_throttle.account_key(alice.id, "alice")
    for _ in range(ACCOUNT.lock_after):
        await waited(key)
        await token(client, "alice", "wrong guess")
    assert (await token(client, "alice", PASSWORD)).status_code == 429
    # the owner resets the password from the emailed link: the account opens at once
    raw = new_token()
    await PasswordResetToken.create(user=alice, token_hash=token_digest(raw),
                                    expires_at=now() + timedelta(hours=1))
    await accounts.reset_password(raw, "a brand new passphrase")
    assert (await token(client, "alice", "a brand new passphrase")).status_code == 200


async def test_an_address_guessing_many_accounts_is_slowed_down(client):
    proxy = {"X-Forwarded-For": "203.0.113.7"}  # PROXY_PEER is a trusted proxy (loopback)
    for i in range(ADDRESS.delay_after):
        response = await token(client, f"name{i}", "wrong guess", **proxy)
        assert response.status_code == 401
    refused = await token(client, "another_name", "wrong guess", **proxy)
    assert refused.status_code == 429
    assert "Wait" in (await refused.get_json())["message"]
    # another client behind the same proxy is not affected
    assert (await token(client, "another_name", "wrong guess",
                        **{"X-Forwarded-For": "203.0.113.8"})).status_code == 401
    # successes do not count against an address
    await make_user("alice", PASSWORD)
    for _ in range(ADDRESS.delay_after + 5):
        assert (await token(client, "alice", PASSWORD,
                            **{"X-Forwarded-For": "198.51.100.1"})).status_code == 200


async def test_a_forwarded_address_is_believed_only_from_a_trusted_proxy(app, settings):
    from microblog.web.common import client_address

    cases = [
        (("127.0.0.1", 5000), "203.0.113.7", "203.0.113.7"),
        (("127.0.0.1", 5000), "198.51.100.9, 203.0.113.7", "203.0.113.7"),
        (("127.0.0.1", 5000), "203.0.113.7, 127.0.0.1", "203.0.113.7"),
        (("127.0.0.1", 5000), "not-an-ip", "127.0.0.1"),
        (("192.0.2.1", 5000), "203.0.113.7", "192.0.2.1"),  # not a proxy of ours: ignored
        (("192.0.2.1", 5000), None, "192.0.2.1"),
    ]
    for peer, forwarded, expected in cases:
        headers = {"X-Forwarded-For": forwarded} if forwarded else {}
        async with app.app.test_request_context("/", headers=headers) as ctx:
            ctx.request.scope["client"] = peer
            assert client_address() == expected, (peer, forwarded)


async def test_pages_still_sign_in(client):
    await make_user("alice", PASSWORD)
    status, _html, response = await login_form(client, "alice", PASSWORD)
    assert status == 302
    status, html = await page(client, "/")
    assert status == 200 and "alice" in html
