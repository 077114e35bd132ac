"""Background tasks a user starts and watches: start, progress, finish, fail; and the one
kind there is, the export of a user's posts (its jobs are declared at the end).

A task is a row in PostgreSQL (what the user sees) and a SAQ job keyed by the task id (what
the worker runs). The row is the truth for the user; when the two disagree (the job was
lost, or failed for good without reaching its own failure handling) `reconcile` marks the
task failed so nothing stays "running" forever.
"""

from __future__ import annotations

import asyncio
import csv
import json
import logging
import os
import shutil
import time
import zipfile
from pathlib import Path
from typing import Any

from tortoise import connections
from tortoise.transactions import in_transaction

from microblog import ratelimit
from microblog.clock import iso, now
from microblog.errors import Conflict, NotFound, Unavailable
from microblog.i18n import gettext as _
from microblog.i18n import locale_context
from microblog.infra import resources
from microblog.jobs import OnOutage, QueueUnavailable, enqueue, job, job_key
from microblog.jobs.registry import JobFunction
from microblog.mail import render_email, send_email
from microblog.models import RUNNING, NotificationKind, Task, TaskStatus, User
from microblog.realtime.events import NotificationEvent
from microblog.realtime.publish import publish_personal, record_personal
from microblog.services import emails, notifications

log = logging.getLogger(__name__)

EXPORT = "export"
EXPORT_FILES = ("posts.json", "posts.csv")

BATCH = 1000
# progress is reported at most this often (seconds), and at every 5 %
PROGRESS_EVERY = 1.0
HEARTBEAT_EVERY = 2.0
# base64 makes an attachment 4/3 larger and the email is built in memory (several copies
# as it is flattened and sent): above this the email carries the link only, which also
# keeps it well under common relay limits (Postfix: 10 MB)
ATTACHMENT_MAX = 2 * 1024 * 1024


# A spreadsheet runs a cell that starts with one of these as a formula (`=HYPERLINK(...)`,
# `+cmd|...`): OWASP's CSV injection advice is to make it text with a leading quote.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(text: str) -> str:
    """`text` for the CSV export, where a spreadsheet will not evaluate it (the JSON export
    keeps the text exactly)."""
    return "'" + text if text.startswith(FORMULA_START) else text


async def start_export(user: User) -> Task:
    """Queue an export of the user's posts; only one runs per user at a time."""
    await ratelimit.enforce(ratelimit.EXPORTS, "exports", user.id, message=_(
        "You have started too many exports. Wait a while and try again."))
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
        await enqueue(export_posts, task_id=task.id)
    except QueueUnavailable:
        await fail(task, _("The export could not be queued. Please try again later."))
        raise Unavailable(_("Exports are unavailable right now. Please try again later.")) \
            from None
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
    job = await resources.queue.job(job_key(JOB_OF[task.name], task_id=task.id) or "")
    status = getattr(getattr(job, "status", None), "value", None)
    if job is not None and status not in ("failed", "aborted", "complete"):  # SAQ's
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
    task.status, task.progress, task.attempts = TaskStatus.ACTIVE, 0, task.attempts + 1
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
            id=None, kind=NotificationKind.TASK_PROGRESS, data=_event(task), created_at=now()))
    publish_personal(task.user_id, event)  # type: ignore[attr-defined]


async def complete(task: Task, result: dict[str, Any]) -> bool:
    """Done: the task keeps its result, the user gets a notification with the link. False
    when it was complete already."""
    async with in_transaction() as conn:
        rows = await conn.execute_query_dict(
            "UPDATE tasks SET status = $3, progress = 100, result = $2::jsonb, "
            "error = NULL, finished_at = now(), updated_at = now() "
            "WHERE id = $1 AND status <> $3 RETURNING id",
            [task.id, json.dumps(result), TaskStatus.COMPLETE.value])
        if not rows:
            return False  # a second run of a finished job announces nothing twice
        task.status, task.progress, task.result = TaskStatus.COMPLETE, 100, result
        event = await notifications.notify(conn, task.user_id,  # type: ignore[attr-defined]
                                           NotificationKind.TASK_PROGRESS,
                                           _event(task, **result))
    publish_personal(task.user_id, event)  # type: ignore[attr-defined]
    await _remove_older_exports(task)
    return True


async def fail(task: Task, message: str) -> None:
    """Failed for good: the user is told, in the page and in a notification."""
    async with in_transaction() as conn:
        rows = await conn.execute_query_dict(
            "UPDATE tasks SET status = $3, error = $2, finished_at = now(), "
            "updated_at = now() WHERE id = $1 AND status = ANY($4) RETURNING id",
            [task.id, message, TaskStatus.FAILED.value, [s.value for s in RUNNING]])
        if not rows:
            return
        task.status, task.error = TaskStatus.FAILED, message
        event = await notifications.notify(conn, task.user_id,  # type: ignore[attr-defined]
                                           NotificationKind.TASK_PROGRESS,
                                           _event(task, error=message))
    publish_personal(task.user_id, event)  # type: ignore[attr-defined]


def export_dir(task: Task | str) -> Path:
    task_id = task if isinstance(task, str) else task.id
    return resources.settings.export_dir / task_id


async def export_file(user: User, task_id: str, filename: str) -> Path:
    """The path of a finished export's file, for its owner only."""
    task = await get_task(user, task_id)
    if task.name != EXPORT or task.status != TaskStatus.COMPLETE or filename not in EXPORT_FILES:
        raise NotFound(_("No such file."))
    path = export_dir(task) / filename
    if not path.is_file():
        raise NotFound(_("This export is no longer available; start a new one."))
    return path


async def _remove_older_exports(task: Task) -> None:
    """Keep only the newest finished export's files on disk."""
    older = await (Task.filter(user_id=task.user_id, name=EXPORT,  # type: ignore[attr-defined]
                               status=TaskStatus.COMPLETE, created_at__lt=task.created_at)
                   .values_list("id", flat=True))
    for task_id in older:
        shutil.rmtree(export_dir(str(task_id)), ignore_errors=True)


# --- the export ------------------------------------------------------------------------


async def export_failed(*, task_id: str, error: str) -> None:
    """The export's last attempt failed: the user's task says so."""
    task = await Task.get_or_none(id=task_id)
    if task is not None:
        await fail(task, _("The export failed. Please try again later."))


# The export touches its job after batches (the heartbeat): if the worker is killed, the sweep
# of another worker sees the job go quiet and runs it again from the start, over the same row.
@job(timeout=1800, heartbeat=10, attempts=3, retry_delay=1.0, key=("task_id",),
     on_outage=OnOutage.FAIL, on_give_up=export_failed)
async def export_posts(ctx: dict[str, Any], *, task_id: str) -> dict[str, Any]:
    """Stream the user's posts in keyset batches straight into JSON and CSV files, so memory
    stays flat however many posts there are, reporting progress live."""
    task = await Task.get_or_none(id=task_id).select_related("user")
    if task is None:
        # its account was deleted, maybe while an earlier attempt wrote files
        await asyncio.to_thread(shutil.rmtree, export_dir(task_id), ignore_errors=True)
        return {"skipped": "task gone"}
    if task.status == TaskStatus.COMPLETE:
        return task.result or {}
    if task.status == TaskStatus.FAILED:
        return {"skipped": "task failed"}
    await mark_active(task)
    user = task.user
    directory = export_dir(task)
    directory.mkdir(parents=True, exist_ok=True)
    conn = connections.get("default")
    total_rows = await conn.execute_query_dict(
        "SELECT count(*) AS n FROM posts WHERE author_id = $1", [user.id])
    total = int(total_rows[0]["n"])
    job = ctx.get("job")
    json_tmp, csv_tmp = directory / "posts.json.part", directory / "posts.csv.part"
    count, last_id = 0, 0
    reported, reported_at, touched_at = 0, time.monotonic(), time.monotonic()
    with json_tmp.open("w", encoding="utf-8") as jf, \
            csv_tmp.open("w", encoding="utf-8", newline="") as cf:
        writer = csv.writer(cf)
        writer.writerow(["id", "created_at", "language", "body", "url"])
        owner = json.dumps({"id": user.id, "username": user.username})
        jf.write(f'{{"user": {owner}, "exported_at": {json.dumps(iso(now()))}, "posts": [')
        while True:
            rows = await conn.execute_query_dict(
                "SELECT id, body, language, created_at FROM posts "
                "WHERE author_id = $1 AND id > $2 ORDER BY id LIMIT $3",
                [user.id, last_id, BATCH])
            if not rows:
                break
            chunk = []
            base = resources.settings.public_url
            for row in rows:
                created, url = iso(row["created_at"]), f"{base}/post/{row['id']}"
                chunk.append(json.dumps({"id": row["id"], "body": row["body"],
                                         "language": row["language"], "created_at": created,
                                         "url": url}, ensure_ascii=False))
                writer.writerow([row["id"], created, row["language"], csv_cell(row["body"]),
                                 url])
            jf.write(("\n" if count == 0 else ",\n") + ",\n".join(chunk))
            count += len(rows)
            last_id = rows[-1]["id"]
            clock = time.monotonic()
            if job is not None and clock - touched_at >= HEARTBEAT_EVERY:
                await job.update()  # the heartbeat: this job is alive
                touched_at = clock
            progress = min(99, count * 100 // max(total, 1))
            if progress >= reported + 5 or (progress > reported
                                            and clock - reported_at >= PROGRESS_EVERY):
                await report_progress(task, progress)
                reported, reported_at = progress, clock
        jf.write("\n]}\n")
    os.replace(json_tmp, directory / "posts.json")
    os.replace(csv_tmp, directory / "posts.csv")
    result = {"url": f"/api/tasks/{task.id}/download/posts.json",
              "csv_url": f"/api/tasks/{task.id}/download/posts.csv", "count": count}
    if await complete(task, result):
        # the file is ready and linked; the email is a courtesy
        await enqueue(send_export_email, task_id=task.id)
    elif not await Task.exists(id=task.id):
        # the account was deleted while this ran: its files go too
        await asyncio.to_thread(shutil.rmtree, directory, ignore_errors=True)
        return {"skipped": "task gone"}
    log.info("exported %d posts of user %s (task %s)", count, user.id, task.id)
    return result


@job(timeout=60, attempts=6, key=("task_id",))
async def send_export_email(ctx: dict[str, Any], *, task_id: str) -> str:
    """The finished export, attached (zipped) when small enough, and its link."""
    task = await Task.get_or_none(id=task_id).select_related("user")
    if task is None or task.status != TaskStatus.COMPLETE:
        return "skipped: task gone or not complete"
    if not emails.verified(task.user):
        return "skipped: address not verified"
    marker = resources.key("email", "export", task.id)
    if await emails.already_sent(marker):
        return "skipped: already sent"
    user, settings = task.user, resources.settings
    directory = export_dir(task)
    archive = await asyncio.to_thread(_zip, directory)
    attach = archive is not None and archive.stat().st_size <= ATTACHMENT_MAX
    count = (task.result or {}).get("count", 0)
    with locale_context(user.locale):
        message = render_email(
            settings, to=user.email, subject=_("[Microblog] Your posts are ready"),
            template="email/export", user=user, count=count, attached=attach,
            url=f"{settings.public_url}/exports")
    if attach and archive is not None:
        message.add_attachment(archive.read_bytes(), maintype="application", subtype="zip",
                               filename=f"microblog-{user.username}-posts.zip")
    await send_email(settings, message)
    await emails.mark_sent(marker, emails.SENT_MARKER_TTL)
    return "sent"


def _zip(directory: Path) -> Path | None:
    files = [directory / name for name in EXPORT_FILES]
    if not all(f.is_file() for f in files):
        return None
    archive = directory / "posts.zip"
    if not archive.is_file():
        part = directory / "posts.zip.part"
        with zipfile.ZipFile(part, "w", compression=zipfile.ZIP_DEFLATED) as z:
            for f in files:
                z.write(f, arcname=f.name)
        os.replace(part, archive)
    return archive


# the job that carries out each kind of task
JOB_OF: dict[str, JobFunction] = {EXPORT: export_posts}
