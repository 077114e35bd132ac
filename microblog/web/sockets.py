"""The Socket.IO handlers, thin like the page and API handlers next to them: each gets the
client's input validated against its model (microblog.schemas.client_events), calls one
service (or the delivery layer, for stream subscriptions) and answers with an ack.

A connection authenticates with the browser's login cookie or `auth={"token": ...}` (an API
token); anything else is refused. Handlers run outside a Quart request context, so the user
is loaded explicitly.

Every client event is answered, in the user's language, whatever it carries: `{ok: true,
...}` or `{ok: false, code, error}` with `code` one of "invalid" (with `errors: {field:
message}`), a service error's code ("not_found", "forbidden", "rate_limited", ...),
"too_many_streams", "rate_limited" (the socket's event budget, realtime.personal),
"unknown_event", "malformed" (a packet that cannot be read: invalid JSON, not an array
starting with the event's name...; see realtime.server.ClientPacket), "not_connected" or
"internal".
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from http.cookies import CookieError, SimpleCookie
from typing import Any, TypeVar

import socketio
from pydantic import ValidationError
from quart import Quart
from quart_auth import QuartAuth

from microblog.clock import now
from microblog.errors import ServiceError, ValidationFailed
from microblog.i18n import gettext as _
from microblog.i18n import locale_context
from microblog.models import User
from microblog.realtime.personal import Cursor, PersonalHub
from microblog.realtime.presence import PresenceTracker
from microblog.realtime.rooms import SEARCH_STREAM
from microblog.realtime.server import MALFORMED, Malformed
from microblog.schemas.base import field_errors, summary
from microblog.schemas.client_events import (
    ClientEvent,
    MessageReadEvent,
    MessageSendEvent,
    SubscribeEvent,
    TypingEvent,
    UnsubscribeEvent,
)
from microblog.security import token_digest
from microblog.services import accounts, messages, sessions, social
from microblog.web.live_search import LiveSearch

log = logging.getLogger(__name__)

Ack = dict[str, Any]
E = TypeVar("E", bound=ClientEvent)
# an unknown event's name is the client's own text: shown cut to this length
FIELD_NAME_MAX = 40


def error(message: str, code: str, **extra: Any) -> Ack:
    return {"ok": False, "error": message, "code": code, **extra}


def internal() -> Ack:
    return error(_("Something went wrong on our side. We have been notified; please try "
                   "again."), "internal")


def invalid(errors: dict[str, str]) -> Ack:
    """The ack of input that does not fit the event's model, worded as the API's 400."""
    return error(summary(errors), "invalid", errors=errors)


def service_error(exc: ServiceError) -> Ack:
    if isinstance(exc, ValidationFailed):
        return error(exc.message, "invalid", errors=exc.errors)
    return error(exc.message, exc.code)


def rate_limited() -> Ack:
    return error(_("Too many events on this connection: slow down and try again in a "
                   "moment."), "rate_limited")


def unknown_event(event: Any) -> Ack:
    # the name is the client's own text: shown as ASCII, cut
    return error(_("Unknown event %(name)s.", name=ascii(str(event)[:FIELD_NAME_MAX])),
                 "unknown_event")


def malformed(reason: str) -> Ack:
    """The ack of a packet that could not be read (realtime.server.Malformed's reasons)."""
    if reason == "json":
        message = _("The event could not be read: it is not valid JSON.")
    elif reason == "number":
        message = _("The event could not be read: a number in it has too many digits.")
    elif reason == "depth":
        message = _("The event could not be read: it is nested too deeply.")
    elif reason == "shape":
        message = _("The event could not be read: it must be an array that starts with the "
                    "event's name.")
    else:
        message = _("The event could not be read: it is not a valid Socket.IO packet.")
    return error(message, "malformed")


def deliverable(ack: Ack) -> Ack:
    """`ack` when it can be sent as JSON in UTF-8 (no lone surrogate, no NaN), else the
    internal error: an answer that cannot be encoded would leave the client waiting."""
    try:
        json.dumps(ack, ensure_ascii=False, allow_nan=False).encode("utf-8")
    except (TypeError, ValueError):  # UnicodeEncodeError is a ValueError
        log.error("socket ack not encodable: %s", ascii(ack)[:200])
        return internal()
    return ack


@dataclass(frozen=True, slots=True)
class Credential:
    """What a socket was opened with: ("session", session id) or ("token", token digest),
    and, for a token, when it expires."""

    user: User
    kind: str
    ident: str
    expires_at: datetime | None = None


async def authenticate(app: Quart, environ: dict[str, Any], auth: Any) -> Credential | None:
    token = auth.get("token") if isinstance(auth, dict) else None
    if isinstance(token, str) and token:
        found = await accounts.api_token(token)
        return Credential(found[0], "token", token_digest(token), found[1]) if found else None
    raw_cookie = environ.get("HTTP_COOKIE")
    if not raw_cookie:
        return None
    ext: QuartAuth = app.extensions["QUART_AUTH"][0]
    try:
        cookie = SimpleCookie(raw_cookie)
    except CookieError:
        return None
    morsel = cookie.get(ext.cookie_name or "QUART_AUTH")
    if morsel is None:
        return None
    auth_id = ext.load_token(morsel.value, app=app)
    session = sessions.parse(auth_id)
    user = await sessions.user_for(auth_id)
    return Credential(user, "session", session.sid) if user and session else None


async def still_valid(cursor: Cursor) -> bool:
    """Whether the socket's credential still holds (asked before every write)."""
    if cursor.credential is None:
        return False
    kind, ident = cursor.credential
    if kind == "session":
        return await sessions.alive(sessions.SessionId(cursor.user_id, ident))
    return await accounts.api_token_valid(ident)


async def ended_sessions(cursors: list[Cursor]) -> list[str]:
    """Of these sockets, those whose session no longer exists (the others are renewed: an
    open tab keeps its session); token sockets have their own timer."""
    opened = [(c.sid, sessions.SessionId(c.user_id, c.credential[1])) for c in cursors
              if c.credential is not None and c.credential[0] == "session"]
    alive = await sessions.alive_many([session for _sid, session in opened])
    return [sid for (sid, _session), ok in zip(opened, alive, strict=True) if not ok]


def requested_cursor(auth: Any, newest: int) -> int:
    """Where replay starts: the client's last_event_id, never beyond what exists."""
    raw = auth.get("last_event_id") if isinstance(auth, dict) else None
    if isinstance(raw, bool) or not isinstance(raw, int | str):
        return newest
    try:
        value = int(raw)
    except ValueError:
        return newest
    return newest if value < 0 or value > newest else value


def register(sio: socketio.AsyncServer, app: Quart, hub: PersonalHub,
             presence: PresenceTracker) -> None:
    live = LiveSearch(sio)
    hub.on_new_post = live.new_post
    hub.check_credentials = ended_sessions
    def not_connected() -> Ack:
        return error(_("This connection is not ready: reconnect and try again."),
                     "not_connected")

    def client_event(model: type[E], *, write: bool = False
                     ) -> Callable[[Callable[[Cursor, E], Awaitable[Ack]]],
                                   Callable[[Cursor, E], Awaitable[Ack]]]:
        """Register `handler(cursor, data)` for the client event `model.name`: it runs within
        the socket's budget of events, in the user's locale, with `data` valid for `model`;
        every outcome is an ack. A `write` first checks that the socket's session or token
        still holds: when it ended (and the disconnect is on its way), nothing is done."""

        def decorate(handler: Callable[[Cursor, E], Awaitable[Ack]]
                     ) -> Callable[[Cursor, E], Awaitable[Ack]]:
            async def run(cursor: Cursor, args: tuple[Any, ...]) -> Ack:
                if not cursor.budget.take():
                    return rate_limited()
                if len(args) != 1 or not isinstance(args[0], dict):
                    return invalid({"": _("A JSON object is expected here: %(fields)s.",
                                          fields=model.fields_hint())})
                try:
                    data = model.model_validate(args[0])
                except ValidationError as exc:
                    return invalid(field_errors(exc))
                if write and not await still_valid(cursor):
                    hub.drop(cursor.sid)
                    return error(_("Your session has ended: sign in again."), "unauthorized")
                try:
                    return {"ok": True, **await handler(cursor, data)}
                except ServiceError as exc:
                    return service_error(exc)

            # any number of arguments: a client may send none, or several
            async def answer(sid: str, *args: Any) -> Ack:
                cursor = hub.cursors.get(sid)
                if cursor is None:
                    return not_connected()
                with locale_context(cursor.locale):
                    try:
                        return deliverable(await run(cursor, args))
                    except Exception:
                        log.exception("socket event %s failed", model.name)
                        return internal()

            sio.on(model.name, answer)
            return handler

        return decorate

    @sio.event
    async def connect(sid: str, environ: Any = None, auth: Any = None, *args: Any
                      ) -> Ack | None:
        if environ is None or environ is not sio.get_environ(sid):
            # not python-socketio connecting a socket (it passes that socket's environ) but
            # a connected client sending an event named "connect"
            return await unknown("connect", sid)
        if isinstance(auth, Malformed):  # a connection request that could not be read
            log.info("socket refused: unreadable connection request (%s)", auth.reason)
            raise socketio.exceptions.ConnectionRefusedError("unreadable connection request")
        credential = await authenticate(app, environ, auth)
        if credential is None:
            # logged under the connection's request id (microblog.logs), never the credential
            log.info("socket refused: no valid session cookie or API token")
            raise socketio.exceptions.ConnectionRefusedError("authentication required")
        user = credential.user
        rooms = await social.timeline_rooms(user)
        expires_in = ((credential.expires_at - now()).total_seconds()
                      if credential.expires_at is not None else None)
        await hub.open(sid, user.id, user.locale, rooms,
                       requested_cursor(auth, user.last_event_id),
                       (credential.kind, credential.ident), expires_in)
        await presence.connected(user.id)
        return None

    @sio.event
    async def disconnect(sid: str, *args: Any) -> Ack | None:
        if sio.manager.is_connected(sid, "/"):
            # python-socketio marks a socket as leaving before this handler runs: this is a
            # connected client sending an event named "disconnect"
            return await unknown("disconnect", sid)
        cursor = hub.cursors.get(sid)
        hub.detach(sid)
        live.drop(sid)
        if cursor is not None:
            await presence.disconnected(cursor.user_id, cursor.user_id in hub.by_user)
        return None

    @client_event(SubscribeEvent)
    async def subscribe(cursor: Cursor, data: SubscribeEvent) -> Ack:
        if data.stream == SEARCH_STREAM:
            await live.subscribe(cursor.sid, await accounts.get_user(cursor.user_id), data.q)
        else:
            await hub.subscribe(cursor.sid, data.stream)
        return {}

    @client_event(UnsubscribeEvent)
    async def unsubscribe(cursor: Cursor, data: UnsubscribeEvent) -> Ack:
        if data.stream == SEARCH_STREAM:
            live.unsubscribe(cursor.sid, data.q)
        else:
            await hub.unsubscribe(cursor.sid, data.stream)
        return {}

    @client_event(MessageSendEvent, write=True)
    async def message_send(cursor: Cursor, data: MessageSendEvent) -> Ack:
        message, _created = await messages.send_message(
            cursor.user_id, data.to, data.body, data.client_id)
        return {"message": message.event().payload()}

    @client_event(MessageReadEvent, write=True)
    async def message_read(cursor: Cursor, data: MessageReadEvent) -> Ack:
        return {"unread": await messages.read_up_to(cursor.user_id, data.with_,
                                                    data.last_read_id)}

    @client_event(TypingEvent, write=True)
    async def typing(cursor: Cursor, data: TypingEvent) -> Ack:
        return {"sent": await messages.send_typing(cursor.user_id, data.to)}

    async def unknown(event: str, sid: Any) -> Ack:
        cursor = hub.cursors.get(sid) if isinstance(sid, str) else None
        if cursor is None:
            return not_connected()
        with locale_context(cursor.locale):
            if not cursor.budget.take():
                return rate_limited()
            return unknown_event(event)

    async def unreadable(sid: str, *args: Any) -> Ack:
        """A packet that could not be read (realtime.server.ClientPacket), within the
        socket's budget like any event; without its Malformed argument, a client's own event
        named "malformed"."""
        if len(args) != 1 or not isinstance(args[0], Malformed):
            return await unknown(MALFORMED, sid)
        cursor = hub.cursors.get(sid)
        if cursor is None:
            return not_connected()
        with locale_context(cursor.locale):
            if not cursor.budget.take():
                return rate_limited()
            log.info("socket event unreadable (%s)", args[0].reason)
            return malformed(args[0].reason)

    sio.on(MALFORMED, unreadable)
    sio.register_namespace(UnknownEvents(unknown))


class UnknownEvents(socketio.AsyncNamespace):
    """Every event of the default namespace that has no handler of its own, with its name.
    (python-socketio's catch-all handler, `sio.on("*")`, is given an event literally named
    "*" without the name, shifting the sid into its place.)"""

    def __init__(self, answer: Callable[[str, Any], Awaitable[Ack]]) -> None:
        super().__init__("/")
        self.answer = answer

    async def trigger_event(self, event: str, *args: Any) -> Ack:
        # args: the sid, then whatever the client sent
        return await self.answer(event, args[0] if args else None)
