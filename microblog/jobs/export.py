"""Export a user's posts to JSON and CSV, streaming, with live progress; then email them.

The export reads the posts in keyset batches and writes each batch straight to the files,
so memory stays flat however many posts there are. It touches its SAQ job after batches
(the heartbeat): if the worker is killed, the sweep of another worker sees the job go quiet
and runs it again from the start, over the same task row.
"""

from __future__ import annotations

import asyncio
import csv
import json
import logging
import os
import time
import zipfile
from pathlib import Path
from typing import Any

from tortoise import connections

from microblog.i18n import gettext as _
from microblog.i18n import locale_context
from microblog.infra import resources
from microblog.jobs.email import SENT_MARKER_TTL, already_sent, mark_sent
from microblog.mail import render_email, send_email
from microblog.models import Task
from microblog.services import tasks
from microblog.web.serializers import iso

log = logging.getLogger(__name__)

BATCH = 1000
# progress is reported at most this often (seconds), and at every 5 %
PROGRESS_EVERY = 1.0
HEARTBEAT_EVERY = 2.0
# base64 makes an attachment 4/3 larger and the email is built in memory (several copies
# as it is flattened and sent): above this the email carries the link only, which also
# keeps it well under common relay limits (Postfix: 10 MB)
ATTACHMENT_MAX = 2 * 1024 * 1024


async def export_posts(ctx: dict[str, Any], *, task_id: str) -> dict[str, Any]:
    task = await Task.get_or_none(id=task_id).select_related("user")
    if task is None:
        return {"skipped": "task gone"}
    if task.status == "complete":
        return task.result or {}
    if task.status == "failed":
        return {"skipped": "task failed"}
    await tasks.mark_active(task)
    user = task.user
    directory = tasks.export_dir(task)
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
        jf.write(f'{{"user": {owner}, "exported_at": {json.dumps(iso(tasks.now()))}, "posts": [')
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
                writer.writerow([row["id"], created, row["language"], row["body"], url])
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
                await tasks.report_progress(task, progress)
                reported, reported_at = progress, clock
        jf.write("\n]}\n")
    os.replace(json_tmp, directory / "posts.json")
    os.replace(csv_tmp, directory / "posts.csv")
    result = {"url": f"/api/tasks/{task.id}/download/posts.json",
              "csv_url": f"/api/tasks/{task.id}/download/posts.csv", "count": count}
    await tasks.complete(task, result)
    log.info("exported %d posts of user %s (task %s)", count, user.id, task.id)
    return result


async def send_export_email(ctx: dict[str, Any], *, task_id: str) -> str:
    """The finished export, attached (zipped) when small enough, and its link."""
    task = await Task.get_or_none(id=task_id).select_related("user")
    if task is None or task.status != "complete":
        return "skipped: task gone or not complete"
    marker = resources.key("email", "export", task.id)
    if await already_sent(marker):
        return "skipped: already sent"
    user, settings = task.user, resources.settings
    directory = tasks.export_dir(task)
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
    await mark_sent(marker, SENT_MARKER_TTL)
    return "sent"


def _zip(directory: Path) -> Path | None:
    files = [directory / name for name in tasks.EXPORT_FILES]
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
