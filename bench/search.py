"""Full-text search: seeding and reindexing a large database, query latency, throughput under
load and how soon a new post is found.

    .venv/bin/python bench/search.py [--posts 1000000] [--users 10000] [--requests 200]
                                     [--duration 15] [--connections 32] [--quick]

1. Creates a throw-away database (migrated) and Redis namespace, seeds it with `microblog seed`
   (multilingual posts with hashtags, mentions and a long tail of rare words; the database
   indexes them as they are copied) and times it, then times `microblog search reindex`.
2. Starts one `microblog serve` and a `microblog worker`, and gets an API token
   (`POST /api/tokens`, HTTP Basic, a seeded user).
3. Latency: for each kind of query (a rare word, a common word sorted by latest and by top, a
   phrase, a Chinese term, a typo, from:user, #tag, people and tag prefixes), --warmup
   unmeasured requests then --requests sequential `GET /api/search` ones: p50 / p99 / max.
   The words come from what the seed writes; their counts in the database are printed.
4. Throughput: wrk (-c --connections, --duration s) over a mix of those queries, a Lua
   script rotating the paths with the token: searches/s, p99, errors.
5. Freshness: --fresh posts through `POST /api/posts`, each with a unique word, then
   `GET /api/search?q=<word>` every 10 ms until it is found: p50 / max from the POST.

Targets (the search issue, 1,000,000 posts): common word sort=latest p99 < 50 ms, sort=top
p99 < 150 ms, >= 300 searches/s, reindex < 180 s, a new post found within 2 s. With --quick
(small sizes) the figures are a smoke test, not ones to quote.

Which PostgreSQL / Redis: as every benchmark (bench/README.md). Everything it created is
removed at the end, also on errors, Ctrl-C and SIGTERM.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import re
import shutil
import string
import sys
import time
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # `python bench/search.py`

from bench.common import (  # noqa: E402 - after the sys.path line above
    BenchError,
    CpuWatch,
    WrkResult,
    add_common_options,
    bench_environment,
    bench_main,
    database,
    log,
    lua_string,
    percentile,
    run_wrk,
    serve,
    target,
    write_result,
)
from microblog.seed import RARE_TAIL  # noqa: E402
from microblog.testing import run_cli, start_worker, stop_process  # noqa: E402

PASSWORD = "password"  # noqa: S105 - `microblog seed`'s default --password
TARGET_LATEST_P99_MS = 50.0
TARGET_TOP_P99_MS = 150.0
TARGET_SEARCHES_PER_S = 300.0
TARGET_REINDEX_S = 180.0
TARGET_FRESH_S = 2.0
# words the seed writes often (microblog/seed.py); the most frequent one is "the common word"
COMMON_CANDIDATES = ("coffee", "today", "morning")
PHRASE = '"farmers market"'
CHINESE = "北京"
PEOPLE_PREFIX = "qui"  # seeded usernames start with an adjective: quiet_…
TAG_PREFIX = "co"  # #coffee, #coding, #cooking…
RARE_HITS = (3, 15)  # "a handful" of posts at full size
FULL = {"posts": 1_000_000, "users": 10_000, "requests": 200, "warmup": 20, "duration": 15,
        "fresh": 20}
QUICK = {"posts": 20_000, "users": 500, "requests": 50, "warmup": 5, "duration": 5, "fresh": 5}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--posts", type=int, help=f"default {FULL['posts']:,}")
    parser.add_argument("--users", type=int, help=f"default {FULL['users']:,}")
    parser.add_argument("--follows", type=int, default=20, help="follows per seeded user")
    parser.add_argument("--requests", type=int,
                        help=f"measured sequential requests per query kind ({FULL['requests']})")
    parser.add_argument("--warmup", type=int,
                        help=f"unmeasured requests per query kind first ({FULL['warmup']})")
    parser.add_argument("--duration", type=int, help=f"seconds of wrk ({FULL['duration']})")
    parser.add_argument("--connections", type=int, default=32, help="wrk connections")
    parser.add_argument("--threads", type=int, default=2, help="wrk threads")
    parser.add_argument("--fresh", type=int,
                        help=f"posts timed until searchable ({FULL['fresh']})")
    parser.add_argument("--quick", action="store_true",
                        help="small sizes (" + ", ".join(f"--{k} {v}" for k, v in QUICK.items())
                        + "): a smoke test, not figures to quote")
    add_common_options(parser)
    args = parser.parse_args(argv)
    for name, value in (QUICK if args.quick else FULL).items():
        if getattr(args, name) is None:  # an explicit size wins over --quick
            setattr(args, name, value)
    if min(args.posts, args.users, args.requests, args.duration, args.connections,
           args.threads, args.fresh) < 1 or args.warmup < 0 or args.follows < 0:
        parser.error("sizes, --requests, --duration, --connections, --threads and --fresh "
                     "must be positive")
    return args


# --- seeding and reindexing ------------------------------------------------------------------


def seed_and_reindex(bench: Any, args: argparse.Namespace) -> dict[str, Any]:
    log(f"seeding {args.users:,} users, {args.posts:,} posts, {args.follows} follows each "
        "(the database indexes every post as it is copied)…")
    started = time.monotonic()
    output = run_cli(bench.settings, "seed", "--users", str(args.users), "--posts",
                     str(args.posts), "--follows", str(args.follows), "--messages", "0",
                     timeout=7200)
    seed_s = time.monotonic() - started
    seeded = [line for line in output.splitlines() if line.startswith("seeded ")]
    log(seeded[-1] if seeded else f"seeded in {seed_s:.1f}s")
    rate = re.search(r"\(([\d,]+) posts/s\)", seeded[-1] if seeded else "")
    log("microblog search reindex…")
    started = time.monotonic()
    output = run_cli(bench.settings, "search", "reindex", timeout=7200)
    reindex_s = time.monotonic() - started
    said = [line for line in output.splitlines() if line.startswith("reindexed ")]
    log(said[-1] if said else f"reindexed in {reindex_s:.1f}s")
    return {"seed_s": round(seed_s, 1),
            "seed_posts_per_s": int(rate.group(1).replace(",", "")) if rate else None,
            "reindex_s": round(reindex_s, 1),
            "reindex_posts_per_s": round(args.posts / reindex_s) if reindex_s else None}


# --- the queries -----------------------------------------------------------------------------


@dataclass
class Kind:
    name: str
    params: dict[str, str]
    note: str = ""  # how common it is, for the table
    hits: int | None = None  # total_items of the first answer
    suggestion: str | None = None
    times_ms: list[float] = field(default_factory=list)

    @property
    def path(self) -> str:
        return "/api/search?" + urlencode(self.params)

    def p(self, q: float) -> float:
        return percentile(sorted(self.times_ms), q)


def typo_of(word: str) -> str:
    """`word` with one letter in its middle changed (one edit away)."""
    i = len(word) // 2
    return word[:i] + ("x" if word[i] != "x" else "z") + word[i + 1:]


async def corpus_figures(database_url: str) -> dict[str, Any]:
    """Counts from the database that pick and describe the queries."""
    async with database(database_url) as conn:
        common = {}
        for word in COMMON_CANDIDATES:
            common[word] = int(await conn.fetchval(
                "SELECT count(*) FROM posts "
                "WHERE language = 'en' AND search @@ plainto_tsquery('mb_english', $1)", word))
        author = await conn.fetchrow(
            "SELECT u.username, c.n FROM (SELECT author_id, count(*) AS n FROM posts "
            "GROUP BY author_id ORDER BY n DESC LIMIT 1) c JOIN users u ON u.id = c.author_id")
        tag = await conn.fetchrow(
            "SELECT tag, count(*) AS n FROM post_tags GROUP BY tag ORDER BY n DESC, tag LIMIT 1")
        chinese = int(await conn.fetchval(
            "SELECT count(*) FROM posts WHERE search @@ $1::tsquery", f"'{CHINESE}'"))
        word = max(common, key=lambda w: common[w])
        typo = typo_of(word if len(word) >= 6 else "morning")
        typo_known = bool(await conn.fetchval(
            "SELECT EXISTS (SELECT 1 FROM search_words WHERE word = $1)", typo))
        people = int(await conn.fetchval(
            "SELECT count(*) FROM users WHERE username_key LIKE $1", PEOPLE_PREFIX + "%"))
        posts = int(await conn.fetchval("SELECT count(*) FROM posts"))
    if author is None or tag is None:
        raise BenchError("the seeded database has no posts or no hashtags")
    return {"posts": posts, "common_counts": common, "common": word,
            "author": str(author["username"]), "author_posts": int(author["n"]),
            "tag": str(tag["tag"]), "tag_posts": int(tag["n"]), "chinese_posts": chinese,
            "typo": typo, "typo_is_a_word": typo_known, "people_with_prefix": people}


def get_search(client: httpx.Client, params: dict[str, str]) -> dict[str, Any]:
    response = client.get("/api/search", params=params)
    if response.status_code != 200:
        raise BenchError(f"GET /api/search?{urlencode(params)} answered "
                         f"{response.status_code}: {response.text[:300]}")
    body: dict[str, Any] = response.json()
    if "items" not in body or "_meta" not in body:
        raise BenchError(f"GET /api/search answered no collection: {response.text[:300]}")
    return body


def pick_rare(client: httpx.Client, low: int, high: int) -> tuple[str, int]:
    """A word of the seed's rare tail that finds a handful of posts (between low and high when
    there is one, else the closest above zero), asked through the API itself."""
    candidates = list(RARE_TAIL)
    random.Random(4).shuffle(candidates)
    best: tuple[str, int] | None = None
    for word in candidates[:80]:
        meta = get_search(client, {"q": word.lower(), "per_page": "1"})["_meta"]
        if meta.get("suggestion"):
            continue  # not in any post: what was found is a correction's
        hits = int(meta["total_items"])
        if low <= hits <= high:
            return word.lower(), hits
        if hits and (best is None or abs(hits - low) < abs(best[1] - low)):
            best = (word.lower(), hits)
    if best is None:
        raise BenchError("no word of the seed's rare tail finds a post: is the seed's output "
                         "indexed?")
    return best


def build_kinds(corpus: dict[str, Any], rare: tuple[str, int]) -> list[Kind]:
    common = corpus["common"]
    n = corpus["common_counts"][common]
    return [
        Kind("rare word", {"q": rare[0]}, f"{rare[1]} posts"),
        Kind("common, latest", {"q": common, "sort": "latest"}, f"{n:,} posts"),
        Kind("common, top", {"q": common, "sort": "top"}, f"{n:,} posts"),
        Kind("phrase", {"q": PHRASE}),
        Kind("chinese", {"q": CHINESE}, f"{corpus['chinese_posts']:,} posts"),
        Kind("typo", {"q": corpus["typo"]}, f"of {common}"),
        Kind("from:user", {"q": f"from:{corpus['author']}"},
             f"{corpus['author_posts']:,} posts"),
        Kind("#tag", {"q": f"#{corpus['tag']}"}, f"{corpus['tag_posts']:,} posts"),
        Kind("people", {"q": PEOPLE_PREFIX, "type": "users"},
             f"{corpus['people_with_prefix']:,} users"),
        Kind("tags", {"q": TAG_PREFIX, "type": "tags"}),
    ]


def measure_latency(client: httpx.Client, kinds: list[Kind], args: argparse.Namespace) -> None:
    for kind in kinds:
        first = get_search(client, kind.params)
        kind.hits = int(first["_meta"]["total_items"])
        kind.suggestion = first["_meta"].get("suggestion")
        if kind.name == "typo" and not kind.hits:
            raise BenchError(f"the typo {kind.params['q']!r} found nothing and suggested "
                             f"{kind.suggestion!r}")
        for _ in range(args.warmup):
            get_search(client, kind.params)
        for _ in range(args.requests):
            started = time.perf_counter()
            get_search(client, kind.params)
            kind.times_ms.append((time.perf_counter() - started) * 1000)
        log(f"{kind.name:<15} {kind.params['q']!r}: p50 {kind.p(50):.1f} ms, "
            f"p99 {kind.p(99):.1f} ms ({kind.hits} hits)")


# --- throughput (wrk) ------------------------------------------------------------------------


def wrk_script(path: Path, paths: list[str], token: str) -> None:
    """Each wrk thread rotates over `paths` (each from another starting point) with the
    token."""
    path.write_text(
        "local paths = {" + ", ".join(lua_string(p) for p in paths) + "}\n"
        f'wrk.headers["Authorization"] = {lua_string("Bearer " + token)}\n'
        "local threads = 0\n"
        "local i = 0\n"
        "function setup(thread)\n"
        "  threads = threads + 1\n"
        "  thread:set(\"offset\", threads * 3)\n"
        "end\n"
        "function init(args)\n"
        "  i = offset or 0\n"
        "end\n"
        "function request()\n"
        "  i = i % #paths + 1\n"
        "  return wrk.format(nil, paths[i])\n"
        "end\n")


# --- freshness -------------------------------------------------------------------------------


def measure_freshness(client: httpx.Client, count: int, within: float = 10.0) -> list[float]:
    """Seconds from just before `POST /api/posts` to the first search that finds the post,
    after one unmeasured post (the server's first post loads the language detector)."""
    letters = random.Random()
    found: list[float] = []
    for n in range(count + 1):
        word = "fresh" + "".join(letters.choice(string.ascii_lowercase) for _ in range(10))
        started = time.perf_counter()
        response = client.post("/api/posts", json={"body": f"Freshness check {n}: {word}"})
        if response.status_code != 201:
            raise BenchError(f"POST /api/posts answered {response.status_code}: "
                             f"{response.text[:300]}")
        while True:
            if get_search(client, {"q": word})["items"]:
                found.append(time.perf_counter() - started)
                break
            if time.perf_counter() - started > within:
                raise BenchError(f"a new post was not found by search within {within:g}s")
            time.sleep(0.01)
    log("freshness (s): " + ", ".join(f"{s:.3f}" for s in found) + " (the first unmeasured)")
    return found[1:]


# --- report ----------------------------------------------------------------------------------


def print_table(args: argparse.Namespace, corpus: dict[str, Any], timings: dict[str, Any],
                kinds: list[Kind], wrk: WrkResult, mix: list[str], fresh: list[float],
                cpu: dict[str, CpuWatch], notes: list[str]) -> None:
    print()
    print(f"search: {corpus['posts']:,} posts, {args.users:,} users; one `microblog serve` "
          f"and one worker; nproc={len(os.sched_getaffinity(0))}")
    print("note: the server, worker, PostgreSQL, Redis and the clients share this machine")
    for note in notes:
        print(f"      {note}")
    print(f"seed      {timings['seed_s']:>8.1f} s   "
          f"({timings['seed_posts_per_s'] or 0:,} posts/s while copying the posts)")
    print(f"reindex   {timings['reindex_s']:>8.1f} s   "
          f"({timings['reindex_posts_per_s'] or 0:,} posts/s)")
    counts = ", ".join(f"{w} {n:,}" for w, n in corpus["common_counts"].items())
    print(f"common-word candidates (English posts): {counts}; typo {corpus['typo']!r} "
          f"{'IS' if corpus['typo_is_a_word'] else 'is not'} in the vocabulary")
    print()
    print(f"latency: {args.requests} sequential requests per query after {args.warmup} "
          "unmeasured ones")
    header = (f"{'query':<15} {'q':<24} {'corpus':>15} {'hits':>6} {'p50 ms':>8} "
              f"{'p99 ms':>8} {'max ms':>8}")
    print(header)
    print("-" * len(header))
    for kind in kinds:
        q = kind.params["q"] + (" (" + kind.params["type"] + ")" if "type" in kind.params
                                else "")
        hits = f"{kind.hits}" + ("*" if kind.suggestion else "")
        print(f"{kind.name:<15} {q[:24]:<24} {kind.note:>15} {hits:>6} {kind.p(50):>8.1f} "
              f"{kind.p(99):>8.1f} {max(kind.times_ms):>8.1f}")
    if any(k.suggestion for k in kinds):
        print("* with _meta.suggestion: " + "; ".join(
            f"{k.params['q']!r} -> {k.suggestion!r}" for k in kinds if k.suggestion))
    print("hits: total_items of the answer (search counts up to 1,000)")
    print()
    print(f"throughput: wrk -t{args.threads} -c{args.connections} -d{args.duration}s over "
          f"{len(mix)} queries in rotation: {wrk.requests_per_s:,.1f} searches/s, "
          f"p50 {wrk.p50_ms:.1f} ms, p99 {wrk.p99_ms:.1f} ms, errors {wrk.errors} "
          f"({wrk.non_2xx_3xx} non-2xx/3xx, {wrk.socket_errors} socket)")
    for phase, watch in cpu.items():
        print(f"CPU during {phase}: {watch.line()}")
        if watch.foreign > 0.15:
            print(f"  WARNING: processes outside this benchmark used {watch.foreign:.2f} CPUs "
                  f"during {phase}: its figures are not representative; run it again on a "
                  "quiet machine")
    print(f"freshness: {len(fresh)} posts, POST to found by search: "
          f"p50 {percentile(sorted(fresh), 50) * 1000:.0f} ms, max {max(fresh) * 1000:.0f} ms")
    print()
    for t in targets_of(kinds, wrk, timings, fresh):
        print(f"{'met   ' if t['met'] else 'MISSED'} {t['name']:<32} {t['target']:<12} "
              f"measured {t['measured']} {t['unit']}")
    if args.posts < 1_000_000:
        print(f"(the targets are for 1,000,000 posts; this run had {args.posts:,})")


def targets_of(kinds: list[Kind], wrk: WrkResult, timings: dict[str, Any],
               fresh: list[float]) -> list[dict[str, Any]]:
    by_name = {k.name: k for k in kinds}
    latest, top = by_name["common, latest"].p(99), by_name["common, top"].p(99)
    fresh_max = max(fresh)
    return [
        target("common word, latest p99", f"< {TARGET_LATEST_P99_MS:g} ms", round(latest, 1),
               latest < TARGET_LATEST_P99_MS, "ms"),
        target("common word, top p99", f"< {TARGET_TOP_P99_MS:g} ms", round(top, 1),
               top < TARGET_TOP_P99_MS, "ms"),
        target("throughput (mix)", f">= {TARGET_SEARCHES_PER_S:g}/s", wrk.requests_per_s,
               wrk.requests_per_s >= TARGET_SEARCHES_PER_S, "searches/s"),
        target("errors under load", "0", wrk.errors, not wrk.errors),
        target("reindex", f"< {TARGET_REINDEX_S:g} s", timings["reindex_s"],
               timings["reindex_s"] < TARGET_REINDEX_S, "s"),
        target("freshness, max", f"< {TARGET_FRESH_S:g} s", round(fresh_max, 3),
               fresh_max < TARGET_FRESH_S, "s"),
    ]


def write_json(args: argparse.Namespace, corpus: dict[str, Any], timings: dict[str, Any],
               kinds: list[Kind], wrk: WrkResult, mix: list[str], fresh: list[float],
               cpu: dict[str, CpuWatch]) -> None:
    ordered = sorted(fresh)
    figures = {
        **timings, "corpus": corpus,
        "latency": {k.name: {"q": k.params["q"], "type": k.params.get("type", "posts"),
                             "sort": k.params.get("sort", "latest"), "hits": k.hits,
                             "suggestion": k.suggestion, "corpus": k.note,
                             "p50_ms": round(k.p(50), 2), "p99_ms": round(k.p(99), 2),
                             "max_ms": round(max(k.times_ms), 2)} for k in kinds},
        "throughput": {"paths": mix, "requests": wrk.requests,
                       "searches_per_s": wrk.requests_per_s, "p50_ms": wrk.p50_ms,
                       "p99_ms": wrk.p99_ms, "errors": wrk.errors},
        "freshness": {"posts": len(fresh), "p50_s": round(percentile(ordered, 50), 3),
                      "max_s": round(ordered[-1], 3)},
        "cpus": {phase: {k: round(v, 2) for k, v in watch.result.items()}
                 for phase, watch in cpu.items()},
    }
    by_name = {k.name: k for k in kinds}
    headline = (f"{corpus['posts']:,} posts: {wrk.requests_per_s:.0f} searches/s; common "
                f"word p99 latest {by_name['common, latest'].p(99):.0f} ms, top "
                f"{by_name['common, top'].p(99):.0f} ms; reindex {timings['reindex_s']:.0f} s; "
                f"fresh in {ordered[-1] * 1000:.0f} ms max")
    write_result(args.json, "search", args, figures,
                 targets_of(kinds, wrk, timings, fresh), headline)


# --- the run ---------------------------------------------------------------------------------


def api_token(url: str, username: str) -> str:
    response = httpx.post(url + "/api/tokens", auth=(username, PASSWORD), timeout=30.0)
    if response.status_code != 200:
        raise BenchError(f"POST /api/tokens as {username} answered {response.status_code}: "
                         f"{response.text[:300]}")
    return str(response.json()["token"])


def run(args: argparse.Namespace) -> int:
    if shutil.which("wrk") is None:
        print("bench/search.py needs wrk (https://github.com/wg/wrk); `make bench` installs it, "
              "or `apt-get install wrk` / `brew install wrk`", file=sys.stderr)
        return 2
    with ExitStack() as stack:
        bench = bench_environment(stack, "search", args.embedded)
        timings = seed_and_reindex(bench, args)
        corpus = asyncio.run(corpus_figures(bench.database_url))
        log(f"corpus: {corpus}")
        worker = start_worker(bench.settings, log_path=bench.tmp / "worker.log")
        stack.callback(stop_process, worker)
        server = serve(stack, bench, "serve")
        log(f"server ready at {server.url} (pid {server.process.pid}); token for "
            f"{corpus['author']}")
        token = api_token(server.url, corpus["author"])
        client = stack.enter_context(httpx.Client(
            base_url=server.url, headers={"Authorization": f"Bearer {token}"}, timeout=30.0))
        low, high = RARE_HITS if args.posts >= 500_000 else (1, RARE_HITS[1])
        rare = pick_rare(client, low, high)
        kinds = build_kinds(corpus, rare)
        pids = {"server": server.process.pid, "worker": worker.pid}
        with CpuWatch(pids) as latency_cpu:
            measure_latency(client, kinds, args)

        mix = [k.path for k in kinds]
        script = bench.tmp / "search.lua"
        wrk_script(script, mix, token)
        log(f"wrk -t{args.threads} -c{args.connections} -d{args.duration}s over {len(mix)} "
            "queries (after a 3 s warm-up)")
        run_wrk(server.url, None, 3, args.connections, args.threads, script=script)
        with CpuWatch(pids) as wrk_cpu:
            wrk = run_wrk(server.url, None, args.duration, args.connections,
                          args.threads, script=script)

        log(f"freshness: {args.fresh} posts")
        fresh = measure_freshness(client, args.fresh)
        if server.process.poll() is not None:
            raise BenchError(f"the server exited during the run:\n{server.log_tail()}")
        cpu = {"latency": latency_cpu, "throughput": wrk_cpu}
        print_table(args, corpus, timings, kinds, wrk, mix, fresh, cpu,
                    bench.services.description)
        write_json(args, corpus, timings, kinds, wrk, mix, fresh, cpu)
    return 0


if __name__ == "__main__":
    sys.exit(bench_main(run, parse_args))
