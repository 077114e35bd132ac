"""Every API endpoint and its errors (DESIGN.md's HTTP API)."""

import base64
from datetime import UTC, datetime, timedelta

import pytest

from microblog.models import ApiToken, Follow, Post, User
from tests.helpers import make_user, present


def basic(username, password):
    return {"Authorization": "Basic " + base64.b64encode(
        f"{username}:{password}".encode()).decode()}


async def token_for(client, username="alice", password="correct horse"):
    response = await client.post("/api/tokens", headers=basic(username, password))
    assert response.status_code == 200
    return {"Authorization": f"Bearer {(await response.get_json())['token']}"}


POST_FIELDS = {"id", "body", "author", "created_at", "language", "edited_at", "like_count",
               "repost_count", "comment_count", "liked", "reposted", "reposted_by",
               "reposted_at"}
USER_FIELDS = {"id", "username", "about_me", "avatar", "last_seen", "post_count",
               "follower_count", "following_count"}


async def test_create_user(client):
    response = await client.post("/api/users", json={
        "username": "dora", "email": "dora@example.com", "password": "explorer123"})
    assert response.status_code == 201
    body = await response.get_json()
    assert set(body) == USER_FIELDS
    assert body["username"] == "dora" and body["post_count"] == 0
    assert response.headers["Location"] == f"/api/users/{body['id']}"
    assert body["last_seen"].endswith("Z")


@pytest.mark.parametrize("payload", [
    {"username": "alice", "email": "new@example.com", "password": "long enough"},
    {"username": "ALICE", "email": "new@example.com", "password": "long enough"},
    {"username": "new", "email": "alice@example.com", "password": "long enough"},
    {"username": "bad name", "email": "new@example.com", "password": "long enough"},
    {"username": "new", "email": "nope", "password": "long enough"},
    {"username": "new", "email": "new@example.com", "password": "short"},
    {"username": "new", "email": "new@example.com"},
    {"username": 12, "email": "new@example.com", "password": "long enough"},
])
async def test_create_user_invalid_or_taken(client, payload):
    await make_user("alice")
    response = await client.post("/api/users", json=payload)
    assert response.status_code == 400
    body = await response.get_json()
    assert body["error"] == "Bad Request" and body["message"]
    assert await User.all().count() == 1


@pytest.mark.parametrize("raw, message", [
    (b"{not json", "not valid JSON"), (b"[1, 2]", "JSON object"), (b"null", "JSON object"),
    (b"42", "JSON object"), (b"", "username: This field is required."),
])
async def test_malformed_json_is_a_400(client, raw, message):
    response = await client.post("/api/users", data=raw,
                                 headers={"Content-Type": "application/json"})
    assert response.status_code == 400
    assert message in (await response.get_json())["message"]
    assert await User.all().count() == 0


async def test_tokens_issue_use_and_revoke(client):
    alice = await make_user("alice")
    headers = await token_for(client)
    response = await client.get(f"/api/users/{alice.id}", headers=headers)
    assert response.status_code == 200
    assert present(await ApiToken.first()).token_hash != headers["Authorization"][7:]  # stored hashed
    response = await client.delete("/api/tokens", headers=headers)
    assert response.status_code == 204
    response = await client.get(f"/api/users/{alice.id}", headers=headers)
    assert response.status_code == 401


async def test_an_expired_token_is_refused(client):
    alice = await make_user("alice")
    headers = await token_for(client)
    await ApiToken.all().update(expires_at=datetime.now(UTC) - timedelta(seconds=1))
    response = await client.get(f"/api/users/{alice.id}", headers=headers)
    assert response.status_code == 401


@pytest.mark.parametrize("headers", [
    {}, {"Authorization": "Basic !!!"}, {"Authorization": "Bearer x"},
])
async def test_token_request_needs_valid_basic_auth(client, headers):
    await make_user("alice")
    response = await client.post("/api/tokens", headers=headers)
    assert response.status_code == 401
    assert "WWW-Authenticate" in response.headers
    response = await client.post("/api/tokens", headers=basic("alice", "wrong password"))
    assert response.status_code == 401
    assert await ApiToken.all().count() == 0


@pytest.mark.parametrize("auth", [None, "Bearer nonsense", "Token abc", "Bearer "])
async def test_invalid_tokens_are_refused(client, auth):
    alice = await make_user("alice")
    headers = {"Authorization": auth} if auth else {}
    for method, path in (("GET", f"/api/users/{alice.id}"), ("GET", "/api/posts"),
                         ("GET", "/api/timeline"), ("POST", "/api/posts"),
                         ("POST", f"/api/me/following/{alice.id}")):
        response = await client.open(path, method=method, headers=headers, json={"body": "x"})
        assert response.status_code == 401, path
        assert (await response.get_json())["error"] == "Unauthorized"
    assert await Post.all().count() == 0


async def test_user_collections_and_follow_endpoints(client):
    alice, bob = await make_user("alice"), await make_user("bob")
    headers = await token_for(client)
    assert (await client.post(f"/api/me/following/{bob.id}", headers=headers)).status_code == 204
    assert (await client.post(f"/api/me/following/{bob.id}", headers=headers)).status_code == 204
    assert await Follow.all().count() == 1
    response = await client.get(f"/api/users/{bob.id}/followers", headers=headers)
    body = await response.get_json()
    assert [u["username"] for u in body["items"]] == ["alice"]
    assert body["_meta"] == {"page": 1, "per_page": 25, "total_pages": 1, "total_items": 1}
    following = await (await client.get(f"/api/users/{alice.id}/following",
                                        headers=headers)).get_json()
    assert [u["username"] for u in following["items"]] == ["bob"]
    assert following["items"][0]["follower_count"] == 1
    assert (await client.delete(f"/api/me/following/{bob.id}",
                                headers=headers)).status_code == 204
    assert await Follow.all().count() == 0


async def test_follow_errors(client):
    alice = await make_user("alice")
    headers = await token_for(client)
    response = await client.post(f"/api/me/following/{alice.id}", headers=headers)
    assert response.status_code == 400 and "yourself" in (await response.get_json())["message"]
    response = await client.delete(f"/api/me/following/{alice.id}", headers=headers)
    assert response.status_code == 400
    response = await client.post("/api/me/following/9999", headers=headers)
    assert response.status_code == 404
    assert (await response.get_json())["error"] == "Not Found"
    assert (await client.get("/api/users/9999", headers=headers)).status_code == 404


async def test_posts_explore_and_timeline(client):
    alice, bob, carol = [await make_user(n) for n in ("alice", "bob", "carol")]
    headers = await token_for(client)
    response = await client.post("/api/posts", headers=headers,
                                 json={"body": "Hello from the API, how are you today?"})
    assert response.status_code == 201
    post = await response.get_json()
    assert set(post) == POST_FIELDS
    assert (post["like_count"], post["repost_count"], post["comment_count"]) == (0, 0, 0)
    assert post["liked"] is False and post["reposted"] is False and post["edited_at"] is None
    assert post["author"]["username"] == "alice" and post["language"] == "en"
    assert set(post["author"]) == {"id", "username", "avatar"}
    from microblog.services import posts, social

    await posts.create_post(bob, "bob writes")
    await posts.create_post(carol, "carol writes")
    await social.follow(alice, bob)
    timeline = await (await client.get("/api/timeline", headers=headers)).get_json()
    assert [p["body"] for p in timeline["items"]] == [
        "bob writes", "Hello from the API, how are you today?"]
    explore = await (await client.get("/api/posts?per_page=2", headers=headers)).get_json()
    assert [p["body"] for p in explore["items"]] == ["carol writes", "bob writes"]
    assert explore["_meta"]["total_items"] == 3 and explore["_meta"]["total_pages"] == 2
    assert explore["_links"]["next"] == "/api/posts?page=2&per_page=2"
    assert explore["_links"]["prev"] is None
    page2 = await (await client.get(explore["_links"]["next"], headers=headers)).get_json()
    assert [p["body"] for p in page2["items"]] == ["Hello from the API, how are you today?"]
    user_posts = await (await client.get(f"/api/users/{bob.id}/posts",
                                         headers=headers)).get_json()
    assert [p["body"] for p in user_posts["items"]] == ["bob writes"]
    since = await (await client.get(f"/api/timeline?since_id={post['id']}",
                                    headers=headers)).get_json()
    assert [p["body"] for p in since["items"]] == ["bob writes"]


async def test_per_page_is_at_most_100_and_page_at_least_1(client):
    await make_user("alice")
    headers = await token_for(client)
    response = await client.get("/api/posts?per_page=1000&page=-3", headers=headers)
    assert response.status_code == 400
    errors = (await response.get_json())["errors"]
    assert errors == {"page": "This must be at least 1.",
                      "per_page": "This must be at most 100."}
    body = await (await client.get("/api/posts?per_page=100", headers=headers)).get_json()
    assert body["_meta"]["per_page"] == 100 and body["_meta"]["page"] == 1


@pytest.mark.parametrize("payload, message", [
    ({"body": ""}, "empty"),
    ({"body": "z" * 281}, "limit is 280"),
    ({"body": "  \n "}, "empty"),
    ({"body": 5}, "body: This must be text."),
    ({}, "body: This field is required."),
])
async def test_bad_posts_are_refused(client, payload, message):
    await make_user("alice")
    headers = await token_for(client)
    response = await client.post("/api/posts", headers=headers, json=payload)
    assert response.status_code == 400
    assert message in (await response.get_json())["message"]
    assert await Post.all().count() == 0


async def test_api_needs_no_csrf_but_pages_do(client):
    await make_user("alice")
    headers = await token_for(client)
    response = await client.post("/api/posts", headers=headers, json={"body": "no csrf here"})
    assert response.status_code == 201


async def test_unknown_api_path_is_json_404(client):
    response = await client.get("/api/nothing")
    assert response.status_code == 404
    assert (await response.get_json())["error"] == "Not Found"
