"""The Socket.IO server, wrapped around the Quart app. Its handlers are in
microblog.web.sockets; this module only builds the server and its Redis manager."""

from __future__ import annotations

import socketio
from quart import Quart

from microblog import metrics
from microblog.realtime.manager import RedisManager
from microblog.settings import Settings


def create_server(settings: Settings) -> socketio.AsyncServer:
    manager = None
    if settings.redis_url:
        # AsyncRedisManager, counting what it delivers here
        manager = RedisManager(settings.redis_url, channel=settings.socketio_channel)
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


def wrap(app: Quart, sio: socketio.AsyncServer) -> socketio.ASGIApp:
    # HTTP metrics cover the Quart app; Socket.IO traffic has its own (socketio_*, events_*)
    return socketio.ASGIApp(sio, other_asgi_app=metrics.HttpMetrics(app),
                            socketio_path="socket.io")
