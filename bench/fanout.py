"""Fan-out latency of `post.created`: one author, thousands of connected followers, two instances.

    .venv/bin/python bench/fanout.py [--followers 5000] [--connected 2000] [--instances 2]
                                     [--rate 10] [--duration 30] [--client-procs 4]
                                     [--profile-dir DIR]

Creates a throw-away database (migrated with `microblog db upgrade`), bulk-inserts one author
and --followers users who follow it, with API tokens for the author and the first --connected
followers, starts --instances `microblog serve` processes sharing Redis, and connects the
followers' python-socketio clients (websocket transport, auth={"token": ...}) round-robin to
the instances from --client-procs worker processes. The author posts through `POST /api/posts`
on the first instance (A); every other instance gets the post through the Socket.IO Redis
manager.

Latency is from just before the POST is sent to a client's receipt of the matching
`post.created` (correlated by post id), both read with time.monotonic_ns(): CLOCK_MONOTONIC is
system-wide on Linux, so the main process and the client workers share the clock.

Phases: a warm-up post (not measured); (a) one post to everyone; (b) --rate posts/s for
--duration s, open loop (a post is sent on schedule whether or not the previous one has been
answered). With --profile-dir, an extra phase repeats (b) for up to 20 s while py-spy samples
every instance, and summarises where the servers' time goes; (a) and (b) are never sampled.
Everything is cleaned up at the end (database, Redis namespace, servers, client workers), also on
errors, Ctrl-C and SIGTERM.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import sys
import time
from collections import Counter
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # `python bench/fanout.py`

from bench.common import (  # noqa: E402 - after the sys.path line above
    CLK_TCK,
    BenchError,
    Phases,
    add_common_options,
    bench_environment,
    bench_main,
    cpu_delta_by_name,
    cpu_seconds,
    cpu_seconds_by_name,
    insert_follows,
    insert_users,
    log,
    machine_cpu,
    percentile,
    profiled,
    raise_nofile_limit,
    require_py_spy,
    serve,
    target,
    write_result,
)
from bench.swarm import ClientSpec, Receipts, Swarm, add_swarm_options, open_swarm  # noqa: E402
from microblog.testing import Server  # noqa: E402

TARGET_ONE_P99_MS = 150.0
TARGET_SUSTAINED_P99_MS = 250.0


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--followers", type=int, default=5000, help="followers of the author")
    parser.add_argument("--connected", type=int, default=2000,
                        help="followers with a connected socket")
    parser.add_argument("--instances", type=int, default=2, help="`microblog serve` processes")
    parser.add_argument("--rate", type=float, default=10.0, help="posts per second in (b)")
    parser.add_argument("--duration", type=float, default=30.0, help="seconds of posting in (b)")
    parser.add_argument("--drain-timeout", type=float, default=30.0,
                        help="seconds to wait for the last deliveries after a phase")
    add_swarm_options(parser)
    add_common_options(parser, profile="every instance in an extra phase that repeats (b)")
    args = parser.parse_args(argv)
    if args.followers < 1 or not 1 <= args.connected <= args.followers:
        parser.error("need --followers >= 1 and 1 <= --connected <= --followers")
    if args.instances < 1 or args.client_procs < 1 or args.connect_concurrency < 1:
        parser.error("--instances, --client-procs and --connect-concurrency must be >= 1")
    if args.rate <= 0 or args.duration <= 0 or args.rate * args.duration < 1:
        parser.error("--rate and --duration must be positive (at least one post)")
    return args


# --- posting ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Sent:
    post_id: int  # -1 when the POST failed
    send_ns: int  # monotonic_ns just before the request was sent
    response_ms: float
    status: int


async def post_schedule(server: Server, token: str, count: int, rate: float,
                        label: str) -> list[Sent]:
    """POST `count` posts as the author, the k-th at start + k/rate (open loop)."""
    limits = httpx.Limits(max_connections=64, max_keepalive_connections=64)
    async with httpx.AsyncClient(base_url=server.url, timeout=30.0, limits=limits,
                                 headers={"Authorization": f"Bearer {token}"}) as http:

        async def one(k: int) -> Sent:
            body = f"fan-out bench {label} #{k}: the quick brown fox jumps over the lazy dog"
            send_ns = time.monotonic_ns()
            try:
                response = await http.post("/api/posts", json={"body": body})
            except httpx.HTTPError as exc:
                log(f"POST #{k} failed: {exc!r}")
                return Sent(-1, send_ns, (time.monotonic_ns() - send_ns) / 1e6, 0)
            elapsed = (time.monotonic_ns() - send_ns) / 1e6
            if response.status_code != 201:
                log(f"POST #{k} answered {response.status_code}: {response.text[:200]}")
                return Sent(-1, send_ns, elapsed, response.status_code)
            return Sent(int(response.json()["id"]), send_ns, elapsed, 201)

        loop = asyncio.get_running_loop()
        start = loop.time()
        tasks = []
        for k in range(count):
            delay = start + k / rate - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(one(k)))
        return list(await asyncio.gather(*tasks))


def send_posts(server: Server, token: str, count: int, rate: float, label: str) -> list[Sent]:
    sent = asyncio.run(asyncio.wait_for(
        post_schedule(server, token, count, rate, label), count / rate + 120))
    failed = [s for s in sent if s.post_id < 0]
    if failed:
        raise BenchError(f"{len(failed)}/{len(sent)} POST /api/posts failed "
                         f"(statuses {Counter(s.status for s in failed)})")
    return sent


# --- figures ---------------------------------------------------------------------------------


@dataclass
class PhaseResult:
    name: str
    posts: int
    expected: int  # connected clients x posts
    delivered: int  # distinct (client, post) pairs received
    duplicates: int  # receipts beyond the first of a (client, post) pair
    stray: int  # receipts of posts not sent in this phase
    latencies_ms: list[float]  # first receipt of each (client, post), sorted
    by_instance: dict[int, list[float]]  # the same, per instance (sorted)
    completion_ms: list[float]  # per post: latency of its last first-receipt, sorted
    response_ms: list[float]  # the POST's own response time, sorted
    seconds: float  # wall time of the posting
    cpu: dict[str, float]  # CPU seconds per component during the phase (+ "machine" %)
    disconnects: int

    @property
    def lost(self) -> int:
        return self.expected - self.delivered


def analyse(name: str, sent: list[Sent], receipts: Receipts, clients: int, seconds: float,
            cpu: dict[str, float], disconnects: int) -> PhaseResult:
    send_ns = {s.post_id: s.send_ns for s in sent}
    seen: set[tuple[int, int]] = set()
    latencies: list[float] = []
    by_instance: dict[int, list[float]] = {}
    last_ns: dict[int, int] = {}
    duplicates = stray = 0
    for client, instance, post_id, at in zip(receipts.client, receipts.instance,
                                             receipts.post_id, receipts.at_ns, strict=True):
        start = send_ns.get(post_id)
        if start is None:
            stray += 1
            continue
        key = (client, post_id)
        if key in seen:
            duplicates += 1
            continue
        seen.add(key)
        ms = (at - start) / 1e6
        latencies.append(ms)
        by_instance.setdefault(instance, []).append(ms)
        if at > last_ns.get(post_id, 0):
            last_ns[post_id] = at
    latencies.sort()
    for values in by_instance.values():
        values.sort()
    completion = sorted((last_ns[p] - send_ns[p]) / 1e6 for p in last_ns)
    return PhaseResult(name, len(sent), clients * len(sent), len(seen), duplicates, stray,
                       latencies, by_instance, completion,
                       sorted(s.response_ms for s in sent), seconds, cpu, disconnects)


class CpuMeter:
    """CPU seconds used by the servers, the client workers, PostgreSQL, Redis and the machine
    between start() and stop()."""

    def __init__(self, servers: list[Server], swarm: Swarm) -> None:
        self.servers = servers
        self.swarm = swarm
        self.before: dict[str, float] = {}
        self.others: dict[int, tuple[str, float]] = {}

    def _now(self) -> dict[str, float]:
        values = {f"server {chr(65 + n)}": cpu_seconds(s.process.pid)
                  for n, s in enumerate(self.servers)}
        values["client workers"] = sum(cpu_seconds(pid) for pid in self.swarm.pids)
        values["main (poster)"] = cpu_seconds(os.getpid())
        busy, total = machine_cpu()
        values["_busy"], values["_total"] = busy, total
        values["_wall"] = time.monotonic()
        return values

    def start(self) -> None:
        self.others = cpu_seconds_by_name(("postgres", "redis-server"))
        self.before = self._now()

    def stop(self) -> dict[str, float]:
        after = self._now()
        others = cpu_delta_by_name(self.others, cpu_seconds_by_name(("postgres", "redis-server")))
        wall = after["_wall"] - self.before["_wall"]
        out = {k: after[k] - self.before[k] for k in after if not k.startswith("_")}
        out["postgres"] = others.get("postgres", 0.0)
        out["redis"] = others.get("redis-server", 0.0)
        total = after["_total"] - self.before["_total"]
        busy = after["_busy"] - self.before["_busy"]
        # /proc/stat counts clock ticks summed over CPUs: what nobody above used is someone
        # else's load on the machine (another benchmark, tests), which skews every figure
        out["rest of machine"] = max(0.0, busy / CLK_TCK - sum(out.values()))
        out["_machine_busy_pct"] = 100.0 * busy / total if total else float("nan")
        out["_wall"] = wall
        return out


def run_phase(name: str, server: Server, token: str, swarm: Swarm, meter: CpuMeter,
              clients: int, count: int, rate: float, drain_timeout: float) -> PhaseResult:
    log(f"{name}: {count} post(s) at {rate:g}/s to {clients} clients…")
    disconnects_before = swarm.count()[1]
    meter.start()
    started = time.monotonic()
    sent = send_posts(server, token, count, rate, name)
    seconds = time.monotonic() - started
    received = swarm.wait_receipts(clients * count, drain_timeout)
    cpu = meter.stop()
    disconnects = swarm.count()[1] - disconnects_before
    receipts = swarm.collect()
    log(f"{name}: {received}/{clients * count} receipts")
    return analyse(name, sent, receipts, clients, seconds, cpu, disconnects)


# --- py-spy ----------------------------------------------------------------------------------


# Where a sample of the event loop thread goes: the first rule whose needles are all on it.
FANOUT_PHASES: Phases = [
    ("fan-out: local emit (socketio AsyncManager.emit, task per socket)",
     ("async_manager.py", "emit")),
    # the per-recipient tasks AsyncManager.emit creates run as their own task roots
    ("fan-out: local emit (socketio AsyncManager.emit, task per socket)",
     ("_send_eio_packet",)),
    ("fan-out: per-socket send (engineio writer -> ASGI send)", ("async_socket.py", "writer")),
    # asyncio.wait_for (Python 3.11) runs the writer's queue.get() as a separate task
    ("fan-out: per-socket send (engineio writer -> ASGI send)", ("Queue.get (",)),
    ("fan-out: per-socket send (engineio writer -> ASGI send)", ("_release_waiter",)),
    ("socket: receive loop / ping (engineio _websocket_handler)",
     ("async_socket.py", "_websocket_handler")),
    ("Redis pub/sub listener (socketio manager)", ("async_pubsub_manager.py", "_thread")),
    ("publisher task (microblog.realtime.publish)", ("publish.py", "_run")),
    ("HTTP request: POST /api/posts (Quart)", ("quart/",)),
    ("personal hub (microblog.realtime.personal)", ("personal.py",)),
    ("presence (microblog.realtime.presence)", ("presence.py",)),
    ("Hypercorn protocol (h11/wsproto, transport)", ("hypercorn/",)),
]


def profiled_phase(args: argparse.Namespace, servers: list[Server], token: str, swarm: Swarm,
                   meter: CpuMeter, clients: int) -> tuple[PhaseResult, list[str]]:
    seconds = int(min(args.duration, 20))
    profiles: list[str] = []
    with ExitStack() as spies:
        for n, server in enumerate(servers):
            spies.enter_context(profiled(args.profile_dir, server.process.pid,
                                         f"fanout-{chr(65 + n)}", FANOUT_PHASES, profiles))
        result = run_phase("profiled", servers[0], token, swarm, meter, clients,
                           max(1, int(args.rate * seconds)), args.rate, args.drain_timeout)
    return result, profiles


# --- output ----------------------------------------------------------------------------------


def _ms(value: float) -> str:
    return f"{value:8.1f}" if value == value else f"{'-':>8}"


def print_phase(result: PhaseResult, instances: int, target: float | None) -> None:
    lat = result.latencies_ms
    print(f"\n{result.name}: {result.posts} post(s) in {result.seconds:.1f}s, "
          f"{result.expected} deliveries expected")
    header = f"  {'deliveries':<34} {'count':>8} {'p50 ms':>8} {'p90 ms':>8} {'p99 ms':>8} " \
             f"{'max ms':>8}"
    print(header)
    print("  " + "-" * (len(header) - 2))

    def row(label: str, values: list[float]) -> None:
        print(f"  {label:<34} {len(values):>8} {_ms(percentile(values, 50))} "
              f"{_ms(percentile(values, 90))} {_ms(percentile(values, 99))} "
              f"{_ms(values[-1] if values else float('nan'))}")

    row("all clients (POST -> receipt)", lat)
    for n in range(instances):
        where = "the POST's instance" if n == 0 else "via Redis"
        row(f"  instance {chr(65 + n)} ({where})", result.by_instance.get(n, []))
    row("per post: last client served", result.completion_ms)
    row("POST /api/posts response time", result.response_ms)
    print(f"  received {result.delivered}/{result.expected} "
          f"(lost = not received within --drain-timeout of the last POST: {result.lost}, "
          f"{100.0 * result.lost / max(result.expected, 1):.3f}%), "
          f"duplicates {result.duplicates}, stray {result.stray}, "
          f"client disconnects {result.disconnects}")
    cpu = {k: v for k, v in result.cpu.items() if not k.startswith("_")}
    wall = result.cpu.get("_wall", 0.0) or float("nan")
    parts = ", ".join(f"{k} {v:.1f}s ({100 * v / wall:.0f}%)" for k, v in cpu.items())
    print(f"  CPU over {wall:.1f}s (incl. drain): {parts}; "
          f"machine {result.cpu.get('_machine_busy_pct', float('nan')):.0f}% busy")
    foreign = result.cpu.get("rest of machine", 0.0) / wall
    if foreign > 0.15:
        print(f"  WARNING: processes outside this benchmark used {foreign:.2f} CPUs during "
              f"this phase: its figures are not representative; run it again on a quiet "
              f"machine")
    per = []
    for n in range(instances):
        delivered = len(result.by_instance.get(n, []))
        seconds = result.cpu.get(f"server {chr(65 + n)}", 0.0)
        if delivered:
            per.append(f"{chr(65 + n)} {1e6 * seconds / delivered:.0f}")
    if per:
        print(f"  server CPU per delivery (us, whole process incl. the POSTs on A): "
              f"{', '.join(per)}")
    if target is not None:
        p99 = percentile(lat, 99)
        ok = p99 < target and result.lost == 0 and result.duplicates == 0
        print(f"  target p99 < {target:.0f} ms, no loss, no duplicates: "
              f"{'MET' if ok else 'NOT MET'} (p99 {p99:.1f} ms, lost {result.lost}, "
              f"duplicates {result.duplicates})")


def phase_figures(result: PhaseResult) -> dict[str, object]:
    lat, wall = result.latencies_ms, result.cpu.get("_wall", 0.0) or float("nan")
    return {
        "posts": result.posts, "seconds": round(result.seconds, 2),
        "expected": result.expected, "delivered": result.delivered, "lost": result.lost,
        "duplicates": result.duplicates, "client_disconnects": result.disconnects,
        **{f"p{q}_ms": percentile(lat, q) for q in (50, 90, 99)},
        "max_ms": lat[-1] if lat else None,
        "p99_by_instance_ms": {chr(65 + n): percentile(v, 99)
                               for n, v in sorted(result.by_instance.items())},
        "last_client_p99_ms": percentile(result.completion_ms, 99),
        "post_response_p99_ms": percentile(result.response_ms, 99),
        "cpu_seconds": {k: round(v, 2) for k, v in result.cpu.items() if not k.startswith("_")},
        "machine_busy_pct": result.cpu.get("_machine_busy_pct"),
        "foreign_cpus": result.cpu.get("rest of machine", 0.0) / wall,
    }


def write_json(args: argparse.Namespace, connected: int, connect_s: float,
               phases: list[tuple[PhaseResult, float]]) -> None:
    targets = []
    for result, goal in phases:
        label = result.name.split(" ", 1)[0]
        p99 = percentile(result.latencies_ms, 99)
        targets.append(target(f"{result.name} p99", f"< {goal:g} ms", p99, p99 < goal, "ms"))
        targets.append(target(f"{label} lost / duplicates", "0 / 0",
                              f"{result.lost} / {result.duplicates}",
                              result.lost == 0 and result.duplicates == 0))
    headline = "; ".join(f"{r.name}: p50 {percentile(r.latencies_ms, 50):.0f} ms "
                         f"p99 {percentile(r.latencies_ms, 99):.0f} ms" for r, _ in phases)
    write_result(args.json, "fanout", args, {
        "connected": connected, "connect_s": round(connect_s, 1),
        "phases": {r.name: phase_figures(r) for r, _ in phases}}, targets,
        f"{connected:,} clients ({args.client}); {headline}")


# --- the run ---------------------------------------------------------------------------------


def run(args: argparse.Namespace) -> int:
    per_instance = -(-args.connected // args.instances)
    previous = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    soft, hard = raise_nofile_limit(max(per_instance, args.connected // args.client_procs)
                                    * 2 + 4096)
    log(f"RLIMIT_NOFILE soft limit {previous} -> {soft} (hard {hard}); servers and client "
        "workers inherit it")
    require_py_spy(args.profile_dir)
    with ExitStack() as stack:
        bench = bench_environment(stack, "fanout", args.embedded)
        started = time.monotonic()
        users = asyncio.run(insert_users(bench.database_url, args.followers + 1, "fan",
                                         with_tokens=args.connected + 1))
        author, followers = users[0], users[1:]
        asyncio.run(insert_follows(bench.database_url, [(f.id, author.id) for f in followers]))
        log(f"inserted 1 author + {len(followers)} followers, {args.connected + 1} tokens "
            f"in {time.monotonic() - started:.1f}s")

        servers = [serve(stack, bench, f"instance-{chr(65 + n)}", args.serve_command)
                   for n in range(args.instances)]
        log("servers: " + ", ".join(f"{chr(65 + n)} {s.url} (pid {s.process.pid})"
                                    for n, s in enumerate(servers)))

        specs = [ClientSpec(servers[i % args.instances].url, f.token, i % args.instances)
                 for i, f in enumerate(followers[:args.connected])]
        log(f"connecting {len(specs)} clients from {args.client_procs} processes…")
        swarm, _, connect_s = open_swarm(stack, specs, args.client_procs, args, soft, "clients")
        connected = len(specs)
        for server in servers:
            if server.process.poll() is not None:
                raise BenchError(f"a server exited:\n{server.log_tail()}")

        meter = CpuMeter(servers, swarm)
        warm = run_phase("warm-up", servers[0], author.token, swarm, meter, connected, 3, 2.0,
                         args.drain_timeout)
        if warm.lost:
            log(f"warm-up: {warm.lost} deliveries missing (not counted)")
        time.sleep(1.0)
        one = run_phase("(a) one post", servers[0], author.token, swarm, meter, connected, 1,
                        1.0, args.drain_timeout)
        time.sleep(2.0)
        count = int(round(args.rate * args.duration))
        sustained = run_phase("(b) sustained", servers[0], author.token, swarm, meter,
                              connected, count, args.rate, args.drain_timeout)
        sampled: PhaseResult | None = None
        profiles: list[str] = []
        if args.profile_dir:
            time.sleep(2.0)
            sampled, profiles = profiled_phase(args, servers, author.token, swarm, meter,
                                               connected)
        for server in servers:
            if server.process.poll() is not None:
                raise BenchError(f"a server exited during the run:\n{server.log_tail()}")

        print()
        split = ", ".join(f"{chr(65 + n)}: {sum(1 for s in specs if s.instance == n)}"
                          for n in range(args.instances))
        print(f"fan-out of post.created: 1 author, {args.followers} followers, {connected} "
              f"connected ({split}), "
              f"{args.instances} `microblog serve` instance(s); posts via POST /api/posts on A")
        kind = "python-socketio AsyncClient" if args.client == "socketio" else \
            "minimal Engine.IO client (aiohttp)"
        if args.serve_command:
            print(f"servers run with: {args.serve_command}")
        print(f"clients: {kind} (websocket) in {len(swarm.pids)} processes; "
              f"connected in {connect_s:.1f}s; nproc={os.cpu_count()}")
        print("clock: time.monotonic_ns() in every process (CLOCK_MONOTONIC, system-wide on "
              "Linux); latency = client receipt - just before the POST was sent")
        print("note: servers, client workers, PostgreSQL and Redis all share this machine's CPUs")
        for note in bench.services.description:
            print(f"      {note}")
        print_phase(one, args.instances, TARGET_ONE_P99_MS)
        print_phase(sustained, args.instances, TARGET_SUSTAINED_P99_MS)
        write_json(args, connected, connect_s, [(one, TARGET_ONE_P99_MS),
                                                (sustained, TARGET_SUSTAINED_P99_MS)])
        if sampled is not None:
            print_phase(sampled, args.instances, None)
            print("  (py-spy was sampling every instance: these latencies are inflated)")
            print("\n".join(profiles))
    return 0


if __name__ == "__main__":
    sys.exit(bench_main(run, parse_args))
