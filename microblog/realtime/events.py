"""Every real-time event, declared once: its name, whether it is personal, its payload.

Services build these models and hand them to `publish` (microblog.realtime.publish); the
browser client and tests rely on the names and fields here. A personal event is persisted
per user with a dense, increasing `event_id` and replayed after a reconnect.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

__all__ = [
    "EVENTS", "AuthorRef", "CommentCreated", "Event", "NotificationEvent",
    "NotificationsRead", "PostCreated", "PostDeleted", "ValidationError",
    "validate_event",
]

NotificationKind = Literal["follow", "comment", "message", "unread_messages", "task_progress"]


class Event(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: ClassVar[str]
    # persisted per user and replayed (notifications, messages); others are live only
    personal: ClassVar[bool] = False

    def payload(self) -> dict[str, Any]:
        return self.model_dump(mode="json", exclude_none=True)


class AuthorRef(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: int
    username: str
    avatar: str


class PostCreated(Event):
    """A post as in the API; to the author's followers, the author, explore viewers and
    viewers of the author's profile."""

    name: ClassVar[str] = "post.created"
    id: int
    body: str = Field(max_length=280)
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
    body: str = Field(max_length=280)
    author: AuthorRef
    created_at: datetime


class NotificationEvent(Event):
    name: ClassVar[str] = "notification"
    personal: ClassVar[bool] = True
    id: int
    kind: NotificationKind
    data: dict[str, Any]
    created_at: datetime
    # the unread count after this notification, so every tab's bell agrees
    unread: int = Field(ge=0)
    event_id: int | None = None


class NotificationsRead(Event):
    """Notifications up to `last_read_id` were read (in any tab)."""

    name: ClassVar[str] = "notifications.read"
    personal: ClassVar[bool] = True
    last_read_id: int
    unread: int = Field(ge=0)
    event_id: int | None = None


EVENTS: dict[str, type[Event]] = {
    cls.name: cls
    for cls in (PostCreated, PostDeleted, CommentCreated, NotificationEvent, NotificationsRead)
}


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
