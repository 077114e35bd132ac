"""The worker's settings: every job function and cron job is registered here, once."""

from __future__ import annotations

import logging
from typing import Any

import socketio
from saq import Worker

from microblog.db import close_db, init_db
from microblog.infra import resources
from microblog.jobs.email import send_password_reset_email
from microblog.realtime import publish
from microblog.realtime.publish import Publisher
from microblog.settings import Settings

log = logging.getLogger(__name__)

FUNCTIONS = [send_password_reset_email]


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
                  startup=startup, shutdown=shutdown)
