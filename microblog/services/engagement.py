"""Likes and reposts, the counts on every post, and `post.stats` to the people watching.

Each like, repost (and comment, services/posts.py) changes its row and the post's count in
one statement, so concurrent likes never lose an update and a card needs no count(*); that
statement is all a like writes, so likes of one post queue on its row only that long.
What follows is coalesced per post, across every instance, whatever the rate of likes: the
viewers get `post.stats` at most once per STATS_WINDOW, and the author's notification ("bob
and 3 others liked your post", one per post and kind while unread) is brought up to date at
most once per GROUP_WINDOW.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from tortoise import connections
from tortoise.transactions import in_transaction

from microblog import ratelimit
from microblog.errors import Forbidden, NotFound
from microblog.i18n import gettext as _
from microblog.infra import resources
from microblog.models import NotificationKind, User
from microblog.models.user import gravatar_url
from microblog.realtime.events import PostCreated, PostStatsChanged, PostUnreposted
from microblog.realtime.publish import publish, publish_personal
from microblog.realtime.rooms import author_room, post_room, user_room
from microblog.schemas import UserRef
from microblog.services import notifications, pagecache

log = logging.getLogger(__name__)

# `post.stats` for one post goes out at most once per STATS_WINDOW, with the counts read at
# its end; the author's like and repost notifications are updated once per GROUP_WINDOW
STATS_WINDOW = 0.3
GROUP_WINDOW = 1.0
_GROUP_LOCKS = {NotificationKind.LIKE: 7101, NotificationKind.REPOST: 7102}
_pending: set[tuple[str, int]] = set()
_tasks: set[asyncio.Task[None]] = set()


@dataclass(frozen=True, slots=True)
class Counts:
    """A post's counts and what the reader did to it."""

    id: int
    like_count: int
    repost_count: int
    comment_count: int
    liked: bool
    reposted: bool

    def stats(self) -> PostStatsChanged:
        return PostStatsChanged(id=self.id, like_count=self.like_count,
                                repost_count=self.repost_count,
                                comment_count=self.comment_count)


async def _target(user: User, post_id: int) -> dict[str, Any]:
    """The post (author, body), or NotFound; Forbidden when its author blocked `user` (as
    social.check_not_blocked_by says, read in the same round trip: a like's first of two)."""
    rows = await connections.get("default").execute_query_dict(
        "SELECT p.id, p.author_id, p.body, EXISTS (SELECT 1 FROM blocks b WHERE b.blocker_id "
        "= p.author_id AND b.blocked_id = $2) AS blocked FROM posts p WHERE p.id = $1",
        [post_id, user.id])
    if not rows:
        raise NotFound(_("No such post."))
    if rows[0]["blocked"]:
        raise Forbidden(_("You cannot like or repost this user's posts."))
    return rows[0]


_LIKE = """
WITH added AS (
  INSERT INTO likes (post_id, user_id, created_at) VALUES ($1, $2, now())
  ON CONFLICT (post_id, user_id) DO NOTHING RETURNING 1)
UPDATE posts SET like_count = like_count + (SELECT count(*) FROM added) WHERE id = $1
RETURNING like_count, repost_count, comment_count, (SELECT count(*) FROM added) AS changed,
  EXISTS (SELECT 1 FROM reposts WHERE post_id = $1 AND user_id = $2) AS reposted"""

_UNLIKE = """
WITH removed AS (DELETE FROM likes WHERE post_id = $1 AND user_id = $2 RETURNING 1)
UPDATE posts SET like_count = like_count - (SELECT count(*) FROM removed) WHERE id = $1
RETURNING like_count, repost_count, comment_count, (SELECT count(*) FROM removed) AS changed,
  EXISTS (SELECT 1 FROM reposts WHERE post_id = $1 AND user_id = $2) AS reposted"""

_REPOST = """
WITH added AS (
  INSERT INTO reposts (post_id, user_id, created_at) VALUES ($1, $2, now())
  ON CONFLICT (post_id, user_id) DO NOTHING RETURNING id, created_at)
UPDATE posts SET repost_count = repost_count + (SELECT count(*) FROM added) WHERE id = $1
RETURNING like_count, repost_count, comment_count, (SELECT count(*) FROM added) AS changed,
  (SELECT created_at FROM added) AS reposted_at,
  EXISTS (SELECT 1 FROM likes WHERE post_id = $1 AND user_id = $2) AS liked"""

_UNREPOST = """
WITH removed AS (DELETE FROM reposts WHERE post_id = $1 AND user_id = $2 RETURNING 1)
UPDATE posts SET repost_count = repost_count - (SELECT count(*) FROM removed) WHERE id = $1
RETURNING like_count, repost_count, comment_count, (SELECT count(*) FROM removed) AS changed,
  EXISTS (SELECT 1 FROM likes WHERE post_id = $1 AND user_id = $2) AS liked"""


async def like(user: User, post_id: int) -> Counts:
    """`user` likes the post (again: nothing changes). Its author is notified."""
    post = await _target(user, post_id)
    await ratelimit.enforce(ratelimit.REACTIONS, "reactions", user.id, message=_(
        "You are liking and reposting too fast. Wait a little and try again."))
    row = (await connections.get("default").execute_query_dict(_LIKE, [post_id, user.id]))[0]
    if row["changed"] and post["author_id"] != user.id:
        _soon(("like", post_id), GROUP_WINDOW, _group_flush(post, NotificationKind.LIKE))
    return await _after(user, post, row, liked=True, reposted=row["reposted"])


async def unlike(user: User, post_id: int) -> Counts:
    post = await _target(user, post_id)
    row = (await connections.get("default").execute_query_dict(_UNLIKE, [post_id, user.id]))[0]
    return await _after(user, post, row, liked=False, reposted=row["reposted"])


async def repost(user: User, post_id: int) -> Counts:
    """`user` shares the post with their followers: it joins their home timelines (and the
    reposter's profile) as "<user> reposted", live. Its author is notified."""
    post = await _target(user, post_id)
    await ratelimit.enforce(ratelimit.REACTIONS, "reactions", user.id, message=_(
        "You are liking and reposting too fast. Wait a little and try again."))
    row = (await connections.get("default").execute_query_dict(_REPOST, [post_id, user.id]))[0]
    if row["changed"] and post["author_id"] != user.id:
        _soon(("repost", post_id), GROUP_WINDOW, _group_flush(post, NotificationKind.REPOST))
    counts = await _after(user, post, row, liked=row["liked"], reposted=True,
                          timelines=True)
    if row["changed"]:
        from microblog.services import posts  # posts imports this module

        view = await posts.view_of(post_id)
        shared = PostCreated.of(view).model_copy(update={
            "reposted_by": UserRef.of(user), "reposted_at": row["reposted_at"],
            "liked": False, "reposted": False})
        publish(shared, author_room(user.id))
    return counts


async def unrepost(user: User, post_id: int) -> Counts:
    post = await _target(user, post_id)
    row = (await connections.get("default").execute_query_dict(
        _UNREPOST, [post_id, user.id]))[0]
    if row["changed"]:
        publish(PostUnreposted(id=post_id, by=user.id), author_room(user.id))
    return await _after(user, post, row, liked=row["liked"], reposted=False,
                          timelines=True)


async def _after(user: User, post: dict[str, Any], row: dict[str, Any], *, liked: bool,
                 reposted: bool, timelines: bool = False) -> Counts:
    """After the change: rendered pages showing the post (and, for a repost, the reposter's
    timelines) are out of date now, and its viewers get the counts soon."""
    if row["changed"]:
        await pagecache.changed(post_room(post["id"]),
                                *([author_room(user.id)] if timelines else []))
        announce_stats(post["id"], post["author_id"])
    return Counts(post["id"], row["like_count"], row["repost_count"], row["comment_count"],
                  bool(liked), bool(reposted))


async def counts(user: User | None, post_id: int) -> Counts:
    rows = await connections.get("default").execute_query_dict(
        "SELECT like_count, repost_count, comment_count, "
        "EXISTS (SELECT 1 FROM likes WHERE post_id = $1 AND user_id = $2) AS liked, "
        "EXISTS (SELECT 1 FROM reposts WHERE post_id = $1 AND user_id = $2) AS reposted "
        "FROM posts WHERE id = $1", [post_id, user.id if user is not None else 0])
    if not rows:
        raise NotFound(_("No such post."))
    row = rows[0]
    return Counts(post_id, row["like_count"], row["repost_count"], row["comment_count"],
                  row["liked"], row["reposted"])


# --- coalescing -------------------------------------------------------------------------
#
# `_soon(key, window, work)` runs `work` once per window per key, across instances: the
# first change claims the key in Redis (for a little less than the window) and runs the work
# when the window ends; a change that finds the key claimed, here or on another instance,
# is covered, because the work reads the database after the window, and so after that
# change committed. Without Redis, this process alone decides.


def _soon(key: tuple[str, int], window: float, work: Callable[[], Awaitable[None]]) -> None:
    if key in _pending:
        return
    _pending.add(key)
    task = asyncio.get_running_loop().create_task(_run_soon(key, window, work))
    _tasks.add(task)
    task.add_done_callback(_tasks.discard)


async def _run_soon(key: tuple[str, int], window: float,
                    work: Callable[[], Awaitable[None]]) -> None:
    try:
        if resources.redis is not None:
            try:
                claimed = await resources.redis.set(
                    resources.key("soon", *key), 1, nx=True, px=int(window * 800))
            except Exception:  # Redis down: this instance does it by itself
                claimed = True
            if not claimed:
                return
        await asyncio.sleep(window)
        _pending.discard(key)
        await work()
    except Exception:
        log.exception("%s for post %s failed", *key)
    finally:
        _pending.discard(key)


def announce_stats(post_id: int, author_id: int) -> None:
    """Soon, `post.stats` with the post's latest counts to its viewers and its author."""
    async def announce() -> None:
        try:
            current = await counts(None, post_id)
        except NotFound:
            return  # deleted meanwhile: post.deleted said so
        publish(current.stats(), post_room(post_id), user_room(author_id))

    _soon(("stats", post_id), STATS_WINDOW, announce)


def _group_flush(post: dict[str, Any], kind: NotificationKind
                 ) -> Callable[[], Awaitable[None]]:
    """The author's notification of this post and kind, brought up to date with everyone
    who liked (or reposted) it since it last was."""
    table = "likes" if kind is NotificationKind.LIKE else "reposts"
    author_id, post_id = post["author_id"], post["id"]

    async def flush() -> None:
        async with in_transaction() as conn:
            # one flush of a post's notification at a time, whatever the instance
            await conn.execute_query("SELECT pg_advisory_xact_lock($1, $2)",
                                     [_GROUP_LOCKS[kind], post_id])
            upto = await notifications.grouped_upto(conn, author_id, kind, post_id)
            rows = await conn.execute_query_dict(  # `table` is one of two names above
                f"SELECT t.id, u.id AS user_id, u.username, u.email, count(*) OVER () AS n "  # noqa: S608
                f"FROM {table} t JOIN users u ON u.id = t.user_id WHERE t.post_id = $1 "
                "AND t.id > $2 AND t.user_id <> $3 ORDER BY t.id DESC LIMIT $4",
                [post_id, upto, author_id, notifications.GROUP_SHOWN])
            if not rows:
                return
            newest = [UserRef(id=r["user_id"], username=r["username"],
                              avatar=gravatar_url(r["email"], 128)).model_dump(mode="json")
                      for r in rows]
            event = await notifications.notify_grouped(
                conn, author_id, kind, post_id, newest, int(rows[0]["n"]), int(rows[0]["id"]),
                post["body"][:100])
        publish_personal(author_id, event)

    return flush


async def settle() -> None:
    """Wait for the announcements under way (tests, shutdown)."""
    while _tasks:
        await asyncio.gather(*list(_tasks), return_exceptions=True)
