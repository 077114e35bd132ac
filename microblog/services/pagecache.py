"""Rendered page fragments in Redis, shared by every instance and valid until something they
show changes: the first page of a home timeline, of explore and of a profile's posts.

Each fragment records what it shows as the rooms of microblog.realtime.rooms (an author's
room for their posts and reposts, a post's room for its counts, text and deletion, the
reader's own room for their follows and blocks, explore for every post) and the value of a
clock read *before* its data was loaded. The services that change something call
`changed(*rooms)` after their commit, the same rooms their live events go to: each room's
stamp becomes the clock's next value. A fragment is served only while none of its rooms has
a stamp newer than its clock, which one Lua script checks next to the fragment in Redis (one
round trip). A change committed before the clock was read is in the data that was loaded
after it; one committed later leaves a newer stamp. Stamps outlive every fragment
(STAMP_TTL > any fragment's ttl), so an expired stamp never makes an old fragment valid
again; `everything()` invalidates every fragment at once (account deletion). Data written
outside the services (`microblog seed`, SQL by hand) shows once fragments expire (at most
five minutes).

Without Redis, or when it fails, pages are simply rendered every time.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable

from redis.exceptions import RedisError

from microblog import metrics
from microblog.infra import resources

log = logging.getLogger(__name__)

STAMP_TTL = 3600  # longer than any fragment lives
EVERYTHING = "all"  # a room every fragment depends on

# KEYS[1]: the fragment (a hash: c = clock at render, d = stamp keys, h = html); ARGV[1]:
# the clock of the copy the caller holds ("" for none): then only the clock comes back
_GET = """
local f = redis.call('HMGET', KEYS[1], 'c', 'd')
if not f[1] then return false end
local clock = tonumber(f[1])
local keys = {}
for k in string.gmatch(f[2], '%S+') do keys[#keys + 1] = k end
for first = 1, #keys, 1000 do
  local stamps = redis.call('MGET', unpack(keys, first, math.min(first + 999, #keys)))
  for i = 1, #stamps do
    if stamps[i] and tonumber(stamps[i]) > clock then return false end
  end
end
if f[1] == ARGV[1] then return {f[1]} end
return {f[1], redis.call('HGET', KEYS[1], 'h')}
"""

# The clock starts (and, should Redis lose it, starts again) at the time in microseconds, so
# its values never repeat: a process's copy of a fragment is known by (key, clock).
# KEYS[1]: the clock; ARGV[1]: the time in microseconds
_CLOCK = """
local now = redis.call('GET', KEYS[1])
if not now then
  redis.call('SET', KEYS[1], ARGV[1], 'NX')
  now = redis.call('GET', KEYS[1])
end
return now
"""

# KEYS[1]: the clock; KEYS[2..]: stamps; ARGV[1]: their ttl; ARGV[2]: time in microseconds
_CHANGED = """
redis.call('SET', KEYS[1], ARGV[2], 'NX')
local now = redis.call('INCR', KEYS[1])
for i = 2, #KEYS do redis.call('SET', KEYS[i], now, 'EX', ARGV[1]) end
return now
"""


def _clock_key() -> str:
    return resources.key("frag", "clock")


def _stamp_key(room: str) -> str:
    return resources.key("frag", "stamp", room)


def fragment_key(page: str, *variant: object) -> str:
    return resources.key("frag", page, *variant)


async def changed(*rooms: str) -> None:
    """After commit: every fragment showing any of these rooms is out of date."""
    redis = resources.redis
    if redis is None or not rooms:
        return
    global _lost
    keys = [_clock_key(), *map(_stamp_key, dict.fromkeys(rooms))]
    try:
        await resources.script(_CHANGED)(keys=keys, args=[STAMP_TTL, _microseconds()])
    except RedisError as exc:
        # a fragment that cannot be invalidated must not be served: none is, from this
        # process, until everything has been invalidated (once Redis answers again)
        log.warning("page cache: could not record a change (%r)", exc)
        _lost = True


async def everything() -> None:
    """Every fragment is out of date (an account deleted, data loaded from outside)."""
    await changed(EVERYTHING)


_lost = False  # a change this process could not record


async def get(page: str, key: str, held: int | None = None) -> tuple[int, str | None] | None:
    """The fragment at `key` if nothing it shows has changed: (its clock, its html), or
    (clock, None) when that clock is `held`'s, the copy the caller already has; else None.
    Counted per page in microblog_page_cache_total."""
    global _lost
    redis = resources.redis
    if redis is None:
        return None
    try:
        if _lost:
            _lost = False
            await everything()
            if _lost:
                return None
        found = await resources.script(_GET)(keys=[key], args=["" if held is None else held])
    except RedisError as exc:
        log.warning("page cache: Redis failed (%r); rendering", exc)
        found = None
    metrics.page_cache(page, bool(found))
    if not found:
        return None
    return int(found[0]), (found[1] if len(found) > 1 else None)


async def clock() -> int | None:
    """Read before loading what a fragment shows: `put` stores it with the fragment."""
    redis = resources.redis
    if redis is None:
        return None
    try:
        return int(await resources.script(_CLOCK)(keys=[_clock_key()], args=[_microseconds()]))
    except RedisError:
        return None


def _microseconds() -> int:
    return time.time_ns() // 1000


async def put(key: str, read_at: int | None, rooms: Iterable[str], html: str,
              ttl: int) -> bool:
    """Keep a fragment rendered from data read after `clock()` said `read_at`; whether it
    was kept."""
    redis = resources.redis
    if redis is None or read_at is None:
        return False
    stamps = " ".join(_stamp_key(room) for room in dict.fromkeys([EVERYTHING, *rooms]))
    try:
        async with redis.pipeline(transaction=True) as pipe:
            pipe.hset(key, mapping={"c": read_at, "d": stamps, "h": html})
            pipe.expire(key, ttl)
            await pipe.execute()
    except RedisError as exc:
        log.warning("page cache: could not store a fragment (%r)", exc)
        return False
    return True
