"""Typo tolerance and "did you mean", from the words people wrote.

`search_words` holds every Latin-script word of four to 32 letters ever posted, unaccented and
lower-cased (the database adds them in the writer's transaction). A word of the query that is
not in it, five letters or longer, is compared with its neighbours by trigram similarity
(pg_trgm's index) and edit distance (fuzzystrmatch): one edit for five letters, two from six,
like Elasticsearch's `fuzziness: AUTO`. Both backends share it for `_meta.suggestion`;
PostgreSQL also searches the corrections when the query finds little.

Without pg_trgm or fuzzystrmatch (a server without contrib) there are no corrections, and
that is logged once.
"""

from __future__ import annotations

import logging

from tortoise import connections

log = logging.getLogger(__name__)

MIN_LENGTH = 5
MAX_LENGTH = 32
ALTERNATIVES = 3
_available: bool | None = None


async def available() -> bool:
    global _available
    if _available is None:
        rows = await connections.get("default").execute_query_dict(
            "SELECT extname FROM pg_extension "
            "WHERE extname IN ('pg_trgm', 'fuzzystrmatch', 'unaccent')")
        names = {r["extname"] for r in rows}
        _available = {"pg_trgm", "fuzzystrmatch", "unaccent"} <= names
        if not _available:
            log.warning("search: typo tolerance is off: PostgreSQL lacks %s (contrib)",
                        ", ".join(sorted({"pg_trgm", "fuzzystrmatch", "unaccent"} - names)))
    return _available


async def corrections(words: list[str]) -> dict[str, list[str]]:
    """{misspelt word: the indexed words it was probably meant to be, closest first}."""
    candidates = list(dict.fromkeys(w for w in words if MIN_LENGTH <= len(w) <= MAX_LENGTH))
    if not candidates or not await available():
        return {}
    rows = await connections.get("default").execute_query_dict(
        """
        SELECT q.word, ARRAY(
                 SELECT s.word FROM search_words s
                 WHERE s.word % q.norm
                   AND levenshtein_less_equal(s.word, q.norm, q.edits) <= q.edits
                 ORDER BY levenshtein(s.word, q.norm), s.word <-> q.norm, s.word
                 LIMIT $2) AS alternatives
        FROM (SELECT w AS word, lower(unaccent(w)) AS norm,
                     CASE WHEN length(w) >= 6 THEN 2 ELSE 1 END AS edits
              FROM unnest($1::text[]) AS w) q
        WHERE q.norm ~ '^[a-z]+$'
          AND NOT EXISTS (SELECT 1 FROM search_words s WHERE s.word = q.norm)
        """, [candidates, ALTERNATIVES])
    return {r["word"]: list(r["alternatives"]) for r in rows if r["alternatives"]}


def suggestion(raw: str, fixes: dict[str, str]) -> str:
    """The query as typed, each misspelt word replaced by its first correction."""
    out = []
    for token in raw.split(" "):
        bare = token.lstrip("-")
        out.append(token[: len(token) - len(bare)] + fixes[bare] if bare in fixes else token)
    return " ".join(out)
