"""The operator's view of the job queue: `microblog jobs`, `jobs retry`, `jobs abort`.

Where SAQ 0.26 keeps things in Redis (queue name N, see saq/queue/redis.py):
`saq:N:queued` (list, pushed right, popped left), `saq:N:active` (list),
`saq:N:incomplete` (sorted set of every unfinished job; the score is the due time in epoch
seconds for a delayed job or a retry waiting for its back-off, 0 once it is queued) and one
string per job, `saq:job:N:<key>`, kept after it finishes for the job's ttl. Finished jobs
(complete, failed, aborted) are in no list: they are found by scanning the job keys.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import time
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any, Literal

from saq import Queue
from saq.job import TERMINAL_STATUSES, Job, Status
from saq.queue.redis import RedisQueue

from microblog.logs import redact_mapping

State = Literal["queued", "active", "scheduled", "failed", "complete"]
STATES: tuple[State, ...] = ("queued", "active", "scheduled", "failed", "complete")
# what `microblog jobs` lists without --status: the finished-and-fine jobs are only counted
DEFAULT_STATES: tuple[State, ...] = ("queued", "active", "scheduled", "failed")
OPERATOR = "operator"


class AdminError(RuntimeError):
    """An operator command that cannot be done (unknown key, wrong state)."""


@dataclasses.dataclass
class JobRow:
    state: State
    status: str  # SAQ's own status (a failed row may be "failed" or "aborted")
    function: str
    key: str
    kwargs: dict[str, Any]
    attempts: int
    retries: int
    queued_at: datetime | None
    started_at: datetime | None
    due_at: datetime | None  # scheduled jobs and retries waiting for their back-off
    finished_at: datetime | None
    progress: float
    error: str | None  # the traceback's last line
    traceback: str | None

    def to_json(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        for name in ("queued_at", "started_at", "due_at", "finished_at"):
            value = data[name]
            data[name] = value.isoformat().replace("+00:00", "Z") if value else None
        return data


@dataclasses.dataclass
class WorkerRow:
    id: str
    uptime_seconds: int
    complete: int
    failed: int
    retried: int
    aborted: int


@dataclasses.dataclass
class Snapshot:
    queue: str
    counts: dict[str, int]
    workers: list[WorkerRow]
    jobs: dict[State, list[JobRow]]

    def to_json(self) -> dict[str, Any]:
        return {
            "queue": self.queue,
            "counts": self.counts,
            "workers": [dataclasses.asdict(w) for w in self.workers],
            "jobs": {state: [row.to_json() for row in rows] for state, rows in self.jobs.items()},
        }


def redis_queue(queue: Queue) -> RedisQueue:
    if not isinstance(queue, RedisQueue):
        raise AdminError("the job tools read SAQ's Redis queue; this queue is not one")
    return queue


def _millis(value: int) -> datetime | None:
    return datetime.fromtimestamp(value / 1000, UTC) if value else None


def _seconds(value: float) -> datetime | None:
    return datetime.fromtimestamp(value, UTC) if value else None


def last_line(text: str | None) -> str | None:
    lines = [line.strip() for line in (text or "").splitlines() if line.strip()]
    return lines[-1] if lines else None


def row(job: Job, state: State, due: float = 0) -> JobRow:
    return JobRow(
        state=state, status=job.status.value, function=job.function, key=job.key,
        # credentials (the password reset job's token) are not for operators' screens
        kwargs=redact_mapping(job.kwargs), attempts=job.attempts, retries=job.retries,
        queued_at=_millis(job.queued), started_at=_millis(job.started),
        due_at=_seconds(due or job.scheduled) if state == "scheduled" else None,
        finished_at=_millis(job.completed), progress=job.progress,
        error=last_line(job.error), traceback=job.error,
    )


def _newest(rows: list[JobRow], attr: str, limit: int) -> list[JobRow]:
    far_past = datetime.min.replace(tzinfo=UTC)
    rows.sort(key=lambda r: getattr(r, attr) or far_past, reverse=True)
    return rows[:limit]


async def snapshot(queue: Queue, *, limit: int = 20,
                   states: Sequence[State] = DEFAULT_STATES) -> Snapshot:
    """Counts for every state, the live workers, and up to `limit` jobs of each wanted state:
    newest first, except scheduled jobs, which come soonest due first."""
    q = redis_queue(queue)
    info = await q.info()
    r: Any = q.redis  # redis-py's stubs type every command as sync-or-async
    jobs: dict[State, list[JobRow]] = {}

    async def load(ids: Iterable[bytes | str]) -> list[Job]:
        ids = list(ids)
        found = [q.deserialize(data) for data in await r.mget(ids)] if ids else []
        return [job for job in found if job is not None]

    # both lists get new jobs at the right end: read from there (and never a long backlog
    # in full); their order is exact where times tie to the millisecond
    if "queued" in states:
        queued = await load(reversed(await r.lrange(q._queued, -limit, -1) if limit else []))
        jobs["queued"] = [row(j, "queued") for j in queued]
    if "active" in states:
        active = await load(reversed(await r.lrange(q._active, -limit, -1) if limit else []))
        jobs["active"] = [row(j, "active") for j in active]
    if "scheduled" in states:
        # due soonest first; a few extra, since a job being dequeued right now can still
        # carry a score for a moment
        pairs = await r.zrangebyscore(q._incomplete, "(0", "+inf", start=0, num=limit + 10,
                                      withscores=True)
        due = {(key.decode() if isinstance(key, bytes) else key): score for key, score in pairs}
        scheduled = [j for j in await load(due) if j.status in (Status.QUEUED, Status.NEW)]
        jobs["scheduled"] = [row(j, "scheduled", due[j.id]) for j in scheduled][:limit]

    finished: dict[str, int] = {"complete": 0, "failed": 0, "aborted": 0}
    failed_rows: list[JobRow] = []
    complete_rows: list[JobRow] = []
    async for job in q.iter_jobs(statuses=list(TERMINAL_STATUSES)):
        finished[job.status.value] += 1
        if job.status == Status.COMPLETE:
            if "complete" in states:
                complete_rows.append(row(job, "complete"))
        elif "failed" in states:
            failed_rows.append(row(job, "failed"))
    if "failed" in states:
        jobs["failed"] = _newest(failed_rows, "finished_at", limit)
    if "complete" in states:
        jobs["complete"] = _newest(complete_rows, "finished_at", limit)

    counts = {
        "queued": info["queued"], "active": info["active"],
        "scheduled": max(info["scheduled"], 0), **finished,
    }
    workers = []
    for worker_id, worker in sorted(info["workers"].items()):
        stats: dict[str, Any] = dict(worker.get("stats") or {})
        workers.append(WorkerRow(
            id=worker_id, uptime_seconds=int(stats.get("uptime", 0)) // 1000,
            complete=stats.get("complete", 0), failed=stats.get("failed", 0),
            retried=stats.get("retried", 0), aborted=stats.get("aborted", 0)))
    return Snapshot(queue=q.name, counts=counts, workers=workers,
                    jobs={state: jobs[state] for state in STATES if state in jobs})


async def retry(queue: Queue, key: str) -> Job:
    """Run a failed or aborted job again, as new: same function, arguments and options, a
    fresh count of attempts, queued now."""
    job = await queue.job(key)
    if job is None:
        raise AdminError(f"no job with key {key!r} (finished jobs are kept for their ttl)")
    if job.status not in (Status.FAILED, Status.ABORTED):
        raise AdminError(f"job {key} is {job.status.value}; only failed or aborted jobs "
                         "can be retried")
    again = dataclasses.replace(
        job, attempts=0, started=0, completed=0, touched=0, progress=0.0, scheduled=0,
        result=None, error=None, status=Status.NEW, worker_id=None,
        meta={**job.meta, "retried_by": OPERATOR})
    if await queue.enqueue(again) is None:
        # SAQ refuses a key that is unfinished or was aborted in the last few seconds
        raise AdminError(f"job {key} could not be queued again yet; try again in a few seconds")
    return again


async def abort(queue: Queue, key: str, wait: float = 10.0) -> Job:
    """Abort a queued, scheduled or running job. A running job is stopped by its worker
    (SAQ checks every second); this waits up to `wait` seconds for that."""
    q = redis_queue(queue)
    job = await q.job(key)
    if job is None:
        raise AdminError(f"no job with key {key!r}")
    if job.status in TERMINAL_STATUSES:
        raise AdminError(f"job {key} already finished ({job.status.value})")
    running = job.status in (Status.ACTIVE, Status.ABORTING)
    await q.abort(job, error=f"aborted by {OPERATOR}")
    # SAQ finishes a job it took out of the queued list; a scheduled one (in no list) stays
    # "aborting", and so does a running one whose worker died: nobody would finish those.
    # Finishing a job that a worker took in the meantime is fine: its worker sees the
    # status within a second and cancels it.
    deadline = time.monotonic() + (wait if running else 0)
    await job.refresh()
    while job.status not in TERMINAL_STATUSES and time.monotonic() < deadline:
        await asyncio.sleep(0.2)
        await job.refresh()
    if job.status == Status.ABORTING:
        await q.finish_abort(job)
        await job.refresh()
    return job


# --- text output ---------------------------------------------------------------------------

TITLES: dict[State, str] = {
    "queued": "Queued (newest first)",
    "active": "Active (newest first)",
    "scheduled": "Scheduled and waiting to retry (soonest first)",
    "failed": "Failed and aborted (newest first)",
    "complete": "Complete (newest first)",
}


def _time(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%S") if value else "-"


def _duration(seconds: int) -> str:
    minutes, s = divmod(seconds, 60)
    hours, m = divmod(minutes, 60)
    days, h = divmod(hours, 24)
    if days:
        return f"{days}d {h}h"
    if hours:
        return f"{hours}h {m}m"
    return f"{m}m {s}s" if minutes else f"{s}s"


def _columns(state: State) -> list[tuple[str, Any]]:
    common: list[tuple[str, Any]] = [
        ("FUNCTION", lambda r: r.function), ("KEY", lambda r: r.key),
        ("ATTEMPTS", lambda r: f"{r.attempts}/{r.retries}"),
        ("QUEUED", lambda r: _time(r.queued_at)),
    ]
    extra: dict[State, list[tuple[str, Any]]] = {
        "queued": [],
        "active": [("STARTED", lambda r: _time(r.started_at)),
                   ("PROGRESS", lambda r: f"{r.progress:.0%}")],
        "scheduled": [("DUE", lambda r: _time(r.due_at)),
                      ("LAST ERROR", lambda r: r.error or "-")],
        "failed": [("STATUS", lambda r: r.status), ("FINISHED", lambda r: _time(r.finished_at)),
                   ("ERROR", lambda r: r.error or "-")],
        "complete": [("FINISHED", lambda r: _time(r.finished_at))],
    }
    return common + extra[state]


def table(headers: list[str], rows: list[list[str]], indent: str = "  ") -> list[str]:
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(headers)]

    def line(cells: list[str]) -> str:
        return (indent + "  ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True))
                ).rstrip()

    return [line(headers), *(line(r) for r in rows)]


def render_text(snap: Snapshot) -> str:
    c = snap.counts
    out = [f"Queue {snap.queue} (times in UTC)", ""]
    out += table(["QUEUED", "ACTIVE", "SCHEDULED", "COMPLETE", "FAILED", "ABORTED"],
                 [[str(c[k]) for k in ("queued", "active", "scheduled", "complete", "failed",
                                       "aborted")]])
    out += ["", f"Workers alive: {len(snap.workers)}"]
    if snap.workers:
        out += table(["ID", "UP", "COMPLETE", "FAILED", "RETRIED", "ABORTED"],
                     [[w.id, _duration(w.uptime_seconds), str(w.complete), str(w.failed),
                       str(w.retried), str(w.aborted)] for w in snap.workers])
    else:
        out.append("  none: jobs wait until a `microblog worker` runs")
    for state, rows in snap.jobs.items():
        total = c["failed"] + c["aborted"] if state == "failed" else c[state]
        shown = f", showing {len(rows)}" if len(rows) < total else ""
        out += ["", f"{TITLES[state]}: {total}{shown}"]
        if rows:
            columns = _columns(state)
            out += table([name for name, _ in columns],
                         [[str(get(r)) for _, get in columns] for r in rows])
    return "\n".join(out)


def render_json(snap: Snapshot) -> str:
    return json.dumps(snap.to_json(), indent=2, default=str)
