"""Background jobs: a post export, a batch of notification emails, and enqueue-to-start latency.

    .venv/bin/python bench/jobs.py [--posts 100000] [--small-posts 10000] [--emails 1000]
                                   [--single-emails 20] [--pings 1000] [--ping-interval-ms 5]
                                   [--idle-pings 50] [--concurrency 10] [--embedded]
                                   [--profile-dir DIR]

Creates a throw-away database (migrated) and Redis namespace, runs an SMTP server (aiosmtpd)
on a free loopback port inside this process that records each message's arrival time and
recipient, and measures real `microblog worker` subprocesses started with MAIL_SERVER /
MAIL_PORT pointing at it. This process enqueues through the application's own code
(Tortoise + `microblog.infra.resources` opened with `Settings.from_env` of the worker's
environment).

1. Export: one user with --posts posts and one with --small-posts (inserted with
   generate_series). Each size runs in a fresh worker, after a warm-up export of a 100-post user
   (first-use costs: imports, connections, templates). `tasks.start_export` creates the task and
   enqueues `export_posts`; the task row is polled until `complete`. Reported: wall time from
   just before start_export to complete, the job's own queue wait and run time (SAQ's
   timestamps), the worker's VmRSS before the export and its peak above that (sampled every
   10 ms in a thread, cross-checked with VmHWM reset through /proc/<pid>/clear_refs), also up
   to the arrival of the export email (zip + attachment), and the file sizes.
   Targets: the large export under 10 s; peak RSS growth about equal for both sizes.
2. Emails: --emails recipients and one follower who follows them all (COPY); one
   `send_follow_email` job per pair, enqueued back to back with the key the follow service
   uses. Reported: throughput (emails/s from the first enqueue to the last delivery) and
   enqueue-to-delivery p50/p99 from the SMTP arrival times (a backlog: mostly queueing). Every
   email must arrive once. Then --single-emails more, one at a time (an idle worker's latency).
3. Enqueue-to-start of the no-op `ping` job, from SAQ's own `queued` and `started` timestamps
   (milliseconds since the epoch, so each figure is +-1 ms): --idle-pings jobs 100 ms apart
   (an idle worker), --pings jobs --ping-interval-ms apart (paced: latency, not a backlog), and
   --pings jobs enqueued all at once (a burst: the backlog drains at the worker's job rate).
   Target: paced p99 under 20 ms.

With --profile-dir, py-spy (.venv/bin/pip install py-spy) samples the worker during the large
export (up to its email) and the email phase, writes the collapsed stacks to DIR (speedscope.app
opens them) and prints where the worker's event loop spends its time. Sampling pauses the
worker, so take the figures from a run without it.

Everything shares the machine with PostgreSQL and Redis (and whatever else runs on it: the
machine's busy CPUs are printed per phase). Cleaned up at the end (workers, database, Redis
namespace, SMTP server), also on errors, Ctrl-C and SIGTERM.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager, nullcontext, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # `python bench/jobs.py`

import asyncpg  # noqa: E402

from bench.common import (  # noqa: E402 - after the sys.path line above
    ROOT,
    VENV_BIN,
    BenchError,
    add_json_option,
    asyncpg_dsn,
    bench_environment,
    bench_main,
    cpu_seconds,
    free_port,
    insert_follows,
    insert_users,
    log,
    machine_cpu,
    percentile,
    py_spy_executable,
    rss_kb,
    start_py_spy,
    summarise_collapsed,
    target,
    terminate,
    write_result,
)

WARMUP_POSTS = 100
IDLE_PING_INTERVAL = 0.1
EXPORT_TARGET_S = 10.0
PING_TARGET_P99_MS = 20.0

# --- the SMTP server -------------------------------------------------------------------------


class Mailbox:
    """aiosmtpd handler: keeps (arrival time, recipient, size) of every message. It runs in
    aiosmtpd's own thread; list.append is atomic, and readers only count and copy."""

    def __init__(self) -> None:
        self.arrivals: list[tuple[float, str, int]] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        now = time.time()
        for rcpt in envelope.rcpt_tos:
            self.arrivals.append((now, str(rcpt).lower(), len(envelope.content or b"")))
        return "250 OK"

    def to(self, address: str) -> list[tuple[float, str, int]]:
        address = address.lower()
        return [a for a in list(self.arrivals) if a[1] == address]

    async def wait_for(self, address: str, count: int, within: float) -> tuple[float, int]:
        """(arrival time, size) of the count-th message to `address`."""
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            got = self.to(address)
            if len(got) >= count:
                return got[count - 1][0], got[count - 1][2]
            await asyncio.sleep(0.01)
        raise BenchError(f"email #{count} to {address} did not arrive within {within:.0f}s")


@contextmanager
def smtp_server() -> Iterator[tuple[Mailbox, int]]:
    from aiosmtpd.controller import Controller

    box = Mailbox()
    port = free_port()
    controller = Controller(box, hostname="127.0.0.1", port=port,
                            data_size_limit=64 * 1024 * 1024)
    controller.start()
    try:
        yield box, port
    finally:
        controller.stop()


# --- workers and their memory ----------------------------------------------------------------


@dataclass
class WorkerProc:
    process: subprocess.Popen[bytes]
    log_path: Path

    @property
    def pid(self) -> int:
        return self.process.pid

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no worker log)"


@contextmanager
def worker_process(env: dict[str, str], log_path: Path, concurrency: int) -> Iterator[WorkerProc]:
    with log_path.open("wb") as log_file:
        proc = subprocess.Popen(  # noqa: S603 - our own CLI, fixed arguments
            [str(VENV_BIN / "microblog"), "worker", "--concurrency", str(concurrency)],
            env=env, cwd=ROOT, stdout=log_file, stderr=subprocess.STDOUT)
    try:
        yield WorkerProc(proc, log_path)
    finally:
        terminate(proc)


class RssSampler:
    """Samples a process's VmRSS every `interval` seconds in a thread."""

    def __init__(self, pid: int, interval: float = 0.01) -> None:
        self.pid, self.interval = pid, interval
        self.samples: list[tuple[float, int]] = []  # (time.monotonic(), KiB)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.samples.append((time.monotonic(), rss_kb(self.pid)))
            except (OSError, BenchError):
                return
            self._stop.wait(self.interval)

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(2)

    def peak(self, until: float) -> int:
        return max((kb for t, kb in list(self.samples) if t <= until), default=0)


def reset_hwm(pid: int) -> bool:
    """Reset the peak-RSS mark (VmHWM) of a process (Linux >= 4.0, same user)."""
    try:
        with open(f"/proc/{pid}/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def hwm_kb(pid: int) -> int:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return 0


# what the worker's event loop is doing, for summarise_collapsed (first match wins)
WORKER_PHASES: list[tuple[str, tuple[str, ...]]] = [
    ("export_posts: reading rows (asyncpg, tortoise)", ("export_posts", "asyncpg")),
    ("export_posts: reading rows (asyncpg, tortoise)", ("export_posts", "tortoise")),
    ("export_posts: progress events", ("export_posts", "report_progress")),
    ("export_posts: JSON/CSV encoding, files", ("export_posts",)),
    ("send_export_email: SMTP (aiosmtplib)", ("send_export_email", "aiosmtplib")),
    ("send_export_email: building the message", ("send_export_email",)),
    ("send_follow_email: SMTP (aiosmtplib)", ("send_follow_email", "aiosmtplib")),
    ("send_follow_email: rendering (Jinja, email)", ("send_follow_email", "render_email")),
    ("send_follow_email: rendering (Jinja, email)", ("send_follow_email", "_notification")),
    ("send_follow_email: loading (tortoise, asyncpg)", ("send_follow_email", "tortoise")),
    ("send_follow_email: other", ("send_follow_email",)),
    ("SMTP I/O outside the job (aiosmtplib callbacks)", ("aiosmtplib",)),
    ("SAQ bookkeeping (job updates, dequeue)", ("saq/",)),
    ("redis-py outside the job", ("redis/",)),
    ("asyncpg outside the job", ("asyncpg",)),
]


class Profiler:
    """py-spy on one process while a block runs; the summaries are kept for the report."""

    def __init__(self, directory: Path | None) -> None:
        self.directory = directory
        self.summaries: list[str] = []
        self.executable = py_spy_executable() if directory else None
        if directory and self.executable is None:
            raise BenchError("--profile-dir needs py-spy (.venv/bin/pip install py-spy)")

    @contextmanager
    def sample(self, pid: int, name: str) -> Iterator[None]:
        if self.directory is None or self.executable is None:
            yield
            return
        self.directory.mkdir(parents=True, exist_ok=True)
        out = self.directory / f"jobs-{name}-{time.strftime('%Y%m%d-%H%M%S')}.txt"
        spy = start_py_spy(self.executable, pid, 600, out)
        time.sleep(0.5)  # let py-spy attach
        try:
            yield
        finally:
            spy.send_signal(signal.SIGINT)  # stops early and still writes the file
            try:
                _, err = spy.communicate(timeout=60)
            except subprocess.TimeoutExpired:
                terminate(spy)
                err = b"py-spy did not stop in time"
            # in case py-spy, interrupted mid-sample, left the worker stopped; harmless if not
            with suppress(ProcessLookupError):
                os.kill(pid, signal.SIGCONT)
            if out.exists():
                self.summaries.append(f"\nprofile of the worker, {name} ({out}):\n"
                                      f"{summarise_collapsed(out, WORKER_PHASES)}")
            else:
                self.summaries.append(f"\npy-spy wrote no profile for {name}: "
                                      f"{err.decode(errors='replace')[-500:]}")


class CpuMeter:
    """Busy CPUs of the whole machine and CPU seconds of the worker over a phase."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.machine = machine_cpu()
        self.worker = cpu_seconds(pid)
        self.started = time.monotonic()

    def summary(self) -> str:
        busy, total = machine_cpu()
        elapsed = max(time.monotonic() - self.started, 1e-9)
        share = (busy - self.machine[0]) / max(total - self.machine[1], 1.0)
        worker = cpu_seconds(self.pid) - self.worker
        return (f"machine busy {share * (os.cpu_count() or 1):.2f} of {os.cpu_count()} CPUs, "
                f"worker {worker:.2f} CPU-s ({worker / elapsed:.2f} CPUs)")


# --- data ------------------------------------------------------------------------------------

LOREM = ("Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor, "
         "\"quoted\", café, 日本語; ") * 4


async def insert_posts(database_url: str, author_id: int, count: int) -> None:
    """`count` posts of 60-260 characters (varied, with quotes, commas and non-ASCII text)."""
    conn = await asyncio.wait_for(asyncpg.connect(asyncpg_dsn(database_url)), 15)
    try:
        await conn.execute(
            "INSERT INTO posts (body, language, created_at, author_id) "
            "SELECT left('Post ' || g || ' ' || md5(g::text) || ' ' || $3, "
            "            60 + (g * 37) % 200), "
            "       'en', now() - make_interval(secs => $2 - g), $1 "
            "FROM generate_series(1, $2) AS g",
            author_id, count, LOREM)
        await conn.execute("ANALYZE posts")
    finally:
        await conn.close()


# --- measurements ----------------------------------------------------------------------------


@dataclass
class ExportResult:
    posts: int
    wall_s: float
    queue_wait_ms: float
    run_s: float
    email_s: float  # enqueue to the export email's arrival
    rss_before_kb: int
    peak_delta_kb: int  # sampled, until the task is complete
    peak_delta_email_kb: int  # sampled, until the email arrived
    hwm_delta_kb: int  # VmHWM after the email minus RSS before (-1 when unavailable)
    files: dict[str, int] = field(default_factory=dict)
    email_bytes: int = 0
    cpu: str = ""


@dataclass
class EmailResult:
    count: int
    enqueue_s: float
    total_s: float
    latencies_ms: list[float]
    duplicates: int
    cpu: str
    single_ms: list[float] = field(default_factory=list)


@dataclass
class PingResult:
    label: str
    count: int
    latencies_ms: list[float]
    enqueue_ms: list[float]  # this process's round trip per enqueue call
    drain_s: float  # first enqueue to last completion
    cpu: str


def worker_state(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/status") as status:
            return " ".join(line.split(":", 1)[1].strip() for line in status
                            if line.startswith(("State:", "TracerPid:")))
    except OSError:
        return "gone"


def stack_dump(pid: int) -> str:
    """Where a stuck worker is, when py-spy is installed."""
    executable = py_spy_executable()
    if executable is None:
        return ""
    try:
        result = subprocess.run([executable, "dump", "--pid", str(pid)],  # noqa: S603
                                capture_output=True, text=True, timeout=30, check=False)
    except subprocess.TimeoutExpired:
        return "\n(py-spy dump timed out)"
    return f"\npy-spy dump of the worker:\n{result.stdout[-6000:]}{result.stderr[-500:]}"


def job_ms(job: Any, a: str, b: str) -> float:
    return float(getattr(job, b) - getattr(job, a))


async def wait_worker_ready(worker: WorkerProc, within: float = 60.0) -> None:
    """A ping enqueued now completes: the worker has started and is consuming the queue."""
    from microblog.infra import resources

    assert resources.queue is not None
    job = await resources.enqueue("ping")
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if worker.process.poll() is not None:
            raise BenchError(f"`microblog worker` exited with {worker.process.returncode}:\n"
                             f"{worker.log_tail()}")
        got = await resources.queue.job(job.key)
        if got is not None and got.status.value == "complete":
            return
        await asyncio.sleep(0.05)
    info = await resources.queue.info()
    raise BenchError(f"the worker did not run a ping within {within:.0f}s (job "
                     f"{got.status.value if got else 'gone'}; queue queued={info.get('queued')} "
                     f"active={info.get('active')} workers={len(info.get('workers') or {})}; "
                     f"worker {worker_state(worker.pid)}):\n{worker.log_tail()}"
                     f"{stack_dump(worker.pid)}")


async def run_export(user_id: int, email: str, mailbox: Mailbox, worker: WorkerProc,
                     posts: int, sampler: RssSampler | None = None,
                     within: float = 600.0) -> ExportResult:
    from microblog.infra import resources
    from microblog.models import Task, User
    from microblog.services import tasks

    assert resources.queue is not None
    user = await User.get(id=user_id)
    mails_before = len(mailbox.to(email))
    before = rss_kb(worker.pid)
    hwm_ok = reset_hwm(worker.pid)
    cpu = CpuMeter(worker.pid)
    started, clock = time.time(), time.monotonic()
    task = await tasks.start_export(user)
    deadline = clock + within
    while True:
        row = await Task.filter(id=task.id).values("status", "error")
        status = row[0]["status"] if row else "gone"
        if status == "complete":
            break
        if status in ("failed", "gone") or worker.process.poll() is not None:
            raise BenchError(f"export of {posts} posts {status}: {row and row[0]['error']}\n"
                             f"{worker.log_tail()}")
        if time.monotonic() > deadline:
            raise BenchError(f"export of {posts} posts not complete after {within:.0f}s "
                             f"(status {status})")
        await asyncio.sleep(0.02)
    done = time.monotonic()
    cpu_text = cpu.summary()
    arrived, email_bytes = await mailbox.wait_for(email, mails_before + 1, within=120)
    after_email = time.monotonic()
    job = await resources.queue.job(task.id)
    directory = resources.settings.export_dir / task.id
    files = {p.name: p.stat().st_size for p in sorted(directory.iterdir()) if p.is_file()}
    return ExportResult(
        posts=posts, wall_s=done - clock,
        queue_wait_ms=job_ms(job, "queued", "started") if job else float("nan"),
        run_s=job_ms(job, "started", "completed") / 1000 if job else float("nan"),
        email_s=arrived - started, rss_before_kb=before,
        peak_delta_kb=(sampler.peak(done) - before) if sampler else 0,
        peak_delta_email_kb=(sampler.peak(after_email) - before) if sampler else 0,
        hwm_delta_kb=(hwm_kb(worker.pid) - before) if hwm_ok else -1,
        files=files, email_bytes=email_bytes, cpu=cpu_text)


async def export_phase(env: dict[str, str], tmp: Path, concurrency: int, mailbox: Mailbox,
                       warm: tuple[int, str], sizes: list[tuple[int, str, int]],
                       profiler: Profiler) -> list[ExportResult]:
    results = []
    for n, (user_id, email, posts) in enumerate(sizes):
        with worker_process(env, tmp / f"worker-export{n}.log", concurrency) as worker:
            await wait_worker_ready(worker)
            log(f"export: warm-up ({WARMUP_POSTS} posts) in a fresh worker (pid {worker.pid})")
            await run_export(*warm, mailbox, worker, WARMUP_POSTS)
            await asyncio.sleep(1.0)  # let the worker settle before the baseline
            log(f"export: {posts:,} posts")
            largest = posts == max(size[2] for size in sizes)
            with RssSampler(worker.pid) as sampler, \
                    profiler.sample(worker.pid, "export") if largest else nullcontext():
                results.append(await run_export(user_id, email, mailbox, worker, posts,
                                                sampler))
    return results


async def single_emails(mailbox: Mailbox, follower_id: int,
                        recipients: list[tuple[int, str]]) -> list[float]:
    """Enqueue-to-delivery of one email at a time (an idle worker), in ms, sorted."""
    from microblog.infra import resources

    latencies = []
    for user_id, email in recipients:
        sent = time.time()
        await resources.enqueue("send_follow_email", key=f"follow_email:{follower_id}:{user_id}",
                                follower_id=follower_id, followed_id=user_id)
        arrived, _size = await mailbox.wait_for(email, 1, within=30)
        latencies.append((arrived - sent) * 1000)
        await asyncio.sleep(0.05)
    return sorted(latencies)


async def email_phase(worker: WorkerProc, mailbox: Mailbox, follower_id: int,
                      recipients: list[tuple[int, str]], within: float) -> EmailResult:
    from microblog.infra import resources

    wanted = {email.lower() for _, email in recipients}
    enqueued: dict[str, float] = {}
    cpu = CpuMeter(worker.pid)
    first = time.time()
    for user_id, email in recipients:
        enqueued[email.lower()] = time.time()
        # the key the follow service (microblog.services.emails.follow_email) uses
        await resources.enqueue("send_follow_email", key=f"follow_email:{follower_id}:{user_id}",
                                follower_id=follower_id, followed_id=user_id)
    enqueue_s = time.time() - first
    deadline = time.monotonic() + within
    while True:
        got = {a[1] for a in list(mailbox.arrivals) if a[1] in wanted}
        if len(got) == len(wanted):
            break
        if time.monotonic() > deadline or worker.process.poll() is not None:
            raise BenchError(f"{len(got)} of {len(wanted)} follow emails arrived within "
                             f"{within:.0f}s\n{worker.log_tail()}")
        await asyncio.sleep(0.02)
    await asyncio.sleep(0.5)  # a duplicate would arrive right behind
    arrivals: dict[str, list[float]] = {}
    for at, rcpt, _size in list(mailbox.arrivals):
        if rcpt in wanted:
            arrivals.setdefault(rcpt, []).append(at)
    latencies = sorted((times[0] - enqueued[rcpt]) * 1000 for rcpt, times in arrivals.items())
    last = max(times[0] for times in arrivals.values())
    return EmailResult(
        count=len(arrivals), enqueue_s=enqueue_s, total_s=last - first, latencies_ms=latencies,
        duplicates=sum(len(t) - 1 for t in arrivals.values()), cpu=cpu.summary())


async def ping_phase(worker: WorkerProc, label: str, count: int, interval: float,
                     burst: bool = False) -> PingResult:
    from microblog.infra import resources

    queue = resources.queue
    assert queue is not None
    cpu = CpuMeter(worker.pid)
    round_trips: list[float] = []

    async def enqueue() -> str:
        sent = time.perf_counter()
        job = await resources.enqueue("ping")
        round_trips.append((time.perf_counter() - sent) * 1000)
        return str(job.key)

    if burst:
        keys = list(await asyncio.gather(*(enqueue() for _ in range(count))))
    else:
        keys = []
        start = time.monotonic()
        for n in range(count):
            # open loop: each job leaves on schedule, whatever the previous one did
            await asyncio.sleep(max(0.0, start + n * interval - time.monotonic()))
            keys.append(await enqueue())
    deadline = time.monotonic() + 60
    while True:
        jobs = await queue.jobs(keys)
        if all(j is not None and j.status.value == "complete" for j in jobs):
            break
        if time.monotonic() > deadline or worker.process.poll() is not None:
            statuses = Counter(j.status.value if j is not None else "gone" for j in jobs)
            info = await queue.info()
            raise BenchError(f"{label}: pings after 60s: {dict(statuses)}; queue "
                             f"queued={info.get('queued')} active={info.get('active')} "
                             f"workers={len(info.get('workers') or {})}; worker "
                             f"{worker_state(worker.pid)}\n{worker.log_tail()}"
                             f"{stack_dump(worker.pid)}")
        await asyncio.sleep(0.05)
    real = [j for j in jobs if j is not None]
    drain_s = (max(j.completed for j in real) - min(j.queued for j in real)) / 1000
    return PingResult(label, count, sorted(job_ms(j, "queued", "started") for j in real),
                      sorted(round_trips), drain_s, cpu.summary())


# --- the run ---------------------------------------------------------------------------------


@dataclass
class Results:
    exports: list[ExportResult]
    emails: EmailResult
    pings: list[PingResult]
    profiles: list[str]


async def measure(args: argparse.Namespace, env: dict[str, str], tmp: Path, mailbox: Mailbox,
                  database_url: str, profiler: Profiler) -> Results:
    from microblog.db import close_db, init_db
    from microblog.infra import resources
    from microblog.settings import Settings

    exporters = await insert_users(database_url, 3, "exporter", with_tokens=0)
    warm, small, large = exporters
    await insert_posts(database_url, warm.id, WARMUP_POSTS)
    await insert_posts(database_url, small.id, args.small_posts)
    await insert_posts(database_url, large.id, args.posts)
    follower, = await insert_users(database_url, 1, "follower", with_tokens=0)
    recipients = await insert_users(database_url, args.emails, "recipient", with_tokens=0)
    solos = await insert_users(database_url, args.single_emails, "solo", with_tokens=0)
    await insert_follows(database_url, [(follower.id, r.id) for r in recipients + solos])
    log(f"inserted {WARMUP_POSTS + args.small_posts + args.posts:,} posts, "
        f"{args.emails:,} recipients")

    def email_of(name: str) -> str:
        return f"{name.lower()}@bench.invalid"

    settings = Settings.from_env(env)
    await init_db(settings.database_url or "", pool_max=5)
    await resources.open(settings)
    try:
        exports = await export_phase(
            env, tmp, args.concurrency, mailbox, (warm.id, email_of(warm.username)),
            [(small.id, email_of(small.username), args.small_posts),
             (large.id, email_of(large.username), args.posts)], profiler)
        with worker_process(env, tmp / "worker.log", args.concurrency) as worker:
            await wait_worker_ready(worker)
            log(f"emails: {args.emails:,} follow emails")
            with profiler.sample(worker.pid, "emails"):
                emails = await email_phase(
                    worker, mailbox, follower.id,
                    [(r.id, email_of(r.username)) for r in recipients],
                    within=60 + args.emails * 0.2)
            log(f"emails: {args.single_emails} one at a time")
            emails.single_ms = await single_emails(
                mailbox, follower.id, [(r.id, email_of(r.username)) for r in solos])
            pings = []
            log(f"pings: {args.idle_pings} with the worker idle")
            pings.append(await ping_phase(
                worker, f"idle ({args.idle_pings}, {IDLE_PING_INTERVAL * 1000:.0f} ms apart)",
                args.idle_pings, IDLE_PING_INTERVAL))
            log(f"pings: {args.pings:,}, {args.ping_interval_ms:g} ms apart")
            pings.append(await ping_phase(
                worker, f"paced ({args.pings:,}, {args.ping_interval_ms:g} ms apart)",
                args.pings, args.ping_interval_ms / 1000))
            await asyncio.sleep(1.0)
            log(f"pings: {args.pings:,} at once")
            pings.append(await ping_phase(worker, f"burst ({args.pings:,} at once)",
                                          args.pings, 0.0, burst=True))
    finally:
        await resources.close()
        await close_db()
    return Results(exports, emails, pings, profiler.summaries)


def mib(kb: int) -> str:
    return f"{kb / 1024:.1f} MiB"


def stats(values: list[float], unit: str = "ms") -> str:
    return (f"p50 {percentile(values, 50):7.1f} {unit}  p99 {percentile(values, 99):7.1f} {unit}"
            f"  max {values[-1] if values else float('nan'):7.1f} {unit}")


def report(args: argparse.Namespace, results: Results, notes: list[str]) -> bool:
    print()
    print(f"jobs: worker concurrency {args.concurrency}, nproc {os.cpu_count()}; "
          + "; ".join(notes))
    print("\n1. export (start_export -> task complete; a fresh worker per size)")
    print(f"  {'posts':>9} {'wall':>7} {'queue':>7} {'in job':>7} {'posts/s':>9} "
          f"{'RSS before':>11} {'peak +':>10} {'+ email':>10} {'HWM +':>10} {'-> email':>9}")
    for e in results.exports:
        print(f"  {e.posts:>9,} {e.wall_s:>6.2f}s {e.queue_wait_ms:>5.0f}ms {e.run_s:>6.2f}s "
              f"{e.posts / e.wall_s:>9,.0f} {mib(e.rss_before_kb):>11} "
              f"{mib(e.peak_delta_kb):>10} {mib(e.peak_delta_email_kb):>10} "
              f"{mib(e.hwm_delta_kb) if e.hwm_delta_kb >= 0 else 'n/a':>10} "
              f"{e.email_s:>8.2f}s")
    for e in results.exports:
        files = ", ".join(f"{name} {size / 1e6:.1f} MB" for name, size in e.files.items())
        print(f"  {e.posts:>9,}: {files}; email {e.email_bytes / 1e6:.2f} MB; {e.cpu}")
    print("  (peak + = highest sampled VmRSS up to complete minus RSS before; + email = up to "
          "the export email's arrival; HWM + = VmHWM, which misses no spike, minus RSS before)")
    m = results.emails
    print(f"\n2. {m.count:,} follow emails through SMTP on loopback (enqueued back to back in "
          f"{m.enqueue_s:.2f} s)")
    print(f"  throughput {m.count / m.total_s:,.0f} emails/s ({m.total_s:.2f} s from the first "
          f"enqueue to the last delivery); duplicates {m.duplicates}")
    print(f"  enqueue -> delivery  {stats(m.latencies_ms)}  (fastest "
          f"{m.latencies_ms[0] if m.latencies_ms else float('nan'):.0f} ms; the rest is the "
          "backlog draining)")
    print(f"  {m.cpu}")
    print(f"  one at a time ({len(m.single_ms)}, idle worker): enqueue -> delivery  "
          f"{stats(m.single_ms)}")
    print("\n3. enqueue -> start of the `ping` job (SAQ's queued/started timestamps, +-1 ms)")
    for p in results.pings:
        drained = (f"   all done in {p.drain_s:.2f} s ({p.count / max(p.drain_s, 1e-3):,.0f} "
                   "jobs/s)") if p.label.startswith("burst") else ""
        print(f"  {p.label:<28} {stats(p.latencies_ms)}{drained}")
        print(f"  {'':<28} enqueue call p50 {percentile(p.enqueue_ms, 50):.2f} ms "
              f"p99 {percentile(p.enqueue_ms, 99):.2f} ms; {p.cpu}")

    large = max(results.exports, key=lambda e: e.posts)
    small = min(results.exports, key=lambda e: e.posts)
    paced = results.pings[1]
    checks = [
        (f"export of {large.posts:,} posts under {EXPORT_TARGET_S:g} s",
         large.wall_s < EXPORT_TARGET_S, f"{large.wall_s:.2f} s"),
        (f"export memory flat ({small.posts:,} vs {large.posts:,} posts, peak +, "
         "within 2x or 5 MiB)",
         large.peak_delta_kb <= max(2 * small.peak_delta_kb, small.peak_delta_kb + 5 * 1024),
         f"{mib(small.peak_delta_kb)} vs {mib(large.peak_delta_kb)}"),
        (f"all {args.emails:,} emails delivered once", m.count == args.emails
         and m.duplicates == 0, f"{m.count:,}, {m.duplicates} duplicates"),
        (f"enqueue -> start p99 under {PING_TARGET_P99_MS:g} ms (paced)",
         percentile(paced.latencies_ms, 99) < PING_TARGET_P99_MS,
         f"{percentile(paced.latencies_ms, 99):.0f} ms"),
    ]
    for summary in results.profiles:
        print(summary)
    if results.profiles:
        print("  (figures of a profiled run are inflated by the sampling)")
    print("\ntargets")
    for text, ok, value in checks:
        print(f"  {'met   ' if ok else 'MISSED'} {text}: {value}")
    write_json(args, results, checks)
    return all(ok for _, ok, _ in checks)


def write_json(args: argparse.Namespace, results: Results,
               checks: list[tuple[str, bool, str]]) -> None:
    m = results.emails
    large = max(results.exports, key=lambda e: e.posts)
    small = min(results.exports, key=lambda e: e.posts)
    paced = results.pings[1]
    # the same checks as the printed ones, with numbers and units for the table
    (_, export_ok, _), (_, flat_ok, _), (_, emails_ok, _), (_, ping_ok, _) = checks
    targets = [
        target(f"export of {large.posts:,} posts", f"< {EXPORT_TARGET_S:g} s", large.wall_s,
               export_ok, "s"),
        target(f"export memory growth, {small.posts:,} / {large.posts:,} posts",
               "flat (within 2x or +5 MiB)",
               f"+{small.peak_delta_kb / 1024:.1f} / +{large.peak_delta_kb / 1024:.1f} MiB",
               flat_ok),
        target("follow emails delivered exactly once", f"{args.emails:,}",
               f"{m.count:,}, {m.duplicates} duplicates", emails_ok),
        target("paced enqueue -> start p99", f"< {PING_TARGET_P99_MS:g} ms",
               percentile(paced.latencies_ms, 99), ping_ok, "ms"),
    ]
    write_result(args.json, "jobs", args, {
        "exports": [{"posts": e.posts, "wall_s": e.wall_s, "queue_wait_ms": e.queue_wait_ms,
                     "run_s": e.run_s, "email_s": e.email_s, "rss_before_kib": e.rss_before_kb,
                     "peak_delta_kib": e.peak_delta_kb,
                     "peak_delta_email_kib": e.peak_delta_email_kb,
                     "hwm_delta_kib": e.hwm_delta_kb, "file_bytes": e.files,
                     "email_bytes": e.email_bytes} for e in results.exports],
        "emails": {"count": m.count, "duplicates": m.duplicates,
                   "per_s": m.count / m.total_s if m.total_s else None,
                   "p50_ms": percentile(m.latencies_ms, 50),
                   "p99_ms": percentile(m.latencies_ms, 99),
                   "single_p50_ms": percentile(m.single_ms, 50),
                   "single_p99_ms": percentile(m.single_ms, 99)},
        "pings": {p.label: {"count": p.count, "p50_ms": percentile(p.latencies_ms, 50),
                            "p99_ms": percentile(p.latencies_ms, 99),
                            "max_ms": p.latencies_ms[-1] if p.latencies_ms else None,
                            "drain_s": p.drain_s} for p in results.pings},
    }, targets,
        f"export {large.posts:,} posts {large.wall_s:.2f} s; "
        f"{m.count / m.total_s if m.total_s else 0:.0f} emails/s; "
        f"paced job start p99 {percentile(paced.latencies_ms, 99):.0f} ms")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--posts", type=int, default=100_000, help="posts of the large export")
    parser.add_argument("--small-posts", type=int, default=10_000,
                        help="posts of the small export (memory comparison)")
    parser.add_argument("--emails", type=int, default=1000)
    parser.add_argument("--single-emails", type=int, default=20,
                        help="emails sent one at a time (latency with an idle worker)")
    parser.add_argument("--pings", type=int, default=1000)
    parser.add_argument("--ping-interval-ms", type=float, default=5.0)
    parser.add_argument("--idle-pings", type=int, default=50)
    parser.add_argument("--concurrency", type=int, default=10, help="worker concurrency")
    parser.add_argument("--profile-dir", type=Path, default=None,
                        help="py-spy the worker during the large export and the emails")
    parser.add_argument("--embedded", action="store_true",
                        help="embedded PostgreSQL and Redis even if local ones answer")
    add_json_option(parser)
    args = parser.parse_args()
    if min(args.posts, args.small_posts, args.emails, args.single_emails, args.pings,
           args.idle_pings) < 1:
        parser.error("every count must be at least 1")

    with ExitStack() as stack:
        bench = bench_environment(stack, "jobs", embedded=args.embedded,
                                  database_prefix="microblog_jobs")
        mailbox, smtp_port = stack.enter_context(smtp_server())
        env = {**bench.env, "MAIL_SERVER": "127.0.0.1", "MAIL_PORT": str(smtp_port),
               "PUBLIC_URL": "http://127.0.0.1:5000"}
        profiler = Profiler(args.profile_dir)
        results = asyncio.run(measure(args, env, bench.tmp, mailbox, bench.database_url,
                                      profiler))
        notes = bench.services.description
    ok = report(args, results, notes)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(bench_main(main))
