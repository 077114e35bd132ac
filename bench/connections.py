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
import signal
import subprocess
import sys
import time
from contextlib import ExitStack
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # `python bench/connections.py`

from bench.common import (  # noqa: E402 - after the sys.path line above
    BenchError,
    Server,
    add_json_option,
    bench_environment,
    bench_main,
    cpu_seconds,
    insert_users,
    log,
    open_fds,
    percentile,
    py_spy_executable,
    raise_nofile_limit,
    rss_kb,
    serve,
    start_py_spy,
    summarise_collapsed,
    target,
    terminate,
    write_result,
)
from bench.swarm import ClientSpec, Swarm, WorkerReady  # noqa: E402

TARGET_KB_PER_CONNECTION = 60.0

# Where the server's event loop spends a connection storm: the first rule that matches a stack.
CONNECT_PHASES: list[tuple[str, tuple[str, ...]]] = [
    ("connect handler: authenticate (API token -> user)", ("realtime/server.py", "authenticate")),
    ("connect handler: followed_ids", ("realtime/server.py", "followed_ids")),
    ("connect handler: presence (Redis)", ("realtime/server.py", "presence")),
    ("connect handler: other", ("realtime/server.py", "connect")),
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
    parser.add_argument("--client-procs", type=int, default=4,
                        help="worker processes holding the clients")
    parser.add_argument("--warmup", type=int, default=100,
                        help="connections opened (and kept) before the reference RSS reading")
    parser.add_argument("--hold", type=float, default=10.0,
                        help="seconds the connections stay idle before the final reading")
    parser.add_argument("--connect-concurrency", type=int, default=25,
                        help="connections being opened at once, per client process")
    parser.add_argument("--client", choices=("socketio", "raw"), default="socketio",
                        help="socketio: python-socketio AsyncClient; raw: a minimal Engine.IO 4 "
                             "client on aiohttp (same wire protocol, lighter client processes)")
    parser.add_argument("--serve-command", default=None,
                        help="run the instance with this command instead of .venv/bin/microblog "
                             "(A/B experiments); 'serve --bind HOST:PORT' is appended")
    parser.add_argument("--profile-dir", type=Path, default=None,
                        help="sample the server with py-spy while the connections are opened "
                             "and summarise where its time goes; collapsed stacks are written "
                             "here (the connect figures are then somewhat slower)")
    parser.add_argument("--embedded", action="store_true",
                        help="always start embedded PostgreSQL and Redis")
    add_json_option(parser)
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


def open_swarm(stack: ExitStack, specs: list[ClientSpec], procs: int, args: argparse.Namespace,
               nofile: int, label: str) -> tuple[Swarm, list[WorkerReady], float]:
    started = time.monotonic()
    swarm = Swarm(specs, procs, args.connect_concurrency, nofile=nofile,
                  client_kind=args.client)
    stack.callback(swarm.close, 60.0)
    ready = swarm.wait_ready(timeout=120 + len(specs) / 20)
    connected = sum(r.connected for r in ready)
    if connected < len(specs):
        errors = [e for r in ready for e in r.errors]
        raise BenchError(f"{label}: only {connected}/{len(specs)} clients connected; "
                         f"e.g. {errors[:3]}")
    # from the first connection attempt to the last connection established, across workers
    seconds = (max(r.last_ns for r in ready) - min(r.first_ns for r in ready)) / 1e9
    log(f"{label}: {connected} connections in {seconds:.1f}s "
        f"(workers started in {time.monotonic() - started - seconds:.1f}s)")
    return swarm, ready, seconds


def run(args: argparse.Namespace) -> int:
    previous = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    soft, hard = raise_nofile_limit(args.connections + 4096)
    if soft < args.connections + 256:
        raise BenchError(f"the open-files limit is {soft} (hard {hard}): too low for "
                         f"{args.connections} connections; raise the hard limit (ulimit -Hn)")
    log(f"RLIMIT_NOFILE soft limit {previous} -> {soft} (hard {hard}); the server and client "
        "workers inherit it")
    users_count = args.users or args.connections
    with ExitStack() as stack:
        bench = bench_environment(stack, "conns", args.embedded)
        svc, database_url, env, tmp = bench.services, bench.database_url, bench.env, bench.tmp
        started = time.monotonic()
        users = asyncio.run(insert_users(database_url, users_count, "conn"))
        log(f"inserted {len(users)} users with API tokens in {time.monotonic() - started:.1f}s")

        command = args.serve_command.split() if args.serve_command else None
        server: Server = stack.enter_context(serve(env, tmp, command=command))
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

        spy = profile_out = None
        if args.profile_dir:
            executable = py_spy_executable()
            if executable is None:
                raise BenchError("--profile-dir needs py-spy (.venv/bin/pip install py-spy)")
            args.profile_dir.mkdir(parents=True, exist_ok=True)
            profile_out = args.profile_dir / f"connections-{time.strftime('%Y%m%d-%H%M%S')}.txt"
            spy = start_py_spy(executable, pid, 600, profile_out)
            stack.callback(terminate, spy)
            time.sleep(0.5)  # let py-spy attach
        cpu_before = cpu_seconds(pid)
        swarm, ready, seconds = open_swarm(stack, main_specs, args.client_procs, args, soft,
                                           "connections")
        cpu_connect = cpu_seconds(pid) - cpu_before
        profile_report = ""
        if spy is not None and profile_out is not None:
            spy.send_signal(signal.SIGINT)  # stop sampling now; py-spy still writes the file
            try:
                spy.communicate(timeout=60)
            except subprocess.TimeoutExpired:
                terminate(spy)
            profile_report = (f"\nprofile of the server while connecting ({profile_out}):\n"
                              + (summarise_collapsed(profile_out, CONNECT_PHASES)
                                 if profile_out.exists() else "  (py-spy wrote nothing)"))
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
        for note in svc.description:
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
        if profile_report:
            print("  (py-spy was sampling the server while it accepted the connections)")
            print(profile_report)
    return 0


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    return bench_main(lambda: run(args))


if __name__ == "__main__":
    sys.exit(main())
