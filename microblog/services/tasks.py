"""Background tasks a user starts and watches (post exports): start, progress, finish, fail.

A task is a row in PostgreSQL (what the user sees) and a SAQ job whose key is the task id
(what the worker runs). The row is the truth for the user; when the two disagree (the job
was lost, or failed for good without reaching its own failure handling) `reconcile` marks
the task failed so nothing stays "running" forever.
"""

from __future__ import annotations

import json
import logging
import shutil
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tortoise.transactions import in_transaction

from microblog.i18n import gettext as _
from microblog.infra import resources
from microblog.models import Task, User
from microblog.realtime.events import NotificationEvent
from microblog.realtime.publish import publish_personal, record_personal
from microblog.services import notifications
from microblog.services.errors import Conflict, NotFound, ServiceError

log = logging.getLogger(__name__)

EXPORT = "export"
EXPORT_FILES = ("posts.json", "posts.csv")
RUNNING = ("queued", "active")
# the job that carries out each kind of task
JOB_OF = {EXPORT: "export_posts"}


class Unavailable(ServiceError):
    status = 503
    code = "unavailable"


def now() -> datetime:
    return datetime.now(UTC)


async def start_export(user: User) -> Task:
    """Queue an export of the user's posts; only one runs per user at a time."""
    async with in_transaction() as conn:
        # serialises concurrent requests of one user: the second sees the first's row
        await conn.execute_query("SELECT id FROM users WHERE id = $1 FOR UPDATE", [user.id])
        running = await (Task.filter(user_id=user.id, name=EXPORT, status__in=RUNNING)
                         .using_db(conn).first())
        if running is None:
            task = await Task.create(user_id=user.id, name=EXPORT, using_db=conn)
    if running is not None:
        if await reconcile(running):
            return await start_export(user)
        raise Conflict(_("An export of your posts is already running."))
    try:
        await resources.enqueue(JOB_OF[EXPORT], key=task.id, task_id=task.id)
    except Exception as exc:
        log.exception("could not queue export task %s", task.id)
        await fail(task, _("The export could not be queued. Please try again later."))
        raise Unavailable(_("Exports are unavailable right now. Please try again later.")) \
            from exc
    return task


async def get_task(user: User, task_id: str) -> Task:
    """The user's own task; anyone else's is as unknown as a missing one."""
    task = await Task.get_or_none(id=task_id, user_id=user.id)
    if task is None:
        raise NotFound(_("No such task."))
    if task.status in RUNNING:
        await reconcile(task)
    return task


async def recent_tasks(user: User, name: str = EXPORT, limit: int = 10) -> list[Task]:
    """The user's newest tasks, running ones checked against their jobs (none shows
    "running" forever)."""
    items = await Task.filter(user_id=user.id, name=name).order_by("-created_at").limit(limit)
    for task in items:
        if task.status in RUNNING:
            await reconcile(task)
    return items


async def reconcile(task: Task) -> bool:
    """A running task whose job is gone, failed or aborted is failed; True if it was."""
    if resources.queue is None or task.status not in RUNNING:
        return False
    job = await resources.queue.job(task.id)
    status = getattr(getattr(job, "status", None), "value", None)
    if job is not None and status not in ("failed", "aborted", "complete"):
        return False
    # a job that completed has already completed its task; re-read before judging
    await task.refresh_from_db()
    if task.status not in RUNNING:
        return False
    log.warning("task %s (%s) has no live job (job status %s): failing it",
                task.id, task.name, status)
    await fail(task, _("The export stopped unexpectedly. Please try again."))
    return True


def _event(task: Task, **data: Any) -> dict[str, Any]:
    return {"task_id": task.id, "name": task.name, "progress": task.progress,
            "status": task.status, **data}


async def mark_active(task: Task) -> None:
    task.status, task.progress, task.attempts = "active", 0, task.attempts + 1
    await task.save(update_fields=["status", "progress", "attempts", "updated_at"])
    await report_progress(task, 0)


async def report_progress(task: Task, progress: int) -> None:
    """A live progress report (replayed after a reconnect, not kept as a notification)."""
    task.progress = max(0, min(100, progress))
    async with in_transaction() as conn:
        await conn.execute_query(
            "UPDATE tasks SET progress = $2, updated_at = now() WHERE id = $1",
            [task.id, task.progress])
        event = await record_personal(conn, task.user_id, NotificationEvent(  # type: ignore[attr-defined]
            id=None, kind="task_progress", data=_event(task), created_at=now()))
    publish_personal(task.user_id, event)  # type: ignore[attr-defined]


async def complete(task: Task, result: dict[str, Any]) -> None:
    """Done: the task keeps its result, the user gets a notification with the link."""
    async with in_transaction() as conn:
        rows = await conn.execute_query_dict(
            "UPDATE tasks SET status = 'complete', progress = 100, result = $2::jsonb, "
            "error = NULL, finished_at = now(), updated_at = now() "
            "WHERE id = $1 AND status <> 'complete' RETURNING id",
            [task.id, json.dumps(result)])
        if not rows:
            return  # a second run of a finished job announces nothing twice
        task.status, task.progress, task.result = "complete", 100, result
        event = await notifications.notify(conn, task.user_id,  # type: ignore[attr-defined]
                                           "task_progress", _event(task, **result))
    publish_personal(task.user_id, event)  # type: ignore[attr-defined]
    await _remove_older_exports(task)
    try:
        await resources.enqueue("send_export_email", key=f"export-email:{task.id}",
                                task_id=task.id)
    except Exception:  # the file is ready and linked; the email is a courtesy
        log.exception("could not queue the export email of task %s", task.id)


async def fail(task: Task, message: str) -> None:
    """Failed for good: the user is told, in the page and in a notification."""
    async with in_transaction() as conn:
        rows = await conn.execute_query_dict(
            "UPDATE tasks SET status = 'failed', error = $2, finished_at = now(), "
            "updated_at = now() WHERE id = $1 AND status IN ('queued', 'active') RETURNING id",
            [task.id, message])
        if not rows:
            return
        task.status, task.error = "failed", message
        event = await notifications.notify(conn, task.user_id,  # type: ignore[attr-defined]
                                           "task_progress", _event(task, error=message))
    publish_personal(task.user_id, event)  # type: ignore[attr-defined]


async def job_failed(function: str, key: str, error: str) -> None:
    """A job failed for good (retries exhausted): if it was a user's task, the task says so."""
    if function not in JOB_OF.values():
        return
    task = await Task.get_or_none(id=key)
    if task is not None:
        await fail(task, _("The export failed. Please try again later."))


def export_dir(task: Task | str) -> Path:
    task_id = task if isinstance(task, str) else task.id
    return resources.settings.export_dir / task_id


async def export_file(user: User, task_id: str, filename: str) -> Path:
    """The path of a finished export's file, for its owner only."""
    task = await get_task(user, task_id)
    if task.name != EXPORT or task.status != "complete" or filename not in EXPORT_FILES:
        raise NotFound(_("No such file."))
    path = export_dir(task) / filename
    if not path.is_file():
        raise NotFound(_("This export is no longer available; start a new one."))
    return path


async def _remove_older_exports(task: Task) -> None:
    """Keep only the newest finished export's files on disk."""
    older = await (Task.filter(user_id=task.user_id, name=EXPORT,  # type: ignore[attr-defined]
                               status="complete", created_at__lt=task.created_at)
                   .values_list("id", flat=True))
    for task_id in older:
        shutil.rmtree(export_dir(str(task_id)), ignore_errors=True)
