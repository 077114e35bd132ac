"""Private messaging under load: pairs of users chatting across two instances.

    .venv/bin/python bench/chat.py [--pairs 500] [--rate 1] [--duration 30]
                                   [--instances 2] [--client-procs 4]

Creates a throw-away database, bulk-inserts 2 x --pairs users with API tokens, starts
--instances `microblog serve` processes sharing PostgreSQL and Redis, and connects one
python-socketio client (WebSocket) per user; the two users of a pair are always on
different instances. Each pair then exchanges --rate messages per second (the two users
take turns) for --duration seconds through `message.send`.

Every message body carries the sender's time.monotonic_ns() (CLOCK_MONOTONIC is one clock
for every process on Linux), so the recipient measures send-to-receive latency on arrival.
Also reported: the ack round trip (send to the server's stored-message ack), loss (messages
acked but never received), duplicates (a message id received twice) and failed sends.
Everything is cleaned up at the end, also on errors and Ctrl-C.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import multiprocessing
import random
import sys
import time
from collections.abc import Awaitable, Callable
from contextlib import ExitStack
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # `python bench/chat.py`

from bench.common import (  # noqa: E402 - after the sys.path line above
    BenchError,
    add_common_options,
    bench_environment,
    bench_main,
    insert_users,
    log,
    percentile,
    raise_nofile_limit,
    serve,
    target,
    write_result,
)

TARGET_P99_MS = 50.0  # issue 4: 500 pairs, p99 < 50 ms, zero loss, zero duplicates


@dataclass(frozen=True)
class Member:
    user_id: int
    token: str
    url: str
    partner: str  # the partner's username
    sends: bool  # whether this member sends in even (True) or odd turns


@dataclass
class WorkerResult:
    connected: int = 0
    failed_connect: int = 0
    sent: int = 0
    send_errors: dict[str, int] = field(default_factory=dict)
    ack_ms: list[float] = field(default_factory=list)
    latency_ms: list[float] = field(default_factory=list)
    received: int = 0
    duplicates: int = 0
    acked_ids: list[int] = field(default_factory=list)
    received_ids: list[int] = field(default_factory=list)


def worker_main(conn: Connection, members: list[Member], rate: float, duration: float,
                start_at_ns: int) -> None:
    try:
        import uvloop

        result = uvloop.run(_worker(members, rate, duration, start_at_ns))
    except ImportError:
        result = asyncio.run(_worker(members, rate, duration, start_at_ns))
    conn.send(result)
    conn.close()


async def _worker(members: list[Member], rate: float, duration: float,
                  start_at_ns: int) -> WorkerResult:
    import socketio

    result = WorkerResult()
    seen: set[int] = set()
    clients: list[tuple[Member, socketio.AsyncClient]] = []
    gate = asyncio.Semaphore(25)

    def on_message(member: Member) -> Callable[[dict[str, Any]], Awaitable[None]]:
        async def handler(data: dict[str, Any]) -> None:
            now = time.monotonic_ns()
            if data.get("recipient", {}).get("id") != member.user_id:
                return  # the copy of our own send
            if data["id"] in seen:
                result.duplicates += 1
                return
            seen.add(data["id"])
            result.received += 1
            result.received_ids.append(data["id"])
            with contextlib.suppress(ValueError):
                result.latency_ms.append((now - int(data["body"])) / 1e6)
        return handler

    async def connect(member: Member) -> None:
        client = socketio.AsyncClient(reconnection=False)
        client.on("message.created", on_message(member))
        async with gate:
            try:
                await client.connect(member.url, auth={"token": member.token},
                                     transports=["websocket"], wait_timeout=30)
                clients.append((member, client))
                result.connected += 1
            except Exception:
                result.failed_connect += 1

    await asyncio.gather(*(connect(m) for m in members))
    # everyone starts together, on the main process's signal time
    await asyncio.sleep(max(0.0, (start_at_ns - time.monotonic_ns()) / 1e9))

    async def chatter(member: Member, client: socketio.AsyncClient) -> None:
        # a pair sends `rate` messages per second; each member takes every other turn
        interval = 2.0 / rate
        await asyncio.sleep(random.uniform(0, interval) + (0 if member.sends else interval / 2))
        end = time.monotonic() + duration
        n = 0
        while time.monotonic() < end:
            n += 1
            sent_ns = time.monotonic_ns()
            try:
                ack = await client.call("message.send", {
                    "to": member.partner, "body": str(sent_ns),
                    "client_id": f"b{member.user_id}-{n}"}, timeout=10)
            except Exception as exc:
                key = type(exc).__name__
                result.send_errors[key] = result.send_errors.get(key, 0) + 1
            else:
                result.sent += 1
                if ack.get("ok"):
                    result.ack_ms.append((time.monotonic_ns() - sent_ns) / 1e6)
                    result.acked_ids.append(ack["message"]["id"])
                else:
                    key = str(ack.get("code") or ack.get("error"))[:40]
                    result.send_errors[key] = result.send_errors.get(key, 0) + 1
            await asyncio.sleep(max(0.0, interval - (time.monotonic_ns() - sent_ns) / 1e9))

    await asyncio.gather(*(chatter(m, c) for m, c in clients))
    await asyncio.sleep(3.0)  # let the last messages arrive
    for _member, client in clients:
        with contextlib.suppress(Exception):
            await client.disconnect()
    return result


def stop_client_worker(proc: multiprocessing.process.BaseProcess) -> None:
    if proc.is_alive():
        proc.terminate()


def summarise(values: list[float]) -> str:
    if not values:
        return "n/a"
    ordered = sorted(values)
    return (f"p50 {percentile(ordered, 50):7.1f} ms   p99 {percentile(ordered, 99):7.1f} ms"
            f"   max {ordered[-1]:7.1f} ms")


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--pairs", type=int, default=500)
    parser.add_argument("--rate", type=float, default=1.0, help="messages per second per pair")
    parser.add_argument("--duration", type=float, default=30.0)
    parser.add_argument("--instances", type=int, default=2)
    parser.add_argument("--client-procs", type=int, default=4)
    add_common_options(parser)
    return parser.parse_args()


def run(args: argparse.Namespace) -> int:
    raise_nofile_limit(65536)
    with ExitStack() as stack:
        bench = bench_environment(stack, "chat", args.embedded)
        users = asyncio.run(insert_users(bench.database_url, 2 * args.pairs, "chatter"))
        servers = [serve(stack, bench, f"serve{n}") for n in range(args.instances)]
        log(f"{len(servers)} instances up; connecting {len(users)} clients")

        members: list[Member] = []
        for i in range(args.pairs):
            a, b = users[2 * i], users[2 * i + 1]
            members.append(Member(a.id, a.token, servers[0].url, b.username, True))
            members.append(Member(b.id, b.token, servers[1 % len(servers)].url, a.username,
                                  False))
        random.shuffle(members)
        chunks = [members[i::args.client_procs] for i in range(args.client_procs)]
        connect_budget = 5 + len(members) / 100
        start_at = time.monotonic_ns() + int(connect_budget * 1e9)
        ctx = multiprocessing.get_context("spawn")
        workers = []
        for chunk in chunks:
            parent, child = ctx.Pipe(duplex=False)
            proc = ctx.Process(target=worker_main,
                               args=(child, chunk, args.rate, args.duration, start_at))
            proc.start()
            workers.append((proc, parent))
            stack.callback(stop_client_worker, proc)
        results: list[WorkerResult] = []
        deadline = time.monotonic() + connect_budget + args.duration + 120
        for proc, pipe in workers:
            if not pipe.poll(max(1.0, deadline - time.monotonic())):
                raise BenchError("a client worker did not finish in time")
            results.append(pipe.recv())
            proc.join(10)

    connected = sum(r.connected for r in results)
    acked = [i for r in results for i in r.acked_ids]
    received = {i for r in results for i in r.received_ids}
    lost = len(set(acked) - received)
    errors: dict[str, int] = {}
    for r in results:
        for k, v in r.send_errors.items():
            errors[k] = errors.get(k, 0) + v
    latency = [v for r in results for v in r.latency_ms]
    ack = [v for r in results for v in r.ack_ms]
    print()
    print(f"chat: {args.pairs} pairs, {args.rate:g} msg/s per pair, {args.duration:g} s, "
          f"{args.instances} instances, {args.client_procs} client processes; "
          f"clients connected {connected}/{len(members)}")
    print(f"  sent {sum(r.sent for r in results)}, acked {len(acked)}, received "
          f"{len(received)}, lost {lost}, duplicates {sum(r.duplicates for r in results)}, "
          f"send errors {errors or 0}")
    print(f"  send -> receive   {summarise(latency)}")
    print(f"  send -> ack       {summarise(ack)}")
    print("  (python-socketio clients on the same 2-core machine as the servers, PostgreSQL "
          "and Redis)")
    duplicates = sum(r.duplicates for r in results)
    p99 = percentile(sorted(latency), 99)
    write_result(args.json, "chat", args, {
        "connected": connected, "clients": len(members), "sent": sum(r.sent for r in results),
        "acked": len(acked), "received": len(received), "lost": lost, "duplicates": duplicates,
        "send_errors": errors,
        **{f"receive_p{q}_ms": percentile(sorted(latency), q) for q in (50, 99)},
        **{f"ack_p{q}_ms": percentile(sorted(ack), q) for q in (50, 99)},
    }, [target(f"send -> receive p99 ({args.pairs} pairs)", f"< {TARGET_P99_MS:g} ms", p99,
               p99 < TARGET_P99_MS, "ms"),
        target("lost / duplicates", "0 / 0", f"{lost} / {duplicates}",
               lost == 0 and duplicates == 0)],
        f"{args.pairs} pairs: receive p50 {percentile(sorted(latency), 50):.0f} ms "
        f"p99 {p99:.0f} ms, lost {lost}")
    return 0 if lost == 0 else 1


if __name__ == "__main__":
    sys.exit(bench_main(run, parse_args))
