"""The deployment topology: `microblog cluster` (what `make cluster` runs) and docker-compose.

The cluster tests start a real `microblog cluster` — two `microblog serve` instances, a
worker and Debian's nginx in front — on the test database and Redis namespace (so it starts
no embedded service), and drive it only through nginx, as users do. The compose tests read
docker-compose.yml (with `docker compose config` too when that client is installed).
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from microblog.cluster import DEFAULT_NGINX, compose_nginx_conf
from microblog.devservices import free_port
from microblog.settings import ROOT, Settings
from tests.conftest import CI, settings_env
from tests.helpers import csrf_from
from tests.realtime import Api, Recorder

SERVICES = {"postgres", "redis", "elasticsearch", "migrate", "app1", "app2", "worker", "nginx",
            "mailpit"}
APP_SERVICES = {"migrate", "app1", "app2", "worker"}


# --- the cluster -----------------------------------------------------------------------------


@dataclass
class Cluster:
    url: str
    process: subprocess.Popen[bytes]
    directory: Path  # its INSTANCE_DIR
    log: Path

    @property
    def state_file(self) -> Path:
        return self.directory / "cluster" / "cluster.json"

    def state(self) -> dict[str, Any]:
        return dict(json.loads(self.state_file.read_text()))

    def output(self) -> str:
        return self.log.read_text(errors="replace")[-4000:]

    def access_log(self) -> list[str]:
        path = self.directory / "cluster" / "nginx" / "logs" / "access.log"
        return path.read_text().splitlines() if path.exists() else []

    def upstreams(self, lines: list[str]) -> set[str]:
        """The instances (host:port) that served these access log lines ("-": nginx itself)."""
        found = {m.group(1) for line in lines if (m := re.search(r"upstream=([^ ,]+)", line))}
        return found - {"-"}

    def instance_addresses(self) -> set[str]:
        return {i["url"].removeprefix("http://") for i in self.state()["instances"]}


def nginx_binary() -> str | None:
    return DEFAULT_NGINX if os.access(DEFAULT_NGINX, os.X_OK) else shutil.which("nginx")


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


@pytest.fixture(scope="module")
def cluster(settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    """`microblog cluster --port <free>` with its own INSTANCE_DIR; ready once nginx's /readyz
    answers 200. Stopped at the end with SIGTERM: every process it started must be gone."""
    if nginx_binary() is None:
        if CI:
            pytest.fail("CI=true but nginx is not installed (.ci/run installs it)")
        pytest.skip("nginx is not installed (scripts/ensure-nginx.sh)")
    directory = tmp_path_factory.mktemp("cluster")
    port = free_port()
    log = directory / "cluster.log"
    env = {**settings_env(settings), "INSTANCE_DIR": str(directory)}
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "microblog.cli", "cluster", "--port", str(port)],
            env=env, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT)
    running = Cluster(f"http://127.0.0.1:{port}", process, directory, log)
    try:
        deadline = time.monotonic() + 90
        while True:
            assert process.poll() is None, f"microblog cluster exited:\n{running.output()}"
            assert time.monotonic() < deadline, f"cluster not ready:\n{running.output()}"
            if running.state_file.exists():
                try:
                    if httpx.get(f"{running.url}/readyz", timeout=2).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
            time.sleep(0.2)
        yield running
    finally:
        state = running.state() if running.state_file.exists() else {}
        pids = [i["pid"] for i in state.get("instances", []) if i["pid"]]
        pids += [p for p in (state.get("worker_pid"), state.get("nginx_pid")) if p]
        process.send_signal(signal.SIGTERM)
        try:
            code = process.wait(40)
        except subprocess.TimeoutExpired:
            process.kill()
            raise AssertionError(f"the cluster did not stop:\n{running.output()}") from None
        assert code == 0, running.output()
        assert pids and not [pid for pid in pids if alive(pid)], running.output()
        assert not running.state_file.exists()


async def test_pages_and_the_api_work_through_nginx_on_both_instances(cluster, db):
    before = len(cluster.access_log())
    async with httpx.AsyncClient(base_url=cluster.url, timeout=10) as http:
        form = await http.get("/auth/register")
        assert form.status_code == 200
        registered = await http.post("/auth/register", data={
            "username": "balanced", "email": "balanced@example.com",
            "password": "through nginx", "password2": "through nginx",
            "csrf_token": csrf_from(form.text)})
        # registering signs in
        assert registered.status_code == 302, registered.text
        assert registered.headers["location"] == "/"
        home = await http.get("/")
        assert home.status_code == 200 and "balanced" in home.text
        posted = await http.post("/", data={"post": "hello from behind the balancer",
                                             "csrf_token": csrf_from(home.text)})
        assert posted.status_code == 302
        for _ in range(4):  # every page, whichever instance serves it, knows the session
            home = await http.get("/")
            assert "hello from behind the balancer" in home.text
        assert (await http.get("/metrics")).status_code == 404  # per instance, not public
        # nginx adds HSTS (the instances' PUBLIC_URL is http://, so they send none): once
        hsts = home.headers.get_list("Strict-Transport-Security")
        assert hsts == ["max-age=31536000; includeSubDomains"], hsts

    api = Api(cluster.url)
    try:
        me = await api.register("api_balanced")
        created = await api.http.post("/api/posts", json={"body": "posted through the API"})
        assert created.status_code == 201
        timeline = (await api.http.get("/api/timeline")).json()
        assert [p["body"] for p in timeline["items"]] == ["posted through the API"]
        assert (await api.http.get(f"/api/users/{me['id']}")).json()["post_count"] == 1
    finally:
        await api.close()
    # nginx's access log names the instance that served each request: both did
    served = cluster.access_log()[before:]
    assert cluster.upstreams(served) == cluster.instance_addresses(), served


async def test_sockets_work_through_nginx_over_websocket_and_long_polling(cluster, db):
    star, fan = Api(cluster.url), Api(cluster.url)
    star_doc = await star.register("lb_star")
    await fan.register("lb_fan")
    websocket = await Recorder("websocket").connect(cluster.url, star.token)
    polling = Recorder("polling")
    await polling.client.connect(cluster.url, auth={"token": star.token},
                                 transports=["polling"], wait_timeout=10)
    try:
        assert polling.client.transport() == "polling"
        for _ in range(3):  # each a POST, each answered through the pending GET
            assert await polling.call("subscribe", {"stream": "explore"}) == {"ok": True}
            assert await polling.call("unsubscribe", {"stream": "explore"}) == {"ok": True}
        assert (await fan.http.post(f"/api/me/following/{star_doc['id']}")).status_code == 204
        for tab in (websocket, polling):
            note = (await tab.wait_for("notification"))[0]
            assert note["kind"] == "follow" and note["data"]["user"]["username"] == "lb_fan"
        # the sticky rule: every request of the polling session reached the same instance
        sid = polling.client.eio.sid
        session = [line for line in cluster.access_log() if f"sid={sid}" in line]
        assert len(session) >= 2 and len(cluster.upstreams(session)) == 1, session
    finally:
        await websocket.disconnect()
        # python-engineio's client would wait for its pending long-poll GET to return (up to
        # the 25 s ping interval) before disconnecting; the server learns of the close at once
        await polling.client.eio.disconnect(abort=True)
        await polling.disconnect()


class Tab(Recorder):
    """A browser tab: it reconnects by itself and asks for every personal event after the
    last one it received, as static/js/realtime.js does. `door` holds its reconnections (not
    its first connection) until the test opens it, so events can be published while it is
    certainly away."""

    def __init__(self, name: str) -> None:
        super().__init__(name, reconnection=True)
        self.door = asyncio.Event()
        self.door.set()

    async def connect(self, url: str, token: str, last_event_id: int | None = None,
                      transports: tuple[str, ...] = ("websocket",)) -> Tab:
        async def auth() -> dict[str, Any]:  # python-socketio awaits it at every connection
            if self.connects:
                await self.door.wait()
            seen = max(self.personal_ids(), default=last_event_id)
            return {"token": token} if seen is None else {"token": token, "last_event_id": seen}

        await self.client.connect(url, auth=auth, transports=list(transports), wait_timeout=10)
        return self

    def personal(self) -> list[tuple[int, str, str | None]]:
        return [(d["event_id"], e, d.get("kind")) for e, d in self.events if "event_id" in d]


async def wait_for_state(cluster: Cluster, predicate: Any, within: float = 30.0) -> dict:
    deadline = time.monotonic() + within
    while True:
        state = cluster.state()
        if predicate(state):
            return state
        assert time.monotonic() < deadline, f"cluster.json: {state}\n{cluster.output()}"
        await asyncio.sleep(0.1)


async def answers_or_drops(tab: Tab, within: float = 15.0) -> None:
    """Once an instance has exited, a tab either gets an ack (it is on the other instance) or
    sees its connection dropped (it was on the stopped one), whichever comes first."""
    call = asyncio.ensure_future(tab.call("unsubscribe", {"stream": "explore"}))
    dropped = asyncio.ensure_future(tab.wait_until(lambda t: bool(t.disconnects), within))
    done, pending = await asyncio.wait({call, dropped}, return_when=asyncio.FIRST_COMPLETED)
    for task in pending:
        task.cancel()
    if call in done and call.exception() is None:
        assert call.result() == {"ok": True}
    else:  # no ack: it must be the dropped kind
        await tab.wait_until(lambda t: bool(t.disconnects), within)


async def test_a_client_survives_the_instance_it_was_on_being_stopped(cluster, db):
    """Four tabs of one user connect through nginx over WebSocket. nginx balances WebSocket
    connections by least connections, so consecutive connections alternate between the two
    instances; four tabs put at least one on each even if an earlier test left a connection or
    two open on one of them (asserted: some tabs are dropped, some are not). Instance 1 gets
    a plain SIGTERM; each tab that was on it reconnects through nginx to the other instance,
    the only one left, and must receive what was published while it was away (its
    reconnection waits until then) exactly once, in order, then live events; the tabs that
    stayed receive the same sequence live."""
    star, fans = Api(cluster.url), [Api(cluster.url) for _ in range(3)]
    star_doc = await star.register("sticky_star")
    for number, fan in enumerate(fans, 1):
        await fan.register(f"sticky_fan{number}")
    follow = f"/api/me/following/{star_doc['id']}"
    tabs = [await Tab(f"tab{n}").connect(cluster.url, star.token) for n in range(1, 5)]
    try:
        await fans[0].http.post(follow)
        for tab in tabs:
            await tab.wait_for("notification")
        first = tabs[0].personal()[0][0]

        for tab in tabs:
            tab.door.clear()
        stopped = cluster.state()["instances"][0]
        os.kill(stopped["pid"], signal.SIGTERM)
        # the cluster reports the exit (and nginx routes around the instance)
        await wait_for_state(cluster, lambda s: s["instances"][0]["pid"] is None)
        for tab in tabs:  # each tab answers from the other instance, or notices it was dropped
            await answers_or_drops(tab)
        moved = [tab for tab in tabs if tab.disconnects]
        stayed = [tab for tab in tabs if not tab.disconnects]
        assert moved and stayed, (
            "expected tabs on both instances (nginx: least_conn): "
            f"{[(t.name, t.disconnects) for t in tabs]}")
        for tab in moved:  # a server-side disconnect would be final: no reconnection
            assert tab.disconnects != ["io server disconnect"], tab.name

        # while the moved tabs are away: two follows, and the bell read elsewhere
        for fan in fans[1:]:
            assert (await fan.http.post(follow)).status_code == 204
        assert (await star.http.post("/api/notifications/read", json={})).status_code == 200
        for tab in stayed:
            await tab.wait_for("notifications.read", within=15)
        assert not [tab.name for tab in moved if tab.of("notifications.read")]  # still away

        for tab in moved:
            tab.door.set()
        for tab in moved:
            await tab.wait_until(lambda t: t.connects == 2, within=30)
            await tab.wait_for("notifications.read", within=15)
        # and live events continue on every tab, without duplicates
        await fans[0].http.delete(follow)
        await fans[0].http.post(follow)
        for tab in tabs:
            await tab.wait_for("notification", count=4, within=15)
        expected = [(first, "notification", "follow"), (first + 1, "notification", "follow"),
                    (first + 2, "notification", "follow"),
                    (first + 3, "notifications.read", None),
                    (first + 4, "notification", "follow")]
        await asyncio.sleep(0.5)  # a duplicate would arrive now
        for tab in tabs:
            assert tab.personal() == expected, tab.name
            assert not tab.invalid
        assert [t.connects for t in stayed] == [1] * len(stayed)
        assert [t.connects for t in moved] == [2] * len(moved)
    finally:
        for tab in tabs:
            await tab.disconnect()
        for api in (star, *fans):
            await api.close()


async def test_sighup_restarts_every_instance_while_clients_keep_everything(cluster, db):
    """An operator's rolling restart (`kill -HUP` the cluster): each instance in turn stops
    and starts again on its port (a stopped one just starts), then the worker. A tab connected
    through nginx is moved at least once and misses nothing."""
    star, fans = Api(cluster.url), [Api(cluster.url) for _ in range(3)]
    star_doc = await star.register("rolling_star")
    for number, fan in enumerate(fans, 1):
        await fan.register(f"rolling_fan{number}")
    follow = f"/api/me/following/{star_doc['id']}"
    tab = await Tab("tab").connect(cluster.url, star.token)
    try:
        await fans[0].http.post(follow)
        await tab.wait_for("notification")
        before = cluster.state()
        old = {i["pid"] for i in before["instances"]} | {before["worker_pid"]}
        os.kill(before["pid"], signal.SIGHUP)
        # halfway (instance 1 replaced), an event; then another once all are replaced
        await wait_for_state(cluster, lambda s: s["instances"][0]["pid"] not in (None, *old))
        assert (await fans[1].http.post(follow)).status_code == 204

        def replaced(state: dict) -> bool:
            pids = [i["pid"] for i in state["instances"]] + [state["worker_pid"]]
            return all(pid is not None and pid not in old for pid in pids)

        after = await wait_for_state(cluster, replaced, within=90)
        async with httpx.AsyncClient(timeout=5) as http:
            for instance in after["instances"]:
                assert (await http.get(f"{instance['url']}/readyz")).status_code == 200
        assert (await fans[2].http.post(follow)).status_code == 204
        await tab.wait_for("notification", count=3, within=30)
        await asyncio.sleep(0.5)  # a duplicate would arrive now
        ids = [event_id for event_id, _name, _kind in tab.personal()]
        assert ids == [ids[0], ids[0] + 1, ids[0] + 2]
        assert tab.connects >= 2  # its instance was restarted under it
    finally:
        await tab.disconnect()
        for api in (star, *fans):
            await api.close()


# --- docker-compose ----------------------------------------------------------------------------


def compose() -> dict[str, Any]:
    return dict(yaml.safe_load((ROOT / "docker-compose.yml").read_text()))


def test_compose_names_every_service_with_its_image_and_order():
    services = compose()["services"]
    assert set(services) == SERVICES
    assert services["postgres"]["image"].startswith("postgres:16")
    assert services["redis"]["image"].startswith("redis:7")
    assert services["nginx"]["image"].startswith("nginx:")
    assert "mailpit" in services["mailpit"]["image"]
    assert "8025" in str(services["mailpit"]["ports"])  # the web inbox
    es_image = services["elasticsearch"]["image"]
    assert es_image.startswith("docker.elastic.co/elasticsearch/elasticsearch:8.")
    client = re.search(r'"elasticsearch[^"]*?>=\s*(\d+)', (ROOT / "pyproject.toml").read_text())
    if client:  # the server's major version is the client's
        assert es_image.rsplit(":", 1)[1].split(".")[0] == client.group(1)
    environment = services["elasticsearch"]["environment"]
    assert environment["discovery.type"] == "single-node"
    assert environment["xpack.security.enabled"] == "false"

    commands = {"migrate": ["microblog", "db", "upgrade"],
                "app1": ["microblog", "serve", "--bind", "0.0.0.0:8000"],
                "app2": ["microblog", "serve", "--bind", "0.0.0.0:8000"],
                "worker": ["microblog", "worker"]}
    for name in APP_SERVICES:
        service = services[name]
        assert service["build"] == "." and service["command"] == commands[name]
        assert service["env_file"] == ".env"
        assert service["environment"]["SECRET_KEY"].startswith("${SECRET_KEY:?")
    assert services["migrate"]["restart"] == "no"
    assert "ports" not in services["worker"] and "container_name" not in services["worker"]

    for name in ("app1", "app2", "worker"):
        depends = services[name]["depends_on"]
        assert depends["migrate"] == {"condition": "service_completed_successfully"}
        for backing in ("postgres", "redis", "elasticsearch"):
            assert depends[backing] == {"condition": "service_healthy"}
    assert services["migrate"]["depends_on"]["postgres"] == {"condition": "service_healthy"}
    assert services["nginx"]["depends_on"] == {
        "app1": {"condition": "service_healthy"}, "app2": {"condition": "service_healthy"}}
    for name, service in services.items():  # whatever is waited for as healthy says how
        for target, rule in service.get("depends_on", {}).items():
            if rule["condition"] == "service_healthy":
                assert "test" in services[target]["healthcheck"], (name, target)


def test_compose_nginx_balances_both_instances_and_upgrades_websockets():
    nginx = compose()["services"]["nginx"]
    assert "./deploy/nginx.conf:/etc/nginx/nginx.conf:ro" in nginx["volumes"]
    conf = (ROOT / "deploy" / "nginx.conf").read_text()
    assert conf == compose_nginx_conf(), (
        "deploy/nginx.conf differs from its template: run `make deploy/nginx.conf`")
    assert re.search(r"server app1:8000\b", conf) and re.search(r"server app2:8000\b", conf)
    socketio = conf[conf.index("location /socket.io/"):]
    socketio = socketio[:socketio.index("}")]
    assert "proxy_set_header Upgrade $http_upgrade;" in socketio
    assert "proxy_set_header Connection $connection_upgrade;" in socketio
    assert "ip_hash;" in conf  # sticky sessions for the long-polling fallback


def test_env_example_provides_every_variable_compose_uses(tmp_path):
    text = (ROOT / "docker-compose.yml").read_text()
    used = set(re.findall(r"\$\{([A-Za-z_][A-Za-z0-9_]*)", text))
    example = (ROOT / ".env.example").read_text()
    provided = set(re.findall(r"(?m)^([A-Za-z_][A-Za-z0-9_]*)=", example))
    assert {"SECRET_KEY", "POSTGRES_PASSWORD"} <= used
    assert used <= provided, f"missing from .env.example: {sorted(used - provided)}"
    assert re.search(r"(?m)^SECRET_KEY=$", example)  # never a usable default secret

    docker = shutil.which("docker")
    if docker is None or subprocess.run([docker, "compose", "version"], capture_output=True,
                                        check=False).returncode:
        return  # the YAML checks above and in the other compose tests stand in
    for name in ("docker-compose.yml", "Dockerfile"):
        shutil.copy(ROOT / name, tmp_path / name)
    shutil.copytree(ROOT / "deploy", tmp_path / "deploy")
    env = example.replace("SECRET_KEY=\n", "SECRET_KEY=" + "s" * 40 + "\n")
    (tmp_path / ".env").write_text(env.replace("POSTGRES_PASSWORD=\n", "POSTGRES_PASSWORD=pw\n"))
    checked = subprocess.run([docker, "compose", "config", "-q"], cwd=tmp_path,
                             capture_output=True, text=True, check=False)
    assert checked.returncode == 0, checked.stderr
    listed = subprocess.run([docker, "compose", "config", "--services"], cwd=tmp_path,
                            capture_output=True, text=True, check=True)
    assert set(listed.stdout.split()) == SERVICES


def test_the_image_installs_what_make_install_does():
    dockerfile = (ROOT / "Dockerfile").read_text()
    makefile = (ROOT / "Makefile").read_text()

    def vendored(text: str, destination: str) -> set[str]:
        files: set[str] = set()
        text = re.sub(r"\s*\\\n\s*", " ", text)  # continued lines as one
        for line in re.findall(rf"cp ((?:node_modules/\S+ )+){re.escape(destination)}", text):
            files.update(line.split())
        return files

    # axe-core is for the accessibility tests only: the image does without it
    tools = {"node_modules/axe-core/axe.min.js"}
    assert vendored(makefile, "$(VENDOR)/")
    assert "node_modules/bootstrap-icons/icons/heart.svg" in vendored(makefile, "$(VENDOR)/")
    assert vendored(dockerfile, "static/vendor/") == vendored(makefile, "$(VENDOR)/") - tools
    assert "npm ci" in dockerfile and "pybabel compile -d translations" in dockerfile
    stages = re.findall(r"(?m)^FROM (\S+)", dockerfile)
    assert stages[0].startswith("node:") and stages[-1].startswith("python:3.11-slim")
    user = re.findall(r"(?m)^USER (\S+)", dockerfile)
    assert user and user[-1] not in ("root", "0")
    assert re.search(r"(?m)^EXPOSE 8000$", dockerfile)
    assert re.search(r"(?m)^HEALTHCHECK .*\n?.*/healthz", dockerfile)
    assert '"serve", "--bind", "0.0.0.0:8000"' in dockerfile
    assert "[dev]" not in dockerfile
