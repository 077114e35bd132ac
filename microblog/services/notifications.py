"""Notifications: created inside the transaction of what they announce, sent after commit."""

from __future__ import annotations

import json
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


GROUP_SHOWN = 3  # people named in a grouped notification; the rest are counted


async def notify_grouped(conn: BaseDBAsyncClient, user_id: int, kind: NotificationKind,
                         post_id: int, newest: list[dict[str, Any]], added: int, upto: int,
                         excerpt: str) -> NotificationEvent:
    """Inside a transaction: "bob and 3 others liked your post". `newest` are the people
    who acted since the last notification of this post and kind (newest first, at most
    GROUP_SHOWN), `added` how many they are, `upto` the id of the newest like or repost
    counted. While the user has not read the notification of that post and kind, it is
    updated in place (same id, the newest people first, `count` of people) instead of
    adding another, and the bell's count does not change. Data: {users, count, post_id,
    excerpt, upto}."""
    rows = await conn.execute_query_dict(
        "SELECT id, data FROM notifications WHERE user_id = $1 AND kind = $2 "
        "AND read_at IS NULL AND data->>'post_id' = $3 ORDER BY id DESC LIMIT 1 FOR UPDATE",
        [user_id, kind.value, str(post_id)])
    if not rows:
        return await notify(conn, user_id, kind, {
            "users": newest[:GROUP_SHOWN], "count": added, "post_id": post_id,
            "excerpt": excerpt, "upto": upto})
    previous = rows[0]["data"]
    if isinstance(previous, str):
        previous = json.loads(previous)
    shown = {u["id"] for u in newest}
    others = [u for u in previous.get("users", []) if u.get("id") not in shown]
    data = {"users": [*newest, *others][:GROUP_SHOWN],
            "count": int(previous.get("count", 0)) + added,
            "post_id": post_id, "excerpt": excerpt, "upto": upto}
    updated = await conn.execute_query_dict(
        "UPDATE notifications SET data = $2::jsonb, created_at = now() WHERE id = $1 "
        "RETURNING created_at, (SELECT unread_notifications FROM users WHERE id = $3) AS unread",
        [rows[0]["id"], json.dumps(data), user_id])
    event = NotificationEvent(id=rows[0]["id"], kind=kind,  # type: ignore[arg-type]
                              data=data, created_at=updated[0]["created_at"],
                              unread=updated[0]["unread"])
    return await record_personal(conn, user_id, event)  # type: ignore[return-value]


async def grouped_upto(conn: BaseDBAsyncClient, user_id: int, kind: NotificationKind,
                       post_id: int) -> int:
    """The newest like or repost (by id) a notification of this post and kind counted."""
    rows = await conn.execute_query_dict(
        "SELECT COALESCE((data->>'upto')::bigint, 0) AS upto FROM notifications "
        "WHERE user_id = $1 AND kind = $2 AND data->>'post_id' = $3 ORDER BY id DESC LIMIT 1",
        [user_id, kind.value, str(post_id)])
    return int(rows[0]["upto"]) if rows else 0


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


async def notifications(user: User, req: PageRequest, count: bool = False,
                        kind: NotificationKind | None = None) -> Page[Notification]:
    """Newest first; `kind`: only those (the notifications page's Mentions tab)."""
    query = Notification.filter(user_id=user.id)
    if kind is not None:
        query = query.filter(kind=kind)
    rows = await query.order_by("-id").offset(req.offset).limit(req.per_page + 1)
    total = await query.count() if count else None
    return Page(rows[: req.per_page], req.page, req.per_page, len(rows) > req.per_page, total)
