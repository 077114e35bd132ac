"""Delivery of personal events (notifications, later messages) to one user's sockets.

Each socket has a cursor: the last event_id it was sent. Events reach a socket strictly in
event_id order, each once:

- at connect, the socket's cursor is the client's `last_event_id` (or the user's newest
  event when the client has none), and everything after it is replayed from the database
  before any live event;
- a live event equal to cursor + 1 is sent; one at or below the cursor is a duplicate and
  dropped; one beyond cursor + 1 means events were missed (a Redis outage, a lost
  message), so the gap is read back from the database first;
- after the Redis subscription is lost and re-established, every socket catches up from
  the database, since anything published meanwhile never arrived.

The events themselves are in `user_events`, written in the same transaction as the change
they announce (see publish.record_personal), so the database is always the truth and Redis
only says "look now".
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

import redis.asyncio as aioredis
import socketio
from tortoise import connections

from microblog import metrics
from microblog.errors import ServiceError, ValidationFailed
from microblog.i18n import gettext as _
from microblog.realtime.publish import control_channel, feed_channel, personal_channel
from microblog.realtime.rooms import stream_room, user_room

log = logging.getLogger(__name__)

REPLAY_BATCH = 500
# public streams (explore, posts, profiles) one socket may watch at once
MAX_STREAMS = 20
# client events (subscribe, message.send, typing...) one socket may send: a person typing
# and chatting in several conversations stays far below, a page opening with a burst of
# subscriptions fits in the burst; a script is answered `rate_limited`, not served
EVENT_RATE = 20.0  # per second, on average
EVENT_BURST = 50  # at once


async def events_after(user_id: int, event_id: int, limit: int = REPLAY_BATCH
                       ) -> list[dict[str, Any]]:
    return await connections.get("default").execute_query_dict(
        "SELECT event_id, name, payload FROM user_events WHERE user_id = $1 AND event_id > $2 "
        "ORDER BY event_id LIMIT $3", [user_id, event_id, limit])


class StreamError(ServiceError):
    """A client asked for more streams than a socket may watch; the message says why."""

    code = "too_many_streams"


def unknown_stream() -> ValidationFailed:
    return ValidationFailed({"stream": _(
        "Unknown stream: expected explore, post:<id>, user:<id> or tag:<name>.")})


# seconds between checks that every socket's session still exists (it may expire)
CREDENTIAL_SWEEP = 30.0

class TokenBucket:
    """`rate` tokens a second, at most `burst` saved up; each event takes one."""

    __slots__ = ("burst", "rate", "stamp", "tokens")

    def __init__(self, rate: float, burst: int) -> None:
        self.rate = rate
        self.burst = burst
        self.tokens = float(burst)
        self.stamp = time.monotonic()

    def take(self, now: float | None = None) -> bool:
        """Whether there was a token for one more event (and take it)."""
        now = time.monotonic() if now is None else now
        self.tokens = min(float(self.burst), self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        if self.tokens < 1:
            return False
        self.tokens -= 1
        return True


class Cursor:
    """One socket on this instance: its user, its place in the personal event log, and the
    rooms it is in because of whom the user follows or which pages it watches."""

    def __init__(self, sid: str, user_id: int, last: int) -> None:
        self.sid = sid
        self.user_id = user_id
        self.last = last
        self.lock = asyncio.Lock()
        self.follow_rooms: set[str] = set()
        self.stream_rooms: set[str] = set()
        self.locale: str | None = None
        # the client events this socket may still send (microblog.web.sockets)
        self.budget = TokenBucket(EVENT_RATE, EVENT_BURST)
        # what it was opened with: ("session", session id) or ("token", token digest); when
        # that ends, the socket is disconnected
        self.credential: tuple[str, str] | None = None
        self.expiry: asyncio.TimerHandle | None = None


class PersonalHub:
    def __init__(self, sio: socketio.AsyncServer, redis_url: str | None, namespace: str) -> None:
        self.sio = sio
        self.redis_url = redis_url
        self.channel = personal_channel(namespace)
        self.control = control_channel(namespace)
        self.feed = feed_channel(namespace)
        # set by the web layer: what to do with each new post's id (live search)
        self.on_new_post: Callable[[int], Coroutine[Any, Any, None]] | None = None
        # set by the web layer: which of these sockets' credentials have ended
        self.check_credentials: Callable[[list[Cursor]], Awaitable[list[str]]] | None = None
        self.sweeper: asyncio.Task[None] | None = None
        self.cursors: dict[str, Cursor] = {}
        self.by_user: dict[int, set[str]] = {}
        self.task: asyncio.Task[None] | None = None
        self.subscribed = asyncio.Event()
        self._deliveries: set[asyncio.Task[None]] = set()
        # read at scrape time: exact whichever way a socket goes away
        metrics.SOCKETS_CONNECTED.set_function(lambda: len(self.cursors))

    # --- sockets --------------------------------------------------------------------------

    def attach(self, sid: str, user_id: int, last_event_id: int,
               follow_rooms: set[str] | None = None) -> None:
        """Register a socket; its replay starts once the connection is established."""
        cursor = Cursor(sid, user_id, last_event_id)
        cursor.follow_rooms = set(follow_rooms or ())
        self.cursors[sid] = cursor
        self.by_user.setdefault(user_id, set()).add(sid)
        asyncio.create_task(self._replay_when_connected(cursor))

    def detach(self, sid: str) -> None:
        cursor = self.cursors.pop(sid, None)
        if cursor is not None:
            if cursor.expiry is not None:
                cursor.expiry.cancel()
            sids = self.by_user.get(cursor.user_id)
            if sids is not None:
                sids.discard(sid)
                if not sids:
                    del self.by_user[cursor.user_id]

    def local_users(self) -> list[int]:
        return list(self.by_user)

    async def open(self, sid: str, user_id: int, locale: str | None, rooms: set[str],
                   last_event_id: int, credential: tuple[str, str] | None = None,
                   expires_in: float | None = None) -> None:
        """A socket of `user_id` connected: into the user's room and its timeline `rooms`
        (the authors it follows), replay from `last_event_id`. `credential`: what it was
        opened with (see Cursor); `expires_in`: seconds until that credential expires (an API
        token), when the socket is disconnected."""
        for room in (user_room(user_id), *rooms):
            await self.sio.enter_room(sid, room)
        self.attach(sid, user_id, last_event_id, rooms)
        cursor = self.cursors[sid]
        cursor.locale = locale
        cursor.credential = credential
        if expires_in is not None:
            cursor.expiry = asyncio.get_running_loop().call_later(
                max(expires_in, 0.0), self.drop, sid)
        metrics.SOCKET_CONNECTIONS.inc()

    def drop(self, sid: str) -> None:
        """Disconnect a socket of this instance whose credential ended (its client may
        reconnect: with the credential gone, it is refused)."""
        if sid in self.cursors:
            task = asyncio.create_task(self.sio.disconnect(sid))
            self._deliveries.add(task)  # type: ignore[arg-type]
            task.add_done_callback(self._deliveries.discard)  # type: ignore[arg-type]

    async def subscribe(self, sid: str, stream: object) -> None:
        """Watch a public stream (explore, a post, a profile) on this socket."""
        cursor, room = self.cursors.get(sid), stream_room(stream)
        if cursor is None or room is None:
            raise unknown_stream()
        if room not in cursor.stream_rooms and len(cursor.stream_rooms) >= MAX_STREAMS:
            raise StreamError(_("A connection can watch at most %(max)d streams at once.",
                                max=MAX_STREAMS))
        cursor.stream_rooms.add(room)
        await self.sio.enter_room(sid, room)

    async def unsubscribe(self, sid: str, stream: object) -> None:
        cursor, room = self.cursors.get(sid), stream_room(stream)
        if cursor is None or room is None:
            raise unknown_stream()
        cursor.stream_rooms.discard(room)
        if room not in cursor.follow_rooms:  # a followed author's posts keep coming
            await self.sio.leave_room(sid, room)

    async def _replay_when_connected(self, cursor: Cursor) -> None:
        # Events sent before Socket.IO's CONNECT packet would be dropped by the client;
        # the manager marks the socket connected right after sending that packet.
        for _attempt in range(200):
            if self.sio.manager.is_connected(cursor.sid, "/"):
                break
            if cursor.sid not in self.cursors:
                return
            await asyncio.sleep(0.005)
        await self.catch_up(cursor)

    async def catch_up(self, cursor: Cursor) -> None:
        async with cursor.lock:
            await self._catch_up_locked(cursor)

    async def _catch_up_locked(self, cursor: Cursor) -> None:
        while cursor.sid in self.cursors:
            rows = await events_after(cursor.user_id, cursor.last)
            for row in rows:
                payload = row["payload"]
                if isinstance(payload, str):
                    payload = json.loads(payload)
                await self._send(cursor, row["event_id"], row["name"], payload)
                metrics.event_replayed()
            if len(rows) < REPLAY_BATCH:
                return

    async def _send(self, cursor: Cursor, event_id: int, name: str,
                    payload: dict[str, Any]) -> None:
        await self.sio.emit(name, {**payload, "event_id": event_id}, to=cursor.sid,
                            ignore_queue=True)  # the socket is on this instance
        cursor.last = event_id
        metrics.event_delivered(name)

    async def offer(self, user_id: int, event_id: int, name: str,
                    payload: dict[str, Any]) -> bool:
        """A live personal event for `user_id`, from Redis; whether a socket here got it
        from this call (not earlier, by replay)."""
        sent = False
        for sid in list(self.by_user.get(user_id, ())):
            cursor = self.cursors.get(sid)
            if cursor is None:
                continue
            async with cursor.lock:
                if event_id <= cursor.last:
                    continue  # already sent (by replay)
                if event_id == cursor.last + 1:
                    await self._send(cursor, event_id, name, payload)
                else:
                    await self._catch_up_locked(cursor)  # a gap: read it back, in order
                sent = True
        return sent

    # --- the Redis subscription -----------------------------------------------------------

    def start(self) -> None:
        if self.redis_url and self.task is None:
            self.task = asyncio.create_task(self._listen(), name="microblog-personal")
        if self.check_credentials is not None and self.sweeper is None:
            self.sweeper = asyncio.create_task(self._sweep(), name="microblog-credentials")

    async def stop(self) -> None:
        for task in (self.task, self.sweeper):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        self.task = self.sweeper = None

    async def _sweep(self) -> None:
        """Every CREDENTIAL_SWEEP seconds, the sockets whose session ended without a word
        (it expired) are disconnected; the others keep their session alive (an open tab is a
        reader)."""
        while True:
            await asyncio.sleep(CREDENTIAL_SWEEP)
            cursors = [c for c in self.cursors.values() if c.credential is not None]
            if not cursors or self.check_credentials is None:
                continue
            try:
                for sid in await self.check_credentials(cursors):
                    self.drop(sid)
            except Exception:  # Redis away: the next sweep tries again
                log.warning("credentials: could not check the sockets' sessions",
                            exc_info=True)

    async def _listen(self) -> None:
        delay = 0.5
        lost = False
        while True:
            client = aioredis.from_url(self.redis_url or "", decode_responses=True,
                                       socket_keepalive=True, health_check_interval=10)
            pubsub = client.pubsub(ignore_subscribe_messages=True)
            try:
                await pubsub.subscribe(self.channel, self.control, self.feed)
                self.subscribed.set()
                if lost:
                    log.warning("personal events: Redis is back; catching every socket up")
                    await asyncio.gather(*(self.catch_up(c) for c in list(self.cursors.values())))
                    lost = False
                delay = 0.5
                async for message in pubsub.listen():
                    if message.get("type") != "message":
                        continue
                    if message["channel"] == self.control:
                        await self._membership(message["data"])
                    elif message["channel"] == self.feed:
                        self._new_post(message["data"])
                    else:
                        await self._dispatch(message["data"])
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # Redis went away: retry, then repair from the database
                if not lost:
                    log.warning("personal events: lost Redis (%s); retrying", exc)
                lost = True
                self.subscribed.clear()
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)
            finally:
                with contextlib.suppress(Exception):
                    await pubsub.aclose()
                    await client.aclose()

    def _new_post(self, raw: str) -> None:
        """Hand a new post's id to the live search, without holding up the subscription."""
        try:
            post_id = int(json.loads(raw)["post"])
        except (ValueError, KeyError, TypeError):
            log.error("new posts: malformed message %r", raw[:200])
            return
        if self.on_new_post is not None:
            task = asyncio.create_task(self.on_new_post(post_id))
            self._deliveries.add(task)
            task.add_done_callback(self._deliveries.discard)

    async def _dispatch(self, raw: str) -> None:
        try:
            message = json.loads(raw)
            user_id = int(message["user"])
            payload = dict(message["payload"])
            event_id = int(payload.pop("event_id"))
            name = str(message["name"])
            published_at = message.get("published_at")  # the envelope's, not the payload's
            if not isinstance(published_at, int | float):
                published_at = None
        except (ValueError, KeyError, TypeError):
            log.error("personal events: malformed message %r", raw[:200])
            return
        if user_id in self.by_user:
            # Deliver without holding up the subscription: the next message may be for
            # someone else. Per socket, order holds: tasks take the socket's lock in the
            # order they were created, and offer() repairs any gap from the database.
            task = asyncio.create_task(
                self._offer_logged(user_id, event_id, name, payload, published_at))
            self._deliveries.add(task)
            task.add_done_callback(self._deliveries.discard)

    async def _offer_logged(self, user_id: int, event_id: int, name: str,
                            payload: dict[str, Any], published_at: float | None = None) -> None:
        try:
            if await self.offer(user_id, event_id, name, payload):
                metrics.fanout_observed(name, published_at)
        except Exception:
            log.exception("personal events: delivery to user %s failed", user_id)

    # --- sessions and tokens that end ---------------------------------------------------------

    def _end_credentials(self, user_id: int, ended: dict[str, Any]) -> None:
        for sid in list(self.by_user.get(user_id, ())):
            cursor = self.cursors.get(sid)
            if cursor is None or cursor.credential is None:
                continue
            kind, ident = cursor.credential
            if kind == "session":
                gone = ident in ended["sessions"] or (
                    ended["all_sessions"] and ident != ended["keep"])
            else:
                gone = ident in ended["tokens"] or ended["all_tokens"]
            if gone:
                self.drop(sid)

    # --- room membership that follows the follow graph --------------------------------------

    async def _membership(self, raw: str) -> None:
        """Another process changed whom a user follows: move that user's sockets here."""
        try:
            message = json.loads(raw)
            user_id = int(message["user"])
            join = [str(r) for r in message.get("join", [])]
            leave = [str(r) for r in message.get("leave", [])]
            ended = message.get("end")
            if ended is not None:
                ended = {"sessions": {str(s) for s in ended["sessions"]},
                         "tokens": {str(t) for t in ended["tokens"]},
                         "all_sessions": bool(ended["all_sessions"]),
                         "all_tokens": bool(ended["all_tokens"]), "keep": ended["keep"]}
        except (ValueError, KeyError, TypeError):
            log.error("membership: malformed message %r", raw[:200])
            return
        if ended is not None:
            self._end_credentials(user_id, ended)
            return
        for sid in list(self.by_user.get(user_id, ())):
            cursor = self.cursors.get(sid)
            if cursor is None:
                continue
            for room in join:
                cursor.follow_rooms.add(room)
                await self.sio.enter_room(sid, room)
            for room in leave:
                cursor.follow_rooms.discard(room)
                if room not in cursor.stream_rooms:
                    await self.sio.leave_room(sid, room)
