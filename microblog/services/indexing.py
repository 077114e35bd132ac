"""Keeping a search backend's own index in step with the posts (Elasticsearch).

PostgreSQL full-text search needs none of this: the database indexes each post in the
writer's transaction. A backend with an index of its own gets each change as a job,
enqueued after commit (posting never waits for, nor fails because of, the search engine),
retried with backoff, idempotent (the job reads the post as it is now; the document's
version is when it was read, so a late retry never overwrites newer data), and a periodic
reconciliation repairs whatever a lost job left behind.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from microblog import search
from microblog.jobs import cron, enqueue, job

RECONCILE_WINDOW = timedelta(hours=2)


async def post_changed(post_id: int) -> None:
    """After commit: a post was created or changed."""
    if search.uses_index_jobs():
        await enqueue(index_post, post_id=post_id)


async def post_removed(post_id: int) -> None:
    """After commit: a post was deleted."""
    if search.uses_index_jobs():
        await enqueue(remove_post, post_id=post_id)


# a job's arguments are stored in Redis: a deleted account's posts go in batches of this many
REMOVE_BATCH = 500


async def posts_removed(post_ids: list[int]) -> None:
    """After commit: many posts were deleted at once (an account with them)."""
    if search.uses_index_jobs():
        for start in range(0, len(post_ids), REMOVE_BATCH):
            await enqueue(remove_posts, post_ids=post_ids[start:start + REMOVE_BATCH])


@job(timeout=30, attempts=8, retry_delay=1.0, backoff=True)
async def index_post(ctx: dict[str, Any], *, post_id: int) -> str:
    await search.backend().index_posts([post_id])
    return f"indexed post {post_id}"


@job(timeout=30, attempts=8, retry_delay=1.0, backoff=True)
async def remove_post(ctx: dict[str, Any], *, post_id: int) -> str:
    await search.backend().remove_posts([post_id])
    return f"removed post {post_id}"


@job(timeout=60, attempts=8, retry_delay=1.0, backoff=True)
async def remove_posts(ctx: dict[str, Any], *, post_ids: list[int]) -> str:
    await search.backend().remove_posts([int(post_id) for post_id in post_ids])
    return f"removed {len(post_ids)} posts"


@cron("0 */5 * * * *", timeout=240)
async def reconcile_search_index(ctx: dict[str, Any]) -> str:
    """Every five minutes: the last two hours of posts, compared and repaired."""
    backend = search.backend()
    reconcile = getattr(backend, "reconcile", None)
    if reconcile is None:
        return "nothing to reconcile: the database is the index"
    indexed, removed = await reconcile(datetime.now(UTC) - RECONCILE_WINDOW)
    return f"reconciled: {indexed} indexed, {removed} removed"
