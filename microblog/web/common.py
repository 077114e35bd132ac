"""Small helpers every blueprint shares."""

from __future__ import annotations

import ipaddress
from collections.abc import Awaitable, Callable
from functools import wraps
from typing import Any, ParamSpec, TypeVar, cast
from urllib.parse import urlsplit

from quart import Response, current_app, g, jsonify, redirect, request, url_for
from werkzeug.http import HTTP_STATUS_CODES
from wtforms import Form

from microblog.errors import ServiceError, ValidationFailed
from microblog.metrics import address_allowed
from microblog.models import User

P = ParamSpec("P")
R = TypeVar("R")


def current_user() -> User | None:
    return cast(User | None, g.get("user"))


def require_user() -> User:
    user = current_user()
    if user is None:  # login_required guards every caller
        raise RuntimeError("no user in this request")
    return user


def login_required(view: Callable[P, Awaitable[R]]) -> Callable[P, Awaitable[Any]]:
    @wraps(view)
    async def wrapper(*args: P.args, **kwargs: P.kwargs) -> Any:
        if current_user() is None:
            return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
        return await view(*args, **kwargs)

    return wrapper


def client_address() -> str | None:
    """The client's IP address: the TCP peer, or, when the peer is one of TRUSTED_PROXIES,
    the nearest address in X-Forwarded-For that is not one of them (a client can prepend
    anything to that header; only what our proxies appended counts)."""
    client = request.scope.get("client")
    peer = client[0] if client else None
    trusted = current_app.extensions["settings"].trusted_proxies
    if peer is None or not address_allowed(peer, trusted):
        return peer
    forwarded = [part.strip() for part in request.headers.get("X-Forwarded-For", "").split(",")
                 if part.strip()]
    for address in reversed(forwarded):
        if not address_allowed(address, trusted):
            return address[:64] if _is_ip(address) else peer
    return peer


def _is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def safe_next(target: str | None) -> str | None:
    """`next` is honoured only for a path on this site (no scheme, host or `//`)."""
    if not target:
        return None
    target = target.strip()
    if "\\" in target or any(ord(c) < 32 for c in target):
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return None
    return target


def wants_json() -> bool:
    if request.path.startswith("/api/"):
        return True
    best = request.accept_mimetypes.best_match(["text/html", "application/json"])
    return best == "application/json"


def error_response(status: int, message: str, error: str | None = None,
                   **extra: Any) -> Response:
    """The API's error: `{error, message}` (and `errors` for invalid fields)."""
    body = {"error": error or HTTP_STATUS_CODES.get(status, "Error"), "message": message, **extra}
    response = jsonify(body)
    response.status_code = status
    return response


def apply_errors(form: Form, exc: ServiceError) -> None:
    """Show a service's validation errors next to the form fields they concern."""
    errors = exc.errors if isinstance(exc, ValidationFailed) else {exc.field or "": exc.message}
    for name, message in errors.items():
        field = form._fields.get(name) if name else None
        target = field if field is not None else next(iter(form._fields.values()))
        target.errors = [*target.errors, message]  # type: ignore[assignment]
