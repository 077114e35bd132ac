"""Background tasks a user started and watches (exports): their state survives the worker."""

from __future__ import annotations

import uuid
from enum import StrEnum

from tortoise import fields
from tortoise.models import Model

from microblog.models.user import User


class TaskStatus(StrEnum):
    QUEUED = "queued"
    ACTIVE = "active"
    COMPLETE = "complete"
    FAILED = "failed"


# a task in one of these has a job that may still change it
RUNNING = (TaskStatus.QUEUED, TaskStatus.ACTIVE)


def new_task_id() -> str:
    return uuid.uuid4().hex


class Task(Model):
    # also the SAQ job key, so the job and its row are found from one another
    id = fields.CharField(max_length=32, primary_key=True, default=new_task_id)
    user: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "models.User", related_name="tasks", on_delete=fields.CASCADE
    )
    name = fields.CharField(max_length=32)
    status = fields.CharEnumField(TaskStatus, max_length=16, default=TaskStatus.QUEUED)
    progress = fields.IntField(default=0)
    result: fields.Field[dict] | None = fields.JSONField(null=True)  # type: ignore[type-arg]
    error = fields.TextField(null=True)
    attempts = fields.IntField(default=0)
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)
    finished_at = fields.DatetimeField(null=True)

    class Meta:
        table = "tasks"
        indexes = (("user", "name", "created_at"),)


class ScheduledPost(Model):
    """A post written now to appear later: invisible (it is not a post yet) until the worker
    publishes it at `publish_at`, which creates the post and records its id here."""

    id = fields.BigIntField(primary_key=True)
    author: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "models.User", related_name="scheduled_posts", on_delete=fields.CASCADE
    )
    body = fields.CharField(max_length=280)
    publish_at = fields.DatetimeField()
    # set in the transaction that creates the post: publishing twice is impossible
    post_id = fields.BigIntField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "scheduled_posts"
        indexes = (("author", "publish_at"), ("publish_at",))
