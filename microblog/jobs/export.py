"""Export a user's posts to JSON and CSV, streaming, with live progress."""

from __future__ import annotations

from typing import Any


async def export_posts(ctx: dict[str, Any], *, task_id: str) -> dict[str, Any]:
    raise NotImplementedError
