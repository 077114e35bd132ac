"""Search on PostgreSQL's full-text search: the default backend, and what `make run` uses.

The index is the database's own (migration 5): `posts.search`, a tsvector the `posts_search`
trigger computes in the writer's transaction from the body in its detected language
(`mb_english` and `mb_spanish` stem and fold accents, everything else `mb_simple`), every
character and bigram of its CJK runs, and its `#tags`. A post is searchable the moment its
transaction commits, gone when deleted, and can never drift.

A query is analysed like the post it is matched against: it is compiled once per
configuration, and a post is tested with its own language's version. The union of the three
uses the GIN index; the per-language test is exact. `sort=top` ranks the newest
CANDIDATES matches only, so its cost does not grow with the number of matches.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from tortoise import connections

from microblog.limits import SEARCH_HITS_MAX
from microblog.search.backend import (
    CANDIDATES,
    MARK_CLOSE,
    MARK_OPEN,
    PostMatches,
    PostSearch,
    Progress,
    Sort,
    strip_marks,
)
from microblog.search.query import (
    CJK_RUN,
    AnyOf,
    Clause,
    Phrase,
    Query,
    Tag,
    Term,
    cjk_runs,
    query_grams,
    searchable,
)
from microblog.text import hashtags

log = logging.getLogger(__name__)

CONFIGS = {"en": "mb_english", "es": "mb_spanish", "": "mb_simple"}
REINDEX_BATCH = 10_000
REINDEX_WORKERS = 2  # connections rebuilding at once (PostgreSQL does the work)
# a recent post outranks an older one of equal relevance; a week halves the score
RECENCY_DAYS = 7.0


def lexeme(text: str) -> str:
    """A tsquery operand for one exact lexeme (tags, CJK grams)."""
    return "'" + text.replace("\\", "\\\\").replace("'", "''") + "'"


def literal(text: str) -> str:
    """A SQL string literal (standard_conforming_strings is on)."""
    return "'" + text.replace("'", "''") + "'"


class TsqueryCompiler:
    """The query as one tsquery expression per configuration, values as parameters."""

    def __init__(self) -> None:
        self.params: list[Any] = []
        self._index: dict[Any, str] = {}

    def param(self, value: Any) -> str:
        if value not in self._index:
            self.params.append(value)
            self._index[value] = f"${len(self.params)}"
        return self._index[value]

    def term(self, term: Term, config: str) -> str:
        if isinstance(term, Tag):
            return f"{self.param(lexeme('#' + term.name))}::tsquery"
        parts = []
        rest = CJK_RUN.sub(" ", term.text)
        if searchable(rest):
            function = "phraseto_tsquery" if isinstance(term, Phrase) else "plainto_tsquery"
            parts.append(f"{function}('{config}', {self.param(rest)})")
        for run in cjk_runs(term.text):
            grams = " & ".join(lexeme(g) for g in query_grams(run))
            parts.append(f"{self.param(grams)}::tsquery")
        return "(" + " && ".join(parts) + ")" if parts else "''::tsquery"

    def clause(self, clause: Clause, config: str) -> str:
        if isinstance(clause, AnyOf):
            return "(" + " || ".join(self.term(t, config) for t in clause.terms) + ")"
        return self.term(clause, config)

    def query(self, query: Query, config: str) -> str:
        parts = [self.clause(c, config) for c in query.must]
        parts.extend(f"!!{self.term(t, config)}" for t in query.must_not)
        return " && ".join(parts)


async def compile_tsqueries(query: Query) -> dict[str, str]:
    """{language: tsquery text} for en, es and everything else ('')."""
    compiler = TsqueryCompiler()
    columns = ", ".join(f"({compiler.query(query, config)})::text AS \"{lang or 'other'}\""
                        for lang, config in CONFIGS.items())
    rows = await connections.get("default").execute_query_dict(f"SELECT {columns}",
                                                                compiler.params)
    return {lang: rows[0][lang or "other"] or "" for lang in CONFIGS}


def own_language(tsqueries: dict[str, str]) -> str:
    """The query as `posts p`'s own language analyses it. The tsqueries are PostgreSQL's own
    output, written as literals so each search is planned for its words."""
    cases = " ".join(f"WHEN {literal(lang)} THEN {literal(q)}::tsquery"
                     for lang, q in tsqueries.items() if lang)
    return f"(CASE p.language {cases} ELSE {literal(tsqueries[''])}::tsquery END)"


def text_condition(tsqueries: dict[str, str]) -> str:
    """The posts whose own language's analysis of the query matches; the union of the
    languages' queries lets the GIN index find the candidates."""
    union = " || ".join(f"{literal(q)}::tsquery" for q in tsqueries.values() if q)
    if not union:
        return "FALSE"
    return f"p.search @@ ({union}) AND p.search @@ {own_language(tsqueries)}"


def filters(search: PostSearch, params: list[Any]) -> list[str]:
    def param(value: Any) -> str:
        params.append(value)
        return f"${len(params)}"

    query = search.query
    where = []
    if search.authors is not None:
        where.append(f"p.author_id = ANY({param(list(search.authors))}::int[])")
    if search.not_authors:
        where.append(f"p.author_id <> ALL({param(list(search.not_authors))}::int[])")
    if query.languages:
        where.append(f"p.language = ANY({param(list(query.languages))}::text[])")
    if query.not_languages:
        where.append(f"p.language <> ALL({param(list(query.not_languages))}::text[])")
    if query.after is not None:
        where.append(f"p.created_at >= {param(query.after)}")
    if query.before is not None:
        where.append(f"p.created_at < {param(query.before)}")
    return where


def post_condition(search: PostSearch, tsqueries: dict[str, str] | None,
                   params: list[Any]) -> str:
    """The WHERE condition over `posts p` of a search (its values appended to `params`)."""
    where = filters(search, params)
    if tsqueries is not None:
        where.append(text_condition(tsqueries))
    return " AND ".join(where) or "TRUE"


def headline(tsqueries: dict[str, str]) -> str:
    """The SQL of `posts p`'s body with this query's matches between the marks."""
    options = f"StartSel={MARK_OPEN}, StopSel={MARK_CLOSE}, HighlightAll=true"
    return (f"ts_headline(mb_search_config(p.language), "
            f"mb_search_text(translate(p.body, {literal(MARK_OPEN + MARK_CLOSE)}, '')), "
            f"{own_language(tsqueries)}, {literal(options)})")


async def highlight(ids: list[int], tsqueries: dict[str, str]) -> dict[int, str]:
    """The bodies of `ids` with the query's matches between MARK_OPEN and MARK_CLOSE."""
    rows = await connections.get("default").execute_query_dict(
        f"SELECT p.id, p.body, {headline(tsqueries)} AS marked "
        f"FROM posts p WHERE p.id = ANY($1::bigint[])", [ids])
    return {int(r["id"]): restore(r["marked"], strip_marks(r["body"])) for r in rows}


async def highlight_for(post_id: int, queries: list[dict[str, str]]) -> list[str] | None:
    """One post's body highlighted for each of several queries, in one statement (None
    when the post is gone)."""
    columns = ", ".join(headline(q) for q in queries)
    rows = await connections.get("default").execute_query_dict(
        f"SELECT p.body, ARRAY[{columns}] AS marked FROM posts p WHERE p.id = $1", [post_id])
    if not rows:
        return None
    body = strip_marks(rows[0]["body"])
    return [restore(marked, body) for marked in rows[0]["marked"]]


def restore(marked: str, body: str) -> str:
    """`marked` (marks in mb_search_text(body)) with the body's own characters back."""
    out = []
    i = 0
    for ch in marked:
        if ch in (MARK_OPEN, MARK_CLOSE):
            out.append(ch)
        elif i < len(body):
            out.append(body[i])
            i += 1
    if i != len(body):  # the parser changed the text after all: no marks rather than wrong ones
        return body
    return "".join(out)


class PostgresSearch:
    name = "postgres"
    fuzzy = False  # typo tolerance comes from the vocabulary (microblog.search.vocabulary)

    async def ping(self) -> None:
        return None  # PostgreSQL's readiness is /readyz's first check already

    async def search_posts(self, search: PostSearch) -> PostMatches:
        if search.authors == ():
            return PostMatches([], 0)  # from: someone who does not exist
        tsqueries = await compile_tsqueries(search.query) if search.query.has_text else None
        params: list[Any] = []
        condition = post_condition(search, tsqueries, params)
        conn = connections.get("default")
        limit = min(search.limit, max(0, SEARCH_HITS_MAX - search.offset))
        if search.sort is Sort.TOP and tsqueries is not None:
            rank = f"ts_rank_cd(p.search, {own_language(tsqueries)}, 32)"
            params.extend([limit, search.offset])
            rows = await conn.execute_query_dict(
                f"SELECT id, count(*) OVER () AS total FROM ("
                f"  SELECT p.id, p.created_at, {rank} AS rank FROM posts p WHERE {condition}"
                f"  ORDER BY p.id DESC LIMIT {CANDIDATES}) c "
                f"ORDER BY c.rank / (1 + extract(epoch FROM now() - c.created_at) "
                f"/ {86400 * RECENCY_DAYS}) DESC, c.id DESC "
                f"LIMIT ${len(params) - 1} OFFSET ${len(params)}", params)
            total = int(rows[0]["total"]) if rows else await self._count(condition, params[:-2])
        else:
            rows = await conn.execute_query_dict(
                f"SELECT p.id FROM posts p WHERE {condition} ORDER BY p.id DESC "
                f"LIMIT ${len(params) + 1} OFFSET ${len(params) + 2}",
                [*params, limit, search.offset])
            if search.offset == 0 and len(rows) < limit:
                total = len(rows)
            else:
                total = await self._count(condition, params)
        ids = [int(r["id"]) for r in rows]
        highlights = await highlight(ids, tsqueries) if tsqueries and ids else {}
        return PostMatches(ids, total, highlights)

    async def _count(self, condition: str, params: list[Any]) -> int:
        rows = await connections.get("default").execute_query_dict(
            # newest first like the page itself: for a common word PostgreSQL then walks the
            # primary key and stops at the cap, instead of collecting every match first
            f"SELECT count(*) AS n FROM (SELECT 1 FROM posts p WHERE {condition} "
            f"ORDER BY p.id DESC LIMIT {SEARCH_HITS_MAX}) c", params)
        return int(rows[0]["n"])

    async def index_posts(self, ids: list[int]) -> None:
        return None  # the database indexes in the writer's transaction

    async def remove_posts(self, ids: list[int]) -> None:
        return None

    async def reindex(self, progress: Progress | None = None) -> int:
        """Recompute every post's hashtags (in Python, exactly as posting does), vector and
        words, batch by batch on REINDEX_WORKERS connections; searchers keep the old entries
        until each batch commits, and a row whose entry is already right is not rewritten."""
        conn = connections.get("default")
        bounds = await conn.execute_query_dict(
            "SELECT coalesce(min(id), 0) AS lo, coalesce(max(id), 0) AS hi, count(*) AS n "
            "FROM posts")
        low, high, total = (int(bounds[0][k]) for k in ("lo", "hi", "n"))
        ranges = [(start, start + REINDEX_BATCH)
                  for start in range(low, high + 1, REINDEX_BATCH)] if total else []
        done = 0

        async def batch(start: int, end: int) -> None:
            nonlocal done
            rows = await conn.execute_query_dict(
                "SELECT id, body, tags FROM posts WHERE id >= $1 AND id < $2", [start, end])
            changed = [(r["id"], hashtags(r["body"])) for r in rows]
            changed = [(i, t) for (i, t), r in zip(changed, rows, strict=True)
                       if t != list(r["tags"])]
            if changed:  # the trigger recomputes their vectors
                await conn.execute_query(
                    "UPDATE posts p SET tags = v.tags::varchar(64)[] FROM unnest($1::bigint[], "
                    "$2::text[]) AS v(id, tags) WHERE p.id = v.id",
                    [[i for i, _ in changed],
                     ["{" + ",".join('"' + t + '"' for t in tags) + "}" for _, tags in changed]])
            await conn.execute_query(
                "UPDATE posts p SET search = v.vector FROM ("
                "  SELECT id, mb_post_vector(body, language, tags::text[]) AS vector FROM posts"
                "  WHERE id >= $1 AND id < $2) v "
                "WHERE p.id = v.id AND p.search IS DISTINCT FROM v.vector", [start, end])
            await conn.execute_query(
                "INSERT INTO search_words (word) SELECT DISTINCT w FROM posts, "
                "mb_words(body) AS w WHERE id >= $1 AND id < $2 ON CONFLICT DO NOTHING",
                [start, end])
            done += len(rows)
            if progress is not None:
                progress(done, total)

        async def work(share: list[tuple[int, int]]) -> None:
            for start, end in share:
                await batch(start, end)

        await asyncio.gather(*(work(ranges[n::REINDEX_WORKERS]) for n in range(REINDEX_WORKERS)))
        await conn.execute_script("ANALYZE posts; ANALYZE post_tags; ANALYZE search_words;")
        return done

    async def status(self) -> dict[str, object]:
        rows = await connections.get("default").execute_query_dict(
            "SELECT (SELECT count(*) FROM posts) AS posts, "
            "(SELECT count(*) FROM posts WHERE search IS NOT NULL) AS indexed, "
            "(SELECT count(*) FROM search_words) AS words, "
            "(SELECT count(DISTINCT tag) FROM post_tags) AS tags, "
            "(SELECT array_agg(extname ORDER BY extname) FROM pg_extension "
            " WHERE extname IN ('unaccent', 'pg_trgm', 'fuzzystrmatch')) AS extensions")
        row = rows[0]
        return {"backend": self.name, "posts": row["posts"], "indexed": row["indexed"],
                "words": row["words"], "tags": row["tags"],
                "extensions": list(row["extensions"] or [])}

    async def close(self) -> None:
        return None
