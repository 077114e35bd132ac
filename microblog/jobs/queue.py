"""The one SAQ queue and the per-job options (timeouts, retries) used when enqueuing."""

from __future__ import annotations

from typing import Any

from saq import Queue

from microblog.settings import Settings

# SAQ counts `retries` as total attempts and retries nothing by default.
DEFAULT_OPTIONS: dict[str, Any] = {
    "timeout": 60, "retries": 5, "retry_delay": 2.0, "retry_backoff": True, "ttl": 3600,
}
# An export touches its job after every batch (a heartbeat): a job whose worker was killed
# is found by the next sweep once `heartbeat` seconds pass without one, and runs again.
JOB_OPTIONS: dict[str, dict[str, Any]] = {
    "send_password_reset_email": {"timeout": 30, "retries": 6},
    "send_follow_email": {"timeout": 30, "retries": 6},
    "send_comment_email": {"timeout": 30, "retries": 6},
    "send_message_digest": {"timeout": 30, "retries": 6},
    "send_export_email": {"timeout": 60, "retries": 6},
    "export_posts": {"timeout": 1800, "heartbeat": 10, "retries": 3, "retry_delay": 1.0},
    "publish_scheduled_post": {"timeout": 30, "retries": 5, "retry_delay": 1.0},
    "ping": {"timeout": 5, "retries": 1, "ttl": 60},
}


def make_queue(settings: Settings) -> Queue:
    if not settings.redis_url:
        raise RuntimeError("REDIS_URL is required for the job queue")
    return Queue.from_url(settings.redis_url, name=f"{settings.redis_namespace}:jobs")


def job_options(function: str) -> dict[str, Any]:
    return {**DEFAULT_OPTIONS, **JOB_OPTIONS.get(function, {})}
