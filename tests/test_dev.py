"""`microblog dev` (what `make run` calls): embedded PostgreSQL and Redis, kept across starts,
and a Ctrl-C that stops everything quietly, the embedded services last."""

import asyncio
import base64
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from microblog.devservices import free_port
from microblog.settings import ROOT
from microblog.testing import reachable, wait_until_serving
from tests.helpers import present
from tests.realtime import Api, Recorder


def start_dev(instance, port, log=None, **popen):
    """`microblog dev` with no DATABASE_URL / REDIS_URL (so embedded services) and its data
    in `instance`; `log`: a file for its output (the children's too)."""
    env = {k: v for k, v in os.environ.items()
           if k not in {"DATABASE_URL", "REDIS_URL", "SECRET_KEY", "MAIL_SERVER", "LOG_LEVEL"}}
    env.update({"INSTANCE_DIR": str(instance), "LOG_LEVEL": "WARNING",
                "PUBLIC_URL": f"http://127.0.0.1:{port}"})
    if log is not None:
        env["LOG_LEVEL"] = "INFO"
        popen.update(stdout=log, stderr=subprocess.STDOUT)
    return subprocess.Popen(  # noqa: S603
        [sys.executable, "-m", "microblog.cli", "dev", "--bind", f"127.0.0.1:{port}"],
        env=env, cwd=ROOT, **popen)


def wait_ready(url, proc, timeout=90):
    wait_until_serving(f"{url}/readyz", proc, timeout)


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


def wait_for_output(log: Path, text: str, proc, timeout=90) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        output = log.read_text(errors="replace")
        if text in output:
            return output
        assert proc.poll() is None, f"microblog dev exited early:\n{output[-3000:]}"
        time.sleep(0.1)
    raise AssertionError(f"no {text!r} in the output within {timeout} s")


async def test_ctrl_c_with_a_socket_connected_stops_quietly_and_the_services_last(tmp_path):
    """What a developer sees: `make run`, a live page connected, Ctrl-C in the terminal (a
    SIGINT to the whole foreground process group). Everything stops, exit 0, not a single
    traceback (the embedded Redis used to die first: `Error 111 connecting`)."""
    instance = tmp_path / "instance"
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = tmp_path / "dev.log"
    with log.open("wb") as out:
        # a process group of its own, like a shell's foreground job
        proc = start_dev(instance, port, log=out, process_group=0)
    api = Api(url)
    client = Recorder("tab")
    try:
        try:
            await asyncio.to_thread(wait_ready, url, proc)
        except AssertionError as exc:
            raise AssertionError(f"{exc}\n{log.read_text(errors='replace')[-3000:]}") from None
        await asyncio.to_thread(wait_for_output, log, "worker started", proc)
        await api.register("listener")
        await client.connect(url, api.token)
        await client.wait_until(lambda c: c.connects == 1)
        redis_port = int(present(re.search(r"embedded Redis ready on redis://127\.0\.0\.1:(\d+)",
                                           log.read_text())).group(1))
        postmaster = instance / "postgres" / "postmaster.pid"
        assert postmaster.exists() and reachable("127.0.0.1", redis_port)

        os.killpg(proc.pid, signal.SIGINT)  # Ctrl-C
        code = await asyncio.to_thread(proc.wait, 60)
        output = log.read_text(errors="replace")
        assert code == 0, output[-3000:]
        for bad in ("Traceback", "Error 111", "LifespanFailure", "Connection refused"):
            assert bad not in output, f"{bad!r} in the output:\n{output[-3000:]}"
        await client.wait_until(lambda c: c.disconnects)
        # and then the embedded services stopped too
        assert not reachable("127.0.0.1", redis_port), "the embedded Redis is still running"
        assert not postmaster.exists(), "the embedded PostgreSQL is still running"
    finally:
        await client.disconnect()
        await api.close()
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
