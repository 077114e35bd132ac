"""Every background job is declared once, with `@job` or `@cron`, next to the service whose
work it carries out; the worker's function list, its cron list and every enqueue's options
come from these declarations.

A job takes ids (never rows), reloads what it needs and may safely run twice. Services
enqueue by function reference, after their transaction has committed:

    await enqueue(send_follow_email, follower_id=a.id, followed_id=b.id)

What happens when Redis cannot take the job is part of the declaration (`on_outage`):
`CARRY_ON` logs, counts `jobs_enqueue_failed_total` and lets the user's action stand (an
email is a courtesy; a sweep may catch up); `FAIL` does the same and then raises
`QueueUnavailable`, so the service can undo what the job was for and answer 503.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from microblog import logs, metrics
from microblog.infra import resources

log = logging.getLogger(__name__)

JobFunction = Callable[..., Awaitable[Any]]

# an unreachable Redis must not hold up the user's request for long
ENQUEUE_TIMEOUT = 2.0


class OnOutage(StrEnum):
    """What a failed enqueue means for the action that asked for the job."""

    CARRY_ON = "carry_on"
    FAIL = "fail"


class QueueUnavailable(Exception):  # noqa: N818 - reads as the condition it reports
    """The job could not be queued and its declaration says the action must fail."""

    def __init__(self, name: str) -> None:
        super().__init__(f"could not queue {name}")
        self.name = name


@dataclass(frozen=True)
class JobSpec:
    """One job: its function, SAQ options and the kwargs its key is made of."""

    function: JobFunction
    name: str
    timeout: int
    attempts: int
    retry_delay: float
    backoff: bool
    heartbeat: int
    ttl: int
    key: tuple[str, ...]
    on_outage: OnOutage
    # called with the job's kwargs and `error` when its last attempt failed
    on_give_up: Callable[..., Awaitable[None]] | None

    def key_for(self, kwargs: dict[str, Any]) -> str | None:
        """`name:value:value`, from the declared kwargs; None: SAQ makes a unique one."""
        if not self.key:
            return None
        return ":".join([self.name, *(str(kwargs[part]) for part in self.key)])

    def options(self) -> dict[str, Any]:
        # SAQ calls the number of attempts `retries`
        return {"timeout": self.timeout, "retries": self.attempts,
                "retry_delay": self.retry_delay, "retry_backoff": self.backoff,
                "heartbeat": self.heartbeat, "ttl": self.ttl}


@dataclass(frozen=True)
class CronSpec:
    function: JobFunction
    name: str
    schedule: str  # croniter syntax with seconds: "* * * * * */5" is every 5 s
    timeout: int


_jobs: dict[str, JobSpec] = {}
_crons: dict[str, CronSpec] = {}


def _register(table: dict[str, Any], name: str, spec: Any) -> None:
    existing = table.get(name)
    if existing is not None and existing.function is not spec.function:
        raise ValueError(f"two jobs are named {name!r}")
    table[name] = spec


def job(*, timeout: int = 60, attempts: int = 5, retry_delay: float = 2.0,
        backoff: bool = True, heartbeat: int = 0, ttl: int = 3600,
        key: tuple[str, ...] = (), on_outage: OnOutage = OnOutage.CARRY_ON,
        on_give_up: Callable[..., Awaitable[None]] | None = None,
        ) -> Callable[[JobFunction], JobFunction]:
    """Declare `fn(ctx, **kwargs)` a job. `attempts` counts the first run; `backoff` doubles
    `retry_delay` after each; a job with a `heartbeat` (seconds) must touch itself that
    often or the sweep runs it again; `key` names the kwargs that make two enqueues the same
    job (SAQ keeps one job per key while it waits or runs)."""

    def declare(fn: JobFunction) -> JobFunction:
        _register(_jobs, fn.__name__, JobSpec(
            fn, fn.__name__, timeout, attempts, retry_delay, backoff, heartbeat, ttl,
            tuple(key), on_outage, on_give_up))
        return fn

    return declare


def cron(schedule: str, *, timeout: int = 60) -> Callable[[JobFunction], JobFunction]:
    """Declare `fn(ctx)` a cron job: once per tick per queue, however many workers run."""

    def declare(fn: JobFunction) -> JobFunction:
        _register(_crons, fn.__name__, CronSpec(fn, fn.__name__, schedule, timeout))
        return fn

    return declare


def jobs() -> list[JobSpec]:
    return list(_jobs.values())


def crons() -> list[CronSpec]:
    return list(_crons.values())


def spec_of(function: JobFunction | str) -> JobSpec:
    name = function if isinstance(function, str) else function.__name__
    spec = _jobs.get(name)
    if spec is None or (not isinstance(function, str) and spec.function is not function):
        raise LookupError(f"{name} is not a declared job (@job)")
    return spec


def job_key(function: JobFunction, **kwargs: Any) -> str | None:
    """The key an enqueue of `function` with these kwargs gets (to look the job up)."""
    return spec_of(function).key_for(kwargs)


async def enqueue(function: JobFunction, /, *, run_at: int | None = None,
                  **kwargs: Any) -> Any:
    """Queue a declared job (after commit); `run_at`: not before this Unix time. Returns the
    SAQ job, or None when it could not be queued and the declaration says carry on."""
    spec = spec_of(function)
    options = spec.options()
    key = spec.key_for(kwargs)
    if key is not None:
        options["key"] = key
    if run_at is not None:
        options["scheduled"] = run_at
    rid = logs.request_id.get()
    if rid is not None:
        # kept with the job in Redis; the worker logs the job under the same request id
        options["meta"] = {"request_id": rid}
    try:
        if resources.queue is None:
            raise RuntimeError("the job queue is not connected (REDIS_URL unset?)")
        async with asyncio.timeout(ENQUEUE_TIMEOUT):
            return await resources.queue.enqueue(spec.name, **options, **kwargs)
    except Exception as exc:
        metrics.job_enqueue_failed(spec.name)
        # the kwargs stay out of the line: some carry credentials (a reset token)
        log.error("could not queue %s (key %s): %r; %s", spec.name, key, exc,
                  "the action fails" if spec.on_outage is OnOutage.FAIL else "carrying on")
        if spec.on_outage is OnOutage.FAIL:
            raise QueueUnavailable(spec.name) from exc
        return None
