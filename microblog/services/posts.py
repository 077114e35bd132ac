"""Posts, comments and the timelines that read them."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import py3langid
from tortoise import connections
from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.transactions import in_transaction

from microblog import ratelimit
from microblog.errors import Forbidden, NotFound, ValidationFailed, storable
from microblog.i18n import gettext as _
from microblog.limits import COMMENT_MAX, POST_MAX
from microblog.models import Comment, NotificationKind, Post, User
from microblog.models.user import email_hash, gravatar_url
from microblog.realtime.events import (
    CommentCreated,
    Event,
    PostCreated,
    PostDeleted,
    PostUpdated,
)
from microblog.realtime.publish import publish, publish_new_post, publish_personal
from microblog.realtime.rooms import author_room, explore_room, post_room, tag_room, user_room
from microblog.schemas import UserRef
from microblog.services import emails, engagement, indexing, notifications, pagecache, social
from microblog.services.pagination import Page, PageRequest
from microblog.text import hashtags, mentions

log = logging.getLogger(__name__)


def detect_language(text: str) -> str:
    """ISO 639-1 code of the text's language, or '' when too short to tell."""
    if len(text.strip()) < 12:
        return ""
    try:
        language, _score = py3langid.classify(text)
    except Exception:  # the detector must never cost a user their post
        log.exception("language detection failed")
        return ""
    return str(language)[:8]


def clean_body(body: str | None, limit: int, field: str = "body") -> str:
    text = storable(body if isinstance(body, str) else "", field).strip()
    if not text:
        raise ValidationFailed({field: _("Say something first: the text is empty.")})
    if len(text) > limit:
        raise ValidationFailed({field: _(
            "That is %(len)d characters; the limit is %(max)d.", len=len(text), max=limit)})
    return text


async def create_post(author: User, body: str | None) -> Post:
    text = clean_body(body, POST_MAX)
    await ratelimit.enforce(ratelimit.POSTS, "posts", author.id, message=_(
        "You are posting too fast. Wait a few minutes and try again."))
    async with in_transaction() as conn:
        post, mentioned = await insert_post(author, text, conn)
    await post_created(post, mentioned)
    return post


async def insert_post(author: User, text: str, conn: BaseDBAsyncClient
                      ) -> tuple[Post, Mentioned]:
    """The row of a new post (its text already cleaned) and its mentions' notifications, in
    the caller's transaction. Shared by posting now and publishing a scheduled post, so both
    make the same post; the caller hands both to `post_created` after commit."""
    post = await Post.create(author=author, body=text, language=detect_language(text),
                             tags=hashtags(text), using_db=conn)
    post.author = author
    mentioned = await notify_mentions(conn, author, text, post.id)
    return post, mentioned


def post_rooms(author_id: int, tags: list[str]) -> list[str]:
    """Where a post's own events go: its author's followers and profile viewers, explore,
    and the pages of its hashtags."""
    return [author_room(author_id), explore_room(), *map(tag_room, tags)]


async def post_created(post: Post, mentioned: Mentioned = ()) -> None:
    """After commit: what a new post sets off, however it was made (posted now or a
    scheduled post published by the worker)."""
    await pagecache.changed(*post_rooms(post.author.id, post.tags))
    publish(PostCreated.of(post), *post_rooms(post.author.id, post.tags))
    publish_new_post(post.id)
    await announce_mentions(mentioned)
    await indexing.post_changed(post.id)


async def get_post(post_id: int) -> Post:
    post = await Post.get_or_none(id=post_id).select_related("author")
    if post is None:
        raise NotFound(_("No such post."))
    return post


async def delete_post(user: User, post_id: int) -> None:
    post = await get_post(post_id)
    if post.author_id != user.id:  # type: ignore[attr-defined]
        raise Forbidden(_("You can only delete your own posts."))
    await post.delete()
    await pagecache.changed(*post_rooms(user.id, post.tags), post_room(post_id))
    publish(PostDeleted(id=post_id), *post_rooms(user.id, post.tags), post_room(post_id))
    await indexing.post_removed(post_id)


# --- editing ------------------------------------------------------------------------------


async def edit_post(user: User, post_id: int, body: str | None) -> PostView:
    """The author replaces the text: the earlier one is kept (history), hashtags, language,
    search and translations follow the new text, people newly mentioned are notified, and
    every page showing the post gets `post.updated`."""
    text = clean_body(body, POST_MAX)
    post = await get_post(post_id)
    if post.author_id != user.id:  # type: ignore[attr-defined]
        raise Forbidden(_("You can only edit your own posts."))
    if text == post.body:
        return await view_of(post_id, user.id)
    await ratelimit.enforce(ratelimit.EDITS, "edits", user.id, message=_(
        "You are editing too fast. Wait a few minutes and try again."))
    old_tags = list(post.tags)
    async with in_transaction() as conn:
        rows = await conn.execute_query_dict(
            "SELECT body, COALESCE(edited_at, created_at) AS written_at FROM posts "
            "WHERE id = $1 FOR UPDATE", [post_id])
        if not rows:
            raise NotFound(_("No such post."))
        await conn.execute_query(
            "INSERT INTO post_edits (post_id, body, written_at, created_at) "
            "VALUES ($1, $2, $3, now())", [post_id, rows[0]["body"], rows[0]["written_at"]])
        tags = hashtags(text)
        await conn.execute_query(
            "UPDATE posts SET body = $2, language = $3, tags = $4, edited_at = now() "
            "WHERE id = $1", [post_id, text, detect_language(text), tags])
        already = set(mentions(rows[0]["body"]))
        mentioned = await notify_mentions(conn, user, text, post_id, already=already)
    await pagecache.changed(post_room(post_id))
    view = await view_of(post_id, user.id)
    # to everyone: what the author liked or reposted is theirs alone
    publish(PostUpdated.of(view).model_copy(update={"liked": False, "reposted": False}),
            *post_rooms(user.id, sorted(set(old_tags) | set(tags))), post_room(post_id))
    await announce_mentions(mentioned)
    await indexing.post_changed(post_id)
    return view


@dataclass(frozen=True, slots=True)
class EditView:
    body: str
    written_at: datetime


async def history(post_id: int) -> tuple[Post, list[EditView]]:
    """The post and its earlier texts, newest first."""
    post = await get_post(post_id)
    rows = await connections.get("default").execute_query_dict(
        "SELECT body, written_at FROM post_edits WHERE post_id = $1 ORDER BY id DESC",
        [post_id])
    return post, [EditView(r["body"], r["written_at"]) for r in rows]


# --- mentions -----------------------------------------------------------------------------

# (user id, their notification event), told after commit
Mentioned = Sequence[tuple[int, Event]]


async def notify_mentions(conn: BaseDBAsyncClient, author: User, text: str, post_id: int,
                          comment_id: int | None = None, already: set[str] | None = None
                          ) -> list[tuple[int, Event]]:
    """Inside the transaction writing the text: a `mention` notification to each person it
    @mentions (not the author, not someone mentioned before this edit, and not someone who
    blocked the author)."""
    names = [n for n in mentions(text)
             if n != author.username.lower() and n not in (already or set())]
    if not names:
        return []
    rows = await conn.execute_query_dict(
        "SELECT u.id FROM users u WHERE u.username_key = ANY($1::text[]) AND u.id <> $2 "
        "AND NOT EXISTS (SELECT 1 FROM blocks b WHERE b.blocker_id = u.id "
        "AND b.blocked_id = $2)", [names, author.id])
    data: dict[str, Any] = {"user": UserRef.of(author).model_dump(mode="json"),
                            "post_id": post_id, "excerpt": text[:100]}
    if comment_id is not None:
        data["comment_id"] = comment_id
    return [(row["id"], await notifications.notify(conn, row["id"], NotificationKind.MENTION,
                                                   data)) for row in rows]


async def announce_mentions(mentioned: Mentioned) -> None:
    """After commit: each mentioned person's bell, and an email if they want one."""
    for user_id, event in mentioned:
        publish_personal(user_id, event)
        await emails.mention_email(user_id, event)


# --- comments -----------------------------------------------------------------------------


async def add_comment(author: User, post_id: int, body: str | None) -> Comment:
    """A comment on a post: its page's viewers see it live, its author is notified, people
    it mentions are notified. Someone the post's author blocked cannot comment (nothing is
    written, nobody is told)."""
    text = clean_body(body, COMMENT_MAX)
    post = await get_post(post_id)
    post_author_id = post.author_id  # type: ignore[attr-defined]
    await social.check_not_blocked_by(post_author_id, author.id, _(
        "You cannot comment on this user's posts."))
    event = None
    await ratelimit.enforce(ratelimit.COMMENTS, "comments", author.id, message=_(
        "You are commenting too fast. Wait a few minutes and try again."))
    async with in_transaction() as conn:
        comment = await Comment.create(post=post, author=author, body=text,
                                       language=detect_language(text), using_db=conn)
        await conn.execute_query(
            "UPDATE posts SET comment_count = comment_count + 1 WHERE id = $1", [post.id])
        if post_author_id != author.id:
            event = await notifications.notify(conn, post_author_id, NotificationKind.COMMENT, {
                "user": UserRef.of(author).model_dump(mode="json"), "post_id": post.id,
                "comment_id": comment.id, "excerpt": text[:100]})
        # the post's author hears of the comment already
        mentioned = await notify_mentions(conn, author, text, post.id, comment.id, already={
            post.author.username.lower()})
    comment.author = author
    await pagecache.changed(post_room(post.id))  # its comment count
    if event is not None:
        publish_personal(post_author_id, event)
    publish(CommentCreated.of(comment), post_room(post.id), user_room(post_author_id))
    engagement.announce_stats(post.id, post_author_id)
    await announce_mentions(mentioned)
    if event is not None:
        await emails.comment_email(comment.id, post.author)
    return comment


async def comments(post: Post, req: PageRequest) -> Page[Comment]:
    query = Comment.filter(post_id=post.id)
    rows = await (query.order_by("id").offset(req.offset).limit(req.per_page + 1)
                  .select_related("author"))
    return Page(rows[: req.per_page], req.page, req.per_page, len(rows) > req.per_page)


# --- timelines ----------------------------------------------------------------------------
#
# Timelines are read with one hand-written query into light views rather than ORM objects:
# building Tortoise models for 25 posts and their authors cost four times the query itself.


@dataclass(frozen=True, slots=True)
class AuthorView:
    id: int
    username: str
    email: str

    def avatar_hash(self) -> str:
        return email_hash(self.email)

    def avatar(self, size: int = 128) -> str:
        return gravatar_url(self.email, size)


@dataclass(frozen=True, slots=True)
class PostView:
    id: int
    body: str
    language: str
    created_at: datetime
    author: AuthorView
    edited_at: datetime | None = None
    like_count: int = 0
    repost_count: int = 0
    comment_count: int = 0
    # for the reader (False when nobody is signed in)
    liked: bool = False
    reposted: bool = False
    # shown because this person (followed by the reader, or the reader) reposted it
    reposted_by: AuthorView | None = None
    reposted_at: datetime | None = None


VIEW_COLUMNS = ("p.id, p.body, p.language, p.created_at, p.author_id, u.username, u.email, "
                "p.edited_at, p.like_count, p.repost_count, p.comment_count")


def _viewer_columns(viewer_param: str | None) -> str:
    """Whether the reader liked and reposted each post: two index probes per row."""
    if viewer_param is None:
        return "FALSE AS liked, FALSE AS reposted"
    return (f"EXISTS (SELECT 1 FROM likes l WHERE l.post_id = p.id AND l.user_id = "
            f"{viewer_param}) AS liked, EXISTS (SELECT 1 FROM reposts rp WHERE rp.post_id = "
            f"p.id AND rp.user_id = {viewer_param}) AS reposted")


def post_view(row: dict[str, Any]) -> PostView:
    by = row.get("reposter_id")
    return PostView(row["id"], row["body"], row["language"], row["created_at"],
                    AuthorView(row["author_id"], row["username"], row["email"]),
                    row["edited_at"], row["like_count"], row["repost_count"],
                    row["comment_count"], bool(row.get("liked")), bool(row.get("reposted")),
                    AuthorView(by, row["r_username"], row["r_email"]) if by is not None
                    else None, row.get("reposted_at"))


async def views_by_id(ids: list[int], viewer_id: int | None = None) -> dict[int, PostView]:
    """The posts that still exist among `ids` (search hits, live results)."""
    params: list[Any] = [ids]
    viewer = None
    if viewer_id is not None:
        params.append(viewer_id)
        viewer = "$2"
    rows = await connections.get("default").execute_query_dict(
        f"SELECT {VIEW_COLUMNS}, {_viewer_columns(viewer)} FROM posts p "
        "JOIN users u ON u.id = p.author_id WHERE p.id = ANY($1::bigint[])", params)
    return {row["id"]: post_view(row) for row in rows}


async def view_of(post_id: int, viewer_id: int | None = None) -> PostView:
    """One post as cards and the API show it, or NotFound."""
    found = (await views_by_id([post_id], viewer_id)).get(post_id)
    if found is None:
        raise NotFound(_("No such post."))
    return found


@dataclass(frozen=True)
class Timeline:
    """Which posts: a WHERE clause over `posts p` and its parameters, and, for timelines
    that show reposts, a WHERE clause over `reposts r` (same parameters)."""

    where: str
    params: tuple[Any, ...] = ()
    reposts: str | None = None


def home_scope(user: User) -> Timeline:
    """Own posts plus followed users' posts, and what they and the user reposted; each post
    once, however it qualifies, at its newest reason to be there."""
    followed = "(SELECT followed_id FROM follows WHERE follower_id = $1)"
    return Timeline(f"(p.author_id = $1 OR p.author_id IN {followed})", (user.id,),
                    f"(r.user_id = $1 OR r.user_id IN {followed})")


def explore_scope() -> Timeline:
    return Timeline("TRUE")


def user_scope(user: User) -> Timeline:
    """A profile: the user's posts and reposts."""
    return Timeline("p.author_id = $1", (user.id,), "r.user_id = $1")


async def read_timeline(scope: Timeline, req: PageRequest, count: bool = False,
                        since_id: int | None = None, viewer_id: int | None = None
                        ) -> Page[PostView]:
    """Newest first. `since_id` keeps only entries newer than it (filling a gap);
    `viewer_id` says whose likes and reposts the cards show."""
    params = list(scope.params)
    where = scope.where
    newer = ""
    if since_id is not None:
        params.append(since_id)
        newer = f" AND {{id}} > ${len(params)}"
        where = f"{where}{newer.format(id='p.id')}"
    viewer = None
    if viewer_id is not None:
        params.append(viewer_id)
        viewer = f"${len(params)}"
    params.extend([req.per_page + 1, req.offset])
    limit, offset = f"${len(params) - 1}", f"${len(params)}"
    conn = connections.get("default")
    # `where` comes from the scopes above, never from input; values travel as parameters
    if scope.reposts is None:
        sql = (f"SELECT {VIEW_COLUMNS}, {_viewer_columns(viewer)} FROM posts p "
               f"JOIN users u ON u.id = p.author_id "
               f"WHERE {where} ORDER BY p.id DESC LIMIT {limit} OFFSET {offset}")
    else:
        # Posts and reposts share one id sequence: the newest (limit + offset) of each
        # (reposts once per post, the newest), then each post once at its newest entry.
        # A repost of a post whose author blocked the reader, or whom the reader blocked, is
        # left out of the page once chosen (`hidden`; rare: such a page shows fewer posts),
        # which spares the repost branch a look at every reposted post's author.
        repost_where = f"{scope.reposts}{newer.format(id='r.id')}"
        hidden = "FALSE" if viewer is None else (
            f"page.reposter_id IS NOT NULL AND EXISTS (SELECT 1 FROM blocks b WHERE "
            f"(b.blocker_id = p.author_id AND b.blocked_id = {viewer}) OR "
            f"(b.blocker_id = {viewer} AND b.blocked_id = p.author_id))")
        sql = f"""
WITH own AS (
  SELECT p.id AS post_id, p.id AS sort_id, NULL::int AS reposter_id,
         NULL::timestamptz AS reposted_at
  FROM posts p WHERE {where} ORDER BY p.id DESC LIMIT {limit}::int + {offset}::int),
shared AS (
  SELECT * FROM (
    SELECT DISTINCT ON (r.post_id) r.post_id, r.id AS sort_id, r.user_id AS reposter_id,
           r.created_at AS reposted_at
    FROM reposts r WHERE {repost_where}
    ORDER BY r.post_id, r.id DESC) newest
  ORDER BY sort_id DESC LIMIT {limit}::int + {offset}::int),
entries AS (
  SELECT DISTINCT ON (post_id) * FROM (SELECT * FROM own UNION ALL SELECT * FROM shared) e
  ORDER BY post_id, sort_id DESC),
page AS (SELECT * FROM entries ORDER BY sort_id DESC LIMIT {limit} OFFSET {offset})
SELECT {VIEW_COLUMNS}, {_viewer_columns(viewer)}, page.reposter_id, page.reposted_at,
       ru.username AS r_username, ru.email AS r_email, {hidden} AS hidden
FROM page JOIN posts p ON p.id = page.post_id JOIN users u ON u.id = p.author_id
LEFT JOIN users ru ON ru.id = page.reposter_id
ORDER BY page.sort_id DESC"""
    rows = await conn.execute_query_dict(sql, params)
    items = [post_view(r) for r in rows[: req.per_page] if not r.get("hidden")]
    total = None
    if count:
        counted = params[: len(scope.params) + (since_id is not None)]
        if scope.reposts is None:
            sql = f"SELECT count(*) AS n FROM posts p WHERE {where}"
        else:
            sql = (f"SELECT count(*) AS n FROM (SELECT p.id FROM posts p WHERE {where} UNION "
                   f"SELECT r.post_id FROM reposts r WHERE {scope.reposts}"
                   f"{newer.format(id='r.id')}) e")
        result = await conn.execute_query_dict(sql, counted)
        total = int(result[0]["n"])
    return Page(items, req.page, req.per_page, len(rows) > req.per_page, total)


async def home_timeline(user: User, req: PageRequest, count: bool = False,
                        since_id: int | None = None) -> Page[PostView]:
    return await read_timeline(home_scope(user), req, count, since_id, user.id)


async def explore(req: PageRequest, count: bool = False, since_id: int | None = None,
                  viewer: User | None = None) -> Page[PostView]:
    return await read_timeline(explore_scope(), req, count, since_id,
                               viewer.id if viewer is not None else None)


async def posts_by(user: User, req: PageRequest, count: bool = False,
                   since_id: int | None = None, viewer: User | None = None) -> Page[PostView]:
    return await read_timeline(user_scope(user), req, count, since_id,
                               viewer.id if viewer is not None else None)
