"""Regression tests of the security review (issue 14): blocked commenters, CSV formula
injection, security headers and the Content-Security-Policy in a real browser, and
look-alike usernames."""

from __future__ import annotations

import csv
import importlib.util
import json
import secrets
from collections.abc import AsyncIterator
from typing import Any

import pytest
from tortoise import connections

from microblog import CONTENT_SECURITY_POLICY, create_app
from microblog.errors import Forbidden, ValidationFailed
from microblog.infra import resources
from microblog.jobs.queue import make_queue
from microblog.models import Block, Comment, Notification, User
from microblog.services import accounts, emails, messages, posts, tasks
from microblog.settings import ROOT, Settings
from microblog.text import username_skeleton
from tests.helpers import login, make_user, page, present, submit
from tests.test_browser import register_and_login

BLOCKED = "You cannot comment on this user&#39;s posts."
TOO_SIMILAR = "That username is too similar to an existing one."


@pytest.fixture
async def own_queue(app: Any, settings: Settings) -> AsyncIterator[Any]:
    """The app enqueues into a queue of this test's own that no worker consumes, so the test
    sees every job it caused."""
    queue = make_queue(settings.with_(
        redis_namespace=f"{settings.redis_namespace}:sec{secrets.token_hex(3)}"))
    await queue.connect()
    previous, resources.queue = resources.queue, queue
    try:
        yield queue
    finally:
        resources.queue = previous
        await queue.disconnect()


# --- 1. someone the author blocked cannot comment ------------------------------------------


async def test_a_blocked_user_cannot_comment(client: Any, own_queue: Any) -> None:
    alice, bob, carol = [await make_user(n) for n in ("alice", "bob", "carol")]
    post = await posts.create_post(alice, "Only my friends may answer")
    await messages.block(alice, bob)
    queued = await own_queue.count("incomplete")

    with pytest.raises(Forbidden, match="You cannot comment on this user's posts."):
        await posts.add_comment(bob, post.id, "let me in")
    # the post page's form says so, and nothing was written, notified or emailed
    await login(client, "bob")
    response = await submit(client, f"/post/{post.id}", {"body": "let me in again"})
    assert response.status_code == 403
    html = await response.get_data(as_text=True)
    assert BLOCKED in html and "let me in again" in html  # the text stays in the form
    assert await Comment.all().count() == 0
    assert await Notification.all().count() == 0
    assert await own_queue.count("incomplete") == queued

    # anyone else still may (and the author is notified and emailed)
    await posts.add_comment(carol, post.id, "hello alice")
    assert await Comment.all().count() == 1 and await Notification.all().count() == 1
    assert await own_queue.count("incomplete") == queued + 1
    # once unblocked, bob may too
    await Block.filter(blocker_id=alice.id, blocked_id=bob.id).delete()
    await posts.add_comment(bob, post.id, "thanks")
    assert await Comment.all().count() == 2


# --- 3. CSV formula injection ---------------------------------------------------------------


async def test_the_csv_export_neutralises_formulas(client: Any, own_queue: Any) -> None:
    alice = await make_user("alice")
    bodies = ['=HYPERLINK("http://x","y")', "+1+1", "-2+3", "@SUM(A1)",
              "plain = text", "a normal post"]
    for body in bodies:
        await posts.create_post(alice, body)
    # a tab or carriage return first cannot come through the form (posts are trimmed)
    await connections.get("default").execute_query(
        "INSERT INTO posts (author_id, body, language, created_at) VALUES "
        "($1, E'\\tcmd', '', now()), ($1, E'\\rcmd', '', now())", [alice.id])
    task = await tasks.start_export(alice)
    await tasks.export_posts({}, task_id=task.id)

    directory = tasks.export_dir(task)
    with (directory / "posts.csv").open(encoding="utf-8", newline="") as f:
        rows = list(csv.reader(f))
    assert [row[3] for row in rows[1:]] == [
        "'=HYPERLINK(\"http://x\",\"y\")", "'+1+1", "'-2+3", "'@SUM(A1)", "plain = text",
        "a normal post", "'\tcmd", "'\rcmd"]
    # the JSON export keeps every text exactly
    exported = json.loads((directory / "posts.json").read_text())
    assert [p["body"] for p in exported["posts"]] == [*bodies, "\tcmd", "\rcmd"]


def test_csv_cell() -> None:
    for formula in ("=1", "+1", "-1", "@x", "\tx", "\rx"):
        assert tasks.csv_cell(formula) == "'" + formula
    for text in ("", "1-1", "a=b", "'quoted", " =x"):
        assert tasks.csv_cell(text) == text


# --- 4. an unsubscribe link only asks (see test_email_notifications for the whole flow) -----


async def test_opening_an_unsubscribe_link_changes_nothing(client: Any, app: Any) -> None:
    alice = await make_user("alice")
    path = f"/unsubscribe/{emails.unsubscribe_token(alice.id, emails.EmailKind.COMMENT)}"
    scanner = app.test_client()
    for _ in range(2):
        assert (await scanner.get(path)).status_code == 200
        assert (await scanner.head(path)).status_code == 200
    assert (await User.get(id=alice.id)).email_on_comment
    _status, html = await page(scanner, path)
    assert "Stop sending me emails about comments on your posts?" in html
    response = await scanner.post(path, form={"List-Unsubscribe": "One-Click"})
    assert response.status_code == 200
    assert not (await User.get(id=alice.id)).email_on_comment


# --- 5. security headers --------------------------------------------------------------------


async def test_pages_and_the_api_send_the_security_headers(client: Any) -> None:
    await make_user("alice")
    for path in ("/", "/auth/login", "/docs", "/openapi.json", "/api/posts", "/healthz",
                 "/no/such/page"):
        headers = (await client.get(path)).headers
        assert headers["Content-Security-Policy"] == CONTENT_SECURITY_POLICY, path
        assert headers["X-Content-Type-Options"] == "nosniff", path
        assert headers["X-Frame-Options"] == "DENY", path
        assert headers["Referrer-Policy"] == "same-origin", path
        # PUBLIC_URL is http:// in the tests: no HSTS
        assert "Strict-Transport-Security" not in headers, path
    policy = dict(part.split(" ", 1) for part in CONTENT_SECURITY_POLICY.split("; "))
    assert policy["script-src"] == "'self'" and policy["style-src"] == "'self'"
    assert policy["frame-ancestors"] == "'none'" and policy["object-src"] == "'none'"

    # the session cookie (it holds the CSRF secret): HttpOnly and SameSite=Lax, not Secure
    response = await client.app.test_client().get("/auth/login")
    cookie = present(next((c for c in response.headers.getlist("Set-Cookie")
                           if c.startswith("session=")), None))
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" not in cookie


async def test_an_https_site_sends_hsts_and_secure_session_cookies(settings: Settings) -> None:
    # as from the environment: COOKIE_SECURE unset follows PUBLIC_URL
    https = create_app(settings.with_(public_url="https://example.com", cookie_secure=None))
    assert https.config["SESSION_COOKIE_SECURE"] is True
    client = https.test_client()
    for path in ("/healthz", "/auth/login"):
        response = await client.get(path)
        assert response.headers["Strict-Transport-Security"] == (
            "max-age=31536000; includeSubDomains"), path
        assert response.headers["Content-Security-Policy"] == CONTENT_SECURITY_POLICY
    cookie = present(next((c for c in response.headers.getlist("Set-Cookie")
                           if c.startswith("session=")), None))
    assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_templates_have_no_inline_code_or_style() -> None:
    """What the Content-Security-Policy would block: inline script code, event handler
    attributes, style attributes and javascript: URLs (emails are not pages: they may)."""
    import re

    offenders = []
    for path in sorted((ROOT / "templates").rglob("*.html")):
        if path.parts[-2] == "email":
            continue
        text = path.read_text()
        for pattern in (r"<script(?![^>]*\bsrc=)(?![^>]*type=\"application/json\")[^>]*>",
                        r"\son[a-z]+\s*=", r"\sstyle\s*=", r"javascript:"):
            offenders += [f"{path.relative_to(ROOT)}: {m.group(0)}"
                          for m in re.finditer(pattern, text)]
    assert not offenders, offenders


async def test_pages_work_under_the_content_security_policy(server: Any, browser: Any,
                                                            db: None) -> None:
    """Every kind of page in Chromium: no violation of the policy, no script error."""
    base = server.url
    context = await browser.new_context(viewport={"width": 1100, "height": 900})
    problems: list[str] = []
    page_ = await context.new_page()

    def console(message: Any) -> None:
        # no internet here: Gravatar's avatars do not load (the local identicon stays)
        source = message.location.get("url", "")
        if message.type == "error" and "gravatar.com" not in source and not source.endswith(
                "/favicon.ico"):
            problems.append(f"{page_.url}: {message.text} ({source})")

    page_.on("console", console)
    page_.on("pageerror", lambda error: problems.append(f"{page_.url}: {error}"))
    await page_.add_init_script(
        "document.addEventListener('securitypolicyviolation', e => console.error("
        "'CSP violation: ' + e.violatedDirective + ' ' + e.blockedURI));")
    try:
        for path in ("/auth/login", "/auth/register", "/auth/reset", "/docs"):
            response = present(await page_.goto(f"{base}{path}"))
            assert response.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
        await register_and_login(page_, base, "alice")
        bob = await accounts.register("bob", "bob@example.com", "correct horse battery")
        post = await posts.create_post(bob, "A post with a #tag to look at")
        await posts.add_comment(bob, post.id, "and a comment")
        alice = await User.get(username="alice")
        await tasks.start_export(alice)
        unsubscribe = emails.unsubscribe_token(alice.id, emails.EmailKind.FOLLOW)
        await page_.wait_for_selector("#live-status[data-state=live]")
        for path in ("/", "/explore", "/user/bob", f"/post/{post.id}", "/messages",
                     "/messages/bob", "/exports", "/settings/notifications", "/edit_profile",
                     "/notifications", "/scheduled", "/search?q=post", "/search?q=bo&type=users",
                     f"/unsubscribe/{unsubscribe}"):
            await page_.goto(f"{base}{path}")
            await page_.wait_for_load_state("networkidle")
        # scripts ran: the exports page's progress bar or links, the live socket connected
        await page_.goto(f"{base}/")
        await page_.wait_for_selector("#live-status[data-state=live]")
        await page_.fill("#post", "posted under the policy")
        await page_.click("#submit")
        await page_.wait_for_selector("article.post:has-text('posted under the policy')")
    finally:
        await context.close()
    assert not problems, "\n".join(problems)


# --- 6. look-alike usernames ----------------------------------------------------------------


def test_username_skeletons() -> None:
    assert username_skeleton("aIice") == username_skeleton("alice") == username_skeleton(
        "ALICE") == username_skeleton("a1ice") == username_skeleton("aLice")
    assert username_skeleton("rnike") == username_skeleton("mike")
    assert username_skeleton("vvolf") == username_skeleton("wolf")
    assert username_skeleton("b0b5") == username_skeleton("bobs")
    assert username_skeleton("bob") != username_skeleton("rob")
    assert username_skeleton("alice_2") != username_skeleton("alice_3")


async def test_the_migrations_backfill_agrees_with_username_skeleton(db: None) -> None:
    [path] = (ROOT / "migrations" / "models").glob("7_*_confusable.py")
    spec = present(importlib.util.spec_from_file_location("confusable", path))
    module = importlib.util.module_from_spec(spec)
    present(spec.loader).exec_module(module)
    names = ["aIice", "ALICE", "a1ice", "rnike", "VVolf", "vvvolf", "rrnn", "B0b5_15",
             "Iil1_0O", "mirror", "x" * 32]
    rows = await connections.get("default").execute_query_dict(
        f"SELECT username, {module.SKELETON_SQL} AS skeleton "  # noqa: S608 - our constant
        "FROM unnest($1::text[]) AS t(username)", [names])
    assert {r["username"]: r["skeleton"] for r in rows} == {
        n: username_skeleton(n) for n in names}


async def test_a_look_alike_username_cannot_register(client: Any) -> None:
    alice = await make_user("alice")
    assert alice.username_skeleton == "allce"
    with pytest.raises(ValidationFailed) as refused:
        await accounts.register("aIice", "mallory@example.com", "correct horse battery")
    assert refused.value.errors == {"username": TOO_SIMILAR}
    # the page and the API say so too
    response = await submit(client, "/auth/register", {
        "username": "A1ice", "email": "mallory@example.com",
        "password": "correct horse battery", "password2": "correct horse battery"})
    assert response.status_code == 400
    assert TOO_SIMILAR in await response.get_data(as_text=True)
    response = await client.post("/api/users", json={
        "username": "ALlCE", "email": "mallory@example.com",
        "password": "correct horse battery"})
    assert response.status_code == 400
    assert (await response.get_json())["errors"]["username"] == TOO_SIMILAR
    # the same name in another case is "taken", as before; different names are fine
    with pytest.raises(ValidationFailed, match="That username is taken."):
        await accounts.register("ALICE", "mallory@example.com", "correct horse battery")
    await accounts.register("alicia", "alicia@example.com", "correct horse battery")
    assert await User.all().count() == 2


async def test_the_unique_index_decides_a_race(client: Any,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """Two look-alike names registered at once both pass the check; the index refuses the
    second with the same message."""
    await make_user("rnike")
    real = accounts.validate_registration

    async def raced(username: str | None, email: str | None,
                    password: str | None) -> dict[str, str]:
        await User.filter(username="rnike").update(username_skeleton="not-yet")
        try:
            return await real(username, email, password)
        finally:
            await User.filter(username="rnike").update(username_skeleton="mlke")

    monkeypatch.setattr(accounts, "validate_registration", raced)
    with pytest.raises(ValidationFailed) as refused:
        await accounts.register("mike", "mike@example.com", "correct horse battery")
    assert refused.value.errors == {"username": TOO_SIMILAR}
    assert await User.all().count() == 1


async def test_a_rename_to_a_look_alike_is_refused(client: Any) -> None:
    await make_user("alice")
    bob = await make_user("bob")
    with pytest.raises(ValidationFailed) as refused:
        await accounts.update_profile(bob, "aIice", "")
    assert refused.value.errors == {"username": TOO_SIMILAR}
    await login(client, "bob")
    response = await submit(client, "/edit_profile", {"username": "a1ice", "about_me": ""})
    assert response.status_code == 400
    assert TOO_SIMILAR in await response.get_data(as_text=True)
    assert (await User.get(id=bob.id)).username == "bob"

    # a new name takes its skeleton; the old one is free again
    await accounts.update_profile(bob, "Robert", "")
    assert (await User.get(id=bob.id)).username_skeleton == "robert"
    carol = await make_user("B0b")
    assert carol.username_skeleton == "bob"
    # keeping one's own name (in another case) is not "too similar" to oneself
    await accounts.update_profile(bob, "ROBERT", "about me")
    assert (await User.get(id=bob.id)).username_skeleton == "robert"


async def test_accounts_that_already_looked_alike_keep_working(client: Any) -> None:
    """Rows the migration found colliding hold `<skeleton>#<id>`: they can still edit their
    profile, and nobody new can take a look-alike of either."""
    alice = await make_user("alice")
    old = await make_user("aIice_old")
    await User.filter(id=old.id).update(username="aIice", username_key="aiice",
                                        username_skeleton=f"allce#{old.id}")
    old = await User.get(id=old.id)
    await accounts.update_profile(old, "aIice", "still here")
    assert (await User.get(id=old.id)).about_me == "still here"
    with pytest.raises(ValidationFailed, match=TOO_SIMILAR):
        await accounts.register("a1ice", "x@example.com", "correct horse battery")
    assert alice.username_skeleton == "allce"

