"""Posts, comments and the timelines that read them."""

from __future__ import annotations

import logging
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
from microblog.realtime.events import CommentCreated, PostCreated, PostDeleted
from microblog.realtime.publish import publish, publish_new_post, publish_personal
from microblog.realtime.rooms import author_room, explore_room, post_room, user_room
from microblog.schemas import UserRef
from microblog.services import emails, indexing, notifications, social
from microblog.services.pagination import Page, PageRequest
from microblog.text import hashtags

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
    post = await insert_post(author, text)
    await post_created(post)
    return post


async def insert_post(author: User, text: str,
                      conn: BaseDBAsyncClient | None = None) -> Post:
    """The row of a new post (its text already cleaned), in the caller's transaction if any.
    Shared by posting now and publishing a scheduled post, so both make the same post."""
    post = await Post.create(author=author, body=text, language=detect_language(text),
                             tags=hashtags(text), using_db=conn)
    post.author = author
    return post


async def post_created(post: Post) -> None:
    """After commit: what a new post sets off, however it was made (posted now or a
    scheduled post published by the worker)."""
    publish(PostCreated.of(post), author_room(post.author.id), explore_room())
    publish_new_post(post.id)
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
    publish(PostDeleted(id=post_id), author_room(user.id), explore_room())
    await indexing.post_removed(post_id)


async def add_comment(author: User, post_id: int, body: str | None) -> Comment:
    """A comment on a post: its page's viewers see it live, its author is notified. Someone
    the post's author blocked cannot comment (nothing is written, nobody is told)."""
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
        if post_author_id != author.id:
            event = await notifications.notify(conn, post_author_id, NotificationKind.COMMENT, {
                "user": UserRef.of(author).model_dump(mode="json"), "post_id": post.id,
                "comment_id": comment.id, "excerpt": text[:100]})
    comment.author = author
    if event is not None:
        publish_personal(post_author_id, event)
    publish(CommentCreated.of(comment), post_room(post.id), user_room(post_author_id))
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


VIEW_COLUMNS = "p.id, p.body, p.language, p.created_at, p.author_id, u.username, u.email"


def post_view(row: dict[str, Any]) -> PostView:
    return PostView(row["id"], row["body"], row["language"], row["created_at"],
                    AuthorView(row["author_id"], row["username"], row["email"]))


async def views_by_id(ids: list[int]) -> dict[int, PostView]:
    """The posts that still exist among `ids` (search hits, live results)."""
    rows = await connections.get("default").execute_query_dict(
        f"SELECT {VIEW_COLUMNS} FROM posts p JOIN users u ON u.id = p.author_id "
        "WHERE p.id = ANY($1::bigint[])", [ids])
    return {row["id"]: post_view(row) for row in rows}


@dataclass(frozen=True)
class Timeline:
    """Which posts: a WHERE clause over `posts p` and its parameters."""

    where: str
    params: tuple[Any, ...] = ()


def home_scope(user: User) -> Timeline:
    """Own posts plus followed users' posts; each post once, however it qualifies."""
    return Timeline("(p.author_id = $1 OR p.author_id IN "
                    "(SELECT followed_id FROM follows WHERE follower_id = $1))", (user.id,))


def explore_scope() -> Timeline:
    return Timeline("TRUE")


def user_scope(user: User) -> Timeline:
    return Timeline("p.author_id = $1", (user.id,))


async def read_timeline(scope: Timeline, req: PageRequest, count: bool = False,
                        since_id: int | None = None) -> Page[PostView]:
    """Newest first. `since_id` keeps only posts newer than it (filling a gap)."""
    where, params = scope.where, list(scope.params)
    if since_id is not None:
        params.append(since_id)
        where = f"{where} AND p.id > ${len(params)}"
    params.extend([req.per_page + 1, req.offset])
    conn = connections.get("default")
    # `where` comes from the scopes above, never from input; values travel as parameters
    limit, offset = f"${len(params) - 1}", f"${len(params)}"
    sql = (f"SELECT {VIEW_COLUMNS} FROM posts p JOIN users u ON u.id = p.author_id "
           f"WHERE {where} ORDER BY p.id DESC LIMIT {limit} OFFSET {offset}")
    rows = await conn.execute_query_dict(sql, params)
    items = [post_view(r) for r in rows[: req.per_page]]
    total = None
    if count:
        result = await conn.execute_query_dict(
            f"SELECT count(*) AS n FROM posts p WHERE {where}", params[:-2])
        total = int(result[0]["n"])
    return Page(items, req.page, req.per_page, len(rows) > req.per_page, total)


async def home_timeline(user: User, req: PageRequest, count: bool = False,
                        since_id: int | None = None) -> Page[PostView]:
    return await read_timeline(home_scope(user), req, count, since_id)


async def explore(req: PageRequest, count: bool = False,
                  since_id: int | None = None) -> Page[PostView]:
    return await read_timeline(explore_scope(), req, count, since_id)


async def posts_by(user: User, req: PageRequest, count: bool = False,
                   since_id: int | None = None) -> Page[PostView]:
    return await read_timeline(user_scope(user), req, count, since_id)
