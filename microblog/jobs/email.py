"""Email jobs: they take ids, reload from the database, and may safely run twice."""

from __future__ import annotations

import logging
from typing import Any

from microblog.i18n import gettext as _
from microblog.i18n import locale_context
from microblog.infra import resources
from microblog.mail import render_email, send_email
from microblog.models import PasswordResetToken

log = logging.getLogger(__name__)


async def send_password_reset_email(
    ctx: dict[str, Any], *, token_id: int, token: str, locale: str | None = None
) -> str:
    row = await PasswordResetToken.get_or_none(id=token_id).select_related("user")
    if row is None or row.used_at is not None:
        return "skipped: token gone or used"
    user = row.user
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


async def send_follow_email(ctx: dict[str, Any], *, follower_id: int, followed_id: int) -> str:
    raise NotImplementedError


async def send_comment_email(ctx: dict[str, Any], *, comment_id: int) -> str:
    raise NotImplementedError


async def send_message_digest(ctx: dict[str, Any], *, user_id: int) -> str:
    raise NotImplementedError


async def queue_message_digests(ctx: dict[str, Any]) -> int:
    raise NotImplementedError
