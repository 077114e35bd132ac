"""Throughput, latency and server CPU of the main pages for a signed-in user, measured with wrk.

    .venv/bin/python bench/pages.py [--duration 15] [--connections 32] [--rounds 3]
                                    [--pages home,explore]

Creates a throw-away database, seeds it (1000 users, 100k posts, 50 follows each), starts one
`microblog serve` instance, signs in through the login form, then runs wrk against each page
with the login cookies, --rounds times, the pages taking turns (round-robin, each round
starting one page further on) so the host's drift hits every page alike. A Lua script checks
every response wrk gets: anything but a 200 with the signed-in content (a redirect to the login
page included, which wrk itself counts as a success) is an error. Prints every run, then per
page the median and range of requests/s and p99, and the server's CPU time per request (utime +
stime of the `microblog serve` process from /proc/<pid>/stat over the run, divided by the
requests wrk completed), the figure that stays put when the host's speed drifts. Everything it
created is removed at the end; it exits 1 when any response was wrong.

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
import statistics
import sys
import time
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # `python bench/pages.py`

from bench.common import (  # noqa: E402 - after the sys.path line above
    BenchError,
    CpuWatch,
    Phases,
    ResponseCheck,
    WrkResult,
    add_common_options,
    bench_environment,
    bench_main,
    cpu_seconds,
    database,
    log,
    profiled,
    require_py_spy,
    response_check_script,
    run_wrk,
    run_wrk_checked,
    serve,
    target,
    write_result,
)
from microblog.testing import Server, login_cookie, run_cli  # noqa: E402

PASSWORD = "password"  # noqa: S105 - `microblog seed` gives every user this password
TARGET_HOME_RPS = 800.0  # issue 1: home timeline >= 800 requests/s with p99 < 100 ms
TARGET_HOME_P99_MS = 100.0
# issue 16: <= 1.2 ms of server CPU per home page; explore and profile >= 1,000 requests/s,
# GET /api/users/{id} >= 2,500
TARGET_HOME_CPU_MS = 1.2
TARGET_RPS = {"explore": 1000.0, "profile": 1000.0, "api_user": 2500.0}


@dataclass(frozen=True)
class PageSpec:
    name: str
    path: Callable[[str, int], str]  # (username, user id) -> path
    marker: Callable[[str], str]  # username -> text a signed-in response must contain


PAGES: dict[str, PageSpec] = {
    # the framework's floor: the same cookies through the same server and middleware to a
    # handler that does nothing (issue 16's yardstick: each page within about 2x of it)
    "floor": PageSpec("floor", lambda u, i: "/healthz", lambda u: '"ok"'),
    "home": PageSpec("home", lambda u, i: "/", lambda u: f"Hi, {u}!"),
    "explore": PageSpec("explore", lambda u, i: "/explore", lambda u: f'data-username="{u}"'),
    "profile": PageSpec("profile", lambda u, i: f"/user/{u}", lambda u: f'data-username="{u}"'),
    # the JSON API (GETs accept the login cookie too): one user document
    "api_user": PageSpec("api_user", lambda u, i: f"/api/users/{i}", lambda u: f'"{u}"'),
}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--duration", type=int, default=15,
                        help="seconds of wrk per page and round")
    parser.add_argument("--rounds", type=int, default=3,
                        help="measured runs of each page, the pages taking turns; the median "
                             "and range over them are printed (issue 16 asks for 3 or more)")
    parser.add_argument("--connections", type=int, default=32, help="wrk connections")
    parser.add_argument("--threads", type=int, default=2, help="wrk threads")
    parser.add_argument("--warmup", type=int, default=3,
                        help="seconds of unmeasured load per page before the first round "
                             "(pool, templates, caches)")
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
    if args.duration < 1 or args.connections < 1 or args.threads < 1 or args.warmup < 0 \
            or args.rounds < 1:
        parser.error("--duration, --connections, --threads and --rounds must be positive")
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
class Run:
    """One measured wrk run of one page."""
    round: int
    page: str
    result: WrkResult
    check: ResponseCheck
    server_cpu_s: float  # utime + stime of the server process during the run
    other_cpus: float  # CPUs busy outside the server, PostgreSQL, Redis and wrk meanwhile

    @property
    def cpu_ms_per_request(self) -> float:
        return 1000.0 * self.server_cpu_s / self.result.requests if self.result.requests \
            else float("nan")

    @property
    def errors(self) -> int:
        """Responses that were not the signed-in page (wrk's own count of >= 400 is a subset
        of the script's not-200, unless the script saw fewer) and socket errors."""
        return max(self.result.non_2xx_3xx, self.check.not_200) + self.check.missing_text \
            + max(0, self.check.requests - self.check.checked) + self.result.socket_errors


@dataclass
class Page:
    """A page's runs over the rounds."""
    spec: PageSpec
    path: str
    marker: str
    size: int
    script: Path
    runs: list[Run] = field(default_factory=list)

    @property
    def name(self) -> str:
        return self.spec.name

    def spread(self, value: Callable[[Run], float]) -> tuple[float, float, float]:
        """(median, min, max) of a figure over the rounds."""
        values = [value(run) for run in self.runs]
        return statistics.median(values), min(values), max(values)

    @property
    def rps(self) -> tuple[float, float, float]:
        return self.spread(lambda r: r.result.requests_per_s)

    @property
    def p99(self) -> tuple[float, float, float]:
        return self.spread(lambda r: r.result.p99_ms)

    @property
    def p50(self) -> tuple[float, float, float]:
        return self.spread(lambda r: r.result.p50_ms)

    @property
    def cpu_ms(self) -> tuple[float, float, float]:
        return self.spread(lambda r: r.cpu_ms_per_request)

    @property
    def errors(self) -> int:
        return sum(run.errors for run in self.runs)


def prepare(server: Server, spec: PageSpec, username: str, user_id: int, cookie: str,
            directory: Path) -> Page:
    """The page answers the signed-in content once, and its wrk check script is written."""
    path = spec.path(username, user_id)
    marker = spec.marker(username)
    size = check_page(server, path, cookie, marker)
    return Page(spec, path, marker, size,
                response_check_script(directory, f"check-{spec.name}", marker))


def measure(server: Server, page: Page, round_no: int, cookie: str, args: argparse.Namespace,
            profiles: list[str]) -> Run:
    """One measured wrk run of `page`, every response checked, the server's CPU time read
    from /proc around it."""
    log(f"round {round_no}/{args.rounds} {page.name}: wrk -t{args.threads} "
        f"-c{args.connections} -d{args.duration}s {page.path}")
    pid = server.process.pid
    with profiled(args.profile_dir, pid, f"pages-{page.name}-round{round_no}", PHASES,
                  profiles), CpuWatch({"server": pid}) as watch:
        before = cpu_seconds(pid)
        result, check = run_wrk_checked(server.url + page.path, cookie, args.duration,
                                        args.connections, args.threads, page.script)
        server_cpu = cpu_seconds(pid) - before
    run = Run(round_no, page.name, result, check, server_cpu, watch.foreign)
    log(f"  {result.requests_per_s:.1f} req/s, p99 {result.p99_ms:.1f} ms, "
        f"{run.cpu_ms_per_request:.2f} ms server CPU per request, {run.errors} errors"
        + (f" (first: {check.first_bad})" if check.first_bad else ""))
    # the login must still hold after the run (the script counted every response already;
    # this stops the benchmark when the session is gone, as every later figure would be void)
    check_page(server, page.path, cookie, page.marker)
    return run


def rounds_order(pages: list[Page], round_no: int) -> list[Page]:
    """Round-robin, each round starting one page further on: no page always follows the
    same one or always comes first."""
    shift = (round_no - 1) % len(pages)
    return pages[shift:] + pages[:shift]


def _spread(figures: tuple[float, float, float], digits: int = 0) -> str:
    median, low, high = figures
    return f"{median:.{digits}f} ({low:.{digits}f}-{high:.{digits}f})"


def _errors(run: Run) -> str:
    if not run.errors:
        return "0"
    c, r = run.check, run.result
    parts = [f"{c.not_200} not 200"]
    if c.login_redirects:
        parts.append(f"{c.login_redirects} to login")
    if c.missing_text:
        parts.append(f"{c.missing_text} without the signed-in text")
    if r.non_2xx_3xx:
        parts.append(f"wrk: {r.non_2xx_3xx} non-2xx/3xx")
    if r.socket_errors:
        parts.append(f"{r.socket_errors} socket")
    if c.checked < c.requests:
        parts.append(f"{c.requests - c.checked} unchecked")
    return f"{run.errors} ({', '.join(parts)})"


def print_table(pages: list[Page], runs: list[Run], args: argparse.Namespace, username: str,
                timeline: int, notes: list[str]) -> None:
    """Every run in the order they ran, then per page the median and range over the rounds."""
    print()
    print(f"pages for signed-in user {username!r} ({timeline} posts from followed users); "
          f"seed: {args.users} users, {args.posts} posts, {args.follows} follows each")
    print(f"wrk -t{args.threads} -c{args.connections} -d{args.duration}s per run, "
          f"{args.rounds} round(s) with the pages taking turns (after {args.warmup}s warm-up "
          f"per page); one `microblog serve` process; nproc={len(os.sched_getaffinity(0))}")
    print("every response checked by a wrk Lua script: a 200 with the signed-in text, or an "
          "error (a redirect to the login page included)")
    print("server CPU = utime + stime of the server process (/proc/<pid>/stat) during the run "
          "/ requests wrk completed")
    print("note: the server, PostgreSQL, Redis and wrk all share this machine's CPUs; "
          "\"other CPUs\" = busy outside them")
    if args.profile_dir:
        print("note: py-spy was sampling the server, so these figures are somewhat low")
    for note in notes:
        print(f"      {note}")

    print()
    header = f"{'round':>5} {'page':<9} {'requests':>9} {'req/s':>8} {'p50 ms':>7} " \
             f"{'p99 ms':>7} {'CPU ms/req':>10} {'other CPUs':>10}  errors"
    print(header)
    print("-" * len(header))
    for run in runs:
        r = run.result
        print(f"{run.round:>5} {run.page:<9} {r.requests:>9} {r.requests_per_s:>8.1f} "
              f"{r.p50_ms:>7.1f} {r.p99_ms:>7.1f} {run.cpu_ms_per_request:>10.2f} "
              f"{run.other_cpus:>10.2f}  {_errors(run)}")

    print()
    floor = next((page for page in pages if page.name == "floor"), None)
    header = f"{'page':<9} {'path':<24} {'KiB':>6} {'req/s median (range)':>22} " \
             f"{'p50 ms':>7} {'p99 ms median (range)':>22} " \
             f"{'server CPU ms/req (range)':>26} {'x floor':>7} {'errors':>7}"
    print(header)
    print("-" * len(header))
    for page in pages:
        ratio = f"{page.cpu_ms[0] / floor.cpu_ms[0]:.1f}" if floor is not None else "-"
        print(f"{page.name:<9} {page.path[:24]:<24} {page.size / 1024:>6.1f} "
              f"{_spread(page.rps):>22} {page.p50[0]:>7.1f} {_spread(page.p99):>22} "
              f"{_spread(page.cpu_ms, 2):>26} {ratio:>7} {page.errors:>7}")
    if floor is not None:
        print("x floor: the page's median server CPU per request over the floor's (GET /healthz "
              "with the same cookies), the figure host drift moves least")


def print_page_cache(server: Server) -> None:
    """The page cache's hits and misses over the whole run, from the server's /metrics."""
    response = httpx.get(server.url + "/metrics", timeout=30.0)
    counts: dict[str, dict[str, float]] = {}
    for line in response.text.splitlines():
        if line.startswith("page_cache_total{"):
            labels, value = line[len("page_cache_total{"):].split("} ")
            fields = dict(part.split("=") for part in labels.split(","))
            page, result = fields["page"].strip('"'), fields["result"].strip('"')
            counts.setdefault(page, {})[result] = float(value)
    print()
    for page, results in sorted(counts.items()):
        hits, total = results.get("hit", 0.0), sum(results.values())
        print(f"page cache {page}: {100 * hits / total:.2f}% hits of {total:.0f} lookups")


def write_json(pages: list[Page], args: argparse.Namespace, username: str,
               timeline: int) -> None:
    def spread(figures: tuple[float, float, float], key: str, digits: int) -> dict[str, float]:
        median, low, high = figures
        return {key: round(median, digits), f"{key}_min": round(low, digits),
                f"{key}_max": round(high, digits)}

    figures = {"user": username, "timeline_posts": timeline, "rounds": args.rounds, "pages": {
        page.name: {
            "path": page.path, "kib": round(page.size / 1024, 1),
            "requests": sum(run.result.requests for run in page.runs),
            **spread(page.rps, "requests_per_s", 1),
            "p50_ms": round(page.p50[0], 2),
            **spread(page.p99, "p99_ms", 2),
            **spread(page.cpu_ms, "server_cpu_ms_per_request", 3),
            "errors": page.errors,
            "runs": [{
                "round": run.round, "requests": run.result.requests,
                "requests_per_s": run.result.requests_per_s, "p50_ms": run.result.p50_ms,
                "p99_ms": run.result.p99_ms, "server_cpu_s": round(run.server_cpu_s, 3),
                "server_cpu_ms_per_request": round(run.cpu_ms_per_request, 3),
                "other_cpus": round(run.other_cpus, 2), "errors": run.errors,
                "non_2xx_3xx": run.result.non_2xx_3xx,
                "socket_errors": run.result.socket_errors,
                "checked": run.check.checked, "not_200": run.check.not_200,
                "login_redirects": run.check.login_redirects,
                "missing_text": run.check.missing_text,
                "first_bad": run.check.first_bad or None} for run in page.runs],
        } for page in pages}}
    errors = sum(page.errors for page in pages)
    targets = []
    by_name = {page.name: page for page in pages}
    home = by_name.get("home")
    if home is not None:
        targets += [
            target("home", f">= {TARGET_HOME_RPS:g} req/s", round(home.rps[0], 1),
                   home.rps[0] >= TARGET_HOME_RPS, "req/s"),
            target("home p99", f"< {TARGET_HOME_P99_MS:g} ms", round(home.p99[0], 1),
                   home.p99[0] < TARGET_HOME_P99_MS, "ms"),
            target("home server CPU", f"<= {TARGET_HOME_CPU_MS:g} ms/request",
                   round(home.cpu_ms[0], 2), home.cpu_ms[0] <= TARGET_HOME_CPU_MS,
                   "ms/request")]
    for name, goal in TARGET_RPS.items():
        page = by_name.get(name)
        if page is not None:
            targets.append(target(name, f">= {goal:,.0f} req/s", round(page.rps[0], 1),
                                  page.rps[0] >= goal, "req/s"))
    targets.append(target("errors, all pages", "0", errors, not errors))
    # medians over the rounds; bench/run_all.py's table and README.md quote this line
    headline = "; ".join(f"{page.name} {page.rps[0]:.0f} req/s p99 {page.p99[0]:.0f} ms"
                         for page in pages)
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
        pages = [prepare(server, PAGES[name], username, user_id, cookie, bench.tmp / "wrk")
                 for name in args.pages]
        if args.warmup:
            for page in pages:
                log(f"warm-up {page.name}: {args.warmup}s")
                run_wrk(server.url + page.path, cookie, args.warmup, args.connections,
                        args.threads)
        runs: list[Run] = []  # in the order they ran
        for round_no in range(1, args.rounds + 1):
            for page in rounds_order(pages, round_no):
                runs.append(measure(server, page, round_no, cookie, args, profiles))
                page.runs.append(runs[-1])
        if server.process.poll() is not None:
            raise BenchError(f"the server exited during the run:\n{server.log_tail()}")
        print_table(pages, runs, args, username, timeline, bench.services.description)
        print_page_cache(server)
        for summary in profiles:
            print(summary)
        write_json(pages, args, username, timeline)
    errors = sum(page.errors for page in pages)
    if errors:
        print(f"bench failed: {errors} response(s) were not the signed-in page or did not "
              "arrive (see the errors column)", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(bench_main(run, parse_args))
