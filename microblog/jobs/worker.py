"""The worker's settings: every job function and cron job is registered here, once."""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from saq import CronJob, Worker
from saq.job import Status

from microblog import logs, metrics
from microblog.db import close_db, init_db
from microblog.infra import resources
from microblog.jobs.email import (
    queue_message_digests,
    send_comment_email,
    send_follow_email,
    send_message_digest,
    send_password_reset_email,
)
from microblog.jobs.export import export_posts, send_export_email
from microblog.jobs.scheduled import publish_due_posts, publish_scheduled_post
from microblog.jobs.system import ping
from microblog.realtime import publish
from microblog.realtime.manager import RedisManager
from microblog.realtime.publish import Publisher
from microblog.settings import Settings

log = logging.getLogger(__name__)

FUNCTIONS: list[Callable[..., Awaitable[Any]]] = [
    send_password_reset_email, send_follow_email, send_comment_email, send_message_digest,
    export_posts, send_export_email, publish_scheduled_post, ping,
]

# Cron jobs are unique per queue: with several workers each still runs once per tick.
CRON_JOBS = [
    # a backstop: each scheduled post also has its own job, due at its time
    CronJob(publish_due_posts, cron="* * * * * */5", timeout=60, retries=1),  # type: ignore[type-var]
    CronJob(queue_message_digests, cron="* * * * * */5", timeout=60, retries=1),  # type: ignore[type-var]
]


# SAQ's status after an attempt -> the jobs_total outcome (a retry is queued again)
OUTCOMES = {Status.COMPLETE: "complete", Status.FAILED: "failed", Status.ABORTED: "aborted",
            Status.ABORTING: "aborted", Status.QUEUED: "retried"}


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
    see infra.Resources.enqueue) and its function, key and attempt. Set for every job: the
    next job's task is started from this one's context."""
    job = ctx.get("job")
    logs.request_id.set((job.meta or {}).get("request_id") if job is not None else None)
    logs.job_context.set({"function": job.function, "key": job.key, "attempt": job.attempts}
                         if job is not None else None)


async def _leave_job(ctx: dict[str, Any]) -> None:
    logs.request_id.set(None)
    logs.job_context.set(None)


async def _after_process(ctx: dict[str, Any]) -> None:
    """Log every failed attempt with its context; a permanent failure says so."""
    job = ctx.get("job")
    if job is None or ctx.get("exception") is None:
        return
    final = job.status == Status.FAILED
    # kwargs without credentials: the password reset job carries its token
    log.warning("job %s %s (attempt %d of %d, key %s, kwargs %s): %r",
                job.function, "failed for good" if final else "failed, will retry",
                job.attempts, job.retries, job.key, logs.redact_mapping(job.kwargs),
                ctx["exception"])
    if final:
        from microblog.services import tasks

        await tasks.job_failed(job.function, job.key, str(ctx["exception"]))


def make_worker(settings: Settings, concurrency: int = 10) -> Worker:
    if not settings.database_url:
        raise RuntimeError("DATABASE_URL is required for the worker")

    async def startup(ctx: dict[str, Any]) -> None:
        await init_db(settings.database_url or "", pool_max=5)
        await resources.open(settings, with_queue=False)
        # the worker sends events through the same Redis channels as the web instances,
        # with a write-only Socket.IO manager (it holds no sockets)
        emitter = RedisManager(
            settings.redis_url, channel=f"{settings.redis_namespace}:socketio",
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
        await resources.close()
        await close_db()

    from microblog.jobs.queue import make_queue

    queue = make_queue(settings)
    resources.queue = queue
    return Worker(queue, FUNCTIONS, concurrency=concurrency,  # type: ignore[arg-type]
                  cron_jobs=CRON_JOBS, startup=startup, shutdown=shutdown,
                  before_process=[_enter_job, _start_clock],
                  after_process=[_count_job, _after_process, _leave_job],
                  shutdown_grace_period_s=3,
                  timers={"sweep": settings.worker_sweep_interval})  # type: ignore[arg-type]
