"""The follow graph: follow, unfollow, followers and following."""

from __future__ import annotations

import time
from dataclasses import dataclass

from tortoise import connections
from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from microblog import ratelimit
from microblog.errors import Forbidden, NotFound, ServiceError
from microblog.i18n import gettext as _
from microblog.models import Block, Follow, NotificationKind, User
from microblog.models.user import email_hash, gravatar_url
from microblog.realtime.publish import publish_membership, publish_personal
from microblog.realtime.rooms import author_room, user_room
from microblog.schemas import UserRef
from microblog.services import emails, notifications, pagecache
from microblog.services.pagination import Page, PageRequest
from microblog.text import is_username


async def check_not_blocked_by(owner_id: int, actor_id: int, message: str) -> None:
    """Forbidden(`message`) when `owner_id` has blocked `actor_id`: what someone who blocked
    you owns (their follow list, their posts' comments) refuses you. Called before anything
    is written. (Private messages check both directions: messages.check_not_blocked.)"""
    if await Block.exists(blocker_id=owner_id, blocked_id=actor_id):
        raise Forbidden(message)


async def follow(user: User, target: User) -> bool:
    """Follow `target`; True if this created the follow, False if it already existed.
    The target is notified; the follower's sockets start receiving the target's posts."""
    if user.id == target.id:
        raise ServiceError(_("You cannot follow yourself."))
    await check_not_blocked_by(target.id, user.id, _("You cannot follow this user."))
    await _count_follow(user)
    try:
        async with in_transaction() as conn:
            await Follow.create(follower_id=user.id, followed_id=target.id, using_db=conn)
            event = await notifications.notify(conn, target.id, NotificationKind.FOLLOW,
                                               {"user": UserRef.of(user).model_dump(mode="json")})
    except IntegrityError:
        return False
    await pagecache.changed(user_room(user.id))  # their home timeline
    publish_personal(target.id, event)
    publish_membership(user.id, join=[author_room(target.id)])
    await emails.follow_email(user, target)
    return True


async def unfollow(user: User, target: User) -> bool:
    if user.id == target.id:
        raise ServiceError(_("You cannot unfollow yourself."))
    await _count_follow(user)
    removed = bool(await Follow.filter(follower_id=user.id, followed_id=target.id).delete())
    if removed:
        await pagecache.changed(user_room(user.id))
        publish_membership(user.id, leave=[author_room(target.id)])
    return removed


async def _count_follow(user: User) -> None:
    """Follows and unfollows share one limit: each may notify (and email) someone."""
    await ratelimit.enforce(ratelimit.FOLLOWS, "follows", user.id, message=_(
        "You are following and unfollowing too fast. Wait a while and try again."))


async def followed_ids(user: User) -> list[int]:
    # one hand-written query: every socket connect asks (the ORM's query building cost more)
    rows = await connections.get("default").execute_query_dict(
        "SELECT followed_id FROM follows WHERE follower_id = $1", [user.id])
    return [row["followed_id"] for row in rows]


async def timeline_rooms(user: User) -> set[str]:
    """The rooms a socket of `user` joins to receive its home timeline live: the author
    rooms of everyone followed, and the user's own. Follows and unfollows move sockets
    between them (publish_membership)."""
    return {author_room(author) for author in (*await followed_ids(user), user.id)}


async def is_following(user: User, target: User) -> bool:
    return await Follow.exists(follower_id=user.id, followed_id=target.id)


async def profile(username: str, viewer: User | None) -> tuple[User, bool, bool]:
    """A profile's owner (or NotFound), whether the reader follows them and whether the
    reader blocks them (both False for a visitor or on one's own profile): one round trip."""
    rows = await connections.get("default").execute_query_dict(
        "SELECT u.*, EXISTS (SELECT 1 FROM follows WHERE follower_id = $2 AND followed_id = "
        "u.id) AS viewer_follows, EXISTS (SELECT 1 FROM blocks WHERE blocker_id = $2 AND "
        "blocked_id = u.id) AS viewer_blocks FROM users u WHERE u.username_key = $1",
        [username.lower(), viewer.id if viewer is not None else 0]) \
        if is_username(username) else []  # (no NUL or such sent to PostgreSQL)
    if not rows:
        raise NotFound(_("No such user."))
    row = dict(rows[0])
    following, blocked = bool(row.pop("viewer_follows")), bool(row.pop("viewer_blocks"))
    owner = User._init_from_db(**row)
    mine = viewer is not None and viewer.id == owner.id
    return owner, following and not mine, blocked and not mine


def counts(user: User) -> dict[str, int]:
    """Posts, followers and following of a user, as of when its row was read (triggers keep
    them in the row: migration 11)."""
    return {"post_count": user.post_count, "follower_count": user.follower_count,
            "following_count": user.following_count}


def counts_of(users: list[User]) -> dict[int, dict[str, int]]:
    """`counts` of several users (a list of people)."""
    return {user.id: counts(user) for user in users}


SUGGESTED = 5
# the most followed people, for everyone's suggestions: one aggregate per process per minute
POPULAR_CACHE_SECONDS = 60.0
_popular: tuple[float, list[int]] = (-POPULAR_CACHE_SECONDS, [])


@dataclass(frozen=True, slots=True)
class Suggestion:
    """Someone to follow, as a "who to follow" line shows them."""

    id: int
    username: str
    email: str
    about_me: str | None

    def avatar_hash(self) -> str:
        return email_hash(self.email)

    def avatar(self, size: int = 128) -> str:
        return gravatar_url(self.email, size)


# Candidates in order: those followed by the people the user follows (most shared first),
# then the most followed ($2, in that order); never the user, someone they follow, or
# someone on either side of a block with them. One round trip.
_SUGGEST = """
WITH mine AS (SELECT followed_id FROM follows WHERE follower_id = $1),
shared AS (
  SELECT f.followed_id AS id, count(*) AS n FROM follows f
  WHERE f.follower_id IN (SELECT followed_id FROM mine) GROUP BY f.followed_id
  ORDER BY n DESC, f.followed_id LIMIT 50),
candidates AS (
  SELECT id, row_number() OVER (ORDER BY n DESC, id) AS rank FROM shared
  UNION ALL
  SELECT id, 1000 + ord FROM unnest($2::int[]) WITH ORDINALITY AS popular (id, ord)),
best AS (SELECT id, min(rank) AS rank FROM candidates GROUP BY id)
SELECT u.id, u.username, u.email, u.about_me FROM best JOIN users u ON u.id = best.id
WHERE u.id <> $1 AND u.id NOT IN (SELECT followed_id FROM mine)
  AND NOT EXISTS (SELECT 1 FROM blocks b WHERE (b.blocker_id = $1 AND b.blocked_id = u.id)
                  OR (b.blocker_id = u.id AND b.blocked_id = $1))
ORDER BY best.rank LIMIT $3"""


async def suggestions(user: User | None, limit: int = SUGGESTED) -> list[Suggestion]:
    """People `user` might like to follow (see _SUGGEST); the most followed for nobody."""
    global _popular
    conn = connections.get("default")
    if time.monotonic() - _popular[0] >= POPULAR_CACHE_SECONDS:
        rows = await conn.execute_query_dict(
            "SELECT followed_id FROM follows GROUP BY followed_id "
            "ORDER BY count(*) DESC, followed_id LIMIT 50")
        _popular = (time.monotonic(), [r["followed_id"] for r in rows])
    rows = await conn.execute_query_dict(
        _SUGGEST, [user.id if user is not None else 0, _popular[1], limit])
    return [Suggestion(r["id"], r["username"], r["email"], r["about_me"]) for r in rows]


async def followers(user: User, req: PageRequest, count: bool = False) -> Page[User]:
    return await _people(Follow.filter(followed_id=user.id), "follower", req, count)


async def following(user: User, req: PageRequest, count: bool = False) -> Page[User]:
    return await _people(Follow.filter(follower_id=user.id), "followed", req, count)


async def _people(query, side: str, req: PageRequest, count: bool) -> Page[User]:  # type: ignore[no-untyped-def]
    rows = await (query.order_by("-id").offset(req.offset).limit(req.per_page + 1)
                  .select_related(side))
    items = [getattr(r, side) for r in rows[: req.per_page]]
    total = await query.count() if count else None
    return Page(items, req.page, req.per_page, len(rows) > req.per_page, total)


async def followed_among(user: User, ids: list[int]) -> set[int]:
    """Which of these users `user` follows, in one query (Follow back on a list of people)."""
    if not ids:
        return set()
    rows = await connections.get("default").execute_query_dict(
        "SELECT followed_id FROM follows WHERE follower_id = $1 AND followed_id = ANY($2::int[])",
        [user.id, ids])
    return {row["followed_id"] for row in rows}
