"""Email notifications: who wants which emails, one-click unsubscribe links, and queuing the
email jobs after a user action has committed."""

from __future__ import annotations

import asyncio
import logging
from typing import Any, Literal, cast

from itsdangerous import BadData, URLSafeSerializer

from microblog.i18n import gettext as _
from microblog.infra import resources
from microblog.models import User
from microblog.services.errors import ServiceError

log = logging.getLogger(__name__)

Kind = Literal["follow", "comment", "messages"]
# each kind of email and the user's switch for it
KINDS: dict[str, str] = {
    "follow": "email_on_follow",
    "comment": "email_on_comment",
    "messages": "email_on_messages",
}
UNSUBSCRIBE_SALT = "microblog.email-unsubscribe"
# an unreachable Redis must not hold a user's follow or comment for long
ENQUEUE_TIMEOUT = 2.0


class BadUnsubscribeLink(ServiceError):
    code = "bad_unsubscribe_link"


# --- preferences --------------------------------------------------------------------------


async def set_preferences(user: User, *, follow: bool, comment: bool, messages: bool) -> User:
    values = {"email_on_follow": bool(follow), "email_on_comment": bool(comment),
              "email_on_messages": bool(messages)}
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


# --- unsubscribe links --------------------------------------------------------------------


def _serializer() -> URLSafeSerializer:
    return URLSafeSerializer(resources.settings.secret_key, salt=UNSUBSCRIBE_SALT)


def unsubscribe_token(user_id: int, kind: str) -> str:
    """A signed, non-expiring token: whoever holds it may turn this one kind off (or back
    on) for this one user, and nothing else."""
    if kind not in KINDS:
        raise ValueError(kind)
    return cast(str, _serializer().dumps([user_id, kind]))


def unsubscribe_url(user_id: int, kind: str) -> str:
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


# --- queuing the jobs (after commit) ------------------------------------------------------


async def enqueue_email(function: str, *, key: str, **kwargs: Any) -> None:
    """Queue an email job. The user's action has already committed, so a queue that cannot
    be reached costs the email (logged), never the action."""
    try:
        async with asyncio.timeout(ENQUEUE_TIMEOUT):
            await resources.enqueue(function, key=key, **kwargs)
    except Exception:
        log.exception("could not queue %s (key %s); the email is not sent", function, key)


async def follow_email(follower: User, target: User) -> None:
    if target.email_on_follow:
        # one job per pair at a time; the job itself keeps it to one email a day
        await enqueue_email("send_follow_email", key=f"follow_email:{follower.id}:{target.id}",
                            follower_id=follower.id, followed_id=target.id)


async def comment_email(comment_id: int, post_author: User) -> None:
    if post_author.email_on_comment:
        await enqueue_email("send_comment_email", key=f"comment_email:{comment_id}",
                            comment_id=comment_id)
