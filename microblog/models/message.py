"""Private messages between two users, the per-user view of each conversation, and blocks."""

from __future__ import annotations

from tortoise import fields
from tortoise.models import Model

from microblog.limits import CLIENT_ID_MAX, MESSAGE_MAX
from microblog.models.user import User


class Message(Model):
    id = fields.BigIntField(primary_key=True)
    sender: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "models.User", related_name="sent_messages", on_delete=fields.CASCADE
    )
    recipient: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "models.User", related_name="received_messages", on_delete=fields.CASCADE
    )
    body = fields.CharField(max_length=MESSAGE_MAX)
    # chosen by the sending client: a retried send with the same id is stored once
    client_id = fields.CharField(max_length=CLIENT_ID_MAX, null=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "messages"
        unique_together = (("sender", "client_id"),)
        # a conversation's history, newest first, either direction
        indexes = (("sender", "recipient", "id"),)


class Conversation(Model):
    """One user's side of a conversation: a row per (user, partner), kept in the same
    transaction as every message, so the inbox is one indexed read."""

    id = fields.BigIntField(primary_key=True)
    user: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "models.User", related_name="conversations", on_delete=fields.CASCADE
    )
    # NULL once the partner deleted their account: the line stays in this user's inbox as
    # "deleted account" (their messages went with them) until this user removes it
    partner: fields.ForeignKeyNullableRelation[User] = fields.ForeignKeyField(
        "models.User", related_name="+", on_delete=fields.SET_NULL, null=True
    )
    last_message_id = fields.BigIntField(default=0)
    # the partner's messages this user has read up to (a message id)
    last_read_id = fields.BigIntField(default=0)
    unread = fields.IntField(default=0)
    updated_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "conversations"
        unique_together = (("user", "partner"),)
        indexes = (("user", "updated_at"),)


class Block(Model):
    id = fields.IntField(primary_key=True)
    blocker: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "models.User", related_name="blocks", on_delete=fields.CASCADE
    )
    blocked: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "models.User", related_name="blocked_by", on_delete=fields.CASCADE
    )
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "blocks"
        unique_together = (("blocker", "blocked"),)
