"""Scheduled posts: invisible until their time, then published by the real worker and
delivered live like any new post; listed, edited and cancelled by their author only."""

import asyncio
import re
from datetime import UTC, datetime, timedelta

import pytest

from microblog.models import Follow, Post, ScheduledPost
from microblog.services import scheduled as scheduled_service
from microblog.services.scheduled import publish_due_posts, publish_scheduled_post
from tests.conftest import artifact
from tests.helpers import csrf_from, login, make_user, page, submit
from tests.realtime import Api, Recorder
from tests.test_api import token_for

SCHEDULED_FIELDS = {"id", "body", "publish_at", "status", "post_id", "created_at",
                    "updated_at", "_links"}


def utc_iso(when):
    return when.astimezone(UTC).isoformat().replace("+00:00", "Z")


def ahead(**delta):
    return datetime.now(UTC) + timedelta(**delta)


def wall_clock(when):
    """As an English page writes a date and time to the minute: Nov 21, 2026, 5:07 PM."""
    hour = when.hour % 12 or 12
    return (f"{when:%b} {when.day}, {when.year}, {hour}:{when:%M}\u202f"
            f"{'AM' if when.hour < 12 else 'PM'}")


def parse(value):
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


async def nothing_written():
    return await ScheduledPost.all().count() == 0 and await Post.all().count() == 0


@pytest.fixture
async def alice_and_bob(client):
    """alice schedules; bob follows her. Returns their API headers and users."""
    alice, bob = await make_user("alice"), await make_user("bob")
    await Follow.create(follower=bob, followed=alice)
    return (await token_for(client, "alice"), alice), (await token_for(client, "bob"), bob)


async def schedule(client, headers, body, when):
    response = await client.post("/api/posts", headers=headers,
                                 json={"body": body, "publish_at": utc_iso(when)})
    assert response.status_code == 202, await response.get_data(as_text=True)
    return await response.get_json()


async def make_due(scheduled_id):
    """As if its time had come (a real wait is for the live test below)."""
    await ScheduledPost.filter(id=scheduled_id).update(publish_at=ahead(seconds=-1))


# --- the API ----------------------------------------------------------------------------


async def test_api_schedules_a_post_that_stays_hidden_until_published(client, alice_and_bob):
    (alice_h, alice), (bob_h, _bob) = alice_and_bob
    when = ahead(hours=1).replace(microsecond=0)
    response = await client.post("/api/posts", headers=alice_h,
                                 json={"body": "  <b>hidden</b> till noon  ", "publish_at": utc_iso(when)})
    assert response.status_code == 202
    doc = await response.get_json()
    assert set(doc) == SCHEDULED_FIELDS
    assert doc["body"] == "<b>hidden</b> till noon" and doc["status"] == "scheduled"
    assert doc["publish_at"] == utc_iso(when) and doc["post_id"] is None
    assert doc["_links"] == {"self": f"/api/scheduled-posts/{doc['id']}", "post": None}
    assert response.headers["Location"] == f"/api/scheduled-posts/{doc['id']}"

    listing = await (await client.get("/api/scheduled-posts", headers=alice_h)).get_json()
    assert listing["items"] == [doc] and listing["_meta"]["total_items"] == 1
    assert await (await client.get(doc["_links"]["self"], headers=alice_h)).get_json() == doc

    # not a post yet: no timeline, explore, profile or page shows it
    for path, headers in (("/api/timeline", alice_h), ("/api/timeline", bob_h),
                          ("/api/posts", bob_h), (f"/api/users/{alice.id}/posts", bob_h)):
        body = await (await client.get(path, headers=headers)).get_json()
        assert body["items"] == [], path
    author = await (await client.get(f"/api/users/{alice.id}", headers=bob_h)).get_json()
    assert author["post_count"] == 0
    await login(client, "bob")
    for path in ("/", "/explore", "/user/alice"):
        status, html = await page(client, path)
        assert status == 200 and "till noon" not in html, path
    assert await Post.all().count() == 0

    # its time comes: the job publishes it, once, however often it runs
    await make_due(doc["id"])
    results = await asyncio.gather(*(publish_scheduled_post({}, scheduled_id=doc["id"])
                                     for _ in range(3)))
    results.append(await publish_scheduled_post({}, scheduled_id=doc["id"]))
    assert await publish_due_posts({}) == 0
    assert sum(r.startswith("published") for r in results) <= 1  # the cron sweep may win
    posts = await Post.filter(body="<b>hidden</b> till noon")
    assert len(posts) == 1 and await Post.exists(id=posts[0].id, author_id=alice.id)
    row = await ScheduledPost.get(id=doc["id"])
    assert row.post_id == posts[0].id

    timeline = await (await client.get("/api/timeline", headers=bob_h)).get_json()
    assert [p["body"] for p in timeline["items"]] == ["<b>hidden</b> till noon"]
    published = await (await client.get(doc["_links"]["self"], headers=alice_h)).get_json()
    assert published["status"] == "published" and published["post_id"] == posts[0].id
    assert published["_links"]["post"] == f"/api/posts/{posts[0].id}"
    # no longer waiting: not listed, and neither editable nor cancellable
    listing = await (await client.get("/api/scheduled-posts", headers=alice_h)).get_json()
    assert listing["items"] == []
    response = await client.patch(doc["_links"]["self"], headers=alice_h, json={"body": "x"})
    assert response.status_code == 409
    assert (await client.delete(doc["_links"]["self"], headers=alice_h)).status_code == 409


@pytest.mark.parametrize("payload, field", [
    ({"body": "hi", "publish_at": "2001-01-01T10:00:00Z"}, "publish_at"),
    ({"body": "hi", "publish_at": "SOON"}, "publish_at"),  # replaced: 2 seconds ahead
    ({"body": "hi", "publish_at": "tomorrow at noon"}, "publish_at"),
    ({"body": "hi", "publish_at": "2030-13-45T25:00:00Z"}, "publish_at"),
    ({"body": "hi", "publish_at": 1893456000}, "publish_at"),
    ({"body": "hi", "publish_at": "LATE"}, "publish_at"),  # replaced: two years ahead
    ({"body": "   ", "publish_at": "LATER"}, "body"),  # replaced: an hour ahead
    ({"body": "x" * 281, "publish_at": "LATER"}, "body"),
    ({"publish_at": "LATER"}, "body"),
])
async def test_api_refuses_bad_scheduled_posts_and_writes_nothing(client, alice_and_bob,
                                                                 payload, field):
    (alice_h, _alice), _ = alice_and_bob
    stand_ins = {"SOON": ahead(seconds=2), "LATE": ahead(days=730), "LATER": ahead(hours=1)}
    if payload["publish_at"] in stand_ins:
        payload = {**payload, "publish_at": utc_iso(stand_ins[payload["publish_at"]])}
    response = await client.post("/api/posts", headers=alice_h, json=payload)
    assert response.status_code == 400
    body = await response.get_json()
    assert body["error"] == "Bad Request" and body["message"]
    assert field in body["errors"]
    assert await nothing_written()


async def test_api_reads_times_without_a_zone_as_utc_and_converts_others(client,
                                                                       alice_and_bob):
    (alice_h, _alice), _ = alice_and_bob
    when = ahead(hours=2).replace(microsecond=0, tzinfo=None)
    doc = (await (await client.post("/api/posts", headers=alice_h, json={
        "body": "naive", "publish_at": when.isoformat()})).get_json())
    assert doc["publish_at"] == when.isoformat() + "Z"
    tokyo = (when + timedelta(hours=9)).isoformat() + "+09:00"
    doc = (await (await client.post("/api/posts", headers=alice_h, json={
        "body": "zoned", "publish_at": tokyo})).get_json())
    assert doc["publish_at"] == when.isoformat() + "Z"
    # without publish_at (or with null) it is an ordinary post, as before
    response = await client.post("/api/posts", headers=alice_h,
                                 json={"body": "now", "publish_at": None})
    assert response.status_code == 201 and (await response.get_json())["body"] == "now"


async def test_api_edit_and_cancel(client, alice_and_bob):
    (alice_h, _alice), _ = alice_and_bob
    first = ahead(hours=1).replace(microsecond=0)
    doc = await schedule(client, alice_h, "draft", first)
    url = doc["_links"]["self"]

    response = await client.patch(url, headers=alice_h, json={"body": "final words"})
    assert response.status_code == 200
    edited = await response.get_json()
    assert edited["body"] == "final words" and edited["publish_at"] == doc["publish_at"]

    second = ahead(hours=3).replace(microsecond=0)
    edited = await (await client.patch(url, headers=alice_h, json={
        "publish_at": utc_iso(second)})).get_json()
    assert edited["publish_at"] == utc_iso(second) and edited["body"] == "final words"

    for bad in ({"publish_at": "2001-01-01T00:00:00Z"}, {"publish_at": "noon"},
                {"body": ""}, {"body": 12}, {"body": "ok", "publish_at": utc_iso(ahead(days=400))}):
        response = await client.patch(url, headers=alice_h, json=bad)
        assert response.status_code == 400, bad
        assert (await response.get_json())["message"]
    row = await ScheduledPost.get(id=doc["id"])
    assert row.body == "final words" and row.publish_at == second

    # soonest first
    sooner = await schedule(client, alice_h, "sooner", ahead(minutes=30))
    listing = await (await client.get("/api/scheduled-posts", headers=alice_h)).get_json()
    assert [item["id"] for item in listing["items"]] == [sooner["id"], doc["id"]]

    assert (await client.delete(url, headers=alice_h)).status_code == 204
    assert (await client.get(url, headers=alice_h)).status_code == 404
    assert (await client.delete(url, headers=alice_h)).status_code == 404
    listing = await (await client.get("/api/scheduled-posts", headers=alice_h)).get_json()
    assert [item["id"] for item in listing["items"]] == [sooner["id"]]
    # a cancelled post is never published, even by a job that was queued for it
    assert await publish_scheduled_post({}, scheduled_id=doc["id"]) == "skipped"
    assert await Post.all().count() == 0


async def test_someone_elses_scheduled_post_is_not_found(client, alice_and_bob):
    (alice_h, _alice), (bob_h, _bob) = alice_and_bob
    doc = await schedule(client, alice_h, "mine only", ahead(hours=1))
    url = doc["_links"]["self"]
    assert (await client.get(url, headers=bob_h)).status_code == 404
    response = await client.patch(url, headers=bob_h, json={"body": "hijacked"})
    assert response.status_code == 404
    assert (await response.get_json())["error"] == "Not Found"
    assert (await client.delete(url, headers=bob_h)).status_code == 404
    listing = await (await client.get("/api/scheduled-posts", headers=bob_h)).get_json()
    assert listing["items"] == []

    await login(client, "bob")
    status, html = await page(client, f"/scheduled/{doc['id']}/edit")
    assert status == 404
    _status, listing_html = await page(client, "/scheduled")
    assert "mine only" not in listing_html
    response = await client.post(f"/scheduled/{doc['id']}/cancel",
                                 form={"csrf_token": csrf_from(listing_html)})
    assert response.status_code == 404
    response = await client.post(f"/scheduled/{doc['id']}/edit", form={
        "csrf_token": csrf_from(listing_html), "body": "hijacked",
        "publish_at": utc_iso(ahead(hours=2))[:16]})
    assert response.status_code == 404
    row = await ScheduledPost.get(id=doc["id"])
    assert row.body == "mine only"


async def test_at_most_a_hundred_waiting(client, alice_and_bob):
    (alice_h, alice), _ = alice_and_bob
    when = ahead(days=1)
    await ScheduledPost.bulk_create([
        ScheduledPost(author=alice, body=f"queued {i}", publish_at=when)
        for i in range(scheduled_service.PENDING_MAX)])
    response = await client.post("/api/posts", headers=alice_h, json={
        "body": "one too many", "publish_at": utc_iso(when)})
    assert response.status_code == 409
    assert "100" in (await response.get_json())["message"]
    assert await ScheduledPost.all().count() == scheduled_service.PENDING_MAX
    # posting now is not limited
    response = await client.post("/api/posts", headers=alice_h, json={"body": "right now"})
    assert response.status_code == 201


# --- pages ------------------------------------------------------------------------------


async def test_schedule_from_the_home_page_in_the_browsers_time_zone(client):
    await make_user("alice")
    await login(client, "alice")
    # the browser is at UTC+2: JavaScript sends getTimezoneOffset() = -120
    local = (datetime.now(UTC) + timedelta(hours=3)).replace(tzinfo=None, second=0,
                                                              microsecond=0)
    response = await submit(client, "/", {
        "post": "<i>Tea</i> at five", "publish_at": local.strftime("%Y-%m-%dT%H:%M"),
        "tz_offset": "-120"})
    assert response.status_code == 302 and response.location.endswith("/scheduled")
    row = await ScheduledPost.get(body="<i>Tea</i> at five")
    assert row.publish_at == (local - timedelta(hours=2)).replace(tzinfo=UTC)
    assert await Post.all().count() == 0

    status, html = await page(client, "/scheduled")
    assert status == 200
    # the flash says the time as the user picked it, in their zone
    assert f"Scheduled for {wall_clock(local)}." in html
    assert "&lt;i&gt;Tea&lt;/i&gt; at five" in html and "<i>Tea</i>" not in html
    assert f'href="/scheduled/{row.id}/edit"' in html
    assert f'action="/scheduled/{row.id}/cancel"' in html
    assert f'datetime="{row.publish_at.isoformat()}"' in html
    _status, home = await page(client, "/")
    assert "Tea" not in home.split('id="timeline"', 1)[1]

    # without JavaScript there is no offset: the time is read as UTC (the help says so; with
    # JavaScript it says "Your local time.")
    assert "Times are in UTC." in home and 'data-zone-note="Your local time."' in home
    response = await submit(client, "/", {
        "post": "utc please", "publish_at": local.strftime("%Y-%m-%dT%H:%M")})
    assert response.status_code == 302
    row = await ScheduledPost.get(body="utc please")
    assert row.publish_at == local.replace(tzinfo=UTC)
    status, html = await page(client, "/scheduled")
    assert f"Scheduled for {wall_clock(local)} UTC." in html


@pytest.mark.parametrize("data, message", [
    ({"post": "too late", "publish_at": "2001-01-01T10:00"}, "pick a later time"),
    ({"post": "what time", "publish_at": "next tuesday"}, "not a date and time"),
    ({"post": "zone", "publish_at": "2100-01-01T10:00", "tz_offset": "lunch"},
     "time zone offset"),
    ({"post": "", "publish_at": "LATER"}, "the text is empty"),
])
async def test_home_page_refuses_bad_schedules_and_writes_nothing(client, data, message):
    await make_user("alice")
    await login(client, "alice")
    if data["publish_at"] == "LATER":
        data = {**data, "publish_at": ahead(hours=1).strftime("%Y-%m-%dT%H:%M")}
    response = await submit(client, "/", data)
    assert response.status_code == 400
    html = await response.get_data(as_text=True)
    assert message in html and "is-invalid" in html
    assert await nothing_written()


async def test_edit_and_cancel_pages(client):
    alice = await make_user("alice")
    await login(client, "alice")
    row = await scheduled_service.schedule_post(alice, "first <draft>", ahead(hours=1))
    status, html = await page(client, f"/scheduled/{row.id}/edit")
    assert status == 200 and "first &lt;draft&gt;" in html
    utc_value = row.publish_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M")
    assert re.search(rf'data-utc="{utc_value}(:\d\d)?"', html)

    later = (datetime.now(UTC) + timedelta(hours=5)).replace(second=0, microsecond=0)
    response = await submit(client, f"/scheduled/{row.id}/edit", {
        "body": "second draft", "publish_at": later.strftime("%Y-%m-%dT%H:%M"),
        "tz_offset": "0"})
    assert response.status_code == 302 and response.location.endswith("/scheduled")
    await row.refresh_from_db()
    assert row.body == "second draft" and row.publish_at == later

    response = await submit(client, f"/scheduled/{row.id}/edit", {
        "body": "third draft", "publish_at": "2001-01-01T00:00"})
    assert response.status_code == 400
    assert "pick a later time" in await response.get_data(as_text=True)
    await row.refresh_from_db()
    assert row.body == "second draft" and row.publish_at == later

    _status, html = await page(client, "/scheduled")
    assert "second draft" in html
    response = await client.post(f"/scheduled/{row.id}/cancel",
                                 form={"csrf_token": csrf_from(html)})
    assert response.status_code == 302
    _status, html = await page(client, "/scheduled")
    assert "will not be published" in html and "second draft" not in html
    assert "You have no scheduled posts" in html
    assert await ScheduledPost.all().count() == 0

    # a cancel without the form's CSRF token does nothing
    row = await scheduled_service.schedule_post(alice, "keep me", ahead(hours=1))
    response = await client.post(f"/scheduled/{row.id}/cancel", form={})
    assert response.status_code == 400
    assert await ScheduledPost.filter(id=row.id).exists()


async def test_scheduled_pages_need_a_login(client):
    for path in ("/scheduled", "/scheduled/1/edit"):
        response = await client.get(path)
        assert response.status_code == 302 and "/auth/login" in response.location


# --- the real worker, live --------------------------------------------------------------


async def test_the_worker_publishes_at_the_time_and_followers_get_it_live(server, db):
    author, fan = Api(server.url), Api(server.url)
    author_doc = await author.register("author")
    await fan.register("fan")
    assert (await fan.http.post(f"/api/me/following/{author_doc['id']}")).status_code == 204
    fan_socket = await Recorder("fan").connect(server.url, fan.token)
    try:
        async def later(body, seconds):
            response = await author.http.post("/api/posts", json={
                "body": body, "publish_at": utc_iso(ahead(seconds=seconds))})
            assert response.status_code == 202, response.text
            return response.json()

        plain = await later("on time", 7)
        moved = await later("first version", 7)
        dropped = await later("never seen", 7)
        response = await author.http.patch(moved["_links"]["self"], json={
            "body": "second version", "publish_at": utc_iso(ahead(seconds=9))})
        assert response.status_code == 200
        moved = response.json()
        assert (await author.http.delete(dropped["_links"]["self"])).status_code == 204
        timeline = (await fan.http.get("/api/timeline")).json()
        assert timeline["items"] == []

        events = await fan_socket.wait_for("post.created", count=2, within=40)
        by_body = {e["body"]: e for e in events}
        assert set(by_body) == {"on time", "second version"}
        # published no earlier than asked: the job queued for the old time did nothing
        assert parse(by_body["on time"]["created_at"]) >= parse(plain["publish_at"])
        assert parse(by_body["second version"]["created_at"]) >= parse(moved["publish_at"])

        timeline = (await fan.http.get("/api/timeline")).json()
        assert sorted(p["body"] for p in timeline["items"]) == ["on time", "second version"]
        # exactly what posting now would have sent: the API's post document
        assert sorted(timeline["items"], key=lambda p: p["id"]) == sorted(
            events, key=lambda p: p["id"])
        for doc in (plain, moved):
            status = (await author.http.get(doc["_links"]["self"])).json()
            assert status["status"] == "published"
        # the sweep finds nothing left to publish: the cancelled one is gone for good
        assert await publish_due_posts({}) == 0
        assert await Post.filter(body__in=["never seen", "first version"]).count() == 0
        assert [e["body"] for e in fan_socket.of("post.created")] == [
            e["body"] for e in events]
    finally:
        await fan_socket.disconnect()
        await author.close()
        await fan.close()


async def test_the_cron_sweep_publishes_a_post_whose_job_was_lost(server, db):
    """Redis lost the delayed job: the every-5-seconds sweep of the real worker still
    publishes the post and it reaches followers live."""
    author, fan = Api(server.url), Api(server.url)
    author_doc = await author.register("author")
    await fan.register("fan")
    await fan.http.post(f"/api/me/following/{author_doc['id']}")
    fan_socket = await Recorder("fan").connect(server.url, fan.token)
    try:
        # a row with no job at all, as after a Redis restart that lost the queue
        row = await ScheduledPost.create(author_id=author_doc["id"], body="swept up",
                                         publish_at=ahead(seconds=1))
        event = (await fan_socket.wait_for("post.created", within=30))[0]
        assert event["body"] == "swept up"
        await row.refresh_from_db()
        assert row.post_id == event["id"]
    finally:
        await fan_socket.disconnect()
        await author.close()
        await fan.close()


# --- a real browser: the local time zone ----------------------------------------------


async def test_browser_schedules_in_its_own_time_zone(server, browser, db):
    api = Api(server.url)
    await api.register("tokyo", password="browser pass 1")
    await api.close()
    context = await browser.new_context(timezone_id="Asia/Tokyo", locale="en-US")
    tab = await context.new_page()
    try:
        await tab.goto(f"{server.url}/auth/login")
        await tab.fill("#username", "tokyo")
        await tab.fill("#password", "browser pass 1")
        await tab.click("#submit")
        await tab.wait_for_url(f"{server.url}/")
        tomorrow = datetime.now(UTC) + timedelta(days=1)
        local = tomorrow.replace(hour=9, minute=30, second=0, microsecond=0, tzinfo=None)
        await tab.fill("#post", "breakfast in Tokyo")
        # the field waits behind the clock button
        assert await tab.is_hidden("#publish_at")
        await tab.click("[data-schedule-toggle]")
        await tab.fill("#publish_at", local.strftime("%Y-%m-%dT%H:%M"))
        assert await tab.input_value("#submit") == "Schedule"
        await tab.screenshot(path=artifact("schedule-form.png"))
        await tab.click("#submit")
        await tab.wait_for_url(f"{server.url}/scheduled")
        assert "Scheduled for" in await tab.inner_text(".alert")
        row = await ScheduledPost.get(body="breakfast in Tokyo")
        # 09:30 in Tokyo (UTC+9, no daylight saving) is 00:30 UTC
        assert row.publish_at == (local - timedelta(hours=9)).replace(tzinfo=UTC)
        shown = await tab.inner_text(f"[data-scheduled-id='{row.id}'] time[data-local]")
        assert "9:30" in shown and "UTC" not in shown
        await tab.screenshot(path=artifact("scheduled-posts.png"), full_page=True)

        await tab.click(f"[data-scheduled-id='{row.id}'] a:has-text('Edit')")
        await tab.wait_for_url(f"{server.url}/scheduled/{row.id}/edit")
        assert await tab.input_value("#publish_at") == local.strftime("%Y-%m-%dT%H:%M")
    finally:
        await context.close()
