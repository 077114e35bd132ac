"""Full-text search: the query language (`query`), one `SearchBackend` interface (`backend`)
and its two implementations, PostgreSQL full-text search (`postgres`, the default) and
Elasticsearch 8 (`elasticsearch`, when ELASTICSEARCH_URL is set).

The process's backend is opened by its composition root (the app's start-up, the worker, the
CLI, tests) with `open_backend(settings)` and reached with `backend()`.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from microblog.search.backend import SearchBackend
from microblog.search.postgres import PostgresSearch

if TYPE_CHECKING:
    from microblog.settings import Settings

log = logging.getLogger(__name__)
_backend: SearchBackend | None = None


def make_backend(settings: Settings) -> SearchBackend:
    if settings.elasticsearch_url:
        from microblog.search.elasticsearch import ElasticsearchSearch

        return ElasticsearchSearch(settings.elasticsearch_url,
                                   alias=f"{settings.redis_namespace}-posts")
    return PostgresSearch()


def open_backend(settings: Settings) -> SearchBackend:
    global _backend
    _backend = make_backend(settings)
    return _backend


async def start_backend(settings: Settings) -> SearchBackend:
    """Open the backend; with Elasticsearch, create its index the first time. An
    Elasticsearch that is down does not stop the process: search answers 503 meanwhile,
    /readyz names it, and the reconciliation catches up."""
    opened = open_backend(settings)
    ensure = getattr(opened, "ensure_index", None)
    if ensure is not None:
        try:
            await ensure()
        except Exception as exc:  # noqa: BLE001 - logged, and /readyz says so
            log.warning("search: %s is not ready (%s)", opened.name, exc)
    return opened


def backend() -> SearchBackend:
    """The process's backend; PostgreSQL when none was opened (it needs nothing opened)."""
    global _backend
    if _backend is None:
        _backend = PostgresSearch()
    return _backend


async def close_backend() -> None:
    global _backend
    if _backend is not None:
        await _backend.close()
        _backend = None


def uses_index_jobs() -> bool:
    """Whether posts must be sent to the backend's own index (PostgreSQL indexes itself)."""
    return backend().name != "postgres"
