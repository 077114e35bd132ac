"""The worker's settings: every job function and cron job is registered here, once."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

import socketio
from saq import CronJob, Worker
from saq.job import Status

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


async def _after_process(ctx: dict[str, Any]) -> None:
    """Log every failed attempt with its context; a permanent failure says so."""
    job = ctx.get("job")
    if job is None or ctx.get("exception") is None:
        return
    final = job.status == Status.FAILED
    log.warning("job %s %s (attempt %d of %d, key %s, kwargs %s): %r",
                job.function, "failed for good" if final else "failed, will retry",
                job.attempts, job.retries, job.key, job.kwargs, ctx["exception"])
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
        emitter = socketio.AsyncRedisManager(
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
                  after_process=_after_process, shutdown_grace_period_s=3,
                  timers={"sweep": settings.worker_sweep_interval})  # type: ignore[arg-type]
