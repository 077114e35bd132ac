"""On-demand translation: one call to the service when many readers ask at once, and the
latency of a cache hit under load.

    .venv/bin/python bench/translate.py [--provider microsoft|deepl|libretranslate]
                                        [--readers 100] [--instances 2] [--delay 0.5]
                                        [--connections 32] [--duration 20] [--quick]
                                        [--profile-dir DIR] [--json PATH]

1. Starts a stand-in of the translation service (microblog/testing_translators.py; Microsoft
   Translator by default, `--provider`) in this process, on an event loop of its own in a
   background thread, so it keeps answering while the bench waits for wrk. The real services
   are on the internet: the stand-in speaks their protocol on a loopback port.
2. Same services and throw-away database as the other benchmarks, migrated; starts
   `--instances` (2) `microblog serve` processes pointed at the stand-in (`settings_for`).
   Bulk-inserts one writer and `--readers` (100) readers with API tokens (distinct users: new
   translations are rate limited per user, `ratelimit.TRANSLATIONS`). The writer posts a
   Spanish text with `POST /api/posts`; its answer must say `language` "es".
3. Single flight: the stand-in waits `--delay` (0.5) s before each translation; each reader
   first reads the post (`GET /api/posts/{id}`, which opens its keep-alive connection), then
   all readers at once `POST /api/posts/{id}/translate` `{"lang": "en"}`, spread round-robin
   over the instances. Prints the status counts, how many translate requests the stand-in
   received (target: 1), each instance's `translations_total` outcomes from /metrics
   (translated / shared) and the latency of the readers' requests (p50 / p99 / max).
4. Cache hits: the translation is now stored; wrk (`-c --connections`, 32, for `--duration`,
   20 s, after `--warmup` s) sends that POST with one reader's token to the first instance
   (a Lua script: method, body, Content-Type, Authorization). Prints requests/s, p50 / p99
   (target p99 < 10 ms), errors (must be 0), the CPUs the server, PostgreSQL, Redis, the bench
   with wrk and the rest of the machine used, and that the stand-in saw no further call.
5. `--profile-dir DIR`: one more wrk run (not measured) while py-spy samples the instance, and
   a summary of where its time goes.

Exit code 0 unless something broke: a reader's answer that is not 200 with the expected
translation, wrk errors, the post not detected as Spanish, a server that exited. A missed
target is a figure ("MISSED"), not a failure. Everything it created is removed at the end,
also on errors, Ctrl-C and SIGTERM.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import shutil
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import aiohttp
import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # `python bench/translate.py`

from bench.common import (  # noqa: E402 - after the sys.path line above
    BenchError,
    BenchUser,
    CpuWatch,
    Phases,
    WrkResult,
    add_common_options,
    bench_environment,
    bench_main,
    insert_users,
    log,
    lua_string,
    percentile,
    profiled,
    require_py_spy,
    run_wrk,
    serve,
    target,
    write_result,
)
from microblog.testing import Server  # noqa: E402
from microblog.testing_translators import STANDINS, StandIn, settings_for  # noqa: E402

TARGET_CACHE_P99_MS = 10.0
TARGET_CALLS = 1
# long enough for the language detector to be sure it is Spanish
POST_BODY = "Hoy fuimos a la playa con los niños y comimos paella en el puerto."
TARGET_LANG = "en"
FULL = {"duration": 20, "warmup": 3}
QUICK = {"duration": 8, "warmup": 1}
PHASES: Phases = [
    ("token check (api_tokens + users query)", ("user_for_api_token",)),
    ("translation lookup (posts + translations query)", ("_lookup",)),
    ("request body validation (pydantic)", ("validate_request",)),
    ("view: other (locale, JSON response)", ("dispatch_request",)),
    ("after_request hooks, response", ("finalize_request",)),
    ("request context (routing, session)", ("RequestContext",)),
    ("Quart: other (ASGI connection, sending)", ("quart/",)),
    ("ASGI middlewares outside Quart (request id, metrics, Socket.IO)", ("microblog/",)),
    ("Hypercorn, h11", ("hypercorn/",)),
]
T = TypeVar("T")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--provider", choices=sorted(STANDINS), default="microsoft",
                        help="which service's stand-in translates (default: microsoft)")
    parser.add_argument("--readers", type=int, default=100,
                        help="readers asking for the same translation at once (100)")
    parser.add_argument("--instances", type=int, default=2,
                        help="`microblog serve` instances the readers are spread over (2)")
    parser.add_argument("--delay", type=float, default=0.5,
                        help="seconds the stand-in takes to translate in the single-flight "
                             "phase (0.5)")
    parser.add_argument("--connections", type=int, default=32, help="wrk connections (32)")
    parser.add_argument("--threads", type=int, default=2, help="wrk threads (2)")
    parser.add_argument("--duration", type=int, help=f"seconds of wrk ({FULL['duration']})")
    parser.add_argument("--warmup", type=int,
                        help=f"seconds of unmeasured wrk first ({FULL['warmup']})")
    parser.add_argument("--quick", action="store_true",
                        help="shorter wrk runs (" + ", ".join(
                            f"--{k} {v}" for k, v in QUICK.items()) + ")")
    add_common_options(parser, profile="the first instance during one more wrk run of cache "
                                       "hits, after the measured one")
    args = parser.parse_args(argv)
    for name, value in (QUICK if args.quick else FULL).items():
        if getattr(args, name) is None:  # an explicit value wins over --quick
            setattr(args, name, value)
    if min(args.readers, args.instances, args.connections, args.threads, args.duration) < 1 \
            or args.warmup < 0 or args.delay < 0:
        parser.error("--readers, --instances, --connections, --threads and --duration must "
                     "be positive; --warmup and --delay not negative")
    args.threads = min(args.threads, args.connections)  # wrk needs a connection per thread
    return args


# --- the stand-in, on its own event loop ---------------------------------------------------


class StandInThread:
    """A started stand-in served by an event loop in a background thread: it answers whatever
    the bench's main thread is doing (waiting for wrk, its own asyncio.run). `call` runs a
    function on that loop, where the stand-in's state lives."""

    def __init__(self, standin: StandIn) -> None:
        self.standin = standin
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="translator-stand-in",
                                       daemon=True)

    def __enter__(self) -> StandIn:
        self.thread.start()
        try:
            asyncio.run_coroutine_threadsafe(self.standin.start(), self.loop).result(15)
        except BaseException:
            self._stop_loop()
            raise
        return self.standin

    def __exit__(self, *exc: object) -> None:
        try:
            asyncio.run_coroutine_threadsafe(self.standin.stop(), self.loop).result(15)
        finally:
            self._stop_loop()

    def _stop_loop(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(15)
        if not self.thread.is_alive():
            self.loop.close()

    def call(self, function: Callable[[], T]) -> T:
        async def run() -> T:
            return function()

        return asyncio.run_coroutine_threadsafe(run(), self.loop).result(15)

    def translate_calls(self) -> int:
        return self.call(lambda: len(self.standin.translate_calls()))

    def set_delay(self, seconds: float) -> None:
        self.call(lambda: setattr(self.standin, "delay", seconds))


# --- set-up ----------------------------------------------------------------------------------


def create_post(url: str, writer: BenchUser) -> dict[str, Any]:
    response = httpx.post(url + "/api/posts", json={"body": POST_BODY},
                          headers={"Authorization": f"Bearer {writer.token}"}, timeout=60.0)
    if response.status_code != 201:
        raise BenchError(f"POST /api/posts answered {response.status_code}: "
                         f"{response.text[:300]}")
    post: dict[str, Any] = response.json()
    if post.get("language") != "es":
        raise BenchError(f"the post was detected as {post.get('language')!r}, not 'es': "
                         f"{response.text[:300]}")
    return post


def expected_answer(post_id: int, provider: str) -> dict[str, Any]:
    return {"id": post_id, "language": TARGET_LANG, "source_language": "es",
            "body": StandIn.translation(POST_BODY, TARGET_LANG), "provider": provider}


def answer_problem(status: int, text: str, expected: dict[str, Any]) -> str | None:
    """Why an answer is not the expected translation (None: it is)."""
    if status != 200:
        return f"{status}: {text[:200]}"
    try:
        body = json.loads(text)
    except ValueError:
        return f"200 but not JSON: {text[:200]}"
    wrong = {k: body.get(k) for k, v in expected.items() if body.get(k) != v}
    return f"200 but {wrong} (expected {expected})" if wrong else None


def translation_outcomes(url: str) -> Counter[str]:
    """This instance's translations_total by outcome (its /metrics; loopback is allowed)."""
    response = httpx.get(url + "/metrics", timeout=30.0)
    if response.status_code != 200:
        raise BenchError(f"GET /metrics answered {response.status_code}")
    found: Counter[str] = Counter()
    for match in re.finditer(r'^translations_total\{([^}]*)\}\s+([\d.e+]+)$', response.text,
                             re.MULTILINE):
        outcome = re.search(r'outcome="([^"]*)"', match.group(1))
        if outcome:
            found[outcome.group(1)] += int(float(match.group(2)))
    return found


# --- single flight -------------------------------------------------------------------------


def instance_name(n: int) -> str:
    return "ABCDEFGHIJKLMNOPQRSTUVWXYZ"[n] if n < 26 else str(n)


@dataclass
class Flight:
    readers: int
    instances: int
    delay: float
    statuses: Counter[int] = field(default_factory=Counter)
    problems: list[str] = field(default_factory=list)
    latencies_ms: list[float] = field(default_factory=list)  # sorted
    by_instance_ms: dict[str, list[float]] = field(default_factory=dict)  # sorted
    calls: int = 0
    outcomes: dict[str, dict[str, int]] = field(default_factory=dict)  # instance → outcome → n
    spread_ms: float = 0.0  # first to last request sent

    def p(self, q: float, values: list[float] | None = None) -> float:
        return percentile(self.latencies_ms if values is None else values, q)


async def _fire(servers: list[Server], readers: list[BenchUser], post_id: int,
                expected: dict[str, Any], flight: Flight) -> None:
    # aiohttp, not httpx: the client must send 100 requests in a few milliseconds
    timeout = aiohttp.ClientTimeout(total=60.0)
    sessions = [aiohttp.ClientSession(
        base_url=s.url, timeout=timeout,
        connector=aiohttp.TCPConnector(limit=0, force_close=False)) for s in servers]
    try:
        def session_of(n: int) -> tuple[str, aiohttp.ClientSession]:
            return instance_name(n % len(servers)), sessions[n % len(servers)]

        async def warm(n: int, reader: BenchUser) -> None:
            _name, session = session_of(n)
            async with session.get(f"/api/posts/{post_id}",
                                   headers={"Authorization": f"Bearer {reader.token}"}) as r:
                text = await r.text()
                if r.status != 200:
                    raise BenchError(f"GET /api/posts/{post_id} as {reader.username} answered "
                                     f"{r.status}: {text[:200]}")

        # each reader's keep-alive connection is open before the burst
        await asyncio.gather(*(warm(n, r) for n, r in enumerate(readers)))
        go = asyncio.Event()
        sent: list[float] = []

        async def ask(n: int, reader: BenchUser) -> tuple[str, float, int, str]:
            name, session = session_of(n)
            await go.wait()
            started = time.perf_counter()
            sent.append(started)
            async with session.post(f"/api/posts/{post_id}/translate",
                                    json={"lang": TARGET_LANG},
                                    headers={"Authorization": f"Bearer {reader.token}"}) as r:
                text = await r.text()
            return name, (time.perf_counter() - started) * 1000, r.status, text

        tasks = [asyncio.ensure_future(ask(n, r)) for n, r in enumerate(readers)]
        await asyncio.sleep(0.05)  # every task is waiting on the event
        go.set()
        results = await asyncio.gather(*tasks)
    finally:
        for session in sessions:
            await session.close()
    flight.spread_ms = (max(sent) - min(sent)) * 1000
    for name, ms, status, text in results:
        flight.statuses[status] += 1
        flight.latencies_ms.append(ms)
        flight.by_instance_ms.setdefault(name, []).append(ms)
        problem = answer_problem(status, text, expected)
        if problem:
            flight.problems.append(problem)
    flight.latencies_ms.sort()
    for values in flight.by_instance_ms.values():
        values.sort()


def single_flight(stand_in: StandInThread, servers: list[Server], readers: list[BenchUser],
                  post_id: int, expected: dict[str, Any], delay: float) -> Flight:
    flight = Flight(len(readers), len(servers), delay)
    before_calls = stand_in.translate_calls()
    before = [translation_outcomes(s.url) for s in servers]
    stand_in.set_delay(delay)
    try:
        asyncio.run(_fire(servers, readers, post_id, expected, flight))
    finally:
        stand_in.set_delay(0.0)
    time.sleep(0.2)  # a late call, if any, would be recorded by now
    flight.calls = stand_in.translate_calls() - before_calls
    for n, server in enumerate(servers):
        after = translation_outcomes(server.url)
        flight.outcomes[instance_name(n)] = {k: after[k] - before[n][k] for k in sorted(after)
                                 if after[k] - before[n][k]}
    return flight


# --- cache hits under load -------------------------------------------------------------------


def wrk_script(path: Path, token: str) -> None:
    body = json.dumps({"lang": TARGET_LANG}, separators=(",", ":"))
    path.write_text(
        'wrk.method = "POST"\n'
        f"wrk.body = {lua_string(body)}\n"
        'wrk.headers["Content-Type"] = "application/json"\n'
        f'wrk.headers["Authorization"] = {lua_string("Bearer " + token)}\n')


@dataclass
class CacheHits:
    single_ms: list[float]  # sequential requests on one connection, before wrk (sorted)
    wrk: WrkResult
    calls: int  # translate requests the stand-in received during the phase
    cpu: CpuWatch


def cache_hits(stand_in: StandInThread, server: Server, reader: BenchUser, post_id: int,
               expected: dict[str, Any], script: Path, args: argparse.Namespace,
               profiles: list[str]) -> CacheHits:
    path = f"/api/posts/{post_id}/translate"
    before_calls = stand_in.translate_calls()
    single: list[float] = []
    with httpx.Client(base_url=server.url, timeout=30.0,
                      headers={"Authorization": f"Bearer {reader.token}"}) as client:
        for _ in range(50):
            started = time.perf_counter()
            response = client.post(path, json={"lang": TARGET_LANG})
            single.append((time.perf_counter() - started) * 1000)
            problem = answer_problem(response.status_code, response.text, expected)
            if problem:
                raise BenchError(f"a cached translation answered {problem}")
    single.sort()
    log(f"one connection, 50 sequential cache hits: p50 {percentile(single, 50):.1f} ms, "
        f"max {single[-1]:.1f} ms")
    if args.warmup:
        log(f"wrk warm-up, {args.warmup} s")
        run_wrk(server.url + path, None, args.warmup, args.connections, args.threads,
                script=script)
    log(f"wrk -t{args.threads} -c{args.connections} -d{args.duration}s POST {path}")
    with CpuWatch({"server": server.process.pid}) as watch:
        result = run_wrk(server.url + path, None, args.duration, args.connections,
                         args.threads, script=script)
    if args.profile_dir is not None:
        seconds = min(args.duration, 10)
        log(f"profiling the instance during {seconds} s more of wrk (not measured)")
        with profiled(args.profile_dir, server.process.pid, "translate-cache-hit", PHASES,
                      profiles):
            run_wrk(server.url + path, None, seconds, args.connections, args.threads,
                    script=script)
    with httpx.Client(base_url=server.url, timeout=30.0) as client:
        response = client.post(path, json={"lang": TARGET_LANG},
                               headers={"Authorization": f"Bearer {reader.token}"})
        problem = answer_problem(response.status_code, response.text, expected)
    if problem:
        raise BenchError(f"after wrk, the cached translation answered {problem}")
    return CacheHits(single, result, stand_in.translate_calls() - before_calls, watch)


# --- report ----------------------------------------------------------------------------------


def targets_of(flight: Flight, hits: CacheHits, connections: int) -> list[dict[str, Any]]:
    p99 = hits.wrk.p99_ms
    return [
        target(f"provider calls, {flight.readers} readers at once", f"= {TARGET_CALLS}",
               flight.calls, flight.calls == TARGET_CALLS, "calls"),
        target(f"cache hit p99 at {connections} connections", f"< {TARGET_CACHE_P99_MS:g} ms",
               round(p99, 2), p99 < TARGET_CACHE_P99_MS, "ms"),
        target("errors under load", "0", hits.wrk.errors, not hits.wrk.errors),
    ]


def print_report(args: argparse.Namespace, flight: Flight, hits: CacheHits,
                 targets: list[dict[str, Any]], notes: list[str]) -> None:
    print()
    print(f"translate: stand-in of {args.provider} on loopback; {flight.instances} "
          f"`microblog serve` instance(s); nproc={len(os.sched_getaffinity(0))}")
    print("note: the servers, PostgreSQL, Redis, the stand-in and the clients share this machine")
    for note in notes:
        print(f"      {note}")
    statuses = ", ".join(f"{status}: {n}" for status, n in sorted(flight.statuses.items()))
    print()
    print(f"single flight: {flight.readers} readers (distinct users) POST translate at once, "
          f"round-robin over {flight.instances} instance(s), sent within "
          f"{flight.spread_ms:.0f} ms; the stand-in answers after {flight.delay:g} s")
    print(f"  statuses {statuses}; wrong answers {len(flight.problems)}")
    print(f"  translate requests the stand-in received: {flight.calls}")
    for name, outcomes in flight.outcomes.items():
        said = ", ".join(f"{k} {v}" for k, v in outcomes.items()) or "none"
        print(f"  instance {name} translations_total: {said}")
    total: Counter[str] = Counter()
    for outcomes in flight.outcomes.values():
        total.update(outcomes)
    print(f"  {total['translated']} reader(s) called the service, {total['shared']} shared "
          f"that call while it ran, {total['cached']} came after it was stored (cache hits)")
    if total["cached"] > total["shared"]:
        print("  (most readers came too late to overlap the call: a longer --delay makes the "
              "test harder)")
    print(f"  latency: p50 {flight.p(50):.0f} ms, p99 {flight.p(99):.0f} ms, "
          f"max {flight.latencies_ms[-1]:.0f} ms")
    for name, values in sorted(flight.by_instance_ms.items()):
        print(f"    instance {name} ({len(values)} readers): min {values[0]:.0f} ms, "
              f"p50 {flight.p(50, values):.0f} ms, max {values[-1]:.0f} ms")
    wrk = hits.wrk
    print()
    print(f"cache hits: 50 sequential requests on one connection: p50 "
          f"{percentile(hits.single_ms, 50):.1f} ms, max {hits.single_ms[-1]:.1f} ms")
    print(f"  wrk -t{args.threads} -c{args.connections} -d{args.duration}s on instance A: "
          f"{wrk.requests_per_s:,.0f} requests/s ({wrk.requests:,}), p50 {wrk.p50_ms:.2f} ms, "
          f"p99 {wrk.p99_ms:.2f} ms, errors {wrk.errors} ({wrk.non_2xx_3xx} non-2xx/3xx, "
          f"{wrk.socket_errors} socket)")
    print(f"  translate requests the stand-in received meanwhile: {hits.calls}")
    print(f"  CPU during wrk: {hits.cpu.line()}")
    foreign = hits.cpu.result.get("rest of machine", 0.0)
    if foreign > 0.15:
        print(f"  WARNING: processes outside this benchmark used {foreign:.2f} CPUs during "
              "wrk: the figures are not representative; run it again on a quiet machine")
    print()
    for t in targets:
        print(f"{'met   ' if t['met'] else 'MISSED'} {t['name']:<36} {t['target']:<9} "
              f"measured {t['measured']} {t['unit']}")


# --- the run ---------------------------------------------------------------------------------


def run(args: argparse.Namespace) -> int:
    if shutil.which("wrk") is None:
        print("bench/translate.py needs wrk (https://github.com/wg/wrk); `make bench` installs "
              "it (scripts/ensure-bench-tools.sh), or `apt-get install wrk`", file=sys.stderr)
        return 2
    require_py_spy(args.profile_dir)
    profiles: list[str] = []
    with ExitStack() as stack:
        stand_in = StandInThread(STANDINS[args.provider]())
        standin = stack.enter_context(stand_in)
        log(f"{type(standin).__name__} at {standin.url}")
        bench = bench_environment(stack, "translate", args.embedded, **settings_for(standin))
        servers = [serve(stack, bench, f"serve-{n}") for n in range(args.instances)]
        log("servers ready: " + ", ".join(f"{s.url} (pid {s.process.pid})" for s in servers))
        users = asyncio.run(insert_users(bench.database_url, args.readers + 1, "reader"))
        writer, readers = users[0], users[1:]
        post = create_post(servers[0].url, writer)
        post_id = int(post["id"])
        expected = expected_answer(post_id, args.provider)
        log(f"post {post_id} by {writer.username}, language {post['language']!r}; "
            f"{len(readers)} readers")

        flight = single_flight(stand_in, servers, readers, post_id, expected, args.delay)
        for problem in flight.problems[:5]:
            log(f"wrong answer: {problem}")

        script = bench.tmp / "translate.lua"
        wrk_script(script, readers[0].token)
        hits = cache_hits(stand_in, servers[0], readers[0], post_id, expected, script, args,
                          profiles)
        for server in servers:
            if server.process.poll() is not None:
                raise BenchError(f"a server exited during the run:\n{server.log_tail()}")
        targets = targets_of(flight, hits, args.connections)
        print_report(args, flight, hits, targets, bench.services.description)
        for report in profiles:
            print(report)
        figures = {
            "single_flight": {
                "readers": flight.readers, "instances": flight.instances,
                "delay_s": flight.delay, "statuses": dict(flight.statuses),
                "wrong_answers": len(flight.problems), "provider_calls": flight.calls,
                "outcomes": flight.outcomes, "sent_within_ms": round(flight.spread_ms, 1),
                "p50_ms": round(flight.p(50), 1), "p99_ms": round(flight.p(99), 1),
                "max_ms": round(flight.latencies_ms[-1], 1)},
            "cache_hits": {
                "sequential_p50_ms": round(percentile(hits.single_ms, 50), 2),
                "requests": hits.wrk.requests, "requests_per_s": hits.wrk.requests_per_s,
                "p50_ms": hits.wrk.p50_ms, "p99_ms": hits.wrk.p99_ms,
                "errors": hits.wrk.errors, "provider_calls": hits.calls,
                "cpus": hits.cpu.result},
        }
        headline = (f"{flight.calls} call(s) for {flight.readers} readers on "
                    f"{flight.instances} instance(s); cache hit {hits.wrk.requests_per_s:,.0f} "
                    f"req/s, p99 {hits.wrk.p99_ms:.1f} ms at -c{args.connections}")
        write_result(args.json, "translate", args, figures, targets, headline)
    broken = []
    if flight.problems or flight.calls < 1:
        broken.append(f"{len(flight.problems)} of {flight.readers} readers got a wrong answer"
                      if flight.problems else "no reader's request reached the stand-in")
    if hits.wrk.errors:
        broken.append(f"{hits.wrk.errors} errors under wrk")
    if hits.calls:
        broken.append(f"{hits.calls} translate request(s) for a cached translation")
    if broken:
        print("bench failed: " + "; ".join(broken), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(bench_main(run, parse_args))
