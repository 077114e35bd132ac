"""Private messages: send (idempotent per client id, rate limited, blocks honoured), read
receipts, history, the inbox, and blocking."""

from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from tortoise import connections
from tortoise.transactions import in_transaction

from microblog import ratelimit
from microblog.errors import (
    Forbidden,
    NotFound,
    ServiceError,
    ValidationFailed,
    storable,
)
from microblog.i18n import gettext as _
from microblog.infra import resources
from microblog.limits import BIGINT_MAX, CLIENT_ID_MAX, MESSAGE_MAX, USERNAME_MAX, USERNAME_MIN
from microblog.models import Block, Follow, User
from microblog.realtime.events import MessageCreated, MessageRead, Typing
from microblog.realtime.publish import (
    publish,
    publish_membership,
    publish_personal,
    record_personal,
)
from microblog.realtime.rooms import author_room, user_room
from microblog.services import accounts, pagecache
from microblog.services.pagination import Page
from microblog.services.posts import AuthorView
from microblog.text import is_username

CLIENT_ID_RE = re.compile(r"^[A-Za-z0-9_.:-]{1,%d}$" % CLIENT_ID_MAX)  # noqa: UP031
HISTORY_MAX = 100


@dataclass(frozen=True, slots=True)
class MessageView:
    id: int
    sender: AuthorView
    recipient: AuthorView
    body: str
    created_at: datetime
    client_id: str | None

    def event(self, unread: int | None = None) -> MessageCreated:
        return MessageCreated.of(self, unread=unread)


def clean_message(body: Any) -> str:
    if not isinstance(body, str) or not body.strip():
        raise ValidationFailed({"body": _("Write a message first: it is empty.")})
    text = storable(body, "body").strip("\n\r ")
    if len(text) > MESSAGE_MAX:
        raise ValidationFailed({"body": _(
            "That is %(len)d characters; the limit is %(max)d.", len=len(text), max=MESSAGE_MAX)})
    return text


def clean_client_id(client_id: Any) -> str | None:
    if client_id is None:
        return None
    # fullmatch: the pattern's `$` would also accept a trailing newline; its ASCII class
    # leaves no room for NUL or a lone surrogate
    if not isinstance(client_id, str) or not CLIENT_ID_RE.fullmatch(client_id):
        raise ValidationFailed({"client_id": _("client_id must be 1 to 64 letters, digits "
                                               "or - _ . :")})
    return client_id


async def recipient_for(sender: User, to: Any) -> User:
    if not isinstance(to, str) or not to.strip():
        raise ValidationFailed({"to": _("Choose who to send the message to.")})
    recipient = await accounts.get_user_by_username(storable(to, "to").strip())
    if recipient.id == sender.id:
        raise ValidationFailed({"to": _("You cannot send a message to yourself.")})
    return recipient


async def check_not_blocked(sender_id: int, recipient_id: int) -> None:
    rows = await Block.filter(blocker_id__in=[sender_id, recipient_id],
                              blocked_id__in=[sender_id, recipient_id]).values_list(
        "blocker_id", flat=True)
    if recipient_id in rows:
        raise Forbidden(_("You cannot send messages to this user."))
    if sender_id in rows:
        raise Forbidden(_("You blocked this user. Unblock them to send a message."))


async def rate_limit(user_id: int) -> None:
    """At most ratelimit.MESSAGES sends in any window of its length, across tabs and
    instances."""
    await ratelimit.enforce(ratelimit.MESSAGES, "messages", user_id,
                            message=_("You are sending messages too fast. Wait a few seconds."))


# Sending is the hot path of chat: two round trips, whatever the checks. The first reads the
# sender, the recipient, both directions of blocking, an earlier send with the same client
# id and the new message's id; the second is one statement that writes the message, both
# sides of the conversation, the recipient's unread count and both users' personal events
# (what publish.record_personal does, inlined so that it happens in the same statement).
_PREPARE = """
SELECT s.id AS s_id, s.username AS s_name, s.email AS s_email, s.unread_messages AS s_unread,
       r.id AS r_id, r.username AS r_name, r.email AS r_email,
       EXISTS (SELECT 1 FROM blocks b WHERE b.blocker_id = r.id AND b.blocked_id = s.id)
         AS blocked_by_recipient,
       EXISTS (SELECT 1 FROM blocks b WHERE b.blocker_id = s.id AND b.blocked_id = r.id)
         AS blocking_recipient,
       (SELECT m.id FROM messages m WHERE m.sender_id = s.id AND m.client_id = $3)
         AS existing_id,
       nextval(pg_get_serial_sequence('messages', 'id')) AS new_id
FROM users s LEFT JOIN users r ON r.username_key = $2
WHERE s.id = $1
"""

_WRITE = """
WITH m AS (
  INSERT INTO messages (id, sender_id, recipient_id, body, client_id, created_at)
  VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (sender_id, client_id) DO NOTHING
  RETURNING id),
c AS (
  INSERT INTO conversations
    (user_id, partner_id, last_message_id, last_read_id, unread, updated_at)
  SELECT $2, $3, m.id, 0, 0, $6 FROM m
  UNION ALL SELECT $3, $2, m.id, 0, 1, $6 FROM m
  ON CONFLICT (user_id, partner_id) DO UPDATE SET
    last_message_id = EXCLUDED.last_message_id, updated_at = EXCLUDED.updated_at,
    unread = conversations.unread + EXCLUDED.unread
  RETURNING 1),
r AS (
  UPDATE users SET unread_messages = unread_messages + 1, last_event_id = last_event_id + 1
  WHERE id = $3 AND EXISTS (SELECT 1 FROM m) RETURNING unread_messages, last_event_id),
s AS (
  UPDATE users SET last_event_id = last_event_id + 1
  WHERE id = $2 AND EXISTS (SELECT 1 FROM m) RETURNING last_event_id),
e AS (
  INSERT INTO user_events (user_id, event_id, name, payload, created_at)
  SELECT $2, s.last_event_id, 'message.created', $7::jsonb, $6 FROM s
  UNION ALL
  SELECT $3, r.last_event_id, 'message.created',
         $8::jsonb || jsonb_build_object('unread', r.unread_messages), $6 FROM r
  RETURNING 1)
SELECT (SELECT id FROM m) AS id, (SELECT count(*) FROM c) AS sides,
       (SELECT count(*) FROM e) AS events,
       (SELECT unread_messages FROM r) AS unread, (SELECT last_event_id FROM r) AS r_event,
       (SELECT last_event_id FROM s) AS s_event
"""


async def send_message(sender: User | int, to: Any, body: Any, client_id: Any = None
                       ) -> tuple[MessageView, bool]:
    """Store and deliver a message. Returns (message, created): a retry with a client id
    already used returns the stored message and delivers nothing again."""
    sender_id = sender if isinstance(sender, int) else sender.id
    text = clean_message(body)
    cid = clean_client_id(client_id)
    if not isinstance(to, str) or not to.strip():
        raise ValidationFailed({"to": _("Choose who to send the message to.")})
    name = storable(to, "to").strip()
    conn = connections.get("default")
    rows = (await conn.execute_query_dict(_PREPARE, [sender_id, name.lower(), cid])
            if is_username(name) else [])
    if not rows or rows[0]["r_id"] is None:
        raise NotFound(_("No such user."))
    row = rows[0]
    if row["r_id"] == sender_id:
        raise ValidationFailed({"to": _("You cannot send a message to yourself.")})
    if row["existing_id"] is not None:
        existing = await _by_id(int(row["existing_id"]))
        if existing is not None:
            return existing, False
    if row["blocked_by_recipient"]:
        raise Forbidden(_("You cannot send messages to this user."))
    if row["blocking_recipient"]:
        raise Forbidden(_("You blocked this user. Unblock them to send a message."))
    await rate_limit(sender_id)

    message = MessageView(
        int(row["new_id"]), AuthorView(sender_id, row["s_name"], row["s_email"]),
        AuthorView(row["r_id"], row["r_name"], row["r_email"]), text, datetime.now(UTC), cid)
    event = message.event()
    sender_payload = event.model_copy(update={"unread": row["s_unread"]}).payload()
    result = (await conn.execute_query_dict(_WRITE, [
        message.id, sender_id, message.recipient.id, text, cid, message.created_at,
        json.dumps(sender_payload), json.dumps(event.payload())]))[0]
    if result["id"] is None:
        # a concurrent retry with the same client id won the race: it is stored once
        existing = await _by_client_id(sender_id, cid or "")
        if existing is None:
            raise ServiceError(_("The message could not be sent. Please try again."))
        return existing, False
    publish_personal(sender_id, event.model_copy(update={
        "unread": row["s_unread"], "event_id": result["s_event"]}))
    publish_personal(message.recipient.id, event.model_copy(update={
        "unread": result["unread"], "event_id": result["r_event"]}))
    return message, True


_SELECT = (
    "SELECT m.id, m.body, m.client_id, m.created_at, m.sender_id, s.username AS s_name,"
    " s.email AS s_email, m.recipient_id, r.username AS r_name, r.email AS r_email "
    "FROM messages m JOIN users s ON s.id = m.sender_id JOIN users r ON r.id = m.recipient_id ")


def _view(row: dict[str, Any]) -> MessageView:
    return MessageView(row["id"], AuthorView(row["sender_id"], row["s_name"], row["s_email"]),
                       AuthorView(row["recipient_id"], row["r_name"], row["r_email"]),
                       row["body"], row["created_at"], row["client_id"])


async def _by_id(message_id: int) -> MessageView | None:
    rows = await connections.get("default").execute_query_dict(
        _SELECT + "WHERE m.id = $1", [message_id])
    return _view(rows[0]) if rows else None


async def _by_client_id(sender_id: int, client_id: str) -> MessageView | None:
    rows = await connections.get("default").execute_query_dict(
        _SELECT + "WHERE m.sender_id = $1 AND m.client_id = $2", [sender_id, client_id])
    return _view(rows[0]) if rows else None


async def history(user: User, partner: User, before: int | None = None,
                  per_page: int = 50) -> Page[MessageView]:
    """The conversation, newest first, `per_page` messages older than `before` (keyset)."""
    per_page = max(1, min(HISTORY_MAX, per_page))
    params: list[Any] = [user.id, partner.id, per_page + 1]
    older = ""
    if before is not None:
        params.append(before)
        older = "AND m.id < $4 "
    rows = await connections.get("default").execute_query_dict(
        _SELECT + "WHERE ((m.sender_id = $1 AND m.recipient_id = $2) OR "
        "(m.sender_id = $2 AND m.recipient_id = $1)) " + older +
        "ORDER BY m.id DESC LIMIT $3", params)
    return Page([_view(r) for r in rows[:per_page]], 1, per_page, len(rows) > per_page)


@dataclass(frozen=True, slots=True)
class ConversationView:
    id: int
    # None once the partner deleted their account ("deleted account"; their messages, and
    # the conversation's, went with it)
    partner: AuthorView | None
    last_message: MessageView | None
    unread: int
    last_read_id: int
    partner_read_id: int
    updated_at: datetime


async def conversations(user: User, limit: int = 50, offset: int = 0
                        ) -> list[ConversationView]:
    rows = await connections.get("default").execute_query_dict(
        "SELECT c.id AS c_id, c.partner_id, p.username AS p_name, p.email AS p_email,"
        " c.unread, c.last_read_id, c.updated_at,"
        " COALESCE(o.last_read_id, 0) AS partner_read_id,"
        " m.id, m.body, m.client_id, m.created_at, m.sender_id, s.username AS s_name,"
        " s.email AS s_email, m.recipient_id, r.username AS r_name, r.email AS r_email "
        "FROM conversations c LEFT JOIN users p ON p.id = c.partner_id "
        "LEFT JOIN conversations o ON o.user_id = c.partner_id AND o.partner_id = c.user_id "
        "LEFT JOIN messages m ON m.id = c.last_message_id "
        "LEFT JOIN users s ON s.id = m.sender_id LEFT JOIN users r ON r.id = m.recipient_id "
        "WHERE c.user_id = $1 ORDER BY c.updated_at DESC, c.id DESC LIMIT $2 OFFSET $3",
        [user.id, limit, offset])
    return [ConversationView(
        r["c_id"],
        AuthorView(r["partner_id"], r["p_name"], r["p_email"])
        if r["partner_id"] is not None else None,
        _view(r) if r["id"] is not None else None, r["unread"], r["last_read_id"],
        r["partner_read_id"], r["updated_at"]) for r in rows]


async def remove_deleted_conversation(user: User, conversation_id: int) -> None:
    """Take the line of a deleted account's conversation out of the user's inbox (a
    conversation with someone who still has an account cannot be removed: it is their
    history too)."""
    removed = await connections.get("default").execute_query_dict(
        "DELETE FROM conversations WHERE id = $1 AND user_id = $2 AND partner_id IS NULL "
        "RETURNING id", [conversation_id, user.id])
    if not removed:
        raise NotFound(_("No such conversation with a deleted account."))


async def conversation_state(user: User, partner: User) -> tuple[int, int]:
    """(what `user` has read of partner's messages, what partner has read of user's)."""
    rows = await connections.get("default").execute_query_dict(
        "SELECT user_id, last_read_id FROM conversations WHERE (user_id = $1 AND partner_id = $2)"
        " OR (user_id = $2 AND partner_id = $1)", [user.id, partner.id])
    mine = next((r["last_read_id"] for r in rows if r["user_id"] == user.id), 0)
    theirs = next((r["last_read_id"] for r in rows if r["user_id"] == partner.id), 0)
    return int(mine), int(theirs)


async def mark_read(reader: User, partner: User, last_read_id: Any) -> int:
    """The reader has seen the partner's messages up to `last_read_id`. The partner's tabs
    show "seen"; the reader's tabs update their unread counts. Returns the reader's total
    of unread messages."""
    if isinstance(last_read_id, bool) or not isinstance(last_read_id, int) or last_read_id < 0:
        raise ValidationFailed({"last_read_id": _("last_read_id must be a message id.")})
    async with in_transaction() as conn:
        rows = await conn.execute_query_dict(
            "SELECT last_read_id, last_message_id FROM conversations "
            "WHERE user_id = $1 AND partner_id = $2 FOR UPDATE", [reader.id, partner.id])
        if not rows:
            return reader.unread_messages
        upto = min(last_read_id, int(rows[0]["last_message_id"]))
        if upto <= int(rows[0]["last_read_id"]):
            return reader.unread_messages  # nothing new was read
        counted = await conn.execute_query_dict(
            "SELECT count(*) AS n FROM messages WHERE sender_id = $1 AND recipient_id = $2 "
            "AND id > $3", [partner.id, reader.id, upto])
        unread_here = int(counted[0]["n"])
        await conn.execute_query(
            "UPDATE conversations SET last_read_id = $3, unread = $4 "
            "WHERE user_id = $1 AND partner_id = $2", [reader.id, partner.id, upto, unread_here])
        totals = await conn.execute_query_dict(
            "UPDATE users SET unread_messages = (SELECT COALESCE(SUM(unread), 0) FROM "
            "conversations WHERE user_id = $1) WHERE id = $1 RETURNING unread_messages",
            [reader.id])
        total = int(totals[0]["unread_messages"])
        read = MessageRead(reader=reader.id, partner=partner.id, last_read_id=upto, unread=0)
        reader_event = await record_personal(conn, reader.id,
                                             read.model_copy(update={"unread": total}))
        partner_event = await record_personal(
            conn, partner.id, read.model_copy(update={"unread": partner.unread_messages}))
    reader.unread_messages = total
    publish_personal(reader.id, reader_event)
    publish_personal(partner.id, partner_event)
    return total


# --- typing -------------------------------------------------------------------------------

TYPING_INTERVAL = 2.0
# without Redis (a single process) the throttle is this process's memory; past this many
# entries the expired ones are forgotten
TYPING_LOCAL_MAX = 10_000
_typing_sent: dict[tuple[int, str], float] = {}


async def read_up_to(reader: User | int, partner_username: Any, last_read_id: Any) -> int:
    """`mark_read` for a partner named by username (the API and the socket event)."""
    if not isinstance(partner_username, str):
        raise ValidationFailed({"with": _("Say whose messages: {\"with\": <username>}.")})
    storable(partner_username, "with")
    if (isinstance(last_read_id, bool) or not isinstance(last_read_id, int)
            or not 0 <= last_read_id <= BIGINT_MAX):  # beyond bigint: no message's id
        raise ValidationFailed({"last_read_id": _("last_read_id must be a message id.")})
    user = reader if isinstance(reader, User) else await accounts.get_user(reader)
    partner = await accounts.get_user_by_username(partner_username)
    return await mark_read(user, partner, last_read_id)


async def send_typing(sender_id: int, to: Any) -> bool:
    """Tell `to` that the sender is typing, at most once per TYPING_INTERVAL per (sender,
    recipient), whichever of the sender's sockets and instances it comes from. Whether an
    indicator went out.

    Typing fires on every keystroke, so the throttle is checked before the database; a name
    that cannot be a username is refused before the throttle, so it never touches it."""
    if not isinstance(to, str) or not is_username(to.strip()):
        raise ValidationFailed({"to": _(
            "Usernames are %(min)d to %(max)d characters: letters, digits and underscores.",
            min=USERNAME_MIN, max=USERNAME_MAX)})
    username = to.strip()
    if not await typing_due(sender_id, username.lower()):
        return False
    sender = await accounts.get_user(sender_id)
    recipient = await recipient_for(sender, username)
    await check_not_blocked(sender.id, recipient.id)
    typing(sender, recipient)
    return True


async def typing_due(sender_id: int, recipient_key: str) -> bool:
    """Whether an indicator from the sender to `recipient_key` (a lowercased username) may go
    out now: only the first of each TYPING_INTERVAL, across every instance (a Redis key set
    only if absent, expiring with the interval)."""
    if resources.redis is None:
        return _typing_due_here(sender_id, recipient_key, time.monotonic())
    first = await resources.redis.set(resources.key("typing", sender_id, recipient_key), 1,
                                      nx=True, px=int(TYPING_INTERVAL * 1000))
    return bool(first)


def _typing_due_here(sender_id: int, recipient_key: str, now: float) -> bool:
    if len(_typing_sent) > TYPING_LOCAL_MAX:
        for key, at in list(_typing_sent.items()):
            if now - at >= TYPING_INTERVAL:
                del _typing_sent[key]
    last = _typing_sent.get((sender_id, recipient_key))
    if last is not None and now - last < TYPING_INTERVAL:
        return False
    _typing_sent[(sender_id, recipient_key)] = now
    return True


def typing(sender: User, recipient: User) -> None:
    """Tell the recipient's tabs that `sender` is typing (never stored, never replayed)."""
    publish(Typing.model_validate({"from": sender.id, "username": sender.username}),
            user_room(recipient.id))


# --- blocking -----------------------------------------------------------------------------


async def block(user: User, target: User) -> None:
    """`target` can no longer message or follow `user`; an existing follow ends."""
    if user.id == target.id:
        raise ServiceError(_("You cannot block yourself."))
    async with in_transaction() as conn:
        await conn.execute_query(
            "INSERT INTO blocks (blocker_id, blocked_id, created_at) VALUES ($1, $2, now()) "
            "ON CONFLICT DO NOTHING", [user.id, target.id])
        removed = await Follow.filter(follower_id=target.id, followed_id=user.id).using_db(
            conn).delete()
    # what each is shown of the other (reposts, the follow that ended)
    await pagecache.changed(user_room(user.id), user_room(target.id))
    if removed:
        publish_membership(target.id, leave=[author_room(user.id)])


async def unblock(user: User, target: User) -> None:
    await Block.filter(blocker_id=user.id, blocked_id=target.id).delete()
    await pagecache.changed(user_room(user.id), user_room(target.id))


async def is_blocked(blocker: User, blocked: User) -> bool:
    return await Block.exists(blocker_id=blocker.id, blocked_id=blocked.id)
