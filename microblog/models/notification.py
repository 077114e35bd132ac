"""Notifications and the per-user log of personal events that makes replay possible."""

from __future__ import annotations

from enum import StrEnum

from tortoise import fields
from tortoise.models import Model

from microblog.models.user import User


class NotificationKind(StrEnum):
    FOLLOW = "follow"
    COMMENT = "comment"
    MENTION = "mention"
    # grouped: one unread notification per post, updated as more people like or repost it
    LIKE = "like"
    REPOST = "repost"
    # a background task's progress; announced live (and replayed) while it runs, kept as a
    # notification when it ends
    TASK_PROGRESS = "task_progress"


class Notification(Model):
    id = fields.BigIntField(primary_key=True)
    user: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "models.User", related_name="notifications", on_delete=fields.CASCADE
    )
    kind = fields.CharEnumField(NotificationKind, max_length=32)
    data: fields.Field[dict] = fields.JSONField(default=dict)  # type: ignore[type-arg]
    created_at = fields.DatetimeField(auto_now_add=True)
    read_at = fields.DatetimeField(null=True)

    class Meta:
        table = "notifications"
        indexes = (("user", "id"),)


class UserEvent(Model):
    """A personal event as it was sent: (user, event_id) is dense and increasing per user,
    so a client that saw event N asks for everything after N and a gap is visible."""

    id = fields.BigIntField(primary_key=True)
    user: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "models.User", related_name="events", on_delete=fields.CASCADE
    )
    event_id = fields.IntField()
    name = fields.CharField(max_length=64)
    payload: fields.Field[dict] = fields.JSONField()  # type: ignore[type-arg]
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "user_events"
        unique_together = (("user", "event_id"),)
