"""Accounts: registration, authentication, profiles, API tokens, password reset."""

from __future__ import annotations

import asyncio
import logging
import shutil
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from email_validator import EmailNotValidError, validate_email
from tortoise import connections
from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from microblog import ratelimit
from microblog.clock import now
from microblog.errors import NotFound, Unavailable, ValidationFailed, storable
from microblog.i18n import get_locale, locale_context
from microblog.i18n import gettext as _
from microblog.infra import resources
from microblog.jobs import OnOutage, QueueUnavailable, enqueue, job
from microblog.limits import (
    ABOUT_ME_MAX,
    EMAIL_MAX,
    INT_MAX,
    PASSWORD_MAX,
    PASSWORD_MIN,
    USERNAME_MAX,
    USERNAME_MIN,
)
from microblog.mail import render_email, send_email
from microblog.models import ApiToken, NotificationKind, PasswordResetToken, User
from microblog.passwords import password_problem
from microblog.realtime.events import Event, MessageRead, NotificationsRead, PostDeleted
from microblog.realtime.publish import flush as flush_events
from microblog.realtime.publish import (
    publish,
    publish_credentials_ended,
    publish_personal,
    record_personal,
)
from microblog.realtime.rooms import author_room, explore_room, post_room
from microblog.security import hash_password, new_token, token_digest, verify_password
from microblog.services import emails, indexing, pagecache, sessions, signin_throttle
from microblog.services.tasks import export_dir
from microblog.text import is_username, text_problem, username_skeleton

log = logging.getLogger(__name__)

API_TOKEN_TTL = timedelta(days=30)
RESET_TOKEN_TTL = timedelta(hours=1)
# last_seen is written at most this often per user, not on every request
LAST_SEEN_RESOLUTION = timedelta(minutes=1)


# --- validation: the one place the rules live --------------------------------------------


def clean_username(value: str | None) -> str:
    username = storable(value or "", "username").strip()
    if not username:
        raise ValidationFailed({"username": _("Please choose a username.")})
    if not is_username(username):
        raise ValidationFailed({"username": _(
            "Usernames are %(min)d to %(max)d characters: letters, digits and underscores.",
            min=USERNAME_MIN, max=USERNAME_MAX)})
    return username


def clean_email(value: str | None) -> str:
    raw = storable(value or "", "email").strip()
    if not raw:
        raise ValidationFailed({"email": _("Please enter your email address.")})
    if len(raw) > EMAIL_MAX:
        raise ValidationFailed({"email": _("That email address is too long.")})
    try:
        info = validate_email(raw, check_deliverability=False)
    except EmailNotValidError:
        raise ValidationFailed({"email": _("That is not a valid email address.")}) from None
    return info.normalized.lower()


def clean_password(value: str | None, field: str = "password", *, username: str | None = None,
                   email: str | None = None) -> str:
    """A new password: long enough, and not a common one, one character repeated, blank, or
    containing its owner's `username` or email's local part (microblog.passwords)."""
    password = storable(value or "", field)
    if len(password) < PASSWORD_MIN:
        raise ValidationFailed({field: _(
            "Passwords need at least %(min)d characters.", min=PASSWORD_MIN)})
    if len(password) > PASSWORD_MAX:
        raise ValidationFailed({field: _("That password is too long.")})
    problem = password_problem(password, username=username, email=email)
    if problem is not None:
        raise ValidationFailed({field: problem})
    return password


def clean_about_me(value: str | None) -> str:
    about = storable(value or "", "about_me").strip()
    if len(about) > ABOUT_ME_MAX:
        raise ValidationFailed({"about_me": _(
            "About me is limited to %(max)d characters.", max=ABOUT_ME_MAX)})
    return about


# --- registration and authentication ------------------------------------------------------


def _new_password_of(username: str | None, email: str | None) -> Callable[[str | None], str]:
    """clean_password for the account these (as typed) will name."""
    return lambda value: clean_password(value, username=username, email=email)


async def validate_registration(username: str | None, email: str | None,
                                password: str | None) -> dict[str, str]:
    """The cleaned fields, or ValidationFailed carrying every field's problem at once."""
    errors: dict[str, str] = {}
    clean: dict[str, str] = {}
    for name, cleaner, value in (("username", clean_username, username),
                                 ("email", clean_email, email),
                                 ("password", _new_password_of(username, email), password)):
        try:
            clean[name] = cleaner(value)
        except ValidationFailed as exc:
            errors.update(exc.errors)
    if "username" in clean and await User.exists(username_key=clean["username"].lower()):
        errors["username"] = _("That username is taken.")
    elif "username" in clean and await User.exists(
            username_skeleton=username_skeleton(clean["username"])):
        errors["username"] = _("That username is too similar to an existing one.")
    if "email" in clean and await User.exists(email=clean["email"]):
        errors["email"] = _("That email address is already registered.")
    if errors:
        raise ValidationFailed(errors)
    return clean


async def register(username: str | None, email: str | None, password: str | None,
                   address: str | None = None, *, verified: bool = False) -> User:
    """`address`: the client's, whose registrations are limited (ratelimit.REGISTRATIONS).
    The email address gets a link to confirm it (emails.send_verification_email), and nothing
    else until it is confirmed. `verified`: the address is known to be the owner's (tools and
    tests): stored as confirmed, and no link is sent."""
    clean = await validate_registration(username, email, password)
    client = ratelimit.client_key(address)
    if client:
        await ratelimit.enforce(ratelimit.REGISTRATIONS, "registrations", client, message=_(
            "Too many accounts were registered from your network. Try again later."))
    password_hash = await hash_password(clean["password"])
    try:
        user = await User.create(
            username=clean["username"],
            username_key=clean["username"].lower(),
            username_skeleton=username_skeleton(clean["username"]),
            email=clean["email"],
            email_verified_at=now() if verified else None,
            password_hash=password_hash,
        )
    except IntegrityError as exc:
        # lost a race with a concurrent registration of the same name or address, or of a
        # look-alike name (the unique index decides, whatever the check above saw)
        if _violated(exc) == SKELETON_CONSTRAINT:
            raise ValidationFailed({"username": _(
                "That username is too similar to an existing one.")}) from None
        raise ValidationFailed({"username": _(
            "That username or email address is already registered.")}) from None
    log.info("registered user %s (%s)", user.id, user.username)
    if not verified:
        await emails.verification_email(user, get_locale())
    return user


async def authenticate(login: str | None, password: str | None,
                       address: str | None = None) -> User | None:
    """The user for a username (any case) or email and password, or None. Every attempt is
    counted per account and per client `address` (signin_throttle): past the limits it is
    refused with TooManyAttempts (429) before the password is checked."""
    login = (login or "").strip()
    user = None
    if login and text_problem(login) is None and len(login) <= EMAIL_MAX:
        if "@" in login:
            user = await User.get_or_none(email=login.lower())
        else:
            user = await User.get_or_none(username_key=login.lower())
    account = signin_throttle.account_key(user.id if user else None, login)
    await signin_throttle.attempt(account, address)
    ok = await verify_password(user.password_hash if user else None, password or "")
    if ok and user:
        await signin_throttle.succeeded(account)
        return user
    await signin_throttle.failed(address)
    return None


# --- lookups -------------------------------------------------------------------------------


async def get_user(user_id: int) -> User:
    # ids beyond the `integer` column are no one's (asyncpg would refuse to send them)
    user = await _user_where("id", user_id) if 0 < user_id <= INT_MAX else None
    if user is None:
        raise NotFound(_("No such user."))
    return user


async def get_user_by_username(username: str) -> User:
    # what cannot be a username is no one's: no query (and no NUL sent to PostgreSQL)
    user = await _user_where("username_key", username.lower()) if is_username(username) \
        else None
    if user is None:
        raise NotFound(_("No such user."))
    return user


async def _user_where(column: str, value: object) -> User | None:
    """One user by a unique column: profiles and the API ask on every view, and building
    the query through the ORM cost more CPU than running it."""
    rows = await connections.get("default").execute_query_dict(
        f"SELECT * FROM users WHERE {column} = $1", [value])  # noqa: S608 - our column names
    return User._init_from_db(**rows[0]) if rows else None


async def touch_last_seen(user: User) -> None:
    current = now()
    if current - user.last_seen >= LAST_SEEN_RESOLUTION:
        user.last_seen = current
        await User.filter(id=user.id).update(last_seen=current)


# --- profile ------------------------------------------------------------------------------


async def update_profile(user: User, username: str | None, about_me: str | None) -> User:
    errors: dict[str, str] = {}
    new_username = user.username
    new_about = user.about_me
    try:
        new_username = clean_username(username)
    except ValidationFailed as exc:
        errors.update(exc.errors)
    try:
        new_about = clean_about_me(about_me)
    except ValidationFailed as exc:
        errors.update(exc.errors)
    # a new name gets a new skeleton; the same name (in any case) keeps the stored one
    renamed = new_username.lower() != user.username_key
    skeleton = username_skeleton(new_username) if renamed else user.username_skeleton
    if not errors and renamed:
        if await User.exists(username_key=new_username.lower()):
            errors["username"] = _("That username is taken.")
        elif await User.filter(username_skeleton=skeleton).exclude(id=user.id).exists():
            errors["username"] = _("That username is too similar to an existing one.")
    if errors:
        raise ValidationFailed(errors)
    try:
        await User.filter(id=user.id).update(
            username=new_username, username_key=new_username.lower(),
            username_skeleton=skeleton, about_me=new_about)
    except IntegrityError as exc:
        raise ValidationFailed({"username": _("That username is too similar to an existing one.")
                                if _violated(exc) == SKELETON_CONSTRAINT
                                else _("That username is taken.")}) from None
    if new_username != user.username or new_about != user.about_me:
        await pagecache.changed(author_room(user.id))  # cards' names, suggestions' about-me
    user.username, user.username_key, user.about_me = new_username, new_username.lower(), new_about
    user.username_skeleton = skeleton
    return user


# the unique index behind "too similar" (migrations/models/7_*_confusable.py)
SKELETON_CONSTRAINT = "users_username_skeleton_key"


def _violated(exc: IntegrityError) -> str | None:
    """The unique constraint an IntegrityError from asyncpg names."""
    return getattr(exc.__cause__, "constraint_name", None)


def clean_locale(locale: str | None) -> str | None:
    """A supported interface language, or None for "use the browser's"."""
    if locale and locale not in resources.settings.languages:
        raise ValidationFailed({"locale": _("That language is not available.")})
    return locale or None


async def set_locale(user: User, locale: str | None) -> None:
    locale = clean_locale(locale)
    user.locale = locale
    await User.filter(id=user.id).update(locale=locale)


# --- API tokens ---------------------------------------------------------------------------


async def issue_api_token(user: User) -> tuple[str, datetime]:
    token = new_token()
    expires = now() + API_TOKEN_TTL
    await ApiToken.create(user=user, token_hash=token_digest(token), expires_at=expires)
    return token, expires


async def user_for_api_token(token: str | None) -> User | None:
    found = await api_token(token)
    return found[0] if found else None


async def api_token(token: str | None) -> tuple[User, datetime] | None:
    """The user of a valid API token, and when the token expires."""
    if not token:
        return None
    rows = await connections.get("default").execute_query_dict(
        "SELECT t.expires_at AS token_expires_at, u.* FROM api_tokens t "
        "JOIN users u ON u.id = t.user_id WHERE t.token_hash = $1 AND t.expires_at > $2",
        [token_digest(token), now()])
    if not rows:
        return None
    row = dict(rows[0])
    expires_at = row.pop("token_expires_at")
    return User._init_from_db(**row), expires_at


async def api_token_valid(digest: str) -> bool:
    """Whether the token with this digest still exists and has not expired."""
    return await ApiToken.filter(token_hash=digest, expires_at__gt=now()).exists()


async def revoke_api_token(token: str) -> None:
    """The token ends now, with every socket opened with it, on every instance."""
    digest = token_digest(token)
    row = await ApiToken.get_or_none(token_hash=digest)
    if row is not None:
        await row.delete()
        publish_credentials_ended(row.user_id, tokens=[digest])  # type: ignore[attr-defined]


# --- password reset -----------------------------------------------------------------------


async def request_password_reset(email: str | None, locale: str | None = None,
                                 client: str | None = None) -> None:
    """Email a reset link if the address is registered. Says nothing either way. The link is
    made by the job (send_password_reset_email), so no token ever sits in Redis. Requests
    are limited per email address (registered or not) and per `client` address."""
    try:
        address = clean_email(email)
    except ValidationFailed:
        return
    too_many = _("Too many password reset requests. Check your inbox, or try again later.")
    if ratelimit.client_key(client):
        await ratelimit.enforce(ratelimit.RESETS_PER_ADDRESS, "resets-from", client,
                                message=too_many)
    await ratelimit.enforce(ratelimit.RESETS_PER_EMAIL, "resets-to", address, message=too_many)
    user = await User.get_or_none(email=address)
    if user is None:
        log.info("password reset requested for an unknown address")
        return
    if not emails.verified(user):
        # whoever registered an address they do not own would send this: the address gets
        # nothing but its confirmation link (the page answers the same)
        log.info("password reset requested for user %s, whose address is not verified", user.id)
        return
    try:
        # while one reset email of this user waits or runs, another request adds nothing
        await enqueue(send_password_reset_email, user_id=user.id, locale=locale)
    except QueueUnavailable:
        raise Unavailable(_("We cannot send email right now. Please try again in a few "
                            "minutes.")) from None
    log.info("password reset requested for user %s", user.id)


# Only the user id travels: the job's arguments are stored in Redis and shown by SAQ's web
# UI, so the raw token is made here and exists nowhere but in the email (and its hash in the
# database). A new link replaces every unused older one: only the newest email's link works.
@job(timeout=30, attempts=6, key=("user_id",), on_outage=OnOutage.FAIL)
async def send_password_reset_email(
    ctx: dict[str, Any], *, user_id: int, locale: str | None = None
) -> str:
    user = await User.get_or_none(id=user_id)
    if user is None:
        return "skipped: user gone"
    if not emails.verified(user):
        return "skipped: address not verified"
    token = new_token()
    async with in_transaction() as conn:
        await PasswordResetToken.filter(user_id=user.id, used_at__isnull=True).using_db(
            conn).delete()
        await PasswordResetToken.create(user=user, token_hash=token_digest(token),
                                        expires_at=now() + RESET_TOKEN_TTL, using_db=conn)
    settings = resources.settings
    with locale_context(user.locale or locale):
        message = render_email(
            settings,
            to=user.email,
            subject=_("[Microblog] Reset your password"),
            template="email/reset_password",
            user=user,
            url=f"{settings.public_url}/auth/reset/{token}",
        )
    await send_email(settings, message)
    log.info("password reset email for user %s sent", user.id)
    return "sent"


async def check_reset_token(token: str) -> PasswordResetToken:
    row = await PasswordResetToken.get_or_none(token_hash=token_digest(token or ""))
    if row is None or row.used_at is not None or row.expires_at <= now():
        raise NotFound(_("This password reset link is invalid or has expired."))
    return row


async def reset_password(token: str, password: str | None) -> User:
    row = await check_reset_token(token)
    owner = await User.get(id=row.user_id)  # type: ignore[attr-defined]
    new_password = clean_password(password, username=owner.username, email=owner.email)
    password_hash = await hash_password(new_password)
    async with in_transaction():
        # single use even under concurrent submits: only one UPDATE sees used_at NULL
        claimed = await PasswordResetToken.filter(id=row.id, used_at__isnull=True).update(
            used_at=now())
        if not claimed:
            raise NotFound(_("This password reset link is invalid or has expired."))
        user = await User.get(id=row.user_id)  # type: ignore[attr-defined]
        await _set_password(user, password_hash)
    await signin_throttle.clear_account(user.id)  # the owner proved they hold the email
    return user


async def change_password(user: User, password: str | None, *, current_password: str | None,
                          address: str | None = None) -> User:
    """A new password for a signed-in user who proves they know the current one. A wrong
    current password counts as a failed sign-in attempt of the account and of the client
    `address` (signin_throttle: TooManyAttempts past the limits). Every problem is reported
    at once; nothing is written then. Ends every session and revokes every API token
    (_set_password): the caller starts a new session for the browser it wants to keep."""
    errors: dict[str, str] = {}
    if not current_password:
        errors["current_password"] = _("Please enter your current password.")
    elif not await _is_password_of(user, current_password, address):
        errors["current_password"] = _("That is not your current password.")
    try:
        new_password = clean_password(password, username=user.username, email=user.email)
    except ValidationFailed as exc:
        errors.update(exc.errors)
    if errors:
        raise ValidationFailed(errors)
    password_hash = await hash_password(new_password)
    async with in_transaction():
        await _set_password(user, password_hash)
    log.info("user %s changed their password", user.id)
    return user


async def _is_password_of(user: User, password: str, address: str | None) -> bool:
    """Checked like a sign-in (counted, throttled), so a stolen session cannot be used to
    guess the password any faster than the sign-in form allows."""
    found = await authenticate(user.username, password, address)
    return found is not None and found.id == user.id


async def _set_password(user: User, password_hash: str) -> None:
    """A new password ends every other session and revokes every API token."""
    user.password_hash = password_hash
    user.session_epoch += 1
    await User.filter(id=user.id).update(
        password_hash=password_hash, session_epoch=user.session_epoch)
    await ApiToken.filter(user_id=user.id).delete()
    await PasswordResetToken.filter(user_id=user.id, used_at__isnull=True).update(used_at=now())
    # the epoch already refuses the old sessions; this removes them and their sockets
    await sessions.end_all(user.id)
    publish_credentials_ended(user.id, all_tokens=True)


# --- deleting an account ------------------------------------------------------------------

# post.deleted events are queued for sending in batches of this many, each sent before the
# next is queued: the process's outbox is bounded (realtime.publish.QUEUE_LIMIT) and shared
ANNOUNCE_BATCH = 500


async def delete_account(user: User, password: str | None, *,
                         address: str | None = None) -> None:
    """The account and everything it owns, at once and for good: its posts (with their
    comments and translations), comments, private messages in both directions (each
    partner's inbox keeps the line of the conversation, as "deleted account", until they
    remove it: services/messages.py), notifications, follows, blocks, API and
    reset tokens, scheduled posts, tasks and their export files; every session ends and
    every socket of the user is disconnected. The password is checked like a sign-in
    (counted, throttled); when it is wrong nothing is written.

    Every table that refers to users does so with ON DELETE CASCADE (migrations/), but for a
    partner's conversation (SET NULL), so one DELETE of the user's row removes it all in one
    transaction; the posts are deleted first only to learn their ids (announced as deleted,
    and removed from a search index of its own), the tasks to learn which export
    directories to remove. Counters kept on other
    users' rows are corrected in the same transaction: a partner's unread messages, and
    the bell of whoever had a notification of this account's follow or comment (those
    notifications go too)."""
    if not password:
        raise ValidationFailed({"password": _("Please enter your password.")})
    if not await _is_password_of(user, password, address):
        raise ValidationFailed({"password": _("That is not your password.")})
    personal_events: list[tuple[int, Event]] = []
    async with in_transaction() as conn:
        # a concurrent write of this user (a post, a message) waits, then finds no user
        locked = await conn.execute_query_dict(
            "SELECT id FROM users WHERE id = $1 FOR UPDATE", [user.id])
        if not locked:
            raise NotFound(_("No such user."))
        # the partners' navbar badges counted this user's unread messages: they are read now
        partners = await conn.execute_query_dict(
            "UPDATE users u SET unread_messages = GREATEST(u.unread_messages - c.unread, 0) "
            "FROM conversations c WHERE c.partner_id = $1 AND c.user_id = u.id "
            "AND c.unread > 0 RETURNING u.id, u.unread_messages, c.last_message_id", [user.id])
        # their line stays, with nothing left in it; deleting the user's row sets its partner
        # to NULL (the foreign key's ON DELETE SET NULL)
        await conn.execute_query(
            "UPDATE conversations SET unread = 0, last_message_id = 0, last_read_id = 0 "
            "WHERE partner_id = $1", [user.id])
        for row in partners:
            event: Event = MessageRead(reader=row["id"], partner=user.id,
                                last_read_id=row["last_message_id"],
                                unread=row["unread_messages"])
            personal_events.append((row["id"], await record_personal(conn, row["id"], event)))
        # what the account did in others' notifications (followed, commented, mentioned) goes
        # too: its comments are gone and its name will soon be no one's, or someone else's.
        # No index serves data->'user': one scan of the table, in a rare operation
        bells = await conn.execute_query_dict(
            "WITH gone AS (DELETE FROM notifications WHERE user_id <> $1 AND kind = ANY($2) "
            "AND data->'user'->>'id' = $3 RETURNING user_id, read_at IS NULL AS unread), "
            "lost AS (SELECT user_id, count(*) FILTER (WHERE unread) AS n FROM gone "
            "GROUP BY user_id) "
            "UPDATE users u "
            "SET unread_notifications = GREATEST(u.unread_notifications - lost.n, 0) "
            "FROM lost WHERE u.id = lost.user_id AND lost.n > 0 "
            "RETURNING u.id, u.unread_notifications",
            [user.id, [NotificationKind.FOLLOW.value, NotificationKind.COMMENT.value,
                       NotificationKind.MENTION.value], str(user.id)])
        for row in bells:
            event = NotificationsRead(last_read_id=0, unread=row["unread_notifications"])
            personal_events.append((row["id"], await record_personal(conn, row["id"], event)))
        # others' posts lose this account's likes, reposts and comments from their counts
        await conn.execute_query(
            "UPDATE posts p SET like_count = p.like_count - l.n FROM (SELECT post_id, "
            "count(*) AS n FROM likes WHERE user_id = $1 GROUP BY post_id) l "
            "WHERE p.id = l.post_id", [user.id])
        await conn.execute_query(
            "UPDATE posts p SET repost_count = p.repost_count - r.n FROM (SELECT post_id, "
            "count(*) AS n FROM reposts WHERE user_id = $1 GROUP BY post_id) r "
            "WHERE p.id = r.post_id", [user.id])
        await conn.execute_query(
            "UPDATE posts p SET comment_count = p.comment_count - c.n FROM (SELECT post_id, "
            "count(*) AS n FROM comments WHERE author_id = $1 GROUP BY post_id) c "
            "WHERE p.id = c.post_id AND p.author_id <> $1", [user.id])
        post_rows = await conn.execute_query_dict(
            "DELETE FROM posts WHERE author_id = $1 RETURNING id", [user.id])
        task_rows = await conn.execute_query_dict(
            "DELETE FROM tasks WHERE user_id = $1 RETURNING id", [user.id])
        await conn.execute_query("DELETE FROM users WHERE id = $1", [user.id])
    post_ids = sorted((int(row["id"]) for row in post_rows), reverse=True)  # newest first
    log.info("deleted user %s (%s) with %d posts", user.id, user.username, len(post_ids))
    await sessions.end_all(user.id)
    # its posts, and the counts of the posts it liked, reposted and commented on
    await pagecache.everything()
    publish_credentials_ended(user.id, all_tokens=True)
    for other_id, recorded in personal_events:
        publish_personal(other_id, recorded)
    for start in range(0, len(post_ids), ANNOUNCE_BATCH):
        if start:
            await flush_events()
        for post_id in post_ids[start:start + ANNOUNCE_BATCH]:
            publish(PostDeleted(id=post_id), author_room(user.id), explore_room(),
                    post_room(post_id))
    await indexing.posts_removed(post_ids)
    for row in task_rows:
        await asyncio.to_thread(shutil.rmtree, export_dir(str(row["id"])), ignore_errors=True)
