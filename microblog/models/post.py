"""Posts and their comments."""

from __future__ import annotations

from tortoise import fields
from tortoise.contrib.postgres.fields import ArrayField
from tortoise.models import Model

from microblog.limits import COMMENT_MAX, POST_MAX
from microblog.models.user import User


class Post(Model):
    # bigint: ids order the timelines (monotonic, unique, index-friendly keyset)
    id = fields.BigIntField(primary_key=True)
    author: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "models.User", related_name="posts", on_delete=fields.CASCADE
    )
    body = fields.CharField(max_length=POST_MAX)
    language = fields.CharField(max_length=8, default="")
    # the body's hashtags (microblog.text.hashtags); the database derives the search index
    # (`search`, not a model field) and `post_tags` from body, language and tags
    tags: list[str] = ArrayField("VARCHAR(64)", default=list)
    created_at = fields.DatetimeField(auto_now_add=True)

    comments: fields.ReverseRelation[Comment]

    class Meta:
        table = "posts"
        # timelines read "posts by these authors, newest first"
        indexes = (("author", "id"),)


class Comment(Model):
    id = fields.BigIntField(primary_key=True)
    post: fields.ForeignKeyRelation[Post] = fields.ForeignKeyField(
        "models.Post", related_name="comments", on_delete=fields.CASCADE
    )
    author: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "models.User", related_name="comments", on_delete=fields.CASCADE
    )
    body = fields.CharField(max_length=COMMENT_MAX)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "comments"
        indexes = (("post", "id"),)
