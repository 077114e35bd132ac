"""Scheduled posts: written now, published by the worker when their time comes.

A scheduled post is not a post until it is published, so no timeline, page or API can
show it early. Publishing locks the row, creates the post and records its id in one
transaction, then announces the post exactly as posting now does. Each scheduled post has a
delayed job due at its time (keyed by that time, so an edit queues a new one and the old one
finds the time changed and does nothing) and a cron sweep publishes whatever a lost job
missed.

Published rows stay (with `post_id`) for `PUBLISHED_KEPT`, so an API client that scheduled a
post can look up what became of it; the sweep then deletes them, which keeps the sweep's
query on the `publish_at` index short.
"""

from __future__ import annotations

import logging
import math
import re
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from tortoise import connections
from tortoise.transactions import in_transaction

from microblog.clock import now
from microblog.errors import Conflict, NotFound, ValidationFailed
from microblog.i18n import gettext as _
from microblog.jobs import cron, enqueue, job
from microblog.limits import POST_MAX
from microblog.models import Post, ScheduledPost, User
from microblog.services import posts
from microblog.services.pagination import Page, PageRequest
from microblog.text import text_problem

log = logging.getLogger(__name__)

# A time closer than this is "now" give or take clock skew: post it instead.
MIN_LEAD = timedelta(seconds=5)
MAX_AHEAD = timedelta(days=365)
PENDING_MAX = 100
PUBLISHED_KEPT = timedelta(hours=1)
SWEEP_BATCH = 200
# JavaScript's Date.getTimezoneOffset() is within UTC-12..UTC+14; leave a margin.
MAX_OFFSET_MINUTES = 16 * 60


def status(row: ScheduledPost) -> Literal["scheduled", "published"]:
    return "published" if row.post_id is not None else "scheduled"


def _bad_time() -> ValidationFailed:
    return ValidationFailed({"publish_at": _(
        "That is not a date and time. Use ISO 8601, like 2030-01-31T09:30:00Z.")})


def parse_publish_at(value: object, tz_offset: object = None) -> datetime | None:
    """The moment to publish, in UTC; None when no time was given.

    `value` is ISO 8601 (a datetime-local input's value is that, without a zone). A time
    without a zone is read with `tz_offset`, the minutes JavaScript's getTimezoneOffset()
    gives for it (UTC = local + offset), and as UTC when there is none.
    """
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, datetime):
        when = value
    elif isinstance(value, str) and len(value) <= 64:
        if text_problem(value) is not None:  # fromisoformat lets a trailing NUL through
            raise _bad_time()
        try:
            when = datetime.fromisoformat(value.strip())
        except ValueError:
            raise _bad_time() from None
    else:
        raise _bad_time()
    if when.tzinfo is not None:
        return when.astimezone(UTC)
    offset = offset_minutes(tz_offset)
    try:
        return when.replace(tzinfo=UTC) + timedelta(minutes=offset)
    except OverflowError:
        raise _bad_time() from None


_OFFSET = re.compile(r"[+-]?[0-9]{1,4}")


def offset_minutes(tz_offset: object) -> int:
    if tz_offset is None or tz_offset == "":
        return 0
    raw = str(tz_offset).strip()
    # ASCII digits only: int() would read "٣" as 3
    minutes = int(raw) if _OFFSET.fullmatch(raw) else MAX_OFFSET_MINUTES + 1
    if isinstance(tz_offset, bool) or abs(minutes) > MAX_OFFSET_MINUTES:
        raise ValidationFailed({"publish_at": _("The time zone offset is not valid.")})
    return minutes


def _check_time(when: datetime | None, current: datetime) -> datetime:
    if when is None:
        raise ValidationFailed({"publish_at": _("Say when to publish it.")})
    if when < current + MIN_LEAD:
        raise ValidationFailed({"publish_at": _(
            "That time has passed or is only seconds away: pick a later time, "
            "or post it now.")})
    if when > current + MAX_AHEAD:
        raise ValidationFailed({"publish_at": _("You can schedule a post at most a year ahead.")})
    return when


def _clean(body: str | None, publish_at: object, tz_offset: object,
           current: datetime) -> tuple[str, datetime]:
    """Both fields checked, so a form shows every problem at once."""
    errors: dict[str, str] = {}
    text = when = None
    try:
        text = posts.clean_body(body, POST_MAX)
    except ValidationFailed as exc:
        errors.update(exc.errors)
    try:
        when = _check_time(parse_publish_at(publish_at, tz_offset), current)
    except ValidationFailed as exc:
        errors.update(exc.errors)
    if errors or text is None or when is None:
        raise ValidationFailed(errors)
    return text, when


async def schedule_post(author: User, body: str | None, publish_at: object,
                        tz_offset: object = None) -> ScheduledPost:
    text, when = _clean(body, publish_at, tz_offset, now())
    # A soft limit: two concurrent requests may both pass it, which harms no one.
    if await pending(author).count() >= PENDING_MAX:
        raise Conflict(_("You already have %(max)d posts waiting to be published, the most "
                         "you can have. Cancel one or wait for it to be published.",
                         max=PENDING_MAX), "publish_at")
    row = await ScheduledPost.create(author=author, body=text, publish_at=when)
    await _queue_publication(row)
    return row


def pending(user: User) -> Any:
    return ScheduledPost.filter(author_id=user.id, post_id__isnull=True)


async def list_scheduled(user: User, req: PageRequest | None = None) -> Page[ScheduledPost]:
    """The user's posts waiting to be published, soonest first."""
    req = req or PageRequest(1, PENDING_MAX)
    rows = await (pending(user).order_by("publish_at", "id")
                  .offset(req.offset).limit(req.per_page + 1))
    total = await pending(user).count()
    return Page(rows[: req.per_page], req.page, req.per_page, len(rows) > req.per_page, total)


async def get_scheduled(user: User, scheduled_id: int) -> ScheduledPost:
    """One of the user's scheduled posts (waiting, or published within PUBLISHED_KEPT).
    Someone else's is not found, whether or not it exists."""
    row = await ScheduledPost.get_or_none(id=scheduled_id, author_id=user.id)
    if row is None:
        raise NotFound(_("No such scheduled post."))
    return row


async def _lock_pending(conn: Any, user: User, scheduled_id: int) -> ScheduledPost:
    row = await (ScheduledPost.filter(id=scheduled_id, author_id=user.id)
                 .select_for_update().using_db(conn).first())
    if row is None:
        raise NotFound(_("No such scheduled post."))
    if row.post_id is not None:
        raise Conflict(_("This post has already been published."))
    return row


async def update_scheduled(user: User, scheduled_id: int, body: str | None = None,
                           publish_at: object = None, tz_offset: object = None) -> ScheduledPost:
    """Change the text, the time or both (None leaves a field as it is)."""
    current = now()
    async with in_transaction() as conn:
        row = await _lock_pending(conn, user, scheduled_id)
        if publish_at is None:
            text = row.body if body is None else posts.clean_body(body, POST_MAX)
            when = row.publish_at
        else:
            text, when = _clean(row.body if body is None else body, publish_at, tz_offset,
                                current)
        moved = when != row.publish_at
        row.body, row.publish_at = text, when
        await row.save(using_db=conn, update_fields=["body", "publish_at", "updated_at"])
    if moved:
        # the job queued for the old time will find the row's time changed and skip it
        await _queue_publication(row)
    return row


async def cancel_scheduled(user: User, scheduled_id: int) -> None:
    """Deleted: the job queued for it finds no row and does nothing."""
    async with in_transaction() as conn:
        row = await _lock_pending(conn, user, scheduled_id)
        await row.delete(using_db=conn)


async def _queue_publication(row: ScheduledPost) -> None:
    # SAQ's `scheduled` is whole seconds: round up, so the job never runs before the time
    # (it would find the post not yet due and leave it to the sweep). Committed already: if
    # Redis cannot take the job, the cron sweep publishes the post in time anyway.
    await enqueue(publish_scheduled_post, scheduled_id=row.id,
                  due=int(row.publish_at.timestamp() * 1000),
                  run_at=math.ceil(row.publish_at.timestamp()))


async def publish_due(scheduled_id: int) -> Post | None:
    """Publish the scheduled post if it is due and still waiting; None if not (cancelled,
    published already, or not yet due: a job queued for a time since changed)."""
    async with in_transaction() as conn:
        row = await (ScheduledPost.filter(id=scheduled_id).select_for_update()
                     .using_db(conn).first())
        if row is None or row.post_id is not None or row.publish_at > now():
            return None
        author = await User.get(id=row.author_id, using_db=conn)  # type: ignore[attr-defined]
        post, mentioned = await posts.insert_post(author, row.body, conn)
        row.post_id = post.id
        await row.save(using_db=conn, update_fields=["post_id", "updated_at"])
    await posts.post_created(post, mentioned)
    log.info("scheduled post %s published as post %s", scheduled_id, post.id)
    return post


async def due_ids(limit: int = SWEEP_BATCH) -> list[int]:
    """Ids of waiting posts whose time has come, oldest first; also forgets published rows
    older than PUBLISHED_KEPT. One statement, two short ranges of the publish_at index."""
    current = now()
    rows = await connections.get("default").execute_query_dict(
        "WITH forgotten AS (DELETE FROM scheduled_posts "
        "WHERE publish_at < $2 AND post_id IS NOT NULL) "
        "SELECT id FROM scheduled_posts WHERE publish_at <= $1 AND post_id IS NULL "
        "ORDER BY publish_at LIMIT $3",
        [current, current - PUBLISHED_KEPT, limit])
    return [int(r["id"]) for r in rows]


async def publish_all_due() -> int:
    """Publish every waiting post whose time has come; returns how many this run did."""
    published = 0
    for scheduled_id in await due_ids():
        if await publish_due(scheduled_id) is not None:
            published += 1
    return published


# A job per (post, time): an edit of the time queues a new job instead of being swallowed as
# a duplicate of the one still waiting for the old time (`due`, in ms, is only in the key).
@job(timeout=30, attempts=5, retry_delay=1.0, key=("scheduled_id", "due"))
async def publish_scheduled_post(ctx: dict[str, Any], *, scheduled_id: int,
                                 due: int | None = None) -> str:
    """Queued for the post's time. The row decides, not this job's kwargs: a cancelled,
    already published or rescheduled post is left alone."""
    post = await publish_due(scheduled_id)
    return f"published as post {post.id}" if post is not None else "skipped"


@cron("* * * * * */5", timeout=60)
async def publish_due_posts(ctx: dict[str, Any]) -> int:
    """Every few seconds: publish whatever is due but unpublished (its job was lost with
    Redis, or ran before a clock caught up). Safe alongside the jobs: each row is locked."""
    return await publish_all_due()
