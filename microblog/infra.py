"""Process-wide connections (Redis, the SAQ queue, settings), opened by the app or the worker.

Services reach infrastructure through here so web, API, socket and worker code
share one implementation of each state change.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import redis.asyncio as aioredis

from microblog import logs
from microblog.settings import Settings

if TYPE_CHECKING:
    from saq import Queue

log = logging.getLogger(__name__)


@dataclass
class Resources:
    settings: Settings = field(default_factory=Settings)
    redis: aioredis.Redis | None = None
    queue: Queue | None = None

    def key(self, *parts: object) -> str:
        """A Redis key in this deployment's namespace."""
        return ":".join([self.settings.redis_namespace, *map(str, parts)])

    async def open(self, settings: Settings, *, with_queue: bool = True) -> None:
        from microblog.jobs.queue import make_queue

        self.settings = settings
        if settings.redis_url:
            self.redis = aioredis.from_url(settings.redis_url, decode_responses=True)
            if with_queue:
                self.queue = make_queue(settings)
                await self.queue.connect()

    async def close(self) -> None:
        if self.queue is not None:
            await self.queue.disconnect()
            self.queue = None
        if self.redis is not None:
            await self.redis.aclose()
            self.redis = None

    async def enqueue(self, function: str, **kwargs: Any) -> Any:
        from microblog.jobs.queue import job_options

        if self.queue is None:
            raise RuntimeError("the job queue is not connected (REDIS_URL unset?)")
        options = job_options(function)
        rid = logs.request_id.get()
        if rid is not None:
            # kept with the job in Redis; the worker logs the job under the same request id
            options["meta"] = {"request_id": rid}
        return await self.queue.enqueue(function, **options, **kwargs)


resources = Resources()
