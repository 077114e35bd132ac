"""Many real Socket.IO clients spread over several worker processes, for the real-time
benchmarks (fanout.py, connections.py).

One Python process cannot hold and serve thousands of python-socketio clients without becoming
the bottleneck itself, so the clients are split over `procs` processes (multiprocessing,
"spawn"). Each worker runs its own event loop (uvloop when installed), opens its clients with
bounded concurrency, then records every `post.created` it receives as (client, instance,
post id, time.monotonic_ns()). CLOCK_MONOTONIC is one system-wide clock on Linux, so those
times compare directly with the time the main process took before sending a POST.

The main process drives the workers over a pipe each: `count` (receipts so far), `collect`
(hand the receipts over and forget them), `stop` (disconnect everything and exit). Every wait
is bounded, and `Swarm.close()` terminates whatever is still running, so a benchmark can put it
on its ExitStack.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import multiprocessing
import os
import sys
import time
from array import array
from contextlib import ExitStack
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from typing import Any

RECORDED_EVENT = "post.created"


@dataclass(frozen=True)
class ClientSpec:
    url: str  # the instance's base URL
    token: str  # a raw API token
    instance: int  # which instance, for per-instance figures


@dataclass
class WorkerReady:
    connected: int
    failed: int
    errors: list[str]
    connect_ms: list[float]  # per successful connection, connect() call to return
    first_ns: int  # monotonic_ns when the worker started connecting
    last_ns: int  # monotonic_ns when its last connection was established (or failed)


@dataclass
class Receipts:
    client: array = field(default_factory=lambda: array("i"))
    instance: array = field(default_factory=lambda: array("b"))
    post_id: array = field(default_factory=lambda: array("q"))
    at_ns: array = field(default_factory=lambda: array("q"))

    def __len__(self) -> int:
        return len(self.at_ns)

    def extend(self, other: Receipts) -> None:
        self.client.extend(other.client)
        self.instance.extend(other.instance)
        self.post_id.extend(other.post_id)
        self.at_ns.extend(other.at_ns)


class RawClient:
    """A minimal Socket.IO client speaking Engine.IO 4 over one aiohttp WebSocket: the open
    packet, CONNECT to "/" with the auth payload, PONG for every PING, and `post.created`
    events handed to a callback. It costs the client process a fraction of what
    python-socketio's AsyncClient does per message (no task per packet, one JSON decode), so
    the servers, not the clients, dominate what the benchmark measures. Same interface as the
    part of socketio.AsyncClient the worker uses: connect(), disconnect(), connected."""

    def __init__(self, session: Any, on_post: Any, on_disconnect: Any) -> None:
        self.session = session
        self.on_post = on_post
        self.on_disconnect = on_disconnect
        self.ws: Any = None
        self.reader: asyncio.Task[None] | None = None
        self.connected = False
        self.closing = False

    async def connect(self, url: str, auth: dict[str, Any], transports: list[str],
                      wait_timeout: float) -> None:
        import json

        ws_url = url.replace("http://", "ws://", 1).rstrip("/") + \
            "/socket.io/?EIO=4&transport=websocket"
        # bounded by the caller's asyncio.wait_for
        self.ws = await self.session.ws_connect(ws_url, autoping=True, max_msg_size=0)
        opened = await self.ws.receive(timeout=wait_timeout)
        if not isinstance(opened.data, str) or not opened.data.startswith("0"):
            raise ConnectionError(f"no Engine.IO open packet: {opened.data!r:.100}")
        await self.ws.send_str("40" + json.dumps(auth))
        while True:  # a PING may come first
            answer = await self.ws.receive(timeout=wait_timeout)
            data = answer.data
            if not isinstance(data, str):
                raise ConnectionError(f"connection closed during CONNECT: {answer.type}")
            if data == "2":
                await self.ws.send_str("3")
                continue
            if data.startswith("40"):
                break
            raise ConnectionError(f"CONNECT refused: {data[:200]}")
        self.connected = True
        self.reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        import json

        try:
            async for message in self.ws:
                data = message.data
                if not isinstance(data, str):
                    break
                if data.startswith("42"):
                    try:
                        name, *args = json.loads(data[2:])
                    except ValueError:
                        continue
                    if name == RECORDED_EVENT and args:
                        self.on_post(args[0])
                elif data == "2":
                    await self.ws.send_str("3")
                elif data.startswith("1") or data.startswith("41"):
                    break
        finally:
            was = self.connected
            self.connected = False
            if was and not self.closing:
                self.on_disconnect()

    async def disconnect(self) -> None:
        self.closing = True
        if self.ws is not None and not self.ws.closed:
            with contextlib.suppress(Exception):
                await self.ws.send_str("41")
            await self.ws.close()
        if self.reader is not None:
            self.reader.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self.reader


# --- the worker process ----------------------------------------------------------------------


def worker_main(conn: Connection, base: int, specs: list[ClientSpec],
                connect_concurrency: int, connect_timeout: float, nofile: int,
                client_kind: str = "socketio") -> None:
    """Entry point of one worker process (importable, for the "spawn" start method)."""
    import signal

    # Ctrl-C goes to the whole process group; the main process decides when workers stop
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        import resource

        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        wanted = nofile if hard == resource.RLIM_INFINITY else min(nofile, hard)
        if wanted > soft:
            resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))
    except (ValueError, OSError):
        pass
    coro = _worker(conn, base, specs, connect_concurrency, connect_timeout, client_kind)
    try:
        try:
            import uvloop
        except ImportError:
            asyncio.run(coro)
        else:
            uvloop.run(coro)
    except (RuntimeError, asyncio.CancelledError, KeyboardInterrupt) as exc:
        # shutting down while the servers are already gone: the main process only needs
        # this process to end
        print(f"client worker: stopped ({type(exc).__name__}: {exc})", file=sys.stderr)


async def _worker(conn: Connection, base: int, specs: list[ClientSpec],
                  connect_concurrency: int, connect_timeout: float, client_kind: str) -> None:
    import logging

    import aiohttp
    import socketio

    # a refused or dropped client is counted, not logged once per socket
    for name in ("socketio", "engineio", "socketio.client", "engineio.client"):
        logging.getLogger(name).setLevel(logging.CRITICAL)

    receipts = Receipts()
    disconnects = 0
    clients: list[Any] = []
    errors: list[str] = []
    connect_ms: list[float] = []
    gate = asyncio.Semaphore(connect_concurrency)

    def recorder(index: int, instance: int) -> Any:
        # synchronous: python-socketio calls a plain function inline, no task per event
        def on_post(data: Any = None) -> None:
            at = time.monotonic_ns()
            post_id = data.get("id") if isinstance(data, dict) else None
            if isinstance(post_id, int):
                receipts.client.append(index)
                receipts.instance.append(instance)
                receipts.post_id.append(post_id)
                receipts.at_ns.append(at)

        return on_post

    def on_disconnect(*_args: Any) -> None:
        nonlocal disconnects
        disconnects += 1

    def make_socketio(index: int, instance: int) -> Any:
        client = socketio.AsyncClient(reconnection=False, logger=False, engineio_logger=False)
        client.on(RECORDED_EVENT, recorder(index, instance))
        client.on("disconnect", on_disconnect)
        return client

    session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) \
        if client_kind == "raw" else None

    def make_raw(index: int, instance: int) -> Any:
        return RawClient(session, recorder(index, instance), on_disconnect)

    make_client = make_raw if client_kind == "raw" else make_socketio

    async def open_one(offset: int, spec: ClientSpec) -> None:
        client = make_client(base + offset, spec.instance)
        last_error = ""
        for attempt in range(3):
            async with gate:
                started = time.perf_counter()
                try:
                    await asyncio.wait_for(
                        client.connect(spec.url, auth={"token": spec.token},
                                       transports=["websocket"],
                                       wait_timeout=connect_timeout),
                        connect_timeout + 5)
                except Exception as exc:  # counted and reported, retried twice
                    last_error = f"{type(exc).__name__}: {exc}"[:200]
                    with contextlib.suppress(Exception):
                        await asyncio.wait_for(client.disconnect(), 5)
                    client = make_client(base + offset, spec.instance)
                else:
                    connect_ms.append((time.perf_counter() - started) * 1000)
                    clients.append(client)
                    return
            await asyncio.sleep(0.2 * (attempt + 1))
        errors.append(last_error)

    first_ns = time.monotonic_ns()
    await asyncio.gather(*(open_one(i, spec) for i, spec in enumerate(specs)))
    last_ns = time.monotonic_ns()
    disconnects = 0  # only count drops after everything was up
    conn.send(("ready", WorkerReady(len(clients), len(errors), errors[:5], connect_ms,
                                    first_ns, last_ns)))

    # commands arrive on the pipe; the event loop watches its descriptor (no thread needed)
    loop = asyncio.get_running_loop()
    readable = asyncio.Event()
    loop.add_reader(conn.fileno(), readable.set)
    # uvloop's add_reader makes the descriptor non-blocking: the receipts (megabytes) would
    # then fail halfway with BlockingIOError while the main process reads another worker's
    os.set_blocking(conn.fileno(), True)
    try:
        stopping = False
        while not stopping:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(readable.wait(), 5.0)
            readable.clear()
            while not stopping and conn.poll():
                command = conn.recv()
                if command == "count":
                    conn.send(("count", len(receipts), disconnects,
                               sum(1 for c in clients if c.connected)))
                elif command == "collect":
                    conn.send(("receipts", receipts))
                    receipts = Receipts()
                elif command == "stop":
                    stopping = True
    except (EOFError, OSError):  # the main process is gone
        pass
    finally:
        loop.remove_reader(conn.fileno())
        async def close(client: Any) -> None:
            # python-socketio's disconnect() can raise the CancelledError of its own read
            # loop when the server is already gone (e.g. after Ctrl-C): still close the rest
            with contextlib.suppress(Exception, asyncio.CancelledError):
                await asyncio.wait_for(client.disconnect(), 5)

        await asyncio.gather(*(close(c) for c in clients))
        if session is not None:
            await session.close()
        with contextlib.suppress(Exception):
            conn.send(("stopped", len(clients)))


# --- the main process's side ------------------------------------------------------------------


class Swarm:
    """Start workers, each with a share of `specs`; talk to them; stop them."""

    def __init__(self, specs: list[ClientSpec], procs: int, connect_concurrency: int = 25,
                 connect_timeout: float = 20.0, nofile: int = 8192,
                 client_kind: str = "socketio") -> None:
        if client_kind not in ("socketio", "raw"):
            raise ValueError(f"unknown client kind {client_kind!r}")
        procs = max(1, min(procs, len(specs) or 1))
        self.specs = specs
        context = multiprocessing.get_context("spawn")
        self.conns: list[Connection] = []
        self.processes: list[multiprocessing.process.BaseProcess] = []
        per = -(-len(specs) // procs)
        for n in range(procs):
            share = specs[n * per:(n + 1) * per]
            if not share:
                continue
            parent, child = context.Pipe()
            process = context.Process(
                target=worker_main, name=f"bench-clients-{n}",
                args=(child, n * per, share, connect_concurrency, connect_timeout, nofile,
                      client_kind),
                daemon=True)
            process.start()
            child.close()
            self.conns.append(parent)
            self.processes.append(process)

    @property
    def pids(self) -> list[int]:
        return [p.pid for p in self.processes if p.pid is not None]

    def _recv(self, conn: Connection, kind: str, timeout: float) -> Any:
        if not conn.poll(timeout):
            raise TimeoutError(f"a client worker sent no {kind!r} within {timeout:.0f}s")
        message = conn.recv()
        if message[0] != kind:
            raise RuntimeError(f"a client worker sent {message[0]!r}, expected {kind!r}")
        return message

    def wait_ready(self, timeout: float) -> list[WorkerReady]:
        deadline = time.monotonic() + timeout
        out = []
        for conn, process in zip(self.conns, self.processes, strict=True):
            while True:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError(f"client workers not connected within {timeout:.0f}s")
                if conn.poll(min(1.0, remaining)):
                    break
                if not process.is_alive():
                    raise RuntimeError(f"client worker {process.name} exited "
                                       f"({process.exitcode}) while connecting")
            out.append(self._recv(conn, "ready", 1)[1])
        return out

    def count(self, timeout: float = 10.0) -> tuple[int, int, int]:
        """(receipts so far, disconnects since ready, clients still connected) over workers."""
        for conn in self.conns:
            conn.send("count")
        totals = [0, 0, 0]
        for conn in self.conns:
            _, receipts, disconnects, connected = self._recv(conn, "count", timeout)
            totals[0] += receipts
            totals[1] += disconnects
            totals[2] += connected
        return totals[0], totals[1], totals[2]

    def wait_receipts(self, expected: int, timeout: float, settle: float = 1.0) -> int:
        """Poll until `expected` receipts arrived or `timeout` passed; then wait `settle`
        seconds more so late duplicates are seen too. Returns the count."""
        deadline = time.monotonic() + timeout
        received = 0
        while time.monotonic() < deadline:
            received = self.count()[0]
            if received >= expected:
                break
            time.sleep(0.05)
        time.sleep(settle)
        return self.count()[0]

    def collect(self, timeout: float = 60.0) -> Receipts:
        for conn in self.conns:
            conn.send("collect")
        merged = Receipts()
        for conn in self.conns:
            merged.extend(self._recv(conn, "receipts", timeout)[1])
        return merged

    def close(self, timeout: float = 20.0) -> None:
        """Ask every worker to disconnect its clients and exit; terminate stragglers."""
        for conn in self.conns:
            with contextlib.suppress(Exception):
                conn.send("stop")
        deadline = time.monotonic() + timeout
        for process in self.processes:
            process.join(max(0.1, deadline - time.monotonic()))
        for process in self.processes:
            if process.is_alive():
                process.terminate()
                process.join(5)
            if process.is_alive() and process.pid is not None:
                os.kill(process.pid, 9)
                process.join(2)
        for conn in self.conns:
            conn.close()
        self.conns, self.processes = [], []


def add_swarm_options(parser: argparse.ArgumentParser) -> None:
    """The options of a benchmark that opens a swarm against `microblog serve` instances."""
    parser.add_argument("--client-procs", type=int, default=4,
                        help="worker processes holding the clients")
    parser.add_argument("--connect-concurrency", type=int, default=25,
                        help="connections being opened at once, per client process")
    parser.add_argument("--client", choices=("socketio", "raw"), default="socketio",
                        help="socketio: python-socketio AsyncClient; raw: a minimal Engine.IO 4 "
                             "client on aiohttp (same wire protocol, much cheaper per message: "
                             "tells client cost from server cost)")
    parser.add_argument("--serve-command", default=None,
                        help="run the instances with this command instead of `microblog` "
                             "(e.g. '.venv/bin/python /tmp/patched.py', for A/B experiments); "
                             "'serve --bind HOST:PORT' is appended")


def open_swarm(stack: ExitStack, specs: list[ClientSpec], procs: int, args: argparse.Namespace,
               nofile: int, label: str) -> tuple[Swarm, list[WorkerReady], float]:
    """A swarm with every client of `specs` connected (closed when `stack` closes), its
    workers' reports and the seconds from the first connection attempt to the last
    connection established; RuntimeError when a client could not connect."""
    started = time.monotonic()
    swarm = Swarm(specs, procs, args.connect_concurrency, nofile=nofile,
                  client_kind=args.client)
    stack.callback(swarm.close, 60.0)
    ready = swarm.wait_ready(timeout=120 + len(specs) / 20)
    connected = sum(r.connected for r in ready)
    if connected < len(specs):
        errors = [e for r in ready for e in r.errors]
        raise RuntimeError(f"{label}: only {connected}/{len(specs)} clients connected; "
                           f"e.g. {errors[:3]}")
    seconds = (max(r.last_ns for r in ready) - min(r.first_ns for r in ready)) / 1e9
    print(f"[bench] {label}: {connected} connections in {seconds:.1f}s (workers started in "
          f"{time.monotonic() - started - seconds:.1f}s)", file=sys.stderr, flush=True)
    return swarm, ready, seconds
