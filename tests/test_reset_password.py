"""Password reset end to end: a real worker sends the email to a real SMTP server."""

import asyncio
import re
from typing import Any

from saq.queue.redis import RedisQueue

from microblog.infra import resources
from microblog.jobs import job_key
from microblog.models import PasswordResetToken
from microblog.services.accounts import send_password_reset_email
from tests.helpers import login, make_user, page, present, submit

GENERIC = "If that address belongs to an account, we have emailed it"


async def test_reset_email_arrives_and_its_link_works_exactly_once(client, worker, mailbox):
    await make_user("alice", "old password 1", email="alice@example.com")
    # a browser signed in before the reset: the new password ends its session
    elsewhere = client.app.test_client()
    await login(elsewhere, "alice", "old password 1")
    assert (await elsewhere.get("/edit_profile")).status_code == 200
    response = await submit(client, "/auth/reset", {"email": "Alice@Example.com"})
    assert response.status_code == 302
    _s, html = await page(client, response.location)
    assert GENERIC in html

    message = await mailbox.wait_for("alice@example.com")
    assert "Reset your password" in message["Subject"]
    text = message.get_body(("plain",)).get_content()
    html_body = message.get_body(("html",)).get_content()
    link = present(re.search(r"http://127\.0\.0\.1:5000(/auth/reset/[\w-]+)", text)).group(1)
    assert link in html_body

    response = await submit(client, link, {"password": "new password 2",
                                           "password2": "new password 2"})
    assert response.status_code == 302 and response.location.endswith("/auth/login")
    await login(client, "alice", "new password 2")

    response = await elsewhere.get("/edit_profile")
    assert response.status_code == 302 and "/auth/login" in response.location

    # the link is single-use
    other = client.app.test_client()
    response = await other.get(link)
    assert response.status_code == 302 and response.location.endswith("/auth/reset")
    bad = await submit(other, "/auth/login", {"username": "alice",
                                              "password": "old password 1"})
    assert bad.status_code == 400


async def test_reset_request_says_the_same_for_unknown_addresses(client, worker, mailbox):
    before = len(mailbox.messages)
    response = await submit(client, "/auth/reset", {"email": "nobody@example.com"})
    assert response.status_code == 302
    _s, html = await page(client, response.location)
    assert GENERIC in html
    assert await PasswordResetToken.all().count() == 0
    assert len(mailbox.messages) == before


async def test_reset_with_weak_password_keeps_the_token(client, worker, mailbox):
    await make_user("bob", "old password 1", email="bob@example.com")
    await submit(client, "/auth/reset", {"email": "bob@example.com"})
    message = await mailbox.wait_for("bob@example.com")
    link = present(re.search(r"(/auth/reset/[\w-]+)",
                             message.get_body(("plain",)).get_content()))
    response = await submit(client, link.group(1), {"password": "short", "password2": "short"})
    assert response.status_code == 400
    assert "at least 8 characters" in await response.get_data(as_text=True)
    assert (await PasswordResetToken.get()).used_at is None


async def test_forged_reset_link_is_refused(client):
    response = await client.get("/auth/reset/not-a-real-token")
    assert response.status_code == 302 and response.location.endswith("/auth/reset")


async def job_done(key: str) -> Any:
    """The SAQ job of `key` once it has finished (the worker marks it after the email)."""
    assert resources.queue is not None
    deadline = asyncio.get_running_loop().time() + 20
    while True:
        job = await resources.queue.job(key)
        if job is not None and job.status.value in ("complete", "failed", "aborted"):
            return job
        assert asyncio.get_running_loop().time() < deadline, f"job {key} not done"
        await asyncio.sleep(0.05)


def reset_link(message: Any) -> str:
    return present(re.search(r"(/auth/reset/[\w-]+)",
                             message.get_body(("plain",)).get_content())).group(1)


async def test_only_the_newest_reset_link_works(client, worker, mailbox):
    alice = await make_user("alice", "old password 1", email="alice@example.com")
    key = present(job_key(send_password_reset_email, user_id=alice.id))
    await submit(client, "/auth/reset", {"email": "alice@example.com"})
    first = reset_link((await mailbox.wait_for_arrival("alice@example.com", 1)).message)
    await job_done(key)
    await submit(client, "/auth/reset", {"email": "alice@example.com"})
    second = reset_link((await mailbox.wait_for_arrival("alice@example.com", 2)).message)
    assert first != second

    # the older email's link stopped working when the newer one was sent
    response = await client.get(first)
    assert response.status_code == 302 and response.location.endswith("/auth/reset")
    response = await submit(client, second, {"password": "new password 2",
                                             "password2": "new password 2"})
    assert response.status_code == 302 and response.location.endswith("/auth/login")
    await login(client, "alice", "new password 2")


async def test_the_reset_job_carries_no_token(client, worker, mailbox):
    """The job's arguments are stored in Redis (and shown by SAQ's web UI): only the user's
    id and locale travel; the token is made by the job and exists only in the email."""
    alice = await make_user("alice", email="alice@example.com")
    await submit(client, "/auth/reset", {"email": "alice@example.com"})
    link = reset_link(await mailbox.wait_for("alice@example.com"))
    token = link.rsplit("/", 1)[1]
    key = present(job_key(send_password_reset_email, user_id=alice.id))
    job = await job_done(key)
    assert job.status.value == "complete"
    assert set(job.kwargs) == {"user_id", "locale"} and job.kwargs["user_id"] == alice.id
    queue = resources.queue
    assert isinstance(queue, RedisQueue)
    stored = await queue.redis.get(queue.job_id(key))
    assert stored is not None and token.encode() not in stored
    assert await PasswordResetToken.filter(used_at__isnull=True).count() == 1
