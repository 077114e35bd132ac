"""Notifications: created inside the transaction of what they announce, sent after commit."""

from __future__ import annotations

from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.transactions import in_transaction

from microblog.models import Notification, NotificationKind, User
from microblog.realtime.events import NotificationEvent, NotificationsRead
from microblog.realtime.publish import publish_personal, record_personal
from microblog.services.pagination import Page, PageRequest


async def notify(conn: BaseDBAsyncClient, user_id: int, kind: NotificationKind,
                 data: dict[str, Any]) -> NotificationEvent:
    """Inside a transaction: store a notification and its personal event. The caller
    passes the returned event to `publish_personal` once the transaction has committed."""
    notification = await Notification.create(user_id=user_id, kind=kind, data=data,
                                              using_db=conn)
    rows = await conn.execute_query_dict(
        "UPDATE users SET unread_notifications = unread_notifications + 1 WHERE id = $1 "
        "RETURNING unread_notifications", [user_id])
    event = NotificationEvent(id=notification.id, kind=kind,  # type: ignore[arg-type]
                              data=data, created_at=notification.created_at,
                              unread=rows[0]["unread_notifications"])
    return await record_personal(conn, user_id, event)  # type: ignore[return-value]


async def mark_read(user: User, up_to_id: int | None = None) -> int:
    """Mark notifications read (all, or up to an id); every tab of the user hears of it.
    Returns how many stay unread."""
    async with in_transaction() as conn:
        last = up_to_id
        if last is None:
            rows = await conn.execute_query_dict(
                "SELECT COALESCE(MAX(id), 0) AS last FROM notifications WHERE user_id = $1",
                [user.id])
            last = int(rows[0]["last"])
        await conn.execute_query(
            "UPDATE notifications SET read_at = now() "
            "WHERE user_id = $1 AND read_at IS NULL AND id <= $2", [user.id, last])
        rows = await conn.execute_query_dict(
            "UPDATE users SET unread_notifications = (SELECT count(*) FROM notifications "
            "WHERE user_id = $1 AND read_at IS NULL) WHERE id = $1 "
            "RETURNING unread_notifications", [user.id])
        unread = int(rows[0]["unread_notifications"])
        event = await record_personal(conn, user.id,
                                      NotificationsRead(last_read_id=last, unread=unread))
    user.unread_notifications = unread
    publish_personal(user.id, event)
    return unread


async def notifications(user: User, req: PageRequest, count: bool = False
                        ) -> Page[Notification]:
    query = Notification.filter(user_id=user.id)
    rows = await query.order_by("-id").offset(req.offset).limit(req.per_page + 1)
    total = await query.count() if count else None
    return Page(rows[: req.per_page], req.page, req.per_page, len(rows) > req.per_page, total)
