"""What every benchmark shares beyond the harness the tests use too (microblog.testing:
services, throw-away database and Redis namespace, `microblog serve` / `worker` processes,
signing in): the run's set-up and clean-up, bulk data, wrk, /proc figures, py-spy, and the
JSON result `bench/run_all.py` collects.

Every helper is a context manager or a bounded function, so a benchmark stacks them in a
`contextlib.ExitStack` and relies on it to drop the database and stop every process it
started, also after an error, Ctrl-C or SIGTERM.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import math
import os
import platform
import re
import resource
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import ExitStack, asynccontextmanager, contextmanager, suppress
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import FrameType
from typing import Any

import asyncpg

from microblog.db import asyncpg_dsn
from microblog.settings import Settings
from microblog.testing import (
    Scratch,
    Server,
    Services,
    scratch,
    services,
    start_server,
    stop_process,
)
from microblog.text import username_skeleton


class BenchError(RuntimeError):
    """A benchmark precondition failed; the message says which and why."""


def log(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)


def raise_on_interrupt() -> None:
    """SIGINT and SIGTERM both raise KeyboardInterrupt wherever the main thread is, so
    `finally` blocks (cleanup) run. A handler of our own also keeps asyncio.run() from
    installing its SIGINT handler, which only cancels the main task: a task that swallows the
    cancellation (httpx/anyio can) would let a benchmark carry on after Ctrl-C."""

    def handler(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGINT, handler)
    signal.signal(signal.SIGTERM, handler)


# --- what every benchmark does first and last ------------------------------------------------


@dataclass
class BenchEnv:
    services: Services
    scratch: Scratch
    settings: Settings  # what its `microblog` processes run with
    tmp: Path

    @property
    def database_url(self) -> str:
        return self.scratch.database_url


def bench_environment(stack: ExitStack, name: str, embedded: bool = False,
                      **settings: Any) -> BenchEnv:
    """Services, a throw-away migrated database and Redis namespace, and the settings of the
    run's processes (`settings` adds to them), all cleaned up when `stack` closes."""
    tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix=f"microblog-{name}-")))
    found = stack.enter_context(services("BENCH", tmp / "services", embedded=embedded))
    # read while the services run: an embedded pair is gone when the result is written
    _RUN_CONTEXT.update(services=found.description, **server_versions(found))
    log("creating a throw-away database (migrated) and Redis namespace…")
    run = stack.enter_context(scratch(found, f"microblog_{name}"))
    return BenchEnv(found, run, Settings(
        secret_key="bench-" + secrets.token_urlsafe(32), database_url=run.database_url,
        redis_url=run.redis_url, redis_namespace=run.namespace,
        instance_dir=tmp / "instance", **settings), tmp)


def serve(stack: ExitStack, bench: BenchEnv, name: str,
          command: str | None = None, **env: str) -> Server:
    """One `microblog serve`, ready when GET /readyz answers 200, its output in
    <tmp>/<name>.log, stopped when `stack` closes. `command` (e.g. "python /tmp/launcher.py",
    for an A/B experiment) replaces `microblog`; `serve --bind HOST:PORT` is appended. `env`
    adds to its environment (settings)."""
    server = start_server(bench.settings, ready_path="/readyz",
                          command=[*command.split(), "serve"] if command else None,
                          log_path=bench.tmp / f"{name}.log",
                          **env)  # type: ignore[arg-type]  # the other keywords are typed
    stack.callback(server.stop)
    return server


def bench_main(run: Callable[[argparse.Namespace], int],
               parse_args: Callable[[], argparse.Namespace]) -> int:
    """Run a benchmark; a failure or Ctrl-C is reported in one line, after clean-up."""
    args = parse_args()
    raise_on_interrupt()
    try:
        return run(args)
    except (BenchError, TimeoutError, RuntimeError) as exc:
        print(f"bench failed: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("\ninterrupted; cleaned up", file=sys.stderr)
        return 130


# --- bulk data -------------------------------------------------------------------------------
#
# Thousands of users, follows and API tokens go straight into PostgreSQL with COPY instead
# of one API call each.


@asynccontextmanager
async def database(url: str) -> AsyncIterator[asyncpg.Connection]:
    conn = await asyncio.wait_for(asyncpg.connect(asyncpg_dsn(url)), 15)
    try:
        yield conn
    finally:
        await conn.close()


@dataclass(frozen=True)
class BenchUser:
    id: int
    username: str
    token: str  # the raw API token ("" when none was issued)


async def insert_users(database_url: str, count: int, prefix: str,
                       with_tokens: int | None = None) -> list[BenchUser]:
    """COPY `count` users named <prefix><n> into the users table and give the first
    `with_tokens` of them (all by default) a raw API token valid for a day, stored as its
    SHA-256 like the API does. The users have no usable password: they exist to hold sockets,
    follows and posts. Their addresses count as confirmed (emails go to them as to anyone)."""
    if count < 1:
        return []
    with_tokens = count if with_tokens is None else max(0, min(with_tokens, count))
    now = datetime.now(UTC)
    names = [f"{prefix}{n:06d}" for n in range(count)]
    tokens = [secrets.token_urlsafe(32) for _ in range(with_tokens)]
    async with database(database_url) as conn, conn.transaction():
        await conn.copy_records_to_table(
            "users",
            records=[(name, name.lower(), username_skeleton(name),
                      f"{name.lower()}@bench.invalid", "!no-password", "", None, 0, now, now,
                      0, 0, now) for name in names],
            columns=["username", "username_key", "username_skeleton", "email",
                     "password_hash", "about_me", "locale", "session_epoch", "last_seen",
                     "created_at", "last_event_id", "unread_notifications",
                     "email_verified_at"])
        rows = await conn.fetch("SELECT id, username_key FROM users "
                                "WHERE username_key = ANY($1::text[])", [n.lower() for n in names])
        ids = {r["username_key"]: int(r["id"]) for r in rows}
        await conn.copy_records_to_table(
            "api_tokens",
            records=[(ids[names[i].lower()], hashlib.sha256(tokens[i].encode()).hexdigest(), now,
                      now + timedelta(days=1)) for i in range(with_tokens)],
            columns=["user_id", "token_hash", "created_at", "expires_at"])
    return [BenchUser(ids[name.lower()], name, tokens[i] if i < with_tokens else "")
            for i, name in enumerate(names)]


async def insert_follows(database_url: str, pairs: list[tuple[int, int]]) -> None:
    """COPY (follower_id, followed_id) pairs into follows."""
    now = datetime.now(UTC)
    async with database(database_url) as conn:
        await conn.copy_records_to_table(
            "follows", records=[(f, t, now) for f, t in pairs],
            columns=["follower_id", "followed_id", "created_at"])
        await conn.execute("ANALYZE users; ANALYZE follows; ANALYZE api_tokens")


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
    sockets = find(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)")
    non2xx = find(r"Non-2xx or 3xx responses: (\d+)")
    return WrkResult(
        requests=int(total.group(1)),
        requests_per_s=float(rps.group(1)),
        p50_ms=_duration_ms(p50.group(1)),
        p99_ms=_duration_ms(p99.group(1)),
        non_2xx_3xx=int(non2xx.group(1)) if non2xx else 0,
        socket_errors=sum(int(n) for n in sockets.groups()) if sockets else 0,
    )


def run_wrk(url: str, cookie: str | None, duration: int, connections: int, threads: int = 2,
            timeout_s: int = 10, script: Path | None = None) -> WrkResult:
    """wrk against `url`, with a session cookie and/or a Lua `script` (rotating paths,
    headers)."""
    return parse_wrk(_wrk(url, cookie, duration, connections, threads, timeout_s, script))


def _wrk(url: str, cookie: str | None, duration: int, connections: int, threads: int,
         timeout_s: int, script: Path | None) -> str:
    """wrk's output. Its own --timeout marks a request as a socket-timeout error; the outer
    timeout only guards against a hung wrk."""
    command = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{duration}s",
               f"--timeout={timeout_s}s", "--latency"]
    if cookie is not None:
        command += ["-H", f"Cookie: {cookie}"]
    if script is not None:
        command += ["-s", str(script)]
    command.append(url)
    try:
        result = subprocess.run(command, capture_output=True, text=True,
                                timeout=duration + timeout_s + 30, check=False)
    except subprocess.TimeoutExpired as exc:
        raise BenchError(f"wrk did not finish within {duration + timeout_s + 30}s") from exc
    if result.returncode:
        raise BenchError(f"wrk failed ({result.returncode}): {result.stderr}{result.stdout}")
    return result.stdout


# --- file limits and process figures (/proc) -------------------------------------------------


def lua_string(text: str) -> str:
    """`text` as a Lua string literal (wrk scripts)."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


# --- wrk: every response checked --------------------------------------------------------------
#
# wrk's own error count is only of statuses >= 400 ("Non-2xx or 3xx responses"): a 302 to the
# login page, what a lost or refused session answers, counts as a success. A Lua `response`
# hook sees every response instead (each wrk thread has its own Lua state; `done` adds their
# counters up through `thread:get` and prints one line, parsed by `parse_response_check`).

_RESPONSE_CHECK_LUA = """\
-- written by bench/common.py (response_check_script): counts the responses that are not a
-- 200 carrying the expected text
local threads = {}
local marker = %(marker)s

local ports = {%(ports)s}

function setup(thread)
  table.insert(threads, thread)
  -- several instances: wrk's threads take turns among their ports
  if #ports > 0 then
    thread.addr = wrk.lookup("127.0.0.1", ports[((#threads - 1) %% #ports) + 1])[1]
  end
end

function init(args)
  checked = 0
  not_200 = 0
  to_login = 0
  missing = 0
  first_bad = ""
end

function response(status, headers, body)
  checked = checked + 1
  if status ~= 200 then
    not_200 = not_200 + 1
    local location = headers["location"] or headers["Location"] or ""
    if string.find(location, "/auth/login", 1, true) then
      to_login = to_login + 1
    end
    if first_bad == "" then
      first_bad = string.sub(status .. " " .. location, 1, 200)
    end
  elseif marker ~= "" and not string.find(body, marker, 1, true) then
    missing = missing + 1
    if first_bad == "" then
      first_bad = "200 without the expected text"
    end
  end
end

function done(summary, latency, requests)
  local c, n, l, m, f = 0, 0, 0, 0, ""
  for _, t in ipairs(threads) do
    c = c + t:get("checked")
    n = n + t:get("not_200")
    l = l + t:get("to_login")
    m = m + t:get("missing")
    if f == "" then
      f = t:get("first_bad")
    end
  end
  io.write(string.format(
    "response check: requests %%d checked %%d not-200 %%d login-redirects %%d " ..
    "missing-text %%d first-bad %%s\\n", summary.requests, c, n, l, m, f))
end
"""


@dataclass(frozen=True)
class ResponseCheck:
    """What the Lua `response` hook saw: every response wrk completed must be a 200 whose
    body contains the expected text."""
    requests: int  # completed, as wrk counts them
    checked: int  # responses the hook saw (must equal `requests`)
    not_200: int  # any other status, redirects included
    login_redirects: int  # of those, redirects to /auth/login
    missing_text: int  # 200s without the expected text
    first_bad: str  # the first bad one: "302 /auth/login?next=..." (empty when none)

    @property
    def bad(self) -> int:
        """Responses that are not the expected page, plus any wrk completed unchecked."""
        return self.not_200 + self.missing_text + max(0, self.requests - self.checked)


def response_check_script(directory: Path, name: str, marker: str,
                          ports: tuple[int, ...] = ()) -> Path:
    """Write the wrk Lua script that checks every response (200 with `marker` in the body;
    an empty marker checks the status only) to DIRECTORY/NAME.lua and return its path. With
    `ports`, wrk's threads are spread over those ports of 127.0.0.1 (several instances)."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{name}.lua"
    path.write_text(_RESPONSE_CHECK_LUA % {"marker": lua_string(marker),
                                           "ports": ", ".join(map(str, ports))})
    return path


def parse_response_check(output: str) -> ResponseCheck:
    match = re.search(r"^response check: requests (\d+) checked (\d+) not-200 (\d+) "
                      r"login-redirects (\d+) missing-text (\d+) first-bad ?(.*)$", output,
                      re.MULTILINE)
    if match is None:
        raise BenchError(f"wrk printed no response check (is the Lua script loaded?):\n{output}")
    requests, checked, not_200, to_login, missing = (int(match.group(i)) for i in range(1, 6))
    return ResponseCheck(requests, checked, not_200, to_login, missing,
                         match.group(6).strip())


def run_wrk_checked(url: str, cookie: str | None, duration: int, connections: int,
                    threads: int, script: Path, timeout_s: int = 10
                    ) -> tuple[WrkResult, ResponseCheck]:
    """`run_wrk` with a `response_check_script`: wrk's figures (its "Non-2xx or 3xx" count
    included) and what the script saw of every response."""
    output = _wrk(url, cookie, duration, connections, threads, timeout_s, script)
    return parse_wrk(output), parse_response_check(output)


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


def proc_status_kb(pid: int, field: str = "VmRSS") -> int:
    """A memory figure of a process in KiB from /proc/<pid>/status (VmRSS, VmHWM)."""
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith(f"{field}:"):
                return int(line.split()[1])
    raise BenchError(f"no {field} for pid {pid}")


def rss_kb(pid: int) -> int:
    return proc_status_kb(pid, "VmRSS")


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
    `cpu_delta_by_name`."""
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
        start = before[pid][1] if pid in before else 0.0
        totals[name] = totals.get(name, 0.0) + max(0.0, seconds - start)
    return totals


def machine_cpu() -> tuple[float, float]:
    """(busy, total) jiffies of the whole machine from /proc/stat, for a utilisation delta."""
    with open("/proc/stat") as stat:
        values = [int(v) for v in stat.readline().split()[1:]]
    idle = values[3] + (values[4] if len(values) > 4 else 0)  # idle + iowait
    total = sum(values[:8])  # guest time is already counted in user
    return float(total - idle), float(total)


# --- where the CPU went ----------------------------------------------------------------------


class CpuWatch:
    """CPUs used during a phase by the server, the worker, PostgreSQL, Redis, this process
    with its finished children (wrk), and the rest of the machine (other work: tests, other
    benchmarks), which skews every figure. PostgreSQL counts all of its processes, also
    those serving someone else's database."""

    def __init__(self, pids: dict[str, int]) -> None:
        self.pids = pids
        self.result: dict[str, float] = {}

    def _now(self) -> dict[str, float]:
        values = {name: cpu_seconds(pid) for name, pid in self.pids.items()}
        own = resource.getrusage(resource.RUSAGE_SELF)
        kids = resource.getrusage(resource.RUSAGE_CHILDREN)
        values["bench + wrk"] = own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime
        values["_busy"], _total = machine_cpu()
        values["_wall"] = time.monotonic()
        return values

    def __enter__(self) -> CpuWatch:
        self.services = cpu_seconds_by_name(("postgres", "redis-server"))
        self.before = self._now()
        return self

    def __exit__(self, *exc: object) -> None:
        after = self._now()
        services = cpu_delta_by_name(self.services,
                                     cpu_seconds_by_name(("postgres", "redis-server")))
        wall = max(after["_wall"] - self.before["_wall"], 1e-9)
        used = {k: after[k] - self.before[k] for k in after if not k.startswith("_")}
        used["postgres"] = services.get("postgres", 0.0)
        used["redis"] = services.get("redis-server", 0.0)
        busy = (after["_busy"] - self.before["_busy"]) / CLK_TCK
        used["rest of machine"] = max(0.0, busy - sum(used.values()))
        self.result = {k: v / wall for k, v in used.items()}
        self.result["machine"] = busy / wall

    def line(self) -> str:
        parts = ", ".join(f"{k} {v:.2f}" for k, v in self.result.items() if k != "machine")
        return f"machine {self.result.get('machine', 0.0):.2f} CPUs busy: {parts}"

    @property
    def foreign(self) -> float:
        return self.result.get("rest of machine", 0.0)


def percentile(sorted_values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100) of an ascending list; nan when empty."""
    if not sorted_values:
        return float("nan")
    rank = max(1, min(len(sorted_values), int(-(-q * len(sorted_values) // 100))))
    return sorted_values[rank - 1]


# --- py-spy ----------------------------------------------------------------------------------

# where a sample's time goes: (label, substrings that must all be on its stack), first match
Phases = list[tuple[str, tuple[str, ...]]]


def py_spy_executable() -> str | None:
    candidate = Path(sys.executable).parent / "py-spy"
    return str(candidate) if candidate.exists() else shutil.which("py-spy")


def require_py_spy(directory: Path | None) -> None:
    if directory is not None and py_spy_executable() is None:
        raise BenchError("--profile-dir needs py-spy (.venv/bin/pip install py-spy)")


@contextmanager
def profiled(directory: Path | None, pid: int, name: str, phases: Phases,
             report: list[str]) -> Iterator[None]:
    """py-spy samples `pid` while the block runs (blocking sampling, which does not tear
    stacks; 100 Hz; --threads labels each stack with its thread) when `directory` is set: the
    collapsed stacks go to DIRECTORY/NAME-<time>.txt (speedscope.app opens them) and their
    summary is appended to `report`. Nothing happens when `directory` is None."""
    executable = py_spy_executable()
    if directory is None or executable is None:
        require_py_spy(directory)
        yield
        return
    directory.mkdir(parents=True, exist_ok=True)
    out = directory / f"{name}-{time.strftime('%Y%m%d-%H%M%S')}.txt"
    spy = subprocess.Popen(  # noqa: S603 - fixed arguments
        [executable, "record", "--pid", str(pid), "--duration", "3600", "--rate", "100",
         "--threads", "--format", "raw", "--output", str(out)],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    time.sleep(0.5)  # let py-spy attach
    try:
        yield
    finally:
        spy.send_signal(signal.SIGINT)  # stops early and still writes the file
        try:
            _, err = spy.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            stop_process(spy)
            err = b"py-spy did not stop in time"
        # in case py-spy, interrupted mid-sample, left the process stopped; harmless if not
        with suppress(ProcessLookupError):
            os.kill(pid, signal.SIGCONT)
        report.append(f"\nprofile of {name} ({out}):\n{summarise_collapsed(out, phases)}"
                      if out.exists() else
                      f"\npy-spy wrote no profile of {name}: {err.decode(errors='replace')[-500:]}")


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


def summarise_collapsed(path: Path, phases: Phases, top: int = 14) -> str:
    """Summarise py-spy collapsed stacks of the event loop thread: a label per sample (the
    first of `phases` whose substrings are all on its stack), the inclusive share per package
    and the hottest functions. py-spy leaves idle samples out (no --idle), so these are shares
    of the busy time. With uvloop, time in its C code (callbacks, socket syscalls) shows as
    self time of `Runner.run`."""
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


def add_common_options(parser: argparse.ArgumentParser, profile: str | None = None) -> None:
    """--json PATH, --embedded and, with `profile` (what is sampled when), --profile-dir."""
    parser.add_argument("--json", type=Path, default=None, metavar="PATH",
                        help="also write the figures and targets as JSON to PATH")
    parser.add_argument("--embedded", action="store_true",
                        help="embedded PostgreSQL and Redis even if others are configured or "
                             "answer locally")
    if profile:
        parser.add_argument("--profile-dir", type=Path, default=None, metavar="DIR",
                            help=f"py-spy samples {profile} and a summary of where the time "
                                 "goes is printed; the collapsed stacks (speedscope.app opens "
                                 "them) are written to DIR (sampling slows what it samples)")


def server_versions(found: Services) -> dict[str, str | None]:
    """PostgreSQL and Redis server versions (None when a server cannot be asked)."""
    import redis

    async def pg() -> str:
        async with database(found.admin_url) as conn:
            return str(await conn.fetchval("SHOW server_version"))

    versions: dict[str, str | None] = {"postgresql": None, "redis": None}
    try:
        versions["postgresql"] = asyncio.run(pg())
    except Exception as exc:  # the version is a label, never a reason to stop
        log(f"could not read the PostgreSQL version: {exc!r}")
    try:
        client = redis.Redis.from_url(found.redis_url, socket_timeout=5)
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


def write_result(path: Path | None, benchmark: str,
                 parameters: argparse.Namespace | dict[str, Any], figures: dict[str, Any],
                 targets: list[dict[str, Any]], headline: str = "") -> None:
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
