"""Operations: liveness, readiness, metrics, and the local identicon fallback for avatars."""

from __future__ import annotations

import asyncio
import hashlib
import re

from quart import Blueprint, Response, abort, current_app, request
from quart.typing import ResponseReturnValue
from tortoise import connections

from microblog import lifecycle, metrics, search
from microblog.infra import resources

bp = Blueprint("ops", __name__)

_MD5_HEX = re.compile(r"[0-9a-f]{32}")


@bp.route("/healthz")
async def healthz() -> ResponseReturnValue:
    return {"status": "ok"}


@bp.route("/readyz")
async def readyz() -> ResponseReturnValue:
    if lifecycle.draining():  # SIGTERM: the load balancer should send nothing more here
        return {"status": "unavailable", "failing": {"instance": "shutting down"},
                "message": "not ready: shutting down"}, 503
    failing: dict[str, str] = {}
    try:
        await asyncio.wait_for(connections.get("default").execute_query("SELECT 1"), 2)
    except Exception as exc:  # any failure means "not ready", named
        failing["postgresql"] = type(exc).__name__
    try:
        if resources.redis is None:
            raise RuntimeError("not configured")
        await asyncio.wait_for(resources.redis.ping(), 2)  # type: ignore[arg-type]
    except Exception as exc:
        failing["redis"] = type(exc).__name__
    if resources.settings.elasticsearch_url:
        try:
            await asyncio.wait_for(search.backend().ping(), 2)
        except Exception as exc:
            failing["elasticsearch"] = type(exc).__name__
    if failing:
        return {"status": "unavailable", "failing": failing,
                "message": "not ready: " + ", ".join(sorted(failing))}, 503
    return {"status": "ready"}


@bp.route("/metrics")
async def prometheus_metrics() -> ResponseReturnValue:
    """Prometheus exposition of this instance, to METRICS_ALLOWED peers only. The peer is the
    TCP client (never a header such as X-Forwarded-For or Quart's Remote-Addr): behind a
    reverse proxy, that is the proxy."""
    client = request.scope.get("client")
    allowed = current_app.extensions["settings"].metrics_allowed
    if not metrics.address_allowed(client[0] if client else None, allowed):
        return Response("forbidden\n", status=403, mimetype="text/plain")
    await metrics.refresh_queue_gauges(resources.queue)
    return Response(metrics.exposition(), content_type=metrics.CONTENT_TYPE,
                    headers={"Cache-Control": "no-store"})


@bp.route("/avatar/<segment(32):digest>.svg")
async def identicon(digest: str) -> ResponseReturnValue:
    """A 5x5 mirrored identicon drawn from the Gravatar hash, for when Gravatar is unreachable.
    Only an MD5 hex digest (what User.avatar_hash gives) is one: anything else is a 404."""
    if not _MD5_HEX.fullmatch(digest):
        abort(404)
    bits = hashlib.sha256(digest.encode()).digest()
    hue = int(digest[:3], 16) % 360
    cells = []
    for row in range(5):
        for col in range(3):
            if bits[row * 3 + col] & 1:
                for c in {col, 4 - col}:
                    cells.append(f'<rect x="{c + 0.5}" y="{row + 0.5}" width="1" height="1"/>')
    svg = (
        '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 6 6" shape-rendering="crispEdges">'
        '<rect width="6" height="6" fill="#f0f0f0"/>'
        f'<g fill="hsl({hue},55%,50%)">{"".join(cells)}</g></svg>'
    )
    return Response(svg, mimetype="image/svg+xml",
                    headers={"Cache-Control": "public, max-age=86400"})
