"""The Socket.IO server, wrapped around the Quart app.

Connections authenticate with the browser's login cookie or `auth={"token": ...}`
(an API token); anything else is refused. Handlers run outside a Quart request
context, so the user is loaded explicitly and kept in the socket session.
"""

from __future__ import annotations

import logging
from http.cookies import CookieError, SimpleCookie
from typing import Any

import socketio
from quart import Quart
from quart_auth import QuartAuth

from microblog.models import User
from microblog.realtime.rooms import user_room
from microblog.services import accounts
from microblog.settings import Settings

log = logging.getLogger(__name__)


def create_server(settings: Settings) -> socketio.AsyncServer:
    manager = None
    if settings.redis_url:
        manager = socketio.AsyncRedisManager(
            settings.redis_url, channel=f"{settings.redis_namespace}:socketio")
    return socketio.AsyncServer(
        async_mode="asgi",
        client_manager=manager,
        # the same-origin check stays on: only our own pages may open a socket with cookies
        cors_allowed_origins=settings.cors_origins,
        max_http_buffer_size=64 * 1024,
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


def register_handlers(sio: socketio.AsyncServer, app: Quart) -> None:
    @sio.event
    async def connect(sid: str, environ: dict[str, Any], auth: Any = None) -> None:
        user = await authenticate(app, environ, auth)
        if user is None:
            raise socketio.exceptions.ConnectionRefusedError("authentication required")
        await sio.save_session(sid, {"user_id": user.id, "username": user.username})
        await sio.enter_room(sid, user_room(user.id))
        log.debug("socket %s connected as user %s", sid, user.id)

    @sio.event
    async def disconnect(sid: str, *args: Any) -> None:
        log.debug("socket %s disconnected", sid)


def wrap(app: Quart, sio: socketio.AsyncServer) -> socketio.ASGIApp:
    return socketio.ASGIApp(sio, other_asgi_app=app, socketio_path="socket.io")
