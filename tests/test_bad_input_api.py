"""Every malformed input a security review sent to the API answers a 4xx with a message and
writes nothing (issue: "no input anywhere that gets a 500")."""

import base64
from datetime import UTC, datetime, timedelta

import pytest

from microblog.models import Message, Notification, Post, ScheduledPost, User
from tests.helpers import make_user

INVALID_UTF8 = b"\xff\xfe"
DEEP_ARRAY = b"[" * 100_000 + b"]" * 100_000
NUL = "\\u0000"  # as JSON writes them: the decoded strings hold NUL and a lone surrogate
SURROGATE = "\\ud800"


def basic(login: bytes, password: bytes = b"correct horse") -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(login + b":" + password).decode()}


@pytest.fixture
async def alice(client):
    alice = await make_user("alice")
    await make_user("bob")
    response = await client.post("/api/tokens", headers=basic(b"alice"))
    token = (await response.get_json())["token"]
    return alice, {"Authorization": f"Bearer {token}"}


async def scheduled_id(alice_user: User) -> int:
    row = await ScheduledPost.create(author=alice_user, body="later",
                                     publish_at=datetime.now(UTC) + timedelta(days=1))
    return row.id


async def raw_post(client, method, path, body: bytes, headers):
    return await client.open(path, method=method, data=body,
                             headers={**headers, "Content-Type": "application/json"})


async def assert_400(response, *words):
    assert response.status_code == 400, await response.get_data(as_text=True)
    body = await response.get_json()
    assert body["error"] == "Bad Request" and body["message"]
    for word in words:
        assert word in body["message"], body


JSON_ENDPOINTS = [("POST", "/api/users"), ("POST", "/api/posts"), ("POST", "/api/messages"),
                  ("POST", "/api/messages/read"), ("POST", "/api/notifications/read"),
                  ("PATCH", "/api/scheduled-posts/{sid}")]


@pytest.mark.parametrize("method, path", JSON_ENDPOINTS)
@pytest.mark.parametrize("body, words", [
    (INVALID_UTF8, ("not valid JSON",)),
    (DEEP_ARRAY, ("not valid JSON",)),
    (b"[1, 2]", ("JSON object",)),
    (b"42", ("JSON object",)),
    (b'"text"', ("JSON object",)),
])
async def test_bodies_that_are_not_a_json_object_are_400(client, alice, method, path, body,
                                                         words):
    user, headers = alice
    sid = await scheduled_id(user)
    await Notification.create(user=user, kind="follow", data={})
    response = await raw_post(client, method, path.format(sid=sid), body, headers)
    await assert_400(response, *words)
    assert await Post.all().count() == 0 and await Message.all().count() == 0
    assert await User.all().count() == 2
    assert await Notification.filter(read_at__isnull=True).count() == 1  # none marked read
    assert (await ScheduledPost.get(id=sid)).body == "later"


@pytest.mark.parametrize("bad", [NUL, SURROGATE])
@pytest.mark.parametrize("method, path, template, field", [
    ("POST", "/api/posts", '{"body": "hi %s there"}', "body"),
    ("POST", "/api/messages", '{"to": "bob", "body": "hi %s"}', "body"),
    ("POST", "/api/messages", '{"to": "bo%sb", "body": "hi"}', "to"),
    ("POST", "/api/messages/read", '{"with": "bo%sb", "last_read_id": 1}', "with"),
    ("POST", "/api/users", '{"username": "eve%s", "email": "e@example.com", '
                           '"password": "correct horse"}', "username"),
    ("PATCH", "/api/scheduled-posts/{sid}", '{"body": "x%s"}', "body"),
])
async def test_unstorable_text_is_a_400_naming_the_field(client, alice, bad, method, path,
                                                         template, field):
    user, headers = alice
    sid = await scheduled_id(user)
    response = await raw_post(client, method, path.format(sid=sid),
                              (template % bad).encode(), headers)
    await assert_400(response)
    body = await response.get_json()
    if bad == NUL:
        assert "NUL" in body["errors"][field]
    else:  # refused by the JSON decoder already: nothing in the body is read
        assert "not valid JSON" in body["message"] and "surrogate" in body["message"]
    assert await Post.all().count() == 0 and await Message.all().count() == 0
    assert (await ScheduledPost.get(id=sid)).body == "later"


@pytest.mark.parametrize("login", [b"al\x00ice", "al\ud800ice".encode("utf-8", "surrogatepass"),
                                   b"\xff\xfe", b"a" * 5000])
async def test_bad_basic_usernames_are_401(client, alice, login):
    response = await client.post("/api/tokens", headers=basic(login))
    assert response.status_code == 401
    assert "Invalid username or password" in (await response.get_json())["message"]


async def test_messages_query_with_nul_or_long_name(client, alice):
    _user, headers = alice
    response = await client.get("/api/messages?with=bo%00b", headers=headers)
    await assert_400(response)
    assert "NUL" in (await response.get_json())["errors"]["with"]
    response = await client.get("/api/messages?with=" + "b" * 40, headers=headers)
    assert response.status_code == 404


@pytest.mark.parametrize("query, field", [
    ("/api/posts?page=1000000000000000000", "page"),
    ("/api/timeline?since_id=100000000000000000000", "since_id"),
    ("/api/messages?with=bob&before=100000000000000000000", "before"),
    ("/api/posts?since_id=%C2%B2", "since_id"),  # ² passes str.isdigit()
    ("/api/messages?with=bob&before=%C2%B2", "before"),
    ("/api/posts?per_page=%C2%B9", "per_page"),
    ("/api/notifications?page=0", "page"),
    ("/api/conversations?per_page=-1", "per_page"),
])
async def test_numbers_out_of_range_or_not_ascii_are_400(client, alice, query, field):
    _user, headers = alice
    response = await client.get(query, headers=headers)
    await assert_400(response)
    assert field in (await response.get_json())["errors"]


@pytest.mark.parametrize("method, path", [
    ("GET", "/api/users/99999999999"),
    ("GET", "/api/users/99999999999/posts"),
    ("POST", "/api/me/following/99999999999"),
    ("DELETE", "/api/me/following/99999999999"),
    ("POST", "/api/me/blocks/99999999999"),
    ("GET", "/api/posts/99999999999999999999"),
    ("DELETE", "/api/posts/99999999999999999999"),
    ("GET", "/api/posts/%C2%B2"),
    ("GET", "/api/scheduled-posts/99999999999999999999"),
    ("GET", "/api/tasks/" + "a" * 33),
    ("GET", "/api/tasks/abc/download/" + "x" * 65),
    ("GET", "/api/tasks/abc/download/a%00b"),
])
async def test_ids_out_of_range_and_long_segments_are_404(client, alice, method, path):
    _user, headers = alice
    response = await client.open(path, method=method, headers=headers)
    assert response.status_code == 404
    assert (await response.get_json())["message"]


@pytest.mark.parametrize("payload", [{"up_to_id": 10**30}, {"up_to_id": -1},
                                     {"up_to_id": "5"}, {"up_to_id": True},
                                     {"up_to_id": 1, "extra": 2}])
async def test_notifications_read_refuses_bad_up_to_id(client, alice, payload):
    user, headers = alice
    await Notification.create(user=user, kind="follow", data={})
    response = await client.post("/api/notifications/read", headers=headers, json=payload)
    await assert_400(response)
    assert await Notification.filter(read_at__isnull=True).count() == 1


async def test_notifications_read_with_no_body_still_reads_all(client, alice):
    user, headers = alice
    await Notification.create(user=user, kind="follow", data={})
    response = await client.post("/api/notifications/read", headers=headers)
    assert response.status_code == 200 and (await response.get_json()) == {"unread": 0}
    assert await Notification.filter(read_at__isnull=True).count() == 0
