"""Accounts: users, their API tokens and password-reset tokens."""

from __future__ import annotations

import hashlib
import re
from typing import TYPE_CHECKING

from tortoise import fields
from tortoise.models import Model

from microblog.limits import ABOUT_ME_MAX, EMAIL_MAX, USERNAME_MAX

if TYPE_CHECKING:
    from microblog.models.post import Post
    from microblog.models.social import Follow



class User(Model):
    id = fields.IntField(primary_key=True)
    username = fields.CharField(max_length=USERNAME_MAX)
    # lower(username): uniqueness ignores case, lookups stay index-only
    username_key = fields.CharField(max_length=USERNAME_MAX, unique=True)
    # microblog.text.username_skeleton(username): one owner per look-alike name. Rows that
    # already collided when the column came (migration 7) keep `<skeleton>#<id>`: hence longer
    username_skeleton = fields.CharField(max_length=USERNAME_MAX + 16, unique=True)
    email = fields.CharField(max_length=EMAIL_MAX, unique=True)
    # when the owner opened the link mailed to `email`; until then the product emails it
    # nothing but that link (services/verification.py). Accounts older than this are verified.
    email_verified_at = fields.DatetimeField(null=True)
    # an address the owner asked to change to, waiting for its link: `email` switches (and is
    # verified) when it is opened. Not unique: the first to confirm an address gets it
    pending_email = fields.CharField(max_length=EMAIL_MAX, null=True)
    password_hash = fields.CharField(max_length=255)
    about_me = fields.CharField(max_length=ABOUT_ME_MAX, default="")
    locale = fields.CharField(max_length=8, null=True)
    # bumped on password change: every cookie session issued before is refused
    session_epoch = fields.IntField(default=0)
    # the newest personal event's id (see UserEvent); bumped in the transaction that adds one
    last_event_id = fields.IntField(default=0)
    # kept with the row every page loads anyway, so the bell costs no query
    unread_notifications = fields.IntField(default=0)
    # unread private messages over all conversations (the navbar badge)
    unread_messages = fields.IntField(default=0)
    # email notification preferences, one switch per kind (settings page, unsubscribe links)
    email_on_follow = fields.BooleanField(default=True)
    email_on_comment = fields.BooleanField(default=True)
    email_on_mention = fields.BooleanField(default=True)
    email_on_messages = fields.BooleanField(default=True)
    # the newest message already announced in an unread-messages digest email
    message_digest_id = fields.BigIntField(default=0)
    # a profile's counts, kept by triggers on posts and follows (migration 11), read with the
    # row a profile and the API load anyway
    post_count = fields.IntField(default=0)
    follower_count = fields.IntField(default=0)
    following_count = fields.IntField(default=0)
    last_seen = fields.DatetimeField(auto_now_add=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    posts: fields.ReverseRelation[Post]
    following_rel: fields.ReverseRelation[Follow]
    follower_rel: fields.ReverseRelation[Follow]

    class Meta:
        table = "users"

    def __str__(self) -> str:
        return self.username

    def avatar_hash(self) -> str:
        return email_hash(self.email)

    def avatar(self, size: int = 128) -> str:
        return gravatar_url(self.email, size)


def email_hash(email: str) -> str:
    """Gravatar's key: md5 of the trimmed, lowercased address."""
    return hashlib.md5(email.strip().lower().encode(), usedforsecurity=False).hexdigest()


def gravatar_url(email: str, size: int = 128) -> str:
    return f"https://www.gravatar.com/avatar/{email_hash(email)}?d=identicon&s={size}"


_GRAVATAR_DIGEST = re.compile(r"/avatar/([0-9a-f]{32})")


def avatar_digest(url: object) -> str:
    """The Gravatar key inside an avatar URL (a user reference's `avatar`), for the local
    identicon shown until the real picture loads; zeros when there is none."""
    found = _GRAVATAR_DIGEST.search(url) if isinstance(url, str) else None
    return found.group(1) if found else "0" * 32


class ApiToken(Model):
    id = fields.IntField(primary_key=True)
    user: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "models.User", related_name="tokens", on_delete=fields.CASCADE
    )
    # sha256 of the token: a leaked table grants nothing
    token_hash = fields.CharField(max_length=64, unique=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    expires_at = fields.DatetimeField()

    class Meta:
        table = "api_tokens"


class PasswordResetToken(Model):
    id = fields.IntField(primary_key=True)
    user: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "models.User", related_name="reset_tokens", on_delete=fields.CASCADE
    )
    token_hash = fields.CharField(max_length=64, unique=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    expires_at = fields.DatetimeField()
    used_at = fields.DatetimeField(null=True)

    class Meta:
        table = "password_reset_tokens"
