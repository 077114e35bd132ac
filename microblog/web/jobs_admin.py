"""`microblog jobs web`: SAQ's bundled web UI, for the application's administrators only.

Every request needs HTTP Basic credentials of a user whose username is in ADMINS, checked
with the application's own password check. A failed attempt is answered slowly, and failed
attempts are answered one at a time, so guessing is slow even with many connections.
"""

from __future__ import annotations

import base64
import binascii
import logging
from typing import TYPE_CHECKING

from aiohttp import web
from saq.web import aiohttp as saq_web
from saq.web.common import STATIC_PATH

from microblog.db import close_db, init_db
from microblog.infra import resources
from microblog.jobs.queue import make_queue
from microblog.services import accounts
from microblog.services.signin_throttle import TooManyAttempts
from microblog.settings import Settings

if TYPE_CHECKING:
    from aiohttp.typedefs import Handler, Middleware

log = logging.getLogger(__name__)

REALM = 'Basic realm="Microblog jobs", charset="UTF-8"'
SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}


def _credentials(request: web.Request) -> tuple[str, str] | None:
    header = request.headers.get("Authorization", "")
    scheme, _, encoded = header.partition(" ")
    if scheme.lower() != "basic" or not encoded:
        return None
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    username, sep, password = decoded.partition(":")
    return (username, password) if sep else None


def admin_middleware(settings: Settings) -> Middleware:
    admins = {name.lower() for name in settings.admins}

    @web.middleware
    async def require_admin(request: web.Request, handler: Handler) -> web.StreamResponse:
        credentials = _credentials(request)
        try:
            # counted and throttled like every sign-in (per account and per address)
            user = (await accounts.authenticate(*credentials, request.remote)
                    if credentials else None)
        except TooManyAttempts as exc:
            log.warning("jobs web: throttled %r from %s", credentials and credentials[0],
                        request.remote)
            raise web.HTTPTooManyRequests(
                text=exc.message + "\n",
                headers={"Retry-After": str(exc.retry_after), "Cache-Control": "no-store"},
            ) from None
        # the same answer for a wrong password and a user who is not an administrator
        if user is None or user.username_key not in admins:
            if credentials:
                log.warning("jobs web: refused %r from %s", credentials[0], request.remote)
            raise web.HTTPUnauthorized(
                text="Administrator credentials required.\n",
                headers={"WWW-Authenticate": REALM, "Cache-Control": "no-store"})
        # Browsers resend cached Basic credentials with any request to this origin, from any
        # page: a write must be a JSON request (SAQ's UI sends one), which another site can
        # only make after a CORS preflight that this server never grants.
        if request.method not in SAFE_METHODS and request.content_type != "application/json":
            raise web.HTTPForbidden(text="Writes must be JSON requests.\n")
        response = await handler(request)
        response.headers["Cache-Control"] = "no-store"
        response.headers["X-Frame-Options"] = "DENY"
        response.headers["Content-Security-Policy"] = "frame-ancestors 'none'"
        return response

    return require_admin


def create_app(settings: Settings) -> web.Application:
    """SAQ's aiohttp UI (saq.web.aiohttp.create_app of SAQ 0.26, the same handlers and
    routes) behind the administrators' Basic authentication. SAQ's own optional
    AUTH_USER/AUTH_PASSWORD check is not used: ours knows the application's users."""
    queue = make_queue(settings)
    app = web.Application(middlewares=[admin_middleware(settings), saq_web.exceptions])
    app[saq_web.QUEUES_KEY] = {queue.name: queue}
    app.add_routes([
        web.static("/static", STATIC_PATH, append_version=True),
        web.get("/api/queues/{queue}/jobs/{job}", saq_web.jobs),
        web.post("/api/queues/{queue}/jobs/{job}/retry", saq_web.retry),
        web.post("/api/queues/{queue}/jobs/{job}/abort", saq_web.abort),
        web.get("/api/queues", saq_web.queues_),
        web.get("/api/queues/{queue}", saq_web.queues_),
        web.get("/", saq_web.views),
        web.get("/queues/{queue}", saq_web.views),
        web.get("/queues/{queue}/jobs/{job}", saq_web.views),
        web.get("/health", saq_web.health),
    ])

    async def open_db(_app: web.Application) -> None:
        await init_db(settings.database_url or "", pool_max=2)
        await resources.open(settings)  # Redis: the sign-in throttle's counts
        await queue.connect()

    async def close(_app: web.Application) -> None:
        await resources.close()
        await close_db()

    app.on_startup.append(open_db)
    app.on_shutdown.append(saq_web.shutdown)
    app.on_cleanup.append(close)
    return app


def parse_bind(bind: str) -> tuple[str, int]:
    host, sep, port = bind.rpartition(":")
    if not sep or not port.isdigit():
        raise ValueError(f"expected HOST:PORT, got {bind!r}")
    return host.strip("[]") or "127.0.0.1", int(port)


def serve(settings: Settings, bind: str) -> None:
    if not settings.admins:
        raise ValueError("ADMINS is empty: name at least one administrator (comma-separated "
                         "usernames) before opening the jobs web UI")
    host, port = parse_bind(bind)
    log.info("jobs web UI on http://%s:%d/ (administrators: %s)", host, port,
             ", ".join(settings.admins))
    web.run_app(create_app(settings), host=host, port=port, print=None,
                access_log=None, handle_signals=True)
