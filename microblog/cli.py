"""The `microblog` command: dev, cluster, serve, worker, jobs, db, seed, translate."""

from __future__ import annotations

import asyncio
import gc
import logging
import os
import secrets
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import click

from microblog.settings import ROOT, Settings, SettingsError

log = logging.getLogger("microblog")


def setup_logging(level: str = "INFO", fmt: str | None = None) -> None:
    """Text or JSON lines on stderr (LOG_FORMAT), with request ids, secrets redacted: the
    configured passwords and SECRET_KEY are masked wherever they appear."""
    from microblog import logs

    try:
        settings: Settings | None = Settings.from_env()
    except SettingsError:
        settings = None  # the command that loads them reports the error
    logs.setup(
        level, fmt or (settings.log_format if settings else "text"),
        known=(settings.secret_key, settings.mail_password) if settings else (),
        urls=(settings.database_url, settings.redis_url, settings.elasticsearch_url)
        if settings else ())


def run_async(coro: Any) -> Any:
    try:
        import uvloop

        return uvloop.run(coro)
    except ImportError:
        return asyncio.run(coro)


@click.group()
@click.option("--log-level", default=os.environ.get("LOG_LEVEL", "INFO"), show_default=True)
@click.option("--log-format", type=click.Choice(["text", "json"]), default=None,
              help="default: LOG_FORMAT, else text")
def main(log_level: str, log_format: str | None) -> None:
    """Microblog: a real-time microblog."""
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
@click.option("--access-log/--no-access-log", default=False, envvar="ACCESS_LOG",
              help="log every request (env ACCESS_LOG=1)")
def serve(bind: str, access_log: bool) -> None:
    """One production instance (Hypercorn). Needs DATABASE_URL, REDIS_URL and a SECRET_KEY."""
    settings = load_settings(require_services=True)
    try:
        settings.require_production_secret()
    except SettingsError as exc:
        raise click.ClickException(str(exc)) from exc
    run_async(_serve(settings, bind, access_log))


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
    the unsubscribe links in emails)."""
    settings = load_settings(require_services=True)
    try:
        settings.require_production_secret()
    except SettingsError as exc:
        raise click.ClickException(str(exc)) from exc
    if metrics_bind:
        settings = settings.with_(worker_metrics_bind=metrics_bind)
    run_async(_worker(settings, concurrency))


async def _worker(settings: Settings, concurrency: int) -> None:
    from microblog import metrics
    from microblog.jobs.worker import make_worker

    stop_metrics = None
    if settings.worker_metrics_bind:
        try:
            stop_metrics = await metrics.serve_worker(settings.worker_metrics_bind,
                                                      settings.metrics_allowed)
        except (OSError, ValueError) as exc:
            raise click.ClickException(f"worker metrics: {exc}") from exc
    try:
        # SAQ's Worker.start installs its own SIGINT/SIGTERM handlers: on either it stops
        # taking jobs, gives running ones a grace period, re-queues the rest, and returns
        await make_worker(settings, concurrency).start()
    finally:
        if stop_metrics is not None:
            await stop_metrics()


@main.command()
@click.option("--bind", default="127.0.0.1:5000", show_default=True)
def dev(bind: str) -> None:
    """Everything for development: embedded PostgreSQL and Redis unless DATABASE_URL / REDIS_URL
    are set, migrations, the web server and a worker. Ctrl-C stops it all."""
    from microblog.devservices import EmbeddedPostgres, EmbeddedRedis

    settings = Settings.from_env()
    instance = settings.instance_dir
    instance.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ)
    env.setdefault("SECRET_KEY", _dev_secret(instance))
    env.setdefault("INSTANCE_DIR", str(instance))
    started: list[Any] = []
    children: list[subprocess.Popen[bytes]] = []

    def stop_on_sigterm(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt  # a supervisor's SIGTERM stops everything, like Ctrl-C

    signal.signal(signal.SIGTERM, stop_on_sigterm)
    try:
        if not settings.database_url:
            pg = EmbeddedPostgres(instance / "postgres")
            env["DATABASE_URL"] = pg.start()
            started.append(pg)
            click.echo("embedded PostgreSQL ready (data in instance/postgres)")
        if not settings.redis_url:
            redis = EmbeddedRedis(instance / "redis")
            env["REDIS_URL"] = redis.start()
            started.append(redis)
            click.echo(f"embedded Redis ready on {env['REDIS_URL']} (data in instance/redis)")
        _run([sys.executable, "-m", "microblog.cli", "db", "upgrade"], env)
        command = [sys.executable, "-m", "microblog.cli"]
        children.append(subprocess.Popen([*command, "serve", "--bind", bind], env=env))  # noqa: S603
        children.append(subprocess.Popen([*command, "worker"], env=env))  # noqa: S603
        click.echo(f"Microblog is running on http://{bind} — press Ctrl-C to stop")
        while all(child.poll() is None for child in children):
            time.sleep(0.5)
        click.echo("a child process exited; stopping", err=True)
    except KeyboardInterrupt:
        click.echo("\nstopping…")
    finally:
        for child in children:
            if child.poll() is None:
                child.send_signal(signal.SIGTERM)
        for child in children:
            try:
                child.wait(15)
            except subprocess.TimeoutExpired:
                child.kill()
        for service in reversed(started):
            service.stop()


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


def _dev_secret(instance: Path) -> str:
    """A random secret kept in instance/, so development sessions survive restarts."""
    path = instance / "secret_key"
    if not path.exists():
        path.write_text(secrets.token_urlsafe(48))
        path.chmod(0o600)
    return path.read_text().strip()


def _run(command: list[str], env: dict[str, str]) -> None:
    result = subprocess.run(command, env=env, check=False)  # noqa: S603
    if result.returncode:
        raise click.ClickException(f"{' '.join(command[2:])} failed")


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
    from microblog.jobs import admin_web

    settings = load_settings(require_services=True)
    try:
        admin_web.serve(settings, bind)
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
@click.option("--messages", default=0, show_default=True)
@click.option("--password", default="password", show_default=True,
              help="every seeded user's password")
def seed(users: int, posts: int, follows: int, messages: int, password: str) -> None:
    """Realistic demo data, bulk-inserted (usernames user1…userN)."""
    settings = load_settings()
    if not settings.database_url:
        raise click.ClickException("DATABASE_URL must be set")
    from microblog.seed import seed as do_seed

    run_async(do_seed(settings.database_url, users=users, posts=posts, follows=follows,
                      messages=messages, password=password))


# --- translations --------------------------------------------------------------------------


@main.group()
def translate() -> None:
    """Babel catalogs: extract, update, init LANG, compile."""


def _pybabel(*args: str) -> None:
    from babel.messages.frontend import CommandLineInterface

    CommandLineInterface().run(["pybabel", *args])


@translate.command()
def update() -> None:
    """Extract messages and update every catalog."""
    _pybabel("extract", "-F", str(ROOT / "babel.cfg"), "-k", "_l", "-o",
             str(ROOT / "messages.pot"), str(ROOT))
    _pybabel("update", "-i", str(ROOT / "messages.pot"), "-d", str(ROOT / "translations"))


@translate.command()
@click.argument("lang")
def init(lang: str) -> None:
    """Start a catalog for a new language."""
    _pybabel("init", "-i", str(ROOT / "messages.pot"), "-d", str(ROOT / "translations"),
             "-l", lang)


@translate.command(name="compile")
def compile_() -> None:
    """Compile catalogs to .mo files."""
    _pybabel("compile", "-d", str(ROOT / "translations"))


if __name__ == "__main__":
    main()
