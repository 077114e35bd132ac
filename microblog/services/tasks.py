"""Background tasks a user watches (exports): start, progress, finish, fail, look up."""

from __future__ import annotations


async def job_failed(function: str, key: str, error: str) -> None:
    """A job failed for good: if it was a user's task, the task says so."""
