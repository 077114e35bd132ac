"""The follow graph."""

from __future__ import annotations

from tortoise import fields
from tortoise.models import Model

from microblog.models.user import User


class Follow(Model):
    id = fields.IntField(primary_key=True)
    follower: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "models.User", related_name="following_rel", on_delete=fields.CASCADE
    )
    followed: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "models.User", related_name="follower_rel", on_delete=fields.CASCADE
    )
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "follows"
        unique_together = (("follower", "followed"),)
        # "who follows X" (follower lists and fan-out); the unique index serves "whom X follows"
        indexes = (("followed", "follower"),)
