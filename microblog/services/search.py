"""Search: posts (through the process's backend), people and hashtags (PostgreSQL), with the
same privacy rules everywhere: a post is never shown to someone its author blocked, and a
scheduled post does not exist as a post until it is published.

Pages, the API and live results call these; the backends only answer "which posts match".
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from markupsafe import Markup
from tortoise import connections

from microblog.limits import SEARCH_HITS_MAX
from microblog.models import User
from microblog.search import backend, vocabulary
from microblog.search.backend import PostSearch, Sort, mark_cjk, render_highlight, strip_marks
from microblog.search.query import Query, parse
from microblog.services.pagination import Page, PageRequest
from microblog.services.posts import PostView, views_by_id
from microblog.text import tag_name


@dataclass(frozen=True, slots=True)
class PostHit:
    post: PostView
    highlight: Markup


@dataclass(frozen=True)
class SearchPage(Page[Any]):
    suggestion: str | None = None


@dataclass(frozen=True, slots=True)
class TagHit:
    name: str
    uses: int


def clamp(req: PageRequest) -> tuple[int, int]:
    """(offset, limit) of a page within the SEARCH_HITS_MAX results a search goes to."""
    offset = min(req.offset, SEARCH_HITS_MAX)
    return offset, max(0, min(req.per_page, SEARCH_HITS_MAX - offset))


async def resolve(viewer: User, query: Query, sort: Sort = Sort.LATEST,
                  req: PageRequest | None = None) -> PostSearch:
    """The query's names as ids: `from:` (and `from:me`), and everyone who blocked the
    viewer (their posts are never shown to them)."""
    names = {n.lower() for n in query.authors + query.not_authors if n.lower() != "me"}
    conn = connections.get("default")
    ids: dict[str, int] = {}
    if names:
        rows = await conn.execute_query_dict(
            "SELECT id, username_key FROM users WHERE username_key = ANY($1::text[])",
            [sorted(names)])
        ids = {r["username_key"]: r["id"] for r in rows}
    ids["me"] = viewer.id

    def lookup(names: tuple[str, ...]) -> tuple[int, ...]:
        return tuple(ids[n.lower()] for n in names if n.lower() in ids)

    blockers = await conn.execute_query_dict(
        "SELECT blocker_id FROM blocks WHERE blocked_id = $1", [viewer.id])
    offset, limit = clamp(req or PageRequest())
    return PostSearch(
        query=query, sort=sort, offset=offset, limit=limit,
        authors=lookup(query.authors) if query.authors else None,
        not_authors=tuple(sorted({*lookup(query.not_authors),
                                  *(r["blocker_id"] for r in blockers)})))


def highlight_of(post: PostView, marked: str | None, query: Query) -> Markup:
    text = marked if marked is not None else strip_marks(post.body)
    return render_highlight(mark_cjk(text, query))


async def search_posts(viewer: User, q: str | None, sort: str | None,
                       req: PageRequest) -> SearchPage:
    """A page of posts matching `q`; a QueryError (400) says what is wrong with `q`."""
    query = parse(q)
    order = Sort(sort) if sort in ("latest", "top") else Sort.LATEST
    search = await resolve(viewer, query, order, req)
    engine = backend()
    matches = await engine.search_posts(search)
    suggestion = None
    # a query that finds nothing gets its words looked at (one that finds posts, even
    # through stemming, says what the reader meant)
    if matches.total == 0 and req.page == 1 and query.words():
        fixes = await vocabulary.corrections(query.words())
        if fixes:
            suggestion = vocabulary.suggestion(query.raw, {w: f[0] for w, f in fixes.items()})
            if not getattr(engine, "fuzzy", False):
                wider = await engine.search_posts(
                    replace(search, query=query.with_alternatives(fixes)))
                if wider.total > matches.total:
                    matches = wider
    views = await views_by_id(matches.ids, viewer.id) if matches.ids else {}
    # a post deleted since the index saw it is simply not shown
    hits = [PostHit(views[i], highlight_of(views[i], matches.highlights.get(i), query))
            for i in matches.ids if i in views]
    return SearchPage(hits, req.page, req.per_page,
                      has_next=search.offset + search.limit < matches.total,
                      total_items=matches.total, suggestion=suggestion)


async def search_users(viewer: User, q: str | None, req: PageRequest) -> SearchPage:
    """People whose username starts with `q` or whose about me has its words; exact name
    first, then by followers, with people the viewer follows ahead. People who blocked the
    viewer are left out."""
    text = " ".join((q or "").split())[:100]
    prefix = text.lstrip("@").lower()
    if not text:
        return SearchPage([], req.page, req.per_page, has_next=False, total_items=0)
    offset, limit = clamp(req)
    like = _like_prefix(prefix)
    rows = await connections.get("default").execute_query_dict(
        """
        WITH found AS (
          SELECT u.id, u.username_key = $2 AS exact, u.username_key LIKE $3 AS prefix,
                 u.follower_count AS followers,
                 EXISTS (SELECT 1 FROM follows f
                         WHERE f.follower_id = $1 AND f.followed_id = u.id) AS followed
          FROM users u
          WHERE (u.username_key LIKE $3
                 OR to_tsvector('mb_simple', coalesce(u.about_me, ''))
                    @@ plainto_tsquery('mb_simple', $4))
            AND NOT EXISTS (SELECT 1 FROM blocks b
                            WHERE b.blocker_id = u.id AND b.blocked_id = $1)
          LIMIT $7)
        SELECT id, count(*) OVER () AS total FROM found
        ORDER BY exact DESC,
                 ln(1 + followers) + CASE WHEN followed THEN 3 ELSE 0 END
                 + CASE WHEN prefix THEN 2 ELSE 0 END DESC, id
        LIMIT $5 OFFSET $6
        """, [viewer.id, prefix, like, text, limit, offset, SEARCH_HITS_MAX])
    total = int(rows[0]["total"]) if rows else 0
    order = [r["id"] for r in rows]
    users = {u.id: u for u in await User.filter(id__in=order)}
    items = [users[i] for i in order if i in users]
    return SearchPage(items, req.page, req.per_page, has_next=offset + limit < total,
                      total_items=total)


async def search_tags(q: str | None, req: PageRequest) -> SearchPage:
    """Hashtags starting with `q` (with or without '#'), the most used lately first."""
    name = tag_name(" ".join((q or "").split()).lstrip("#"))
    if not name:
        return SearchPage([], req.page, req.per_page, has_next=False, total_items=0)
    offset, limit = clamp(req)
    rows = await connections.get("default").execute_query_dict(
        """
        SELECT tag, count(*) AS uses,
               count(*) FILTER (WHERE created_at > now() - interval '7 days') AS recent,
               count(*) OVER () AS total
        FROM post_tags WHERE tag LIKE $1
        GROUP BY tag ORDER BY recent DESC, uses DESC, tag LIMIT $2 OFFSET $3
        """, [_like_prefix(name), limit, offset])
    total = int(rows[0]["total"]) if rows else 0
    items = [TagHit(r["tag"], int(r["uses"])) for r in rows]
    return SearchPage(items, req.page, req.per_page, has_next=offset + limit < total,
                      total_items=total)


MENTION_SUGGESTIONS = 8


async def usernames_starting(viewer: User, prefix: str, limit: int = MENTION_SUGGESTIONS
                             ) -> list[tuple[str, str]]:
    """(username, email) of up to `limit` other people whose username starts with `prefix`
    (any case), for @mention suggestions while typing. In the index's own order (~<~,
    byte-wise): it reads the first rows of users_username_prefix and stops, however common or
    rare the prefix (ORDER BY username_key would walk the unique index instead)."""
    rows = await connections.get("default").execute_query_dict(
        "SELECT username, email FROM users WHERE username_key LIKE $1 AND id <> $2 "
        "ORDER BY username_key USING ~<~ LIMIT $3",
        [_like_prefix(prefix.lower()), viewer.id, limit])
    return [(row["username"], row["email"]) for row in rows]


def _like_prefix(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"{escaped}%"
