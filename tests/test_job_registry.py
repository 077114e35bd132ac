"""The job registry: one declaration per job feeds the worker, the enqueue options and the
policy for a broker outage, which these tests exercise against a Redis that is really down."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from prometheus_client import REGISTRY

from microblog.devservices import EmbeddedRedis
from microblog.infra import resources
from microblog.jobs import registry
from microblog.jobs.queue import make_queue
from microblog.models import Follow, PasswordResetToken, Task
from microblog.services import emails, tasks
from microblog.settings import Settings
from microblog.worker import load_jobs, make_worker
from tests.helpers import login, make_user, submit
from tests.test_api import token_for


def enqueue_failures(function: str) -> float:
    return REGISTRY.get_sample_value("jobs_enqueue_failed_total", {"function": function}) or 0.0


def test_the_worker_runs_every_declared_job_and_cron(settings: Settings) -> None:
    worker = make_worker(settings)
    declared = {spec.name for spec in registry.jobs()}
    assert {"send_follow_email", "send_comment_email", "send_message_digest",
            "send_password_reset_email", "export_posts", "send_export_email",
            "publish_scheduled_post", "index_post", "remove_post"} <= declared
    # SAQ adds its own cron wrappers to the function table; every declaration is in it
    assert declared <= set(worker.functions)
    assert {c.function.__name__ for c in worker.cron_jobs} == {
        spec.name for spec in registry.crons()} == {"publish_due_posts", "queue_message_digests",
                                                  "reconcile_search_index"}
    assert "ping" not in worker.functions  # benchmark jobs live with the benchmarks


def test_keys_and_options_come_from_the_declaration() -> None:
    load_jobs()
    spec = registry.spec_of(emails.send_follow_email)
    assert spec.key_for({"follower_id": 3, "followed_id": 7}) == "send_follow_email:3:7"
    assert registry.job_key(tasks.export_posts, task_id="abc") == "export_posts:abc"
    options = registry.spec_of(tasks.export_posts).options()
    assert options["heartbeat"] == 10 and options["retries"] == 3 and options["timeout"] == 1800


async def test_enqueueing_something_undeclared_is_refused() -> None:
    async def not_a_job(ctx: dict[str, Any]) -> None:
        return None

    with pytest.raises(LookupError, match="not a declared job"):
        await registry.enqueue(not_a_job)


@pytest.fixture
async def queue_down(app: Any, db: None, settings: Settings,
                     own_redis: EmbeddedRedis) -> AsyncIterator[None]:
    """The app's job queue is on a Redis that is stopped for the test."""
    queue = make_queue(settings.with_(redis_url=own_redis.url))
    await queue.connect()
    previous, resources.queue = resources.queue, queue
    own_redis.stop()
    try:
        yield
    finally:
        resources.queue = previous
        own_redis.start()
        await queue.disconnect()


async def test_password_reset_with_redis_down_is_a_clear_503_and_leaves_no_token(
        client: Any, queue_down: None) -> None:
    await make_user("alice", email="alice@example.com")
    before = enqueue_failures("send_password_reset_email")
    response = await submit(client, "/auth/reset", {"email": "alice@example.com"})
    assert response.status_code == 503
    html = await response.get_data(as_text=True)
    assert "We cannot send email right now" in html
    assert await PasswordResetToken.all().count() == 0
    assert enqueue_failures("send_password_reset_email") == before + 1


async def test_a_follow_with_redis_down_stands_and_only_its_email_is_lost(
        client: Any, queue_down: None) -> None:
    alice = await make_user("alice")
    bob = await make_user("bob")
    await login(client, "bob")
    before = enqueue_failures("send_follow_email")
    response = await submit(client, "/user/alice", {}, action="/follow/alice")
    assert response.status_code == 302
    assert await Follow.filter(follower_id=bob.id, followed_id=alice.id).exists()
    assert enqueue_failures("send_follow_email") == before + 1


async def test_an_export_with_redis_down_is_a_503_and_its_task_says_failed(
        client: Any, queue_down: None) -> None:
    await make_user("alice")
    response = await client.post("/api/exports", headers=await token_for(client, "alice"))
    assert response.status_code == 503
    assert (await response.get_json())["message"].startswith("Exports are unavailable")
    task = await Task.get()
    assert task.status == "failed"
