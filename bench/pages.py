"""Throughput and latency of the main HTML pages for a signed-in user, measured with wrk.

    .venv/bin/python bench/pages.py [--duration 15] [--connections 32] [--pages home,explore]

Creates a throw-away database, seeds it (1000 users, 100k posts, 50 follows each), starts one
`microblog serve` instance, signs in through the login form, then runs wrk against each page
with the login cookies. Prints one row per page. Everything it created is removed at the end.

Which PostgreSQL / Redis: BENCH_DATABASE_URL / BENCH_REDIS_URL when set, else servers on
127.0.0.1:5432 / 127.0.0.1:6379 when they answer, else embedded ones (or always embedded with
--embedded). With --profile-dir DIR, py-spy samples the server while wrk runs and a summary of
where the server's CPU time goes is printed (sampling slows the server a little).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import sys
import time
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # `python bench/pages.py`

from bench.common import (  # noqa: E402 - after the sys.path line above
    BenchError,
    Phases,
    WrkResult,
    add_common_options,
    bench_environment,
    bench_main,
    database,
    log,
    profiled,
    require_py_spy,
    run_wrk,
    serve,
    target,
    write_result,
)
from microblog.testing import Server, login_cookie, run_cli  # noqa: E402

PASSWORD = "password"  # noqa: S105 - `microblog seed` gives every user this password
TARGET_HOME_RPS = 800.0  # issue 1: home timeline >= 800 requests/s with p99 < 100 ms
TARGET_HOME_P99_MS = 100.0


@dataclass(frozen=True)
class PageSpec:
    name: str
    path: Callable[[str, int], str]  # (username, user id) -> path
    marker: Callable[[str], str]  # username -> text a signed-in response must contain


PAGES: dict[str, PageSpec] = {
    "home": PageSpec("home", lambda u, i: "/", lambda u: f"Hi, {u}!"),
    "explore": PageSpec("explore", lambda u, i: "/explore", lambda u: f'data-username="{u}"'),
    "profile": PageSpec("profile", lambda u, i: f"/user/{u}", lambda u: f'data-username="{u}"'),
    # the JSON API (GETs accept the login cookie too): one user document
    "api_user": PageSpec("api_user", lambda u, i: f"/api/users/{i}", lambda u: f'"{u}"'),
}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--duration", type=int, default=15, help="seconds of wrk per page")
    parser.add_argument("--connections", type=int, default=32, help="wrk connections")
    parser.add_argument("--threads", type=int, default=2, help="wrk threads")
    parser.add_argument("--warmup", type=int, default=3,
                        help="seconds of unmeasured load per page first (pool, templates)")
    parser.add_argument("--pages", default=",".join(PAGES),
                        help=f"comma-separated subset of {', '.join(PAGES)}")
    parser.add_argument("--users", type=int, default=1000)
    parser.add_argument("--posts", type=int, default=100_000)
    parser.add_argument("--follows", type=int, default=50)
    add_common_options(parser, profile="the server during each measured run")
    args = parser.parse_args(argv)
    args.pages = [p.strip() for p in args.pages.split(",") if p.strip()]
    unknown = [p for p in args.pages if p not in PAGES]
    if unknown or not args.pages:
        parser.error(f"--pages: unknown {unknown or 'empty'}; choose from {', '.join(PAGES)}")
    if args.duration < 1 or args.connections < 1 or args.threads < 1 or args.warmup < 0:
        parser.error("--duration, --connections and --threads must be positive")
    return args


async def pick_user(database_url: str) -> tuple[str, int, int]:
    """The seeded user whose home timeline has the most posts from followed users: (username,
    id, posts from followed users)."""
    async with database(database_url) as conn:
        row = await conn.fetchrow(
            "SELECT u.username, u.id, count(p.id) AS n FROM users u "
            "JOIN follows f ON f.follower_id = u.id JOIN posts p ON p.author_id = f.followed_id "
            "GROUP BY u.id, u.username ORDER BY n DESC, u.id LIMIT 1")
        if row is None:  # no follows at all: any user will do
            row = await conn.fetchrow(
                "SELECT username, id, 0 AS n FROM users ORDER BY id LIMIT 1")
    if row is None:
        raise BenchError("the seeded database has no users")
    return str(row["username"]), int(row["id"]), int(row["n"])


def check_page(server: Server, path: str, cookie: str, marker: str) -> int:
    """One GET must answer 200 with the signed-in content; returns the body size."""
    response = httpx.get(server.url + path, headers={"Cookie": cookie}, timeout=30.0,
                         follow_redirects=False)
    if response.status_code != 200:
        raise BenchError(f"GET {path} answered {response.status_code} "
                         f"(location: {response.headers.get('location')})")
    if marker not in response.text:
        raise BenchError(f"GET {path} is not the signed-in page: {marker!r} is missing")
    return len(response.content)


# where the server's time goes, for the py-spy summary (first match wins)
PHASES: Phases = [
    ("view: template rendering (Jinja, filters, url_for, forms)", ("render_template",)),
    ("before_request hooks (user lookup, CSRF, locale)", ("preprocess_request",)),
    ("view: ORM / database", ("dispatch_request", "tortoise/")),
    ("view: ORM / database", ("dispatch_request", "asyncpg/")),
    ("view: other", ("dispatch_request",)),
    ("after_request hooks, response", ("finalize_request",)),
    ("request context, session cookie", ("RequestContext",)),
    ("Hypercorn, h11, ASGI", ("hypercorn/",)),
]


@dataclass(frozen=True)
class Row:
    page: str
    path: str
    size: int
    result: WrkResult


def measure(server: Server, spec: PageSpec, username: str, user_id: int, cookie: str,
            args: argparse.Namespace, profiles: list[str]) -> Row:
    path = spec.path(username, user_id)
    size = check_page(server, path, cookie, spec.marker(username))
    url = server.url + path
    if args.warmup:
        run_wrk(url, cookie, args.warmup, args.connections, args.threads)
    log(f"{spec.name}: wrk -t{args.threads} -c{args.connections} -d{args.duration}s {path}")
    with profiled(args.profile_dir, server.process.pid, f"pages-{spec.name}", PHASES, profiles):
        result = run_wrk(url, cookie, args.duration, args.connections, args.threads)
    # the login must still hold after the run: wrk counts a 302 to /auth/login as a success
    check_page(server, path, cookie, spec.marker(username))
    return Row(spec.name, path, size, result)


def print_table(rows: list[Row], args: argparse.Namespace, username: str, timeline: int,
                notes: list[str]) -> None:
    print()
    print(f"pages for signed-in user {username!r} ({timeline} posts from followed users); "
          f"seed: {args.users} users, {args.posts} posts, {args.follows} follows each")
    print(f"wrk -t{args.threads} -c{args.connections} -d{args.duration}s "
          f"(after {args.warmup}s warm-up); one `microblog serve` process; "
          f"nproc={len(os.sched_getaffinity(0))}")
    print("note: the server, PostgreSQL, Redis and wrk all share this machine's CPUs")
    if args.profile_dir:
        print("note: py-spy was sampling the server, so these figures are somewhat low")
    for note in notes:
        print(f"      {note}")
    header = f"{'page':<9} {'path':<28} {'KiB':>6} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8} " \
             f"{'errors':>7}"
    print(header)
    print("-" * len(header))
    for row in rows:
        r = row.result
        errors = f"{r.errors}" if not r.errors else \
            f"{r.errors} ({r.non_2xx_3xx} non-2xx/3xx, {r.socket_errors} socket)"
        print(f"{row.page:<9} {row.path[:28]:<28} {row.size / 1024:>6.1f} "
              f"{r.requests_per_s:>9.1f} {r.p50_ms:>8.1f} {r.p99_ms:>8.1f} {errors:>7}")


def write_json(rows: list[Row], args: argparse.Namespace, username: str, timeline: int) -> None:
    figures = {"user": username, "timeline_posts": timeline, "pages": {
        row.page: {"path": row.path, "kib": round(row.size / 1024, 1),
                   "requests": row.result.requests,
                   "requests_per_s": row.result.requests_per_s, "p50_ms": row.result.p50_ms,
                   "p99_ms": row.result.p99_ms, "errors": row.result.errors} for row in rows}}
    errors = sum(row.result.errors for row in rows)
    targets = [target("errors, all pages", "0", errors, not errors)]
    home = next((row.result for row in rows if row.page == "home"), None)
    if home is not None:
        targets[:0] = [
            target("home", f">= {TARGET_HOME_RPS:g} req/s", home.requests_per_s,
                   home.requests_per_s >= TARGET_HOME_RPS, "req/s"),
            target("home p99", f"< {TARGET_HOME_P99_MS:g} ms", home.p99_ms,
                   home.p99_ms < TARGET_HOME_P99_MS, "ms")]
    headline = "; ".join(f"{row.page} {row.result.requests_per_s:.0f} req/s "
                         f"p99 {row.result.p99_ms:.0f} ms" for row in rows)
    write_result(args.json, "pages", args, figures, targets, headline)


def run(args: argparse.Namespace) -> int:
    if shutil.which("wrk") is None:
        print("bench/pages.py needs wrk (https://github.com/wg/wrk); `make bench` installs it, "
              "or `apt-get install wrk` / `brew install wrk`", file=sys.stderr)
        return 2
    require_py_spy(args.profile_dir)
    with ExitStack() as stack:
        bench = bench_environment(stack, "pages", args.embedded)
        log(f"seeding {args.users} users, {args.posts} posts, {args.follows} follows each…")
        started = time.monotonic()
        output = run_cli(bench.settings, "seed", "--users", str(args.users), "--posts",
                         str(args.posts), "--follows", str(args.follows), "--messages", "0",
                         timeout=900)
        seeded = [line for line in output.splitlines() if line.startswith("seeded ")]
        log(seeded[-1] if seeded else f"seeded in {time.monotonic() - started:.1f}s")
        username, user_id, timeline = asyncio.run(pick_user(bench.database_url))
        server = serve(stack, bench, "serve")
        log(f"server ready at {server.url} (pid {server.process.pid}); signing in as {username}")
        cookie = login_cookie(server.url, username, PASSWORD)
        profiles: list[str] = []
        rows = [measure(server, PAGES[name], username, user_id, cookie, args, profiles)
                for name in args.pages]
        if server.process.poll() is not None:
            raise BenchError(f"the server exited during the run:\n{server.log_tail()}")
        print_table(rows, args, username, timeline, bench.services.description)
        for summary in profiles:
            print(summary)
        write_json(rows, args, username, timeline)
    return 0


if __name__ == "__main__":
    sys.exit(bench_main(run, parse_args))
