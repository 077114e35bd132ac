"""The collection envelope every list of the API shares (DESIGN.md)."""

from __future__ import annotations

from typing import Generic, TypeVar

from pydantic import Field

from microblog.schemas.base import Cursor, Schema
from microblog.schemas.resources import Conversation, Message, Notification, PostHit, TagHit, User

T = TypeVar("T")


class PageMeta(Schema):
    page: int = Field(ge=1)
    per_page: int = Field(ge=1, le=100)
    total_pages: int | None = Field(description="Counted where the API promises it")
    total_items: int | None


class Links(Schema):
    self_: str = Field(alias="self")
    next: str | None
    prev: str | None


class Collection(Schema, Generic[T]):
    """One page of a list, newest first, with links to its neighbours."""

    items: list[T]
    meta: PageMeta = Field(alias="_meta")
    links: Links = Field(alias="_links")


class NotificationPage(Collection[Notification]):
    unread: int = Field(ge=0, description="Unread notifications (the bell)")


class ConversationPage(Collection[Conversation]):
    unread: int = Field(ge=0, description="Unread messages over all conversations")


class HistoryMeta(Schema):
    per_page: int = Field(ge=1, le=100)
    before: Cursor | None


class MessageHistory(Schema):
    """A conversation, newest first; `_links.next` pages back to older messages."""

    items: list[Message]
    meta: HistoryMeta = Field(alias="_meta")
    links: Links = Field(alias="_links")


class SearchMeta(PageMeta):
    suggestion: str | None = Field(
        default=None, description="A corrected query (\"did you mean\"), when the query "
        "finds little and a word looks misspelt")


class SearchResults(Schema):
    """One page of search hits (`type=posts`: posts with `highlight`; `users`: users;
    `tags`: tags), best or newest first. Results go at most 1,000 deep."""

    items: list[PostHit] | list[User] | list[TagHit]
    meta: SearchMeta = Field(alias="_meta")
    links: Links = Field(alias="_links")
