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
    # set by the author's last edit (the earlier texts are PostEdit rows)
    edited_at = fields.DatetimeField(null=True)
    # kept in the same statement as the like, repost or comment that changes them, so they
    # never drift and a card needs no count(*)
    like_count = fields.IntField(default=0)
    repost_count = fields.IntField(default=0)
    comment_count = fields.IntField(default=0)

    comments: fields.ReverseRelation[Comment]

    class Meta:
        table = "posts"
        # timelines read "posts by these authors, newest first"
        indexes = (("author", "id"),)


class Like(Model):
    id = fields.BigIntField(primary_key=True)
    post: fields.ForeignKeyRelation[Post] = fields.ForeignKeyField(
        "models.Post", related_name="likes", on_delete=fields.CASCADE)
    user: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "models.User", related_name="likes", on_delete=fields.CASCADE)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "likes"
        unique_together = (("post", "user"),)
        indexes = (("user", "id"),)


class Repost(Model):
    """Someone shares a post with their followers. Its id comes from the posts' sequence
    (services/posts.py), so posts and reposts order one home timeline by id."""

    id = fields.BigIntField(primary_key=True)
    post: fields.ForeignKeyRelation[Post] = fields.ForeignKeyField(
        "models.Post", related_name="reposts", on_delete=fields.CASCADE)
    user: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "models.User", related_name="reposts", on_delete=fields.CASCADE)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "reposts"
        unique_together = (("post", "user"),)
        # home timelines read "reposts by these people, newest first"
        indexes = (("user", "id"),)


class PostEdit(Model):
    """A post's text before one of its edits (its history, oldest first by id)."""

    id = fields.BigIntField(primary_key=True)
    post: fields.ForeignKeyRelation[Post] = fields.ForeignKeyField(
        "models.Post", related_name="edits", on_delete=fields.CASCADE)
    body = fields.CharField(max_length=POST_MAX)
    # when this text was written: the post's creation or the edit before this one
    written_at = fields.DatetimeField()
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "post_edits"
        indexes = (("post", "id"),)


class Comment(Model):
    id = fields.BigIntField(primary_key=True)
    post: fields.ForeignKeyRelation[Post] = fields.ForeignKeyField(
        "models.Post", related_name="comments", on_delete=fields.CASCADE
    )
    author: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "models.User", related_name="comments", on_delete=fields.CASCADE
    )
    body = fields.CharField(max_length=COMMENT_MAX)
    language = fields.CharField(max_length=8, default="")
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "comments"
        indexes = (("post", "id"),)


class Translation(Model):
    """A post's or a comment's text translated by a translation service, kept for good: one
    per (post or comment, body, target language). `body_hash` is the SHA-256 of the text that
    was translated, so an edited body is translated again."""

    id = fields.BigIntField(primary_key=True)
    # exactly one of post and comment (a CHECK in the migration)
    post: fields.ForeignKeyNullableRelation[Post] = fields.ForeignKeyField(
        "models.Post", related_name="translations", on_delete=fields.CASCADE, null=True)
    comment: fields.ForeignKeyNullableRelation[Comment] = fields.ForeignKeyField(
        "models.Comment", related_name="translations", on_delete=fields.CASCADE, null=True)
    body_hash = fields.CharField(max_length=64)
    target = fields.CharField(max_length=16)
    source_language = fields.CharField(max_length=16)
    provider = fields.CharField(max_length=16)
    body = fields.TextField()
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "translations"
        unique_together = (("post", "body_hash", "target"), ("comment", "body_hash", "target"))
