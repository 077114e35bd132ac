"""The `microblog` command: dev, cluster, serve, worker, jobs, db, seed, translate, settings."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import json
import logging
import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Awaitable, Callable
from types import FrameType
from typing import Any

import click

from microblog.settings import ROOT, Settings, SettingsError

log = logging.getLogger("microblog")


def setup_logging(level: str | None = None, fmt: str | None = None) -> None:
    """Text or JSON lines on stderr (LOG_LEVEL, LOG_FORMAT), with request ids, secrets
    redacted: the configured passwords and SECRET_KEY are masked wherever they appear."""
    from microblog import logs

    try:
        settings: Settings | None = Settings.from_env()
    except SettingsError:
        settings = None  # the command that loads them reports the error
    logs.setup(
        level or (settings.log_level if settings else "INFO"),
        fmt or (settings.log_format if settings else "text"),
        known=settings.secret_values if settings else (),
        urls=(settings.database_url, settings.redis_url, settings.elasticsearch_url,
              settings.ms_translator_url, settings.deepl_url, settings.libretranslate_url)
        if settings else ())


def run_async(coro: Any) -> Any:
    try:
        import uvloop

        return uvloop.run(coro)
    except ImportError:
        return asyncio.run(coro)


@click.group()
@click.option("--log-level", default=None, help="default: LOG_LEVEL, else INFO")
@click.option("--log-format", type=click.Choice(["text", "json"]), default=None,
              help="default: LOG_FORMAT, else text")
@click.pass_context
def main(ctx: click.Context, log_level: str | None, log_format: str | None) -> None:
    """Microblog: a real-time microblog."""
    if ctx.invoked_subcommand == "worker":
        WORKER_SIGNALS.install()  # before anything slow: see StopSignals
    setup_logging(log_level, log_format)


def load_settings(require_services: bool = False) -> Settings:
    try:
        settings = Settings.from_env()
        if require_services:
            settings.require_services()
        return settings
    except SettingsError as exc:
        raise click.ClickException(str(exc)) from exc


# --- serving -------------------------------------------------------------------------------


@main.command()
@click.option("--bind", default="127.0.0.1:5000", show_default=True, help="HOST:PORT")
@click.option("--access-log/--no-access-log", default=None,
              help="log every request (default: ACCESS_LOG, else off)")
def serve(bind: str, access_log: bool | None) -> None:
    """One production instance (Hypercorn). Needs DATABASE_URL, REDIS_URL and a SECRET_KEY."""
    settings = load_settings(require_services=True)
    try:
        settings.require_production_secret()
    except SettingsError as exc:
        raise click.ClickException(str(exc)) from exc
    run_async(_serve(settings, bind, settings.access_log if access_log is None else access_log))


async def _serve(settings: Settings, bind: str, access_log: bool) -> None:
    from hypercorn.asyncio import serve as hypercorn_serve
    from hypercorn.config import Config

    from microblog import asgi_app, create_app, lifecycle

    tune_gc()
    config = Config()
    config.bind = [bind]
    # Hypercorn's loggers without handlers of their own: their records reach ours (format,
    # request ids, redaction)
    config.accesslog = logging.getLogger("hypercorn.access") if access_log else None
    config.errorlog = logging.getLogger("hypercorn.error")
    # SIGTERM: see microblog.lifecycle; together these stay within its 10 s deadline
    config.graceful_timeout = lifecycle.GRACEFUL_TIMEOUT - settings.shutdown_delay
    config.shutdown_timeout = lifecycle.APP_SHUTDOWN_TIMEOUT
    config.keep_alive_timeout = 75
    app = create_app(settings)
    stop = asyncio.Event()
    shutdown = lifecycle.Shutdown(app.extensions["socketio"], stop, settings.shutdown_delay)
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, shutdown.begin)
    log.info("serving on http://%s", bind)
    await hypercorn_serve(asgi_app(app), config, shutdown_trigger=stop.wait)  # type: ignore[arg-type]
    log.info("stopped")


def tune_gc() -> None:
    """Fewer, cheaper garbage collections for a long-running server.

    Thousands of sockets keep many long-lived objects; with CPython's default thresholds
    (700, 10, 10) full collections walk all of them every few hundred allocations' worth
    of traffic, and under fan-out load the pauses queued deliveries for seconds (measured
    with bench/fanout.py: sustained p99 8.6 s with the defaults, 0.23 s with these).
    Freezing moves everything alive at start-up (modules, the app) out of collection."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(20_000, 20, 50)


@main.command()
@click.option("--concurrency", default=10, show_default=True)
@click.option("--metrics-bind", default=None, metavar="HOST:PORT",
              help="serve Prometheus metrics at http://HOST:PORT/metrics to METRICS_ALLOWED "
                   "peers (default: WORKER_METRICS_BIND, else off)")
def worker(concurrency: int, metrics_bind: str | None) -> None:
    """The SAQ worker: emails, exports, scheduled posts. Needs the web's SECRET_KEY (it signs
    the unsubscribe links in emails). SIGTERM, SIGINT or SIGHUP: it stops taking jobs, gives
    running ones a grace period, re-queues the rest and exits 0, whenever the signal comes."""
    signals = WORKER_SIGNALS
    signals.install()
    try:
        settings = load_settings(require_services=True)
        try:
            settings.require_production_secret()
        except SettingsError as exc:
            raise click.ClickException(str(exc)) from exc
        if metrics_bind:
            settings = settings.with_(worker_metrics_bind=metrics_bind)
        if signals.received is None:
            run_async(_worker(settings, concurrency, signals))
        if signals.received is not None:
            log.info("worker stopped (%s)", signal.Signals(signals.received).name)
    finally:
        signals.ignore()


class StopSignals:
    """SIGTERM, SIGINT and SIGHUP for `microblog worker`, from its first moment to its last.

    SAQ's Worker.start() would install loop handlers of its own, but only while it runs: a
    signal during start-up (imports, settings, connecting) or after it returned (closing)
    found the default action and killed the process (-15). These handlers are installed
    before anything slow and stay: a signal before the loop runs only records itself (the
    worker then does not start); once the loop runs it also calls `on_signal` there, which
    stops SAQ; repeated signals change nothing. SIGHUP (a closed terminal) stops it the same
    way; nothing else in the process catches it, and it is installed last, so a process that
    catches SIGHUP (SigCgt in /proc/PID/status) handles all three."""

    SIGNALS = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)  # in this order

    def __init__(self) -> None:
        self.received: int | None = None
        self._notify: Callable[[], None] | None = None

    def install(self) -> None:
        for signum in self.SIGNALS:
            signal.signal(signum, self._handle)

    def attach(self, loop: asyncio.AbstractEventLoop, on_signal: Callable[[], None]) -> None:
        def notify() -> None:
            loop.call_soon_threadsafe(on_signal)  # wakes the loop; safe from a handler

        self._notify = notify

    def detach(self) -> None:
        self._notify = None

    def ignore(self) -> None:
        """For the process's last moments: Python's finalization resets a Python handler to
        the default action (killed by the signal), but leaves an ignored signal ignored."""
        for signum in self.SIGNALS:
            signal.signal(signum, signal.SIG_IGN)

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        if self.received is None:
            self.received = signum
        if self._notify is not None:
            with contextlib.suppress(RuntimeError):  # the loop has just closed
                self._notify()


WORKER_SIGNALS = StopSignals()


async def _worker(settings: Settings, concurrency: int, signals: StopSignals) -> None:
    from microblog import metrics
    from microblog.worker import make_worker

    stop = asyncio.Event()
    signals.attach(asyncio.get_running_loop(), stop.set)
    stop_metrics = None
    try:
        if signals.received is not None:
            return
        if settings.worker_metrics_bind:
            try:
                stop_metrics = await metrics.serve_worker(settings.worker_metrics_bind,
                                                          settings.metrics_allowed)
            except (OSError, ValueError) as exc:
                raise click.ClickException(f"worker metrics: {exc}") from exc
        saq_worker = make_worker(settings, concurrency)
        saq_worker.SIGNALS = []  # the signals stay ours (StopSignals)
        if not stop.is_set():
            await _work_until_stopped(saq_worker, stop)
    finally:
        signals.detach()
        if stop_metrics is not None:
            await stop_metrics()


async def _work_until_stopped(saq_worker: Any, stop: asyncio.Event) -> None:
    """SAQ's Worker.start() until it returns by itself or `stop` is set; then, like SAQ on a
    signal: stop taking jobs, give running ones a grace period, re-queue the rest."""
    working = asyncio.create_task(saq_worker.start())
    stopping = asyncio.create_task(stop.wait())
    await asyncio.wait({working, stopping}, return_when=asyncio.FIRST_COMPLETED)
    if not working.done():
        # `working` was scheduled first, so start() has begun: it replaced its event before
        # its first await, and this is the event it waits on (even while still starting up)
        saq_worker.event.set()
    else:
        stopping.cancel()
    await working


@main.command()
@click.option("--bind", default="127.0.0.1:5000", show_default=True)
def dev(bind: str) -> None:
    """Everything for development: embedded PostgreSQL and Redis unless DATABASE_URL / REDIS_URL
    are set, migrations, the web server and a worker. Ctrl-C stops it all."""
    from microblog import devservices

    settings = load_settings()
    try:
        # SIGINT explicitly (a shell that starts us in the background ignores it); SIGHUP too:
        # the embedded services do not get a closing terminal's hangup
        with devservices.embedded_services(
                settings, echo=click.echo,
                stop_signals=(signal.SIGINT, signal.SIGTERM, signal.SIGHUP)) as env:
            _run_children(bind, env)
    except KeyboardInterrupt:
        pass
    except devservices.DevServicesError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo("stopped")


def _run_children(bind: str, env: dict[str, str]) -> None:
    """`serve` and `worker` until Ctrl-C (they get it too: they are in the terminal's process
    group), a signal, or one of them exiting; then each gets SIGTERM and up to 15 s."""
    from microblog import devservices

    command = [sys.executable, "-m", "microblog.cli"]
    children: dict[str, subprocess.Popen[bytes]] = {}
    try:
        children["serve"] = subprocess.Popen([*command, "serve", "--bind", bind], env=env)  # noqa: S603
        children["worker"] = subprocess.Popen([*command, "worker"], env=env)  # noqa: S603
        click.echo(f"Microblog is running on http://{bind} — press Ctrl-C to stop")
        while all(child.poll() is None for child in children.values()):
            time.sleep(0.2)
        name, exited = next((n, c) for n, c in children.items() if c.poll() is not None)
        raise click.ClickException(
            f"`microblog {name}` exited (code {exited.returncode}); stopping the rest")
    finally:
        click.echo("stopping…")
        with devservices.holding_signals():
            for child in children.values():
                if child.poll() is None:
                    child.send_signal(signal.SIGTERM)
            for child in children.values():
                try:
                    child.wait(15)
                except subprocess.TimeoutExpired:
                    child.kill()
                    child.wait()


@main.command()
@click.option("--port", default=8080, show_default=True, help="nginx's port on 127.0.0.1")
@click.option("--instances", default=2, show_default=True, type=click.IntRange(min=1),
              help="`microblog serve` processes behind nginx")
@click.option("--nginx", default=None, help="the nginx binary (default: /usr/sbin/nginx)")
def cluster(port: int, instances: int, nginx: str | None) -> None:
    """The docker-compose topology without Docker: N instances and a worker behind nginx on
    one port (embedded PostgreSQL and Redis unless DATABASE_URL / REDIS_URL are set).
    Writes instance/cluster/cluster.json; SIGHUP restarts the instances one by one."""
    from microblog import cluster as topology

    try:
        topology.run(load_settings(), port, instances, nginx)
    except topology.ClusterError as exc:
        raise click.ClickException(str(exc)) from exc


# --- configuration ---------------------------------------------------------------------------


@main.command(name="settings")
@click.option("--markdown", is_flag=True,
              help="a Markdown table of the variables, their defaults and descriptions")
def settings_(markdown: bool) -> None:
    """Every environment variable the app reads, grouped: what it does, its default and its
    current value (secrets and passwords in URLs masked)."""
    from microblog import settings as config

    if markdown:
        click.echo(_settings_markdown())
        return
    try:
        current: Settings | None = Settings.from_env()
        error = None
    except SettingsError as exc:
        current, error = None, exc
    environ = dict(os.environ)
    for group, fields in config.documented():
        click.echo(f"{group.value}\n{'=' * len(group.value)}")
        for name, field in fields:
            variable = config.variable(name)
            secret = config.is_secret(field)
            if current is not None:
                value = getattr(current, name)
                if name == "secret_key" and current.uses_default_secret:
                    shown = "the development default"
                else:
                    shown = config.masked(config.shown_value(value), secret and value is not None)
            else:  # as set, since it does not validate
                raw = environ.get(variable) or None
                shown = config.masked(raw, secret and raw is not None)
            click.echo(f"{variable} = {shown}")
            click.echo(textwrap.fill(field.description or "", width=88, initial_indent="    ",
                                     subsequent_indent="    "))
            click.echo(f"    default: {config.shown_default(field)}")
        click.echo()
    if error is not None:
        raise click.ClickException(str(error))


def _settings_markdown() -> str:
    from microblog import settings as config

    lines = []
    for group, fields in config.documented():
        lines += [f"**{group.value}**", "", "| Variable | Default | What it does |",
                  "|---|---|---|"]
        for name, field in fields:
            default = config.shown_default(field)
            if default == config.shown_value(field.get_default(call_default_factory=True)) \
                    and default not in {"unset", "empty"}:
                default = f"`{default}`"  # a literal value, not words about one
            lines.append(f"| `{config.variable(name)}` | {default} | {field.description} |")
        lines.append("")
    return "\n".join(lines).rstrip("\n")


# --- the job queue, for operators ------------------------------------------------------------


@main.group(invoke_without_command=True)
@click.option("--status", "statuses", multiple=True,
              type=click.Choice(["queued", "active", "scheduled", "failed", "complete"]),
              help="only jobs in this state (repeatable); failed includes aborted. "
                   "Default: all but complete")
@click.option("--limit", default=20, show_default=True, type=click.IntRange(min=0),
              help="at most this many jobs per state")
@click.option("--json", "as_json", is_flag=True, help="machine-readable output")
@click.pass_context
def jobs(ctx: click.Context, statuses: tuple[str, ...], limit: int, as_json: bool) -> None:
    """The job queue: counts by state, live workers, and the jobs queued, running, scheduled
    and failed (newest first; scheduled ones soonest due first)."""
    if ctx.invoked_subcommand is not None:
        return
    from microblog.jobs import admin

    states = tuple(statuses) or admin.DEFAULT_STATES

    async def go() -> admin.Snapshot:
        async with _job_queue() as queue:
            return await admin.snapshot(queue, limit=limit, states=states)  # type: ignore[arg-type]

    snap = run_async(go())
    click.echo(admin.render_json(snap) if as_json else admin.render_text(snap))


def _job_queue() -> Any:
    from contextlib import asynccontextmanager

    from microblog.jobs.queue import make_queue

    settings = load_settings()
    if not settings.redis_url:
        raise click.ClickException("REDIS_URL must be set")

    @asynccontextmanager
    async def opened() -> Any:
        queue = make_queue(settings)
        await queue.connect()
        try:
            yield queue
        finally:
            await queue.disconnect()

    return opened()


def _on_job(action: str, key: str) -> Any:
    """Run microblog.jobs.admin's `action` (retry, abort) on one job; errors are the user's."""
    from microblog.jobs import admin

    async def go() -> Any:
        async with _job_queue() as queue:
            return await getattr(admin, action)(queue, key)

    try:
        return run_async(go())
    except admin.AdminError as exc:
        raise click.ClickException(str(exc)) from exc


@jobs.command(name="retry", short_help="Run a failed or aborted job again.")
@click.argument("key")
def jobs_retry(key: str) -> None:
    """Run a failed or aborted job again (same arguments, a fresh count of attempts)."""
    job = _on_job("retry", key)
    click.echo(f"queued {job.function} again (key {job.key})")


@jobs.command(name="abort", short_help="Abort a queued, scheduled or running job.")
@click.argument("key")
def jobs_abort(key: str) -> None:
    """Abort a queued, scheduled or running job (a running one is stopped by its worker)."""
    job = _on_job("abort", key)
    click.echo(f"{job.function} (key {job.key}) is {job.status.value}")


@jobs.command(name="web", short_help="SAQ's web UI, for administrators (ADMINS) only.")
@click.option("--bind", default="127.0.0.1:8081", show_default=True, help="HOST:PORT")
def jobs_web(bind: str) -> None:
    """SAQ's web UI for the queue, for administrators only: every request needs the HTTP
    Basic credentials (username and password) of a user named in ADMINS, so it refuses to
    start while ADMINS is empty. It listens on loopback by default; binding another address
    (e.g. 0.0.0.0) is allowed only because credentials are always required, and Basic
    credentials travel in clear: put it behind HTTPS when it is not on loopback."""
    from microblog.web import jobs_admin

    settings = load_settings(require_services=True)
    try:
        jobs_admin.serve(settings, bind)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from exc


# --- database ------------------------------------------------------------------------------


@main.group()
def db() -> None:
    """Database migrations (aerich, PostgreSQL)."""


@db.command()
def upgrade() -> None:
    """Apply every pending migration."""
    settings = load_settings()
    if not settings.database_url:
        raise click.ClickException("DATABASE_URL must be set")
    applied = run_async(migrate_database(settings.database_url))
    click.echo(f"applied {len(applied)} migration(s)" if applied else "database is up to date")


@db.command()
@click.option("--name", default="update", show_default=True)
def migrate(name: str) -> None:
    """Generate a migration from model changes (developers; needs an upgraded database)."""
    settings = load_settings()
    if not settings.database_url:
        raise click.ClickException("DATABASE_URL must be set")

    async def go() -> str | None:
        from aerich import Command

        from microblog.db import tortoise_config

        async with Command(tortoise_config(settings.database_url or ""), app="models",
                           location=str(ROOT / "migrations")) as command:
            return await command.migrate(name, no_input=True)

    click.echo(run_async(go()) or "no changes")


async def migrate_database(database_url: str) -> list[str]:
    from aerich import Command

    from microblog.db import tortoise_config

    async with Command(tortoise_config(database_url, pool_max=2), app="models",
                       location=str(ROOT / "migrations")) as command:
        return await command.upgrade(run_in_transaction=True)


# --- demo data -----------------------------------------------------------------------------


@main.command()
@click.option("--users", default=100, show_default=True)
@click.option("--posts", default=2000, show_default=True)
@click.option("--follows", default=20, show_default=True, help="follows per user")
@click.option("--likes", default=20, show_default=True, help="likes per user, on average")
@click.option("--reposts", default=2, show_default=True, help="reposts per user, on average")
@click.option("--messages", default=0, show_default=True)
@click.option("--password", default="password", show_default=True,
              help="every seeded user's password")
def seed(users: int, posts: int, follows: int, likes: int, reposts: int, messages: int,
         password: str) -> None:
    """Realistic demo data, bulk-inserted: users named like quiet_fox12, posts in several
    languages, some with hashtags and mentions, follows, likes, reposts and private
    messages."""
    settings = load_settings()
    if not settings.database_url:
        raise click.ClickException("DATABASE_URL must be set")
    from microblog.seed import seed as do_seed

    run_async(do_seed(settings.database_url, users=users, posts=posts, follows=follows,
                      likes=likes, reposts=reposts, messages=messages, password=password))


# --- search --------------------------------------------------------------------------------


@main.group()
def search() -> None:
    """The search index: rebuild it, compare it with the posts."""


def _with_search(work: Callable[[Any], Awaitable[Any]]) -> Any:
    settings = load_settings()
    if not settings.database_url:
        raise click.ClickException("DATABASE_URL must be set")

    async def go() -> Any:
        from microblog import search as search_module
        from microblog.db import close_db, init_db

        await init_db(settings.database_url or "", pool_max=4)
        backend = search_module.open_backend(settings)
        try:
            return await work(backend)
        finally:
            await search_module.close_backend()
            await close_db()

    return run_async(go())


@search.command()
def reindex() -> None:
    """Rebuild the index from PostgreSQL, with a progress bar. Searchers keep the old index
    until the new one is complete (Elasticsearch: a new index, then the alias moves;
    PostgreSQL: batch by batch, each in its own transaction)."""
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
    )

    started = time.perf_counter()
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                  TimeElapsedColumn()) as bar:
        task = bar.add_task("posts", total=None)

        def progress(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        async def work(backend: Any) -> int:
            bar.update(task, description=f"posts ({backend.name})")
            return int(await backend.reindex(progress))

        count = _with_search(work)
    elapsed = time.perf_counter() - started
    click.echo(f"reindexed {count} posts in {elapsed:.1f}s ({count / max(elapsed, 1e-9):,.0f}/s)")


@search.command()
@click.option("--json", "as_json", is_flag=True, help="as JSON")
def status(as_json: bool) -> None:
    """What the index holds against the posts in PostgreSQL."""

    async def work(backend: Any) -> dict[str, object]:
        return dict(await backend.status())

    figures = _with_search(work)
    if as_json:
        click.echo(json.dumps(figures, default=str))
        return
    for key, value in figures.items():
        click.echo(f"{key:>12}: {value}")


# --- translations --------------------------------------------------------------------------


@main.group()
def translate() -> None:
    """Babel catalogs: extract, update, init LANG, compile."""


def _pybabel(*args: str) -> None:
    """pybabel in the source tree, with paths relative to it: the catalogs' `#:` references
    then name files as the repository does, whoever runs it where."""
    from babel.messages.frontend import CommandLineInterface

    here = os.getcwd()
    os.chdir(ROOT)
    try:
        CommandLineInterface().run(["pybabel", *args])
    finally:
        os.chdir(here)


@translate.command()
def update() -> None:
    """Extract messages and update every catalog."""
    _pybabel("extract", "-F", "babel.cfg", "-k", "_l", "-k", "_plural:1,2",
             "-o", "messages.pot", ".")
    _pybabel("update", "-i", "messages.pot", "-d", "translations")


@translate.command()
@click.argument("lang")
def init(lang: str) -> None:
    """Start a catalog for a new language."""
    _pybabel("init", "-i", "messages.pot", "-d", "translations", "-l", lang)


@translate.command(name="compile")
def compile_() -> None:
    """Compile catalogs to .mo files."""
    _pybabel("compile", "-d", "translations")


if __name__ == "__main__":
    main()
