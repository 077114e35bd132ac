"""Every real-time event, declared once: its name, whether it is personal, its payload.

Services build these models and hand them to `publish` (microblog.realtime.publish); the
browser client and tests rely on the names and fields here. A personal event is persisted
per user with a dense, increasing `event_id` and replayed after a reconnect.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from microblog import metrics
from microblog.limits import COMMENT_MAX, MESSAGE_MAX, POST_MAX
from microblog.models.notification import NotificationKind

__all__ = [
    "EVENTS", "AuthorRef", "CommentCreated", "Event", "MessageCreated", "MessageRead",
    "NotificationEvent", "NotificationsRead", "PostCreated", "PostDeleted", "Typing", "UserRef",
    "ValidationError",
    "validate_event",
]



class Event(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: ClassVar[str]
    # persisted per user and replayed (notifications, messages); others are live only
    personal: ClassVar[bool] = False

    def payload(self) -> dict[str, Any]:
        return self.model_dump(mode="json", exclude_none=True, by_alias=True)


class AuthorRef(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: int
    username: str
    avatar: str


UserRef = AuthorRef


class PostCreated(Event):
    """A post as in the API; to the author's followers, the author, explore viewers and
    viewers of the author's profile."""

    name: ClassVar[str] = "post.created"
    id: int
    body: str = Field(max_length=POST_MAX)
    author: AuthorRef
    created_at: datetime
    language: str


class PostDeleted(Event):
    name: ClassVar[str] = "post.deleted"
    id: int


class CommentCreated(Event):
    """To viewers of the post's page (the author also gets a `comment` notification)."""

    name: ClassVar[str] = "comment.created"
    id: int
    post_id: int
    body: str = Field(max_length=COMMENT_MAX)
    author: AuthorRef
    created_at: datetime


class NotificationEvent(Event):
    """A notification. Kind `task_progress` with no `id` is a progress report of a
    background task (`data` = `{task_id, name, progress, status}`): replayed like any
    personal event, but not kept in the notification list nor counted in the bell."""

    name: ClassVar[str] = "notification"
    personal: ClassVar[bool] = True
    id: int | None = None
    kind: NotificationKind
    data: dict[str, Any]
    created_at: datetime
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


class MessageCreated(Event):
    """A private message, to every tab of its sender and of its recipient."""

    name: ClassVar[str] = "message.created"
    personal: ClassVar[bool] = True
    id: int
    sender: UserRef
    recipient: UserRef
    body: str = Field(max_length=MESSAGE_MAX)
    created_at: datetime
    # the sending tab's id for it, so that tab can match its optimistic copy
    client_id: str | None = None
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


EVENTS: dict[str, type[Event]] = {
    cls.name: cls
    for cls in (PostCreated, PostDeleted, CommentCreated, NotificationEvent, NotificationsRead,
                MessageCreated, MessageRead, Typing)
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
