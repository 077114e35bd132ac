"""The one SAQ queue of a deployment (its name comes from the settings)."""

from __future__ import annotations

from saq import Queue

from microblog.settings import Settings


def make_queue(settings: Settings) -> Queue:
    if not settings.redis_url:
        raise RuntimeError("REDIS_URL is required for the job queue")
    return Queue.from_url(settings.redis_url, name=settings.queue_name)
