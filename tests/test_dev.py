"""`microblog dev` (what `make run` calls): embedded PostgreSQL and Redis, kept across starts."""

import base64
import os
import signal
import subprocess
import sys
import time

import httpx

from microblog.devservices import free_port
from microblog.settings import ROOT


def start_dev(instance, port):
    env = {k: v for k, v in os.environ.items()
           if k not in {"DATABASE_URL", "REDIS_URL", "SECRET_KEY", "MAIL_SERVER"}}
    env.update({"INSTANCE_DIR": str(instance), "LOG_LEVEL": "WARNING",
                "PUBLIC_URL": f"http://127.0.0.1:{port}"})
    return subprocess.Popen(  # noqa: S603
        [sys.executable, "-m", "microblog.cli", "dev", "--bind", f"127.0.0.1:{port}"],
        env=env, cwd=ROOT)


def wait_ready(url, proc, timeout=90):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert proc.poll() is None, "microblog dev exited early"
        try:
            if httpx.get(f"{url}/readyz", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise AssertionError("microblog dev never became ready")


def stop(proc):
    proc.send_signal(signal.SIGINT)  # Ctrl-C
    assert proc.wait(60) == 0


def test_dev_starts_everything_embedded_and_keeps_data(tmp_path):
    instance = tmp_path / "instance"
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    proc = start_dev(instance, port)
    try:
        wait_ready(url, proc)
        created = httpx.post(f"{url}/api/users", json={
            "username": "keeper", "email": "keeper@example.com", "password": "keep me 123"})
        assert created.status_code == 201
    finally:
        stop(proc)
    assert (instance / "postgres" / "PG_VERSION").exists()
    assert (instance / "secret_key").exists()

    proc = start_dev(instance, port)
    try:
        wait_ready(url, proc)
        basic = base64.b64encode(b"keeper:keep me 123").decode()
        token = httpx.post(f"{url}/api/tokens", headers={"Authorization": f"Basic {basic}"})
        assert token.status_code == 200, "the user registered before the restart is gone"
    finally:
        stop(proc)
    # nothing is left listening
    try:
        httpx.get(f"{url}/healthz", timeout=2)
        raise AssertionError("the web server is still running after Ctrl-C")
    except httpx.ConnectError:
        pass
