"""Real headless Chromium: a person exports their posts and watches the progress bar."""

import asyncio
import json

from microblog.models import User
from tests.conftest import artifact
from tests.test_browser import register_and_login
from tests.test_exports import add_posts


async def test_export_my_posts_with_a_live_progress_bar_and_download(server, browser, db):
    base = server.url
    context = await browser.new_context(viewport={"width": 1100, "height": 800},
                                        accept_downloads=True)
    page = await context.new_page()
    try:
        await register_and_login(page, base, "alice")
        alice = await User.get(username="alice")
        await add_posts(alice.id, 100_000)

        # from the account menu, as a person would find it
        await page.click("#account-menu")
        await page.click("text=Export my posts")
        await page.wait_for_url(f"{base}/exports")
        assert "You have not exported your posts yet." in await page.inner_text("main")
        await page.click("#start-export")
        await page.wait_for_url(f"{base}/exports")
        await page.wait_for_selector("#live-status[data-state=live]")
        assert "Your export has started" in await page.inner_text(".alert")
        assert await page.is_disabled("#start-export")

        # the bar moves without a reload, then the links appear
        await page.wait_for_function(
            "() => { const bar = document.querySelector('[data-task-id] .progress');"
            " const v = Number(bar.getAttribute('aria-valuenow'));"
            " return v > 0 && v < 100; }", timeout=30_000)
        await page.screenshot(path=artifact("export-progress.png"))
        await page.wait_for_selector("[data-task-id] .task-links:not(.d-none)", timeout=60_000)
        assert await page.inner_text("[data-task-id] .task-status") == "Ready"
        assert await page.is_hidden("[data-task-id] .progress")
        toast = await page.wait_for_selector(".toast.show")
        assert "Your export is ready to download" in await toast.inner_text()
        assert await page.evaluate("performance.getEntriesByType('navigation').length") == 1
        await page.screenshot(path=artifact("export-ready.png"))

        async with page.expect_download() as info:
            await page.click("[data-task-id] .task-json")
        download = await info.value
        assert download.suggested_filename == "microblog-alice-posts.json"
        path = await download.path()
        exported = json.loads(await asyncio.to_thread(path.read_text, encoding="utf-8"))
        assert len(exported["posts"]) == 100_000
        assert not await page.is_disabled("#start-export")
    finally:
        await context.close()
