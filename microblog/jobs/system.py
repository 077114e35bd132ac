"""Jobs about the job system itself."""

from __future__ import annotations

from typing import Any


async def ping(ctx: dict[str, Any]) -> str:
    """Does nothing: measures enqueue-to-start latency (bench/jobs.py) and proves a worker
    is consuming the queue."""
    return "pong"
