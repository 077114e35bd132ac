"""/metrics as an operator's Prometheus sees it: real `microblog serve` instances, a real
worker, real Socket.IO clients; the exposition parsed with prometheus_client's own parser."""

import asyncio
import secrets
import time
from collections.abc import Callable

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from microblog.devservices import free_port
from microblog.jobs import admin
from microblog.jobs.queue import make_queue
from microblog.jobs.registry import spec_of
from microblog.metrics import address_allowed
from microblog.services.emails import send_message_digest
from microblog.settings import Settings, SettingsError
from tests.conftest import start_server, start_worker, stop_process
from tests.realtime import Api, Recorder

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


async def scrape(url: str) -> tuple[set[str], Samples]:
    """The metric families an instance declares and every sample's value."""
    async with httpx.AsyncClient(timeout=10) as http:
        response = await http.get(url + "/metrics")
    assert response.status_code == 200, f"{response.status_code}: {response.text}"
    assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
    families, samples = set(), {}
    for family in text_string_to_metric_families(response.text):
        families.add(family.name)
        for s in family.samples:
            samples[(s.name, frozenset(s.labels.items()))] = s.value
    return families, samples


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def total(samples: Samples, name: str, **labels: str) -> float:
    """The sum over every sample of `name` whose labels include `labels`."""
    wanted = set(labels.items())
    return sum(v for (n, ls), v in samples.items() if n == name and wanted <= ls)


async def scrape_when_up(url: str, within: float = 15.0) -> tuple[set[str], Samples]:
    """The first scrape of a process that may still be starting."""
    deadline = time.monotonic() + within
    while True:
        try:
            return await scrape(url)
        except httpx.ConnectError:
            assert time.monotonic() < deadline, f"nothing listens at {url}"
            await asyncio.sleep(0.1)


async def until(url: str, check: Callable[[Samples], bool], within: float = 10.0) -> Samples:
    """Scrape until `check` holds: counters move just after the event reaches the client."""
    deadline = time.monotonic() + within
    while True:
        _, samples = await scrape(url)
        if check(samples):
            return samples
        assert time.monotonic() < deadline, f"metrics of {url} never matched"
        await asyncio.sleep(0.1)


@pytest.fixture
async def people(server, server2, db):
    made = {}
    for name, base in (("author", server.url), ("fan", server2.url)):
        api = Api(base)
        made[name] = (api, await api.register(name))
    yield made
    for api, _ in made.values():
        await api.close()


EXPECTED = {
    "http_requests", "http_request_duration_seconds", "socketio_connected",
    "socketio_connections", "events_published", "events_delivered", "fanout_latency_seconds",
    "events_replayed", "jobs", "job_duration_seconds", "jobs_queued",
}


async def test_metrics_from_loopback_lists_every_metric(server):
    families, samples = await scrape(server.url)
    assert families >= EXPECTED
    # the queue's states, read from Redis at scrape time
    for state in ("queued", "active", "scheduled"):
        assert ("jobs_queued", frozenset({("state", state)})) in samples


async def test_a_connected_socket_is_counted_while_it_is_connected(server, people):
    author, _ = people["author"]
    _, before = await scrape(server.url)
    connected = value(before, "socketio_connected")
    accepted = value(before, "socketio_connections_total")
    socket = await Recorder("gauge").connect(server.url, author.token)
    try:
        now = await until(server.url,
                          lambda s: value(s, "socketio_connected") == connected + 1)
        assert value(now, "socketio_connections_total") == accepted + 1
    finally:
        await socket.disconnect()
    after = await until(server.url, lambda s: value(s, "socketio_connected") == connected)
    assert value(after, "socketio_connections_total") == accepted + 1


async def test_a_post_is_published_on_one_instance_and_delivered_on_the_other(
        server, server2, people):
    (author, author_doc), (fan, _) = people["author"], people["fan"]
    assert (await fan.http.post(f"/api/me/following/{author_doc['id']}")).status_code == 204
    fan_socket = await Recorder("fan").connect(server2.url, fan.token)
    try:
        _, a0 = await scrape(server.url)
        _, b0 = await scrape(server2.url)
        post = await author.http.post("/api/posts", json={"body": "counted on the way"})
        assert post.status_code == 201
        received = await fan_socket.wait_for("post.created")
        # the publish time travels beside the event, never in it: the payload is the API's
        assert received[0] == post.json()

        a1 = await until(server.url, lambda s: value(
            s, "events_published_total", event="post.created", kind="room")
            == value(a0, "events_published_total", event="post.created", kind="room") + 1)
        b1 = await until(server2.url, lambda s: value(
            s, "fanout_latency_seconds_count", event="post.created")
            == value(b0, "fanout_latency_seconds_count", event="post.created") + 1)
        # one socket on instance B had it
        assert (value(b1, "events_delivered_total", event="post.created")
                == value(b0, "events_delivered_total", event="post.created") + 1)
        # B published nothing and A held no socket for it
        assert (value(b1, "events_published_total", event="post.created", kind="room")
                == value(b0, "events_published_total", event="post.created", kind="room"))
        assert (value(a1, "events_delivered_total", event="post.created")
                == value(a0, "events_delivered_total", event="post.created"))
    finally:
        await fan_socket.disconnect()


async def test_a_personal_event_crosses_instances_through_the_personal_channel(
        server, server2, people):
    (author, author_doc), (fan, _) = people["author"], people["fan"]
    author_socket = await Recorder("author").connect(server.url, author.token)
    try:
        _, a0 = await scrape(server.url)
        _, b0 = await scrape(server2.url)
        # the fan's API client is on instance B: B publishes the follow notification
        assert (await fan.http.post(f"/api/me/following/{author_doc['id']}")).status_code == 204
        await author_socket.wait_for("notification")
        await until(server2.url, lambda s: value(
            s, "events_published_total", event="notification", kind="personal")
            == value(b0, "events_published_total", event="notification", kind="personal") + 1)
        a1 = await until(server.url, lambda s: value(
            s, "fanout_latency_seconds_count", event="notification")
            == value(a0, "fanout_latency_seconds_count", event="notification") + 1)
        assert (value(a1, "events_delivered_total", event="notification")
                == value(a0, "events_delivered_total", event="notification") + 1)
    finally:
        await author_socket.disconnect()


async def test_replay_after_a_reconnect_is_counted(server, server2, people):
    (author, author_doc), (fan, _) = people["author"], people["fan"]
    first = await Recorder("before").connect(server2.url, author.token)
    await fan.http.post(f"/api/me/following/{author_doc['id']}")
    await first.wait_for("notification")
    seen = first.personal_ids()[-1]
    await first.disconnect()
    # while the author is away: two more notifications
    await fan.http.delete(f"/api/me/following/{author_doc['id']}")
    await fan.http.post(f"/api/me/following/{author_doc['id']}")
    await fan.http.delete(f"/api/me/following/{author_doc['id']}")
    await fan.http.post(f"/api/me/following/{author_doc['id']}")

    _, before = await scrape(server2.url)
    replayed = value(before, "events_replayed_total")
    again = await Recorder("after").connect(server2.url, author.token, last_event_id=seen)
    try:
        await again.wait_for("notification", count=2)
        assert again.personal_ids() == [seen + 1, seen + 2]
        await until(server2.url, lambda s: value(s, "events_replayed_total") == replayed + 2)
        # a connection without last_event_id starts from now: nothing replayed
        fresh = await Recorder("fresh").connect(server2.url, author.token)
        await asyncio.sleep(0.5)
        await fresh.disconnect()
        _, after = await scrape(server2.url)
        assert value(after, "events_replayed_total") == replayed + 2
    finally:
        await again.disconnect()


async def test_requests_are_counted_by_route_template_not_path(server, people):
    async with httpx.AsyncClient(base_url=server.url, timeout=10) as http:
        _, before = await scrape(server.url)
        for name in ("author", "fan"):
            assert (await http.get(f"/user/{name}")).status_code == 200
        assert (await http.get("/no/such/page/" + secrets.token_hex(4))).status_code == 404
    _, after = await scrape(server.url)
    route = "/user/<username:username>"
    assert (value(after, "http_requests_total", method="GET", route=route, status="200")
            == value(before, "http_requests_total", method="GET", route=route, status="200") + 2)
    assert (value(after, "http_request_duration_seconds_count", method="GET", route=route)
            == value(before, "http_request_duration_seconds_count", method="GET", route=route)
            + 2)
    assert (value(after, "http_requests_total", method="GET", route="unmatched", status="404")
            == value(before, "http_requests_total", method="GET", route="unmatched",
                     status="404") + 1)
    # no raw path ever becomes a label
    routes = {dict(labels).get("route") for (_, labels) in after}
    assert not any(r and ("/user/author" in r or "/no/such" in r) for r in routes)


@pytest.fixture
async def own_queue(settings):
    """A worker of our own, on a namespace nobody else's worker takes jobs from."""
    isolated = settings.with_(redis_namespace=f"{settings.redis_namespace}:m{secrets.token_hex(3)}")
    queue = make_queue(isolated)
    await queue.connect()
    yield isolated, queue
    await queue.disconnect()


async def test_jobs_waiting_in_the_queue_are_gauged_at_scrape_time(own_queue):
    isolated, queue = own_queue  # no worker and no cron jobs: the counts are ours alone
    server = start_server(isolated)
    try:
        _, before = await scrape(server.url)
        assert [value(before, "jobs_queued", state=s) for s in ("queued", "active", "scheduled")
                ] == [0, 0, 0]
        later = await queue.enqueue("ping", ttl=3600, scheduled=time.time() + 3600)
        now = await queue.enqueue("ping")
        assert later is not None and now is not None
        _, waiting = await scrape(server.url)
        assert value(waiting, "jobs_queued", state="queued") == 1
        assert value(waiting, "jobs_queued", state="scheduled") == 1
        for job in (later, now):
            await admin.abort(queue, job.key, wait=0)
        _, after = await scrape(server.url)
        assert value(after, "jobs_queued", state="queued") == 0
        assert value(after, "jobs_queued", state="scheduled") == 0
    finally:
        server.stop()


async def test_a_job_run_by_the_worker_shows_in_its_metrics(own_queue, db):
    isolated, queue = own_queue
    bind = f"127.0.0.1:{free_port()}"
    proc = start_worker(isolated, REDIS_NAMESPACE=isolated.redis_namespace,
                        WORKER_METRICS_BIND=bind)
    url = f"http://{bind}"
    try:
        families, _ = await scrape_when_up(url)
        assert {"jobs", "job_duration_seconds"} <= families
        # a real job with nothing to do (no such user)
        name = send_message_digest.__name__
        job = await queue.enqueue(name, user_id=0, **spec_of(send_message_digest).options())
        assert job is not None
        await job.refresh(until_complete=10)
        assert job.result == "skipped: user gone"
        samples = await until(url, lambda s: value(
            s, "jobs_total", function=name, outcome="complete") == 1)
        assert value(samples, "job_duration_seconds_count", function=name,
                     outcome="complete") == 1
        # a job that cannot run, attempted once: failed, under a bounded label
        bad = await queue.enqueue("no_such_function", retries=1, timeout=5)
        assert bad is not None
        await until(url, lambda s: value(s, "jobs_total", function="other", outcome="failed")
                    == 1)
        assert total(samples, "jobs_total", function="no_such_function") == 0
    finally:
        stop_process(proc)


async def test_metrics_refused_to_addresses_not_allowed(settings, own_queue):
    isolated, _ = own_queue
    server = start_server(settings, METRICS_ALLOWED="10.0.0.0/8")
    bind = f"127.0.0.1:{free_port()}"
    proc = start_worker(isolated, REDIS_NAMESPACE=isolated.redis_namespace,
                        WORKER_METRICS_BIND=bind, METRICS_ALLOWED="10.0.0.0/8,fd00::/8")
    try:
        async with httpx.AsyncClient(timeout=10) as http:
            refused = await http.get(server.url + "/metrics")
            assert refused.status_code == 403
            assert "http_requests" not in refused.text
            assert (await http.get(server.url + "/healthz")).status_code == 200
            # a forwarded-for header is not an address
            spoofed = await http.get(server.url + "/metrics",
                                     headers={"X-Forwarded-For": "10.1.2.3",
                                              "Remote-Addr": "10.1.2.3"})
            assert spoofed.status_code == 403
            with pytest.raises(AssertionError, match="403"):
                await scrape_when_up(f"http://{bind}")
    finally:
        server.stop()
        stop_process(proc)


def test_allowed_addresses_are_checked_against_networks():
    allowed = Settings.from_env({"METRICS_ALLOWED": "10.0.0.0/8, 192.168.1.7"}).metrics_allowed
    assert address_allowed("10.20.30.40", allowed)
    assert address_allowed("::ffff:10.0.0.1", allowed)  # an IPv4 peer on a dual-stack socket
    assert address_allowed("192.168.1.7", allowed)
    assert not address_allowed("192.168.1.8", allowed)
    assert not address_allowed("127.0.0.1", allowed)
    assert not address_allowed(None, allowed)
    assert not address_allowed("not-an-ip", allowed)
    default = Settings.from_env({}).metrics_allowed
    assert address_allowed("127.0.0.1", default) and address_allowed("::1", default)
    with pytest.raises(SettingsError, match="METRICS_ALLOWED"):
        Settings.from_env({"METRICS_ALLOWED": "10.0.0.0/8,localhost"})
