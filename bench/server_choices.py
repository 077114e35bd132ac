"""How the server's settings change the home page's throughput and CPU per request, measured
side by side with wrk (issue 16: server choices measured, not assumed).

    .venv/bin/python bench/server_choices.py [--duration 10] [--rounds 3]
                                             [--variants default,asyncio,access-log,instances-2]

Seeds a throw-away database as bench/pages.py does (1000 users, 100k posts, 50 follows each),
then for each variant starts `microblog serve` (two of them for `instances-2`), signs in, and
runs wrk against the signed-in home page, every response checked by the same Lua script as
bench/pages.py. The variants take turns over --rounds rounds; each prints requests/s, p99 and
the CPU per request of the server process(es). Variants:

- default: what `microblog serve` does (uvloop, Hypercorn over h11, no access log)
- asyncio: the standard library's event loop instead of uvloop
- access-log: `serve --access-log` (one log line per request)
- instances-2: two `microblog serve` processes sharing the database and Redis, wrk's threads
  split between them: how one host uses a second core (what `microblog cluster` puts behind
  nginx; nginx's own cost is not in this figure)

HTTP/2 (h2c) is not a variant: Hypercorn speaks it only to clients that ask for an upgrade,
which browsers never do over plain HTTP, so every page here is HTTP/1.1 over h11 either way.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from contextlib import ExitStack
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # `python bench/...`

from bench.common import (  # noqa: E402 - after the sys.path line above
    BenchError,
    add_common_options,
    bench_environment,
    bench_main,
    cpu_seconds,
    log,
    response_check_script,
    run_wrk_checked,
    serve,
    write_result,
)
from bench.pages import PAGES, PASSWORD, check_page, pick_user  # noqa: E402
from microblog.testing import login_cookie, run_cli  # noqa: E402

VARIANTS = ("default", "asyncio", "access-log", "instances-2")
# a launcher that hides uvloop, so `microblog.cli.run_async` falls back to asyncio
NO_UVLOOP = "import sys\nsys.modules['uvloop'] = None\nfrom microblog.cli import main\nmain()\n"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--duration", type=int, default=10, help="seconds of wrk per run")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--variants", default=",".join(VARIANTS))
    parser.add_argument("--users", type=int, default=1000)
    parser.add_argument("--posts", type=int, default=100_000)
    parser.add_argument("--follows", type=int, default=50)
    add_common_options(parser)
    args = parser.parse_args(argv)
    args.variants = [v.strip() for v in args.variants.split(",") if v.strip()]
    unknown = [v for v in args.variants if v not in VARIANTS]
    if unknown or not args.variants:
        parser.error(f"--variants: unknown {unknown or 'empty'}; choose from {VARIANTS}")
    return args


def run(args: argparse.Namespace) -> int:
    spec = PAGES["home"]
    figures: dict[str, list[tuple[float, float, float]]] = {v: [] for v in args.variants}
    errors = 0
    with ExitStack() as stack:
        bench = bench_environment(stack, "server", args.embedded)
        log(f"seeding {args.users} users, {args.posts} posts, {args.follows} follows each…")
        run_cli(bench.settings, "seed", "--users", str(args.users), "--posts", str(args.posts),
                "--follows", str(args.follows), "--messages", "0", timeout=900)
        username, user_id, _timeline = asyncio.run(pick_user(bench.database_url))
        launcher = bench.tmp / "no_uvloop.py"
        launcher.write_text(NO_UVLOOP)
        for round_no in range(1, args.rounds + 1):
            shift = (round_no - 1) % len(args.variants)
            for variant in args.variants[shift:] + args.variants[:shift]:
                with ExitStack() as servers:
                    if variant == "asyncio":
                        started = [serve(servers, bench, variant,
                                         f"{sys.executable} {launcher}")]
                    elif variant == "access-log":
                        started = [serve(servers, bench, variant, ACCESS_LOG="true")]
                    else:
                        count = 2 if variant == "instances-2" else 1
                        started = [serve(servers, bench, f"{variant}-{i}")
                                   for i in range(count)]
                    cookie = login_cookie(started[0].url, username, PASSWORD)
                    path = spec.path(username, user_id)
                    marker = spec.marker(username)
                    for server in started:
                        check_page(server, path, cookie, marker)
                    ports = tuple(int(s.url.rsplit(":", 1)[1]) for s in started)
                    script = response_check_script(bench.tmp / "wrk", f"check-{variant}",
                                                   marker, ports if len(ports) > 1 else ())
                    run_wrk_checked(started[0].url + path, cookie, 3, args.connections, 2,
                                    script)  # warm-up
                    pids = [s.process.pid for s in started]
                    before = sum(cpu_seconds(pid) for pid in pids)
                    result, check = run_wrk_checked(started[0].url + path, cookie,
                                                    args.duration, args.connections, 2, script)
                    cpu = sum(cpu_seconds(pid) for pid in pids) - before
                    bad = check.not_200 + check.missing_text + result.socket_errors
                    errors += bad
                    cpu_ms = 1000 * cpu / result.requests if result.requests else float("nan")
                    figures[variant].append((result.requests_per_s, result.p99_ms, cpu_ms))
                    log(f"round {round_no} {variant}: {result.requests_per_s:.1f} req/s, p99 "
                        f"{result.p99_ms:.1f} ms, {cpu_ms:.2f} ms server CPU/request, "
                        f"{bad} errors")
                time.sleep(1)
    print()
    print(f"home page of {username!r}; wrk -t2 -c{args.connections} -d{args.duration}s, "
          f"{args.rounds} round(s), variants taking turns; CPU = utime + stime of the server "
          "process(es) / requests")
    header = f"{'variant':<12} {'req/s median (range)':>22} {'p99 ms median':>14} " \
             f"{'CPU ms/req median (range)':>27}"
    print(header)
    print("-" * len(header))
    for variant, runs in figures.items():
        rps = [r[0] for r in runs]
        p99 = [r[1] for r in runs]
        cpus = [r[2] for r in runs]
        print(f"{variant:<12} {statistics.median(rps):>8.0f} ({min(rps):.0f}-{max(rps):.0f})"
              f"{'':>5} {statistics.median(p99):>14.1f} {statistics.median(cpus):>12.2f} "
              f"({min(cpus):.2f}-{max(cpus):.2f})")
    summary = {variant: {
        "requests_per_s": statistics.median(r[0] for r in runs),
        "requests_per_s_min": min(r[0] for r in runs),
        "requests_per_s_max": max(r[0] for r in runs),
        "p99_ms": statistics.median(r[1] for r in runs),
        "server_cpu_ms_per_request": statistics.median(r[2] for r in runs)}
        for variant, runs in figures.items() if runs}
    headline = "; ".join(f"{v} {f['requests_per_s']:.0f} req/s" for v, f in summary.items())
    write_result(args.json, "server", args, {"variants": summary, "errors": errors}, [],
                 headline)
    if errors:
        raise BenchError(f"{errors} response(s) were not the signed-in home page")
    return 0


if __name__ == "__main__":
    sys.exit(bench_main(run, parse_args))
