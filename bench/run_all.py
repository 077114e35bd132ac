"""Run every benchmark in bench/ and print one table: what `make bench` runs.

    .venv/bin/python bench/run_all.py                  # full sizes, ~25-30 min on 2 cores
    .venv/bin/python bench/run_all.py --quick          # small sizes, a ~3 min smoke run
    .venv/bin/python bench/run_all.py --only pages,jobs
    .venv/bin/python bench/run_all.py --extra "fanout=--client raw --client-procs 2"
    make bench BENCH_ARGS="--quick --only jobs"

Each benchmark (pages, fanout, connections, chat, jobs, search, translate, likes, server) runs as
its own subprocess, one after the other, so a crash of one does not stop the others: it shows as
failed in the table. Each creates what it needs (a throw-away database, seeded or bulk-inserted,
and a Redis namespace) and removes it afterwards; PostgreSQL and Redis are BENCH_DATABASE_URL /
BENCH_REDIS_URL, else the servers on 127.0.0.1, else embedded ones (microblog/testing.py
`services`).

Written to --results (bench/results/): <benchmark>.json (bench/common.py `write_result`),
<benchmark>.log (its full output), summary.json and summary.md (the table, ready for README.md).
pages, search and translate need `wrk`, which this runner never installs (`make bench` does,
with scripts/ensure-bench-tools.sh): without it they are reported as not run.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import shutil
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # `python bench/run_all.py`

from bench.common import CLK_TCK, machine_info, raise_on_interrupt  # noqa: E402

BENCH_DIR = Path(__file__).resolve().parent


@dataclass(frozen=True)
class Benchmark:
    name: str
    script: str
    full: list[str]  # arguments of the full run (the benchmark's defaults are the sizes)
    quick: list[str]  # arguments of the smoke run
    needs_wrk: bool = False


BENCHMARKS = [
    # 1,000 users / 100,000 posts / 50 follows, wrk -c32 for 15 s per page (issue 1)
    Benchmark("pages", "pages.py", [],
              ["--users", "200", "--posts", "5000", "--follows", "20", "--duration", "3",
               "--warmup", "1"], needs_wrk=True),
    # 5,000 followers, 2,000 connected python-socketio clients on two instances, 10 posts/s
    # for 30 s (issue 2)
    Benchmark("fanout", "fanout.py", [],
              ["--followers", "400", "--connected", "200", "--client-procs", "2",
               "--rate", "5", "--duration", "4", "--drain-timeout", "15"]),
    # 5,000 idle authenticated sockets on one instance (issue 2)
    Benchmark("connections", "connections.py", [],
              ["--connections", "400", "--warmup", "50", "--client-procs", "2", "--hold", "2"]),
    # 500 pairs across two instances, 1 message/s per pair for 30 s (issue 4)
    Benchmark("chat", "chat.py", [],
              ["--pairs", "40", "--duration", "5", "--client-procs", "2"]),
    # a 100,000-post export, 1,000 follow emails, 1,000 pings (issue 5)
    Benchmark("jobs", "jobs.py", [],
              ["--posts", "10000", "--small-posts", "2000", "--emails", "100",
               "--single-emails", "5", "--pings", "200", "--idle-pings", "20"]),
    # 1,000,000 seeded posts: reindex, query latency, wrk -c32 for 15 s over a mix of
    # queries, freshness (the search issue); seeding alone takes minutes on 2 cores
    Benchmark("search", "search.py", [], ["--quick"], needs_wrk=True),
    # 100 readers ask for one translation at once on two instances (one call to the service
    # stand-in), then wrk -c32 for 20 s of cache hits (issue 13)
    Benchmark("translate", "translate.py", [], ["--quick"], needs_wrk=True),
    # 500 likes/s on one post for 10 s from 5,000 users, 100 viewers of the post's page:
    # post.stats stays at its designed rate and ends on the right count (issue 15)
    Benchmark("likes", "likes.py", [], ["--quick"]),
    # the home page under uvloop / asyncio, with the access log, and on two processes
    # (issue 16: server choices measured)
    Benchmark("server", "server_choices.py", [],
              ["--users", "200", "--posts", "5000", "--follows", "20", "--duration", "3",
               "--rounds", "1"], needs_wrk=True),
]
BY_NAME = {b.name: b for b in BENCHMARKS}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true",
                        help="small sizes: a smoke run of a few minutes, not figures to quote")
    parser.add_argument("--only", default="",
                        help=f"comma-separated subset of {', '.join(BY_NAME)} (default: all)")
    parser.add_argument("--extra", action="append", default=[], metavar="NAME=ARGS",
                        help="more arguments for one benchmark, after the default ones "
                             "(repeatable), e.g. 'fanout=--client raw'")
    parser.add_argument("--results", type=Path, default=BENCH_DIR / "results",
                        help="where the JSON, logs and summary go (default: bench/results)")
    parser.add_argument("--timeout", type=float, default=None,
                        help="seconds one benchmark may take before it is stopped "
                             "(default: 1800, or 300 with --quick)")
    args = parser.parse_args(argv)
    names = [n.strip() for n in args.only.split(",") if n.strip()] or list(BY_NAME)
    unknown = [n for n in names if n not in BY_NAME]
    if unknown:
        parser.error(f"--only: unknown {', '.join(unknown)}; choose from {', '.join(BY_NAME)}")
    args.names = [b.name for b in BENCHMARKS if b.name in names]  # always the same order
    args.extras = {}
    for item in args.extra:
        name, sep, rest = item.partition("=")
        if not sep or name.strip() not in BY_NAME:
            parser.error(f"--extra {item!r}: expected NAME=ARGS with NAME one of "
                         f"{', '.join(BY_NAME)}")
        args.extras.setdefault(name.strip(), []).extend(shlex.split(rest))
    if args.timeout is None:
        args.timeout = 300.0 if args.quick else 1800.0
    return args


# --- other load on the machine ----------------------------------------------------------------


class ForeignLoad:
    """CPU used by processes outside a benchmark's session (its servers, clients and
    helpers all inherit it), PostgreSQL and Redis excluded (they serve the benchmark, and
    perhaps others): other work on the machine, which skews every figure."""

    def __init__(self, session: int, interval: float = 2.0) -> None:
        self.session, self.interval = session, interval
        self.cpu_s = 0.0
        self.started = time.monotonic()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    @staticmethod
    def _snapshot(session: int) -> dict[int, float]:
        found = {}
        for entry in os.listdir("/proc"):
            if not entry.isdigit() or int(entry) == os.getpid():
                continue
            try:
                with open(f"/proc/{entry}/stat") as stat:
                    text = stat.read()
            except OSError:
                continue
            name = text[text.find("(") + 1:text.rfind(")")]
            fields = text.rsplit(")", 1)[1].split()
            if int(fields[3]) == session or name.startswith(("postgres", "redis-server")):
                continue
            found[int(entry)] = (int(fields[11]) + int(fields[12])) / CLK_TCK
        return found

    def _run(self) -> None:
        before = self._snapshot(self.session)
        while not self._stop.wait(self.interval):
            after = self._snapshot(self.session)
            # only processes alive at both ends of an interval: a bounded undercount
            self.cpu_s += sum(max(0.0, t - before[p]) for p, t in after.items() if p in before)
            before = after

    def stop(self) -> float:
        """Average CPUs used by other processes while the benchmark ran."""
        self._stop.set()
        self._thread.join(10)
        return self.cpu_s / max(time.monotonic() - self.started, 1e-9)


# --- running one benchmark ---------------------------------------------------------------------


@dataclass
class Outcome:
    name: str
    status: str  # "ran", "failed", "not run: ...", "timed out", "interrupted"
    exit_code: int | None = None
    duration_s: float = 0.0
    command: list[str] = field(default_factory=list)
    result: dict[str, Any] | None = None
    error: str = ""
    foreign_cpus: float | None = None

    @property
    def targets(self) -> list[dict[str, Any]]:
        return list((self.result or {}).get("targets") or [])


def _copy_output(stream: TextIO, log_file: TextIO, tail: list[str]) -> None:
    for line in stream:
        sys.stdout.write(line)
        sys.stdout.flush()
        log_file.write(line)
        tail.append(line.rstrip("\n"))
        del tail[:-40]


def run_one(bench: Benchmark, args: argparse.Namespace) -> Outcome:
    json_path = args.results / f"{bench.name}.json"
    json_path.unlink(missing_ok=True)  # a stale file must not pass for this run's result
    command = [sys.executable, str(BENCH_DIR / bench.script),
               *(bench.quick if args.quick else bench.full), *args.extras.get(bench.name, []),
               "--json", str(json_path)]
    outcome = Outcome(bench.name, "failed", command=command)
    print(f"\n[run_all] === {bench.name}: {shlex.join(command[1:])}", file=sys.stderr,
          flush=True)
    started = time.monotonic()
    tail: list[str] = []
    with (args.results / f"{bench.name}.log").open("w") as log_file:
        # its own session: a terminal's Ctrl-C reaches only this runner, which then sends the
        # benchmark exactly one SIGINT (a second one could cut its clean-up short)
        proc = subprocess.Popen(  # noqa: S603 - our own scripts
            command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1"}, start_new_session=True)
        load = ForeignLoad(proc.pid)
        assert proc.stdout is not None
        reader = threading.Thread(target=_copy_output, args=(proc.stdout, log_file, tail),
                                  daemon=True)
        reader.start()
        interrupted = False
        try:
            proc.wait(args.timeout)
        except subprocess.TimeoutExpired:
            outcome.status = f"timed out after {args.timeout:.0f}s"
            _stop(proc)
        except KeyboardInterrupt:
            interrupted = True
            outcome.status = "interrupted"
            _stop(proc)
        reader.join(10)
        outcome.foreign_cpus = round(load.stop(), 2)
    outcome.exit_code = proc.returncode
    outcome.duration_s = round(time.monotonic() - started, 1)
    if json_path.exists():
        try:
            outcome.result = json.loads(json_path.read_text())
            if outcome.status == "failed":
                outcome.status = "ran"
        except ValueError as exc:
            outcome.error = f"unreadable {json_path.name}: {exc}"
    if outcome.status != "ran" and not outcome.error:
        lines = [line for line in tail if line.strip()]
        failure = [line for line in lines if "failed" in line.lower() or "error" in line.lower()]
        outcome.error = (failure or lines or ["(no output)"])[-1][:300]
    if interrupted:
        raise KeyboardInterrupt(outcome)
    return outcome


def _stop(proc: subprocess.Popen[str]) -> None:
    """SIGINT (the benchmarks clean up on it), then SIGKILL to the whole session."""
    if proc.poll() is not None:
        return
    proc.send_signal(signal.SIGINT)
    try:
        proc.wait(90)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(10)


# --- the table ---------------------------------------------------------------------------------


def _number(value: Any) -> str:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return "-" if value is None else str(value)
    if isinstance(value, int):
        return f"{value:,}"
    return f"{value:,.0f}" if abs(value) >= 100 else f"{value:.1f}" if abs(value) >= 10 \
        else f"{value:.2f}"


def _duration(seconds: float) -> str:
    return f"{int(seconds // 60)}m{int(seconds % 60):02d}s" if seconds >= 60 else \
        f"{seconds:.0f}s"


def table_rows(outcomes: list[Outcome]) -> list[list[str]]:
    """benchmark | key figures | target | measured | met | time: a row per target, the
    benchmark's name, figures and time on its first row."""
    rows = []
    for o in outcomes:
        if o.status == "ran":
            figures = str((o.result or {}).get("headline") or "")
        else:
            figures = f"{o.status.upper() if o.status == 'failed' else o.status}" + \
                (f" (exit {o.exit_code})" if o.exit_code not in (None, 0) else "") + \
                (f": {o.error}" if o.error else "")
        when = _duration(o.duration_s) if o.duration_s else "-"
        if o.foreign_cpus is not None and o.foreign_cpus >= 0.15:
            when += f" (other load {o.foreign_cpus:.1f} CPU)"
        targets = o.targets or [{}]
        for n, t in enumerate(targets):
            met = "" if not t else "met" if t.get("met") else "MISSED"
            goal = f"{t.get('name', '')} {t.get('target', '')}".strip() if t else ""
            measured = f"{_number(t.get('measured'))} {t.get('unit') or ''}".strip() if t else ""
            rows.append([o.name if n == 0 else "", figures if n == 0 else "", goal, measured,
                         met, when if n == 0 else ""])
    return rows


HEADER = ["benchmark", "key figures", "target", "measured", "met", "time"]


def markdown_table(rows: list[list[str]]) -> str:
    def cell(text: str) -> str:
        return text.replace("|", "\\|")

    lines = ["| " + " | ".join(HEADER) + " |", "|" + "---|" * len(HEADER)]
    lines += ["| " + " | ".join(cell(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def text_table(rows: list[list[str]]) -> str:
    # the key figures are long: they get a line of their own above the benchmark's targets
    short = [0, 2, 3, 4, 5]
    widths = [max([len(HEADER[i])] + [len(r[i]) for r in rows]) for i in short]
    out = ["  ".join(HEADER[i].ljust(w) for i, w in zip(short, widths, strict=True))]
    out.append("  ".join("-" * w for w in widths))
    for row in rows:
        if row[1]:
            out.append(f"{row[0]}: {row[1]}")
        out.append("  ".join(row[i].ljust(w) for i, w in zip(short, widths, strict=True))
                   .rstrip())
    return "\n".join(out)


def machine_line(machine: dict[str, Any]) -> str:
    parts = [machine.get("cpu_model") or "unknown CPU", f"{machine.get('cpus')} CPUs",
             f"{machine.get('memory_gib')} GiB RAM", machine.get("os") or "",
             f"Linux {machine.get('kernel')}", f"Python {machine.get('python')}"]
    if machine.get("postgresql"):
        parts.append(f"PostgreSQL {machine['postgresql'].split()[0]}")
    if machine.get("redis"):
        parts.append(f"Redis {machine['redis']}")
    return ", ".join(p for p in parts if p)


def summary_markdown(summary: dict[str, Any], rows: list[list[str]]) -> str:
    machine = summary["machine"]
    services = "; ".join(machine.get("services") or [])
    load = machine.get("load_average_start") or []
    mode = "`--quick` (small sizes, not figures to quote)" if summary["quick"] else \
        "full sizes"
    lines = [
        f"Latest `make bench` ({summary['started_at'][:10]}, {mode}, "
        f"{_duration(summary['duration_s'])} in all; commit {summary.get('commit') or '?'}):",
        f"{machine_line(machine)}"
        + (f"; {services}" if services else "")
        + (f"; load average {load[0]:.2f} before the run" if load else "") + ".",
        "",
        markdown_table(rows),
        "",
        "Every process (servers, clients, wrk, PostgreSQL, Redis) shares this machine's CPUs. "
        "`time` says \"other load\" where processes outside the benchmark used 0.15 CPU or "
        "more on average.",
    ]
    return "\n".join(lines) + "\n"


def git_commit() -> str | None:
    try:
        done = subprocess.run(["git", "describe", "--always", "--dirty"],  # noqa: S607
                              cwd=BENCH_DIR.parent, capture_output=True, text=True, timeout=10,
                              check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout.strip() or None


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    raise_on_interrupt()
    args.results.mkdir(parents=True, exist_ok=True)
    started_at = datetime.now(UTC)
    started = time.monotonic()
    machine = machine_info()
    outcomes: list[Outcome] = []
    interrupted = False
    for name in args.names:
        bench = BY_NAME[name]
        try:
            if bench.needs_wrk and shutil.which("wrk") is None:
                print("[run_all] wrk is missing: `make bench` installs it "
                      "(scripts/ensure-bench-tools.sh)", file=sys.stderr, flush=True)
                outcomes.append(Outcome(name, "not run: wrk missing"))
                continue
            outcomes.append(run_one(bench, args))
        except KeyboardInterrupt as exc:
            if exc.args and isinstance(exc.args[0], Outcome):
                outcomes.append(exc.args[0])
            interrupted = True
            break
    # the benchmarks read the server versions while their services ran
    for o in outcomes:
        ran_on = (o.result or {}).get("machine") or {}
        for key in ("postgresql", "redis", "services"):
            if ran_on.get(key) and not machine.get(key):
                machine[key] = ran_on[key]
    summary = {
        "started_at": started_at.isoformat(timespec="seconds"),
        "duration_s": round(time.monotonic() - started, 1),
        "quick": args.quick,
        "commit": git_commit(),
        "machine": machine,
        "benchmarks": [{
            "name": o.name, "status": o.status, "exit_code": o.exit_code,
            "duration_s": o.duration_s, "headline": (o.result or {}).get("headline"),
            "foreign_cpus": o.foreign_cpus, "error": o.error or None,
            "command": shlex.join(o.command[1:]) if o.command else None,
            "json": f"{o.name}.json" if o.result else None,
            "targets": o.targets} for o in outcomes],
    }
    rows = table_rows(outcomes)
    (args.results / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    (args.results / "summary.md").write_text(summary_markdown(summary, rows))
    print(f"\n{machine_line(machine)}")
    print(text_table(rows))
    print(f"\n{len(outcomes)} benchmark(s) in {_duration(summary['duration_s'])}; results in "
          f"{args.results}/ (summary.md is the table for README.md)")
    if interrupted:
        print("interrupted: the remaining benchmarks did not run", file=sys.stderr)
        return 130
    # a benchmark that failed fails `make bench`; missed targets are figures, not errors, and
    # a benchmark skipped for a missing tool says so in the table
    return 0 if all(o.status == "ran" or o.status.startswith("not run")
                    for o in outcomes) else 1


if __name__ == "__main__":
    sys.exit(main())
