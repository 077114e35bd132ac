"""GET /api/search as DESIGN.md describes it: posts with highlights, people, tags, the
collection envelope with `_meta.suggestion`, clear 400s, and the same privacy rules."""

import pytest

from microblog.services import messages
from tests.helpers import make_user
from tests.test_api import USER_FIELDS, token_for

POST_FIELDS = {"id", "body", "author", "created_at", "language", "edited_at", "like_count",
               "repost_count", "comment_count", "liked", "reposted", "reposted_by",
               "reposted_at", "highlight"}


@pytest.fixture
async def tokens(client):
    alice, bob = await make_user("alice"), await make_user("bob")
    return {"alice": (alice, await token_for(client, "alice")),
            "bob": (bob, await token_for(client, "bob"))}


async def search(client, headers, **params):
    response = await client.get("/api/search", query_string=params, headers=headers)
    return response.status_code, await response.get_json()


async def test_posts_with_highlight_and_envelope(client, tokens):
    _, alice = tokens["alice"]
    _, bob = tokens["bob"]
    for body in ("Hiking in the <mountains> today", "A quiet day at home #rest"):
        assert (await client.post("/api/posts", json={"body": body}, headers=alice)
                ).status_code == 201
    status, body = await search(client, bob, q="mountain", sort="top")
    assert status == 200
    assert [set(item) for item in body["items"]] == [POST_FIELDS]
    assert body["items"][0]["highlight"] == "Hiking in the &lt;<mark>mountains</mark>&gt; today"
    assert body["_meta"] == {"page": 1, "per_page": 25, "total_pages": 1, "total_items": 1,
                             "suggestion": None}
    assert body["_links"]["self"].startswith("/api/search?")
    assert "q=mountain" in body["_links"]["self"] and "sort=top" in body["_links"]["self"]
    status, body = await search(client, bob, q="#rest")
    assert [i["body"] for i in body["items"]] == ["A quiet day at home #rest"]


async def test_suggestion(client, tokens):
    _, alice = tokens["alice"]
    await client.post("/api/posts", json={"body": "The orchestra played beautifully"},
                      headers=alice)
    status, body = await search(client, alice, q="orchestar")
    assert status == 200
    assert body["_meta"]["suggestion"] == "orchestra"
    assert [i["body"] for i in body["items"]] == ["The orchestra played beautifully"]


async def test_people_and_tags(client, tokens):
    _, alice = tokens["alice"]
    await client.post("/api/posts", json={"body": "Off to the #alps and #alpine lakes"},
                      headers=alice)
    status, body = await search(client, alice, q="ali", type="users")
    assert status == 200
    assert [u["username"] for u in body["items"]] == ["alice"]
    assert set(body["items"][0]) == USER_FIELDS and body["items"][0]["post_count"] == 1
    status, body = await search(client, alice, q="#alp", type="tags")
    assert status == 200
    assert body["items"] == [{"name": "alpine", "uses": 1}, {"name": "alps", "uses": 1}]


@pytest.mark.parametrize("params, field", [
    ({"q": ""}, "q"), ({"q": "-only"}, "q"), ({"q": "after:soon"}, "q"),
    ({"q": "x", "type": "things"}, "type"), ({"q": "x", "sort": "best"}, "sort"),
    ({"q": "x", "per_page": "500"}, "per_page"), ({"q": "x", "page": "0"}, "page"),
    ({"q": "x" * 3000}, "q"), ({"q": "a\x00"}, "q"), ({"q": "a\x00", "type": "users"}, "q"),
    ({"q": "a\x00", "type": "tags"}, "q"),
])
async def test_bad_searches_are_400s(client, tokens, params, field):
    _, alice = tokens["alice"]
    status, body = await search(client, alice, **params)
    assert status == 400
    assert body["error"] == "Bad Request" and field in body["errors"] and body["message"]


async def test_needs_a_token(client, tokens):
    response = await client.get("/api/search", query_string={"q": "x"})
    assert response.status_code == 401


async def test_blocked_readers_do_not_find_posts(client, tokens):
    alice_user, alice = tokens["alice"]
    bob_user, bob = tokens["bob"]
    await client.post("/api/posts", json={"body": "Private thoughts on gardening"},
                      headers=alice)
    _, body = await search(client, bob, q="gardening")
    assert len(body["items"]) == 1
    await messages.block(alice_user, bob_user)
    _, body = await search(client, bob, q="gardening")
    assert body["items"] == [] and body["_meta"]["total_items"] == 0


async def test_results_go_1000_deep(client, tokens):
    _, alice = tokens["alice"]
    status, body = await search(client, alice, q="anything", page="41", per_page="25")
    assert status == 200 and body["items"] == [] and body["_links"]["next"] is None


async def test_documented(client):
    document = await (await client.get("/openapi.json")).get_json()
    operation = document["paths"]["/api/search"]["get"]
    assert {p["name"] for p in operation["parameters"]} >= {"q", "type", "sort", "page",
                                                            "per_page"}
    assert {"200", "400", "401", "503"} <= set(operation["responses"])
