"""The Socket.IO handlers, thin like the page and API handlers next to them: each parses the
client's input, calls one service (or the delivery layer, for stream subscriptions) and
answers with an ack.

A connection authenticates with the browser's login cookie or `auth={"token": ...}` (an API
token); anything else is refused. Handlers run outside a Quart request context, so the user
is loaded explicitly. Every client event is answered: `{ok: true, ...}` or `{ok: false,
error}` — `client_event` makes that so for any exception, in the user's language.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from http.cookies import CookieError, SimpleCookie
from typing import Any

import socketio
from quart import Quart
from quart_auth import QuartAuth

from microblog.i18n import gettext as _
from microblog.i18n import locale_context
from microblog.models import User
from microblog.realtime.personal import Cursor, PersonalHub, StreamError
from microblog.realtime.presence import PresenceTracker
from microblog.services import accounts, messages, social
from microblog.services.errors import ServiceError

log = logging.getLogger(__name__)

Ack = dict[str, Any]
Handler = Callable[[Cursor, dict[str, Any]], Awaitable[Ack]]


def error(message: str, code: str | None = None) -> Ack:
    return {"ok": False, "error": message} if code is None else {
        "ok": False, "error": message, "code": code}


async def authenticate(app: Quart, environ: dict[str, Any], auth: Any) -> User | None:
    token = auth.get("token") if isinstance(auth, dict) else None
    if isinstance(token, str) and token:
        return await accounts.user_for_api_token(token)
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
    return await accounts.user_for_session(ext.load_token(morsel.value, app=app))


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
    def client_event(name: str, expects: str) -> Callable[[Handler], Handler]:
        """Register `handler(cursor, data)` for a client event: `data` is an object, the
        locale is the user's, and every outcome is an ack."""

        def decorate(handler: Handler) -> Handler:
            async def answer(sid: str, data: Any = None) -> Ack:
                cursor = hub.cursors.get(sid)
                if cursor is None:
                    return error("not connected")
                with locale_context(cursor.locale):
                    if not isinstance(data, dict):
                        return error(f"expected {expects}")
                    try:
                        return {"ok": True, **await handler(cursor, data)}
                    except ServiceError as exc:
                        return error(exc.message, exc.code)
                    except StreamError as exc:
                        return error(str(exc))
                    except Exception:
                        log.exception("socket event %s failed", name)
                        return error(_("Something went wrong on our side. We have been "
                                       "notified; please try again."), "internal")

            sio.on(name, answer)
            return handler

        return decorate

    @sio.event
    async def connect(sid: str, environ: dict[str, Any], auth: Any = None) -> None:
        user = await authenticate(app, environ, auth)
        if user is None:
            # logged under the connection's request id (microblog.logs), never the credential
            log.info("socket refused: no valid session cookie or API token")
            raise socketio.exceptions.ConnectionRefusedError("authentication required")
        rooms = await social.timeline_rooms(user)
        await hub.open(sid, user.id, user.locale, rooms,
                       requested_cursor(auth, user.last_event_id))
        await presence.connected(user.id)

    @sio.event
    async def disconnect(sid: str, *args: Any) -> None:
        cursor = hub.cursors.get(sid)
        hub.detach(sid)
        if cursor is not None:
            await presence.disconnected(cursor.user_id, cursor.user_id in hub.by_user)

    @client_event("subscribe", "{stream}")
    async def subscribe(cursor: Cursor, data: dict[str, Any]) -> Ack:
        await hub.subscribe(cursor.sid, data.get("stream"))
        return {}

    @client_event("unsubscribe", "{stream}")
    async def unsubscribe(cursor: Cursor, data: dict[str, Any]) -> Ack:
        await hub.unsubscribe(cursor.sid, data.get("stream"))
        return {}

    @client_event("message.send", "{to, body, client_id}")
    async def message_send(cursor: Cursor, data: dict[str, Any]) -> Ack:
        message, _created = await messages.send_message(
            cursor.user_id, data.get("to"), data.get("body"), data.get("client_id"))
        return {"message": message.as_json()}

    @client_event("message.read", "{with, last_read_id}")
    async def message_read(cursor: Cursor, data: dict[str, Any]) -> Ack:
        return {"unread": await messages.read_up_to(cursor.user_id, data.get("with"),
                                                    data.get("last_read_id"))}

    @client_event("typing", "{to}")
    async def typing(cursor: Cursor, data: dict[str, Any]) -> Ack:
        return {"sent": await messages.send_typing(cursor.user_id, data.get("to"),
                                                   cursor.typing_sent)}

    @sio.on("*")
    async def unknown(event: str, sid: str, data: Any = None) -> Ack:
        return error(f"unknown event {str(event)[:40]!r}")
