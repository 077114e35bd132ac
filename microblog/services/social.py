"""The follow graph: follow, unfollow, followers and following."""

from __future__ import annotations

from tortoise import connections
from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from microblog import ratelimit
from microblog.errors import Forbidden, ServiceError
from microblog.i18n import gettext as _
from microblog.models import Block, Follow, NotificationKind, User
from microblog.realtime.publish import publish_membership, publish_personal
from microblog.realtime.rooms import author_room
from microblog.schemas import UserRef
from microblog.services import emails, notifications
from microblog.services.pagination import Page, PageRequest


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


async def counts(user: User) -> dict[str, int]:
    """Posts, followers and following of a user, in one round trip."""
    rows = await connections.get("default").execute_query_dict(
        "SELECT (SELECT count(*) FROM posts WHERE author_id = $1) AS post_count,"
        " (SELECT count(*) FROM follows WHERE followed_id = $1) AS follower_count,"
        " (SELECT count(*) FROM follows WHERE follower_id = $1) AS following_count",
        [user.id])
    return {key: int(value) for key, value in rows[0].items()}


async def counts_of(users: list[User]) -> dict[int, dict[str, int]]:
    """`counts` of several users (a list of people), in one round trip."""
    if not users:
        return {}
    rows = await connections.get("default").execute_query_dict(
        "SELECT u.id, (SELECT count(*) FROM posts WHERE author_id = u.id) AS post_count,"
        " (SELECT count(*) FROM follows WHERE followed_id = u.id) AS follower_count,"
        " (SELECT count(*) FROM follows WHERE follower_id = u.id) AS following_count "
        "FROM unnest($1::int[]) AS u(id)", [[u.id for u in users]])
    return {r["id"]: {k: int(v) for k, v in r.items() if k != "id"} for r in rows}


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
