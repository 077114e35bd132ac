"""Who is online, in Redis, with expiry so a crashed instance leaves no ghosts.

Each instance keeps, per user it holds sockets for, a field in the hash `presence:<user>`
named after the instance, whose value is a deadline. The instance renews its deadlines
every RENEW seconds; a dead instance stops renewing and its fields count for nothing once
past their deadline (the key itself expires too). A user is online while any deadline is
in the future.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections.abc import Callable, Iterable

from microblog.infra import resources

log = logging.getLogger(__name__)

RENEW = 15.0
LEASE = 45.0


def presence_key(user_id: int) -> str:
    return resources.key("presence", user_id)


async def online(user_ids: Iterable[int]) -> set[int]:
    """The users among `user_ids` with a live socket on some instance."""
    ids = list(user_ids)
    if not ids or resources.redis is None:
        return set()
    now = time.time()
    async with resources.redis.pipeline(transaction=False) as pipe:
        for user_id in ids:
            pipe.hvals(presence_key(user_id))
        results = await pipe.execute()
    return {uid for uid, deadlines in zip(ids, results, strict=True)
            if _live(deadlines, now)}


async def is_online(user_id: int) -> bool:
    """One user (a profile): one command, no pipeline."""
    if resources.redis is None:
        return False
    deadlines = await resources.redis.hvals(presence_key(user_id))  # type: ignore[misc]
    return _live(deadlines, time.time())


def _live(deadlines: list[str], now: float) -> bool:
    """Whether any of a user's instances still vouches for a socket of theirs."""
    return any(float(d) > now for d in deadlines)


class PresenceTracker:
    def __init__(self, local_users: Callable[[], list[int]]) -> None:
        self.instance = uuid.uuid4().hex[:12]
        self.local_users = local_users
        self.task: asyncio.Task[None] | None = None

    async def mark(self, user_ids: Iterable[int]) -> None:
        if resources.redis is None:
            return
        deadline = time.time() + LEASE
        async with resources.redis.pipeline(transaction=False) as pipe:
            for user_id in user_ids:
                key = presence_key(user_id)
                pipe.hset(key, self.instance, str(deadline))
                pipe.expire(key, int(LEASE) + 5)
            await pipe.execute()

    async def connected(self, user_id: int) -> None:
        try:
            await self.mark([user_id])
        except Exception:  # presence is advisory; a socket is never refused for it
            log.warning("presence: could not mark user %s online", user_id, exc_info=True)

    async def disconnected(self, user_id: int, still_here: bool) -> None:
        if still_here or resources.redis is None:
            return
        with contextlib.suppress(Exception):
            await resources.redis.hdel(presence_key(user_id), self.instance)  # type: ignore[misc]

    def start(self) -> None:
        self.task = asyncio.create_task(self._renew(), name="microblog-presence")

    async def stop(self) -> None:
        if self.task is not None:
            self.task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.task
        users = self.local_users()
        if users and resources.redis is not None:
            with contextlib.suppress(Exception):
                async with resources.redis.pipeline(transaction=False) as pipe:
                    for user_id in users:
                        pipe.hdel(presence_key(user_id), self.instance)
                    await pipe.execute()

    async def _renew(self) -> None:
        while True:
            await asyncio.sleep(RENEW)
            try:
                await self.mark(self.local_users())
            except Exception:
                log.warning("presence: renewal failed", exc_info=True)
