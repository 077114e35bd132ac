"""Email notifications: who wants which emails, one-click unsubscribe links, and the email
jobs (declared here, queued after a user action has committed). The jobs take ids, reload
from the database, and may safely run twice."""

from __future__ import annotations

import hashlib
import logging
from datetime import timedelta
from email.message import EmailMessage
from enum import StrEnum
from typing import Any, cast
from urllib.parse import quote

from itsdangerous import BadData, SignatureExpired, URLSafeSerializer, URLSafeTimedSerializer
from tortoise import connections

from microblog import ratelimit
from microblog.errors import NotFound, ServiceError
from microblog.i18n import gettext as _
from microblog.i18n import locale_context, ngettext
from microblog.infra import resources
from microblog.jobs import OnOutage, QueueUnavailable, cron, enqueue, job
from microblog.mail import render_email, send_email
from microblog.models import Comment, Follow, Notification, User

log = logging.getLogger(__name__)


class EmailKind(StrEnum):
    """A kind of notification email, each with its own switch and unsubscribe link."""

    FOLLOW = "follow"
    COMMENT = "comment"
    MENTION = "mention"
    MESSAGES = "messages"


# each kind of email and the user's switch for it
KINDS: dict[str, str] = {
    EmailKind.FOLLOW: "email_on_follow",
    EmailKind.COMMENT: "email_on_comment",
    EmailKind.MENTION: "email_on_mention",
    EmailKind.MESSAGES: "email_on_messages",
}
UNSUBSCRIBE_SALT = "microblog.email-unsubscribe"


class BadUnsubscribeLink(ServiceError):
    code = "bad_unsubscribe_link"


# --- preferences --------------------------------------------------------------------------


async def set_preferences(user: User, *, follow: bool, comment: bool, messages: bool,
                          mention: bool = True) -> User:
    values = {"email_on_follow": bool(follow), "email_on_comment": bool(comment),
              "email_on_messages": bool(messages), "email_on_mention": bool(mention)}
    await User.filter(id=user.id).update(**values)
    for name, value in values.items():
        setattr(user, name, value)
    return user


async def set_preference(user: User, kind: str, on: bool) -> User:
    field = KINDS.get(kind)
    if field is None:
        raise ServiceError(_("There is no such kind of email."))
    await User.filter(id=user.id).update(**{field: on})
    setattr(user, field, on)
    return user


def wants(user: User, kind: str) -> bool:
    return bool(getattr(user, KINDS[kind]))


def verified(user: User) -> bool:
    """Whether the owner has confirmed `user.email` (the link of send_verification_email).
    Until then the product emails the address nothing but that link: whoever registered it
    may not own it. Every email job asks this when it runs, not only when it was queued."""
    return user.email_verified_at is not None


# --- unsubscribe links --------------------------------------------------------------------


def _serializer() -> URLSafeSerializer:
    return URLSafeSerializer(resources.settings.secret_key, salt=UNSUBSCRIBE_SALT)


def unsubscribe_token(user_id: int, kind: EmailKind) -> str:
    """A signed, non-expiring token: whoever holds it may turn this one kind off (or back
    on) for this one user, and nothing else."""
    if kind not in KINDS:
        raise ValueError(kind)
    return cast(str, _serializer().dumps([user_id, str(kind)]))


def unsubscribe_url(user_id: int, kind: EmailKind) -> str:
    return f"{resources.settings.public_url}/unsubscribe/{unsubscribe_token(user_id, kind)}"


def settings_url() -> str:
    return f"{resources.settings.public_url}/settings/notifications"


async def _from_token(token: str) -> tuple[User, str]:
    invalid = BadUnsubscribeLink(_(
        "This unsubscribe link is not valid. Copy the whole link from the email, or sign in "
        "and change your email settings."))
    try:
        payload: Any = _serializer().loads(token)
    except BadData:
        raise invalid from None
    if (not isinstance(payload, list) or len(payload) != 2 or not isinstance(payload[0], int)
            or payload[1] not in KINDS):
        raise invalid
    user = await User.get_or_none(id=payload[0])
    if user is None:
        raise invalid
    return user, payload[1]


async def unsubscribe_target(token: str) -> tuple[User, str]:
    """Whom and which kind of email a link is for, changing nothing (the page a GET shows:
    mail scanners open links, only the POST of its button unsubscribes)."""
    return await _from_token(token)


async def unsubscribe(token: str) -> tuple[User, str]:
    """Turn off the kind of email a link was made for; safe to repeat."""
    user, kind = await _from_token(token)
    await set_preference(user, kind, False)
    log.info("user %s unsubscribed from %s emails", user.id, kind)
    return user, kind


async def resubscribe(token: str) -> tuple[User, str]:
    user, kind = await _from_token(token)
    await set_preference(user, kind, True)
    return user, kind


# --- notification emails ------------------------------------------------------------------
#
# Each job reloads what it announces and asks the user's current switch. A marker in Redis,
# written after a successful send and checked before, makes a job that runs twice (a retry
# after a lost acknowledgement, a duplicate enqueue) send once; SAQ's job key keeps two
# copies of one job from running at the same time.

# one follow email per (follower, followed) a day: unfollow and follow again sends no more
FOLLOW_EMAIL_QUIET = 24 * 3600
# longer than any retry of the same job
SENT_MARKER_TTL = 7 * 24 * 3600
EXCERPT_MAX = 200
# users announced per cron tick; the rest are found by the next ticks
DIGEST_BATCH = 500


# An email job checks its marker before sending and writes it after: a job run twice (a
# retry, a sweep after a killed worker) sends once, barring a crash between the two.
async def already_sent(key: str) -> bool:
    redis = resources.redis
    return redis is not None and bool(await redis.exists(key))


async def mark_sent(key: str, ttl: int) -> None:
    if resources.redis is not None:
        await resources.redis.set(key, "1", nx=True, ex=ttl)


def _notification_email(user: User, kind: EmailKind, *, subject: str, template: str,
                        **context: Any) -> EmailMessage:
    """Render under the caller's locale_context, with the one-click unsubscribe link for this
    kind in the body and in the headers (RFC 8058), and a link to every setting."""
    settings = resources.settings
    unsubscribe = unsubscribe_url(user.id, kind)
    message = render_email(settings, to=user.email, subject=subject, template=template,
                           user=user, unsubscribe_url=unsubscribe,
                           settings_url=settings_url(), **context)
    message["List-Unsubscribe"] = f"<{unsubscribe}>"
    message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    return message


def _excerpt(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= EXCERPT_MAX else text[: EXCERPT_MAX - 1].rstrip() + "\u2026"


# one job per pair at a time; the job itself keeps it to one email a day
@job(timeout=30, attempts=6, key=("follower_id", "followed_id"))
async def send_follow_email(ctx: dict[str, Any], *, follower_id: int, followed_id: int) -> str:
    follow = await Follow.get_or_none(
        follower_id=follower_id, followed_id=followed_id).select_related("follower", "followed")
    if follow is None:
        return "skipped: no longer following"
    user, follower = follow.followed, follow.follower
    if not user.email_on_follow:
        return "skipped: follow emails are off"
    if not verified(user):
        return "skipped: address not verified"
    marker = resources.key("email", "follow", follower_id, followed_id)
    if await already_sent(marker):
        return "skipped: already sent"
    public_url = resources.settings.public_url
    with locale_context(user.locale):
        message = _notification_email(
            user, EmailKind.FOLLOW,
            subject=_("[Microblog] %(name)s is now following you", name=follower.username),
            template="email/follow", follower=follower,
            url=f"{public_url}/user/{quote(follower.username)}")
    await send_email(resources.settings, message)
    await mark_sent(marker, FOLLOW_EMAIL_QUIET)
    log.info("follow email for user %s (follower %s) sent", user.id, follower.id)
    return "sent"


@job(timeout=30, attempts=6, key=("comment_id",))
async def send_comment_email(ctx: dict[str, Any], *, comment_id: int) -> str:
    comment = await Comment.get_or_none(id=comment_id).select_related("author", "post__author")
    if comment is None:
        return "skipped: comment gone"
    post, author = comment.post, comment.author
    user = post.author
    if user.id == author.id:
        return "skipped: own post"
    if not user.email_on_comment:
        return "skipped: comment emails are off"
    if not verified(user):
        return "skipped: address not verified"
    marker = resources.key("email", "comment", comment_id)
    if await already_sent(marker):
        return "skipped: already sent"
    with locale_context(user.locale):
        message = _notification_email(
            user, EmailKind.COMMENT,
            subject=_("[Microblog] %(name)s commented on your post", name=author.username),
            template="email/comment", author=author, excerpt=_excerpt(comment.body),
            post_excerpt=_excerpt(post.body),
            url=f"{resources.settings.public_url}/post/{post.id}")
    await send_email(resources.settings, message)
    await mark_sent(marker, SENT_MARKER_TTL)
    log.info("comment email for user %s (comment %s) sent", user.id, comment_id)
    return "sent"


@job(timeout=30, attempts=6, key=("notification_id",))
async def send_mention_email(ctx: dict[str, Any], *, notification_id: int) -> str:
    """The notification names who mentioned whom, where, and the excerpt."""
    notification = await Notification.get_or_none(id=notification_id).select_related("user")
    if notification is None:
        return "skipped: notification gone"
    user, data = notification.user, notification.data
    if not user.email_on_mention:
        return "skipped: mention emails are off"
    if not verified(user):
        return "skipped: address not verified"
    marker = resources.key("email", "mention", notification_id)
    if await already_sent(marker):
        return "skipped: already sent"
    author = data.get("user", {}).get("username", "?")
    post_id = data.get("post_id")
    anchor = f"#comment-{data['comment_id']}" if data.get("comment_id") else ""
    with locale_context(user.locale):
        message = _notification_email(
            user, EmailKind.MENTION,
            subject=_("[Microblog] %(name)s mentioned you", name=author),
            template="email/mention", author_name=author,
            excerpt=_excerpt(str(data.get("excerpt", ""))),
            url=f"{resources.settings.public_url}/post/{post_id}{anchor}")
    await send_email(resources.settings, message)
    await mark_sent(marker, SENT_MARKER_TTL)
    log.info("mention email for user %s (notification %s) sent", user.id, notification_id)
    return "sent"


# --- unread-messages digest ----------------------------------------------------------------
#
# A user is due a digest when a message to them is still unread `message_digest_delay`
# seconds after it was sent and is newer than `users.message_digest_id` (the newest message
# an earlier digest announced). The cron query starts from users with unread messages (the
# counter every page already keeps), probes only their conversations (the user_id index; a
# LATERAL, so PostgreSQL does not hash every conversation with something unread), skips
# those with nothing newer than the last digest without reading messages, and in the rest
# reads one row: the oldest unread message not yet announced, through the
# (sender_id, recipient_id, id) index. Seeded with 100,000 users, 1,000,000 messages and
# 5,000 users with unread messages (455 due), it runs in ~50 ms, half of it the scan of
# users; a partial index on users WHERE unread_messages > 0 would remove that, but would
# also end HOT updates of users on every message sent, the hot path of chat.

_DUE_DIGESTS = """
SELECT u.id FROM users u
CROSS JOIN LATERAL (
  SELECT 1 FROM conversations c
  WHERE c.user_id = u.id AND c.unread > 0 AND c.last_message_id > u.message_digest_id
    AND (SELECT m.created_at FROM messages m
         WHERE m.sender_id = c.partner_id AND m.recipient_id = c.user_id
           AND m.id > GREATEST(c.last_read_id, u.message_digest_id)
         ORDER BY m.id LIMIT 1) <= now() - make_interval(secs => $1)
  LIMIT 1) due
WHERE u.unread_messages > 0 AND u.email_on_messages AND u.email_verified_at IS NOT NULL
ORDER BY u.id LIMIT $2
"""

# what a digest announces: every unread message not announced before, per sender
_DIGEST = """
SELECT p.id AS sender_id, p.username, count(*) AS n, max(m.id) AS last_id,
       bool_or(m.created_at <= now() - make_interval(secs => $3)) AS due
FROM conversations c
JOIN users p ON p.id = c.partner_id
JOIN messages m ON m.sender_id = c.partner_id AND m.recipient_id = c.user_id
  AND m.id > GREATEST(c.last_read_id, $2)
WHERE c.user_id = $1 AND c.unread > 0
GROUP BY p.id, p.username
ORDER BY max(m.id) DESC
"""


@cron("* * * * * */5", timeout=60)
async def queue_message_digests(ctx: dict[str, Any]) -> int:
    """Queue one digest job per user who is due one. The job key keeps a user's job single
    while it waits or runs; the job advances the user past what it announced."""
    rows = await connections.get("default").execute_query_dict(
        _DUE_DIGESTS, [float(resources.settings.message_digest_delay), DIGEST_BATCH])
    for row in rows:
        await enqueue(send_message_digest, user_id=row["id"])
    return len(rows)


@job(timeout=30, attempts=6, key=("user_id",))
async def send_message_digest(ctx: dict[str, Any], *, user_id: int) -> str:
    user = await User.get_or_none(id=user_id)
    if user is None:
        return "skipped: user gone"
    if not user.email_on_messages:
        return "skipped: message emails are off"
    if not verified(user):
        return "skipped: address not verified"
    conn = connections.get("default")
    rows = await conn.execute_query_dict(
        _DIGEST, [user.id, user.message_digest_id, float(resources.settings.message_digest_delay)])
    if not rows:
        return "skipped: nothing unread"
    if not any(row["due"] for row in rows):
        return "skipped: not due yet"
    last_id = max(int(row["last_id"]) for row in rows)
    marker = resources.key("email", "digest", user.id, last_id)
    if not await already_sent(marker):
        public_url = resources.settings.public_url
        senders = [{"username": row["username"], "count": int(row["n"]),
                    "url": f"{public_url}/messages/{quote(row['username'])}"} for row in rows]
        total = sum(int(row["n"]) for row in rows)
        with locale_context(user.locale):
            message = _notification_email(
                user, EmailKind.MESSAGES,
                subject=ngettext("[Microblog] You have %(num)d unread message",
                                 "[Microblog] You have %(num)d unread messages", total),
                template="email/message_digest", senders=senders, total=total,
                url=f"{public_url}/messages")
        await send_email(resources.settings, message)
        await mark_sent(marker, SENT_MARKER_TTL)
        log.info("message digest for user %s sent (up to message %s)", user.id, last_id)
        result = "sent"
    else:
        result = "skipped: already sent"
    # never back: a concurrent digest may have announced newer messages
    await conn.execute_query(
        "UPDATE users SET message_digest_id = GREATEST(message_digest_id, $2) WHERE id = $1",
        [user.id, last_id])
    return result


# --- queuing the jobs (after commit) ------------------------------------------------------


async def follow_email(follower: User, target: User) -> None:
    if target.email_on_follow and verified(target):
        await enqueue(send_follow_email, follower_id=follower.id, followed_id=target.id)


async def comment_email(comment_id: int, post_author: User) -> None:
    """At most ratelimit.COMMENT_EMAILS an hour: a storm of comments notifies in the app and
    emails a few, not one per comment."""
    if post_author.email_on_comment and verified(post_author) and await ratelimit.allowed(
            ratelimit.COMMENT_EMAILS, "comment-emails", post_author.id):
        await enqueue(send_comment_email, comment_id=comment_id)


async def mention_email(user_id: int, notification: Any) -> None:
    """At most ratelimit.MENTION_EMAILS an hour per person; the job checks their switch and
    address."""
    if notification.id is not None and await ratelimit.allowed(
            ratelimit.MENTION_EMAILS, "mention-emails", user_id):
        await enqueue(send_mention_email, notification_id=notification.id)


# --- confirming an email address ----------------------------------------------------------
#
# A link proves that whoever opens it reads the mail of one address: its token is signed with
# the SECRET_KEY (like the unsubscribe links), dated, and names the user and a digest of the
# address it was sent to, so it stops working once that address is confirmed elsewhere,
# replaced, or no longer pending. The jobs make the token when they send: only the user's id
# travels through Redis. services/verification.py opens the links.

VERIFY_SALT = "microblog.email-verify"
VERIFY_LINK_TTL = timedelta(hours=48)


class BadVerificationLink(NotFound):
    code = "bad_verification_link"


class ExpiredVerificationLink(ServiceError):
    code = "expired_verification_link"


def _verify_serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(resources.settings.secret_key, salt=VERIFY_SALT)


def address_digest(address: str) -> str:
    """What a link names an address by (the address itself stays out of URLs and logs)."""
    return hashlib.sha256(address.strip().lower().encode()).hexdigest()[:24]


def verification_token(user_id: int, address: str) -> str:
    return cast(str, _verify_serializer().dumps([user_id, address_digest(address)]))


def verification_url(user_id: int, address: str) -> str:
    return f"{resources.settings.public_url}/auth/verify/{verification_token(user_id, address)}"


def read_verification_token(token: str) -> tuple[int, str]:
    """The user id and address digest a link was made for; ExpiredVerificationLink (400)
    past VERIFY_LINK_TTL, BadVerificationLink (404) for anything not made by us."""
    try:
        payload: Any = _verify_serializer().loads(
            token, max_age=int(VERIFY_LINK_TTL.total_seconds()))
    except SignatureExpired:  # checked after the signature: only our own links get here
        raise ExpiredVerificationLink(_(
            "This confirmation link has expired. Sign in and ask for a new one.")) from None
    except BadData:
        raise bad_verification_link() from None
    if (not isinstance(payload, list) or len(payload) != 2 or not isinstance(payload[0], int)
            or not isinstance(payload[1], str)):
        raise bad_verification_link()
    return payload[0], payload[1]


def bad_verification_link() -> BadVerificationLink:
    return BadVerificationLink(_(
        "This confirmation link is not valid, or its address is no longer waiting to be "
        "confirmed. Copy the whole link from the newest email, or sign in and ask for a new "
        "one."))


def mask_email(address: str) -> str:
    """`alice@example.com` → `a***@example.com`: enough for its owner to recognise."""
    local, _at, domain = address.rpartition("@")
    return f"{local[:1]}***@{domain}" if local else f"***@{domain}"


@job(timeout=30, attempts=6, key=("user_id",), on_outage=OnOutage.FAIL)
async def send_verification_email(
    ctx: dict[str, Any], *, user_id: int, locale: str | None = None
) -> str:
    """The link that confirms the user's (unconfirmed) address."""
    user = await User.get_or_none(id=user_id)
    if user is None:
        return "skipped: user gone"
    if verified(user):
        return "skipped: already verified"
    settings = resources.settings
    with locale_context(user.locale or locale):
        message = render_email(
            settings, to=user.email, subject=_("[Microblog] Confirm your email address"),
            template="email/verify_email", user=user, changing=False,
            url=verification_url(user.id, user.email))
    await send_email(settings, message)
    log.info("verification email for user %s sent", user.id)
    return "sent"


@job(timeout=30, attempts=6, key=("user_id",), on_outage=OnOutage.FAIL)
async def send_email_change_link(
    ctx: dict[str, Any], *, user_id: int, locale: str | None = None
) -> str:
    """The link that confirms the address the user asked to change to (users.pending_email):
    the only email that address gets before it is confirmed."""
    user = await User.get_or_none(id=user_id)
    if user is None:
        return "skipped: user gone"
    address = user.pending_email
    if not address:
        return "skipped: no change pending"
    settings = resources.settings
    with locale_context(user.locale or locale):
        message = render_email(
            settings, to=address, subject=_("[Microblog] Confirm your new email address"),
            template="email/verify_email", user=user, changing=True,
            url=verification_url(user.id, address))
    await send_email(settings, message)
    log.info("email change link for user %s sent", user.id)
    return "sent"


# The old address is gone from the database once the change is confirmed: it travels in
# the job (an address, no credential), and only when it was a confirmed one.
@job(timeout=30, attempts=6, key=("user_id", "old_email"))
async def send_email_changed_notice(ctx: dict[str, Any], *, user_id: int, old_email: str) -> str:
    """Tell the old address that the account's email changed (to a masked new address)."""
    user = await User.get_or_none(id=user_id)
    if user is None:
        return "skipped: user gone"
    marker = resources.key("email", "changed", user.id, address_digest(old_email),
                           address_digest(user.email))
    if await already_sent(marker):
        return "skipped: already sent"
    settings = resources.settings
    with locale_context(user.locale):
        message = render_email(
            settings, to=old_email, subject=_("[Microblog] Your email address was changed"),
            template="email/email_changed", user=user, masked=mask_email(user.email))
    await send_email(settings, message)
    await mark_sent(marker, SENT_MARKER_TTL)
    log.info("email change notice for user %s sent to the old address", user.id)
    return "sent"


async def verification_email(user: User, locale: str | None = None) -> None:
    """After registration: the first link. Without the queue the account still stands; the
    banner's "Send it again" button asks for the link later."""
    try:
        await enqueue(send_verification_email, user_id=user.id, locale=locale)
    except QueueUnavailable:
        log.warning("verification email for user %s not queued", user.id)
