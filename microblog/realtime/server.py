"""The Socket.IO server, wrapped around the Quart app.

Connections authenticate with the browser's login cookie or `auth={"token": ...}`
(an API token); anything else is refused. Handlers run outside a Quart request context,
so the user is loaded explicitly. Client events are validated here and answered with an
ack `{ok: true, ...}` or `{ok: false, error}`; a bad one never breaks the handler.
"""

from __future__ import annotations

import logging
from http.cookies import CookieError, SimpleCookie
from typing import Any

import socketio
from quart import Quart
from quart_auth import QuartAuth

from microblog import metrics
from microblog.i18n import locale_context
from microblog.models import User
from microblog.realtime.manager import RedisManager
from microblog.realtime.personal import PersonalHub
from microblog.realtime.presence import PresenceTracker
from microblog.realtime.rooms import author_room, stream_room, user_room
from microblog.services import accounts, messages, social
from microblog.services.errors import ServiceError
from microblog.settings import Settings

log = logging.getLogger(__name__)

MAX_STREAMS = 20


def create_server(settings: Settings) -> socketio.AsyncServer:
    manager = None
    if settings.redis_url:
        manager = RedisManager(  # AsyncRedisManager, counting what it delivers here
            settings.redis_url, channel=f"{settings.redis_namespace}:socketio")
    return socketio.AsyncServer(
        async_mode="asgi",
        client_manager=manager,
        # the same-origin check stays on: only our own pages may open a socket with cookies
        cors_allowed_origins=settings.cors_origins,
        # a frame over 1 MB closes the socket in engine.io; anything smaller reaches the
        # handlers, which answer oversized fields with an error ack
        max_http_buffer_size=1024 * 1024,
        ping_interval=20,
        ping_timeout=20,
    )


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
    auth_id = ext.load_token(morsel.value, app=app)
    return await accounts.user_for_session(auth_id)


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


def error(message: str) -> dict[str, Any]:
    return {"ok": False, "error": message}


def register_handlers(sio: socketio.AsyncServer, app: Quart, hub: PersonalHub,
                      presence: PresenceTracker) -> None:
    # read at scrape time: exact whichever way a socket goes away
    metrics.SOCKETS_CONNECTED.set_function(lambda: len(hub.cursors))

    @sio.event
    async def connect(sid: str, environ: dict[str, Any], auth: Any = None) -> None:
        user = await authenticate(app, environ, auth)
        if user is None:
            # logged under the connection's request id (microblog.logs), never the credential
            log.info("socket refused: no valid session cookie or API token")
            raise socketio.exceptions.ConnectionRefusedError("authentication required")
        followed = await social.followed_ids(user)
        await sio.enter_room(sid, user_room(user.id))
        rooms = {author_room(author) for author in (*followed, user.id)}
        for room in rooms:
            await sio.enter_room(sid, room)
        hub.attach(sid, user.id, requested_cursor(auth, user.last_event_id), rooms)
        hub.cursors[sid].locale = user.locale
        metrics.SOCKET_CONNECTIONS.inc()
        await presence.connected(user.id)

    @sio.event
    async def disconnect(sid: str, *args: Any) -> None:
        cursor = hub.cursors.get(sid)
        hub.detach(sid)
        if cursor is not None:
            await presence.disconnected(cursor.user_id, cursor.user_id in hub.by_user)

    @sio.on("subscribe")
    async def subscribe(sid: str, data: Any = None) -> dict[str, Any]:
        cursor = hub.cursors.get(sid)
        room = stream_room(data.get("stream")) if isinstance(data, dict) else None
        if cursor is None or room is None:
            return error("unknown stream: expected explore, post:<id> or user:<id>")
        if room not in cursor.stream_rooms and len(cursor.stream_rooms) >= MAX_STREAMS:
            return error(f"at most {MAX_STREAMS} streams per connection")
        cursor.stream_rooms.add(room)
        await sio.enter_room(sid, room)
        return {"ok": True}

    @sio.on("unsubscribe")
    async def unsubscribe(sid: str, data: Any = None) -> dict[str, Any]:
        cursor = hub.cursors.get(sid)
        room = stream_room(data.get("stream")) if isinstance(data, dict) else None
        if cursor is None or room is None:
            return error("unknown stream: expected explore, post:<id> or user:<id>")
        cursor.stream_rooms.discard(room)
        if room not in cursor.follow_rooms:  # a followed author's posts keep coming
            await sio.leave_room(sid, room)
        return {"ok": True}

    @sio.on("message.send")
    async def message_send(sid: str, data: Any = None) -> dict[str, Any]:
        """`{to: username, body, client_id?}` → `{ok: true, message}` or `{ok: false, error}`."""
        cursor = hub.cursors.get(sid)
        if cursor is None or not isinstance(data, dict):
            return error("expected {to, body, client_id}")
        with locale_context(cursor.locale):
            try:
                message, _created = await messages.send_message(
                    cursor.user_id, data.get("to"), data.get("body"), data.get("client_id"))
            except ServiceError as exc:
                return {**error(exc.message), "code": exc.code}
        return {"ok": True, "message": message.as_json()}

    @sio.on("message.read")
    async def message_read(sid: str, data: Any = None) -> dict[str, Any]:
        """`{with: username, last_read_id}` → `{ok: true, unread}`."""
        cursor = hub.cursors.get(sid)
        if cursor is None or not isinstance(data, dict) or not isinstance(data.get("with"), str):
            return error("expected {with, last_read_id}")
        with locale_context(cursor.locale):
            try:
                reader = await accounts.get_user(cursor.user_id)
                partner = await accounts.get_user_by_username(data["with"])
                unread = await messages.mark_read(reader, partner, data.get("last_read_id"))
            except ServiceError as exc:
                return {**error(exc.message), "code": exc.code}
        return {"ok": True, "unread": unread}

    @sio.on("typing")
    async def typing(sid: str, data: Any = None) -> dict[str, Any]:
        """`{to: username}`: ephemeral, at most one indicator per recipient per interval
        (checked before touching the database: typing fires on every keystroke)."""
        cursor = hub.cursors.get(sid)
        if cursor is None or not isinstance(data, dict) or not isinstance(data.get("to"), str):
            return error("expected {to}")
        key = data["to"].strip().lower()[:64]
        if not messages.typing_due(cursor.typing_sent, key):
            return {"ok": True, "sent": False}
        with locale_context(cursor.locale):
            try:
                sender = await accounts.get_user(cursor.user_id)
                recipient = await messages.recipient_for(sender, data["to"])
                await messages.check_not_blocked(sender.id, recipient.id)
            except ServiceError as exc:
                return {**error(exc.message), "code": exc.code}
        messages.typing(sender, recipient)
        return {"ok": True, "sent": True}

    @sio.on("*")
    async def unknown(event: str, sid: str, data: Any = None) -> dict[str, Any]:
        return error(f"unknown event {str(event)[:40]!r}")


def wrap(app: Quart, sio: socketio.AsyncServer) -> socketio.ASGIApp:
    # HTTP metrics cover the Quart app; Socket.IO traffic has its own (socketio_*, events_*)
    return socketio.ASGIApp(sio, other_asgi_app=metrics.HttpMetrics(app),
                            socketio_path="socket.io")
