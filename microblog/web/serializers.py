"""JSON shapes of the API (DESIGN.md) — used by the API and, later, by real-time events."""

from __future__ import annotations

from typing import Any

from microblog.clock import iso
from microblog.models import User

__all__ = ["conversation_json", "iso", "notification_json", "post_json", "task_json",
           "user_json", "user_ref"]


def user_ref(user: User) -> dict[str, Any]:
    return {"id": user.id, "username": user.username, "avatar": user.avatar(128)}


def user_json(user: User, counts: dict[str, int]) -> dict[str, Any]:
    return {
        "id": user.id,
        "username": user.username,
        "about_me": user.about_me,
        "avatar": user.avatar(128),
        "last_seen": iso(user.last_seen),
        **counts,
    }


def post_json(post: Any) -> dict[str, Any]:
    """A Post or a timeline PostView."""
    return {
        "id": post.id,
        "body": post.body,
        "author": user_ref(post.author),
        "created_at": iso(post.created_at),
        "language": post.language,
    }


def notification_json(notification: Any) -> dict[str, Any]:
    return {
        "id": notification.id,
        "kind": notification.kind,
        "data": notification.data,
        "created_at": iso(notification.created_at),
        "read": notification.read_at is not None,
    }


def task_json(task: Any) -> dict[str, Any]:
    return {
        "id": task.id,
        "name": task.name,
        "status": task.status,
        "progress": task.progress,
        "result": task.result,
        "error": task.error,
        "created_at": iso(task.created_at),
        "finished_at": iso(task.finished_at),
    }


def conversation_json(conversation: Any) -> dict[str, Any]:
    last = conversation.last_message
    return {
        "partner": conversation.partner.ref().model_dump(),
        "last_message": last.as_json() if last is not None else None,
        "unread": conversation.unread,
        "partner_read_id": conversation.partner_read_id,
        "updated_at": iso(conversation.updated_at),
    }
