"""The follow graph: follow, unfollow, followers and following."""

from __future__ import annotations

from tortoise import connections
from tortoise.exceptions import IntegrityError

from microblog.i18n import gettext as _
from microblog.models import Follow, User
from microblog.services.errors import ServiceError
from microblog.services.pagination import Page, PageRequest


async def follow(user: User, target: User) -> bool:
    """Follow `target`; True if this created the follow, False if it already existed."""
    if user.id == target.id:
        raise ServiceError(_("You cannot follow yourself."))
    try:
        await Follow.create(follower_id=user.id, followed_id=target.id)
    except IntegrityError:
        return False
    return True


async def unfollow(user: User, target: User) -> bool:
    if user.id == target.id:
        raise ServiceError(_("You cannot unfollow yourself."))
    return bool(await Follow.filter(follower_id=user.id, followed_id=target.id).delete())


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
