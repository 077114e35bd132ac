"""The Socket.IO Redis manager, with delivery metrics.

python-socketio's AsyncRedisManager sends every room emit as one message on a Redis channel;
each instance's manager emits it to the sockets it holds (`_handle_emit`), and the publishing
instance does so for its own sockets before it publishes. This subclass carries the moment
the event was published in that envelope (`published_at`, the publishing process's
`time.time()`) — never in the event's payload — and counts what it publishes and, at each
local emit, the sockets reached and the time since publish.
"""

from __future__ import annotations

import logging
import time
from contextvars import ContextVar
from typing import Any

import socketio
from engineio import packet as eio_packet
from socketio import packet

from microblog import metrics

log = logging.getLogger(__name__)

# Set by the Publisher around its emit: when the service called publish(), so the latency
# includes the wait in the publisher's outbox, not only Redis.
PUBLISHED_AT: ContextVar[float | None] = ContextVar("published_at", default=None)


class _DirectLocalEmit(socketio.AsyncManager):  # type: ignore[misc]
    """The local part of every emit, without a task per recipient.

    python-socketio's AsyncManager.emit encodes the packet once but then creates one asyncio
    task per recipient socket to put it on that socket's queue — a put that never waits
    (engine.io's queues are unbounded). With thousands of followers that is thousands of
    tasks per post, created, scheduled and collected. Here the same packets are put directly,
    in one pass. Placed after AsyncPubSubManager in the MRO, so the Redis manager's
    `_handle_emit` (remote and own messages) and `ignore_queue` emits end up here."""

    async def emit(self, event: str, data: Any, namespace: str, room: Any = None,
                   skip_sid: Any = None, callback: Any = None, to: Any = None,
                   **kwargs: Any) -> None:
        if callback is not None:  # each recipient needs its own ack id: the stock path
            await super().emit(event, data, namespace, room=room, skip_sid=skip_sid,
                               callback=callback, to=to, **kwargs)
            return
        room = to or room
        if namespace not in self.rooms:
            return
        args = list(data) if isinstance(data, tuple) else [] if data is None else [data]
        skip = skip_sid if isinstance(skip_sid, list) else [skip_sid]
        encoded = self.server.packet_class(
            packet.EVENT, namespace=namespace, data=[event, *args]).encode()
        packets = [eio_packet.Packet(eio_packet.MESSAGE, p)
                   for p in (encoded if isinstance(encoded, list) else [encoded])]
        # get_participants iterates over a copy: a socket closing meanwhile changes nothing
        for sid, eio_sid in self.get_participants(namespace, room):
            if sid in skip:
                continue
            try:
                for p in packets:
                    await self.server._send_eio_packet(eio_sid, p)
            except Exception:  # one gone socket must not cost the others their event
                log.debug("could not send %s to %s", event, sid, exc_info=True)


class RedisManager(socketio.AsyncRedisManager, _DirectLocalEmit):  # type: ignore[misc]
    async def _publish(self, data: Any) -> Any:
        if not (isinstance(data, dict) and data.get("method") == "emit"):
            return await super()._publish(data)
        data = {**data, "published_at": PUBLISHED_AT.get() or time.time()}
        receivers = await super()._publish(data)
        if receivers is not None:  # None: python-socketio gave up on Redis (and logged it)
            metrics.event_published(str(data.get("event")), "room")
        return receivers

    async def _handle_emit(self, message: dict[str, Any]) -> None:
        # a remote message carries its time; our own emit runs in the publisher's context
        published_at = message.get("published_at") or PUBLISHED_AT.get()
        sockets = self._local_recipients(message)
        await super()._handle_emit(message)
        if sockets:
            event = str(message.get("event"))
            metrics.event_delivered(event, sockets)
            metrics.fanout_observed(event, published_at)

    def _local_recipients(self, message: dict[str, Any]) -> int:
        """How many of this instance's sockets the emit reaches (AsyncManager.emit's rule)."""
        rooms = self.rooms.get(message.get("namespace") or "/")
        if not rooms:
            return 0  # a write-only manager (the worker's) holds no sockets
        room = message.get("room")
        skip = message.get("skip_sid")
        if isinstance(room, list | tuple) and len(room) == 1:
            room = room[0]
        if not isinstance(room, list | tuple) and not skip:
            members = rooms.get(room)
            return len(members) if members else 0  # the common case: O(1)
        sids: set[str] = set()
        for r in room if isinstance(room, list | tuple) else [room]:
            sids.update(rooms.get(r) or ())
        sids.difference_update(skip if isinstance(skip, list) else [skip])
        return len(sids)
