"""Posts, comments and the timelines that read them."""

from __future__ import annotations

import logging

import py3langid
from tortoise.expressions import Q, Subquery
from tortoise.queryset import QuerySet

from microblog.i18n import gettext as _
from microblog.models import Comment, Follow, Post, User
from microblog.models.post import COMMENT_MAX, POST_MAX
from microblog.services.errors import Forbidden, NotFound, ValidationFailed
from microblog.services.pagination import Page, PageRequest

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
    text = (body or "").strip()
    if not text:
        raise ValidationFailed({field: _("Say something first: the text is empty.")})
    if len(text) > limit:
        raise ValidationFailed({field: _(
            "That is %(len)d characters; the limit is %(max)d.", len=len(text), max=limit)})
    return text


async def create_post(author: User, body: str | None) -> Post:
    text = clean_body(body, POST_MAX)
    post = await Post.create(author=author, body=text, language=detect_language(text))
    post.author = author
    return post


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


async def add_comment(author: User, post_id: int, body: str | None) -> Comment:
    text = clean_body(body, COMMENT_MAX)
    post = await get_post(post_id)
    comment = await Comment.create(post=post, author=author, body=text)
    comment.author = author
    return comment


async def comments(post: Post, req: PageRequest) -> Page[Comment]:
    query = Comment.filter(post_id=post.id)
    rows = await (query.order_by("id").offset(req.offset).limit(req.per_page + 1)
                  .select_related("author"))
    return Page(rows[: req.per_page], req.page, req.per_page, len(rows) > req.per_page)


# --- timelines ----------------------------------------------------------------------------


def home_query(user: User) -> QuerySet[Post]:
    """Own posts plus followed users' posts; each post once, however it qualifies."""
    followed = Follow.filter(follower_id=user.id).values("followed_id")
    return Post.filter(Q(author_id=user.id) | Q(author_id__in=Subquery(followed)))


def explore_query() -> QuerySet[Post]:
    return Post.all()


def user_posts_query(user: User) -> QuerySet[Post]:
    return Post.filter(author_id=user.id)


async def page_of(query: QuerySet[Post], req: PageRequest, count: bool = False,
                  since_id: int | None = None) -> Page[Post]:
    """Newest first. `since_id` keeps only posts newer than it (filling a gap)."""
    if since_id is not None:
        query = query.filter(id__gt=since_id)
    rows = await (query.order_by("-id").offset(req.offset).limit(req.per_page + 1)
                  .select_related("author"))
    total = await query.count() if count else None
    return Page(rows[: req.per_page], req.page, req.per_page, len(rows) > req.per_page, total)


async def home_timeline(user: User, req: PageRequest, count: bool = False) -> Page[Post]:
    return await page_of(home_query(user), req, count)


async def explore(req: PageRequest, count: bool = False) -> Page[Post]:
    return await page_of(explore_query(), req, count)


async def posts_by(user: User, req: PageRequest, count: bool = False) -> Page[Post]:
    return await page_of(user_posts_query(user), req, count)
