"""The operator's view of the job queue: `microblog jobs` (list, retry, abort) and
`microblog jobs web` (SAQ's UI behind the administrators' credentials), on real Redis.

Most tests use a queue of their own (a sub-namespace of the run's), which no worker
consumes, so what they enqueue stays where they put it; the failed-job test uses the run's
queue and the real worker."""

from __future__ import annotations

import asyncio
import json
import secrets
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import closing
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from microblog.devservices import free_port
from microblog.jobs.queue import make_queue
from microblog.jobs.registry import spec_of
from microblog.settings import ROOT, Settings
from microblog.worker import load_jobs
from tests.conftest import settings_env
from tests.helpers import make_user, present


@dataclass
class Own:
    settings: Settings
    queue: Any


@pytest.fixture
async def own(settings: Settings) -> AsyncIterator[Own]:
    """A queue no worker consumes (the run's namespace prefixes it, so it is cleaned up)."""
    local = settings.with_(redis_namespace=f"{settings.redis_namespace}:admin{secrets.token_hex(3)}")
    queue = make_queue(local)
    await queue.connect()
    yield Own(local, queue)
    await queue.disconnect()


def declared_options(function: str) -> dict[str, Any]:
    """A declared job's options; a made-up name (no worker consumes this queue) gets SAQ's."""
    load_jobs()  # declared where their services are: imported, also when this file runs alone
    try:
        return spec_of(function).options()
    except LookupError:
        return {}


async def enqueue(queue: Any, function: str, **kwargs: Any) -> Any:
    job = await queue.enqueue(function, **{**declared_options(function), **kwargs})
    assert job is not None
    return job


async def jobs_cli(settings: Settings, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    result = await asyncio.to_thread(
        subprocess.run, [sys.executable, "-m", "microblog.cli", "jobs", *args],
        env=settings_env(settings), cwd=ROOT, capture_output=True, text=True, timeout=60)
    if check:
        assert result.returncode == 0, result.stderr
    return result


def section(text: str, title: str) -> str:
    """The lines of one section of `microblog jobs`, from its title to the next blank line."""
    start = text.index(title)
    end = text.find("\n\n", start)
    return text[start:] if end < 0 else text[start:end]


async def test_jobs_lists_queued_and_scheduled_jobs(own: Own) -> None:
    ping = await enqueue(own.queue, "ping")
    follow = await enqueue(own.queue, "send_follow_email", follower_id=1, followed_id=2)
    due = int(time.time()) + 3600
    later = await enqueue(own.queue, "publish_scheduled_post", scheduled_post_id=7,
                          key="scheduled-post:7", scheduled=due)

    text = (await jobs_cli(own.settings)).stdout
    assert own.settings.redis_namespace + ":jobs" in text
    counts = section(text, "QUEUED  ACTIVE").splitlines()
    assert counts[1].split() == ["2", "0", "1", "0", "0", "0"]
    assert "Workers alive: 0" in text
    queued = section(text, "Queued")
    # newest first
    assert queued.index(follow.key) < queued.index(ping.key)
    assert "send_follow_email" in queued and "scheduled-post:7" not in queued
    scheduled = section(text, "Scheduled")
    assert "publish_scheduled_post" in scheduled and "scheduled-post:7" in scheduled
    assert time.strftime("%Y-%m-%d %H:%M", time.gmtime(due)) in scheduled
    assert ping.key not in scheduled

    data = json.loads((await jobs_cli(own.settings, "--json")).stdout)
    assert data["counts"] == {"queued": 2, "active": 0, "scheduled": 1, "complete": 0,
                              "failed": 0, "aborted": 0}
    assert data["workers"] == []
    assert [j["key"] for j in data["jobs"]["queued"]] == [follow.key, ping.key]
    assert data["jobs"]["queued"][0]["kwargs"] == {"follower_id": 1, "followed_id": 2}
    assert data["jobs"]["queued"][0]["retries"] == declared_options("send_follow_email")["retries"]
    [sched] = data["jobs"]["scheduled"]
    assert sched["key"] == later.key and sched["state"] == "scheduled"
    assert sched["due_at"] == time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(due))
    assert data["jobs"]["active"] == [] and data["jobs"]["failed"] == []


async def test_status_filter_and_limit(own: Own) -> None:
    keys = [(await enqueue(own.queue, "ping")).key for _ in range(3)]
    await enqueue(own.queue, "ping", key="later", scheduled=int(time.time()) + 600)

    data = json.loads((await jobs_cli(own.settings, "--json", "--status", "queued",
                                      "--limit", "2")).stdout)
    assert list(data["jobs"]) == ["queued"]
    assert [j["key"] for j in data["jobs"]["queued"]] == keys[:0:-1]  # the two newest
    assert data["counts"]["queued"] == 3  # counts are always complete

    text = (await jobs_cli(own.settings, "--status", "scheduled")).stdout
    assert "later" in section(text, "Scheduled")
    assert "Queued (" not in text and keys[0] not in text

    bad = await jobs_cli(own.settings, "--status", "sleeping", check=False)
    assert bad.returncode != 0 and "sleeping" in bad.stderr


async def test_abort_then_retry_a_job(own: Own) -> None:
    queued = await enqueue(own.queue, "ping")
    scheduled = await enqueue(own.queue, "publish_scheduled_post", scheduled_post_id=1,
                              scheduled=int(time.time()) + 600)

    for job in (queued, scheduled):
        result = await jobs_cli(own.settings, "abort", job.key)
        assert "aborted" in result.stdout
    data = json.loads((await jobs_cli(own.settings, "--json")).stdout)
    assert data["counts"]["queued"] == 0 and data["counts"]["scheduled"] == 0
    assert data["counts"]["aborted"] == 2
    failed = {j["key"]: j for j in data["jobs"]["failed"]}
    assert failed[queued.key]["status"] == "aborted"
    assert failed[scheduled.key]["error"] == "aborted by operator"

    # an aborted job cannot be aborted again; it can be run again, as new
    again = await jobs_cli(own.settings, "abort", queued.key, check=False)
    assert again.returncode != 0 and "already finished" in again.stderr
    await jobs_cli(own.settings, "retry", queued.key)
    data = json.loads((await jobs_cli(own.settings, "--json")).stdout)
    [row] = data["jobs"]["queued"]
    assert row["key"] == queued.key and row["attempts"] == 0 and row["error"] is None
    assert [j["key"] for j in data["jobs"]["failed"]] == [scheduled.key]

    # a queued job is not retried, and an unknown key says so
    refused = await jobs_cli(own.settings, "retry", queued.key, check=False)
    assert refused.returncode != 0 and "only failed or aborted" in refused.stderr
    unknown = await jobs_cli(own.settings, "retry", "no-such-key", check=False)
    assert unknown.returncode != 0 and "no job with key" in unknown.stderr


async def test_a_failed_job_shows_with_its_error(settings: Settings, worker: Any) -> None:
    """A job for a function the worker does not have (say, enqueued by a newer release)
    fails for good on its one attempt, and the operator sees why."""
    queue = make_queue(settings)
    await queue.connect()
    try:
        job = await queue.enqueue("no_such_job", retries=1, ttl=600, answer=42)
        assert job is not None
        deadline = time.monotonic() + 20
        while present(await queue.job(job.key)).status.value != "failed":
            assert time.monotonic() < deadline, "the worker did not fail the job"
            await asyncio.sleep(0.1)
    finally:
        await queue.disconnect()

    data = json.loads((await jobs_cli(settings, "--json", "--status", "failed")).stdout)
    [row] = [j for j in data["jobs"]["failed"] if j["key"] == job.key]
    assert row["function"] == "no_such_job" and row["status"] == "failed"
    assert row["attempts"] == 1 and row["kwargs"] == {"answer": 42}
    assert row["error"] == "KeyError: 'no_such_job'"
    assert "Traceback" in row["traceback"] and row["finished_at"]
    assert data["counts"]["failed"] >= 1
    assert len(data["workers"]) >= 1  # the test worker reports itself

    text = (await jobs_cli(settings, "--status", "failed")).stdout
    failed = section(text, "Failed")
    assert job.key in failed and "KeyError: 'no_such_job'" in failed
    assert "Workers alive: 0" not in text


# --- the web UI ------------------------------------------------------------------------------


@dataclass
class Web:
    url: str
    process: subprocess.Popen[bytes]


@pytest.fixture
def jobs_web(own: Own) -> Iterator[Web]:
    port = free_port()
    proc = subprocess.Popen(  # the admin's user is created by each test, after `db` empties
        [sys.executable, "-m", "microblog.cli", "jobs", "web", "--bind", f"127.0.0.1:{port}"],
        env=settings_env(own.settings), cwd=ROOT)
    deadline = time.monotonic() + 30
    while True:
        assert proc.poll() is None, "microblog jobs web exited at start"
        try:
            with closing(socket.create_connection(("127.0.0.1", port), timeout=0.5)):
                break
        except OSError:
            assert time.monotonic() < deadline, "microblog jobs web did not start"
            time.sleep(0.05)
    yield Web(f"http://127.0.0.1:{port}", proc)
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()


async def test_web_ui_is_for_administrators_only(own: Own, jobs_web: Web, db: None) -> None:
    await make_user("admin", "staple battery horse")
    await make_user("bob", "orange battery staple")
    job = await enqueue(own.queue, "send_follow_email", follower_id=3, followed_id=4)
    name = own.queue.name

    async with httpx.AsyncClient(base_url=jobs_web.url, timeout=15) as http:
        refused = [
            await http.get("/"),
            await http.get(f"/api/queues/{name}"),
            await http.get("/api/queues", auth=("bob", "orange battery staple")),  # not an admin
            await http.get("/api/queues", auth=("admin", "wrong password")),
            await http.get("/static/app.js", auth=("nobody", "staple battery horse")),
            await http.get("/", headers={"Authorization": "Basic not-base64!"}),
        ]
        for response in refused:
            assert response.status_code == 401
            assert response.headers["WWW-Authenticate"].startswith("Basic realm=")
            assert job.key not in response.text and name not in response.text

        admin = ("admin", "staple battery horse")
        page = await http.get("/", auth=admin)
        assert page.status_code == 200 and "<title>SAQ</title>" in page.text
        assert page.headers["X-Frame-Options"] == "DENY"
        for asset in ("app.js", "snabbdom.js", "pico.min.css"):  # two are stored gzipped
            assert (await http.get(f"/static/{asset}", auth=admin)).status_code == 200
        queues = (await http.get("/api/queues", auth=admin)).json()["queues"]
        assert [(q["name"], q["queued"]) for q in queues] == [(name, 1)]
        listed = (await http.get(f"/api/queues/{name}", auth=admin)).json()["queue"]
        assert [j["key"] for j in listed["jobs"]] == [job.key]
        assert listed["jobs"][0]["function"] == "send_follow_email"

        # a write is a JSON request (what SAQ's page sends), never a plain form post from
        # another site riding on the browser's remembered credentials
        abort = f"/api/queues/{name}/jobs/{job.key}/abort"
        forged = await http.post(abort, auth=admin, content="x",
                                 headers={"Content-Type": "text/plain"})
        assert forged.status_code == 403
        assert (await own.queue.job(job.key)).status.value == "queued"
        done = await http.post(abort, auth=admin, json={})
        assert done.status_code == 200
    assert (await own.queue.job(job.key)).status.value == "aborted"


async def test_web_ui_refuses_to_start_without_admins(settings: Settings) -> None:
    env = {**settings_env(settings), "ADMINS": ""}
    result = await asyncio.to_thread(
        subprocess.run, [sys.executable, "-m", "microblog.cli", "jobs", "web",
                         "--bind", f"127.0.0.1:{free_port()}"],
        env=env, cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert result.returncode != 0
    assert "ADMINS is empty" in result.stderr


async def test_web_ui_throttles_password_guessing(own: Own, jobs_web: Web, db: None) -> None:
    """Counted with every other sign-in (per account and address): past the free attempts
    the UI answers 429 with Retry-After, without checking the password."""
    await make_user("admin", "staple battery horse")
    async with httpx.AsyncClient(base_url=jobs_web.url, timeout=15) as http:
        statuses = [(await http.get("/api/queues", auth=("admin", f"guess {i}"))).status_code
                    for i in range(6)]
        assert statuses == [401] * 5 + [429]
        refused = await http.get("/api/queues", auth=("admin", "staple battery horse"))
        assert refused.status_code == 429
        assert int(refused.headers["Retry-After"]) >= 1
        assert "Too many failed sign-ins" in refused.text
