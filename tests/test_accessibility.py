"""Every page passes axe-core in real headless Chromium: no "serious" or "critical" violation.

axe-core comes from the npm registry (package.json) and `make install` copies it into
static/vendor/, so the page loads it from this server like its own scripts (script-src
'self'). Pages are checked as people see them: signed out, signed in with posts, comments,
notifications and messages, on a desktop and on a phone viewport, after their scripts ran.
"""

from __future__ import annotations

import asyncio
import time
from datetime import timedelta
from typing import Any

import pytest

from microblog.clock import now
from microblog.models import User
from microblog.services import engagement, messages, posts, scheduled, social
from microblog.settings import ROOT
from tests.conftest import artifact
from tests.helpers import make_user, sign_in_browser

AXE = ROOT / "static" / "vendor" / "axe.min.js"
BLOCKING = ("serious", "critical")
PASSWORD = "a11y pass 1"
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}
SHOTS = {"/", "/ (signed out)", "/notifications", "/auth/login (a wrong password)"}  # kept even when they pass

# runs in the page once axe.min.js is loaded; the answer is JSON-friendly
RUN_AXE = """async () => {
  const results = await axe.run(document, { resultTypes: ["violations"] });
  return results.violations.map((v) => ({
    id: v.id, impact: v.impact, help: v.help, helpUrl: v.helpUrl,
    nodes: v.nodes.map((n) => ({ target: n.target.join(" "), impact: n.impact,
                                 html: n.html.slice(0, 200), summary: n.failureSummary })),
  }));
}"""


def require_axe() -> None:
    assert AXE.is_file(), f"{AXE} is missing: run `make install` (it copies axe-core there)"


async def audit(page: Any, base: str, path: str, *, live: bool = False, status: int = 200,
                label: str | None = None) -> list[str]:
    """The serious and critical violations axe finds on `path`, one readable line each."""
    label = label or path
    response = await page.goto(f"{base}{path}", wait_until="load")
    if response is None or response.status != status:  # reported with the violations
        return [f"{label}: HTTP {response and response.status}, expected {status}"]
    if live:  # the signed-in pages' scripts have connected: the badge shows its real state
        await page.wait_for_selector("#live-status[data-state=live]", state="attached")
    return await axe(page, base, label)


async def axe(page: Any, base: str, label: str) -> list[str]:
    """The serious and critical violations on the page as it is now, labelled `label`."""
    await page.add_script_tag(url=f"{base}/static/vendor/axe.min.js")
    found = await page.evaluate(RUN_AXE)
    lines = []
    for violation in found:
        if violation["impact"] not in BLOCKING:
            continue
        targets = "; ".join(
            f"{node['target']} ({node['html']})" for node in violation["nodes"][:10])
        more = len(violation["nodes"]) - 10
        lines.append(
            f"{label} [{violation['impact']}] {violation['id']}: {violation['help']} "
            f"({len(violation['nodes'])} nodes: {targets}{f'; and {more} more' if more > 0 else ''})"
            f" {violation['helpUrl']}")
    if lines or label in SHOTS:
        name = "".join(c if c.isalnum() else "-" for c in label.strip("/")) or "root"
        await page.screenshot(path=artifact(f"a11y-{name}-{page.viewport_size['width']}.png"),
                              full_page=True)
    return lines


def report(problems: list[str]) -> str:
    return (f"{len(problems)} serious or critical accessibility violations (or pages that did "
            "not load):\n" + "\n".join(problems))


async def sign_in(page: Any, base: str, username: str) -> None:
    await sign_in_browser(page, base, username, PASSWORD)


async def world() -> dict[str, Any]:
    """alice follows bob; both post (with mentions and tags), comment, like, repost and write
    each other; carol follows alice, so alice has notifications of every kind there is."""
    alice = await make_user("alice", PASSWORD)
    bob = await make_user("bob", PASSWORD)
    carol = await make_user("carol", PASSWORD)
    await social.follow(alice, bob)
    await social.follow(bob, alice)
    await social.follow(carol, alice)
    mine = await posts.create_post(alice, "Tomatoes are ripe in the garden #gardening")
    for n in range(3):
        await posts.create_post(bob, f"Tomato note {n}: basil likes them, @alice #gardening")
    theirs = await posts.create_post(bob, "Who has a tomato soup recipe? #cooking")
    await posts.add_comment(alice, theirs.id, "Mine: roast them first, @bob")
    await posts.add_comment(carol, mine.id, "Lovely tomatoes!")
    await posts.add_comment(bob, mine.id, "Save me some")
    await messages.send_message(bob, "alice", "Hi Alice, coffee tomorrow?")
    await messages.send_message(alice, "bob", "Yes! 10 o'clock?")
    await scheduled.schedule_post(alice, "Tomorrow: tomato jam", now() + timedelta(days=1))
    # likes, reposts (one shown on alice's home as "bob reposted") and an edited post
    shared = await posts.create_post(carol, "Green tomatoes make good chutney #cooking")
    await engagement.like(alice, theirs.id)
    await engagement.repost(alice, theirs.id)
    await engagement.like(bob, mine.id)
    await engagement.repost(bob, mine.id)
    await engagement.repost(bob, shared.id)
    await engagement.like(carol, mine.id)
    await posts.edit_post(alice, mine.id, "Tomatoes are ripe in the garden (and basil) #gardening")
    await engagement.settle()
    return {"post": theirs.id, "own_post": mine.id}


async def wait_for_search(page: Any, base: str, query: str,
                          timeout: float = 20.0) -> None:  # noqa: ASYNC109
    """The worker indexes new posts: wait until `query` finds one."""
    deadline = time.monotonic() + timeout
    while True:
        await page.goto(f"{base}/search?q={query}")
        if await page.locator("article.post").count():
            return
        assert time.monotonic() < deadline, f"search for {query!r} found nothing in {timeout}s"
        await asyncio.sleep(0.2)


async def test_signed_out_pages(server, browser, db):
    require_axe()
    base = server.url
    await world()
    problems: list[str] = []
    for viewport in (DESKTOP, PHONE):
        ctx = await browser.new_context(viewport=viewport, is_mobile=viewport is PHONE)
        page = await ctx.new_page()
        try:
            paths = ["/", "/auth/login", "/auth/register", "/explore"]
            if viewport is DESKTOP:
                paths += ["/auth/reset", "/user/bob", "/user/bob/followers"]
            for path in paths:
                problems += await audit(page, base, path, label=f"{path} (signed out)")
            problems += await audit(page, base, "/user/nobody-here", status=404)
            # a form with errors: the alert and the invalid fields
            await page.goto(f"{base}/auth/login")
            await page.fill("#username", "alice")
            await page.fill("#password", "not the password")
            await page.click("#submit")
            await page.wait_for_selector(".alert, .is-invalid")
            problems += await axe(page, base, "/auth/login (a wrong password)")
        finally:
            await ctx.close()
    assert not problems, report(problems)


async def test_signed_in_pages(server, browser, db):
    require_axe()
    base = server.url
    ids = await world()
    problems: list[str] = []
    ctx = await browser.new_context(viewport=DESKTOP)
    page = await ctx.new_page()
    try:
        await sign_in(page, base, "alice")
        await wait_for_search(page, base, "tomato")
        for path in ["/", "/explore", "/user/bob", "/user/alice", "/user/alice/followers",
                     "/user/alice/following", f"/post/{ids['post']}",
                     f"/post/{ids['own_post']}", f"/post/{ids['own_post']}/edit",
                     f"/post/{ids['own_post']}/history", "/notifications",
                     "/notifications?kind=mention", "/messages",
                     "/messages/bob", "/search?q=tomato", "/search?q=nothing+matches+this",
                     "/settings/account", "/settings/notifications", "/settings/email",
                     "/edit_profile",
                     "/exports", "/scheduled"]:
            problems += await audit(page, base, path, live=True)
        # cards that arrive live (static/js/live.js) are as accessible as the server's
        home = await page.goto(f"{base}/")
        if home is not None and home.ok:  # else already reported
            await page.wait_for_selector("#live-status[data-state=live]", state="attached")
            await posts.create_post(await User.get(username="bob"), "A live tomato, just picked")
            await page.wait_for_selector("#timeline article.post:has-text('A live tomato')")
            problems += await axe(page, base, "/ (a post arrived live)")
    finally:
        await ctx.close()
    assert not problems, report(problems)


async def test_signed_in_pages_on_a_phone(server, browser, db):
    require_axe()
    base = server.url
    ids = await world()
    problems: list[str] = []
    ctx = await browser.new_context(viewport=PHONE, device_scale_factor=2, is_mobile=True,
                                    has_touch=True)
    page = await ctx.new_page()
    try:
        await sign_in(page, base, "alice")
        for path in ["/", "/explore", "/user/bob", f"/post/{ids['post']}", "/notifications",
                     "/messages", "/messages/bob", "/settings/account"]:
            problems += await audit(page, base, path, live=True)
    finally:
        await ctx.close()
    assert not problems, report(problems)


async def test_pages_of_an_unconfirmed_address(server, browser, db):
    """Until the address is confirmed, every page has a banner saying so."""
    require_axe()
    base = server.url
    await make_user("dana", PASSWORD, verified=False)
    problems: list[str] = []
    for viewport in (DESKTOP, PHONE):
        ctx = await browser.new_context(viewport=viewport, is_mobile=viewport is PHONE)
        page = await ctx.new_page()
        try:
            await sign_in(page, base, "dana")
            for path in ["/explore", "/settings/email"]:
                problems += await audit(page, base, path, live=True)
        finally:
            await ctx.close()
    assert not problems, report(problems)


async def test_tag_page(server, browser, db):
    require_axe()
    base = server.url
    await world()
    ctx = await browser.new_context(viewport=DESKTOP)
    page = await ctx.new_page()
    try:
        await sign_in(page, base, "alice")
        probe = await page.request.get(f"{base}/tags/gardening")
        if probe.status == 404:
            pytest.skip("no /tags/<name> page yet")
        problems = await audit(page, base, "/tags/gardening", live=True)
        await page.set_viewport_size(PHONE)
        problems += await audit(page, base, "/tags/gardening", live=True)
    finally:
        await ctx.close()
    assert not problems, report(problems)
