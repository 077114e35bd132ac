"""Email notifications end to end: a real worker sends follow, comment and unread-message
digest emails to a real SMTP server; preferences and one-click unsubscribe links turn them
off."""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections.abc import Awaitable, Callable
from email.message import EmailMessage
from typing import Any, TypeVar

from itsdangerous import URLSafeSerializer
from saq.queue.redis import RedisQueue

from microblog.i18n import locale_context, ngettext
from microblog.infra import resources
from microblog.models import Comment, Follow, User
from microblog.services import accounts, emails, posts, social
from microblog.services import messages as message_service
from microblog.services.emails import send_comment_email, send_follow_email
from microblog.settings import Settings
from tests.conftest import Mailbox
from tests.helpers import csrf_from, login, make_user, page, submit

T = TypeVar("T")
BASE = "http://127.0.0.1:5000"
UNSUBSCRIBE_RE = re.compile(re.escape(BASE) + r"(/unsubscribe/[\w.-]+)")


async def emails_to(mailbox: Mailbox, to: str, count: int = 1,
                    timeout: float = 25.0) -> list[EmailMessage]:  # noqa: ASYNC109
    """Wait until `to` has received `count` emails; all of them, oldest first."""
    deadline = time.monotonic() + timeout
    while True:
        got = [m for m in mailbox.messages if to in str(m["To"])]
        if len(got) >= count:
            return got
        if time.monotonic() > deadline:
            raise AssertionError(f"{to} got {len(got)} emails within {timeout}s, not {count}: "
                                 f"{[m['Subject'] for m in got]}")
        await asyncio.sleep(0.05)


def bodies(message: EmailMessage) -> tuple[str, str]:
    text = message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    html = message.get_body(("html",)).get_content()  # type: ignore[union-attr]
    return text, html


def unsubscribe_path(message: EmailMessage) -> str:
    text, html = bodies(message)
    match = UNSUBSCRIBE_RE.search(text)
    assert match, text
    path = match.group(1)
    assert f"{BASE}{path}" in html
    assert message["List-Unsubscribe"] == f"<{BASE}{path}>"
    # as sent, not only as decoded: a plain <URL>, no RFC 2047 encoded word
    assert dict(message.raw_items())["List-Unsubscribe"].strip() == f"<{BASE}{path}>"
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    return path


def checked(html: str, name: str) -> bool:
    tag = re.search(rf'<input[^>]*id="{name}"[^>]*>', html)
    assert tag, name
    return " checked" in tag.group(0)


async def follow_on_page(client: Any, username: str) -> None:
    response = await submit(client, f"/user/{username}", {}, action=f"/follow/{username}")
    assert response.status_code == 302


async def fresh(user: User) -> User:
    return await User.get(id=user.id)


async def until(read: Callable[[], Awaitable[T]], check: Callable[[T], bool],
                timeout: float = 10.0) -> T:  # noqa: ASYNC109
    """Poll `read()` until `check` accepts its value (a job's last write lands just after
    its email)."""
    deadline = time.monotonic() + timeout
    while True:
        value = await read()
        if check(value) or time.monotonic() > deadline:
            assert check(value), value
            return value
        await asyncio.sleep(0.05)


async def test_follow_email_arrives_with_profile_and_unsubscribe_links(client, worker, mailbox):
    await make_user("alice")
    await make_user("bob")
    await login(client, "alice")
    await follow_on_page(client, "bob")

    [message] = await emails_to(mailbox, "bob@example.com")
    assert "alice" in message["Subject"]
    assert message["Content-Language"] == "en"
    text, html = bodies(message)
    assert "alice is now following you" in text and "alice is now following you" in html
    assert f"{BASE}/user/alice" in text
    assert f'href="{BASE}/user/alice"' in html
    assert f"{BASE}/settings/notifications" in text
    assert f'href="{BASE}/settings/notifications"' in html
    unsubscribe_path(message)


async def test_comment_email_arrives_with_the_comment_escaped(client, worker, mailbox):
    alice = await make_user("alice")
    bob = await make_user("bob")
    post = await posts.create_post(bob, "My first post about tea")
    await posts.add_comment(bob, post.id, "my own comment: no email for this one")
    await login(client, "alice")
    response = await submit(client, f"/post/{post.id}",
                            {"body": '<b>Lovely</b> & "warm" tea'})
    assert response.status_code == 302

    [message] = await emails_to(mailbox, "bob@example.com")
    assert "alice" in message["Subject"] and "comment" in message["Subject"]
    text, html = bodies(message)
    assert '<b>Lovely</b> & "warm" tea' in text
    assert "&lt;b&gt;Lovely&lt;/b&gt; &amp;" in html and "<b>Lovely</b>" not in html
    assert f"{BASE}/post/{post.id}" in text and f'href="{BASE}/post/{post.id}"' in html
    assert "My first post about tea" in text
    unsubscribe_path(message)
    assert [m for m in mailbox.messages if alice.email in str(m["To"])] == []


async def test_settings_page_turns_a_kind_off(client, worker, mailbox):
    bob = await make_user("bob")
    alice = await make_user("alice")
    await login(client, "bob")
    status, html = await page(client, "/settings/notifications")
    assert status == 200
    assert html.count('type="checkbox"') == len(emails.KINDS)
    assert all(checked(html, name) for name in emails.KINDS.values())

    # keep comments and messages, turn follows off
    response = await submit(client, "/settings/notifications",
                            {"email_on_comment": "y", "email_on_messages": "y"})
    assert response.status_code == 302
    status, html = await page(client, "/settings/notifications")
    assert "Your email settings have been saved." in html
    assert not checked(html, "email_on_follow")
    assert checked(html, "email_on_comment") and checked(html, "email_on_messages")
    bob = await fresh(bob)
    assert (bob.email_on_follow, bob.email_on_comment, bob.email_on_messages) == (
        False, True, True)

    await social.follow(alice, bob)
    post = await posts.create_post(bob, "Anyone there?")
    await posts.add_comment(alice, post.id, "Yes, me")
    # the comment email arrives, and it is the only one: no follow email came before it
    got = await emails_to(mailbox, "bob@example.com")
    assert len(got) == 1 and "comment" in got[0]["Subject"]
    # the job itself asks the switch too (the setting may change after the enqueue)
    assert await send_follow_email({}, follower_id=alice.id, followed_id=bob.id) == (
        "skipped: follow emails are off")

    # without the CSRF token the form is refused
    response = await client.post("/settings/notifications", form={"email_on_follow": "y"})
    assert response.status_code == 400
    assert not (await fresh(bob)).email_on_follow


async def test_settings_page_needs_login(client):
    response = await client.get("/settings/notifications")
    assert response.status_code == 302 and "/auth/login" in response.location


async def test_unsubscribe_link_from_an_email_turns_that_kind_off(app, client, worker, mailbox):
    bob = await make_user("bob")
    alice = await make_user("alice")
    carol = await make_user("carol")
    await social.follow(alice, bob)
    [message] = await emails_to(mailbox, "bob@example.com")
    path = unsubscribe_path(message)

    # followed from the email: nobody is signed in. Opening the link (as a mail scanner
    # does) only asks; the page's button unsubscribes
    visitor = app.test_client()
    status, html = await page(visitor, path)
    assert status == 200
    assert "Stop sending me emails about new followers?" in html
    assert f'<form method="post" action="{path}"' in html
    assert 'name="List-Unsubscribe" value="One-Click"' in html
    assert (await fresh(bob)).email_on_follow
    assert (await app.test_client().head(path)).status_code == 200
    assert (await fresh(bob)).email_on_follow
    response = await visitor.post(path, form={"List-Unsubscribe": "One-Click"})
    assert response.status_code == 200
    html = await response.get_data(as_text=True)
    assert "You will no longer get emails about new followers." in html
    assert 'href="/settings/notifications"' in html
    assert not (await fresh(bob)).email_on_follow
    # opening it again is harmless
    assert (await visitor.get(path)).status_code == 200
    assert not (await fresh(bob)).email_on_follow

    # a later follow sends nothing; a later comment does
    await social.follow(carol, bob)
    post = await posts.create_post(bob, "Hello followers")
    await posts.add_comment(carol, post.id, "Hello bob")
    got = await emails_to(mailbox, "bob@example.com", 2)
    assert len(got) == 2 and "comment" in got[1]["Subject"] and "carol" in got[1]["Subject"]

    # Undo: the confirmation page's button turns it back on
    response = await visitor.post(f"{path}/undo", form={"csrf_token": csrf_from(html)})
    assert response.status_code == 200
    assert "You will get emails about new followers again." in await response.get_data(
        as_text=True)
    assert (await fresh(bob)).email_on_follow
    # ... and only with the page's CSRF token
    assert (await app.test_client().post(f"{path}/undo")).status_code == 400

    dave = await make_user("dave")
    await social.follow(dave, bob)
    got = await emails_to(mailbox, "bob@example.com", 3)
    assert "dave" in got[2]["Subject"]


async def test_one_click_unsubscribe_post(app, client, worker, mailbox):
    bob = await make_user("bob")
    alice = await make_user("alice")
    post = await posts.create_post(bob, "A post")
    await posts.add_comment(alice, post.id, "A comment")
    [message] = await emails_to(mailbox, "bob@example.com")
    url = message["List-Unsubscribe"].strip("<>")
    assert url.startswith(BASE)

    # what a mail client does (RFC 8058): a POST with no cookie and no CSRF token
    response = await app.test_client().post(url[len(BASE):],
                                             form={"List-Unsubscribe": "One-Click"})
    assert response.status_code == 200
    bob = await fresh(bob)
    assert not bob.email_on_comment
    assert bob.email_on_follow and bob.email_on_messages  # only that kind


async def test_bad_unsubscribe_tokens_get_a_400_page(app, client):
    bob = await make_user("bob")
    forged = URLSafeSerializer("not-the-secret-key-at-all", salt=emails.UNSUBSCRIBE_SALT).dumps(
        [bob.id, "follow"])
    other_salt = URLSafeSerializer(resources.settings.secret_key, salt="other").dumps(
        [bob.id, "follow"])
    unknown_kind = URLSafeSerializer(resources.settings.secret_key,
                                     salt=emails.UNSUBSCRIBE_SALT).dumps([bob.id, "everything"])
    visitor = app.test_client()
    for token in ("garbage", forged, other_salt, unknown_kind):
        status, html = await page(visitor, f"/unsubscribe/{token}")
        assert status == 400, token
        assert "This unsubscribe link is not valid." in html
        assert (await visitor.post(f"/unsubscribe/{token}")).status_code == 400
    assert (await fresh(bob)).email_on_follow


async def test_a_job_that_runs_twice_sends_once(client, mailbox):
    # rows written directly: no job is queued, the test runs the job functions itself
    alice = await make_user("alice")
    bob = await make_user("bob")
    await Follow.create(follower=alice, followed=bob)
    assert await send_follow_email({}, follower_id=alice.id, followed_id=bob.id) == "sent"
    assert await send_follow_email({}, follower_id=alice.id, followed_id=bob.id) == (
        "skipped: already sent")
    # unfollow and follow again the same day: no second email
    await Follow.filter(follower_id=alice.id, followed_id=bob.id).delete()
    assert await send_follow_email({}, follower_id=alice.id, followed_id=bob.id) == (
        "skipped: no longer following")
    await Follow.create(follower=alice, followed=bob)
    assert await send_follow_email({}, follower_id=alice.id, followed_id=bob.id) == (
        "skipped: already sent")

    post = await posts.create_post(bob, "Tea?")
    comment = await Comment.create(post=post, author=alice, body="Always")
    assert await send_comment_email({}, comment_id=comment.id) == "sent"
    assert await send_comment_email({}, comment_id=comment.id) == "skipped: already sent"
    own = await Comment.create(post=post, author=bob, body="Mine")
    assert await send_comment_email({}, comment_id=own.id) == "skipped: own post"
    assert await send_comment_email({}, comment_id=10_000) == "skipped: comment gone"

    got = [m for m in mailbox.messages if "bob@example.com" in str(m["To"])]
    assert len(got) == 2


async def test_an_unreachable_queue_does_not_fail_the_follow_or_comment(
        client, settings: Settings, caplog):
    from microblog.devservices import free_port

    alice = await make_user("alice")
    bob = await make_user("bob")
    post = await posts.create_post(bob, "Hello")
    await login(client, "alice")
    dead = RedisQueue.from_url(f"redis://127.0.0.1:{free_port()}", name="dead")
    live, resources.queue = resources.queue, dead
    try:
        with caplog.at_level(logging.ERROR, logger="microblog.jobs.registry"):
            await follow_on_page(client, "bob")
            response = await submit(client, f"/post/{post.id}", {"body": "Nice"})
    finally:
        resources.queue = live
        await dead.redis.aclose()  # disconnect() would talk to the absent server
    assert response.status_code == 302
    assert await Follow.exists(follower_id=alice.id, followed_id=bob.id)
    assert await Comment.filter(post_id=post.id, author_id=alice.id).count() == 1
    logged = [r.getMessage() for r in caplog.records if r.name == "microblog.jobs.registry"]
    assert any("send_follow_email" in m for m in logged), logged
    assert any("send_comment_email" in m for m in logged), logged


async def test_unread_messages_digest(client, worker, mailbox):
    bob = await make_user("bob")
    erin = await make_user("erin")
    dave = await make_user("dave")
    carol = await make_user("carol")
    frank = await make_user("frank")
    await accounts.set_locale(frank, "es")

    for text in ("one", "two", "three"):
        await message_service.send_message(bob, "dave", text)
    await message_service.send_message(erin, "dave", "hi from erin")
    await message_service.send_message(bob, "frank", "hola")
    # carol reads hers at once: it is never announced
    read, _ = await message_service.send_message(bob, "carol", "read me now")
    await message_service.mark_read(carol, bob, read.id)

    [digest] = await emails_to(mailbox, "dave@example.com")
    assert digest["Subject"] == "[Microblog] You have 4 unread messages"
    text, html = bodies(digest)
    assert "bob: 3 messages" in text and "erin: 1 message" in text
    assert "bob</a>: 3 messages" in html and "erin</a>: 1 message" in html
    assert f'href="{BASE}/messages/bob"' in html
    assert f"{BASE}/messages" in text and f'href="{BASE}/messages"' in html
    unsubscribe_path(digest)
    await until(lambda: fresh(dave), lambda u: u.message_digest_id > 0)

    # the Spanish user's digest is rendered in Spanish
    [spanish] = await emails_to(mailbox, "frank@example.com")
    assert spanish["Content-Language"] == "es"
    with locale_context("es"):
        expected = ngettext("[Microblog] You have %(num)d unread message",
                            "[Microblog] You have %(num)d unread messages", 1)
    assert spanish["Subject"] == expected

    # a new message later makes a new digest, of only that message; nothing else was sent
    # in between (this second digest takes at least another delay and cron tick)
    await message_service.send_message(erin, "dave", "are you there?")
    got = await emails_to(mailbox, "dave@example.com", 2)
    assert got[1]["Subject"] == "[Microblog] You have 1 unread message"
    text = bodies(got[1])[0]
    assert "erin: 1 message" in text and "bob:" not in text
    assert len([m for m in mailbox.messages if "dave@" in str(m["To"])]) == 2
    assert len([m for m in mailbox.messages if "frank@" in str(m["To"])]) == 1
    assert [m for m in mailbox.messages if "carol@" in str(m["To"])] == []


async def test_no_digest_when_digests_are_off(app, client, worker, mailbox):
    bob = await make_user("bob")
    dave = await make_user("dave")
    gina = await make_user("gina")
    await emails.set_preference(dave, "messages", False)
    await message_service.send_message(bob, "dave", "you will not hear of this")
    await message_service.send_message(bob, "gina", "but you will")
    # gina's digest comes from the same cron tick as dave's would
    await emails_to(mailbox, "gina@example.com")
    await until(lambda: fresh(gina), lambda u: u.message_digest_id > 0)
    assert [m for m in mailbox.messages if "dave@" in str(m["To"])] == []
    assert (await fresh(dave)).message_digest_id == 0
