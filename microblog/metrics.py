"""Prometheus metrics, declared once for every process (web instances and workers).

Each process keeps its own counts in prometheus_client's default registry and exposes them
itself: a web instance at `GET /metrics`, a worker at `--metrics-bind` (see `serve_worker`).
Labels are bounded: a route is the URL rule (`/user/<username>`), never the raw path; an
event name is one declared in realtime/events.py; a job function is one the worker registers.
Labelled children are cached in plain dicts, so the hot paths (every request, every
delivery) pay a dict lookup, not prometheus_client's locked label resolution.
"""

from __future__ import annotations

import functools
import ipaddress
import logging
import time
from collections.abc import Awaitable, Callable, Iterable, MutableMapping
from typing import Any

from prometheus_client import (
    Counter,
    Gauge,
    Histogram,
    disable_created_metrics,
    generate_latest,
)
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4

log = logging.getLogger(__name__)

__all__ = ["CONTENT_TYPE", "HttpMetrics", "address_allowed", "exposition"]

# the classic text format every Prometheus version scrapes (our names need no UTF-8 escaping)
CONTENT_TYPE = CONTENT_TYPE_PLAIN_0_0_4
# no `*_created` series: they double the output and Prometheus computes rates without them
disable_created_metrics()

UNMATCHED = "unmatched"
# the ASGI scope key Quart's matched URL rule is left under for the middleware
ROUTE_KEY = "microblog.route"
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})

# --- HTTP ------------------------------------------------------------------------------------

HTTP_REQUESTS = Counter(
    "http_requests_total", "HTTP requests answered (Socket.IO's /socket.io/ excluded)",
    ["method", "route", "status"])
HTTP_DURATION = Histogram(
    "http_request_duration_seconds",
    "Time from a request's arrival to the end of its response", ["method", "route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0))

# --- Socket.IO and events --------------------------------------------------------------------

SOCKETS_CONNECTED = Gauge("socketio_connected", "Authenticated sockets connected to this instance")
SOCKET_CONNECTIONS = Counter("socketio_connections_total",
                             "Authenticated Socket.IO connections accepted by this instance")
EVENTS_PUBLISHED = Counter(
    "events_published_total",
    "Events this process sent to Redis for delivery (kind: room or personal)", ["event", "kind"])
EVENTS_DELIVERED = Counter(
    "events_delivered_total",
    "Events this instance emitted to its own sockets, one per socket (replays included)",
    ["event"])
FANOUT_LATENCY = Histogram(
    "fanout_latency_seconds",
    "From publish() in the publishing process to this instance's emit to its local sockets "
    "(once per event and instance; wall clocks of different hosts must agree)", ["event"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0))
EVENTS_REPLAYED = Counter(
    "events_replayed_total",
    "Personal events sent from the database: replay after a reconnect, repair of a gap")

# --- jobs ------------------------------------------------------------------------------------

JOB_OUTCOMES = ("complete", "failed", "retried", "aborted")
JOBS = Counter("jobs_total", "Job attempts finished by this worker, by function and outcome",
               ["function", "outcome"])
JOB_DURATION = Histogram(
    "job_duration_seconds", "Run time of a job attempt, by function and outcome",
    ["function", "outcome"],
    buckets=(0.005, 0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 10.0, 30.0, 60.0, 300.0, 900.0, 1800.0))
JOBS_ENQUEUE_FAILED = Counter(
    "jobs_enqueue_failed_total", "Jobs that could not be queued (Redis unreachable), by function",
    ["function"])
JOBS_QUEUED = Gauge("jobs_queued", "Jobs in the queue by state, read from Redis at scrape time",
                    ["state"])

# --- translation -----------------------------------------------------------------------------

TRANSLATION_OUTCOMES = ("translated", "cached", "shared", "failed", "unsupported",
                        "same_language", "rate_limited")
TRANSLATIONS = Counter(
    "translations_total",
    "Translation requests by provider and outcome: translated (the service was called), "
    "cached (a cache hit), shared (waited for another reader's call), failed, unsupported, "
    "same_language, rate_limited", ["provider", "outcome"])
TRANSLATION_DURATION = Histogram(
    "translation_provider_duration_seconds",
    "Time the translation service took to answer (successes and failures)", ["provider"],
    buckets=(0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0))


# --- page cache ------------------------------------------------------------------------------

PAGE_CACHE = Counter(
    "page_cache_total",
    "Lookups of rendered page fragments in Redis (services/pagecache.py), by page and result "
    "(hit, or miss: absent, out of date or expired)", ["page", "result"])


class _Children:
    """Labelled children of one metric, resolved once per label tuple."""

    def __init__(self, metric: Any) -> None:
        self.metric = metric
        self.cache: dict[tuple[str, ...], Any] = {}

    def __call__(self, *labels: str) -> Any:
        child = self.cache.get(labels)
        if child is None:
            child = self.cache[labels] = self.metric.labels(*labels)
        return child


_http_requests = _Children(HTTP_REQUESTS)
_http_duration = _Children(HTTP_DURATION)
_published = _Children(EVENTS_PUBLISHED)
_delivered = _Children(EVENTS_DELIVERED)
_fanout = _Children(FANOUT_LATENCY)
_jobs = _Children(JOBS)
_job_duration = _Children(JOB_DURATION)
_translations = _Children(TRANSLATIONS)
_translation_duration = _Children(TRANSLATION_DURATION)
_page_cache = _Children(PAGE_CACHE)


# filled by microblog.realtime.events as it declares them
_event_names: set[str] = set()


def declare_events(names: Iterable[str]) -> None:
    _event_names.update(names)


def _event_label(name: str) -> str:
    # names arrive from Redis too: anything undeclared shares one label
    return name if name in _event_names else "other"


def event_published(name: str, kind: str, count: int = 1) -> None:
    _published(_event_label(name), kind).inc(count)


def event_delivered(name: str, sockets: int = 1) -> None:
    _delivered(_event_label(name)).inc(sockets)


def event_replayed() -> None:
    EVENTS_REPLAYED.inc()


def fanout_observed(name: str, published_at: float | None) -> None:
    """`published_at` is the publishing process's time.time(); None when unknown."""
    if published_at is not None:
        _fanout(_event_label(name)).observe(max(time.time() - published_at, 0.0))


def job_enqueue_failed(function: str) -> None:
    JOBS_ENQUEUE_FAILED.labels(function).inc()


def job_finished(function: str, outcome: str, seconds: float) -> None:
    _jobs(function, outcome).inc()
    _job_duration(function, outcome).observe(max(seconds, 0.0))


def translation(provider: str, outcome: str) -> None:
    _translations(provider, outcome).inc()


def translation_call(provider: str, seconds: float) -> None:
    _translation_duration(provider).observe(max(seconds, 0.0))


def page_cache(page: str, hit: bool) -> None:
    _page_cache(page, "hit" if hit else "miss").inc()


# --- HTTP middleware -------------------------------------------------------------------------

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]


class HttpMetrics:
    """ASGI middleware around the Quart app: counts and times every HTTP request by the URL
    rule Quart matched (left in the scope by `remember_route`), from arrival to the last byte
    of the response."""

    def __init__(self, app: Any) -> None:  # an ASGI app (Quart's stubs are narrower)
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = 500  # what the client gets if the app raises before answering

        async def send_and_note(message: MutableMapping[str, Any]) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_and_note)
        finally:
            method = scope["method"]
            if method not in METHODS:
                method = "other"  # methods are client input: keep the label set bounded
            route = scope.get(ROUTE_KEY, UNMATCHED)
            _http_requests(method, route, str(status)).inc()
            _http_duration(method, route).observe(time.perf_counter() - start)


async def remember_route() -> None:
    """A Quart before_request hook (async: Quart runs sync hooks in a thread): note the
    matched URL rule for HttpMetrics."""
    from quart import request

    rule = request.url_rule
    if rule is not None:
        scope: Any = request.scope  # a TypedDict in Quart's stubs; ASGI allows extra keys
        scope[ROUTE_KEY] = rule.rule


# --- exposition and access -------------------------------------------------------------------

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@functools.cache
def _networks(allowed: tuple[str, ...]) -> tuple[Network, ...]:
    return tuple(ipaddress.ip_network(a, strict=False) for a in allowed)


def address_allowed(address: str | None, allowed: tuple[str, ...]) -> bool:
    """Whether the peer address of a connection (never a header) may read the metrics."""
    if not address:
        return False  # a Unix socket peer has no address; allow it by proxying over TCP
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped  # a dual-stack listener reports IPv4 peers as ::ffff:a.b.c.d
    return any(ip in net for net in _networks(allowed))


async def refresh_queue_gauges(queue: Any) -> None:
    """jobs_queued{state}: three cheap Redis reads (two LLEN, one ZCARD) per scrape."""
    if queue is None:
        return
    try:
        queued = await queue.count("queued")
        active = await queue.count("active")
        incomplete = await queue.count("incomplete")
    except Exception as exc:  # Redis down: the scrape still answers, with the last values
        log.warning("metrics: could not read the job queue: %r", exc)
        return
    JOBS_QUEUED.labels("queued").set(queued)
    JOBS_QUEUED.labels("active").set(active)
    # SAQ keeps every unfinished job in `incomplete`; the rest wait for their time or retry
    JOBS_QUEUED.labels("scheduled").set(max(incomplete - queued - active, 0))


def exposition() -> bytes:
    return generate_latest()


# --- the worker's endpoint -------------------------------------------------------------------


async def serve_worker(bind: str, allowed: tuple[str, ...]) -> Callable[[], Awaitable[None]]:
    """Serve /metrics from the worker's event loop on `bind` (HOST:PORT); returns a stop
    function."""
    from aiohttp import web

    host, _, port = bind.rpartition(":")
    if not host or not port.isdigit():
        raise ValueError(f"--metrics-bind expects HOST:PORT, got {bind!r}")

    async def metrics(request: web.Request) -> web.Response:
        if not address_allowed(request.remote, allowed):
            return web.Response(status=403, text="forbidden\n")
        return web.Response(body=exposition(), headers={"Content-Type": CONTENT_TYPE})

    app = web.Application()
    app.router.add_get("/metrics", metrics)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, host.strip("[]"), int(port)).start()
    log.info("worker metrics on http://%s/metrics", bind)
    return runner.cleanup
