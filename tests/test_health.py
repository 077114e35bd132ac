"""Health and readiness as an operator or a load balancer sees them, on a real instance."""

import asyncio

import httpx

from tests.conftest import start_server


async def wait_status(http: httpx.AsyncClient, path: str, status: int,
                      within: float = 20.0) -> httpx.Response:
    deadline = asyncio.get_running_loop().time() + within
    while True:
        response = await http.get(path)
        if response.status_code == status:
            return response
        assert asyncio.get_running_loop().time() < deadline, (
            f"{path} still {response.status_code} after {within}s: {response.text}")
        await asyncio.sleep(0.2)


async def test_readyz_names_redis_while_it_is_down_and_recovers(settings, own_redis, db):
    server = start_server(settings, REDIS_URL=own_redis.url)
    try:
        async with httpx.AsyncClient(base_url=server.url, timeout=10) as http:
            await wait_status(http, "/readyz", 200)
            own_redis.stop()
            down = await wait_status(http, "/readyz", 503)
            body = down.json()
            assert body["status"] == "unavailable"
            assert set(body["failing"]) == {"redis"}
            assert "redis" in body["message"]
            # the process itself is alive: liveness stays green, pages that need no Redis work
            health = await http.get("/healthz")
            assert health.status_code == 200 and health.json() == {"status": "ok"}

            own_redis.start()
            ready = await wait_status(http, "/readyz", 200)
            assert ready.json() == {"status": "ready"}
            assert (await http.get("/healthz")).status_code == 200
    finally:
        server.stop()
