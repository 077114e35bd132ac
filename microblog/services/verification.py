"""Confirming email addresses: the link a new account's address gets (and "Send it again"),
and changing the address, which switches only once the new one is confirmed.

The links and the jobs that send them are in services/emails.py: a link is signed, dated
(48 hours) and names the user and the address it was sent to, so it works only while that
address is the one waiting to be confirmed. Opening a link (GET) changes nothing: mail
scanners fetch links; the page's button (POST) confirms.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from enum import StrEnum

from tortoise.exceptions import IntegrityError

from microblog import ratelimit
from microblog.clock import now
from microblog.errors import Conflict, Unavailable, ValidationFailed
from microblog.i18n import gettext as _
from microblog.jobs import QueueUnavailable, enqueue
from microblog.models import PasswordResetToken, User
from microblog.realtime.rooms import author_room
from microblog.services import accounts, emails, pagecache

log = logging.getLogger(__name__)


class LinkKind(StrEnum):
    VERIFY = "verify"  # the account's own, unconfirmed address
    CHANGE = "change"  # the address the owner asked to change to
    DONE = "done"  # the account's address, already confirmed: nothing left to do


@dataclass(frozen=True)
class Link:
    user: User
    address: str
    kind: LinkKind


def _too_many() -> str:
    return _("We have sent you several links already. Check your inbox (and spam folder), "
             "or try again later.")


def _no_email() -> Unavailable:
    return Unavailable(_("We cannot send email right now. Please try again in a few minutes."))


async def link_target(token: str) -> Link:
    """What a link confirms, changing nothing (the page a GET shows)."""
    user_id, digest = emails.read_verification_token(token)
    user = await User.get_or_none(id=user_id)
    if user is not None and digest == emails.address_digest(user.email):
        return Link(user, user.email,
                    LinkKind.DONE if emails.verified(user) else LinkKind.VERIFY)
    if user is not None and user.pending_email and digest == emails.address_digest(
            user.pending_email):
        return Link(user, user.pending_email, LinkKind.CHANGE)
    raise emails.bad_verification_link()


async def confirm(token: str) -> Link:
    """Confirm what a link was sent for; safe to repeat. A confirmed change switches the
    address, tells the old one (when it was confirmed itself) and ends every unused password
    reset link (they went to the old address). Conflict when another account took the new
    address meanwhile (the change is then dropped)."""
    link = await link_target(token)
    user = link.user
    if link.kind is LinkKind.DONE:
        return link
    if link.kind is LinkKind.VERIFY:
        at = now()
        await User.filter(id=user.id, email=link.address, email_verified_at__isnull=True).update(
            email_verified_at=at)
        user.email_verified_at = at
        log.info("user %s verified their email address", user.id)
        return Link(user, link.address, LinkKind.DONE)
    old_email, old_verified = user.email, emails.verified(user)
    taken = Conflict(_("That email address now belongs to another account. Choose another "
                       "one in your email settings."))
    if await User.filter(email=link.address).exclude(id=user.id).exists():
        await User.filter(id=user.id, pending_email=link.address).update(pending_email=None)
        raise taken
    at = now()
    try:
        changed = await User.filter(id=user.id, pending_email=link.address).update(
            email=link.address, pending_email=None, email_verified_at=at)
    except IntegrityError:  # registered or confirmed by someone else a moment ago
        await User.filter(id=user.id, pending_email=link.address).update(pending_email=None)
        raise taken from None
    if not changed:  # a concurrent confirm of the same link won, or another change began
        return await link_target(token)
    await pagecache.changed(author_room(user.id))  # cards show the address's avatar
    await PasswordResetToken.filter(user_id=user.id, used_at__isnull=True).update(used_at=now())
    user.email, user.pending_email, user.email_verified_at = link.address, None, at
    log.info("user %s changed their email address", user.id)
    if old_verified:
        await enqueue(emails.send_email_changed_notice, user_id=user.id, old_email=old_email)
    return Link(user, link.address, LinkKind.CHANGE)


async def resend(user: User, locale: str | None = None) -> bool:
    """Send the link for the user's unconfirmed address again (ratelimit.VERIFICATION_EMAILS
    per user); False when the address is already confirmed (nothing sent)."""
    if emails.verified(user):
        return False
    await ratelimit.enforce(ratelimit.VERIFICATION_EMAILS, "verification-emails", user.id,
                            message=_too_many())
    try:
        await enqueue(emails.send_verification_email, user_id=user.id, locale=locale)
    except QueueUnavailable:
        raise _no_email() from None
    return True


async def request_change(user: User, new_email: str | None, password: str | None,
                         client: str | None = None, locale: str | None = None) -> str:
    """Ask to change the account's address to `new_email`, proven by the current `password`
    (checked, and throttled, as a sign-in: accounts.authenticate); the new address gets a
    link and becomes the account's when it is opened. Returns the cleaned address. Asking
    again replaces the pending address (and the older link stops working)."""
    address = accounts.clean_email(new_email)
    if await accounts.authenticate(user.username, password, client) is None:
        raise ValidationFailed({"password": _("That is not your current password.")})
    if address == user.email:
        raise ValidationFailed({"email": _("That is already your email address.")})
    if await User.filter(email=address).exclude(id=user.id).exists():
        raise ValidationFailed({"email": _("That email address is already registered.")})
    await ratelimit.enforce(ratelimit.VERIFICATION_EMAILS, "verification-emails", user.id,
                            message=_too_many())
    await User.filter(id=user.id).update(pending_email=address)
    user.pending_email = address
    try:
        await enqueue(emails.send_email_change_link, user_id=user.id, locale=locale)
    except QueueUnavailable:
        await User.filter(id=user.id, pending_email=address).update(pending_email=None)
        user.pending_email = None
        raise _no_email() from None
    log.info("user %s asked to change their email address", user.id)
    return address


async def cancel_change(user: User) -> None:
    """Forget the pending address: its link stops working."""
    await User.filter(id=user.id).update(pending_email=None)
    user.pending_email = None
