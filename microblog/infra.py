"""Process-wide connections (settings, Redis, the SAQ queue), opened by the composition roots:
the app (`create_app`'s start-up), the worker (`microblog.worker`), tests and benchmarks.

Services reach infrastructure through here so web, API, socket and worker code share one
implementation of each state change.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import redis.asyncio as aioredis

from microblog.settings import Settings

if TYPE_CHECKING:
    from limits.aio.strategies import MovingWindowRateLimiter
    from saq import Queue


@dataclass
class Resources:
    settings: Settings = field(default_factory=Settings)
    redis: aioredis.Redis | None = None
    queue: Queue | None = None
    limiter: MovingWindowRateLimiter | None = None  # microblog.ratelimit counts with it
    _scripts: dict[str, Any] = field(default_factory=dict)

    def key(self, *parts: object) -> str:
        """A Redis key in this deployment's namespace."""
        return ":".join([self.settings.redis_namespace, *map(str, parts)])

    def script(self, source: str) -> Any:
        """A Lua script on this process's Redis, run by its SHA (EVALSHA; loaded again when
        Redis has forgotten it). Call it with keys=[...], args=[...]. Needs `redis`."""
        found = self._scripts.get(source)
        if found is None:
            if self.redis is None:
                raise RuntimeError("Redis is not configured")
            found = self._scripts[source] = self.redis.register_script(source)
        return found

    async def open(self, settings: Settings, *, queue: Queue | None = None) -> None:
        """`queue`: the job queue to enqueue into (`microblog.jobs.queue.make_queue`)."""
        self.settings = settings
        if settings.redis_url:
            self.redis = aioredis.from_url(settings.redis_url, decode_responses=True)
            self.limiter = _limiter(settings.redis_url, self.key("rate"))
        if queue is not None:
            await queue.connect()
            self.queue = queue

    async def close(self) -> None:
        if self.queue is not None:
            await self.queue.disconnect()
            self.queue = None
        if self.redis is not None:
            await self.redis.aclose()
            self.redis = None
            self._scripts.clear()
        if self.limiter is not None:
            # the redis-py client `limits` made (its storage has no close of its own)
            bridge = getattr(self.limiter.storage, "bridge", None)
            client = getattr(bridge, "storage", None)
            if client is not None:
                await client.aclose()
            self.limiter = None


def _limiter(redis_url: str, prefix: str) -> MovingWindowRateLimiter:
    """The `limits` package's moving window on redis-py, keys under `prefix`."""
    from limits.aio.storage import RedisStorage
    from limits.aio.strategies import MovingWindowRateLimiter

    storage = RedisStorage(f"async+{redis_url}", implementation="redispy", key_prefix=prefix)
    return MovingWindowRateLimiter(storage)


resources = Resources()
