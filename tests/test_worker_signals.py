"""`microblog worker` and SIGTERM, whenever it comes: while the worker imports, reads its
settings, connects, starts SAQ, runs, or is already stopping, a SIGTERM (or several) makes it
exit 0 within 10 s, without a traceback. Under load a SIGTERM during start-up used to find
no handler yet (SAQ installs its own only inside Worker.start) and kill it (-15)."""

from __future__ import annotations

import asyncio
import secrets
import signal
import subprocess
import time
from pathlib import Path

import pytest

from microblog import testing
from microblog.settings import Settings

DEADLINE = 10.0  # what an orchestrator waits before SIGKILL


def catches(pid: int, signum: int) -> bool:
    """Whether the process has a handler for `signum` (Linux: SigCgt)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return False
    mask = next(line.split()[1] for line in status.splitlines() if line.startswith("SigCgt:"))
    return bool(int(mask, 16) >> (signum - 1) & 1)


def start_worker(settings: Settings, log: Path) -> subprocess.Popen[bytes]:
    """A worker on a queue of its own, from its very start (not once it is ready)."""
    own = settings.with_(redis_namespace=f"{settings.redis_namespace}:sig{secrets.token_hex(3)}")
    return testing.start_worker(own, log_path=log, ready=False, LOG_LEVEL="INFO")


async def until(condition, within: float, what: str) -> None:
    deadline = time.monotonic() + within
    while not condition():
        assert time.monotonic() < deadline, f"not {what} within {within} s"
        await asyncio.sleep(0.001)


async def exit_code(proc: subprocess.Popen[bytes], signalled_at: float) -> int:
    await until(lambda: proc.poll() is not None,
                DEADLINE - (time.monotonic() - signalled_at), "exited after SIGTERM")
    return proc.returncode


async def sigterm_after(settings: Settings, tmp_path: Path, delay: float,
                        signum: int = signal.SIGTERM) -> tuple[int, str]:
    """Start a worker, SIGTERM (or `signum`) it `delay` s after it can first handle the
    signal; its exit code and output."""
    log = tmp_path / f"worker-{delay}-{signum}.log"
    proc = start_worker(settings, log)
    try:
        # its first moment: its own handlers are in place. Before that the interpreter and
        # the package are loading and no program can handle a signal yet (a coverage run's
        # SIGTERM handler saves its data and lets the signal kill). The worker installs
        # SIGHUP's handler after SIGTERM's and SIGINT's, and nothing else catches SIGHUP.
        await until(lambda: catches(proc.pid, signal.SIGHUP) or proc.poll() is not None,
                    30, "handling signals")
        assert proc.poll() is None, log.read_text()
        if delay:
            await asyncio.sleep(delay)  # the moment of the signal is what this test varies
        proc.send_signal(signum)
        code = await exit_code(proc, time.monotonic())
        return code, log.read_text(errors="replace")
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


@pytest.mark.parametrize("delay", [0, 0.02, 0.1, 0.3, 0.6, 1.2])
async def test_a_sigterm_at_any_moment_of_start_up_exits_0(settings, tmp_path, delay):
    code, output = await sigterm_after(settings, tmp_path, delay)
    assert code == 0, output
    assert "Traceback" not in output, output


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGHUP])
async def test_ctrl_c_or_a_closed_terminal_stops_it_like_sigterm(settings, tmp_path, signum):
    code, output = await sigterm_after(settings, tmp_path, 0.3, signum)
    assert code == 0, output
    assert "Traceback" not in output, output


async def test_repeated_sigterms_while_stopping_still_exit_0(settings, tmp_path):
    """An impatient supervisor signals again and again while the worker finishes (SAQ's own
    handlers are gone once Worker.start returns)."""
    log = tmp_path / "worker.log"
    proc = start_worker(settings, log)
    try:
        await until(lambda: "worker started" in log.read_text() or proc.poll() is not None,
                    60, "started")
        assert proc.poll() is None, log.read_text()
        signalled_at = time.monotonic()
        while proc.poll() is None and time.monotonic() - signalled_at < DEADLINE:
            proc.send_signal(signal.SIGTERM)
            await asyncio.sleep(0.05)
        output = log.read_text(errors="replace")
        assert await exit_code(proc, signalled_at) == 0, output
        assert "Traceback" not in output, output
        assert "Working shutting down" in output  # it did stop SAQ in order
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
