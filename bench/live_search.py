"""Live search matching: what one new post costs an instance with many open searches.

    .venv/bin/python bench/live_search.py [--queries 10,100,500] [--posts 200] [--embedded]
                                          [--json PATH]

For each number of open searches (distinct queries of distinct readers, as on one busy
instance: words, phrases, OR, exclusions, tags, from:, lang:), the instance's live search
(microblog.web.live_search.LiveSearch) matches --posts new posts, one at a time, exactly as
it does when the new post's id arrives from Redis: one SQL statement over every open query,
then a highlight and an emit per matching search. Reported: p50/p99 milliseconds per new
post, and how many searches matched. This is the figure behind the choice of one statement
per post over Elasticsearch's percolator (README.md, Architecture, Search).
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sys
import time
from contextlib import ExitStack
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import socketio  # noqa: E402
from tortoise.transactions import in_transaction  # noqa: E402

from bench.common import (  # noqa: E402
    add_common_options,
    bench_environment,
    bench_main,
    insert_users,
    log,
    percentile,
    target,
    write_result,
)
from microblog.db import close_db, init_db  # noqa: E402
from microblog.models import User  # noqa: E402
from microblog.services import posts  # noqa: E402
from microblog.web.live_search import LiveSearch  # noqa: E402

WORDS = ["river", "coffee", "garden", "music", "train", "bread", "rain", "book", "mountain",
         "guitar", "film", "market", "beach", "winter", "lantern", "festival", "bicycle"]
SHAPES = ["{a}", "{a} {b}", '"{a} {b}"', "{a} OR {b}", "{a} -{b}", "#{a}", "{a} lang:en",
          "from:reader000000 {a}", "café", "北京"]


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--queries", default="10,100,500")
    parser.add_argument("--posts", type=int, default=200)
    add_common_options(parser)
    return parser.parse_args()


async def measure(database_url: str, sizes: list[int], count: int) -> dict[str, dict[str, float]]:
    made = await insert_users(database_url, max(sizes) + 1, "reader", with_tokens=0)
    await init_db(database_url, 4)
    rng = random.Random(7)  # noqa: S311 - benchmark data
    try:
        writer, *readers = [await User.get(id=u.id) for u in made]
        figures: dict[str, dict[str, float]] = {}
        for size in sizes:
            live = LiveSearch(socketio.AsyncServer(async_mode="asgi"))
            for n, reader in enumerate(readers[:size]):
                a, b = rng.sample(WORDS, 2)
                q = rng.choice(SHAPES).format(a=a, b=b) + f" -x{n}"  # distinct per reader
                await live.subscribe(f"sid{n}", reader, q)
            timings = []
            for _ in range(count):
                a, b, c = rng.sample(WORDS, 3)
                async with in_transaction() as conn:
                    post, _mentioned = await posts.insert_post(
                        writer, f"Thinking about {a} and {b} near the {c} #{a}", conn)
                started = time.perf_counter()
                await live._match(post.id)
                timings.append((time.perf_counter() - started) * 1000)
            timings.sort()
            figures[str(size)] = {"p50_ms": percentile(timings, 50),
                                  "p99_ms": percentile(timings, 99)}
            log(f"{size:>4} open searches: p50 {figures[str(size)]['p50_ms']:.1f} ms, "
                f"p99 {figures[str(size)]['p99_ms']:.1f} ms per new post")
        return figures
    finally:
        await close_db()


def run(args: argparse.Namespace) -> int:
    sizes = [int(s) for s in args.queries.split(",")]
    with ExitStack() as stack:
        bench = bench_environment(stack, "live_search", embedded=args.embedded)
        figures = asyncio.run(measure(bench.database_url, sizes, args.posts))
    largest = figures[str(max(sizes))]
    print(f"\nlive search: {max(sizes)} open searches cost {largest['p99_ms']:.1f} ms p99 "
          f"per new post")
    write_result(args.json, "live_search", {"queries": sizes, "posts": args.posts}, figures,
                 [target("match p99 at the most searches", "< 50 ms", largest["p99_ms"],
                         largest["p99_ms"] < 50, "ms")],
                 headline=f"{largest['p99_ms']:.1f} ms p99 per post at {max(sizes)} searches")
    return 0


if __name__ == "__main__":
    sys.exit(bench_main(run, parse_args))
