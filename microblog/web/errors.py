"""Error pages that answer JSON when the client prefers JSON."""

from __future__ import annotations

import json
import logging
from collections.abc import MutableMapping
from typing import Any

from quart import Quart
from quart.typing import ResponseReturnValue
from quart_wtf import CSRFError
from werkzeug.exceptions import BadHost, HTTPException

from microblog.errors import ServiceError
from microblog.i18n import gettext as _
from microblog.web.common import error_response, wants_json
from microblog.web.rendering import render

log = logging.getLogger(__name__)


def messages() -> dict[int, str]:
    return {
        400: _("The request could not be understood. Please check what you sent."),
        401: _("Please sign in first."),
        403: _("You are not allowed to do that."),
        404: _("We could not find that page."),
        405: _("That method is not allowed here."),
        413: _("That upload is too large."),
        429: _("Too many requests. Please slow down."),
        500: _("Something went wrong on our side. We have been notified; please try again."),
    }


async def render_error(status: int, message: str | None = None,
                       headers: dict[str, str] | None = None) -> ResponseReturnValue:
    message = message or messages().get(status, _("Something went wrong."))
    if wants_json():
        response = error_response(status, message)
        response.headers.update(headers or {})
        return response
    return await render("errors/error.html", status=status, message=message,
                        title=str(status)), status, headers or {}


def retry_headers(exc: ServiceError) -> dict[str, str]:
    """`Retry-After` for a rate limit that knows when it lifts."""
    retry_after = getattr(exc, "retry_after", None)
    return {"Retry-After": str(retry_after)} if retry_after is not None else {}


class RefuseMalformedRequests:
    """ASGI middleware around Quart's asgi_app, for what Quart trips over while it builds the
    request context, before any error handler could answer: a query string that is not UTF-8
    (HTTP/2 and HTTP/3 clients may send bytes a browser never does) and a Host that is no
    host name (werkzeug's BadHost). Both are a 400 here instead of an exception (a 500)."""

    def __init__(self, asgi_app: Any) -> None:
        self.asgi_app = asgi_app

    async def __call__(self, scope: MutableMapping[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.asgi_app(scope, receive, send)
            return
        try:
            scope.get("query_string", b"").decode()
        except UnicodeDecodeError:
            await self._refuse(scope, send, _("The address is not valid UTF-8."))
            return
        try:
            await self.asgi_app(scope, receive, send)
        except BadHost:  # raised only while binding the URL map, before any response
            await self._refuse(scope, send, _("The Host header is not a valid host name."))

    @staticmethod
    async def _refuse(scope: MutableMapping[str, Any], send: Any, message: str) -> None:
        if scope["type"] == "websocket":
            await send({"type": "websocket.close", "code": 1007})  # invalid data
            return
        if scope.get("path", "").startswith("/api/"):
            body = json.dumps({"error": "Bad Request", "message": message}).encode()
            content_type = b"application/json"
        else:
            body = f"400 Bad Request: {message}\n".encode()
            content_type = b"text/plain; charset=utf-8"
        await send({"type": "http.response.start", "status": 400, "headers": [
            (b"content-type", content_type), (b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body})


def register(app: Quart) -> None:
    app.asgi_app = RefuseMalformedRequests(app.asgi_app)  # type: ignore[method-assign,assignment]

    @app.errorhandler(CSRFError)
    async def csrf_error(exc: CSRFError) -> ResponseReturnValue:
        return await render_error(
            400, _("The form expired or was not sent from this site. Please try again."))

    @app.errorhandler(ServiceError)
    async def service_error(exc: ServiceError) -> ResponseReturnValue:
        return await render_error(exc.status, exc.message, retry_headers(exc))

    @app.errorhandler(HTTPException)
    async def http_error(exc: HTTPException) -> ResponseReturnValue:
        status = exc.code or 500
        # a description we set ourselves via abort(status, "...") is shown; defaults are not
        return await render_error(status)

    @app.errorhandler(Exception)
    async def internal_error(exc: Exception) -> ResponseReturnValue:
        log.exception("unhandled error", exc_info=exc)
        return await render_error(500)
