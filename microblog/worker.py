"""The job process's composition root: `make_worker(settings)` builds the SAQ worker that runs
every job and cron job declared with `@job` / `@cron` (microblog.jobs.registry).

The declarations live next to the services whose work they do; importing every service
module fills the registry. The worker emits events through the same Redis channels as the
web instances, with a write-only Socket.IO manager.
"""

from __future__ import annotations

import asyncio
import importlib
import logging
import pkgutil
import time
from enum import StrEnum
from typing import Any

from saq import CronJob, Worker
from saq.job import Status

from microblog import logs, metrics, search, services
from microblog.db import close_db, init_db
from microblog.infra import resources
from microblog.jobs import registry
from microblog.jobs.queue import make_queue
from microblog.realtime import publish
from microblog.realtime.manager import RedisManager
from microblog.realtime.publish import Publisher
from microblog.settings import Settings

log = logging.getLogger(__name__)


class JobOutcome(StrEnum):
    """How one attempt ended (the `outcome` label of jobs_total)."""

    COMPLETE = "complete"
    FAILED = "failed"
    ABORTED = "aborted"
    RETRIED = "retried"


# SAQ's status after an attempt -> its outcome (a retry is queued again)
OUTCOMES = {Status.COMPLETE: JobOutcome.COMPLETE, Status.FAILED: JobOutcome.FAILED,
            Status.ABORTED: JobOutcome.ABORTED, Status.ABORTING: JobOutcome.ABORTED,
            Status.QUEUED: JobOutcome.RETRIED}


def load_jobs() -> None:
    """Import every service module: their @job and @cron declarations fill the registry."""
    for module in pkgutil.iter_modules(services.__path__):
        importlib.import_module(f"{services.__name__}.{module.name}")


async def _start_clock(ctx: dict[str, Any]) -> None:
    # job.started is reset to 0 when SAQ schedules a retry: keep our own start
    ctx["metrics_started"] = time.monotonic()


async def _count_job(ctx: dict[str, Any]) -> None:
    job = ctx.get("job")
    outcome = OUTCOMES.get(job.status) if job is not None else None
    if job is None or outcome is None:
        return
    started = ctx.get("metrics_started")
    worker = ctx.get("worker")
    # a name nobody registered (a stray enqueue) shares one label: the label set stays bounded
    known = worker is None or job.function in worker.functions
    metrics.job_finished(job.function if known else "other", outcome,
                         time.monotonic() - started if started is not None else 0.0)


async def _enter_job(ctx: dict[str, Any]) -> None:
    """The job's logs carry the request id of the request that enqueued it (in its meta,
    see registry.enqueue) and its function, key and attempt. Set for every job: the next
    job's task is started from this one's context."""
    job = ctx.get("job")
    logs.request_id.set((job.meta or {}).get("request_id") if job is not None else None)
    logs.job_context.set({"function": job.function, "key": job.key, "attempt": job.attempts}
                         if job is not None else None)


async def _leave_job(ctx: dict[str, Any]) -> None:
    logs.request_id.set(None)
    logs.job_context.set(None)


async def _after_process(ctx: dict[str, Any]) -> None:
    """Log every failed attempt with its context; after the last one, the job's declared
    `on_give_up` tells whoever waits for it (a user's task is marked failed)."""
    job = ctx.get("job")
    if job is None or ctx.get("exception") is None:
        return
    final = job.status == Status.FAILED
    # kwargs without credentials: the password reset job carries its token
    log.warning("job %s %s (attempt %d of %d, key %s, kwargs %s): %r",
                job.function, "failed for good" if final else "failed, will retry",
                job.attempts, job.retries, job.key, logs.redact_mapping(job.kwargs),
                ctx["exception"])
    if not final:
        return
    try:
        spec = registry.spec_of(job.function)
    except LookupError:
        return
    if spec.on_give_up is not None:
        await spec.on_give_up(**(job.kwargs or {}), error=str(ctx["exception"]))


class QuietCron(logging.Filter):
    """SAQ logs every job it starts at INFO; the cron sweeps run every few seconds and would
    drown everything else: their lines are DEBUG."""

    def __init__(self, names: set[str]) -> None:
        super().__init__()
        self.names = names

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno != logging.INFO:
            return True
        text = record.getMessage()
        if not any(name in text for name in self.names):
            return True
        record.levelno, record.levelname = logging.DEBUG, "DEBUG"
        return logging.getLogger(record.name).isEnabledFor(logging.DEBUG)


# an idle job slot waits this long for a job before it looks at whether to stop
DEQUEUE_TIMEOUT = 1.0


class QuietStopWorker(Worker):
    """SAQ's stop gives every task the shutdown grace period, its own upkeep loops too, which
    sleep up to a sweep interval between rounds: every stop waited out the grace and warned
    "Some tasks did not finish". The loops are ended first; only jobs get the grace (idle
    job slots come back from their dequeue within DEQUEUE_TIMEOUT)."""

    _upkeep: list[asyncio.Task[None]]

    async def upkeep(self) -> list[asyncio.Task[None]]:
        self._upkeep = await super().upkeep()
        return self._upkeep

    async def stop(self) -> None:
        self.event.set()  # an upkeep loop that sees it returns instead of going round again
        for task in getattr(self, "_upkeep", ()):
            task.cancel()
        await super().stop()


def make_worker(settings: Settings, concurrency: int = 10) -> Worker:
    if not settings.database_url:
        raise RuntimeError("DATABASE_URL is required for the worker")
    load_jobs()
    queue = make_queue(settings)

    async def startup(ctx: dict[str, Any]) -> None:
        await init_db(settings.database_url or "", pool_max=5)
        await resources.open(settings)
        await search.start_backend(settings)
        resources.queue = queue  # jobs enqueue jobs (the export's email, digests)
        emitter = RedisManager(settings.redis_url, channel=settings.socketio_channel,
                               write_only=True)
        publisher = Publisher(emitter, resources.redis, settings.redis_namespace)
        publisher.start()
        publish.install(publisher)
        ctx["publisher"] = publisher
        log.info("worker started")

    async def shutdown(ctx: dict[str, Any]) -> None:
        publisher = ctx.get("publisher")
        if publisher is not None:
            await publisher.stop()
            publish.install(None)
        resources.queue = None  # the worker disconnects its own queue
        await search.close_backend()
        await resources.close()
        await close_db()

    crons = registry.crons()
    saq_log = logging.getLogger("saq")  # every line SAQ writes
    if not any(isinstance(f, QuietCron) for f in saq_log.filters):
        saq_log.addFilter(QuietCron({spec.name for spec in crons}))
    # cron jobs are unique per queue: with several workers each still runs once per tick
    cron_jobs = [CronJob(spec.function, cron=spec.schedule, timeout=spec.timeout,  # type: ignore[type-var]
                         retries=1) for spec in crons]
    return QuietStopWorker(queue, [(spec.name, spec.function) for spec in registry.jobs()],  # type: ignore[misc]
                  concurrency=concurrency, cron_jobs=cron_jobs,
                  startup=startup, shutdown=shutdown,
                  before_process=[_enter_job, _start_clock],
                  after_process=[_count_job, _after_process, _leave_job],
                  shutdown_grace_period_s=3, dequeue_timeout=DEQUEUE_TIMEOUT,
                  timers={"sweep": settings.worker_sweep_interval})  # type: ignore[arg-type]
