"""What the API accepts: request bodies and query strings. Limits a service enforces with a
precise message are shown here for the documentation (`json_schema_extra`) and checked
once, by the service."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, JsonValue
from pydantic.json_schema import JsonDict

from microblog.limits import (
    CLIENT_ID_MAX,
    COMMENT_MAX,
    EMAIL_MAX,
    MAX_PER_PAGE,
    MESSAGE_MAX,
    PAGE_MAX,
    PASSWORD_MAX,
    POST_MAX,
    SEARCH_QUERY_MAX,
    USERNAME_MAX,
)
from microblog.schemas.base import Body, Cursor, Query, RowId, Text
from microblog.text import USERNAME_PATTERN


def _doc(**schema: JsonValue) -> JsonDict:
    """JSON Schema keywords shown in the document only (the service checks them)."""
    return dict(schema)


class NewUser(Body):
    """Register an account."""

    username: Text = Field(examples=["ana"], json_schema_extra=_doc(
        maxLength=USERNAME_MAX, pattern=f"^{USERNAME_PATTERN}$"))
    email: Text = Field(examples=["ana@example.com"],
                        json_schema_extra=_doc(maxLength=EMAIL_MAX, format="email"))
    password: Text = Field(
        examples=["correct horse battery"],
        description="At least 8 characters; refused when it is one of the 10,000 most common "
                    "passwords, only spaces, one character repeated, or contains the username "
                    "or the email's local part",
        json_schema_extra=_doc(minLength=8, maxLength=PASSWORD_MAX))


class DeleteAccount(Body):
    """Delete the caller's account: the password again, as a confirmation."""

    password: Text = Field(examples=["correct horse battery"], json_schema_extra=_doc(
        maxLength=PASSWORD_MAX))


class NewPost(Body):
    """Post now, or (with `publish_at`) schedule it."""

    body: Text = Field(examples=["Hello from the API"],
                       json_schema_extra=_doc(maxLength=POST_MAX))
    publish_at: Text | None = Field(
        default=None, description="When to publish it (ISO 8601; without an offset, UTC). "
        "The answer is then a scheduled post (202).",
        json_schema_extra=_doc(format="date-time"))


class PostChange(Body):
    """The new text of your post."""

    body: Text = Field(examples=["Hello from the API, edited"],
                       json_schema_extra=_doc(maxLength=POST_MAX))


class TranslationRequest(Body):
    """Translate a post (or a comment) into a language."""

    lang: Text | None = Field(
        default=None, examples=["en"],
        description="The language to translate into (ISO 639-1, e.g. en, es, zh); omitted: "
                    "the caller's language (Accept-Language, then en)",
        json_schema_extra=_doc(pattern=r"^[A-Za-z]{2,3}([-_][A-Za-z0-9]{2,8})?$"))


class NewComment(Body):
    body: Text = Field(json_schema_extra=_doc(maxLength=COMMENT_MAX))


class ScheduledPostChange(Body):
    """Change the text or the time of a post that is not published yet."""

    body: Text | None = Field(default=None, json_schema_extra=_doc(maxLength=POST_MAX))
    publish_at: Text | None = Field(default=None, json_schema_extra=_doc(format="date-time"))


class NewMessage(Body):
    """Send a private message. Sending twice with the same `client_id` sends it once."""

    to: Text = Field(description="The recipient's username", examples=["bob"])
    body: Text = Field(examples=["Are you coming tonight?"],
                       json_schema_extra=_doc(maxLength=MESSAGE_MAX))
    client_id: Text | None = Field(
        default=None, json_schema_extra=_doc(maxLength=CLIENT_ID_MAX,
                                             pattern="^[A-Za-z0-9_.:-]{1,64}$"))


class ReadMessages(Body):
    """Mark a conversation read up to a message."""

    with_: Text = Field(alias="with", description="The partner's username")
    last_read_id: Cursor


class ReadNotifications(Body):
    """Mark notifications read: all of them, or up to `up_to_id`. An empty body means all."""

    up_to_id: Cursor | None = None


class PageQuery(Query):
    page: int = Field(default=1, ge=1, le=PAGE_MAX)
    per_page: int = Field(default=25, ge=1, le=MAX_PER_PAGE)


class PostsQuery(PageQuery):
    since_id: Cursor | None = Field(
        default=None, description="Only posts newer than this one (fills a gap after a "
        "reconnect)")


class SearchParams(PageQuery):
    q: Text = Field(default="", max_length=4 * SEARCH_QUERY_MAX, description=(
        "The query: words, \"phrases\", -exclusion, OR, from:username, lang:es, "
        "after:2026-01-31, before:2026-02-28, #tag (DESIGN.md)"))
    type: Literal["posts", "users", "tags"] = "posts"
    sort: Literal["latest", "top"] = Field(
        default="latest", description="Posts: newest first, or relevance blended with recency")


class HistoryQuery(Query):
    with_: Text = Field(alias="with", description="The partner's username",
                        json_schema_extra=_doc(maxLength=USERNAME_MAX))
    before: RowId | None = Field(default=None, description="Only messages older than this id")
    per_page: int = Field(default=50, ge=1, le=MAX_PER_PAGE)
