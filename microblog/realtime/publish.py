"""The one way events leave the server. Services call these after their transaction commits.

- `record_personal(...)` runs *inside* the service's transaction: it gives a personal event
  the user's next `event_id` and stores it, so a rollback takes the event with it.
- `publish(event, *rooms)` and `publish_personal(user_id, event)` run *after* commit.
  They only enqueue: one background task per process sends in order, so a post to a large
  audience never holds up the HTTP request that created it, and events from one process
  leave in the order their transactions committed.

Room events go through the Socket.IO Redis manager (every instance delivers to its own
sockets in the room; the worker uses a write-only manager). Personal events go through a
Redis channel of our own to `microblog.realtime.personal`, which delivers them in event_id
order with gap repair from the database.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from typing import Any, Protocol

from tortoise.backends.base.client import BaseDBAsyncClient

from microblog import metrics
from microblog.realtime.events import Event
from microblog.realtime.manager import PUBLISHED_AT

log = logging.getLogger(__name__)

QUEUE_LIMIT = 10_000
BATCH = 200


class Emitter(Protocol):
    async def emit(self, event: str, data: Any, *, room: Any, namespace: str) -> Any: ...


def personal_channel(namespace: str) -> str:
    return f"{namespace}:personal"


def feed_channel(namespace: str) -> str:
    """The id of every new post, for each instance's live search (microblog.web.live_search)."""
    return f"{namespace}:new-posts"


def control_channel(namespace: str) -> str:
    """Room membership changes for one user's sockets, wherever they are connected."""
    return f"{namespace}:membership"


async def record_personal(conn: BaseDBAsyncClient, user_id: int, event: Event) -> Event:
    """Inside a transaction: store the event under the user's next event_id."""
    rows = await conn.execute_query_dict(
        "WITH next AS (UPDATE users SET last_event_id = last_event_id + 1 WHERE id = $1 "
        "RETURNING last_event_id) "
        "INSERT INTO user_events (user_id, event_id, name, payload, created_at) "
        "SELECT $1, last_event_id, $2, $3::jsonb, now() FROM next RETURNING event_id",
        [user_id, event.name, json.dumps(event.payload())])
    return event.model_copy(update={"event_id": rows[0]["event_id"]})


class Publisher:
    """An ordered, bounded outbox of events, drained by one task of this process."""

    def __init__(self, emitter: Emitter, redis: Any, namespace: str) -> None:
        self.emitter = emitter
        self.redis = redis
        self.channel = personal_channel(namespace)
        self.control = control_channel(namespace)
        self.feed = feed_channel(namespace)
        # (kind, target, event, when publish() was called: for fanout_latency_seconds)
        self.queue: asyncio.Queue[tuple[str, Any, Any, float]] = asyncio.Queue(QUEUE_LIMIT)
        self.task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self.task = asyncio.create_task(self._run(), name="microblog-publisher")

    async def stop(self, grace: float = 5.0) -> None:
        if self.task is None:
            return
        try:
            await asyncio.wait_for(self.queue.join(), grace)
        except TimeoutError:
            log.warning("publisher stopped with %d events unsent", self.queue.qsize())
        self.task.cancel()
        self.task = None

    def put(self, kind: str, target: Any, event: Any) -> None:
        try:
            self.queue.put_nowait((kind, target, event, time.time()))
        except asyncio.QueueFull:
            # personal events are in the database and reach the user by replay
            log.error("publisher queue full: dropped live %s", event.name)

    async def flush(self) -> None:
        await self.queue.join()

    async def _run(self) -> None:
        while True:
            batch = [await self.queue.get()]
            while len(batch) < BATCH and not self.queue.empty():
                batch.append(self.queue.get_nowait())
            try:
                await self._send(batch)
            finally:
                for _ in batch:
                    self.queue.task_done()

    async def _send(self, batch: list[tuple[str, Any, Any, float]]) -> None:
        """In order; runs of Redis messages (personal, membership) go in one pipeline."""
        pending: list[tuple[str, str, str | None]] = []  # channel, message, personal event
        for kind, target, event, published_at in batch:
            if kind == "rooms":
                await self._flush(pending)
                room = target[0] if len(target) == 1 else list(target)
                # the manager puts it in the Redis envelope, next to (not in) the payload
                token = PUBLISHED_AT.set(published_at)
                try:
                    await self.emitter.emit(event.name, event.payload(), room=room,
                                            namespace="/")  # counted by the manager
                except Exception:
                    log.exception("could not publish %s", event.name)  # best effort
                finally:
                    PUBLISHED_AT.reset(token)
            elif kind == "membership":
                pending.append((self.control, json.dumps({"user": target, **event}), None))
            elif kind == "feed":
                pending.append((self.feed, json.dumps({"post": target}), None))
            else:
                pending.append((self.channel, json.dumps(
                    {"user": target, "name": event.name, "payload": event.payload(),
                     "published_at": published_at}), event.name))
        await self._flush(pending)

    async def _flush(self, pending: list[tuple[str, str, str | None]]) -> None:
        if not pending:
            return
        try:
            async with self.redis.pipeline(transaction=False) as pipe:
                for channel, message, _name in pending:
                    pipe.publish(channel, message)
                await pipe.execute()
        except Exception:
            # lost live: personal events are in the database and reach users by replay
            log.exception("could not publish %d personal/membership messages", len(pending))
        else:
            for _channel, _message, name in pending:
                if name is not None:
                    metrics.event_published(name, "personal")
        pending.clear()


_publisher: Publisher | None = None


def install(publisher: Publisher | None) -> None:
    global _publisher
    _publisher = publisher


def publish(event: Event, *rooms: str) -> None:
    """After commit: send a room event (posts, comments) to everyone in `rooms`."""
    if event.personal:
        raise ValueError(f"{event.name} is personal: use publish_personal")
    if not rooms:
        raise ValueError("an event needs at least one room")
    if _publisher is not None:
        _publisher.put("rooms", rooms, event)


def publish_personal(user_id: int, event: Event) -> None:
    """After commit: deliver a recorded personal event to every socket of one user."""
    if getattr(event, "event_id", None) is None:
        raise ValueError("record_personal() first, inside the transaction")
    if _publisher is not None:
        _publisher.put("personal", user_id, event)


def publish_membership(user_id: int, *, join: list[str] | None = None,
                       leave: list[str] | None = None) -> None:
    """After commit: move every socket of a user into or out of rooms, on every instance."""
    if _publisher is not None:
        _publisher.put("membership", user_id, {"join": join or [], "leave": leave or []})


def publish_credentials_ended(user_id: int, *, sessions: list[str] | None = None,
                              tokens: list[str] | None = None, all_sessions: bool = False,
                              all_tokens: bool = False, keep: str | None = None) -> None:
    """After commit: disconnect, on every instance, the user's sockets opened with these
    sessions (ids) or API tokens (digests), or with any session but `keep` / any token."""
    if _publisher is not None:
        _publisher.put("membership", user_id, {"end": {
            "sessions": sessions or [], "tokens": tokens or [], "all_sessions": all_sessions,
            "all_tokens": all_tokens, "keep": keep}})


def publish_new_post(post_id: int) -> None:
    """After commit: tell every instance's live search that this post exists."""
    if _publisher is not None:
        _publisher.put("feed", post_id, None)


async def flush() -> None:
    if _publisher is not None:
        await _publisher.flush()
