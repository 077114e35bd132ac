"""Scheduled posts: publish one when its time comes; a cron sweep catches any missed."""

from __future__ import annotations

from typing import Any


async def publish_scheduled_post(ctx: dict[str, Any], *, scheduled_id: int) -> str:
    raise NotImplementedError


async def publish_due_posts(ctx: dict[str, Any]) -> int:
    raise NotImplementedError
