"""Search on Elasticsearch 8: production's scale-out path, used when ELASTICSEARCH_URL is set.

Every request is built by a pure function below (`index_definition`, `document`,
`bulk_actions`, `search_request`, `alias_swap_actions`) and every answer read by one
(`parse_hits`), so the exact requests are tested where no Elasticsearch runs; the
`ElasticsearchSearch` class only sends them.

The index mirrors PostgreSQL's (microblog.search.postgres, migration 5):

- `body` holds every post, analysed plainly (standard tokenizer, lower case, accents folded,
  PostgreSQL's `mb_simple`): the field of posts in any language but English and Spanish, and
  the one typo tolerance looks in (surface words, not stems).
- `body_en` / `body_es` hold the body of English / Spanish posts only, stemmed in their language
  like `mb_english` / `mb_spanish`. A query multi-matches these fields with `operator: and`
  per field, and each field analyses the query with its own analyzer, so a post is matched by
  the query as analysed in its own language (stop words dropped, words stemmed), as in
  PostgreSQL.
- `body_cjk` holds the body of posts with Han, kana or Hangul, as characters and bigrams; the
  query's runs of those characters are analysed into bigrams only (a lone character as itself),
  so `北京` finds `我们今天去北京大学` and `北大` does not: exactly `query_grams`.

Documents are versioned (`external_gte`) with the PostgreSQL clock at the moment their row was
read, so a late or retried job never overwrites newer data, whichever worker sends it. A
reindex builds a new index `{alias}-{yyyymmddhhmmss}` beside the live one (index jobs write to
both meanwhile, so no change is lost), then moves the alias in one step: searchers never see a
missing or half-built index.
"""

from __future__ import annotations

import logging
import re
from collections.abc import AsyncIterator, Iterable, Mapping, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any, NoReturn

from elasticsearch import (
    ApiError,
    AsyncElasticsearch,
    BadRequestError,
    NotFoundError,
    TransportError,
    UnsupportedProductError,
)
from elasticsearch.helpers import BulkIndexError, async_bulk
from tortoise import connections

from microblog.errors import Conflict, Unavailable
from microblog.i18n import gettext as _
from microblog.limits import SEARCH_HITS_MAX
from microblog.search.backend import (
    MARK_CLOSE,
    MARK_OPEN,
    PostMatches,
    PostSearch,
    Progress,
    Sort,
    mark_cjk,
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
    Word,
    cjk_runs,
    searchable,
)

log = logging.getLogger(__name__)

# the plain field first: every post has it, so its highlight is the usual base text
LATIN_FIELDS = ("body", "body_en", "body_es")
CJK_FIELD = "body_cjk"
BODY_FIELDS = (*LATIN_FIELDS, CJK_FIELD)
LANGUAGE_FIELDS = {"en": "body_en", "es": "body_es"}
# typo tolerance as microblog.search.vocabulary has it: no edit below five letters, one for
# five, two from six (plain AUTO would allow one for three letters: `fox` finding `box`)
FUZZINESS = "AUTO:5,6"
# the first letter must be right: a fuzzy term then expands from a slice of the term
# dictionary rather than all of it, and first-letter typos are the rarest (the vocabulary's
# "did you mean" still catches them)
FUZZY_PREFIX = 1
# sort=top: relevance times recency. Posts of the same day compete on relevance alone; after
# that, each week halves the score (PostgreSQL divides by 1 + age in weeks)
RECENCY = {"origin": "now", "offset": "1d", "scale": "7d", "decay": 0.5}
BATCH = 5000  # posts per read and per bulk request when reindexing or reconciling
FIRST_INDEX = "00000000000000"  # the start-up index's suffix: one name, whoever creates it
STAMP = "%Y%m%d%H%M%S"
# PostgreSQL's clock, in microseconds, at the statement that reads the rows: one clock for
# every worker, and a row read later always gets a greater version (`version` below)
ROWS_BY_ID = ("SELECT i.id, p.id IS NOT NULL AS present, p.author_id, p.body, p.language, "
              "p.tags, p.created_at, (extract(epoch FROM now()) * 1000000)::bigint AS version "
              "FROM unnest($1::bigint[]) AS i(id) LEFT JOIN posts p ON p.id = i.id")
ROWS_AFTER = ("SELECT p.id, p.author_id, p.body, p.language, p.tags, p.created_at, "
              "(extract(epoch FROM now()) * 1000000)::bigint AS version "
              "FROM posts p WHERE p.id > $1 ORDER BY p.id LIMIT $2")
NOW_VERSION = "SELECT (extract(epoch FROM now()) * 1000000)::bigint AS version"
SEARCH_TIMEOUT = 10.0  # seconds; a search that takes longer is better answered with a 503
BULK_TIMEOUT = 120.0
# a request Elasticsearch could not serve for reasons of its own, not because it was wrong
UNAVAILABLE_STATUSES = frozenset({401, 403, 408, 429, 500, 502, 503, 504})


# --- the index -----------------------------------------------------------------------------

def index_definition() -> dict[str, Any]:
    """Settings and mappings of a posts index (`es.indices.create(index=..., **this)`)."""
    return {
        "settings": {
            # one shard holds tens of millions of short posts and keeps relevance statistics
            # exact; one replica wherever a second node exists, none on a single node
            "number_of_shards": 1,
            "auto_expand_replicas": "0-1",
            "analysis": {
                "filter": {
                    "mb_english_possessive": {"type": "stemmer", "language": "possessive_english"},
                    "mb_english_stop": {"type": "stop", "stopwords": "_english_"},
                    # Snowball, the stemmers of PostgreSQL's english_stem and spanish_stem, so
                    # both backends find the same words. (light_spanish leaves words under
                    # five letters alone: `niño` would not find `niños`.)
                    "mb_english_stemmer": {"type": "stemmer", "language": "porter2"},
                    "mb_spanish_stop": {"type": "stop", "stopwords": "_spanish_"},
                    "mb_spanish_stemmer": {"type": "stemmer", "language": "spanish"},
                    # posts: every character and every pair, so any run can be found
                    "mb_cjk_grams": {"type": "cjk_bigram", "output_unigrams": True},
                    # queries: pairs only (a lone character stays itself), so the characters
                    # of a query must be adjacent in the post (`北大` ≠ `北京大学`)
                    "mb_cjk_pairs": {"type": "cjk_bigram", "output_unigrams": False},
                },
                "analyzer": {
                    # accents are folded before stop words and stemming, as PostgreSQL's
                    # unaccent dictionary runs before its stemmers: `café` = `cafe`,
                    # `niños` = `ninos` = `niño`
                    "mb_english": {"type": "custom", "tokenizer": "standard",
                                   "filter": ["mb_english_possessive", "lowercase",
                                              "asciifolding", "mb_english_stop",
                                              "mb_english_stemmer"]},
                    "mb_spanish": {"type": "custom", "tokenizer": "standard",
                                   "filter": ["lowercase", "asciifolding", "mb_spanish_stop",
                                              "mb_spanish_stemmer"]},
                    "mb_plain": {"type": "custom", "tokenizer": "standard",
                                 "filter": ["lowercase", "asciifolding"]},
                    "mb_cjk": {"type": "custom", "tokenizer": "standard",
                               "filter": ["cjk_width", "lowercase", "mb_cjk_grams"]},
                    "mb_cjk_query": {"type": "custom", "tokenizer": "standard",
                                     "filter": ["cjk_width", "lowercase", "mb_cjk_pairs"]},
                },
            },
        },
        "mappings": {
            "dynamic": "strict",  # a document that does not fit is a bug: refuse it loudly
            "properties": {
                "id": {"type": "long"},
                "author_id": {"type": "integer"},
                "language": {"type": "keyword"},
                "tags": {"type": "keyword"},
                "created_at": {"type": "date"},
                "version": {"type": "long"},
                "body": {"type": "text", "analyzer": "mb_plain"},
                "body_en": {"type": "text", "analyzer": "mb_english"},
                "body_es": {"type": "text", "analyzer": "mb_spanish"},
                "body_cjk": {"type": "text", "analyzer": "mb_cjk",
                             "search_analyzer": "mb_cjk_query"},
            },
        },
    }


def document(row: Mapping[str, Any]) -> dict[str, Any]:
    """The indexed form of a `posts` row (id, author_id, body, language, tags, created_at)."""
    body = strip_marks(str(row["body"]))  # a post cannot forge highlight marks
    language = str(row["language"] or "")
    created_at: datetime = row["created_at"]
    if created_at.tzinfo is None:
        created_at = created_at.replace(tzinfo=UTC)
    doc: dict[str, Any] = {
        "id": int(row["id"]),
        "author_id": int(row["author_id"]),
        "language": language,
        "tags": list(row["tags"] or []),
        "created_at": created_at.astimezone(UTC).isoformat(),
        "body": body,
    }
    if language in LANGUAGE_FIELDS:
        doc[LANGUAGE_FIELDS[language]] = body
    # only bodies with CJK characters: a CJK query can match nothing else, and a copy of
    # every Latin post would double the index for no hit
    if CJK_RUN.search(body):
        doc[CJK_FIELD] = body
    return doc


def bulk_actions(rows: Iterable[Mapping[str, Any]], index: str, version: int,
                 ids: Iterable[int] = ()) -> list[dict[str, Any]]:
    """`async_bulk` actions: each row indexed, and each of `ids` without a row deleted, all
    at `version` (when the rows were read) so that older data never replaces newer."""
    actions: list[dict[str, Any]] = []
    found: set[int] = set()
    for row in rows:
        source = document(row)
        source["version"] = version
        found.add(source["id"])
        actions.append({"_op_type": "index", "_index": index, "_id": str(source["id"]),
                        "version": version, "version_type": "external_gte",
                        "_source": source})
    for post_id in dict.fromkeys(int(i) for i in ids):
        if post_id not in found:
            actions.append({"_op_type": "delete", "_index": index, "_id": str(post_id),
                            "version": version, "version_type": "external_gte"})
    return actions


def alias_swap_actions(alias: str, new_index: str, old_indices: Sequence[str]
                       ) -> list[dict[str, Any]]:
    """`update_aliases` actions that move `alias` from `old_indices` to `new_index` in one
    atomic step."""
    actions: list[dict[str, Any]] = [{"remove": {"index": old, "alias": alias}}
                                     for old in old_indices if old != new_index]
    actions.append({"add": {"index": new_index, "alias": alias}})
    return actions


def index_name(alias: str, existing: Sequence[str], now: datetime | None = None) -> str:
    """A new index's name, `{alias}-{yyyymmddhhmmss}` (UTC), later than every `existing`
    one even for two reindexes within a second (as a test suite runs them): the names
    order the indices, and the newest beside the live one is the one being built."""
    stamp = (now or datetime.now(UTC)).astimezone(UTC).replace(microsecond=0, tzinfo=None)
    try:
        newest = datetime.strptime(max(existing, default="")[len(alias) + 1:], STAMP)
    except ValueError:  # none, or only the start-up index (FIRST_INDEX), older than any
        return f"{alias}-{stamp.strftime(STAMP)}"
    return f"{alias}-{max(stamp, newest + timedelta(seconds=1)).strftime(STAMP)}"


# --- queries -------------------------------------------------------------------------------

def _exact(text: str) -> dict[str, Any]:
    """Every word, as each field's analyzer sees it (stemmed in English and Spanish posts)."""
    return {"multi_match": {"query": text, "fields": list(LATIN_FIELDS),
                            "type": "best_fields", "operator": "and"}}


def _words(text: str, fuzzy: bool) -> dict[str, Any]:
    """Latin words: matched exactly (with stemming), or, when `fuzzy`, also each within a
    typo or two of a word as written in the post.

    Fuzziness is kept off the stemmed fields and off `body_cjk` on purpose, which is why it
    is a clause of its own rather than an option of the multi_match. On stems it would
    compare a misspelling's stem with the right word's, which a stemmer can put far apart
    (`beautiful` is indexed as `beauti`, while `beautifull` is not cut the same way). On CJK
    pairs any edit is another word (`北京`, `北方`), so CJK runs must match exactly: `_text`
    splits them off into the `body_cjk` clause and they never reach this one. `body` holds
    every post's surface words, where one or two edits mean a typo."""
    if not fuzzy:
        return _exact(text)
    return {"bool": {"should": [
        _exact(text),
        {"match": {"body": {"query": text, "operator": "and", "fuzziness": FUZZINESS,
                            "prefix_length": FUZZY_PREFIX}}},
    ], "minimum_should_match": 1}}


def _text(text: str, phrase: bool = False, fuzzy: bool = True) -> dict[str, Any] | None:
    """One word, several words (all must match) or a phrase: its Latin part on the Latin
    fields, its CJK runs as pairs on `body_cjk`, as PostgreSQL's TsqueryCompiler splits them."""
    parts: list[dict[str, Any]] = []
    latin = " ".join(CJK_RUN.sub(" ", text).split())
    if searchable(latin):
        if phrase:
            parts.append({"multi_match": {"query": latin, "fields": list(LATIN_FIELDS),
                                          "type": "phrase"}})
        else:
            parts.append(_words(latin, fuzzy))
    runs = cjk_runs(text)
    if runs:
        parts.append({"match": {CJK_FIELD: {"query": " ".join(runs), "operator": "and"}}})
    if len(parts) > 1:
        return {"bool": {"must": parts}}
    return parts[0] if parts else None


def _term(term: Term, fuzzy: bool = True) -> dict[str, Any] | None:
    if isinstance(term, Tag):
        return {"term": {"tags": term.name}}
    return _text(term.text, phrase=isinstance(term, Phrase), fuzzy=fuzzy)


def _clause(clause: Clause) -> dict[str, Any] | None:
    if isinstance(clause, AnyOf):
        options = [q for q in (_term(t) for t in clause.terms) if q is not None]
        if not options:
            return None
        return {"bool": {"should": options, "minimum_should_match": 1}}
    return _term(clause)


def text_query(query: Query) -> list[dict[str, Any]]:
    """The `must` clauses of a query. Its plain words are one clause, so that each field
    drops its own stop words from the whole set (`the river` finds an English post about a
    river, as PostgreSQL's plainto_tsquery does), rather than one clause per word."""
    must: list[dict[str, Any]] = []
    words = [c.text for c in query.must if isinstance(c, Word)]
    words_done = False
    for clause in query.must:
        compiled: dict[str, Any] | None
        if isinstance(clause, Word):
            if words_done:
                continue
            words_done = True
            compiled = _text(" ".join(words))
        else:
            compiled = _clause(clause)
        if compiled is not None:
            must.append(compiled)
    if query.has_text and not must:
        must.append({"match_none": {}})  # nothing searchable was left: PostgreSQL's FALSE
    return must


def search_request(search: PostSearch) -> dict[str, Any]:
    """Keyword arguments of `es.search` (all but `index`) for one page of a post search."""
    query = search.query
    must = text_query(query)
    filters: list[dict[str, Any]] = []
    must_not = [q for q in (_term(t, fuzzy=False) for t in query.must_not) if q is not None]
    if search.authors is not None:
        filters.append({"terms": {"author_id": list(search.authors)}})
    if search.not_authors:
        must_not.append({"terms": {"author_id": list(search.not_authors)}})
    if query.languages:
        filters.append({"terms": {"language": list(query.languages)}})
    if query.not_languages:
        must_not.append({"terms": {"language": list(query.not_languages)}})
    if query.after is not None or query.before is not None:
        bounds: dict[str, str] = {}
        if query.after is not None:
            bounds["gte"] = query.after.astimezone(UTC).isoformat()
        if query.before is not None:
            bounds["lt"] = query.before.astimezone(UTC).isoformat()
        filters.append({"range": {"created_at": bounds}})
    boolean: dict[str, Any] = {"must": must or [{"match_all": {}}]}
    if filters:
        boolean["filter"] = filters
    if must_not:
        boolean["must_not"] = must_not
    compiled: dict[str, Any] = {"bool": boolean}
    ranked = search.sort is Sort.TOP and query.has_text
    if ranked:
        compiled = {"function_score": {"query": compiled,
                                       "functions": [{"exp": {"created_at": dict(RECENCY)}}],
                                       "score_mode": "multiply", "boost_mode": "multiply"}}
    offset = min(max(0, search.offset), SEARCH_HITS_MAX)
    size = max(0, min(search.limit, SEARCH_HITS_MAX - offset))
    request: dict[str, Any] = {
        "query": compiled,
        "sort": [{"_score": "desc"}, {"id": "desc"}] if ranked else [{"id": "desc"}],
        "from_": offset,
        "size": size,
        "track_total_hits": SEARCH_HITS_MAX,
        "source": False,
    }
    if query.has_text:
        request["highlight"] = {
            "pre_tags": [MARK_OPEN],
            "post_tags": [MARK_CLOSE],
            "fields": {field: {"number_of_fragments": 0} for field in BODY_FIELDS},
        }
    return request


# --- answers -------------------------------------------------------------------------------

def _spans(marked: str) -> tuple[str, set[int]]:
    """The text without marks, and the positions of its characters that were inside one."""
    plain: list[str] = []
    inside: set[int] = set()
    depth = 0
    for ch in marked:
        if ch == MARK_OPEN:
            depth += 1
        elif ch == MARK_CLOSE:
            depth = max(0, depth - 1)
        else:
            if depth:
                inside.add(len(plain))
            plain.append(ch)
    return "".join(plain), inside


def _render(plain: str, inside: set[int]) -> str:
    out: list[str] = []
    for i, ch in enumerate(plain):
        if i in inside and i - 1 not in inside:
            out.append(MARK_OPEN)
        out.append(ch)
        if i in inside and i + 1 not in inside:
            out.append(MARK_CLOSE)
    return "".join(out)


def merge_highlights(fragments: Mapping[str, Sequence[str]], query: Query) -> str | None:
    """One marked body from each field's highlight of it (each field marks what its analysis
    matched: stems, typo corrections, CJK pairs), plus the query's CJK runs when `body_cjk`
    marked nothing. None when no field was highlighted."""
    base: str | None = None
    inside: set[int] = set()
    for field in BODY_FIELDS:
        texts = fragments.get(field)
        if not texts:
            continue
        plain, marked = _spans(texts[0])
        if base is None:
            base = plain
        if plain == base:  # the same body in every field; anything else is ignored
            inside |= marked
    if base is None:
        return None
    if not fragments.get(CJK_FIELD):
        inside |= _spans(mark_cjk(base, query))[1]
    return _render(base, inside)


def parse_hits(response: Mapping[str, Any], search: PostSearch) -> PostMatches:
    """The ids (in order), total (at most SEARCH_HITS_MAX) and highlights of a search answer."""
    hits = response.get("hits") or {}
    ids: list[int] = []
    highlights: dict[int, str] = {}
    for hit in hits.get("hits") or []:
        post_id = int(hit["_id"])
        ids.append(post_id)
        marked = merge_highlights(hit.get("highlight") or {}, search.query)
        if marked is not None:
            highlights[post_id] = marked
    total = hits.get("total")
    count = int(total["value"]) if isinstance(total, Mapping) else int(total or 0)
    return PostMatches(ids, min(max(count, search.offset + len(ids)), SEARCH_HITS_MAX),
                       highlights)


# --- the backend ---------------------------------------------------------------------------

def _version(rows: Sequence[Mapping[str, Any]]) -> int:
    return int(rows[0]["version"])


class ElasticsearchSearch:
    """The SearchBackend on Elasticsearch 8, reached through the alias `alias`."""

    name = "elasticsearch"
    fuzzy = True  # typo tolerance is in the query: the service need not widen it

    def __init__(self, url: str, alias: str = "microblog-posts",
                 client: AsyncElasticsearch | None = None) -> None:
        self.alias = alias
        self._es = client or AsyncElasticsearch(url, request_timeout=SEARCH_TIMEOUT,
                                                max_retries=1, retry_on_timeout=True)
        self._names = re.compile(re.escape(alias) + r"-\d{14}")
        self._down = False

    # errors: one warning per outage, a 503 with a message for people every time

    @asynccontextmanager
    async def _answering(self, doing: str) -> AsyncIterator[None]:
        try:
            yield
        except TransportError as exc:  # connection refused, timeout, TLS, garbled answer
            self._unavailable(doing, exc)
        except ApiError as exc:
            if not (isinstance(exc, UnsupportedProductError)  # the URL is not Elasticsearch
                    or exc.meta.status in UNAVAILABLE_STATUSES):
                raise  # Elasticsearch refused a request this module built: a bug, a 500
            self._unavailable(doing, exc)
        if self._down:
            self._down = False
            log.info("search: Elasticsearch answers again")

    def _unavailable(self, doing: str, exc: Exception) -> NoReturn:
        if not self._down:
            self._down = True
            log.warning("search: Elasticsearch cannot %s: %s", doing, exc)
        else:
            log.debug("search: Elasticsearch cannot %s: %s", doing, exc)
        raise Unavailable(_("Search is unavailable right now; try again in a minute.")) \
            from exc

    # the indices behind the alias

    async def _indices(self) -> tuple[list[str], list[str]]:
        """(every index of this alias's family, oldest first; those the alias points to)."""
        try:
            # the get index API lists every match, with or without an alias
            answer = await self._es.indices.get(index=f"{self.alias}-*", features="aliases")
        except NotFoundError:
            return [], []
        names = sorted(n for n in answer.body if self._names.fullmatch(n))
        aliased = [n for n in names if self.alias in (answer.body[n].get("aliases") or {})]
        return names, aliased

    async def _write_targets(self) -> list[str]:
        """Where a change goes: the live index, and any newer one a reindex is building (so
        the new index misses nothing written while it is filled). The first index is created
        when there is none (Elasticsearch was down at start-up)."""
        async with self._answering("list its indices"):
            names, aliased = await self._indices()
        if not names:
            await self.ensure_index()
            async with self._answering("list its indices"):
                names, aliased = await self._indices()
        live = max(aliased, default="")
        return [n for n in names if n in aliased or n > live]

    async def ensure_index(self) -> None:
        """Create the first index behind the alias when there is none (at start-up). Every
        process that starts at once creates the same name, so exactly one index results."""
        async with self._answering("check its index"):
            _, aliased = await self._indices()
            if aliased:
                return
            first = f"{self.alias}-{FIRST_INDEX}"
            try:
                await self._es.indices.create(index=first, aliases={self.alias: {}},
                                              **index_definition())
                log.info("search: created Elasticsearch index %s", first)
            except BadRequestError as exc:
                if exc.error != "resource_already_exists_exception":
                    raise
                await self._es.indices.update_aliases(
                    actions=[{"add": {"index": first, "alias": self.alias}}])

    # the protocol

    async def ping(self) -> None:
        async with self._answering("answer"):
            await self._es.info()

    async def search_posts(self, search: PostSearch) -> PostMatches:
        if search.authors == ():
            return PostMatches([], 0)  # from: someone who does not exist
        async with self._answering("search"):
            try:
                answer = await self._es.search(index=self.alias, **search_request(search))
            except ApiError as exc:
                if exc.meta.status == 404:  # no index yet: start-up or the next index job makes it
                    self._unavailable("search (no index yet)", exc)
                raise
        return parse_hits(answer.body, search)

    async def index_posts(self, ids: list[int]) -> None:
        if not ids:
            return
        rows = await connections.get("default").execute_query_dict(
            ROWS_BY_ID, [list(dict.fromkeys(ids))])
        present = [r for r in rows if r["present"]]
        version = _version(rows)
        actions = [a for index in await self._write_targets()
                   for a in bulk_actions(present, index, version, ids)]
        await self._bulk(actions)

    async def remove_posts(self, ids: list[int]) -> None:
        if not ids:
            return
        rows = await connections.get("default").execute_query_dict(NOW_VERSION)
        actions = [a for index in await self._write_targets()
                   for a in bulk_actions([], index, _version(rows), ids)]
        await self._bulk(actions)

    async def _bulk(self, actions: list[dict[str, Any]], refresh: bool = False) -> int:
        if not actions:
            return 0
        client = self._es.options(request_timeout=BULK_TIMEOUT)
        async with self._answering("index posts"):
            try:
                # 404: deleting what is not there; 409: a newer version is there already
                done, _errors = await async_bulk(client, actions, chunk_size=BATCH,
                                                 max_retries=3, ignore_status=(404, 409),
                                                 refresh=refresh)
            except BulkIndexError as exc:
                first = exc.errors[0] if exc.errors else {}
                log.warning("search: Elasticsearch refused %d of %d actions; first: %s",
                            len(exc.errors), len(actions), first)
                raise Unavailable(_("The search index could not be updated; it will be "
                                    "retried.")) from exc
        return int(done)

    async def refresh(self) -> None:
        """Make what was indexed searchable now (tests; Elasticsearch does it every second)."""
        async with self._answering("refresh"):
            await self._es.indices.refresh(index=self.alias)

    async def reindex(self, progress: Progress | None = None) -> int:
        """Build a new index from PostgreSQL beside the live one, then move the alias to it
        in one step and delete the old ones."""
        definition = index_definition()
        async with self._answering("create an index"):
            new = index_name(self.alias, (await self._indices())[0])
            try:
                # no periodic refresh while loading: it only slows the bulk requests down
                await self._es.indices.create(
                    index=new, settings={**definition["settings"], "refresh_interval": "-1"},
                    mappings=definition["mappings"])
            except BadRequestError as exc:
                if exc.error == "resource_already_exists_exception":
                    raise Conflict(_("Another reindex is starting; wait for it to finish.")) \
                        from exc
                raise
        try:
            done = await self._fill(new, progress)
            async with self._answering("switch to the new index"):
                await self._es.indices.put_settings(index=new,
                                                    settings={"refresh_interval": None})
                await self._es.indices.refresh(index=new)
                names, aliased = await self._indices()
                await self._es.indices.update_aliases(
                    actions=alias_swap_actions(self.alias, new, aliased))
        except BaseException:
            await self._drop([new])
            raise
        # older indices only: a newer one belongs to a reindex started after this one
        await self._drop([n for n in names if n < new])
        return done

    async def _fill(self, index: str, progress: Progress | None) -> int:
        conn = connections.get("default")
        counted = await conn.execute_query_dict("SELECT count(*) AS n FROM posts")
        total = int(counted[0]["n"])
        done = 0
        after = 0
        while True:
            rows = await conn.execute_query_dict(ROWS_AFTER, [after, BATCH])
            if not rows:
                return done
            await self._bulk(bulk_actions(rows, index, _version(rows)))
            done += len(rows)
            after = int(rows[-1]["id"])
            if progress is not None:
                progress(done, max(total, done))

    async def _drop(self, indices: list[str]) -> None:
        if not indices:
            return
        try:
            await self._es.indices.delete(index=indices, ignore_unavailable=True)
        except (ApiError, TransportError) as exc:  # left for the next reindex to delete
            log.warning("search: could not delete Elasticsearch indices %s: %s", indices, exc)

    async def _indexed_since(self, since: datetime) -> set[int]:
        found: set[int] = set()
        after: list[Any] | None = None
        async with self._answering("list recent posts"):
            while True:
                answer = await self._es.search(
                    index=self.alias, query={"range": {"created_at": {
                        "gte": since.astimezone(UTC).isoformat()}}},
                    sort=[{"id": "asc"}], size=BATCH, source=False, track_total_hits=False,
                    search_after=after)
                hits = answer.body["hits"]["hits"]
                found.update(int(h["_id"]) for h in hits)
                if len(hits) < BATCH:
                    return found
                after = hits[-1]["sort"]

    async def reconcile(self, since: datetime) -> tuple[int, int]:
        """Posts created since `since`: those PostgreSQL has and the index lacks are indexed,
        those the index has and PostgreSQL lacks are removed. (indexed, removed)."""
        rows = await connections.get("default").execute_query_dict(
            "SELECT id FROM posts WHERE created_at >= $1", [since])
        stored = {int(r["id"]) for r in rows}
        indexed = await self._indexed_since(since)
        missing = sorted(stored - indexed)
        extra = sorted(indexed - stored)
        for start in range(0, len(missing), BATCH):
            await self.index_posts(missing[start:start + BATCH])
        if extra:
            await self.remove_posts(extra)
        return len(missing), len(extra)

    async def status(self) -> dict[str, object]:
        async with self._answering("report its status"):
            names, aliased = await self._indices()
            documents = 0
            if aliased:
                counted = await self._es.count(index=self.alias)
                documents = int(counted.body["count"])
        rows = await connections.get("default").execute_query_dict(
            "SELECT count(*) AS n FROM posts")
        posts = int(rows[0]["n"])
        live = max(aliased, default="")
        return {"backend": self.name, "alias": self.alias,
                "index": ", ".join(aliased) or None,
                "building": ", ".join(n for n in names if n > live) or None,
                "documents": documents, "posts": posts, "missing": posts - documents}

    async def close(self) -> None:
        await self._es.close()


__all__ = ["BODY_FIELDS", "CJK_FIELD", "FUZZINESS", "LATIN_FIELDS", "ElasticsearchSearch",
           "alias_swap_actions", "bulk_actions", "document", "index_definition", "index_name",
           "merge_highlights", "parse_hits", "search_request", "text_query"]
