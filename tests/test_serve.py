"""A real `microblog serve` process: readiness, Socket.IO authentication, the secret check."""

import os
import subprocess
import sys

import httpx
import pytest
import socketio

from microblog.services import accounts
from microblog.settings import ROOT
from tests.conftest import settings_env
from tests.helpers import make_user


async def test_serve_is_ready_when_postgres_and_redis_answer(server):
    async with httpx.AsyncClient(base_url=server.url) as http:
        assert (await http.get("/healthz")).status_code == 200
        ready = await http.get("/readyz")
        assert ready.status_code == 200 and ready.json() == {"status": "ready"}


async def test_socket_accepts_an_api_token_and_refuses_anything_else(server, db):
    user = await make_user("alice")
    token, _ = await accounts.issue_api_token(user)
    client = socketio.AsyncClient(reconnection=False)
    await client.connect(server.url, auth={"token": token}, transports=["websocket"],
                         wait_timeout=10)
    assert client.connected
    await client.disconnect()
    await client.shutdown()
    for auth in (None, {"token": "not-a-token"}, {"token": 42}, "garbage"):
        refused = socketio.AsyncClient(reconnection=False)
        with pytest.raises(socketio.exceptions.ConnectionError):
            await refused.connect(server.url, auth=auth, transports=["websocket"],
                                  wait_timeout=10)
        assert not refused.connected
        await refused.shutdown()


async def test_socket_accepts_the_login_cookie(server, db):
    await make_user("alice")
    async with httpx.AsyncClient(base_url=server.url) as http:
        login_page = await http.get("/auth/login")
        from tests.helpers import csrf_from

        response = await http.post("/auth/login", data={
            "username": "alice", "password": "correct horse",
            "csrf_token": csrf_from(login_page.text)})
        assert response.status_code == 302
        cookie = "; ".join(f"{k}={v}" for k, v in http.cookies.items())
    client = socketio.AsyncClient(reconnection=False)
    await client.connect(server.url, headers={"Cookie": cookie, "Origin": server.url},
                         transports=["websocket"], wait_timeout=10)
    assert client.connected
    await client.disconnect()
    await client.shutdown()
    forged = socketio.AsyncClient(reconnection=False)
    with pytest.raises(socketio.exceptions.ConnectionError):
        await forged.connect(server.url, headers={"Cookie": "QUART_AUTH=forged"},
                             transports=["websocket"], wait_timeout=10)
    await forged.shutdown()
    # a page on another site cannot ride the user's cookie (same-origin check)
    cross_site = socketio.AsyncClient(reconnection=False)
    with pytest.raises(socketio.exceptions.ConnectionError):
        await cross_site.connect(server.url, headers={
            "Cookie": cookie, "Origin": "http://evil.example"},
            transports=["websocket"], wait_timeout=10)
    await cross_site.shutdown()


@pytest.mark.parametrize("secret", [None, "dev-secret-change-me", "short"])
def test_serve_refuses_a_default_or_weak_secret(settings, secret):
    env = settings_env(settings)
    env.pop("SECRET_KEY")
    if secret:
        env["SECRET_KEY"] = secret
    result = subprocess.run(  # noqa: S603
        [sys.executable, "-m", "microblog.cli", "serve", "--bind", "127.0.0.1:1"],
        env=env, cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr


def test_serve_requires_database_and_redis_urls(settings):
    env = {k: v for k, v in settings_env(settings).items()
           if k not in {"DATABASE_URL", "REDIS_URL"}}
    result = subprocess.run(  # noqa: S603
        [sys.executable, "-m", "microblog.cli", "serve"], env=env, cwd=ROOT,
        capture_output=True, text=True, timeout=60)
    assert result.returncode != 0
    assert "DATABASE_URL and REDIS_URL must be set" in result.stderr
    assert os.environ.get("DATABASE_URL") != "unused"
