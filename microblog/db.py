"""Tortoise-ORM set-up. Initialised by hand in `before_serving` (DESIGN.md)."""

from __future__ import annotations

import os
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from tortoise import Tortoise
from tortoise.backends.base.config_generator import expand_db_url

MODEL_MODULES = ["microblog.models", "aerich.models"]


def tortoise_url(database_url: str, pool_max: int = 20) -> str:
    """Accept postgres:// and postgresql:// URLs; Tortoise wants `postgres://` (asyncpg)."""
    parts = urlsplit(database_url)
    scheme = "postgres" if parts.scheme in {"postgres", "postgresql", "asyncpg"} else parts.scheme
    query = dict(parse_qsl(parts.query))
    query.setdefault("maxsize", str(pool_max))
    query.setdefault("minsize", "1")
    return urlunsplit((scheme, parts.netloc, parts.path, urlencode(query), parts.fragment))


def asyncpg_dsn(database_url: str) -> str:
    """The URL for asyncpg itself, which wants `postgresql://`."""
    return database_url.replace("postgres://", "postgresql://", 1)


async def keep_session(connection: Any) -> None:
    """asyncpg's pool `reset`, run as a connection goes back to the pool. Its default runs
    `SELECT pg_advisory_unlock_all(); CLOSE ALL; UNLISTEN *; RESET ALL` there: one more round
    trip to PostgreSQL for every query the app makes outside a transaction (a fifth of a
    page's CPU in bench/pages.py). Nothing here leaves session state behind (no LISTEN,
    session advisory locks, cursors or SET: only transaction-scoped locks), and asyncpg
    itself still rolls back a transaction left open, so there is nothing to reset."""


def tortoise_config(database_url: str, pool_max: int = 20) -> dict[str, Any]:
    connection = expand_db_url(tortoise_url(database_url, pool_max))
    connection["credentials"]["reset"] = keep_session
    return {
        "connections": {"default": connection},
        "apps": {"models": {"models": MODEL_MODULES, "default_connection": "default"}},
        "use_tz": True,
        "timezone": "UTC",
    }


async def init_db(database_url: str, pool_max: int = 20) -> None:
    await Tortoise.init(
        config=tortoise_config(database_url, pool_max), _enable_global_fallback=True
    )


async def close_db() -> None:
    await Tortoise.close_connections()


def _aerich_config() -> dict[str, Any]:
    # Only the aerich command line reads this; the app passes its own settings.
    return tortoise_config(os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1/microblog"))


AERICH_CONFIG = _aerich_config()
