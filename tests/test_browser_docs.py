"""GET /docs: the OpenAPI document rendered for people by Swagger UI, from this server only.

Real headless Chromium against a real `microblog serve`, with every request to another host
aborted (and recorded): the page must render, and "Try it out" work, with no internet.
"""

from __future__ import annotations

import base64
from html.parser import HTMLParser
from typing import Any
from urllib.parse import urlsplit

from tests.conftest import artifact
from tests.helpers import make_user

TAGS = ["users", "posts", "notifications", "messages", "tasks", "scheduled"]
LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1", "[::1]"}


class Assets(HTMLParser):
    """The URLs a page loads (scripts, stylesheets, images) and its inline scripts."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []
        self.inline_scripts = 0
        self.root: dict[str, str | None] = {}
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        if tag == "html":
            self.root = attributes
        elif tag == "script":
            if attributes.get("src"):
                self.urls.append(attributes["src"] or "")
            else:
                self._in_script = True
        elif tag == "link" and "stylesheet" in (attributes.get("rel") or ""):
            self.urls.append(attributes.get("href") or "")
        elif tag in ("img", "iframe", "source") and attributes.get("src"):
            self.urls.append(attributes["src"] or "")

    def handle_endtag(self, tag: str) -> None:
        self._in_script = False

    def handle_data(self, data: str) -> None:
        if self._in_script and data.strip():
            self.inline_scripts += 1


async def test_docs_page_loads_only_this_servers_assets(app):
    client = app.test_client()
    response = await client.get("/docs", headers={"Accept-Language": "es"})
    assert response.status_code == 200
    assert response.mimetype == "text/html"
    html = await response.get_data(as_text=True)
    assert html.lstrip().lower().startswith("<!doctype html>")
    assert "<title>Microblog API</title>" in html
    assert 'data-openapi-url="/openapi.json"' in html
    assert "the OpenAPI document is at" in html

    assets = Assets()
    assets.feed(html)
    assert assets.root.get("lang") == "es"
    assert assets.inline_scripts == 0  # a future Content-Security-Policy holds
    assert "/static/vendor/swagger-ui-bundle.js" in assets.urls
    assert "/static/vendor/swagger-ui.css" in assets.urls
    assert "/static/js/docs.js" in assets.urls
    for url in assets.urls:
        assert url.startswith("/static/"), url
        assert "//" not in url, url
    for marker in ('src="http', 'href="http', 'src="//', 'href="//'):
        assert marker not in html, marker
    # every asset is served (static/vendor is filled by `make install`)
    for url in assets.urls:
        asset = await client.get(url)
        assert asset.status_code == 200, f"{url}: {asset.status_code} (run `make install`)"

    document = await client.get("/openapi.json")
    assert document.status_code == 200
    assert (await document.get_json())["openapi"].startswith("3.1")


def offline(context_log: dict[str, list[str]]) -> Any:
    """A route handler letting through this server's requests only, recording the others."""

    async def handle(route: Any) -> None:
        url = route.request.url
        parts = urlsplit(url)
        if parts.scheme in ("data", "blob") or parts.hostname in LOCAL_HOSTS:
            await route.continue_()
        else:
            context_log["external"].append(url)
            await route.abort()

    return handle


def watch(page: Any, log: dict[str, list[str]]) -> None:
    page.on("console", lambda m: log["console"].append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda error: log["console"].append(f"page error: {error}"))


async def open_docs(browser: Any, base: str, width: int, height: int) -> tuple[Any, Any, dict]:
    log: dict[str, list[str]] = {"external": [], "console": []}
    context = await browser.new_context(viewport={"width": width, "height": height})
    await context.route("**/*", offline(log))
    page = await context.new_page()
    watch(page, log)
    await page.goto(f"{base}/docs")
    try:  # Swagger UI has fetched /openapi.json and rendered every tag and its operations
        await page.wait_for_selector(".info .title:has-text('Microblog API')")
        for tag in TAGS:
            await page.locator(f"#operations-tag-{tag}").wait_for(state="visible")
        await page.locator(".opblock-summary-path[data-path='/api/posts']").first.wait_for(
            state="visible")
    except Exception as exc:
        await page.screenshot(path=artifact(f"api-docs-failed-{width}.png"), full_page=True)
        shown = " ".join((await page.inner_text("body")).split())[:1500]
        await context.close()
        raise AssertionError(f"/docs did not render: {exc}\nlog: {log}\npage: {shown}") from None
    return context, page, log


async def test_docs_render_offline_and_try_it_out_with_a_token(server, browser, client):
    alice = await make_user("alice", "correct horse")
    basic = base64.b64encode(b"alice:correct horse").decode()
    response = await client.post("/api/tokens", headers={"Authorization": f"Basic {basic}"})
    assert response.status_code == 200, await response.get_data(as_text=True)
    token = (await response.get_json())["token"]

    context, page, log = await open_docs(browser, server.url, 1280, 900)
    try:
        header = page.locator("header.docs-header")
        assert "This is the HTTP API; the OpenAPI document is at /openapi.json" in " ".join(
            (await header.inner_text()).split())
        assert await header.locator("a.docs-brand").get_attribute("href") == "/"
        assert not log["external"], f"requests to the internet: {log['external']}"
        assert not log["console"], f"console errors: {log['console']}"
        assert await page.is_visible("button.authorize")
        assert not await page.locator(".swagger-ui .errors-wrapper").count()
        await page.screenshot(path=artifact("api-docs.png"))  # docs/api-docs.png is a copy

        # one operation, opened: its parameters and responses, and a deep link to it
        operation = page.locator(".opblock.opblock-get", has=page.locator(
            ".opblock-summary-path[data-path='/api/users/{user_id}']"))
        await operation.locator(".opblock-summary-control").click()
        body = operation.locator(".opblock-body")
        await body.locator(".parameters-container").wait_for(state="visible")
        assert "user_id" in await body.locator(".parameters-container").inner_text()
        responses = body.locator(".responses-wrapper")
        await responses.wait_for(state="visible")
        assert await responses.locator("tr.response[data-code='200']").count() == 1
        await page.wait_for_function("() => location.hash.startsWith('#/users/')")

        # Authorize: the bearer token from POST /api/tokens
        await page.click("button.authorize")
        dialog = page.locator(".dialog-ux .modal-ux")
        await dialog.wait_for(state="visible")
        bearer = dialog.locator(".auth-container", has=page.locator("h4:has-text('bearer')"))
        await bearer.locator("input").fill(token)
        await bearer.locator("button.authorize").click()
        await bearer.locator("button:has-text('Logout')").wait_for()
        await bearer.locator("button.btn-done").click()
        await dialog.wait_for(state="detached")

        # Try it out: GET /api/users/{alice's id} with that token, answered by this server
        await operation.locator("button.try-out__btn").click()
        await operation.locator("input[placeholder='user_id']").fill(str(alice.id))
        await operation.locator("button.execute").click()
        answer = operation.locator(".live-responses-table tbody tr.response")
        await answer.wait_for()
        assert (await answer.locator(".response-col_status").inner_text()).strip() == "200"
        assert '"username": "alice"' in await answer.locator(".response-col_description").inner_text()
        curl = await operation.locator(".curl-command").inner_text()
        assert f"Authorization: Bearer {token}" in curl
        await page.screenshot(path=artifact("api-docs-try-it-out.png"), full_page=True)

        assert not log["external"], f"requests to the internet: {log['external']}"
        assert not log["console"], f"console errors: {log['console']}"
    finally:
        await context.close()


async def test_docs_are_usable_on_a_phone(server, browser):
    context, page, log = await open_docs(browser, server.url, 390, 844)
    try:
        assert not log["external"], f"requests to the internet: {log['external']}"
        assert not log["console"], f"console errors: {log['console']}"
        # nothing pushes the page sideways; the controls are on screen
        assert await page.evaluate("document.documentElement.scrollWidth") <= 390
        assert await page.is_visible("button.authorize")
        box = await page.locator("button.authorize").bounding_box()
        assert box is not None and box["x"] + box["width"] <= 390
        await page.screenshot(path=artifact("api-docs-phone-top.png"))
        # the first operation on /api/posts (POST: a request body and five answers)
        operation = page.locator(".opblock", has=page.locator(
            ".opblock-summary-path[data-path='/api/posts']")).first
        await operation.locator(".opblock-summary-control").click()
        await operation.locator(".parameters-container").wait_for(state="visible")
        assert await page.evaluate("document.documentElement.scrollWidth") <= 390
        await operation.screenshot(path=artifact("api-docs-phone-operation.png"))
        await page.screenshot(path=artifact("api-docs-phone.png"), full_page=True)
    finally:
        await context.close()
