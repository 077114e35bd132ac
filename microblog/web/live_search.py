"""Live search results: a socket that subscribes `{stream: "search", q}` gets each new post
that matches q as a `search.result`, highlighted for q.

Every instance learns each new post's id from one Redis channel (posting publishes it after
commit; `microblog.realtime.publish.publish_new_post`). An instance with searches open then
asks PostgreSQL once, in one statement, which of its sockets' queries the post matches —
the same compiled conditions the PostgreSQL backend searches with, each with its viewer's
privacy (the author's blocks, read at that moment) — and highlights it once per matching
query. Queries are compiled once, at subscribe. An instance with no open search does
nothing. One statement per new post over every open query on the instance, rather than
Elasticsearch's percolator, which would add a round trip to a second store for each post and
exists on only one of the two backends; its cost is in README.md, Performance.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import socketio
from tortoise import connections

from microblog.i18n import gettext as _
from microblog.models import User
from microblog.realtime.events import SearchResult
from microblog.realtime.personal import StreamError
from microblog.schemas import PostHit
from microblog.search.backend import PostSearch
from microblog.search.postgres import compile_tsqueries, highlight_for, post_condition
from microblog.search.query import parse
from microblog.services import search as search_service
from microblog.services.posts import views_by_id

log = logging.getLogger(__name__)

MAX_SEARCHES = 5  # open live searches per socket


@dataclass(frozen=True)
class Subscription:
    q: str
    viewer_id: int
    search: PostSearch
    tsqueries: dict[str, str] | None


class LiveSearch:
    def __init__(self, sio: socketio.AsyncServer) -> None:
        self.sio = sio
        self.by_sid: dict[str, dict[str, Subscription]] = {}

    async def subscribe(self, sid: str, viewer: User, q: str | None) -> None:
        """Follow q on this socket; a QueryError (invalid ack) when q cannot mean anything."""
        query = parse(q)
        searches = self.by_sid.setdefault(sid, {})
        if query.raw not in searches and len(searches) >= MAX_SEARCHES:
            raise StreamError(_("A connection can follow at most %(max)d searches at once.",
                                max=MAX_SEARCHES))
        search = await search_service.resolve(viewer, query)
        tsqueries = await compile_tsqueries(query) if query.has_text else None
        searches[query.raw] = Subscription(query.raw, viewer.id, search, tsqueries)

    def unsubscribe(self, sid: str, q: str | None) -> None:
        searches = self.by_sid.get(sid)
        if searches is not None:
            searches.pop((q or "").strip(), None)
            if not searches:
                del self.by_sid[sid]

    def drop(self, sid: str) -> None:
        self.by_sid.pop(sid, None)

    async def new_post(self, post_id: int) -> None:
        try:
            await self._match(post_id)
        except Exception:  # one bad match must not stop the next post's
            log.exception("live search: could not match post %s", post_id)

    async def _match(self, post_id: int) -> None:
        subscriptions = [(sid, s) for sid, searches in list(self.by_sid.items())
                         for s in searches.values()]
        if not subscriptions:
            return
        # one condition per distinct (viewer, query): many sockets often follow one search
        keys: dict[tuple[int, str], int] = {}
        params: list[Any] = [post_id]
        columns: list[str] = []
        for _sid, sub in subscriptions:
            key = (sub.viewer_id, sub.q)
            if key in keys:
                continue
            keys[key] = len(columns)
            params.append(sub.viewer_id)
            viewer = f"${len(params)}"
            condition = post_condition(sub.search, sub.tsqueries, params)
            columns.append(
                f"({condition} AND NOT EXISTS (SELECT 1 FROM blocks b "
                f"WHERE b.blocker_id = p.author_id AND b.blocked_id = {viewer}::int))")
        rows = await connections.get("default").execute_query_dict(
            f"SELECT ARRAY[{', '.join(columns)}] AS matched FROM posts p "
            f"WHERE p.id = $1", params)
        if not rows:
            return  # deleted already
        matched = rows[0]["matched"]
        hits = [(sid, sub) for sid, sub in subscriptions
                if matched[keys[(sub.viewer_id, sub.q)]]]
        if not hits:
            return
        views = await views_by_id([post_id])
        if post_id not in views:
            return
        # one highlight per distinct query text, all in one statement
        texts = {sub.q: sub.tsqueries for _sid, sub in hits if sub.tsqueries}
        marked: dict[str, str | None] = dict.fromkeys(sub.q for _sid, sub in hits)
        if texts:
            results = await highlight_for(post_id, list(texts.values()))
            if results is not None:
                marked.update(zip(texts, results, strict=True))
        payloads: dict[str, dict[str, Any]] = {}
        for sid, sub in hits:
            if sub.q not in payloads:
                html = search_service.highlight_of(views[post_id], marked[sub.q],
                                                   sub.search.query)
                payloads[sub.q] = SearchResult(
                    q=sub.q, post=PostHit.hit(views[post_id], str(html))).payload()
            await self.sio.emit(SearchResult.name, payloads[sub.q], to=sid)
