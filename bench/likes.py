"""Likes at 500/s on one post: the like requests, and `post.stats` to the post's viewers.

    .venv/bin/python bench/likes.py [--rate 500] [--duration 10] [--users N] [--viewers 100]
                                    [--instances 1] [--connections 64] [--quick] [--json PATH]

1. Same services and throw-away database as the other benchmarks, migrated; starts
   `--instances` (1) `microblog serve` processes on one Redis namespace. Bulk-inserts
   (`common.insert_users`) one author, `--viewers` viewers and `--users` likers (by default
   rate x duration, so that every like comes from a different user: a like counts against
   its user's `ratelimit.REACTIONS`, 120 a minute), all with API tokens. The author posts
   with `POST /api/posts`.
2. Connects the author and `--viewers` (100) python-socketio clients (websocket, `auth`
   token) round-robin over the instances; each viewer sends `subscribe {stream:
   "post:<id>"}` and must get `{ok: true}` back. The author gets `post.stats` in its own
   room, and a grouped `like` notification per like.
3. Drives `--rate` (500) likes/s at the post for `--duration` (10) s, open loop: request n
   leaves at start + n / rate whether or not the earlier ones were answered, over an aiohttp
   pool of `--connections` (64) keep-alive connections (opened and warmed first), each
   request with its liker's bearer token: `POST /api/posts/{id}/like`. With fewer likers
   than likes, the likers cycle: a liker's second turn is `DELETE` (unlike), its third a
   like again, and so on.
4. Reports: likes/s achieved (answered 204 / the time from the first request sent to the
   last answer), latency p50 / p99 / max measured from each request's scheduled time (so
   waiting for a free pooled connection counts: no coordinated omission), statuses; per
   viewer, `post.stats` events per second while the likes were arriving (the design:
   one announcement per `engagement.STATS_WINDOW`, 0.3 s, per post, across instances; a
   claim of 0.25 s in Redis, so at most 4 a second), the gaps between them, the delay from
   the last like's answer to the final `post.stats`, and whether that final event's
   `like_count` equals `SELECT like_count FROM posts` (and count(*) of its likes, and what
   the answered requests imply). The CPUs the servers, PostgreSQL, Redis, the bench and
   the rest of the machine used while the likes were sent.

Everything shares one machine: the servers, PostgreSQL, Redis and this process's clients.
Exit code 0 unless something broke (a viewer that could not subscribe, counts that disagree,
a server that exited); a missed target is a figure ("MISSED"), not a failure. Everything it
created is removed at the end, also on errors, Ctrl-C and SIGTERM.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import sys
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # `python bench/likes.py`

import socketio  # noqa: E402

from bench.common import (  # noqa: E402 - after the sys.path line above
    BenchError,
    BenchUser,
    CpuWatch,
    add_common_options,
    bench_environment,
    bench_main,
    database,
    insert_users,
    log,
    percentile,
    serve,
    target,
    write_result,
)
from microblog.services.engagement import STATS_WINDOW  # noqa: E402
from microblog.testing import Server  # noqa: E402

TARGET_RATE = 500.0  # issue 15: a like at 500 likes/s on one post
# one announcement per STATS_WINDOW per post; across instances the Redis claim lasts 0.25 s,
# so a viewer gets at most 4 a second, whatever the rate of likes
MAX_STATS_PER_S = 4.0
MAX_FINAL_DELAY_MS = 1000.0  # the last like's counts reach the viewers within a window or so
REACTIONS_PER_MINUTE = 120  # ratelimit.REACTIONS
FULL = {"duration": 10.0, "viewers": 100}
QUICK = {"duration": 3.0, "viewers": 20}
POST_BODY = "A post everyone likes at once."


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--rate", type=float, default=TARGET_RATE,
                        help=f"likes per second offered, open loop ({TARGET_RATE:g})")
    parser.add_argument("--duration", type=float,
                        help=f"seconds of likes ({FULL['duration']:g})")
    parser.add_argument("--users", type=int, default=None,
                        help="likers (default: rate x duration, one like each); fewer cycle "
                             "through unlike and like again")
    parser.add_argument("--viewers", type=int,
                        help=f"Socket.IO clients watching the post's page ({FULL['viewers']})")
    parser.add_argument("--instances", type=int, default=1,
                        help="`microblog serve` instances; requests and viewers are spread "
                             "round-robin (1)")
    parser.add_argument("--connections", type=int, default=64,
                        help="keep-alive HTTP connections the likes share (64)")
    parser.add_argument("--settle-timeout", type=float, default=10.0,
                        help="seconds after the last answer to wait for every viewer's final "
                             "post.stats (10)")
    parser.add_argument("--quick", action="store_true",
                        help="a smoke run (" + ", ".join(
                            f"--{k} {v:g}" for k, v in QUICK.items()) + ")")
    add_common_options(parser)
    args = parser.parse_args(argv)
    for name, value in (QUICK if args.quick else FULL).items():
        if getattr(args, name) is None:  # an explicit value wins over --quick
            setattr(args, name, value)
    args.likes = max(1, round(args.rate * args.duration))
    if args.users is None:
        args.users = args.likes
    if min(args.rate, args.duration, args.users, args.instances, args.connections) <= 0 \
            or args.viewers < 0 or args.settle_timeout <= 0:
        parser.error("--rate, --duration, --users, --instances, --connections and "
                      "--settle-timeout must be positive; --viewers not negative")
    args.users = min(args.users, args.likes)
    # a liker likes on every other turn: its likes within the run must stay under the limit
    turns = -(-args.likes // args.users)  # ceil
    likes_each = (turns + 1) // 2
    if likes_each * 60 / max(args.duration, 60) > REACTIONS_PER_MINUTE:
        parser.error(f"--users {args.users}: each would like {likes_each} times in "
                     f"{args.duration:g} s, past the {REACTIONS_PER_MINUTE} a minute limit")
    return args


# --- the viewers -----------------------------------------------------------------------------


@dataclass
class Watcher:
    """A Socket.IO client and the `post.stats` it received: (monotonic time, like_count)."""

    name: str
    client: Any
    stats: list[tuple[float, int]] = field(default_factory=list)
    notifications: int = 0
    news: asyncio.Event = field(default_factory=asyncio.Event)  # set on each post.stats

    def last_count(self) -> int | None:
        return self.stats[-1][1] if self.stats else None


async def connect_watcher(name: str, url: str, token: str, post_id: int,
                          subscribe: bool) -> Watcher:
    client = socketio.AsyncClient(reconnection=False, logger=False, engineio_logger=False)
    watcher = Watcher(name, client)

    def on_stats() -> Callable[[dict[str, Any]], Awaitable[None]]:
        async def handler(data: dict[str, Any]) -> None:
            if isinstance(data, dict) and data.get("id") == post_id:
                watcher.stats.append((time.monotonic(), int(data["like_count"])))
                watcher.news.set()
        return handler

    async def on_notification(data: Any) -> None:
        watcher.notifications += 1

    client.on("post.stats", on_stats())
    client.on("notification", on_notification)
    await asyncio.wait_for(client.connect(url, auth={"token": token}, transports=["websocket"],
                                          wait_timeout=20), 30)
    if subscribe:
        ack = await client.call("subscribe", {"stream": f"post:{post_id}"}, timeout=20)
        if not (isinstance(ack, dict) and ack.get("ok")):
            await client.disconnect()
            raise BenchError(f"{name}: subscribe post:{post_id} answered {ack!r}")
    return watcher


async def connect_all(servers: list[Server], author: BenchUser, viewers: list[BenchUser],
                      post_id: int) -> list[Watcher]:
    """The author's socket first, then every viewer's, subscribed to the post's stream."""
    gate = asyncio.Semaphore(20)
    watchers: list[Watcher] = []

    async def one(n: int, user: BenchUser, subscribe: bool) -> None:
        async with gate:
            watchers.append(await connect_watcher(
                "author" if not subscribe else f"viewer {n}",
                servers[n % len(servers)].url, user.token, post_id, subscribe))

    await one(0, author, False)
    try:
        await asyncio.gather(*(one(n, v, True) for n, v in enumerate(viewers)))
    except BaseException:
        await disconnect_all(watchers)
        raise
    return watchers


async def disconnect_all(watchers: list[Watcher]) -> None:
    async def one(w: Watcher) -> None:
        with contextlib.suppress(Exception):
            await asyncio.wait_for(w.client.disconnect(), 5)

    await asyncio.gather(*(one(w) for w in watchers))


# --- the likes -------------------------------------------------------------------------------


@dataclass
class Drive:
    sent: int = 0
    statuses: Counter[str] = field(default_factory=Counter)  # "204", "429", "error: ..."
    likes_ok: int = 0  # likes answered 204
    unlikes_ok: int = 0
    latency_ms: list[float] = field(default_factory=list)  # from the scheduled time, sorted
    like_latency_ms: list[float] = field(default_factory=list)  # likes only, sorted
    send_lag_ms: list[float] = field(default_factory=list)  # sent after its time (bench lag)
    first_sent: float = 0.0
    last_sent: float = 0.0
    last_done: float = 0.0
    liking: set[int] = field(default_factory=set)  # likers whose last answered action is a like
    errors: list[str] = field(default_factory=list)

    @property
    def failed(self) -> int:
        return sum(n for status, n in self.statuses.items() if status != "204")

    @property
    def span(self) -> float:
        return max(self.last_done - self.first_sent, 1e-9)

    @property
    def likes_per_s(self) -> float:
        return self.likes_ok / self.span

    @property
    def sent_per_s(self) -> float:
        return self.sent / max(self.last_sent - self.first_sent, 1e-9) if self.sent > 1 \
            else 0.0


async def warm_pool(sessions: list[aiohttp.ClientSession], likers: list[BenchUser],
                    post_id: int, connections: int) -> None:
    """Opens the pools' connections (as many GETs at once as there are connections) and
    warms each instance's caches; these users' tokens are then known to the server."""

    async def get(n: int) -> None:
        session = sessions[n % len(sessions)]
        user = likers[n % len(likers)]
        async with session.get(f"/api/posts/{post_id}",
                               headers={"Authorization": f"Bearer {user.token}"}) as r:
            text = await r.text()
            if r.status != 200:
                raise BenchError(f"GET /api/posts/{post_id} answered {r.status}: {text[:200]}")

    for _ in range(2):
        await asyncio.gather(*(get(n) for n in range(connections)))


async def drive_likes(sessions: list[aiohttp.ClientSession], likers: list[BenchUser],
                      post_id: int, rate: float, total: int) -> Drive:
    drive = Drive()
    path = f"/api/posts/{post_id}/like"

    async def one(n: int, due: float) -> None:
        index = n % len(likers)
        user = likers[index]
        like = (n // len(likers)) % 2 == 0
        session = sessions[n % len(sessions)]
        started = time.monotonic()
        drive.send_lag_ms.append((started - due) * 1000)
        try:
            async with session.request("POST" if like else "DELETE", path,
                                       headers={"Authorization": f"Bearer {user.token}"}) as r:
                text = await r.text()
                status = str(r.status)
                if r.status != 204 and len(drive.errors) < 5:
                    drive.errors.append(f"{r.status}: {text[:200]}")
        except (aiohttp.ClientError, TimeoutError) as exc:
            status = f"error: {type(exc).__name__}"
            if len(drive.errors) < 5:
                drive.errors.append(f"{type(exc).__name__}: {exc}"[:200])
        done = time.monotonic()
        drive.statuses[status] += 1
        drive.last_done = max(drive.last_done, done)
        ms = (done - due) * 1000
        drive.latency_ms.append(ms)
        if status == "204":
            if like:
                drive.likes_ok += 1
                drive.like_latency_ms.append(ms)
                drive.liking.add(index)
            else:
                drive.unlikes_ok += 1
                drive.liking.discard(index)

    tasks: list[asyncio.Task[None]] = []
    start = time.monotonic() + 0.05
    drive.first_sent = start
    n = 0
    while n < total:
        now = time.monotonic()
        due = start + n / rate
        if due > now:
            await asyncio.sleep(due - now)
            continue
        while n < total and start + n / rate <= now:  # everything due by now leaves
            tasks.append(asyncio.ensure_future(one(n, start + n / rate)))
            n += 1
    drive.sent = n
    drive.last_sent = time.monotonic()
    await asyncio.gather(*tasks)
    drive.latency_ms.sort()
    drive.like_latency_ms.sort()
    drive.send_lag_ms.sort()
    return drive


# --- the run, in one event loop --------------------------------------------------------------


@dataclass
class Outcome:
    drive: Drive
    watchers: list[Watcher]
    db_like_count: int
    db_likes: int  # count(*) of the post's rows in likes
    settled: bool  # every watcher's last post.stats carries db_like_count
    cpu: CpuWatch
    connect_s: float


async def measure(args: argparse.Namespace, servers: list[Server], database_url: str,
                  author: BenchUser, viewers: list[BenchUser], likers: list[BenchUser],
                  post_id: int) -> Outcome:
    started = time.monotonic()
    watchers = await connect_all(servers, author, viewers, post_id)
    connect_s = time.monotonic() - started
    log(f"author and {len(viewers)} viewers connected in {connect_s:.1f} s, viewers "
        f"subscribed to post:{post_id}")
    per_instance = max(1, -(-args.connections // len(servers)))
    sessions = [aiohttp.ClientSession(
        base_url=s.url, timeout=aiohttp.ClientTimeout(total=60.0),
        connector=aiohttp.TCPConnector(limit=per_instance)) for s in servers]
    try:
        await warm_pool(sessions, likers, post_id, args.connections)
        await asyncio.sleep(1.0)  # post.stats of nothing: the warm-up changed no count
        for w in watchers:
            w.stats.clear()
            w.notifications = 0
        log(f"{args.likes} like requests at {args.rate:g}/s from {len(likers)} likers over "
            f"{args.connections} connections")
        with CpuWatch({f"serve-{n}": s.process.pid for n, s in enumerate(servers)}) as cpu:
            drive = await drive_likes(sessions, likers, post_id, args.rate, args.likes)
        async with database(database_url) as conn:
            db_like_count = int(await conn.fetchval(
                "SELECT like_count FROM posts WHERE id = $1", post_id))
            db_likes = int(await conn.fetchval(
                "SELECT count(*) FROM likes WHERE post_id = $1", post_id))

        async def until_final() -> None:
            for w in watchers:
                while w.last_count() != db_like_count:
                    w.news.clear()
                    await w.news.wait()

        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(until_final(), max(
                0.0, drive.last_done + args.settle_timeout - time.monotonic()))
        settled = all(w.last_count() == db_like_count for w in watchers)
        await asyncio.sleep(2 * STATS_WINDOW)  # anything later would be counted, and shown
        return Outcome(drive, watchers, db_like_count, db_likes, settled, cpu, connect_s)
    finally:
        for session in sessions:
            await session.close()
        await disconnect_all(watchers)


@dataclass
class StatsFigures:
    """What the viewers saw (the author's socket apart)."""

    per_s: list[float]  # each viewer's post.stats per second while the likes arrived, sorted
    gaps_ms: list[float]  # between consecutive post.stats of a viewer, all viewers, sorted
    final_delay_ms: list[float]  # last answer -> the final post.stats, per viewer, sorted
    wrong_final: int  # watchers (author included) whose last post.stats is not the count
    after_final: int  # post.stats received after the final one (same count again)
    author_stats: int
    author_final_delay_ms: float
    author_notifications: int


def final_arrival(stats: list[tuple[float, int]], final: int) -> tuple[float | None, int]:
    """When the post.stats that carried the final count arrived (the first of the run of
    events at the end that all carry it), and how many came after it."""
    index = len(stats)
    while index > 0 and stats[index - 1][1] == final:
        index -= 1
    if index == len(stats):
        return None, 0
    return stats[index][0], len(stats) - index - 1


def stats_figures(outcome: Outcome) -> StatsFigures:
    drive = outcome.drive
    final = outcome.db_like_count
    author, viewers = outcome.watchers[0], outcome.watchers[1:]
    per_s, gaps, delays = [], [], []
    wrong = after = 0
    for w in viewers:
        during = [t for t, _ in w.stats if drive.first_sent <= t <= drive.last_done]
        per_s.append(len(during) / drive.span)
        times = [t for t, _ in w.stats]
        gaps += [(b - a) * 1000 for a, b in zip(times, times[1:], strict=False)]
        arrived, later = final_arrival(w.stats, final)
        after += later
        if arrived is None or w.last_count() != final:
            wrong += 1
        else:
            delays.append((arrived - drive.last_done) * 1000)
    author_arrived, _later = final_arrival(author.stats, final)
    if author_arrived is None or author.last_count() != final:
        wrong += 1
    return StatsFigures(
        sorted(per_s), sorted(gaps), sorted(delays), wrong, after, len(author.stats),
        (author_arrived - drive.last_done) * 1000 if author_arrived is not None
        else float("nan"), author.notifications)


# --- report ----------------------------------------------------------------------------------


def counts_agree(outcome: Outcome) -> bool:
    """The post's like_count is its rows in likes and, when every request was answered,
    what the answers imply."""
    drive = outcome.drive
    implied_ok = drive.failed > 0 or len(drive.liking) == outcome.db_like_count
    return outcome.db_like_count == outcome.db_likes and implied_ok


def targets_of(args: argparse.Namespace, outcome: Outcome,
               figures: StatsFigures) -> list[dict[str, Any]]:
    drive = outcome.drive
    worst_rate = figures.per_s[-1] if figures.per_s else float("nan")
    worst_delay = figures.final_delay_ms[-1] if figures.final_delay_ms else float("nan")
    final_ok = figures.wrong_final == 0 and counts_agree(outcome)
    return [
        target(f"likes/s on one post, {args.rate:g}/s offered", f">= {0.95 * args.rate:g} /s",
               round(drive.likes_per_s, 1), drive.likes_per_s >= 0.95 * args.rate, "/s"),
        target("post.stats per viewer, worst", f"<= {MAX_STATS_PER_S:g} /s",
               round(worst_rate, 2), worst_rate <= MAX_STATS_PER_S, "/s"),
        target("last like -> final post.stats, worst", f"< {MAX_FINAL_DELAY_MS:g} ms",
               round(worst_delay), worst_delay < MAX_FINAL_DELAY_MS, "ms"),
        target("final post.stats like_count = posts.like_count", "all",
               f"{len(outcome.watchers) - figures.wrong_final}/{len(outcome.watchers)}",
               final_ok),
        target("failed like requests", "0", drive.failed, drive.failed == 0),
    ]


def print_report(args: argparse.Namespace, outcome: Outcome, figures: StatsFigures,
                 targets: list[dict[str, Any]], notes: list[str]) -> None:
    drive = outcome.drive
    print()
    print(f"likes: {args.instances} `microblog serve` instance(s); "
          f"nproc={len(os.sched_getaffinity(0))}")
    print("note: the servers, PostgreSQL, Redis and every client share this machine")
    for note in notes:
        print(f"      {note}")
    print()
    statuses = ", ".join(f"{s}: {n}" for s, n in sorted(drive.statuses.items()))
    print(f"like requests: {drive.sent} sent at {drive.sent_per_s:,.0f}/s (offered "
          f"{args.rate:g}/s) by {args.users} likers over {args.connections} connections; "
          f"statuses {statuses}")
    print(f"  achieved {drive.likes_per_s:,.1f} likes/s ({drive.likes_ok} likes, "
          f"{drive.unlikes_ok} unlikes answered 204 in {drive.span:.2f} s, first sent to last "
          f"answered)")
    print(f"  latency from the scheduled time: p50 {percentile(drive.latency_ms, 50):.1f} ms, "
          f"p99 {percentile(drive.latency_ms, 99):.1f} ms, max "
          f"{drive.latency_ms[-1] if drive.latency_ms else float('nan'):.1f} ms; the bench "
          f"sent late by p99 {percentile(drive.send_lag_ms, 99):.1f} ms")
    for error in drive.errors:
        print(f"  failed: {error}")
    print(f"  CPU while sending: {outcome.cpu.line()}")
    if outcome.cpu.foreign > 0.15:
        print(f"  WARNING: processes outside this benchmark used {outcome.cpu.foreign:.2f} CPUs: "
              "the figures are not representative; run it again on a quiet machine")
    print()
    print(f"post.stats to {args.viewers} viewers (subscribed to post:<id>, connected in "
          f"{outcome.connect_s:.1f} s) and the author; designed: one per "
          f"{STATS_WINDOW:g} s window per post, at most {MAX_STATS_PER_S:g}/s")
    if figures.per_s:
        print(f"  per viewer while the likes arrived: min {figures.per_s[0]:.2f}/s, median "
              f"{percentile(figures.per_s, 50):.2f}/s, max {figures.per_s[-1]:.2f}/s")
        print(f"  gap between two post.stats: min {percentile(figures.gaps_ms, 0):.0f} ms, "
              f"p50 {percentile(figures.gaps_ms, 50):.0f} ms, max "
              f"{percentile(figures.gaps_ms, 100):.0f} ms")
        print(f"  last like answered -> final post.stats: p50 "
              f"{percentile(figures.final_delay_ms, 50):.0f} ms, max "
              f"{percentile(figures.final_delay_ms, 100):.0f} ms "
              f"({len(figures.final_delay_ms)} viewers got it)")
    print(f"  author: {figures.author_stats} post.stats (final after "
          f"{figures.author_final_delay_ms:.0f} ms), {figures.author_notifications} "
          f"notification events")
    print(f"  post.stats after the final one (same count again): {figures.after_final}")
    print(f"  like_count: posts {outcome.db_like_count}, rows in likes {outcome.db_likes}, "
          f"implied by the answers {len(drive.liking)}; watchers whose last post.stats "
          f"disagrees: {figures.wrong_final}")
    print()
    for t in targets:
        print(f"{'met   ' if t['met'] else 'MISSED'} {t['name']:<48} {t['target']:<12} "
              f"measured {t['measured']} {t['unit']}")


def create_post(url: str, author: BenchUser) -> int:
    response = httpx.post(url + "/api/posts", json={"body": POST_BODY},
                          headers={"Authorization": f"Bearer {author.token}"}, timeout=60.0)
    if response.status_code != 201:
        raise BenchError(f"POST /api/posts answered {response.status_code}: "
                         f"{response.text[:300]}")
    return int(response.json()["id"])


def run(args: argparse.Namespace) -> int:
    with ExitStack() as stack:
        bench = bench_environment(stack, "likes", args.embedded)
        servers = [serve(stack, bench, f"serve-{n}") for n in range(args.instances)]
        log("servers ready: " + ", ".join(f"{s.url} (pid {s.process.pid})" for s in servers))
        users = asyncio.run(insert_users(bench.database_url, 1 + args.viewers + args.users,
                                         "liker"))
        author, viewers, likers = users[0], users[1:1 + args.viewers], users[1 + args.viewers:]
        post_id = create_post(servers[0].url, author)
        log(f"post {post_id} by {author.username}; {len(viewers)} viewers, {len(likers)} likers")
        try:
            import uvloop

            outcome = uvloop.run(measure(args, servers, bench.database_url, author, viewers,
                                         likers, post_id))
        except ImportError:
            outcome = asyncio.run(measure(args, servers, bench.database_url, author, viewers,
                                          likers, post_id))
        for server in servers:
            if server.process.poll() is not None:
                raise BenchError(f"a server exited during the run:\n{server.log_tail()}")
        figures = stats_figures(outcome)
        targets = targets_of(args, outcome, figures)
        print_report(args, outcome, figures, targets, bench.services.description)
        drive = outcome.drive
        result = {
            "likes": {
                "offered_per_s": args.rate, "sent": drive.sent,
                "sent_per_s": round(drive.sent_per_s, 1),
                "likes_ok": drive.likes_ok, "unlikes_ok": drive.unlikes_ok,
                "likes_per_s": round(drive.likes_per_s, 1),
                "statuses": dict(drive.statuses),
                "p50_ms": round(percentile(drive.latency_ms, 50), 1),
                "p99_ms": round(percentile(drive.latency_ms, 99), 1),
                "max_ms": round(percentile(drive.latency_ms, 100), 1),
                "send_lag_p99_ms": round(percentile(drive.send_lag_ms, 99), 1),
                "cpus": outcome.cpu.result},
            "post_stats": {
                "viewers": args.viewers, "window_s": STATS_WINDOW,
                "per_viewer_per_s": {
                    "min": round(percentile(figures.per_s, 0), 2),
                    "median": round(percentile(figures.per_s, 50), 2),
                    "max": round(percentile(figures.per_s, 100), 2)},
                "gap_ms": {"min": round(percentile(figures.gaps_ms, 0), 1),
                           "p50": round(percentile(figures.gaps_ms, 50), 1)},
                "final_delay_ms": {
                    "p50": round(percentile(figures.final_delay_ms, 50), 1),
                    "max": round(percentile(figures.final_delay_ms, 100), 1)},
                "after_final": figures.after_final,
                "author_stats": figures.author_stats,
                "author_final_delay_ms": round(figures.author_final_delay_ms, 1),
                "author_notifications": figures.author_notifications},
            "like_count": {"posts": outcome.db_like_count, "likes_rows": outcome.db_likes,
                           "implied": len(drive.liking),
                           "wrong_final_watchers": figures.wrong_final},
        }
        headline = (f"{drive.likes_per_s:,.0f} likes/s of {args.rate:g} offered, p99 "
                    f"{percentile(drive.latency_ms, 99):.0f} ms; post.stats "
                    f"{percentile(figures.per_s, 100):.1f}/s per viewer at most "
                    f"({args.viewers} viewers), final after "
                    f"{percentile(figures.final_delay_ms, 100):.0f} ms, "
                    f"like_count {'right' if not figures.wrong_final else 'WRONG'}")
        write_result(args.json, "likes", args, result, targets, headline)
    broken = []
    if not counts_agree(outcome):
        broken.append(f"like_count {outcome.db_like_count} but {outcome.db_likes} rows in "
                      f"likes and {len(outcome.drive.liking)} implied by the answers")
    if not outcome.settled:
        broken.append(f"{figures.wrong_final} watcher(s) never got post.stats with the final "
                      f"like_count within {args.settle_timeout:g} s")
    if broken:
        print("bench failed: " + "; ".join(broken), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(bench_main(run, parse_args))
