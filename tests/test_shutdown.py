"""Graceful shutdown as clients and an operator see it, on real processes: SIGTERM makes an
instance unready, stop accepting, finish what it was doing, tell its Socket.IO clients to
reconnect (they do, and replay what they missed), and exit within 10 s."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import time
from pathlib import Path

import httpx
import pytest

from microblog.devservices import free_port
from tests.conftest import Server, start_server, start_worker, stop_process
from tests.realtime import Api, Recorder

DEADLINE = 10.0  # the limit


async def wait_exit(server: Server, signalled_at: float) -> int:
    while server.process.poll() is None:
        assert time.monotonic() - signalled_at < DEADLINE, "still running 10 s after SIGTERM"
        await asyncio.sleep(0.05)
    return server.process.returncode


async def slow_request(port: int, token: str, body: bytes) -> tuple[asyncio.StreamReader,
                                                                  asyncio.StreamWriter]:
    """POST /api/posts with only half its body sent: in flight until `finish_request`."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(
        b"POST /api/posts HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        + f"Authorization: Bearer {token}\r\nContent-Length: {len(body)}\r\n\r\n".encode()
        + body[: len(body) // 2])
    await writer.drain()
    return reader, writer


def held_peer_ports(pid: int) -> set[int]:
    """The remote ports of the TCP connections process `pid` holds (its fds, in /proc)."""
    inodes = set()
    for fd in os.listdir(f"/proc/{pid}/fd"):
        with contextlib.suppress(OSError):
            target = os.readlink(f"/proc/{pid}/fd/{fd}")
            if target.startswith("socket:["):
                inodes.add(target[8:-1])
    ports = set()
    for table in ("tcp", "tcp6"):
        with open(f"/proc/{pid}/net/{table}") as f:
            for line in list(f)[1:]:
                fields = line.split()
                if fields[9] in inodes:
                    ports.add(int(fields[2].rsplit(":", 1)[1], 16))
    return ports


async def accepted(pid: int, writer: asyncio.StreamWriter, within: float = 10.0) -> None:
    """Until the server process has accepted our connection (it reads what we sent at once):
    a connection still in the kernel's backlog would be refused by a stopping server."""
    port = writer.get_extra_info("sockname")[1]
    deadline = time.monotonic() + within
    while port not in held_peer_ports(pid):
        assert time.monotonic() < deadline, "the server did not accept the connection"
        await asyncio.sleep(0.01)


async def finish_request(reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                         body: bytes) -> tuple[int, dict]:
    writer.write(body[len(body) // 2:])
    await writer.drain()
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)
    status = int(head.split(b" ", 2)[1])
    length = next(int(line.split(b":")[1]) for line in head.split(b"\r\n")
                  if line.lower().startswith(b"content-length:"))
    payload = json.loads(await asyncio.wait_for(reader.readexactly(length), 10))
    writer.close()
    return status, payload


async def send_message(api: Api, to: str, body: str) -> None:
    response = await api.http.post("/api/messages", json={"to": to, "body": body})
    assert response.status_code == 201, response.text


def gap_messages(recorder: Recorder, bodies: list[str]) -> list[str]:
    return [d["body"] for d in recorder.of("message.created") if d["body"] in bodies]


async def test_sigterm_drains_an_instance_and_its_clients_reconnect_and_replay(
        settings, server2, db, tmp_path: Path):
    port = free_port()
    log = tmp_path / "serve.log"
    with log.open("w") as err:
        # one second of "not ready but still accepting", so /readyz can be seen saying so
        first = start_server(settings, port=port, stderr=err, SHUTDOWN_DELAY="1",
                             LOG_LEVEL="INFO")
    alice, bob = Api(first.url), Api(server2.url)
    clients: list[Recorder] = []
    second = None
    try:
        await alice.register("alice")
        await bob.register("bob")
        for i in range(3):
            clients.append(await Recorder(f"alice-{i}", reconnection=True).connect(
                first.url, alice.token))
        await send_message(bob, "alice", "before the restart")
        for client in clients:
            await client.wait_for("message.created", lambda d: d["body"] == "before the restart")
        last_seen = max(clients[0].personal_ids())

        body = json.dumps({"body": "posted while the instance stops"}).encode()
        reader, writer = await slow_request(port, alice.token, body)
        await accepted(first.process.pid, writer)
        first.process.send_signal(signal.SIGTERM)
        signalled_at = time.monotonic()

        async with httpx.AsyncClient(base_url=first.url, timeout=5) as http:
            ready = await http.get("/readyz")
            assert ready.status_code == 503 and ready.json()["message"] == (
                "not ready: shutting down")
            assert (await http.get("/healthz")).status_code == 200

        # told to reconnect: a dropped transport, not Socket.IO's final "server disconnect"
        for client in clients:
            await client.wait_until(lambda c: c.disconnects, within=5)
            assert client.disconnects == ["transport error"], client.disconnects
        # no longer accepting, though still finishing the request in flight
        with pytest.raises(httpx.ConnectError):
            async with httpx.AsyncClient(base_url=first.url, timeout=2) as http:
                await http.get("/healthz")
        assert first.process.poll() is None

        status, post = await finish_request(reader, writer, body)
        assert status == 201 and post["body"] == "posted while the instance stops"
        assert await wait_exit(first, signalled_at) == 0

        # meanwhile, through the other instance, alice is sent more
        gap = ["in the gap 1", "in the gap 2"]
        for text in gap:
            await send_message(bob, "alice", text)

        # a client that lands on another instance with its last_event_id gets the gap
        elsewhere = await Recorder("alice-elsewhere").connect(
            server2.url, alice.token, last_event_id=last_seen)
        clients.append(elsewhere)
        await elsewhere.wait_for("message.created", lambda d: d["body"] in gap, count=2)
        assert gap_messages(elsewhere, gap) == gap
        assert all(i > last_seen for i in elsewhere.personal_ids())

        # and the dropped clients, retrying on their own, replay it in order, once
        second = start_server(settings, port=port)
        for client in clients[:3]:
            await client.wait_until(lambda c: c.connects == 2, within=30)
            await client.wait_for("message.created", lambda d: d["body"] in gap, count=2)
            await asyncio.sleep(0.3)  # anything duplicated would have arrived by now
            assert gap_messages(client, gap) == gap
            ids = client.personal_ids()
            assert ids == sorted(set(ids)), ids
    finally:
        for client in clients:
            await client.disconnect()
        await alice.close()
        await bob.close()
        first.stop()
        if second is not None:
            second.stop()

    text = log.read_text()
    assert "shutdown: told 3 Socket.IO clients to reconnect elsewhere" in text


async def test_sigterm_with_many_sockets_and_no_delay_exits_promptly(settings, db):
    """WebSocket and long-polling clients alike are told to reconnect."""
    first = start_server(settings)
    api = Api(first.url)
    clients: list[Recorder] = []
    try:
        await api.register("carol")
        clients = [await Recorder(f"carol-{i}", reconnection=True).connect(
            first.url, api.token, transports=("polling",) if i % 4 == 0 else ("websocket",))
            for i in range(20)]
        assert {c.client.transport() for c in clients} == {"polling", "websocket"}
        first.process.send_signal(signal.SIGTERM)
        signalled_at = time.monotonic()
        for client in clients:
            await client.wait_until(lambda c: c.disconnects, within=5)
            assert client.disconnects == ["transport error"]
        assert await wait_exit(first, signalled_at) == 0
    finally:
        for client in clients:
            await client.disconnect()
        await api.close()
        first.stop()


async def test_worker_exits_within_10_s_of_sigterm(settings):
    worker = start_worker(settings.with_(redis_namespace=f"{settings.redis_namespace}:stop"))
    try:
        worker.send_signal(signal.SIGTERM)
        signalled_at = time.monotonic()
        while worker.poll() is None:
            assert time.monotonic() - signalled_at < DEADLINE, "worker still running"
            await asyncio.sleep(0.05)
        assert worker.returncode == 0
    finally:
        stop_process(worker)


async def test_a_browser_tab_reconnects_after_sigterm_and_catches_up(
        settings, server2, browser, db):
    from tests.test_browser import register_and_login

    port = free_port()
    first = start_server(settings, port=port)
    second = None
    context = await browser.new_context()
    page = await context.new_page()
    bob = Api(server2.url)
    try:
        await register_and_login(page, first.url, "alice")
        await page.wait_for_selector("#live-status[data-state=live]")
        alice_id = await page.evaluate("document.body.dataset.userId")
        first.process.send_signal(signal.SIGTERM)
        signalled_at = time.monotonic()
        # told to reconnect, not "offline" (what a server-side Socket.IO disconnect means)
        await page.wait_for_selector("#live-status[data-state=reconnecting]", timeout=5_000)
        assert await wait_exit(first, signalled_at) == 0

        # while no instance is on its address, bob follows alice through another one
        await bob.register("bob")
        follow = await bob.http.post(f"/api/me/following/{alice_id}")
        assert follow.status_code == 204, follow.text

        second = start_server(settings, port=port)
        await page.wait_for_selector("#live-status[data-state=live]", timeout=30_000)
        await page.wait_for_selector("#bell-count:not(.d-none)", timeout=10_000)
        assert await page.inner_text("#bell-count") == "1"
        assert await page.evaluate("performance.getEntriesByType('navigation').length") == 1
    finally:
        await context.close()
        await bob.close()
        first.stop()
        if second is not None:
            second.stop()
