"""The resources the API returns, as DESIGN.md defines them. The real-time events carry the
same models (microblog.realtime.events), so each shape is written here once.

`of(...)` builds a resource from what the services hold: an ORM row or one of the light
views the timeline queries return (anything with the same attributes).
"""

from __future__ import annotations

from typing import Any, Literal, Protocol, Self

from pydantic import Field

from microblog.models.notification import NotificationKind
from microblog.models.task import TaskStatus
from microblog.schemas.base import Cursor, RowId, Schema, Timestamp, UserId


class _Person(Protocol):
    id: int
    username: str

    def avatar(self, size: int = 128) -> str: ...


class UserRef(Schema):
    """Who wrote, sent or did something: enough to show and link them."""

    id: UserId
    username: str
    avatar: str = Field(description="Gravatar image URL (128 px)")

    @classmethod
    def of(cls, user: _Person) -> UserRef:
        return cls(id=user.id, username=user.username, avatar=user.avatar(128))


class User(Schema):
    """A person's public profile."""

    id: UserId
    username: str
    about_me: str | None
    avatar: str
    last_seen: Timestamp | None
    post_count: int = Field(ge=0)
    follower_count: int = Field(ge=0)
    following_count: int = Field(ge=0)

    @classmethod
    def of(cls, user: Any, counts: dict[str, int]) -> User:
        return cls(id=user.id, username=user.username, about_me=user.about_me,
                   avatar=user.avatar(128), last_seen=user.last_seen, **counts)


class Post(Schema):
    """A post (also the payload of `post.created` and `post.updated`)."""

    id: RowId
    body: str
    author: UserRef
    created_at: Timestamp
    language: str = Field(description="ISO 639-1 code detected from the text; '' if unknown")
    edited_at: Timestamp | None = Field(default=None, description="The author's last edit")
    like_count: int = Field(default=0, ge=0)
    repost_count: int = Field(default=0, ge=0)
    comment_count: int = Field(default=0, ge=0)
    liked: bool = Field(default=False, description="You like it")
    reposted: bool = Field(default=False, description="You reposted it")
    reposted_by: UserRef | None = Field(
        default=None, description="In a timeline: shown because this person reposted it")
    reposted_at: Timestamp | None = None

    @classmethod
    def fields_of(cls, post: Any) -> dict[str, Any]:
        """What every shape of a post shares, from a PostView or a Post row."""
        by = getattr(post, "reposted_by", None)
        return {"id": post.id, "body": post.body, "author": UserRef.of(post.author),
                "created_at": post.created_at, "language": post.language,
                "edited_at": post.edited_at, "like_count": post.like_count,
                "repost_count": post.repost_count, "comment_count": post.comment_count,
                "liked": getattr(post, "liked", False),
                "reposted": getattr(post, "reposted", False),
                "reposted_by": UserRef.of(by) if by is not None else None,
                "reposted_at": getattr(post, "reposted_at", None)}

    @classmethod
    def of(cls, post: Any) -> Self:
        return cls(**cls.fields_of(post))


class PostStats(Schema):
    """A post's counts (the payload of `post.stats`)."""

    id: RowId
    like_count: int = Field(ge=0)
    repost_count: int = Field(ge=0)
    comment_count: int = Field(ge=0)


class PostHit(Post):
    """A post found by a search (also the payload of `search.result`)."""

    highlight: str = Field(description="The body as HTML: every matched term in "
                           "<mark>…</mark>, everything else escaped")

    @classmethod
    def hit(cls, post: Any, highlight: str) -> Self:
        return cls(**cls.fields_of(post), highlight=highlight)


class TrendingTag(Schema):
    """A hashtag people used in the last 24 hours."""

    name: str = Field(description="The tag without '#', lower-cased")
    uses: int = Field(ge=0, description="Posts with it in the last 24 hours")
    people: int = Field(ge=0, description="Different people who used it then")


class TrendingTags(Schema):
    items: list[TrendingTag]


class PostEdit(Schema):
    """An earlier text of a post."""

    body: str
    written_at: Timestamp


class PostHistory(Schema):
    """A post's texts, the current one first, then each earlier one, newest first."""

    id: RowId
    body: str
    edited_at: Timestamp | None
    versions: list[PostEdit]


class TagHit(Schema):
    """A hashtag found by a search."""

    name: str = Field(description="The tag without '#', lower-cased")
    uses: int = Field(ge=0, description="Posts that carry it")


class Comment(Schema):
    """A comment on a post (also the payload of `comment.created`)."""

    id: RowId
    post_id: RowId
    body: str
    author: UserRef
    created_at: Timestamp
    language: str = Field(description="ISO 639-1 code detected from the text; '' if unknown")

    @classmethod
    def of(cls, comment: Any) -> Self:
        return cls(id=comment.id, post_id=comment.post_id, body=comment.body,
                   author=UserRef.of(comment.author), created_at=comment.created_at,
                   language=comment.language)


class Translation(Schema):
    """A post or a comment translated (cached: asking again costs nothing)."""

    id: RowId = Field(description="The post's (or comment's) id")
    language: str = Field(description="The language it was translated into")
    source_language: str = Field(description="The language it was translated from")
    body: str = Field(description="The translated text")
    provider: str = Field(description="The translation service: microsoft, deepl or "
                                      "libretranslate")

    @classmethod
    def of(cls, view: Any) -> Self:
        return cls(id=view.id, language=view.language, source_language=view.source_language,
                   body=view.body, provider=view.provider)


class Message(Schema):
    """A private message (also the payload of `message.created`)."""

    id: RowId
    sender: UserRef
    recipient: UserRef
    body: str
    created_at: Timestamp
    client_id: str | None = Field(
        default=None, description="The sending client's own id for it (idempotent retries)")

    @classmethod
    def of(cls, message: Any, **extra: Any) -> Self:
        return cls(id=message.id, sender=UserRef.of(message.sender),
                   recipient=UserRef.of(message.recipient), body=message.body,
                   created_at=message.created_at, client_id=message.client_id, **extra)


class Conversation(Schema):
    """One line of the inbox: the other person and the latest message."""

    id: RowId = Field(description="This line of your inbox")
    partner: UserRef | None = Field(
        description="null once the other person deleted their account: the conversation's "
                    "messages went with it, and DELETE /api/conversations/{id} removes the line")
    last_message: Message | None
    unread: int = Field(ge=0, description="Messages from the partner not read yet")
    partner_read_id: Cursor = Field(description="The partner has read up to this message id")
    updated_at: Timestamp | None

    @classmethod
    def of(cls, conversation: Any) -> Conversation:
        last = conversation.last_message
        partner = conversation.partner
        return cls(id=conversation.id,
                   partner=UserRef.of(partner) if partner is not None else None,
                   last_message=Message.of(last) if last is not None else None,
                   unread=conversation.unread, partner_read_id=conversation.partner_read_id,
                   updated_at=conversation.updated_at)


class NotificationFields(Schema):
    kind: NotificationKind
    data: dict[str, Any] = Field(
        description="What happened; `user` is a user reference of who did it")
    created_at: Timestamp


class Notification(NotificationFields):
    """Something that happened to you (someone followed you, commented, a task finished)."""

    id: RowId
    read: bool

    @classmethod
    def of(cls, notification: Any) -> Notification:
        return cls(id=notification.id, kind=notification.kind, data=notification.data,
                   created_at=notification.created_at, read=notification.read_at is not None)


class Task(Schema):
    """A background task (an export) and how far it got."""

    id: str
    name: str
    status: TaskStatus
    progress: int = Field(ge=0, le=100)
    result: dict[str, Any] | None
    error: str | None
    created_at: Timestamp
    finished_at: Timestamp | None

    @classmethod
    def of(cls, task: Any) -> Task:
        return cls(id=task.id, name=task.name, status=task.status, progress=task.progress,
                   result=task.result, error=task.error, created_at=task.created_at,
                   finished_at=task.finished_at)


class ScheduledPostLinks(Schema):
    self_: str = Field(alias="self")
    post: str | None = Field(description="The published post, once it is published")


class ScheduledPost(Schema):
    """A post written for later: published by the worker at `publish_at`."""

    id: RowId
    body: str
    publish_at: Timestamp
    status: Literal["scheduled", "published"]
    post_id: RowId | None
    created_at: Timestamp
    updated_at: Timestamp
    links: ScheduledPostLinks = Field(alias="_links")


class Token(Schema):
    """An API token: send it as `Authorization: Bearer <token>`."""

    token: str
    expires_at: Timestamp


class TaskLinks(Schema):
    task: str


class TaskStarted(Schema):
    """The task started: watch it at `_links.task` (or through `notification` events)."""

    task_id: str
    links: TaskLinks = Field(alias="_links")


class Unread(Schema):
    """How many are still unread."""

    unread: int = Field(ge=0)


class Error(Schema):
    """What went wrong: `error` is the HTTP reason, `message` says it for a person; a
    validation error names each invalid field in `errors`."""

    error: str
    message: str
    errors: dict[str, str] = Field(
        default_factory=dict, description="Invalid fields: `{field: message}` (a 400 only; "
        "absent otherwise)")
