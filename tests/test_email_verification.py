"""Confirming email addresses end to end (a real worker, a real SMTP server): registration
sends the link and nothing else reaches an unconfirmed address; the link's GET changes
nothing and its POST confirms; "Send it again" is rate limited; changing the address waits
for the new one's link and tells the old one."""

from __future__ import annotations

import asyncio
import re
import time
from email.message import EmailMessage
from typing import Any

from itsdangerous import TimestampSigner, URLSafeTimedSerializer
from tortoise import connections

from microblog.clock import now
from microblog.infra import resources
from microblog.jobs import job_key
from microblog.models import Comment, Follow, PasswordResetToken, Task, User
from microblog.models.task import TaskStatus
from microblog.services import emails, posts
from microblog.services.accounts import send_password_reset_email
from microblog.services.emails import (
    send_comment_email,
    send_follow_email,
    send_message_digest,
    send_verification_email,
)
from microblog.services.messages import send_message
from microblog.services.tasks import send_export_email
from microblog.testing import Mailbox
from tests.helpers import csrf_from, email_about, login, make_user, page, present, submit

BASE = "http://127.0.0.1:5000"
LINK_RE = re.compile(re.escape(BASE) + r"(/auth/verify/[\w.-]+)")
BANNER = "Confirm your email address: we sent a link to"


def bodies(message: EmailMessage) -> tuple[str, str]:
    text = present(message.get_body(("plain",))).get_content()
    html = present(message.get_body(("html",))).get_content()
    return text, html


def link_in(message: EmailMessage) -> str:
    text, html = bodies(message)
    path = present(LINK_RE.search(text)).group(1)
    assert f"{BASE}{path}" in html
    return path


async def job_done(key: str | None, within: float = 20.0) -> Any:
    """The SAQ job of `key` once it has finished."""
    assert key is not None and resources.queue is not None
    deadline = time.monotonic() + within
    while True:
        job = await resources.queue.job(key)
        if job is not None and job.status.value in ("complete", "failed", "aborted"):
            return job
        assert time.monotonic() < deadline, f"job {key} not done"
        await asyncio.sleep(0.05)


async def queued_since(key: str | None, started: float) -> bool:
    """Whether the job of `key` was queued at or after `started` (time.time()): a finished
    job of an earlier test may still be kept under the same key."""
    assert key is not None and resources.queue is not None
    job = await resources.queue.job(key)
    return job is not None and job.queued >= int(started * 1000)


def to(mailbox: Mailbox, address: str) -> list[EmailMessage]:
    return [arrival.message for arrival in mailbox.to(address)]


async def fresh(user: User) -> User:
    return await User.get(id=user.id)


async def confirm(client: Any, path: str) -> Any:
    """Open a link as its reader does: the page (GET), then its button (POST)."""
    status, html = await page(client, path)
    assert status == 200, html
    return await client.post(path, form={"csrf_token": csrf_from(html)})


# --- registration ----------------------------------------------------------------------------


async def test_registration_sends_exactly_the_link(client, worker, mailbox):
    response = await submit(client, "/auth/register", {
        "username": "alice", "email": "Alice@Example.com", "password": "correct horse 1",
        "password2": "correct horse 1"})
    assert response.status_code == 302
    alice = await User.get(username="alice")
    assert alice.email_verified_at is None and alice.pending_email is None

    message = await mailbox.wait_for("alice@example.com")
    assert message["Subject"] == "[Microblog] Confirm your email address"
    text, _html = bodies(message)
    assert "within 48 hours" in text
    token = link_in(message).rsplit("/", 1)[1]
    # the job carries the user's id only: the token exists in the email alone
    job = await job_done(job_key(send_verification_email, user_id=alice.id))
    assert job.status.value == "complete" and set(job.kwargs) == {"user_id", "locale"}
    assert token not in repr(job.kwargs)
    assert len(to(mailbox, "alice@example.com")) == 1

    # the API registers the same way
    created = await client.post("/api/users", json={
        "username": "bob", "email": "bob@example.com", "password": "correct horse 2"})
    assert created.status_code == 201
    bob_id = (await created.get_json())["id"]
    assert (await User.get(id=bob_id)).email_verified_at is None
    assert "Confirm your email address" in (await mailbox.wait_for("bob@example.com"))["Subject"]
    await job_done(job_key(send_verification_email, user_id=bob_id))
    assert len(to(mailbox, "bob@example.com")) == 1


async def test_the_link_get_changes_nothing_and_post_confirms(client, worker, mailbox):
    bob = await make_user("bob", verified=False)
    path = link_in(await mailbox.wait_for("bob@example.com"))
    await login(client, "bob")
    _s, html = await page(client, "/")
    assert BANNER in html and "bob@example.com" in html

    # what a mail scanner does: open the link, twice
    for _ in range(2):
        status, html = await page(client, path)
        assert status == 200
        assert "Confirm that bob@example.com is the email address of bob?" in html
    assert (await fresh(bob)).email_verified_at is None

    response = await client.post(path, form={"csrf_token": csrf_from(html)})
    assert response.status_code == 302
    assert (await fresh(bob)).email_verified_at is not None
    _s, html = await page(client, response.location)
    assert "your email address bob@example.com is confirmed" in html
    assert BANNER not in html

    # opening it again is harmless
    status, html = await page(client, path)
    assert status == 200 and "already confirmed" in html
    # a visitor who is not signed in is sent to sign in
    visitor = client.app.test_client()
    again = await confirm(visitor, path)
    assert again.status_code == 302 and again.location.endswith("/auth/login")


async def test_bad_and_expired_links_are_clear_error_pages(client, settings):
    bob = await make_user("bob", verified=False)
    good = emails.verification_token(bob.id, bob.email)

    for token in ("garbage", good[:-2] + ("AA" if not good.endswith("AA") else "BB"),
                  emails.verification_token(bob.id, "someone.else@example.com"),
                  emails.verification_token(10_000, "x@example.com")):
        status, html = await page(client, f"/auth/verify/{token}")
        assert status == 404, token
        assert "This confirmation link is not valid" in html

    class Past(TimestampSigner):
        def get_timestamp(self) -> int:
            return int(time.time()) - 49 * 3600

    expired = URLSafeTimedSerializer(settings.secret_key, salt=emails.VERIFY_SALT,
                                     signer=Past).dumps([bob.id, emails.address_digest(bob.email)])
    status, html = await page(client, f"/auth/verify/{expired}")
    assert status == 400 and "This confirmation link has expired" in html
    csrf = csrf_from((await page(client, "/auth/login"))[1])
    response = await client.post(f"/auth/verify/{expired}", form={"csrf_token": csrf})
    assert response.status_code == 400
    response = await client.post("/auth/verify/garbage", form={"csrf_token": csrf})
    assert response.status_code == 404
    assert (await fresh(bob)).email_verified_at is None
    # JSON clients get JSON
    response = await client.get("/auth/verify/garbage", headers={"Accept": "application/json"})
    assert response.status_code == 404 and "not valid" in (await response.get_json())["message"]


async def test_send_it_again_is_rate_limited(client, worker, mailbox):
    await make_user("bob", verified=False)
    await login(client, "bob")
    for n in range(3):
        response = await submit(client, "/", {"next": "/explore"},
                                action="/settings/email/resend")
        assert response.status_code == 302 and response.location == "/explore", n
    _s, html = await page(client, "/explore")
    assert "We sent a new link to bob@example.com" in html
    response = await submit(client, "/", {}, action="/settings/email/resend")
    assert response.status_code == 429
    assert int(response.headers["Retry-After"]) > 0
    assert "several links already" in await response.get_data(as_text=True)

    # a confirmed address: no banner, and nothing is sent
    await make_user("carol")
    other = client.app.test_client()
    await login(other, "carol")
    _s, html = await page(other, "/")
    assert BANNER not in html
    response = await submit(other, "/", {}, action="/settings/email/resend")
    assert response.status_code == 302
    assert "already confirmed" in (await page(other, response.location))[1]


# --- nothing else reaches an unconfirmed address -------------------------------------------


async def test_an_unconfirmed_address_gets_no_follow_or_comment_email(client, worker, mailbox):
    await make_user("alice")
    bob = await make_user("bob", verified=False)
    carol = await make_user("carol")
    await mailbox.wait_for("bob@example.com")  # his link
    bob_post = await posts.create_post(bob, "Bob's tea")
    carol_post = await posts.create_post(carol, "Carol's tea")
    await login(client, "alice")
    for name in ("bob", "carol"):
        response = await submit(client, f"/user/{name}", {}, action=f"/follow/{name}")
        assert response.status_code == 302
    for post in (bob_post, carol_post):
        response = await submit(client, f"/post/{post.id}", {"body": "Lovely"})
        assert response.status_code == 302

    await email_about(mailbox, "carol@example.com", "following you")
    await email_about(mailbox, "carol@example.com", "commented")
    # bob's would have been queued before carol's: none was (nor will be)
    assert [m["Subject"] for m in to(mailbox, "bob@example.com")] == [
        "[Microblog] Confirm your email address"]

    # a job queued before (or despite) that asks again when it runs
    alice = await User.get(username="alice")
    assert await Follow.exists(follower_id=alice.id, followed_id=bob.id)
    assert await send_follow_email({}, follower_id=alice.id, followed_id=bob.id) == (
        "skipped: address not verified")
    comment = await Comment.get(post_id=bob_post.id)
    assert await send_comment_email({}, comment_id=comment.id) == (
        "skipped: address not verified")


async def test_digest_export_and_reset_skip_an_unconfirmed_address(client, mailbox):
    # no worker: the test runs the job functions itself
    started = time.time()
    alice = await make_user("alice")
    bob = await make_user("bob", verified=False)
    await send_message(alice, "bob", "hello")
    assert await send_message_digest({}, user_id=bob.id) == "skipped: address not verified"
    # nor does the digest cron keep finding him (it would queue a job every tick)
    conn = connections.get("default")
    await conn.execute_query("UPDATE messages SET created_at = now() - interval '1 hour'")
    due = emails._DUE_DIGESTS  # noqa: SLF001 - the cron's query itself
    assert await conn.execute_query_dict(due, [1.0, 10]) == []
    await User.filter(id=bob.id).update(email_verified_at=now())
    assert await conn.execute_query_dict(due, [1.0, 10]) == [{"id": bob.id}]
    await User.filter(id=bob.id).update(email_verified_at=None)
    task = await Task.create(user_id=bob.id, name="export", status=TaskStatus.COMPLETE,
                             result={"count": 0})
    assert await send_export_email({}, task_id=task.id) == "skipped: address not verified"
    assert await send_password_reset_email({}, user_id=bob.id) == (
        "skipped: address not verified")

    # the reset page answers the same, and makes no link
    response = await submit(client, "/auth/reset", {"email": "bob@example.com"})
    assert response.status_code == 302
    assert "If that address belongs to an account" in (await page(client, response.location))[1]
    assert await PasswordResetToken.all().count() == 0
    assert not await queued_since(job_key(send_password_reset_email, user_id=bob.id), started)
    # (the session's worker, when another test started it, sends bob his link: only that)
    assert {m["Subject"] for m in to(mailbox, "bob@example.com")} <= {
        "[Microblog] Confirm your email address"}


# --- changing the address --------------------------------------------------------------------


async def test_changing_the_address_waits_for_the_new_ones_link(client, worker, mailbox):
    alice = await make_user("alice", "correct horse", email="alice@example.com")
    await make_user("bob")
    await login(client, "alice")
    status, html = await page(client, "/settings/email")
    assert status == 200 and "alice@example.com" in html
    assert 'href="/settings/email"' in (await page(client, "/settings/notifications"))[1]

    wrong = await submit(client, "/settings/email", {"email": "new@example.com",
                                                     "email_password": "not it at all"})
    assert wrong.status_code == 400
    assert "That is not your current password." in await wrong.get_data(as_text=True)
    taken = await submit(client, "/settings/email", {"email": "BOB@example.com",
                                                     "email_password": "correct horse"})
    assert taken.status_code == 400
    assert "already registered" in await taken.get_data(as_text=True)
    assert (await fresh(alice)).pending_email is None

    response = await submit(client, "/settings/email", {"email": "New@Example.com",
                                                        "email_password": "correct horse"})
    assert response.status_code == 302
    row = await fresh(alice)
    assert row.email == "alice@example.com" and row.pending_email == "new@example.com"
    _s, html = await page(client, "/settings/email")
    assert "Waiting for confirmation: we sent a link to new@example.com" in html

    message = await mailbox.wait_for("new@example.com")
    assert message["Subject"] == "[Microblog] Confirm your new email address"
    path = link_in(message)
    status, html = await page(client, path)
    assert status == 200 and "Use new@example.com as the email address of alice?" in html
    assert (await fresh(alice)).email == "alice@example.com"
    assert to(mailbox, "alice@example.com") == []

    response = await client.post(path, form={"csrf_token": csrf_from(html)})
    assert response.status_code == 302
    row = await fresh(alice)
    assert row.email == "new@example.com" and row.pending_email is None
    assert row.email_verified_at is not None
    assert "Your email address is now new@example.com" in (
        await page(client, response.location))[1]

    notice = await mailbox.wait_for("alice@example.com")
    assert notice["Subject"] == "[Microblog] Your email address was changed"
    text, html = bodies(notice)
    assert "n***@example.com" in text and "n***@example.com" in html
    assert "new@example.com" not in text and "new@example.com" not in html

    # the new address signs in; the old one is no one's
    other = client.app.test_client()
    await login(other, "new@example.com", "correct horse")
    bad = await submit(client.app.test_client(), "/auth/login",
                       {"username": "alice@example.com", "password": "correct horse"})
    assert bad.status_code == 400


async def test_an_address_taken_before_the_link_is_opened_is_refused(client, worker, mailbox):
    await make_user("alice")
    await login(client, "alice")
    response = await submit(client, "/settings/email", {"email": "x@example.com",
                                                        "email_password": "correct horse"})
    assert response.status_code == 302
    path = link_in(await mailbox.wait_for("x@example.com"))
    # meanwhile someone registers that address
    await make_user("xavier", email="x@example.com")
    response = await confirm(client, path)
    assert response.status_code == 409
    assert "now belongs to another account" in await response.get_data(as_text=True)
    alice = await User.get(username="alice")
    assert alice.email == "alice@example.com" and alice.pending_email is None
    assert (await page(client, path))[0] == 404  # the change is gone with its link


async def test_an_unconfirmed_address_changed_gets_no_notice(client, worker, mailbox):
    started = time.time()
    bob = await make_user("bob", verified=False)
    first = link_in(await mailbox.wait_for("bob@example.com"))
    await login(client, "bob")
    response = await submit(client, "/settings/email", {"email": "typo@example.com",
                                                        "email_password": "correct horse"})
    assert response.status_code == 302
    # changed one's mind: cancelled, its link stops working
    typo = link_in(await mailbox.wait_for("typo@example.com"))
    response = await submit(client, "/settings/email", {}, action="/settings/email/cancel")
    assert response.status_code == 302 and (await fresh(bob)).pending_email is None
    assert (await page(client, typo))[0] == 404

    response = await submit(client, "/settings/email", {"email": "bob2@example.com",
                                                        "email_password": "correct horse"})
    assert response.status_code == 302
    path = link_in(await mailbox.wait_for("bob2@example.com"))
    assert (await confirm(client, path)).status_code == 302
    row = await fresh(bob)
    assert row.email == "bob2@example.com" and row.email_verified_at is not None
    # the link sent to the old address no longer confirms anything
    assert (await page(client, first))[0] == 404
    # the old, never confirmed address was told nothing (only its own link ever went there)
    notice = job_key(emails.send_email_changed_notice, user_id=bob.id,
                     old_email="bob@example.com")
    assert not await queued_since(notice, started)
    assert len(to(mailbox, "bob@example.com")) == 1
    _s, html = await page(client, "/")
    assert BANNER not in html
