"""Sign-in sessions, kept in Redis so they end for real: at logout, "sign out everywhere", a
password change or account deletion, and after a while without use, on every instance at
once; and every live socket opened with an ended session (or a revoked or expired API token)
is disconnected within a second (a message on the control channel every instance listens to).

The login cookie (quart-auth's, signed) holds `<user id>:<session id>`; the session id's
first letter says whether the browser was to remember it ("r": 30 days since last use) or not
("s": an hour since last use, and the cookie itself ends with the browser). Each use renews
the lifetime, in the same round trip that reads the session. A session records the user's
`session_epoch` when it began: a new password (which bumps the epoch) ends every session even
if Redis missed the deletion.
"""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass

from redis.exceptions import RedisError
from tortoise import connections

from microblog.infra import resources
from microblog.limits import INT_MAX
from microblog.models import User
from microblog.realtime.publish import publish_credentials_ended
from microblog.text import parse_int

log = logging.getLogger(__name__)

REMEMBERED_TTL = 30 * 24 * 3600
IDLE_TTL = 60 * 60
SID_MAX = 64


@dataclass(frozen=True, slots=True)
class SessionId:
    user_id: int
    sid: str

    @property
    def ttl(self) -> int:
        return REMEMBERED_TTL if self.sid.startswith("r") else IDLE_TTL


def parse(auth_id: str | None) -> SessionId | None:
    """A login cookie's auth id, or None when it is not one of ours."""
    if not auth_id or len(auth_id) > 80:
        return None
    raw_id, _, sid = auth_id.partition(":")
    user_id = parse_int(raw_id, INT_MAX, 1)
    if user_id is None or not sid or len(sid) > SID_MAX or sid[0] not in "rs" \
            or not sid[1:].replace("-", "").replace("_", "").isalnum():
        return None
    return SessionId(user_id, sid)


def _key(sid: str) -> str:
    return resources.key("session", sid)


def _user_key(user_id: int) -> str:
    return resources.key("sessions", user_id)


async def start(user: User, remember: bool) -> str:
    """A new session for `user`: the auth id for the login cookie."""
    session = SessionId(user.id, ("r" if remember else "s") + secrets.token_urlsafe(24))
    redis = resources.redis
    if redis is not None:
        async with redis.pipeline(transaction=True) as pipe:
            pipe.hset(_key(session.sid), mapping={"user": user.id,
                                                  "epoch": user.session_epoch})
            pipe.expire(_key(session.sid), session.ttl)
            pipe.sadd(_user_key(user.id), session.sid)
            pipe.expire(_user_key(user.id), REMEMBERED_TTL)
            await pipe.execute()
    return f"{session.user_id}:{session.sid}"


async def user_for(auth_id: str | None) -> User | None:
    """The user of a live session (renewing its lifetime), or None."""
    session = parse(auth_id)
    redis = resources.redis
    if session is None or redis is None:
        return None
    try:
        owner, epoch = await resources.script(_READ)(keys=[_key(session.sid)],
                                                     args=[session.ttl])
    except RedisError as exc:  # sessions live in Redis: without it, nobody is signed in
        log.warning("sessions: Redis is unreachable (%r); treating the visitor as signed out",
                    exc)
        return None
    if owner is None or parse_int(owner, INT_MAX) != session.user_id:
        return None
    # every page, API call and socket connect asks: one hand-written query (building it
    # through the ORM cost more CPU than running it)
    rows = await connections.get("default").execute_query_dict(
        "SELECT * FROM users WHERE id = $1", [session.user_id])
    user = User._init_from_db(**rows[0]) if rows else None
    if user is None or str(user.session_epoch) != epoch:
        return None
    return user


# read a session and renew its lifetime: one command (a pipeline of two cost more CPU)
_READ = """
local found = redis.call('HMGET', KEYS[1], 'user', 'epoch')
if found[1] then redis.call('EXPIRE', KEYS[1], ARGV[1]) end
return found
"""

async def alive(session: SessionId) -> bool:
    """Whether the session still exists (renewing it): a socket asks before each write."""
    redis = resources.redis
    if redis is None:
        return False
    try:
        return bool(await redis.expire(_key(session.sid), session.ttl))
    except RedisError:  # cannot tell: the sweep checks again once Redis is back
        return True


async def alive_many(opened: list[SessionId]) -> list[bool]:
    """`alive` for many sessions in one round trip."""
    redis = resources.redis
    if redis is None or not opened:
        return [False] * len(opened)
    async with redis.pipeline(transaction=False) as pipe:
        for session in opened:
            pipe.expire(_key(session.sid), session.ttl)
        return [bool(ok) for ok in await pipe.execute()]


async def end(auth_id: str | None) -> None:
    """Logout: this session ends here and on every instance, with its sockets."""
    session = parse(auth_id)
    redis = resources.redis
    if session is None or redis is None:
        return
    async with redis.pipeline(transaction=True) as pipe:
        pipe.delete(_key(session.sid))
        pipe.srem(_user_key(session.user_id), session.sid)
        await pipe.execute()
    publish_credentials_ended(session.user_id, sessions=[session.sid])


async def end_all(user_id: int, keep: str | None = None) -> None:
    """Every session of the user ends (but `keep`, an auth id, when given), with their
    sockets; API tokens are not sessions (see accounts)."""
    redis = resources.redis
    kept = parse(keep)
    keep_sid = kept.sid if kept is not None and kept.user_id == user_id else None
    if redis is not None:
        members = await redis.smembers(_user_key(user_id))  # type: ignore[misc]
        sids = [sid for sid in members if sid != keep_sid]
        if sids:
            async with redis.pipeline(transaction=True) as pipe:
                pipe.delete(*(_key(sid) for sid in sids))
                pipe.srem(_user_key(user_id), *sids)
                await pipe.execute()
    publish_credentials_ended(user_id, all_sessions=True, keep=keep_sid)
