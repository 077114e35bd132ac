"""Structured logs as an operator reads them: a real `microblog serve` and a real worker
with LOG_FORMAT=json. A request's id reaches the job it enqueued; no credential reaches
either log."""

from __future__ import annotations

import asyncio
import json
import re
from pathlib import Path
from typing import Any

import httpx
import pytest
import socketio

from microblog import logs
from tests.conftest import start_server, start_worker, stop_process
from tests.helpers import csrf_from, make_user, present
from tests.realtime import Api

PASSWORD = "correct horse battery"  # noqa: S105
NEW_PASSWORD = "a new password 7"  # noqa: S105


def records(path: Path) -> list[dict[str, Any]]:
    """Every line of a process's stderr, each of which must be one JSON object."""
    lines = [line for line in path.read_text().splitlines() if line.strip()]
    parsed = []
    for line in lines:
        try:
            parsed.append(json.loads(line))
        except json.JSONDecodeError:
            raise AssertionError(f"{path.name}: not a JSON log line: {line!r}") from None
    return parsed


async def wait_record(path: Path, predicate: Any, within: float = 20.0) -> dict[str, Any]:
    deadline = asyncio.get_running_loop().time() + within
    while True:
        found = [r for r in records(path) if predicate(r)]
        if found:
            return found[0]
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"{path.name}: no matching record within {within}s; got "
                                 f"{[r.get('message') for r in records(path)][-20:]}")
        await asyncio.sleep(0.1)


@pytest.fixture
def own_queue(settings):
    """The server and worker of these tests on a queue of their own, so the session's worker
    (if another test started it) cannot take their jobs."""
    return settings.with_(redis_namespace=f"{settings.redis_namespace}:logs")


async def test_request_id_reaches_the_job_and_no_secret_reaches_the_logs(
        own_queue, db, mailbox, tmp_path):
    await make_user("alice", PASSWORD, email="alice@example.com")
    server_log, worker_log = tmp_path / "serve.log", tmp_path / "worker.log"
    with server_log.open("w") as server_err, worker_log.open("w") as worker_err:
        worker = start_worker(own_queue, stderr=worker_err, LOG_FORMAT="json",
                              LOG_LEVEL="INFO")
        server = start_server(own_queue, stderr=server_err, LOG_FORMAT="json",
                              LOG_LEVEL="INFO", ACCESS_LOG="1")
        try:
            async with httpx.AsyncClient(base_url=server.url, timeout=10) as http:
                form = await http.get("/auth/reset")
                response = await http.post(
                    "/auth/reset", headers={"X-Request-ID": "abc-123"},
                    data={"email": "alice@example.com", "csrf_token": csrf_from(form.text)})
                assert response.status_code == 302
                assert response.headers["X-Request-ID"] == "abc-123"

                email = await mailbox.wait_for("alice@example.com")
                text = email.get_body(("plain",)).get_content()
                reset_path = present(re.search(r"(/auth/reset/[\w-]+)", text)).group(1)
                reset_token = reset_path.rsplit("/", 1)[1]
                page = await http.get(reset_path)
                assert page.status_code == 200
                done = await http.post(reset_path, data={
                    "password": NEW_PASSWORD, "password2": NEW_PASSWORD,
                    "csrf_token": csrf_from(page.text)})
                assert done.status_code == 302

                # an API user: its password and token go over the wire, never into a log
                api = Api(server.url)
                await api.register("bob", PASSWORD)
                listed = await api.http.get("/api/posts?token=" + api.token,
                                            headers={"X-Request-ID": "api-7"})
                assert listed.status_code == 200 and listed.headers["X-Request-ID"] == "api-7"
                await api.close()

                # a malformed id is replaced by one of ours, never echoed
                for bad in ("has spaces", "x" * 200, "semi;colon"):
                    answer = await http.get("/healthz", headers={"X-Request-ID": bad})
                    assert answer.headers["X-Request-ID"] != bad
                    assert re.fullmatch(r"[0-9a-f]{32}", answer.headers["X-Request-ID"])
                # without one, every response still gets an id
                assert re.fullmatch(r"[0-9a-f]{32}",
                                    (await http.get("/healthz")).headers["X-Request-ID"])

            # a Socket.IO connection logs under the id its handshake carried
            refused = socketio.AsyncClient(reconnection=False)
            with pytest.raises(socketio.exceptions.ConnectionError):
                await refused.connect(server.url, auth={"token": "forged-" + reset_token},
                                      headers={"X-Request-ID": "sock-42"},
                                      transports=["websocket"], wait_timeout=10)
            await refused.shutdown()

            # the server: the request's own line and its access line carry the id
            requested = await wait_record(
                server_log, lambda r: r["message"].startswith("password reset requested"))
            assert requested["request_id"] == "abc-123"
            assert requested["level"] == "INFO" and requested["logger"].startswith("microblog")
            assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", requested["time"])
            access = await wait_record(
                server_log, lambda r: r["logger"] == "hypercorn.access"
                and r.get("request_id") == "abc-123")
            assert access["http"]["method"] == "POST" and access["http"]["status"] == 302
            visited = await wait_record(
                server_log, lambda r: r["logger"] == "hypercorn.access"
                and r["http"]["path"].startswith("/auth/reset/"))
            assert visited["http"]["path"] == "/auth/reset/***"
            socket_line = await wait_record(
                server_log, lambda r: r["message"].startswith("socket refused"))
            assert socket_line["request_id"] == "sock-42"

            # the worker: the job's lines carry the same id and the job's identity
            sent = await wait_record(
                worker_log, lambda r: r["message"].startswith("password reset email"))
            assert sent["request_id"] == "abc-123"
            assert sent["job"]["function"] == "send_password_reset_email"
            assert sent["job"]["attempt"] == 1 and sent["job"]["key"]
        finally:
            server.stop()
            stop_process(worker)

    server_text, worker_text = server_log.read_text(), worker_log.read_text()
    assert records(server_log) and records(worker_log)  # every line is JSON, to the last
    for secret in (reset_token, PASSWORD, NEW_PASSWORD, api.token, own_queue.secret_key):
        assert secret not in server_text, "a credential reached the server's log"
        assert secret not in worker_text, "a credential reached the worker's log"


def test_redaction_of_what_libraries_log():
    """What SAQ, Hypercorn and drivers put in messages: job reprs with kwargs, headers,
    URLs with passwords, query strings."""
    job = ("Job<function: send_password_reset_email, kwargs: {'token_id': 5, "
           "'token': 'Zx9_abcDEF-123', 'locale': None}>")
    assert "Zx9_abcDEF-123" not in logs.redact(job) and "'token_id': 5" in logs.redact(job)
    assert logs.redact("redis://:hunter22@127.0.0.1:6379/0") == "redis://:***@127.0.0.1:6379/0"
    assert logs.redact("postgres://app:pw@db/x") == "postgres://app:***@db/x"
    assert logs.redact("Authorization: Bearer abcdefghijklmn") == "Authorization: ***"
    assert "QUART_AUTH=xyz" not in logs.redact("[(b'cookie', b'QUART_AUTH=xyz')]")
    assert logs.redact("GET /api/posts?token=abc&page=2") == "GET /api/posts?token=***&page=2"
    assert logs.redact("password=p%40ss&username=bob") == "password=***&username=bob"
    assert logs.redact("token_id=5 last_event_id=7") == "token_id=5 last_event_id=7"
    assert logs.redact_mapping({"token": "t", "token_id": 1}) == {"token": "***", "token_id": 1}


async def test_the_cron_sweeps_run_quietly_at_info(settings, db, tmp_path):
    """Every 5 s two cron sweeps run; at INFO they leave no line (they would drown the log)."""
    import secrets

    from microblog.jobs.queue import make_queue
    from microblog.services.emails import queue_message_digests
    from microblog.services.scheduled import publish_due_posts

    isolated = settings.with_(
        redis_namespace=f"{settings.redis_namespace}:cron{secrets.token_hex(3)}")
    queue = make_queue(isolated)
    await queue.connect()
    log_path = tmp_path / "worker.log"
    with log_path.open("w") as err:
        worker = start_worker(isolated, stderr=err, LOG_LEVEL="INFO")
        try:
            # each sweep has run at least twice: SAQ keeps its last run under `cron:<name>`
            runs: dict[str, set[int]] = {}
            deadline = asyncio.get_running_loop().time() + 30
            while any(len(runs.get(f.__name__, ())) < 2
                      for f in (publish_due_posts, queue_message_digests)):
                assert asyncio.get_running_loop().time() < deadline, runs
                for function in (publish_due_posts, queue_message_digests):
                    job = await queue.job(f"cron:{function.__name__}")
                    if job is not None and job.completed:
                        runs.setdefault(function.__name__, set()).add(job.completed)
                await asyncio.sleep(0.2)
        finally:
            stop_process(worker)
            await queue.disconnect()
    output = log_path.read_text()
    assert "worker started" in output  # INFO lines are written
    assert "publish_due_posts" not in output and "queue_message_digests" not in output, output
