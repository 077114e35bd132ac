"""Export my posts: the API, live progress over a real socket, the file, the email, and a
worker killed mid-export (real PostgreSQL, Redis, SMTP, `microblog worker` processes)."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import os
import secrets
import signal
import zipfile
from collections.abc import AsyncIterator
from typing import Any

import pytest
from tortoise import connections

from microblog.clock import now
from microblog.infra import resources
from microblog.jobs import job_key
from microblog.jobs.queue import make_queue
from microblog.models import Notification, Task, User
from microblog.services.tasks import export_posts
from tests.conftest import start_worker, stop_process
from tests.helpers import email_about, make_user
from tests.realtime import Api, Recorder
from tests.test_api import token_for


async def add_posts(user_id: int, count: int) -> None:
    await connections.get("default").execute_query(
        "INSERT INTO posts (author_id, body, language, created_at) "
        "SELECT $1, 'post number ' || g || ' with a comma, \"quotes\" and <b>tags</b>', 'en', "
        "now() FROM generate_series(1, $2) g", [user_id, count])


async def wait_task(task_id: str, statuses: set[str], within: float = 60.0) -> Task:
    deadline = asyncio.get_running_loop().time() + within
    while True:
        task = await Task.get(id=task_id)
        if task.status in statuses:
            return task
        assert asyncio.get_running_loop().time() < deadline, (
            f"task {task_id} still {task.status} ({task.progress}%) after {within}s")
        await asyncio.sleep(0.05)


@pytest.fixture
async def own_queue(app: Any, settings: Any) -> AsyncIterator[Any]:
    """The app enqueues into a namespace of this test's own, where only the workers this
    test starts (or none) consume: the session's worker cannot interfere."""
    namespace = f"{settings.redis_namespace}:own{secrets.token_hex(3)}"
    queue = make_queue(settings.with_(redis_namespace=namespace))
    await queue.connect()
    previous, resources.queue = resources.queue, queue
    try:
        yield namespace
    finally:
        resources.queue = previous
        await queue.disconnect()


async def test_export_api_validation_and_one_at_a_time(client, own_queue):
    await make_user("alice")
    await make_user("bob")
    alice, bob = await token_for(client, "alice"), await token_for(client, "bob")
    assert (await client.post("/api/exports")).status_code == 401

    response = await client.post("/api/exports", headers=alice)
    assert response.status_code == 202
    task_id = (await response.get_json())["task_id"]
    assert response.headers["Location"] == f"/api/tasks/{task_id}"

    again = await client.post("/api/exports", headers=alice)
    assert again.status_code == 409
    assert "already running" in (await again.get_json())["message"]
    assert await Task.filter(user__username="alice").count() == 1

    # bob may export at the same time; he cannot see alice's task
    assert (await client.post("/api/exports", headers=bob)).status_code == 202
    assert (await client.get(f"/api/tasks/{task_id}", headers=bob)).status_code == 404
    assert (await client.get("/api/tasks/nonsense", headers=alice)).status_code == 404

    body = await (await client.get(f"/api/tasks/{task_id}", headers=alice)).get_json()
    assert body["id"] == task_id and body["name"] == "export"
    assert body["status"] == "queued" and body["progress"] == 0 and body["result"] is None
    download = await client.get(f"/api/tasks/{task_id}/download/posts.json", headers=alice)
    assert download.status_code == 404


async def test_a_task_whose_job_vanished_is_failed_not_stuck(client, own_queue):
    await make_user("alice")
    alice = await token_for(client, "alice")
    task_id = (await (await client.post("/api/exports", headers=alice)).get_json())["task_id"]
    assert resources.queue is not None
    job = await resources.queue.job(job_key(export_posts, task_id=task_id) or "")
    assert job is not None
    await resources.queue.abort(job, "operator aborted it")

    body = await (await client.get(f"/api/tasks/{task_id}", headers=alice)).get_json()
    assert body["status"] == "failed" and body["error"]
    note = await Notification.get(kind="task_progress")
    assert note.data["status"] == "failed" and note.data["task_id"] == task_id
    # and a new export may start
    assert (await client.post("/api/exports", headers=alice)).status_code == 202


async def test_export_with_live_progress_download_and_email(server, db, mailbox):
    api, other = Api(server.url), Api(server.url)
    socket = Recorder("alice")
    try:
        alice = await api.register("alice")
        await other.register("mallory")
        # registered through the API, so unconfirmed: confirmed here as by the emailed link
        await User.filter(id=alice["id"]).update(email_verified_at=now())
        await add_posts(alice["id"], 3500)
        await socket.connect(server.url, api.token)

        response = await api.http.post("/api/exports")
        assert response.status_code == 202, response.text
        task_id = response.json()["task_id"]

        done = await socket.wait_for(
            "notification", lambda n: n["kind"] == "task_progress"
            and n["data"]["status"] == "complete", within=60)
        final = done[0]
        assert final["id"] is not None and final["data"]["task_id"] == task_id
        progress = [n["data"]["progress"] for n in socket.of("notification")
                    if n["kind"] == "task_progress" and n["data"]["task_id"] == task_id]
        assert progress == sorted(progress) and len(progress) >= 3, progress
        assert 0 < progress[-2] < 100 and progress[-1] == 100

        task = (await api.http.get(f"/api/tasks/{task_id}")).json()
        assert task["status"] == "complete" and task["progress"] == 100
        assert task["result"]["count"] == 3500

        download = await api.http.get(task["result"]["url"])
        assert download.status_code == 200
        assert "attachment" in download.headers["content-disposition"]
        exported = download.json()
        assert exported["user"]["username"] == "alice"
        assert len(exported["posts"]) == 3500
        assert len({p["id"] for p in exported["posts"]}) == 3500
        assert exported["posts"][0]["body"].startswith("post number 1 with a comma")

        rows = list(csv.reader(io.StringIO(
            (await api.http.get(task["result"]["csv_url"])).text)))
        assert rows[0] == ["id", "created_at", "language", "body", "url"]
        assert len(rows) == 3501 and rows[1][3] == exported["posts"][0]["body"]

        # nobody else can fetch it: the same 404 as for nothing at all
        assert (await other.http.get(task["result"]["url"])).status_code == 404
        assert (await other.http.get(f"/api/tasks/{task_id}")).status_code == 404
        anonymous = await api.http.get(task["result"]["url"], headers={"Authorization": ""})
        assert anonymous.status_code == 401

        # the first email to alice may be her link to confirm the address (sent on registering)
        email = await email_about(mailbox, "alice@example.com", "ready", timeout=30)
        attachments = list(email.iter_attachments())
        assert len(attachments) == 1
        zipped = attachments[0].get_payload(decode=True)
        assert isinstance(zipped, bytes)
        archive = zipfile.ZipFile(io.BytesIO(zipped))
        assert sorted(archive.namelist()) == ["posts.csv", "posts.json"]
        assert len(json.loads(archive.read("posts.json"))["posts"]) == 3500
        assert not socket.invalid
    finally:
        await socket.disconnect()
        await api.close()
        await other.close()


async def test_a_worker_killed_mid_export_is_replaced_and_the_export_completes(
        client, settings, own_queue):
    user = await make_user("alice")
    await add_posts(user.id, 60000)
    token = await token_for(client, "alice")
    first = start_worker(settings, REDIS_NAMESPACE=own_queue)
    second = None
    try:
        task_id = (await (await client.post("/api/exports", headers=token)).get_json())["task_id"]
        # killed while it is writing: some progress, not finished
        deadline = asyncio.get_running_loop().time() + 30
        while True:
            task = await Task.get(id=task_id)
            if task.status == "active" and 0 < task.progress < 100:
                break
            assert task.status != "complete", "the export finished before the kill"
            assert asyncio.get_running_loop().time() < deadline, "the export never started"
            await asyncio.sleep(0.01)
        os.kill(first.pid, signal.SIGKILL)
        first.wait(10)
        assert (await Task.get(id=task_id)).status == "active"

        second = start_worker(settings, REDIS_NAMESPACE=own_queue)
        task = await wait_task(task_id, {"complete", "failed"}, within=60)
        assert task.status == "complete", task.error
        assert task.attempts == 2
        body = await (await client.get(f"/api/tasks/{task_id}/download/posts.json",
                                       headers=token)).get_data()
        assert len(json.loads(body)["posts"]) == 60000
    finally:
        stop_process(first)
        stop_process(second)


async def test_an_export_that_fails_for_good_is_reported_failed(
        client, settings, own_queue, tmp_path):
    user = await make_user("alice")
    await add_posts(user.id, 10)
    token = await token_for(client, "alice")
    # an instance directory that is a file: the export cannot write, on every attempt
    broken = tmp_path / "not-a-directory"
    broken.write_text("")
    proc = start_worker(settings, REDIS_NAMESPACE=own_queue, INSTANCE_DIR=str(broken))
    try:
        task_id = (await (await client.post("/api/exports", headers=token)).get_json())["task_id"]
        task = await wait_task(task_id, {"complete", "failed"}, within=60)
        assert task.status == "failed"
        assert task.attempts == 3  # every attempt JOB_OPTIONS allows was made
        body = await (await client.get(f"/api/tasks/{task_id}", headers=token)).get_json()
        assert body["status"] == "failed" and "failed" in body["error"]
        note = await Notification.get(user_id=user.id, kind="task_progress")
        assert note.data["status"] == "failed"
        # the user may try again
        assert (await client.post("/api/exports", headers=token)).status_code == 202
    finally:
        stop_process(proc)
