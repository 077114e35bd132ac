"""Background jobs: a post export, a batch of notification emails, and enqueue-to-start latency.

    .venv/bin/python bench/jobs.py [--posts 100000] [--small-posts 10000] [--emails 1000]
                                   [--single-emails 20] [--pings 1000] [--ping-interval-ms 5]
                                   [--idle-pings 50] [--concurrency 10] [--embedded]
                                   [--profile-dir DIR]

Creates a throw-away database (migrated) and Redis namespace, runs an SMTP server (aiosmtpd)
on a free loopback port inside this process that records each message's arrival time and
recipient, and measures real worker processes with MAIL_SERVER / MAIL_PORT pointing at it:
this script run as `bench/jobs.py --worker [--concurrency N]`, which is `microblog worker`
with the benchmark's own `ping` job declared too. This process enqueues through the
application's own code (Tortoise and `microblog.infra.resources` opened with the workers'
settings, `microblog.jobs.enqueue`).

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
   `send_follow_email` job per pair, enqueued back to back. Reported: throughput (emails/s
   from the first enqueue to the last delivery) and enqueue-to-delivery p50/p99 from the SMTP
   arrival times (a backlog: mostly queueing). Every email must arrive once. Then
   --single-emails more, one at a time (an idle worker's latency).
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
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager, nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH.parent))  # `python bench/jobs.py`

from bench.common import (  # noqa: E402 - after the sys.path line above
    BenchEnv,
    BenchError,
    Phases,
    add_common_options,
    bench_environment,
    bench_main,
    cpu_seconds,
    database,
    insert_follows,
    insert_users,
    log,
    machine_cpu,
    percentile,
    proc_status_kb,
    profiled,
    py_spy_executable,
    require_py_spy,
    rss_kb,
    target,
    write_result,
)
from microblog.jobs.registry import enqueue, job, job_key  # noqa: E402
from microblog.testing import Mailbox, log_tail, start_worker, stop_process  # noqa: E402

WARMUP_POSTS = 100
IDLE_PING_INTERVAL = 0.1
EXPORT_TARGET_S = 10.0
PING_TARGET_P99_MS = 20.0


@job(timeout=5, attempts=1, ttl=60)
async def ping(ctx: dict[str, Any]) -> str:
    """A no-op job: what is measured is how soon a worker starts it."""
    return "pong"


# --- workers and their memory ----------------------------------------------------------------


@dataclass
class WorkerProc:
    process: subprocess.Popen[bytes]
    log_path: Path

    @property
    def pid(self) -> int:
        return self.process.pid

    def log_tail(self, lines: int = 30) -> str:
        return log_tail(self.log_path, lines)


@contextmanager
def worker_process(bench: BenchEnv, name: str, concurrency: int) -> Iterator[WorkerProc]:
    """A worker that runs the product's jobs and `ping`, once it has registered with the
    queue (so it takes jobs); stopped at the end of the block."""
    log_path = bench.tmp / f"{name}.log"
    proc = start_worker(bench.settings, command=[sys.executable, str(BENCH / "jobs.py"),
                                                 "--worker"],
                        concurrency=concurrency, log_path=log_path)
    try:
        yield WorkerProc(proc, log_path)
    finally:
        stop_process(proc)


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


# what the worker's event loop is doing, for summarise_collapsed (first match wins)
WORKER_PHASES: Phases = [
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
    async with database(database_url) as conn:
        await conn.execute(
            "INSERT INTO posts (body, language, created_at, author_id) "
            "SELECT left('Post ' || g || ' ' || md5(g::text) || ' ' || $3, "
            "            60 + (g * 37) % 200), "
            "       'en', now() - make_interval(secs => $2 - g), $1 "
            "FROM generate_series(1, $2) AS g",
            author_id, count, LOREM)
        await conn.execute("ANALYZE posts")


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
    arrival = await mailbox.wait_for_arrival(email, mails_before + 1, timeout=120)
    after_email = time.monotonic()
    saq_job = await resources.queue.job(job_key(tasks.export_posts, task_id=task.id) or "")
    directory = resources.settings.export_dir / task.id
    files = {p.name: p.stat().st_size for p in sorted(directory.iterdir()) if p.is_file()}
    return ExportResult(
        posts=posts, wall_s=done - clock,
        queue_wait_ms=job_ms(saq_job, "queued", "started") if saq_job else float("nan"),
        run_s=job_ms(saq_job, "started", "completed") / 1000 if saq_job else float("nan"),
        email_s=arrival.at - started, rss_before_kb=before,
        peak_delta_kb=(sampler.peak(done) - before) if sampler else 0,
        peak_delta_email_kb=(sampler.peak(after_email) - before) if sampler else 0,
        hwm_delta_kb=(proc_status_kb(worker.pid, "VmHWM") - before) if hwm_ok else -1,
        files=files, email_bytes=len(arrival.raw), cpu=cpu_text)


async def export_phase(bench: BenchEnv, concurrency: int, mailbox: Mailbox,
                       warm: tuple[int, str], sizes: list[tuple[int, str, int]],
                       profile_dir: Path | None, profiles: list[str]) -> list[ExportResult]:
    results = []
    for n, (user_id, email, posts) in enumerate(sizes):
        with worker_process(bench, f"worker-export{n}", concurrency) as worker:
            log(f"export: warm-up ({WARMUP_POSTS} posts) in a fresh worker (pid {worker.pid})")
            await run_export(*warm, mailbox, worker, WARMUP_POSTS)
            await asyncio.sleep(1.0)  # let the worker settle before the baseline
            log(f"export: {posts:,} posts")
            largest = posts == max(size[2] for size in sizes)
            with RssSampler(worker.pid) as sampler, profiled(
                    profile_dir, worker.pid, "jobs-export", WORKER_PHASES, profiles) \
                    if largest else nullcontext():
                results.append(await run_export(user_id, email, mailbox, worker, posts,
                                                sampler))
    return results


async def single_emails(mailbox: Mailbox, follower_id: int,
                        recipients: list[tuple[int, str]]) -> list[float]:
    """Enqueue-to-delivery of one email at a time (an idle worker), in ms, sorted."""
    from microblog.services.emails import send_follow_email

    latencies = []
    for user_id, email in recipients:
        sent = time.time()
        await enqueue(send_follow_email, follower_id=follower_id, followed_id=user_id)
        arrival = await mailbox.wait_for_arrival(email, 1, timeout=30)
        latencies.append((arrival.at - sent) * 1000)
        await asyncio.sleep(0.05)
    return sorted(latencies)


async def email_phase(worker: WorkerProc, mailbox: Mailbox, follower_id: int,
                      recipients: list[tuple[int, str]], within: float) -> EmailResult:
    from microblog.services.emails import send_follow_email

    wanted = {email.lower() for _, email in recipients}
    enqueued: dict[str, float] = {}
    cpu = CpuMeter(worker.pid)
    first = time.time()
    for user_id, email in recipients:
        enqueued[email.lower()] = time.time()
        await enqueue(send_follow_email, follower_id=follower_id, followed_id=user_id)
    enqueue_s = time.time() - first

    def arrivals() -> dict[str, list[float]]:
        found: dict[str, list[float]] = {}
        for arrival in list(mailbox.arrivals):
            for rcpt in wanted.intersection(arrival.recipients):
                found.setdefault(rcpt, []).append(arrival.at)
        return found

    deadline = time.monotonic() + within
    while len(arrivals()) < len(wanted):
        if time.monotonic() > deadline or worker.process.poll() is not None:
            raise BenchError(f"{len(arrivals())} of {len(wanted)} follow emails arrived "
                             f"within {within:.0f}s\n{worker.log_tail()}")
        await asyncio.sleep(0.02)
    await asyncio.sleep(0.5)  # a duplicate would arrive right behind
    got = arrivals()
    latencies = sorted((times[0] - enqueued[rcpt]) * 1000 for rcpt, times in got.items())
    last = max(times[0] for times in got.values())
    return EmailResult(
        count=len(got), enqueue_s=enqueue_s, total_s=last - first, latencies_ms=latencies,
        duplicates=sum(len(t) - 1 for t in got.values()), cpu=cpu.summary())


async def ping_phase(worker: WorkerProc, label: str, count: int, interval: float,
                     burst: bool = False) -> PingResult:
    from microblog.infra import resources

    queue = resources.queue
    assert queue is not None
    cpu = CpuMeter(worker.pid)
    round_trips: list[float] = []

    async def enqueue_ping() -> str:
        sent = time.perf_counter()
        queued = await enqueue(ping)
        round_trips.append((time.perf_counter() - sent) * 1000)
        if queued is None:
            raise BenchError("could not enqueue a ping (see the log line above)")
        return str(queued.key)

    if burst:
        keys = list(await asyncio.gather(*(enqueue_ping() for _ in range(count))))
    else:
        keys = []
        start = time.monotonic()
        for n in range(count):
            # open loop: each job leaves on schedule, whatever the previous one did
            await asyncio.sleep(max(0.0, start + n * interval - time.monotonic()))
            keys.append(await enqueue_ping())
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


async def measure(args: argparse.Namespace, bench: BenchEnv, mailbox: Mailbox) -> Results:
    from microblog.db import close_db, init_db
    from microblog.infra import resources
    from microblog.jobs.queue import make_queue

    database_url = bench.database_url
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

    profiles: list[str] = []
    await init_db(database_url, pool_max=5)
    await resources.open(bench.settings, queue=make_queue(bench.settings))
    try:
        exports = await export_phase(
            bench, args.concurrency, mailbox, (warm.id, email_of(warm.username)),
            [(small.id, email_of(small.username), args.small_posts),
             (large.id, email_of(large.username), args.posts)], args.profile_dir, profiles)
        with worker_process(bench, "worker", args.concurrency) as worker:
            log(f"emails: {args.emails:,} follow emails")
            with profiled(args.profile_dir, worker.pid, "jobs-emails", WORKER_PHASES,
                          profiles):
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
    return Results(exports, emails, pings, profiles)


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
    paced_p99 = percentile(results.pings[1].latencies_ms, 99)
    targets = [
        target(f"export of {large.posts:,} posts", f"< {EXPORT_TARGET_S:g} s", large.wall_s,
               large.wall_s < EXPORT_TARGET_S, "s"),
        target(f"export memory growth (peak +), {small.posts:,} / {large.posts:,} posts",
               "flat (within 2x or +5 MiB)",
               f"+{small.peak_delta_kb / 1024:.1f} / +{large.peak_delta_kb / 1024:.1f} MiB",
               large.peak_delta_kb <= max(2 * small.peak_delta_kb,
                                          small.peak_delta_kb + 5 * 1024)),
        target("follow emails delivered exactly once", f"{args.emails:,}",
               f"{m.count:,}, {m.duplicates} duplicates",
               m.count == args.emails and m.duplicates == 0),
        target("paced enqueue -> start p99", f"< {PING_TARGET_P99_MS:g} ms", paced_p99,
               paced_p99 < PING_TARGET_P99_MS, "ms"),
    ]
    for summary in results.profiles:
        print(summary)
    if results.profiles:
        print("  (figures of a profiled run are inflated by the sampling)")
    print("\ntargets")
    for t in targets:
        measured = f"{t['measured']:.2f}" if isinstance(t["measured"], float) else t["measured"]
        print(f"  {'met   ' if t['met'] else 'MISSED'} {t['name']} {t['target']}: "
              f"{measured} {t['unit']}".rstrip())
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
        f"paced job start p99 {paced_p99:.0f} ms")
    return all(t["met"] for t in targets)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0] if __doc__ else None)
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
    add_common_options(parser, profile="the worker during the large export and the emails")
    args = parser.parse_args()
    if min(args.posts, args.small_posts, args.emails, args.single_emails, args.pings,
           args.idle_pings) < 1:
        parser.error("every count must be at least 1")
    return args


def run(args: argparse.Namespace) -> int:
    require_py_spy(args.profile_dir)
    with ExitStack() as stack:
        mailbox = stack.enter_context(Mailbox())
        bench = bench_environment(stack, "jobs", args.embedded, mail_server="127.0.0.1",
                                  mail_port=mailbox.port)
        results = asyncio.run(measure(args, bench, mailbox))
        notes = bench.services.description
    return 0 if report(args, results, notes) else 1


if __name__ == "__main__":
    if sys.argv[1:2] == ["--worker"]:
        # a worker process: `microblog worker` that also runs the jobs declared above
        from microblog.cli import main as microblog

        microblog(["worker", *sys.argv[2:]])
    sys.exit(bench_main(run, parse_args))
