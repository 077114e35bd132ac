"""Packets python-socketio cannot read are answered too: an EVENT whose JSON is invalid, holds
an integer of too many digits, is nested too deeply, or is not an array starting with the
event's name gets the ack `{ok: false, code: "malformed", error}` (microblog.realtime.server
.ClientPacket, microblog.web.sockets); other garbage is dropped without a traceback; the
connection lives on. A real `microblog serve` with its log in a file, spoken to over a raw
websocket: the Engine.IO (v4) and Socket.IO (v5) handshakes by hand, as no client library
sends such packets.

A message over MAX_PACKET is not decoded at all: engine.io closes the websocket it came on
with close code 1000 (no ack, no traceback; a new connection works; over 16 MiB Hypercorn
closes it first, with 1009), and a polling POST that large gets 413
(microblog.realtime.server.PollingBodyLimit).

The server is `logged_server`, not the session's `server`: its log, at INFO, is read for
tracebacks after most tests and after its shutdown."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from microblog.realtime.personal import EVENT_BURST
from microblog.realtime.server import MAX_PACKET
from microblog.testing import Server, start_server
from tests.realtime import Api

MESSAGES = {
    "json": "it is not valid JSON",
    "number": "a number in it has too many digits",
    "depth": "it is nested too deeply",
    "shape": "it must be an array that starts with the event's name",
    "packet": "it is not a valid Socket.IO packet",
}
DEEP = 5000
# EVENT packets (after "42" and the ack id) python-socketio could not read, and why
MALFORMED = [
    ("invalid JSON", '["message.send",{', "json"),
    ("invalid JSON, no event name", '{"to":', "json"),
    ("a 5000-digit integer", '["message.read",{"with":"ben","last_read_id":' + "9" * 5000 + "}]",
     "number"),
    ("a 101-digit integer", '["typing",' + "1" * 101 + "]", "number"),
    ("5000 levels deep", '["subscribe",' + "[" * DEEP + "]" * DEEP + "]", "depth"),
    ("5000 levels deep, unclosed", '["subscribe",' + '{"a":' * DEEP, "depth"),
    ("an empty array", "[]", "shape"),
    ("an object", "{}", "shape"),
    ("a name that is not a string", "[42]", "shape"),
    ("a name that is not a string, with data", '[null,{"stream":"explore"}]', "shape"),
    ("a string", '"subscribe"', "shape"),
    ("null", "null", "shape"),
    ("no data at all", "", "shape"),
]


@pytest.fixture(scope="module")
def logged_server(settings: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """An instance of its own, logging at INFO into a file the tests read."""
    log_path = tmp_path_factory.mktemp("packets") / "server.log"
    server = start_server(settings, log_path=log_path, LOG_LEVEL="INFO")
    yield server
    server.stop()
    # nothing left hanging at shutdown either (connections stuck on an unread body...)
    assert_no_traceback(server)


def server_log(server: Server) -> str:
    assert server.log_path is not None
    return Path(server.log_path).read_text(errors="replace")


def assert_no_traceback(server: Server) -> None:
    text = server_log(server)
    assert "Traceback" not in text, server.log_tail(80)
    assert "handler error" not in text, server.log_tail(80)


@pytest.fixture
async def api(logged_server: Server, db: None) -> AsyncIterator[Api]:
    api = Api(logged_server.url)
    await api.register("ann")
    yield api
    await api.close()


class Closed(Exception):
    """The server closed the websocket."""


class RawSocket:
    """One Socket.IO connection over a websocket, spoken by hand."""

    def __init__(self, session: aiohttp.ClientSession, ws: aiohttp.ClientWebSocketResponse,
                 open_packet: dict[str, Any]) -> None:
        self.session = session
        self.ws = ws
        self.open_packet = open_packet
        self.events: list[str] = []  # the server's own events ("42[...]"), kept aside

    @classmethod
    async def open(cls, base: str) -> RawSocket:
        """Through the Engine.IO handshake (the open packet): Socket.IO not connected yet."""
        session = aiohttp.ClientSession()
        try:
            ws = await session.ws_connect(
                base.replace("http://", "ws://", 1) + "/socket.io/?EIO=4&transport=websocket",
                max_msg_size=0, autoping=True)
            raw = cls(session, ws, {})
            first = await raw.receive()
            assert first.startswith("0"), first
            raw.open_packet = json.loads(first[1:])
            return raw
        except BaseException:
            await session.close()
            raise

    @classmethod
    async def connect(cls, base: str, token: str) -> RawSocket:
        raw = await cls.open(base)
        try:
            await raw.send("40" + json.dumps({"token": token}))
            answer = await raw.receive()
            assert answer.startswith("40{"), answer
            assert "sid" in json.loads(answer[2:]), answer
            return raw
        except BaseException:
            await raw.close()
            raise

    async def send(self, text: str) -> None:
        await self.ws.send_str(text)

    async def receive(self, within: float = 10.0) -> str:
        """The next Engine.IO message (text); pings answered on the way. Closed when the
        server closed the connection; TimeoutError when nothing came `within` seconds."""
        deadline = asyncio.get_running_loop().time() + within
        while True:
            remaining = deadline - asyncio.get_running_loop().time()
            if remaining <= 0:
                raise TimeoutError(f"nothing from the server within {within}s")
            message = await self.ws.receive(timeout=remaining)
            if message.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSING,
                                aiohttp.WSMsgType.CLOSED, aiohttp.WSMsgType.ERROR):
                raise Closed(f"{message.type.name} {message.data!r} {message.extra!r}")
            assert message.type == aiohttp.WSMsgType.TEXT, message
            text = str(message.data)
            if text == "2":  # the server's ping
                await self.send("3")
                continue
            return text

    async def next_ack(self, within: float = 10.0) -> tuple[int, Any]:
        """The next ack: its id and its only argument (the server's events kept aside)."""
        deadline = asyncio.get_running_loop().time() + within
        while True:
            text = await self.receive(max(0.01, deadline - asyncio.get_running_loop().time()))
            if text.startswith("42"):
                self.events.append(text)
                continue
            assert text.startswith("43"), text
            body = text[2:]
            digits = len(body) - len(body.lstrip("0123456789"))
            assert digits, text
            args = json.loads(body[digits:])
            assert isinstance(args, list) and len(args) == 1, text
            return int(body[:digits]), args[0]

    async def ack(self, ack_id: int, within: float = 10.0) -> Any:
        """The only argument of the ack of `ack_id`, the next ack to come."""
        got, arg = await self.next_ack(within)
        assert got == ack_id, (ack_id, got, arg)
        return arg

    async def call(self, ack_id: int, payload: str) -> Any:
        """Send the EVENT `payload` (the packet after its ack id) and return its ack."""
        await self.send(f"42{ack_id}{payload}")
        return await self.ack(ack_id)

    async def closed_by_server(self, within: float = 10.0) -> str:
        """Wait until the server closes the connection (any ack or event until then is a
        failure); how it closed."""
        try:
            text = await self.receive(within)
        except Closed as exc:
            return str(exc)
        raise AssertionError(f"the server answered instead of closing: {text[:200]}")

    async def close(self) -> None:
        await self.ws.close()
        await self.session.close()


def assert_malformed(ack: Any, reason: str, what: str = "") -> None:
    assert isinstance(ack, dict), (what, ack)
    assert ack["ok"] is False and ack["code"] == "malformed", (what, ack)
    assert ack["error"] == f"The event could not be read: {MESSAGES[reason]}.", (what, ack)
    assert set(ack) == {"ok", "code", "error"}, (what, ack)


async def assert_works(raw: RawSocket, ack_id: int = 999) -> None:
    ack = await raw.call(ack_id, '["subscribe",{"stream":"explore"}]')
    assert ack == {"ok": True}, ack


# --- EVENT packets that cannot be read ------------------------------------------------------

async def test_malformed_events_get_a_malformed_ack_and_the_socket_lives_on(logged_server, api):
    raw = await RawSocket.connect(logged_server.url, api.token)
    try:
        assert len(MALFORMED) + 1 < EVENT_BURST  # all within the socket's budget
        for ack_id, (what, payload, reason) in enumerate(MALFORMED, start=1):
            assert_malformed(await raw.call(ack_id, payload), reason, what)
        await assert_works(raw)
    finally:
        await raw.close()
    assert_no_traceback(logged_server)
    log = server_log(logged_server)
    for reason in ("json", "number", "depth", "shape"):
        assert f"socket event unreadable ({reason})" in log, logged_server.log_tail(80)


async def test_the_ack_id_is_kept_wherever_the_packet_goes(logged_server, api):
    """Large ack ids, a namespace not connected (no answer: the client is not in it, as
    before), the highest ack id python-socketio reads (100 digits)."""
    raw = await RawSocket.connect(logged_server.url, api.token)
    try:
        big = int("9" * 100)
        assert_malformed(await raw.call(big, '["x",'), "json")
        assert_malformed(await raw.call(2**53 + 1, "[1,2]"), "shape")
        # an explicit default namespace reads the same
        await raw.send('42/,7["subscribe",{')
        assert_malformed(await raw.ack(7), "json")
        # not connected to /admin: dropped, as a valid event there would be
        await raw.send('42/admin,8["subscribe",{')
        await assert_works(raw, 9)
    finally:
        await raw.close()
    assert_no_traceback(logged_server)


async def test_an_event_of_its_own_named_malformed_is_an_unknown_event(logged_server, api):
    raw = await RawSocket.connect(logged_server.url, api.token)
    try:
        for ack_id, payload in enumerate(('["malformed"]', '["malformed",{"reason":"json"}]',
                                          '["malformed","json","x"]'), start=1):
            ack = await raw.call(ack_id, payload)
            assert ack["ok"] is False and ack["code"] == "unknown_event", ack
        await assert_works(raw)
    finally:
        await raw.close()


async def test_deep_json_that_does_parse_is_answered_by_the_handlers(logged_server, api):
    """Nesting just within what the JSON decoder accepts reaches the handler, which answers
    it as invalid input (nothing after the decoder recurses into it)."""
    raw = await RawSocket.connect(logged_server.url, api.token)
    try:
        for ack_id, depth in enumerate((100, 500, 900), start=1):
            nested = "[" * depth + "]" * depth
            ack = await raw.call(ack_id, f'["subscribe",{{"stream":{nested}}}]')
            assert ack["ok"] is False, ack
            assert ack["code"] in ("invalid", "malformed"), ack
            if ack["code"] == "invalid":
                assert "stream" in ack["errors"], ack
            else:
                assert_malformed(ack, "depth")
        await assert_works(raw)
    finally:
        await raw.close()
    assert_no_traceback(logged_server)


# --- binary events --------------------------------------------------------------------------

async def test_binary_events_work_as_before_and_bad_ones_are_answered(logged_server, api):
    raw = await RawSocket.connect(logged_server.url, api.token)
    try:
        # a well-formed binary event: the attachment takes its placeholder's place (bytes,
        # where a stream name is expected: invalid, answered by the handler)
        await raw.send('451-1["subscribe",{"stream":{"_placeholder":true,"num":0}}]')
        await raw.ws.send_bytes(b"explore")
        ack = await raw.ack(1)
        assert ack["ok"] is False and ack["code"] == "invalid" and "stream" in ack["errors"], ack
        # two attachments, in order
        await raw.send('452-2["subscribe",{"stream":{"_placeholder":true,"num":1},'
                       '"q":{"_placeholder":true,"num":0}}]')
        await raw.ws.send_bytes(b"q")
        await raw.ws.send_bytes(b"explore")
        ack = await raw.ack(2)
        assert ack["code"] == "invalid" and "stream" in ack["errors"], ack
        # a placeholder naming no attachment: answered once the attachment came
        await raw.send('451-3["subscribe",{"stream":{"_placeholder":true,"num":5}}]')
        await raw.ws.send_bytes(b"explore")
        assert_malformed(await raw.ack(3), "packet")
        await raw.send('451-4["subscribe",{"stream":{"_placeholder":true,"num":"0"}}]')
        await raw.ws.send_bytes(b"explore")
        assert_malformed(await raw.ack(4), "packet")
        # a binary event announcing no attachment, or too many: answered at once (python-
        # socketio would have taken the next message for its attachment, or waited for
        # 10**10 of them)
        for ack_id, prefix in enumerate(("45", "450-", "4511-", "459999999999-",
                                         "4599999999999-"), start=5):
            await raw.send(f'{prefix}{ack_id}["subscribe",{{"stream":"explore"}}]')
            assert_malformed(await raw.ack(ack_id), "packet", prefix)
        # invalid JSON in a binary event: answered at once
        await raw.send('451-10["subscribe",{')
        assert_malformed(await raw.ack(10), "json")
        await assert_works(raw)
    finally:
        await raw.close()
    assert_no_traceback(logged_server)


# --- other garbage --------------------------------------------------------------------------

async def test_other_unreadable_packets_are_dropped_without_a_traceback(logged_server, api):
    """Packets that carry no ack id to answer (an ack nobody waits for, a stray binary
    message, a packet type Socket.IO does not have, an empty message...): dropped, and the
    socket still answers."""
    raw = await RawSocket.connect(logged_server.url, api.token)
    try:
        for text in ("4", "4x", "47", "479[]", "44", '44{"message":"x"}', "43", "431{", "431{}",
                     '431"x"', "4" + "2" * 150 + "[]", "42²[]", "4/x"):
            await raw.send(text)
        for data in (b"", b"\x00", b'42["subscribe",{"stream":"explore"}]'):
            await raw.ws.send_bytes(data)
        # a binary event for a namespace the client is not in (its attachment comes as an
        # unreadable packet), and one with an ack id
        await raw.send('451-/other,["x",{"_placeholder":true,"num":0}]')
        await raw.ws.send_bytes(b"x")
        await raw.send('451-/other,5["x",{"_placeholder":true,"num":0}]')
        await raw.ws.send_bytes(b"x")
        await assert_works(raw)
    finally:
        await raw.close()
    assert_no_traceback(logged_server)


async def test_packets_before_the_connection_request_are_dropped(logged_server, api):
    raw = await RawSocket.open(logged_server.url)
    try:
        await raw.send('42["subscribe",{')
        await raw.send('421["subscribe",{"stream":"explore"}]')
        await raw.send('451-2["subscribe",{"stream":{"_placeholder":true,"num":0}}]')
        await raw.ws.send_bytes(b"explore")
        await raw.send("40" + json.dumps({"token": api.token}))
        answer = await raw.receive()
        assert answer.startswith("40{"), answer
        await assert_works(raw)
    finally:
        await raw.close()
    assert_no_traceback(logged_server)


async def test_an_unreadable_connection_request_is_refused(logged_server, api):
    for request in ("40{", '40{"token":' + "1" * 200 + "}", "40[" * 10):
        raw = await RawSocket.open(logged_server.url)
        try:
            await raw.send(request)
            answer = await raw.receive()
            assert answer.startswith("44"), (request, answer)
            assert json.loads(answer[2:]) == {"message": "unreadable connection request"}
            # and it may try again, properly
            await raw.send("40" + json.dumps({"token": api.token}))
            answer = await raw.receive()
            assert answer.startswith("40{"), answer
            await assert_works(raw)
        finally:
            await raw.close()
    assert_no_traceback(logged_server)


# --- the budget -----------------------------------------------------------------------------

async def test_malformed_events_count_against_the_sockets_budget(logged_server, api):
    raw = await RawSocket.connect(logged_server.url, api.token)
    try:
        count = EVENT_BURST + 20
        for ack_id in range(1, count + 1):
            await raw.send(f'42{ack_id}["subscribe",{{')
        acks: dict[int, Any] = {}
        while len(acks) < count:
            ack_id, ack = await raw.next_ack()
            acks[ack_id] = ack
        assert set(acks) == set(range(1, count + 1))
        codes = [ack["code"] for ack in acks.values()]
        assert set(codes) == {"malformed", "rate_limited"}, codes
        assert EVENT_BURST <= codes.count("malformed") < count, codes
    finally:
        await raw.close()


# --- the size limit -------------------------------------------------------------------------

async def test_a_message_over_the_limit_closes_the_websocket(logged_server, api):
    raw = await RawSocket.connect(logged_server.url, api.token)
    try:
        assert raw.open_packet["maxPayload"] == MAX_PACKET
        # one character over (the "4" of Engine.IO's message included): engine.io closes
        # the connection before decoding anything
        head, tail = '42["subscribe",{"stream":"', '"}]'
        text = head + "x" * (MAX_PACKET + 1 - len(head) - len(tail)) + tail
        assert len(text) == MAX_PACKET + 1
        await raw.send(text)
        how = await raw.closed_by_server()
        # engine.io's close: a normal closure
        assert "CLOSE" in how and raw.ws.close_code == 1000, (how, raw.ws.close_code)
    finally:
        await raw.close()
    raw = await RawSocket.connect(logged_server.url, api.token)
    try:
        # at the limit: read, and answered (a stream name that long is invalid)
        head = '421["subscribe",{"stream":"'
        text = head + "x" * (MAX_PACKET - len(head) - len(tail)) + tail
        assert len(text) == MAX_PACKET
        await raw.send(text)
        ack = await raw.ack(1)
        assert ack["code"] == "invalid" and "stream" in ack["errors"], ack
        # unreadable at the limit: answered too
        await raw.send(("422[" + "1," * MAX_PACKET)[:MAX_PACKET])
        assert_malformed(await raw.ack(2), "json")
        # a huge frame, over Hypercorn's own limit (16 MiB): closed as well
        await raw.send("42" + "[" * (17 * 1024 * 1024))
        how = await raw.closed_by_server()
        # Hypercorn's: 1009, message too big
        assert "CLOSE" in how and raw.ws.close_code == 1009, (how, raw.ws.close_code)
    finally:
        await raw.close()
    # the server lives on
    raw = await RawSocket.connect(logged_server.url, api.token)
    try:
        await assert_works(raw)
    finally:
        await raw.close()
    assert_no_traceback(logged_server)


async def test_a_polling_post_over_the_limit_is_refused(logged_server, api):
    """A POST whose body is over the limit: read and dropped, then 413 (microblog.realtime
    .server.PollingBodyLimit; engine.io's own refusal could leave the POST and its
    connection hanging); the session is untouched, and POSTs within the limit go on
    working."""
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as session:
        base = logged_server.url + "/socket.io/?EIO=4&transport=polling"
        async with session.get(base) as response:
            assert response.status == 200
            text = await response.text()
        assert text.startswith("0"), text
        opened = json.loads(text[1:])
        assert opened["maxPayload"] == MAX_PACKET
        url = f"{base}&sid={opened['sid']}"

        # sent by hand, in pieces
        host, port = logged_server.url.removeprefix("http://").split(":")
        reader, writer = await asyncio.open_connection(host, int(port))
        try:
            writer.write((f"POST {url.removeprefix(logged_server.url)} HTTP/1.1\r\n"
                          f"Host: {host}:{port}\r\nContent-Type: text/plain\r\n"
                          f"Content-Length: {MAX_PACKET + 1}\r\n\r\n").encode())
            for _ in range(16):
                writer.write(b"[" * (MAX_PACKET // 16))
                await writer.drain()
            writer.write(b"[")
            await writer.drain()
            status_line = await asyncio.wait_for(reader.readline(), 10)
            assert status_line.split()[1] == b"413", status_line
        finally:
            writer.close()
        # sent by aiohttp, twice on its keep-alive connection
        for _ in range(2):
            async with session.post(url, data=b"4" * (2 * MAX_PACKET)) as response:
                assert response.status == 413, await response.text()
        # the same session, within the limit: the Socket.IO connection, then an event
        async with session.post(url, data=("40" + json.dumps({"token": api.token})).encode()
                                ) as response:
            assert response.status == 200, await response.text()
        async with session.get(url) as response:
            text = await response.text()
            assert text.startswith("40{"), text
        async with session.post(url, data=b'421["subscribe",{') as response:
            assert response.status == 200, await response.text()
        async with session.get(url) as response:
            text = await response.text()
        assert text.startswith("431["), text
        assert_malformed(json.loads(text[3:])[0], "json")
    assert_no_traceback(logged_server)
