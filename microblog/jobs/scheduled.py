"""Scheduled posts: publish one when its time comes; a cron sweep catches any missed."""

from __future__ import annotations

from typing import Any

from microblog.services import scheduled


async def publish_scheduled_post(ctx: dict[str, Any], *, scheduled_id: int) -> str:
    """Queued for the post's time (keyed by it). The row decides, not this job's kwargs: a
    cancelled, already published or rescheduled post is left alone."""
    post = await scheduled.publish_due(scheduled_id)
    return f"published as post {post.id}" if post is not None else "skipped"


async def publish_due_posts(ctx: dict[str, Any]) -> int:
    """Every few seconds: publish whatever is due but unpublished (its job was lost with
    Redis, or ran before a clock caught up). Safe alongside the jobs: each row is locked."""
    return await scheduled.publish_all_due()
