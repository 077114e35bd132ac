"""Private messages over real sockets on two instances, the API and the pages."""

import asyncio

import pytest

from microblog import ratelimit
from microblog.errors import RateLimited
from microblog.models import Message
from microblog.services import messages as message_service
from tests.helpers import csrf_from, login, make_user, page
from tests.realtime import Api, Recorder


@pytest.fixture
async def trio(server, server2, db):
    made = {}
    for name, base in (("ann", server.url), ("ben", server2.url), ("cat", server2.url)):
        api = Api(base)
        made[name] = (api, await api.register(name))
    yield made
    for api, _ in made.values():
        await api.close()


async def sock(url, api, name, last_event_id=None):
    return await Recorder(name).connect(url, api.token, last_event_id)


async def test_acked_delivery_across_instances_to_every_tab_and_no_one_else(
        server, server2, trio):
    (ann, ann_doc), (ben, ben_doc), (cat, _) = trio["ann"], trio["ben"], trio["cat"]
    ann1 = await sock(server.url, ann, "ann-tab-1")
    ann2 = await sock(server2.url, ann, "ann-tab-2")
    ben1 = await sock(server2.url, ben, "ben")
    cat1 = await sock(server.url, cat, "cat")
    try:
        ack = await ann1.call("message.send", {"to": "ben", "body": "hi <ben>", "client_id": "c-1"})
        assert ack["ok"] is True
        message = ack["message"]
        assert message["body"] == "hi <ben>" and message["sender"]["id"] == ann_doc["id"]
        assert message["recipient"]["username"] == "ben" and message["client_id"] == "c-1"
        got = (await ben1.wait_for("message.created"))[0]
        assert got["id"] == message["id"] and got["unread"] == 1 and got["event_id"] == 1
        mirrored = (await ann2.wait_for("message.created"))[0]
        assert mirrored["id"] == message["id"] and mirrored["client_id"] == "c-1"
        await ann1.wait_for("message.created")
        await asyncio.sleep(0.5)
        assert cat1.of("message.created") == [] and cat1.of("typing") == []

        # typing: ephemeral, throttled
        assert (await ben1.call("typing", {"to": "ann"})) == {"ok": True, "sent": True}
        assert (await ben1.call("typing", {"to": "ann"})) == {"ok": True, "sent": False}
        typing = (await ann2.wait_for("typing"))[0]
        assert typing == {"from": ben_doc["id"], "username": "ben"}

        # read receipts: the sender's tabs see "seen", the reader's count drops
        ben2 = await sock(server.url, ben, "ben-tab-2")
        read = await ben1.call("message.read", {"with": "ann", "last_read_id": message["id"]})
        assert read == {"ok": True, "unread": 0}
        for tab in (ann1, ann2):
            receipt = (await tab.wait_for("message.read"))[0]
            assert receipt["reader"] == ben_doc["id"] and receipt["last_read_id"] == message["id"]
        assert (await ben2.wait_for("message.read"))[0]["unread"] == 0
        await ben2.disconnect()
    finally:
        for s in (ann1, ann2, ben1, cat1):
            await s.disconnect()


async def test_replay_after_disconnect_with_no_duplicates(server, server2, trio):
    (ann, _), (ben, _) = trio["ann"], trio["ben"]
    ben1 = await sock(server2.url, ben, "ben")
    sender = await sock(server.url, ann, "ann")
    await sender.call("message.send", {"to": "ben", "body": "one"})
    await ben1.wait_for("message.created")
    seen = ben1.personal_ids()[-1]
    await ben1.disconnect()
    for body in ("two", "three", "four"):
        assert (await sender.call("message.send", {"to": "ben", "body": body}))["ok"]
    back = await sock(server.url, ben, "ben-back", last_event_id=seen)
    try:
        got = await back.wait_for("message.created", count=3)
        assert [m["body"] for m in got] == ["two", "three", "four"]
        assert back.personal_ids() == [seen + 1, seen + 2, seen + 3]
        await sender.call("message.send", {"to": "ben", "body": "five"})
        await back.wait_for("message.created", count=4)
        assert [m["body"] for m in back.of("message.created")] == ["two", "three", "four", "five"]
    finally:
        await back.disconnect()
        await sender.disconnect()


async def test_a_retried_send_with_the_same_client_id_is_stored_once(server, trio):
    (ann, _), (ben, _) = trio["ann"], trio["ben"]
    sender = await sock(server.url, ann, "ann")
    receiver = await sock(server.url, ben, "ben")
    try:
        payload = {"to": "ben", "body": "only once", "client_id": "retry-me"}
        first, again = await asyncio.gather(sender.call("message.send", payload),
                                            sender.call("message.send", payload))
        third = await sender.call("message.send", payload)
        assert first["ok"] and again["ok"] and third["ok"]
        assert first["message"]["id"] == again["message"]["id"] == third["message"]["id"]
        assert await Message.filter(client_id="retry-me").count() == 1
        await receiver.wait_for("message.created")
        await asyncio.sleep(0.5)
        assert len(receiver.of("message.created")) == 1
    finally:
        await sender.disconnect()
        await receiver.disconnect()


@pytest.mark.parametrize("payload, error", [
    ({"to": "ben", "body": ""}, "empty"),
    ({"to": "ben", "body": "   \n  "}, "empty"),
    ({"to": "ben", "body": "x" * 1001}, "limit is 1000"),
    ({"to": "ben", "body": 42}, "body: This must be text."),
    ({"to": "ben"}, "body: This field is required."),
    ({"to": "nobody", "body": "hello"}, "No such user"),
    ({"to": "ann", "body": "hello me"}, "yourself"),
    ({"to": 7, "body": "hello"}, "to: This must be text."),
    ({"to": "ben", "body": "hi", "client_id": "bad id!"}, "client_id"),
    ({"to": "ben", "body": "hi", "client_id": "x" * 65}, "client_id"),
    ("not a dict", "expected"),
    (None, "expected"),
])
async def test_bad_sends_get_an_error_ack_and_store_nothing(server, trio, payload, error):
    (ann, _) = trio["ann"]
    sender = await sock(server.url, ann, "ann")
    try:
        ack = await sender.call("message.send", payload)
        assert ack["ok"] is False and error in ack["error"], ack
        assert ack["code"] == ("not_found" if error == "No such user" else "invalid"), ack
        assert sender.client.connected
        assert await Message.all().count() == 0
    finally:
        await sender.disconnect()


async def test_rate_limit_is_a_clear_error_not_a_dropped_socket(server, trio):
    (ann, _) = trio["ann"]
    sender = await sock(server.url, ann, "ann")
    try:
        acks = [await sender.call("message.send", {"to": "ben", "body": f"n{i}"})
                for i in range(ratelimit.MESSAGES.amount + 5)]
        refused = [a for a in acks if not a["ok"]]
        assert refused and all(a["code"] == "rate_limited" for a in refused)
        assert "too fast" in refused[0]["error"]
        assert sender.client.connected
        assert await Message.all().count() <= ratelimit.MESSAGES.amount
    finally:
        await sender.disconnect()


async def test_blocking_stops_messages_and_follows(server, trio):
    (ann, ann_doc), (ben, ben_doc) = trio["ann"], trio["ben"]
    assert (await ann.http.post(f"/api/me/following/{ben_doc['id']}")).status_code == 204
    assert (await ben.http.post(f"/api/me/blocks/{ann_doc['id']}")).status_code == 204
    sender = await sock(server.url, ann, "ann")
    try:
        ack = await sender.call("message.send", {"to": "ben", "body": "let me in"})
        assert ack["ok"] is False and "cannot send messages to this user" in ack["error"]
        assert (await sender.call("typing", {"to": "ben"}))["ok"] is False
        # the block ended ann's follow, and she cannot follow again
        followers = (await ben.http.get(f"/api/users/{ben_doc['id']}/followers")).json()
        assert followers["items"] == []
        assert (await ann.http.post(f"/api/me/following/{ben_doc['id']}")).status_code == 403
        # ben cannot message ann while he blocks her either
        response = await ben.http.post("/api/messages", json={"to": "ann", "body": "hm"})
        assert response.status_code == 403 and "Unblock" in response.json()["message"]
        assert (await ben.http.delete(f"/api/me/blocks/{ann_doc['id']}")).status_code == 204
        assert (await sender.call("message.send", {"to": "ben", "body": "thanks"}))["ok"]
    finally:
        await sender.disconnect()
    assert await Message.all().count() == 1


async def test_api_history_conversations_and_privacy(server, trio):
    (ann, _), (ben, _), (cat, _) = trio["ann"], trio["ben"], trio["cat"]
    for i in range(5):
        response = await ann.http.post("/api/messages", json={"to": "ben", "body": f"m{i}"})
        assert response.status_code == 201
    reply = await ben.http.post("/api/messages", json={"to": "ann", "body": "reply",
                                                        "client_id": "r1"})
    assert reply.status_code == 201
    again = await ben.http.post("/api/messages", json={"to": "ann", "body": "reply",
                                                        "client_id": "r1"})
    assert again.status_code == 200 and again.json()["id"] == reply.json()["id"]

    first = (await ann.http.get("/api/messages", params={"with": "ben", "per_page": 4})).json()
    assert [m["body"] for m in first["items"]] == ["reply", "m4", "m3", "m2"]
    older = (await ann.http.get(first["_links"]["next"])).json()
    assert [m["body"] for m in older["items"]] == ["m1", "m0"] and older["_links"]["next"] is None

    inbox = (await ben.http.get("/api/conversations")).json()
    assert inbox["unread"] == 5
    assert inbox["items"][0]["partner"]["username"] == "ann"
    assert inbox["items"][0]["last_message"]["body"] == "reply"
    read = await ben.http.post("/api/messages/read", json={
        "with": "ann", "last_read_id": first["items"][1]["id"]})
    assert read.json() == {"unread": 0}

    # cat sees none of it, however she asks
    assert (await cat.http.get("/api/messages", params={"with": "ann"})).json()["items"] == []
    assert (await cat.http.get("/api/messages", params={"with": "ben"})).json()["items"] == []
    assert (await cat.http.get("/api/conversations")).json()["items"] == []
    assert (await cat.http.get("/api/messages", params={"with": "nobody"})).status_code == 404
    assert (await cat.http.get("/api/messages")).status_code == 400
    bad = await cat.http.post("/api/messages/read", json={"with": "ann", "last_read_id": "x"})
    assert bad.status_code == 400


async def test_pages_inbox_conversation_and_plain_form_post(client):
    ann = await make_user("ann")
    ben = await make_user("ben")
    await message_service.send_message(ben, "ann", "hello <b>ann</b>")
    await login(client, "ann")
    status, html = await page(client, "/")
    assert 'id="messages-count"' in html and ">1</span>" in html.split('id="messages-count"')[1][:200]
    status, inbox = await page(client, "/messages")
    assert status == 200 and "ben" in inbox and "hello &lt;b&gt;ann&lt;/b&gt;" in inbox
    status, conversation = await page(client, "/messages/ben")
    assert status == 200 and "hello &lt;b&gt;ann&lt;/b&gt;" in conversation
    await ann.refresh_from_db()
    assert ann.unread_messages == 0  # shown, so read
    response = await client.post("/messages/ben", form={
        "body": "no JavaScript needed", "csrf_token": csrf_from(conversation)})
    assert response.status_code == 302
    assert await Message.filter(sender_id=ann.id, body="no JavaScript needed").exists()
    response = await client.post("/messages/ben", form={"body": "x", "csrf_token": "forged"})
    assert response.status_code == 400
    response = await client.post("/messages/ben", form={
        "body": "", "csrf_token": csrf_from(conversation)})
    assert response.status_code == 400
    assert await Message.all().count() == 2
    status, _html = await page(client, "/messages/nobody")
    assert status == 404


async def test_the_rate_limit_is_shared_and_refuses_past_the_limit(db):
    """The limit counts every send of a user, whichever tab or instance: past it, refused
    with a clear error; another user is unaffected."""
    ann, ben = await make_user("ann"), await make_user("ben")
    limit = ratelimit.MESSAGES.amount
    refused = 0
    for _i in range(limit + 10):
        try:
            await message_service.rate_limit(ann.id)
        except RateLimited as exc:
            assert "too fast" in exc.message
            refused += 1
    assert refused == 10
    await message_service.rate_limit(ben.id)  # not refused


@pytest.mark.parametrize("event, payload", [
    # PostgreSQL refuses NUL in text: the service does not expect it, the ack still comes
    ("message.send", {"to": "ben", "body": "nul \x00 inside"}),
    ("message.read", {"with": "ben\x00", "last_read_id": 1}),
    ("typing", {"to": "ben\x00"}),
    ("subscribe", {"stream": ["explore"]}),
])
async def test_every_client_event_is_acked_even_when_the_handler_fails(
        server, trio, event, payload):
    (ann, _), (ben, _) = trio["ann"], trio["ben"]
    await ben.http.post("/api/messages", json={"to": "ann", "body": "so there is a thread"})
    sender = await sock(server.url, ann, "ann")
    try:
        ack = await sender.call(event, payload)
        assert ack["ok"] is False and ack["error"], ack
        # the socket lives on and answers the next event
        assert sender.client.connected
        assert (await sender.call("subscribe", {"stream": "explore"})) == {"ok": True}
    finally:
        await sender.disconnect()
