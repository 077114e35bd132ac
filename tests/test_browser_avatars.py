"""Avatars in real headless Chromium: the local identicon at once, Gravatar only as an
enhancement that never delays the page's load event, gives up quickly, and stops trying
after one failure (offline, a page makes one Gravatar request, not one per avatar)."""

from __future__ import annotations

from typing import Any

from microblog.services import posts
from tests.conftest import artifact
from tests.helpers import make_user

GRAVATAR = "https://www.gravatar.com/**"
# a 1x1 transparent PNG
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c489"
    "0000000d49444154789c63000100000500010d0a2db40000000049454e44ae426082")
# resolves once app.js's probing has settled for every avatar on the page: upgradeAvatar
# waits for the first probe like the page's own calls, which were queued before it
SETTLED = """async () => {
  const { upgradeAvatar } = await import("/static/js/app.js");
  await upgradeAvatar(document.createElement("img"), document.querySelector("img.avatar").dataset.gravatar);
}"""
IDENTICONS = "[...document.querySelectorAll('img.avatar')].map((i) => new URL(i.src).pathname)"


async def authors() -> None:
    for name in ("alice", "bob", "carol", "dave"):
        await posts.create_post(await make_user(name), f"Hello from {name}")


async def test_offline_one_failed_probe_stops_the_others(server, browser, db):
    await authors()
    ctx = await browser.new_context()
    asked: list[str] = []

    async def offline(route: Any) -> None:
        asked.append(route.request.url)
        await route.abort("internetdisconnected")

    await ctx.route(GRAVATAR, offline)
    page = await ctx.new_page()
    try:
        await page.goto(f"{server.url}/explore", wait_until="load")
        assert await page.locator("img.avatar").count() == 4
        await page.evaluate(SETTLED)
        assert len(asked) == 1, asked
        assert all(path.startswith("/avatar/") for path in await page.evaluate(IDENTICONS))
    finally:
        await ctx.close()


async def test_a_hanging_gravatar_neither_delays_load_nor_waits_forever(server, browser, db):
    await authors()
    ctx = await browser.new_context()
    asked: list[str] = []

    asked_after_load: list[bool] = []

    async def hang(route: Any) -> None:  # never answers
        asked.append(route.request.url)
        # a probe asked for before the page loaded would hold its load event while it hangs:
        # the document would not be complete now
        asked_after_load.append(await page.evaluate("document.readyState") == "complete")

    await ctx.route(GRAVATAR, hang)
    page = await ctx.new_page()
    try:
        # a load event that waited for the hanging probe would come after it (or never):
        # the probe is asked for only once the page has loaded
        await page.goto(f"{server.url}/explore", wait_until="load")
        await page.evaluate(SETTLED)  # the timeout: the first probe gave up
        assert len(asked) == 1, asked
        assert asked_after_load == [True]
        assert all(path.startswith("/avatar/") for path in await page.evaluate(IDENTICONS))
    finally:
        await ctx.close()


async def test_online_gravatar_replaces_the_identicons_after_load(server, browser, db):
    await authors()
    ctx = await browser.new_context()

    async def online(route: Any) -> None:
        await route.fulfill(status=200, content_type="image/png", body=PNG)

    await ctx.route(GRAVATAR, online)
    page = await ctx.new_page()
    try:
        await page.goto(f"{server.url}/explore", wait_until="load")
        assert await page.locator("img.avatar").count() == 4
        await page.wait_for_selector(  # every avatar is its Gravatar now
            "img.avatar:not([src^='https://www.gravatar.com/avatar/'])", state="detached")
        await page.screenshot(path=artifact("avatars-gravatar.png"))
    finally:
        await ctx.close()
