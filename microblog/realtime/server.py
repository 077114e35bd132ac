"""The Socket.IO server, wrapped around the Quart app. Its handlers are in
microblog.web.sockets; this module only builds the server, its Redis manager and the way it
reads what clients send (`ClientPacket`)."""

from __future__ import annotations

import logging
from typing import Any, NamedTuple

import socketio
from quart import Quart
from socketio import packet

from microblog import metrics
from microblog.realtime.manager import RedisManager
from microblog.settings import Settings

log = logging.getLogger(__name__)

# the event a packet that cannot be read becomes (microblog.web.sockets answers it)
MALFORMED = "malformed"
# a binary event or ack may come with at most this many attachments (each up to MAX_PACKET):
# python-socketio itself would wait for, and keep, up to 10**10 of them
MAX_ATTACHMENTS = 10
# the largest Engine.IO message, in characters (a websocket's frame) or bytes (a polling
# POST's body): see create_server
MAX_PACKET = 1024 * 1024


class Malformed:
    """The argument of the MALFORMED event: why the packet could not be read. No JSON a
    client sends decodes to it, so a client's own event named "malformed" is told apart.

    `reason`: "json" (not valid JSON), "number" (an integer of too many digits), "depth"
    (nested too deeply), "shape" (not an array that starts with the event's name) or
    "packet" (anything else: no packet type, too many attachments, an ack id too long, a
    stray attachment...)."""

    __slots__ = ("reason",)

    def __init__(self, reason: str) -> None:
        self.reason = reason

    def __repr__(self) -> str:
        return f"Malformed({self.reason!r})"


class Header(NamedTuple):
    packet_type: int | None
    namespace: str | None
    id: int | None
    valid: bool  # as python-socketio reads it: the failure, if any, is in the JSON after it


def _int(text: str) -> int | None:
    try:
        return int(text)
    except ValueError:  # str.isdigit() holds for "²", which int() refuses
        return None


def read_header(encoded: Any) -> Header:
    """The packet type, namespace and ack id of an encoded packet, as far as they can be
    read (None when not), by Packet.decode's rules."""
    if not isinstance(encoded, str):  # a binary message that is no packet's attachment
        return Header(None, None, None, False)
    packet_type = _int(encoded[:1]) if encoded[:1].isdigit() else None
    valid = packet_type is not None
    ep = encoded[1:]
    dash = ep.find("-")
    if dash > 0 and ep[:dash].isdigit():
        valid = valid and dash <= 10 and _int(ep[:dash]) is not None
        ep = ep[dash + 1:]
    namespace = None
    if ep[:1] == "/":
        sep = ep.find(",")
        namespace, ep = (ep, "") if sep == -1 else (ep[:sep], ep[sep + 1:])
        namespace = namespace.split("?", 1)[0]
    ack_id = None
    if ep[:1].isdigit():
        i = 1
        while i < len(ep) and i < 100 and ep[i].isdigit():
            i += 1
        if ep[i:i + 1].isdigit():  # over 100 digits
            valid = False
        else:
            ack_id = _int(ep[:i])
            valid = valid and ack_id is not None
    return Header(packet_type, namespace, ack_id, valid)


def failure_reason(exc: BaseException) -> str:
    """Why the JSON of a packet could not be decoded."""
    if isinstance(exc, RecursionError):
        return "depth"
    if isinstance(exc, ValueError) and ("Integer is too large" in str(exc)
                                        or "integer string conversion" in str(exc)):
        # engine.io's JSON refuses integers over 100 digits (Python's own limit is 4300)
        return "number"
    return "json"


class ClientPacket(packet.Packet):  # type: ignore[misc]
    """python-socketio's packet, reading whatever a client sends without failing.

    python-socketio decodes a client's packet before any handler runs: a packet it cannot
    read (invalid JSON, an integer of too many digits, JSON nested too deeply, an event that
    is not an array starting with a name...) raised there, leaving a traceback in the log and
    the client's ack unanswered. Here such a packet becomes the event MALFORMED with a
    `Malformed` argument, keeping its namespace and its ack id when they can be read, so its
    handler answers it like any other event (and within the socket's budget). A connection
    request that cannot be read keeps its type with `Malformed` as its auth (the connect
    handler refuses it); an ack that cannot be read becomes one nobody waits for (ignored),
    a disconnection stays a disconnection.

    Well-formed packets, binary ones included, decode exactly as before; encoding (what the
    server sends) is python-socketio's own."""

    packet_type: Any
    namespace: str | None
    id: int | None
    data: Any
    attachments: list[Any]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        encoded = kwargs.get("encoded_packet")
        if encoded is not None and not encoded:
            # an empty message, which python-socketio would take for an event without data
            self._unreadable(None, None, None, "packet")

    def decode(self, encoded_packet: Any) -> int:
        try:
            attachments = super().decode(encoded_packet) or 0
        except Exception as exc:  # the client's text, whatever it breaks
            header = read_header(encoded_packet)
            return self._unreadable(header.packet_type, header.namespace, header.id,
                                    failure_reason(exc) if header.valid else "packet")
        kind = self.packet_type
        if kind in (packet.EVENT, packet.BINARY_EVENT):
            data = self.data
            if not (isinstance(data, list) and data and isinstance(data[0], str)):
                return self._unreadable(kind, self.namespace, self.id, "shape")
        elif kind in (packet.ACK, packet.BINARY_ACK):
            if not isinstance(self.data, list):
                return self._unreadable(kind, self.namespace, self.id, "shape")
        elif kind not in (packet.CONNECT, packet.DISCONNECT):
            # CONNECT_ERROR (the server's to send) or a type Socket.IO does not have
            return self._unreadable(None, self.namespace, None, "packet")
        if kind in (packet.BINARY_EVENT, packet.BINARY_ACK) and not (
                0 < attachments <= MAX_ATTACHMENTS):
            # none: python-socketio would take the next message, whatever it is, for one
            return self._unreadable(kind, self.namespace, self.id, "packet")
        return int(attachments)

    def add_attachment(self, attachment: Any) -> bool:
        try:
            return bool(super().add_attachment(attachment))
        except Exception as exc:  # a placeholder naming no attachment, too deep...
            reason = "depth" if isinstance(exc, RecursionError) else "packet"
            log.debug("socket packet unreadable (%s): its binary attachments", reason)
            if self.packet_type == packet.BINARY_EVENT:
                self.data = [MALFORMED, Malformed(reason)]
            else:  # an ack nobody waits for
                self.id, self.data = None, []
            self.attachments = []
            return True

    def _unreadable(self, packet_type: int | None, namespace: str | None, ack_id: int | None,
                    reason: str) -> int:
        """Make this packet what the server can act on (see the class), with no
        attachments to follow."""
        log.debug("socket packet unreadable (%s): type %s, ack id %s", reason, packet_type,
                  ack_id)
        self.namespace = namespace
        self.id = None
        if packet_type == packet.CONNECT:
            self.packet_type, self.data = packet.CONNECT, Malformed(reason)
        elif packet_type == packet.DISCONNECT:
            self.packet_type, self.data = packet.DISCONNECT, None
        elif packet_type in (packet.ACK, packet.BINARY_ACK):
            # python-socketio ignores an ack without a callback waiting for its id
            self.packet_type, self.data = packet.ACK, []
        else:
            self.packet_type, self.data = packet.EVENT, [MALFORMED, Malformed(reason)]
            if packet_type in (packet.EVENT, packet.BINARY_EVENT):
                self.id = ack_id  # answered; other packets have no ack to send
        return 0


class Server(socketio.AsyncServer):  # type: ignore[misc]
    """python-socketio's server, reading what clients send with ClientPacket."""

    async def _handle_eio_message(self, eio_sid: str, data: Any) -> None:
        try:
            await super()._handle_eio_message(eio_sid, data)
        except ValueError as exc:
            if str(exc) != "Unexpected binary packet":
                raise
            # a binary packet for a namespace the client is not connected to: dropped, as
            # python-socketio drops any other packet there, not raised (with a traceback in
            # the log); its attachments come as packets that cannot be read
            log.debug("socket packet dropped: binary, for a namespace not connected")


def create_server(settings: Settings) -> socketio.AsyncServer:
    manager = None
    if settings.redis_url:
        # AsyncRedisManager, counting what it delivers here
        manager = RedisManager(settings.redis_url, channel=settings.socketio_channel)
    return Server(
        async_mode="asgi",
        client_manager=manager,
        # whatever a client sends decodes, into an event its handler answers
        serializer=ClientPacket,
        # the same-origin check stays on: only our own pages may open a socket with cookies
        cors_allowed_origins=settings.cors_origins,
        # a larger websocket message closes the socket in engine.io (Hypercorn's own limit,
        # 16 MiB, comes first for the largest), a larger polling POST gets 413
        # (PollingBodyLimit); anything smaller is read (ClientPacket) and reaches the
        # handlers, which answer oversized fields with an error ack
        max_http_buffer_size=MAX_PACKET,
        ping_interval=20,
        ping_timeout=20,
    )


class PollingBodyLimit:
    """A Socket.IO polling POST that announces a body over MAX_PACKET gets 413 here, once
    its body is read (and dropped).

    engine.io refuses it too (400), but without reading the body and by closing the session
    while the POST waits for the client's long poll to take the close packet: with no poll
    outstanding at that moment the POST never ends, and either way Hypercorn, whose queue
    towards the app fills with the unread body, stops reading that connection until
    shutdown. Here the session stays (the client gives up on it) and the connection goes on
    as usual. (Socket.IO clients split what they send to fit the server's maxPayload: only
    other clients get here.)"""

    def __init__(self, app: Any, path: str) -> None:
        self.app = app
        self.path = path

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http" and scope["path"].startswith(self.path) \
                and declared_length(scope) > MAX_PACKET:
            while True:
                message = await receive()
                if message["type"] != "http.request":
                    return  # the client is gone
                if not message.get("more_body"):
                    break
            await send({"type": "http.response.start", "status": 413,
                        "headers": [(b"content-type", b"text/plain")]})
            await send({"type": "http.response.body", "body": b"Payload too large"})
            return
        await self.app(scope, receive, send)


def declared_length(scope: Any) -> int:
    for name, value in scope.get("headers", ()):
        if name.lower() == b"content-length":
            try:
                return int(value)
            except ValueError:
                return 0
    return 0


def wrap(app: Quart, sio: socketio.AsyncServer) -> Any:
    # HTTP metrics cover the Quart app; Socket.IO traffic has its own (socketio_*, events_*)
    return PollingBodyLimit(socketio.ASGIApp(sio, other_asgi_app=metrics.HttpMetrics(app),
                                             socketio_path="socket.io"), "/socket.io/")
