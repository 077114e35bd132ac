"""Graceful shutdown of one `microblog serve` instance, bounded to 10 seconds.

On SIGTERM (or SIGINT):

1. `/readyz` answers 503 "shutting down" from now on;
2. after SHUTDOWN_DELAY seconds (default 0; for load balancers that poll readiness) Hypercorn
   stops accepting: the listening socket closes, idle keep-alive connections close, and
   in-flight requests get up to `GRACEFUL_TIMEOUT` seconds to finish;
3. every Socket.IO client is told to reconnect: its engine.io transport ends without a
   close packet, which both the browser client and python-socketio treat as a dropped
   connection ("transport close") and reconnect — through the load balancer, to another
   instance, where they replay missed personal events from their last_event_id. A
   Socket.IO `disconnect` packet would do the opposite (clients take it as final), and a
   WebSocket left open would hold Hypercorn for its whole graceful timeout;
4. Hypercorn runs the app's shutdown: the publisher flushes what is queued, connections
   close;
5. a watchdog ends the process if all that has not finished within `DEADLINE` seconds.
"""

from __future__ import annotations

import asyncio
import logging
import os
import threading
import time
from typing import Any

log = logging.getLogger(__name__)

DEADLINE = 9.5  # the promise is "exits within 10 s"
GRACEFUL_TIMEOUT = 5.0  # in-flight requests, counted from when accepting stops
APP_SHUTDOWN_TIMEOUT = 3.0  # the app's after_serving (publisher flush, pools)
PUBLISHER_GRACE = 1.5
# how long to wait for the sockets' disconnect handlers (presence, cursors) to run
SOCKETS_GRACE = 1.0


class State:
    draining = False
    since: float | None = None


state = State()


def draining() -> bool:
    return state.draining


async def drop_sockets(sio: Any, grace: float = SOCKETS_GRACE) -> int:
    """End every engine.io transport of this instance at once, without a close packet, so
    clients reconnect (elsewhere). Returns how many there were."""
    eio = sio.eio
    sockets = [s for s in list(eio.sockets.values()) if not s.closed]
    for sock in sockets:
        # unblocks the transport's writer (WebSocket: it closes the WebSocket; polling: the
        # pending poll is answered empty), as engine.io does when a transport ends
        sock.queue.put_nowait(None)
    # marks each socket closed (a polling client's next request is refused, so it
    # reconnects) and runs the Socket.IO disconnect handlers; nothing is sent to the client
    closing = [asyncio.ensure_future(sock.close(wait=False, abort=True,
                                                reason=eio.reason.TRANSPORT_CLOSE))
               for sock in sockets]
    if closing:
        _done, pending = await asyncio.wait(closing, timeout=grace)
        if pending:
            log.warning("shutdown: %d socket disconnect handlers still running", len(pending))
    return len(sockets)


class Shutdown:
    """Installed as the SIGTERM/SIGINT handler of `microblog serve`."""

    def __init__(self, sio: Any, stop: asyncio.Event, delay: float = 0.0) -> None:
        self.sio = sio
        self.stop = stop
        self.delay = delay
        self.task: asyncio.Task[None] | None = None

    def begin(self) -> None:
        if state.draining:
            log.info("shutdown: already in progress")
            return
        state.draining = True
        state.since = time.monotonic()
        watchdog = threading.Timer(DEADLINE, self._overrun)
        watchdog.daemon = True
        watchdog.start()
        log.info("shutdown: not ready from now on; %s",
                 f"accepting for {self.delay:g} s more" if self.delay else "stop accepting")
        self.task = asyncio.get_running_loop().create_task(self._run(), name="shutdown")

    async def _run(self) -> None:
        if self.delay:
            await asyncio.sleep(self.delay)
        self.stop.set()  # Hypercorn: close the listener, finish in-flight requests
        # a few loop turns for Hypercorn to close the listener, so clients told to reconnect
        # cannot land here again
        await asyncio.sleep(0.1)
        count = await drop_sockets(self.sio)
        log.info("shutdown: told %d Socket.IO clients to reconnect elsewhere", count)

    @staticmethod
    def _overrun() -> None:
        log.error("shutdown: still running after %g s; exiting now", DEADLINE)
        for handler in logging.getLogger().handlers:
            handler.flush()
        os._exit(1)
