"""A real python-socketio client that records what it receives and checks every event
against its declaration in microblog.realtime.events."""

from __future__ import annotations

import asyncio
import base64
import contextlib
from typing import Any

import httpx
import socketio

from microblog.realtime.events import validate_event


class Recorder:
    def __init__(self, name: str = "client", reconnection: bool = False) -> None:
        """`reconnection`: reconnect by itself after a dropped connection, as a browser tab
        does, asking for replay after the last personal event it received."""
        self.name = name
        self.client = socketio.AsyncClient(reconnection=reconnection)
        self.events: list[tuple[str, dict[str, Any]]] = []
        self.invalid: list[str] = []
        self.connects = 0
        self.disconnects: list[str] = []  # the reasons, as python-socketio gives them
        self._changed = asyncio.Event()

        @self.client.event
        async def connect() -> None:
            self.connects += 1
            self._changed.set()

        @self.client.event
        async def disconnect(reason: str = "") -> None:
            self.disconnects.append(reason)
            self._changed.set()

        @self.client.on("*")
        async def record(event: str, data: Any = None) -> None:
            try:
                validate_event(event, data)
            except Exception as exc:  # recorded, and asserted empty by the tests
                self.invalid.append(f"{event}: {exc}")
            self.events.append((event, data))
            self._changed.set()

    async def connect(self, url: str, token: str, last_event_id: int | None = None,
                      transports: tuple[str, ...] = ("websocket",)) -> Recorder:
        def auth() -> dict[str, Any]:  # read at every (re)connection
            seen = max(self.personal_ids(), default=last_event_id)
            return {"token": token} if seen is None else {"token": token, "last_event_id": seen}

        await self.client.connect(url, auth=auth, transports=list(transports), wait_timeout=10)
        return self

    async def disconnect(self) -> None:
        if self.client.connected:
            await self.client.disconnect()
        await self.client.shutdown()

    def of(self, name: str) -> list[dict[str, Any]]:
        return [data for event, data in self.events if event == name]

    async def wait_for(self, name: str, predicate: Any = None, count: int = 1,
                       within: float = 10.0) -> list[dict[str, Any]]:
        """Wait until `count` events named `name` (matching `predicate`) arrived."""
        deadline = asyncio.get_running_loop().time() + within
        while True:
            found = [d for d in self.of(name) if predicate is None or predicate(d)]
            if len(found) >= count:
                assert not self.invalid, self.invalid
                return found
            remaining = deadline - asyncio.get_running_loop().time()
            if remaining <= 0:
                raise AssertionError(
                    f"{self.name}: {len(found)}/{count} {name!r} within {within}s; "
                    f"got {[e for e, _ in self.events]}")
            self._changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), remaining)

    async def wait_until(self, predicate: Any, within: float = 10.0) -> None:
        """Wait until `predicate(self)` holds (connections, disconnections)."""
        deadline = asyncio.get_running_loop().time() + within
        while not predicate(self):
            remaining = deadline - asyncio.get_running_loop().time()
            if remaining <= 0:
                raise AssertionError(f"{self.name}: condition not met within {within}s "
                                     f"(connects {self.connects}, disconnects {self.disconnects})")
            self._changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), remaining)

    async def call(self, event: str, data: Any) -> Any:
        return await self.client.call(event, data, timeout=10)

    def personal_ids(self) -> list[int]:
        return [data["event_id"] for _event, data in self.events
                if isinstance(data, dict) and "event_id" in data]


class Api:
    """The HTTP API of one instance, as one user."""

    def __init__(self, base: str) -> None:
        self.http = httpx.AsyncClient(base_url=base, timeout=10)
        self.token = ""

    async def register(self, username: str, password: str = "socket pass 1") -> dict[str, Any]:
        response = await self.http.post("/api/users", json={
            "username": username, "email": f"{username}@example.com", "password": password})
        assert response.status_code == 201, response.text
        basic = base64.b64encode(f"{username}:{password}".encode()).decode()
        token = await self.http.post("/api/tokens", headers={"Authorization": f"Basic {basic}"})
        self.token = token.json()["token"]
        self.http.headers["Authorization"] = f"Bearer {self.token}"
        return dict(response.json())

    async def close(self) -> None:
        await self.http.aclose()
