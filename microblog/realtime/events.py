"""Every real-time event, declared once: its name, whether it is personal, its payload.

Services build these models and hand them to `publish` (microblog.realtime.publish); the
browser client and tests rely on the names and fields here. A personal event is persisted
per user with a dense, increasing `event_id` and replayed after a reconnect.
"""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import ConfigDict, Field, ValidationError

from microblog import metrics
from microblog.schemas import (
    Comment,
    Message,
    NotificationFields,
    Post,
    PostHit,
    PostStats,
    RowId,
    Schema,
    UserId,
)

__all__ = [
    "EVENTS", "CommentCreated", "Event", "MessageCreated", "MessageRead", "NotificationEvent",
    "NotificationsRead", "PostCreated", "PostDeleted", "PostStatsChanged", "PostUnreposted",
    "PostUpdated", "SearchResult", "Typing", "ValidationError",
    "validate_event",
]


class Event(Schema):
    name: ClassVar[str]
    # persisted per user and replayed (notifications, messages); others are live only
    personal: ClassVar[bool] = False

    def payload(self) -> dict[str, Any]:
        return self.model_dump(mode="json", exclude_none=True, by_alias=True)


class PostCreated(Post, Event):
    """The post as the API shows it; to the author's followers, the author, explore viewers
    and viewers of the author's profile."""

    name: ClassVar[str] = "post.created"

    def payload(self) -> dict[str, Any]:
        # exactly the API's post: its empty fields are there, as null
        return self.model_dump(mode="json", by_alias=True)


class PostUpdated(Post, Event):
    """The post after its author edited it; to the same audience as `post.created`, and to
    viewers of its page."""

    name: ClassVar[str] = "post.updated"

    def payload(self) -> dict[str, Any]:
        return self.model_dump(mode="json", by_alias=True)


class PostStatsChanged(PostStats, Event):
    """A post's counts changed (likes, reposts, comments); to viewers of its page and its
    author, at most a few times a second per post."""

    name: ClassVar[str] = "post.stats"


class PostUnreposted(Event):
    """`by` undid their repost of post `id`: a card shown as reposted by them goes."""

    name: ClassVar[str] = "post.unreposted"
    id: RowId
    by: UserId


class PostDeleted(Event):
    name: ClassVar[str] = "post.deleted"
    id: RowId


class CommentCreated(Comment, Event):
    """The comment as the API shows it; to viewers of the post's page (the author also gets
    a `comment` notification)."""

    name: ClassVar[str] = "comment.created"


class NotificationEvent(NotificationFields, Event):
    """A notification. Kind `task_progress` with no `id` is a progress report of a
    background task (`data` = `{task_id, name, progress, status}`): replayed like any
    personal event, but not kept in the notification list nor counted in the bell."""

    name: ClassVar[str] = "notification"
    personal: ClassVar[bool] = True
    id: RowId | None = None
    # the unread count after this notification, so every tab's bell agrees
    unread: int | None = Field(default=None, ge=0)
    event_id: int | None = None


class NotificationsRead(Event):
    """Notifications up to `last_read_id` were read (in any tab)."""

    name: ClassVar[str] = "notifications.read"
    personal: ClassVar[bool] = True
    last_read_id: int
    unread: int = Field(ge=0)
    event_id: int | None = None


class MessageCreated(Message, Event):
    """The message as the API shows it, to every tab of its sender and of its recipient;
    `client_id` lets the sending tab match its optimistic copy."""

    name: ClassVar[str] = "message.created"
    personal: ClassVar[bool] = True
    # the receiving user's total of unread messages after this one
    unread: int | None = Field(default=None, ge=0)
    event_id: int | None = None


class MessageRead(Event):
    """`reader` has read `partner`'s messages up to `last_read_id`: to both of them (the
    partner's tabs show "seen", the reader's tabs update their unread counts)."""

    name: ClassVar[str] = "message.read"
    personal: ClassVar[bool] = True
    reader: int
    partner: int
    last_read_id: int
    unread: int = Field(ge=0)
    event_id: int | None = None


class Typing(Event):
    """Ephemeral: `from` is typing to the receiving user. Never stored or replayed."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)
    name: ClassVar[str] = "typing"
    from_: int = Field(alias="from")
    username: str


class SearchResult(Event):
    """A new post that matches a search a socket follows (`subscribe {stream: "search",
    q}`), highlighted for that query; only to that socket, never to someone the author
    blocked."""

    name: ClassVar[str] = "search.result"
    q: str
    post: PostHit


EVENTS: dict[str, type[Event]] = {
    cls.name: cls
    for cls in (PostCreated, PostUpdated, PostDeleted, PostStatsChanged, PostUnreposted,
                CommentCreated, NotificationEvent, NotificationsRead,
                MessageCreated, MessageRead, SearchResult, Typing)
}


metrics.declare_events(EVENTS)


def validate_event(name: str, payload: Any) -> Event:
    """Check an emitted (name, payload) against its declaration; raises on any mismatch."""
    try:
        cls = EVENTS[name]
    except KeyError:
        raise ValueError(f"undeclared event {name!r}") from None
    event = cls.model_validate(payload)
    if cls.personal and event.event_id is None:  # type: ignore[attr-defined]
        raise ValueError(f"personal event {name!r} without event_id")
    return event
