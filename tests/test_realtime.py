"""Real Socket.IO clients against two real `microblog serve` instances sharing PostgreSQL
and Redis. Every received event is validated against microblog.realtime.events."""

import asyncio
from collections.abc import Awaitable
from typing import cast

import pytest

from tests.realtime import Api, Recorder


@pytest.fixture
async def people(server, server2, db):
    """Three users, each with an API client on a given instance."""
    made = {}
    for name, base in (("author", server.url), ("fan", server2.url), ("stranger", server2.url)):
        api = Api(base)
        made[name] = (api, await api.register(name))
    yield made
    for api, _ in made.values():
        await api.close()


async def connect(url, api, last_event_id=None, name="client"):
    return await Recorder(name).connect(url, api.token, last_event_id)


async def test_post_reaches_a_follower_on_the_other_instance_and_no_one_else(
        server, server2, people):
    (author, author_doc), (fan, _), (stranger, _) = (
        people["author"], people["fan"], people["stranger"])
    assert (await fan.http.post(f"/api/me/following/{author_doc['id']}")).status_code == 204
    fan_socket = await connect(server2.url, fan, name="fan")
    stranger_socket = await connect(server2.url, stranger, name="stranger")
    author_socket = await connect(server.url, author, name="author")
    try:
        response = await author.http.post("/api/posts", json={"body": "live from instance one"})
        assert response.status_code == 201
        post = response.json()
        received = await fan_socket.wait_for("post.created")
        assert received[0] == post  # exactly the API's post document
        await author_socket.wait_for("post.created")  # the author's own tabs too
        await asyncio.sleep(0.5)
        assert stranger_socket.of("post.created") == []

        assert (await author.http.delete(f"/api/posts/{post['id']}")).status_code == 204
        deleted = await fan_socket.wait_for("post.deleted")
        assert deleted == [{"id": post["id"]}]
    finally:
        for s in (fan_socket, stranger_socket, author_socket):
            await s.disconnect()


async def test_explore_subscribers_receive_every_post(server, server2, people):
    (author, _), (stranger, _) = people["author"], people["stranger"]
    watcher = await connect(server2.url, stranger, name="watcher")
    try:
        assert await watcher.call("subscribe", {"stream": "explore"}) == {"ok": True}
        await author.http.post("/api/posts", json={"body": "for everyone on explore"})
        got = await watcher.wait_for("post.created")
        assert got[0]["body"] == "for everyone on explore"
        assert await watcher.call("unsubscribe", {"stream": "explore"}) == {"ok": True}
        await author.http.post("/api/posts", json={"body": "nobody is watching now"})
        await asyncio.sleep(0.5)
        assert len(watcher.of("post.created")) == 1
    finally:
        await watcher.disconnect()


async def test_profile_stream_and_post_page_stream(server, server2, people):
    (author, author_doc), (fan, _) = people["author"], people["fan"]
    viewer = await connect(server2.url, fan, name="viewer")
    try:
        ack = await viewer.call("subscribe", {"stream": f"user:{author_doc['id']}"})
        assert ack == {"ok": True}
        post = (await author.http.post("/api/posts", json={"body": "on my profile"})).json()
        await viewer.wait_for("post.created", lambda p: p["id"] == post["id"])
        assert await viewer.call("subscribe", {"stream": f"post:{post['id']}"}) == {"ok": True}
        from microblog.models import User
        from microblog.services import posts as post_service

        commenter = await User.get(id=people["stranger"][1]["id"])
        await post_service.add_comment(commenter, post["id"], "first!")
        comment = await viewer.wait_for("comment.created")
        assert comment[0]["post_id"] == post["id"] and comment[0]["body"] == "first!"
    finally:
        await viewer.disconnect()


async def test_follow_notification_is_instant_and_personal(server, server2, people):
    (author, author_doc), (fan, fan_doc), (stranger, _) = (
        people["author"], people["fan"], people["stranger"])
    author_socket = await connect(server.url, author, name="author")
    author_tab2 = await connect(server2.url, author, name="author-tab-2")
    stranger_socket = await connect(server.url, stranger, name="stranger")
    try:
        await fan.http.post(f"/api/me/following/{author_doc['id']}")
        for tab in (author_socket, author_tab2):
            note = (await tab.wait_for("notification"))[0]
            assert note["kind"] == "follow" and note["data"]["user"]["username"] == "fan"
            assert note["unread"] == 1 and note["event_id"] == 1
        await asyncio.sleep(0.5)
        assert stranger_socket.of("notification") == []

        read = await author.http.post("/api/notifications/read", json={})
        assert read.json() == {"unread": 0}
        for tab in (author_socket, author_tab2):  # the bell clears in every tab
            cleared = (await tab.wait_for("notifications.read"))[0]
            assert cleared["unread"] == 0 and cleared["event_id"] == 2
        listing = (await author.http.get("/api/notifications")).json()
        assert listing["unread"] == 0 and listing["items"][0]["read"] is True
        assert listing["items"][0]["data"]["user"]["id"] == fan_doc["id"]
    finally:
        for s in (author_socket, author_tab2, stranger_socket):
            await s.disconnect()


async def test_following_mid_session_changes_what_arrives_in_every_tab(
        server, server2, people):
    (author, author_doc), (fan, _) = people["author"], people["fan"]
    tab1 = await connect(server.url, fan, name="fan-tab-1")
    tab2 = await connect(server2.url, fan, name="fan-tab-2")

    async def changed_everywhere(probe: str) -> None:
        """The membership change travels through Redis to both instances. A message sent
        next by the same instance's publisher follows it on the same channel: once both
        tabs have it, both instances have moved the tabs."""
        await fan.http.post("/api/messages", json={"to": "stranger", "body": probe})
        for tab in (tab1, tab2):
            await tab.wait_for("message.created", lambda m: m["body"] == probe)

    try:
        await fan.http.post(f"/api/me/following/{author_doc['id']}")
        await changed_everywhere("probe after follow")
        await author.http.post("/api/posts", json={"body": "now you follow me"})
        for tab in (tab1, tab2):
            await tab.wait_for("post.created")
        await fan.http.delete(f"/api/me/following/{author_doc['id']}")
        await changed_everywhere("probe after unfollow")
        await author.http.post("/api/posts", json={"body": "you unfollowed me"})
        await asyncio.sleep(0.5)
        for tab in (tab1, tab2):
            assert [p["body"] for p in tab.of("post.created")] == ["now you follow me"]
    finally:
        await tab1.disconnect()
        await tab2.disconnect()


async def test_replay_after_a_disconnect_delivers_exactly_the_missed_events(
        server, server2, people):
    (author, author_doc), (fan, _), (stranger, _) = (
        people["author"], people["fan"], people["stranger"])
    first = await connect(server.url, author, name="before")
    await fan.http.post(f"/api/me/following/{author_doc['id']}")
    await first.wait_for("notification")
    seen = first.personal_ids()[-1]
    await first.disconnect()

    # while the author is away: two follows and a read marker
    await stranger.http.post(f"/api/me/following/{author_doc['id']}")
    await fan.http.delete(f"/api/me/following/{author_doc['id']}")
    await fan.http.post(f"/api/me/following/{author_doc['id']}")
    await author.http.post("/api/notifications/read", json={})

    again = await connect(server2.url, author, last_event_id=seen, name="after")
    try:
        await again.wait_for("notifications.read")
        assert again.personal_ids() == [seen + 1, seen + 2, seen + 3]
        kinds = [(e, d.get("kind")) for e, d in again.events if "event_id" in d]
        assert kinds == [("notification", "follow"), ("notification", "follow"),
                         ("notifications.read", None)]
        # and live events continue after the replay, without duplicates
        await stranger.http.delete(f"/api/me/following/{author_doc['id']}")
        await stranger.http.post(f"/api/me/following/{author_doc['id']}")
        await again.wait_for("notification", count=3)
        assert again.personal_ids() == [seen + 1, seen + 2, seen + 3, seen + 4]
    finally:
        await again.disconnect()


async def test_a_fresh_connection_without_last_event_id_replays_nothing(
        server, people):
    (author, author_doc), (fan, _) = people["author"], people["fan"]
    await fan.http.post(f"/api/me/following/{author_doc['id']}")
    socket = await connect(server.url, author, name="fresh")
    try:
        await asyncio.sleep(0.5)
        assert socket.personal_ids() == []
    finally:
        await socket.disconnect()


@pytest.mark.parametrize("payload", [
    None, "explore", {"stream": "nonsense"}, {"stream": 42}, {"stream": "post:abc"},
    {"stream": "x" * 100_000}, [1, 2, 3],
])
async def test_malformed_client_events_get_an_error_ack(server, people, payload):
    api, _ = people["fan"]
    socket = await connect(server.url, api, name="fuzzer")
    try:
        for event in ("subscribe", "unsubscribe"):
            ack = await socket.call(event, payload)
            assert ack["ok"] is False and "stream" in ack["error"]
        ack = await socket.call("no.such.event", {"x": 1})
        assert ack["ok"] is False
        assert socket.client.connected  # the handler survived, the socket too
        assert await socket.call("subscribe", {"stream": "explore"}) == {"ok": True}
    finally:
        await socket.disconnect()


async def test_presence_is_tracked_in_redis_and_expires(server, people, settings):
    import time

    from microblog.infra import resources
    from microblog.realtime import presence

    (author, author_doc) = people["author"]
    assert not await presence.is_online(author_doc["id"])
    socket = await connect(server.url, author, name="present")
    try:
        assert await presence.is_online(author_doc["id"])
        page = await author.http.get("/user/author")
        assert "Online now" in page.text
    finally:
        await socket.disconnect()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if not await presence.is_online(author_doc["id"]):
            break
        await asyncio.sleep(0.05)
    assert not await presence.is_online(author_doc["id"])
    # an instance that died without cleaning up: its deadline passes, the user is offline
    key = presence.presence_key(author_doc["id"])
    redis = resources.redis
    assert redis is not None
    # redis-py types each command of its asyncio client as `Awaitable[T] | T`
    await cast(Awaitable[int], redis.hset(key, "dead-instance", str(time.time() - 1)))
    assert not await presence.is_online(author_doc["id"])
    await cast(Awaitable[int], redis.hset(key, "live-instance", str(time.time() + 30)))
    assert await presence.is_online(author_doc["id"])
    await redis.delete(key)
