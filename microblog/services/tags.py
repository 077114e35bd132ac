"""Hashtags: a tag's posts and the tags trending now.

`post_tags` (kept by the database from posts.tags, migrations/models/5_*) holds one row per
(tag, post) with the author and the time, so both reads are index ranges."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from tortoise import connections

from microblog.errors import NotFound
from microblog.i18n import gettext as _
from microblog.models import User
from microblog.services.pagination import Page, PageRequest
from microblog.services.posts import PostView, Timeline, read_timeline
from microblog.text import is_tag, tag_name

TRENDING_WINDOW_HOURS = 24
TRENDING_MAX = 10
# explore shows trending tags on every view: one query per process per this many seconds
TRENDING_CACHE_SECONDS = 30.0
_trending: dict[int, tuple[float, list[TrendingTag]]] = {}


@dataclass(frozen=True, slots=True)
class TrendingTag:
    name: str
    uses: int
    people: int


def clean_tag(raw: Any) -> str:
    """A tag's canonical name from a URL or a query (`Café`, `#café` → `café`), or
    NotFound."""
    name = tag_name(raw.removeprefix("#")) if isinstance(raw, str) else ""
    if not is_tag(name):
        raise NotFound(_("No such hashtag."))
    return name


def tag_scope(name: str) -> Timeline:
    return Timeline("p.id IN (SELECT post_id FROM post_tags WHERE tag = $1)", (name,))


async def tagged(name: str, req: PageRequest, count: bool = False,
                 since_id: int | None = None, viewer: User | None = None) -> Page[PostView]:
    """Posts with the hashtag, newest first."""
    return await read_timeline(tag_scope(clean_tag(name)), req, count, since_id,
                               viewer.id if viewer is not None else None)


async def trending(limit: int = TRENDING_MAX) -> list[TrendingTag]:
    """The tags of the last 24 hours, by how many people used them, then how often."""
    cached = _trending.get(limit)
    if cached is not None and time.monotonic() - cached[0] < TRENDING_CACHE_SECONDS:
        return cached[1]
    rows = await connections.get("default").execute_query_dict(
        "SELECT tag, count(*) AS uses, count(DISTINCT author_id) AS people FROM post_tags "
        "WHERE created_at > now() - make_interval(hours => $1) GROUP BY tag "
        "ORDER BY people DESC, uses DESC, tag LIMIT $2", [TRENDING_WINDOW_HOURS, limit])
    tags = [TrendingTag(r["tag"], int(r["uses"]), int(r["people"])) for r in rows]
    _trending[limit] = (time.monotonic(), tags)
    return tags


def forget_trending() -> None:
    """Tests: read the tags afresh."""
    _trending.clear()
