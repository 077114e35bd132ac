"""Memory and set-up time of idle, authenticated Socket.IO connections on one instance.

    .venv/bin/python bench/connections.py [--connections 5000] [--client-procs 4]
                                          [--warmup 100] [--hold 10]

Creates a throw-away database (migrated with `microblog db upgrade`), bulk-inserts one user with
an API token per connection (distinct users; --users N spreads the connections over N users
instead, like tabs), starts one `microblog serve`, and opens the connections with
python-socketio AsyncClients (websocket transport, auth={"token": ...}) from --client-procs
worker processes. The server's resident set size (VmRSS in /proc/<pid>/status) is read:

- after it is ready (baseline),
- after --warmup connections (kept open): the first connections pay one-off costs (lazy
  imports, the database pool filling up, caches), which are not per-connection memory,
- after all connections are open and have been idle for --hold seconds (the peak during the
  hold is printed too).

KB per connection = (RSS after all - RSS after warm-up) / (connections - warm-up); the naive
figure from the baseline is printed next to it. The open-files limit is raised with
resource.setrlimit (RLIMIT_NOFILE) before the server and the client workers start, so both can
hold the sockets. Everything is cleaned up at the end (database, Redis namespace, server,
client workers), also on errors, Ctrl-C and SIGTERM.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import sys
import time
from contextlib import ExitStack
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # `python bench/connections.py`

from bench.common import (  # noqa: E402 - after the sys.path line above
    BenchError,
    Phases,
    add_common_options,
    bench_environment,
    bench_main,
    cpu_seconds,
    insert_users,
    log,
    open_fds,
    percentile,
    profiled,
    raise_nofile_limit,
    require_py_spy,
    rss_kb,
    serve,
    target,
    write_result,
)
from bench.swarm import ClientSpec, add_swarm_options, open_swarm  # noqa: E402

TARGET_KB_PER_CONNECTION = 60.0

# Where the server's event loop spends a connection storm: the first rule that matches a stack.
CONNECT_PHASES: Phases = [
    ("connect handler: authenticate (API token -> user)", ("web/sockets.py", "authenticate")),
    ("connect handler: followed_ids", ("web/sockets.py", "followed_ids")),
    ("connect handler: presence (Redis)", ("web/sockets.py", "presence")),
    ("connect handler: other", ("web/sockets.py", "connect")),
    ("personal hub: replay at connect", ("realtime/personal.py",)),
    ("python-socketio (namespace connect, rooms)", ("socketio/",)),
    ("python-engineio (handshake, socket loops)", ("engineio/",)),
    ("Hypercorn (HTTP upgrade, wsproto)", ("hypercorn/",)),
]


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--connections", type=int, default=5000)
    parser.add_argument("--users", type=int, default=0,
                        help="spread the connections over this many users (default: one user "
                             "per connection)")
    parser.add_argument("--warmup", type=int, default=100,
                        help="connections opened (and kept) before the reference RSS reading")
    parser.add_argument("--hold", type=float, default=10.0,
                        help="seconds the connections stay idle before the final reading")
    add_swarm_options(parser)
    add_common_options(parser, profile="the server while the connections are opened")
    args = parser.parse_args(argv)
    if args.connections < 2 or not 0 <= args.warmup < args.connections:
        parser.error("need --connections >= 2 and 0 <= --warmup < --connections")
    if args.users < 0 or args.client_procs < 1 or args.connect_concurrency < 1 or args.hold < 0:
        parser.error("--users >= 0, --client-procs >= 1, --connect-concurrency >= 1, --hold >= 0")
    return args


def settle_rss(pid: int, seconds: float) -> int:
    """Wait `seconds` (replay tasks, presence writes and the like finish), then read RSS."""
    time.sleep(seconds)
    return rss_kb(pid)


def run(args: argparse.Namespace) -> int:
    previous = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    soft, hard = raise_nofile_limit(args.connections + 4096)
    if soft < args.connections + 256:
        raise BenchError(f"the open-files limit is {soft} (hard {hard}): too low for "
                         f"{args.connections} connections; raise the hard limit (ulimit -Hn)")
    log(f"RLIMIT_NOFILE soft limit {previous} -> {soft} (hard {hard}); the server and client "
        "workers inherit it")
    require_py_spy(args.profile_dir)
    users_count = args.users or args.connections
    with ExitStack() as stack:
        bench = bench_environment(stack, "conns", args.embedded)
        started = time.monotonic()
        users = asyncio.run(insert_users(bench.database_url, users_count, "conn"))
        log(f"inserted {len(users)} users with API tokens in {time.monotonic() - started:.1f}s")

        server = serve(stack, bench, "serve", args.serve_command)
        pid = server.process.pid
        log(f"server ready at {server.url} (pid {pid})")
        specs = [ClientSpec(server.url, users[i % len(users)].token, 0)
                 for i in range(args.connections)]

        rss_ready = settle_rss(pid, 2.0)
        fds_ready = open_fds(pid)
        warm_specs, main_specs = specs[:args.warmup], specs[args.warmup:]
        rss_warm = rss_ready
        warm_swarm = None
        if warm_specs:
            warm_swarm, _, _ = open_swarm(stack, warm_specs, 1, args, soft, "warm-up")
            rss_warm = settle_rss(pid, 3.0)
        log(f"RSS: ready {rss_ready} KiB, after {len(warm_specs)} warm-up connections "
            f"{rss_warm} KiB")

        profiles: list[str] = []
        cpu_before = cpu_seconds(pid)
        with profiled(args.profile_dir, pid, "connections", CONNECT_PHASES, profiles):
            swarm, ready, seconds = open_swarm(stack, main_specs, args.client_procs, args, soft,
                                               "connections")
        cpu_connect = cpu_seconds(pid) - cpu_before
        rss_connected = rss_kb(pid)
        peak = rss_connected
        deadline = time.monotonic() + args.hold
        while time.monotonic() < deadline:
            time.sleep(min(1.0, max(0.0, deadline - time.monotonic())))
            peak = max(peak, rss_kb(pid))
        rss_end = rss_kb(pid)
        peak = max(peak, rss_end)
        fds_end = open_fds(pid)
        _, disconnects, alive = swarm.count()
        warm_alive = warm_swarm.count()[2] if warm_swarm is not None else 0
        if server.process.poll() is not None:
            raise BenchError(f"the server exited during the run:\n{server.log_tail()}")

        connect_ms = sorted(ms for r in ready for ms in r.connect_ms)
        measured = len(main_specs)
        per_conn = (rss_end - rss_warm) / measured
        naive = (rss_end - rss_ready) / args.connections
        kind = "python-socketio AsyncClient" if args.client == "socketio" else \
            "minimal Engine.IO client (aiohttp)"
        print()
        print(f"idle authenticated Socket.IO connections on one `microblog serve` "
              f"(pid {pid}); {args.connections} connections of {len(users)} users "
              f"({'distinct users' if len(users) >= args.connections else 'several tabs each'})")
        print(f"clients: {kind} (websocket) in {len(swarm.pids)} processes, "
              f"{args.connect_concurrency} connects at a time each; nproc={os.cpu_count()}; "
              f"RLIMIT_NOFILE {previous} -> {soft}")
        if args.serve_command:
            print(f"server run with: {args.serve_command}")
        for note in bench.services.description:
            print(f"      {note}")
        print()
        rows = [
            ("server RSS when ready", f"{rss_ready / 1024:.1f} MiB"),
            (f"  after {len(warm_specs)} warm-up connections", f"{rss_warm / 1024:.1f} MiB"),
            (f"  after all {args.connections}, idle {args.hold:g}s",
             f"{rss_end / 1024:.1f} MiB (peak {peak / 1024:.1f} MiB)"),
            ("KB per connection (after warm-up)",
             f"{per_conn:.1f} KiB  [(RSS end - RSS warm) / {measured}]"),
            ("KB per connection (naive)",
             f"{naive:.1f} KiB  [(RSS end - RSS ready) / {args.connections}]"),
            ("open files (server)", f"{fds_ready} -> {fds_end}"),
            (f"time to open {measured}", f"{seconds:.1f} s ({measured / seconds:.0f} conn/s)"),
            ("connect() latency p50 / p99 / max",
             f"{percentile(connect_ms, 50):.0f} / {percentile(connect_ms, 99):.0f} / "
             f"{connect_ms[-1]:.0f} ms" if connect_ms else "-"),
            ("server CPU while connecting", f"{cpu_connect:.1f} s "
             f"({1000 * cpu_connect / measured:.2f} ms per connection)"),
            ("still connected at the end", f"{alive + warm_alive}/{args.connections} "
             f"(main clients' disconnects: {disconnects})"),
        ]
        width = max(len(label) for label, _ in rows)
        for label, value in rows:
            print(f"  {label:<{width}}  {value}")
        ok = per_conn < TARGET_KB_PER_CONNECTION and alive + warm_alive == args.connections
        print(f"\n  target < {TARGET_KB_PER_CONNECTION:.0f} KB per connection at "
              f"{args.connections} connections: {'MET' if ok else 'NOT MET'} "
              f"({per_conn:.1f} KiB)")
        still = alive + warm_alive
        write_result(args.json, "connections", args, {
            "connections": args.connections, "users": len(users),
            "rss_ready_kib": rss_ready, "rss_warm_kib": rss_warm, "rss_end_kib": rss_end,
            "rss_peak_kib": peak, "kib_per_connection": per_conn,
            "kib_per_connection_naive": naive, "open_files": [fds_ready, fds_end],
            "connect_seconds": seconds, "connections_per_s": measured / seconds,
            "connect_p50_ms": percentile(connect_ms, 50),
            "connect_p99_ms": percentile(connect_ms, 99),
            "server_cpu_ms_per_connection": 1000 * cpu_connect / measured,
            "still_connected": still, "disconnects": disconnects,
        }, [target(f"memory per connection at {args.connections:,}",
                   f"< {TARGET_KB_PER_CONNECTION:g} KiB", per_conn,
                   per_conn < TARGET_KB_PER_CONNECTION, "KiB"),
            target("connections still up after the hold", f"{args.connections:,}", still,
                   still == args.connections)],
            f"{args.connections:,} connections, {per_conn:.1f} KiB each, "
            f"{1000 * cpu_connect / measured:.1f} ms server CPU each")
        if profiles:
            print("  (py-spy was sampling the server while it accepted the connections)")
            print("\n".join(profiles))
    return 0


if __name__ == "__main__":
    sys.exit(bench_main(run, parse_args))
