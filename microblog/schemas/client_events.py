"""What a Socket.IO client may send: one model per client event (DESIGN.md, "Socket.IO").

`microblog.web.sockets` validates every event's data with its model before a handler runs,
and answers a failure with `{ok: false, code: "invalid", error, errors: {field: message}}`.
The models are strict (JSON has types: `"5"` is not a number, `true` is not 1), refuse
unknown fields and any text that cannot be stored. Limits a service enforces with a more
precise message (a message's length, a client id's format) are left to it, as in the API's
requests (microblog.schemas.requests); the rest is bounded here.
"""

from __future__ import annotations

from typing import Annotated, ClassVar

from pydantic import AfterValidator, ConfigDict, Field
from pydantic_core import PydanticCustomError

from microblog.i18n import gettext as _
from microblog.limits import POST_MAX, SEARCH_QUERY_MAX, USERNAME_MAX, USERNAME_MIN
from microblog.schemas.base import Cursor, Schema, Text, storable
from microblog.text import is_username

# "explore", "post:<id>", "user:<id>", "tag:<a hashtag, which fits in a post>"
STREAM_MAX = len("tag:") + POST_MAX
# a search query is never longer than the posts it finds
QUERY_MAX = SEARCH_QUERY_MAX


def _username(value: str) -> str:
    if not is_username(value):
        raise PydanticCustomError("username", _(
            "Usernames are %(min)d to %(max)d characters: letters, digits and underscores.",
            min=USERNAME_MIN, max=USERNAME_MAX))
    return value


# someone's username as they chose it: refused before any lookup when it cannot be one
Username = Annotated[Text, AfterValidator(_username)]
# `Text` of at most so many characters, counted before anything else is looked at (a
# constraint added to `Text` itself would run after its validator, with pydantic's
# untranslated message)
StreamName = Annotated[str, Field(max_length=STREAM_MAX), AfterValidator(storable)]
SearchQuery = Annotated[str, Field(max_length=QUERY_MAX), AfterValidator(storable)]


class ClientEvent(Schema):
    """The data of one client event. Fields are only accepted under their contract names
    (`with`, not `with_`)."""

    model_config = ConfigDict(strict=True, populate_by_name=False)

    name: ClassVar[str]

    @classmethod
    def fields_hint(cls) -> str:
        """`{to, body, client_id}`: the fields, for a message about the data's shape."""
        return "{" + ", ".join(f.alias or n for n, f in cls.model_fields.items()) + "}"


class SubscribeEvent(ClientEvent):
    """Watch a public stream: `explore`, `post:<id>`, `user:<id>`, `tag:<name>`, or
    `search` with `q`."""

    name: ClassVar[str] = "subscribe"

    stream: StreamName
    q: SearchQuery | None = None


class UnsubscribeEvent(SubscribeEvent):
    name: ClassVar[str] = "unsubscribe"


class MessageSendEvent(ClientEvent):
    """Send a private message; sending again with the same `client_id` sends it once."""

    name: ClassVar[str] = "message.send"

    to: Username
    body: Text  # its length: services.messages.clean_message (MESSAGE_MAX)
    client_id: Text | None = None  # its format: services.messages.clean_client_id


class MessageReadEvent(ClientEvent):
    """The user has read the conversation with `with` up to `last_read_id`."""

    name: ClassVar[str] = "message.read"

    with_: Username = Field(alias="with")
    last_read_id: Cursor


class TypingEvent(ClientEvent):
    """The user is typing a message to `to`."""

    name: ClassVar[str] = "typing"

    to: Username


CLIENT_EVENTS: dict[str, type[ClientEvent]] = {model.name: model for model in (
    SubscribeEvent, UnsubscribeEvent, MessageSendEvent, MessageReadEvent, TypingEvent)}
