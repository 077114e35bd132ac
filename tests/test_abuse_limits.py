"""Abuse limits (issue 14, item 4): every one is declared in microblog/ratelimit.py and
answers 429 with Retry-After (the API) or a message (the pages) past its limit, before
anything is written."""

from __future__ import annotations

from typing import Any

from microblog import ratelimit
from microblog.models import Comment, Follow, Post, Task, User
from microblog.services import posts as post_service
from tests.helpers import login, make_user, submit
from tests.test_api import token_for

# a client seen through our proxy (the test client's peer is loopback, never limited per
# address: see ratelimit.client_key)
FROM_OUTSIDE = {"client": ("127.0.0.1", 40000)}


async def api(client: Any, method: str, path: str, headers: dict[str, str],
              **kwargs: Any) -> Any:
    return await client.open(path, method=method, headers=headers, scope_base=FROM_OUTSIDE,
                             **kwargs)


def refused(response: Any) -> None:
    assert response.status_code == 429
    assert int(response.headers["Retry-After"]) >= 1


async def test_posts_past_the_limit_are_refused_and_not_written(client):
    alice = await make_user("alice")
    headers = await token_for(client, "alice")
    for i in range(ratelimit.POSTS.amount):
        await post_service.create_post(alice, f"post {i}")
    response = await client.post("/api/posts", json={"body": "one too many"}, headers=headers)
    refused(response)
    assert (await response.get_json())["message"] == (
        "You are posting too fast. Wait a few minutes and try again.")
    assert await Post.filter(author_id=alice.id).count() == ratelimit.POSTS.amount


async def test_comments_past_the_limit_show_a_message_on_the_page(client):
    alice, bob = await make_user("alice"), await make_user("bob")
    post = await post_service.create_post(alice, "Comment on this")
    for i in range(ratelimit.COMMENTS.amount):
        await post_service.add_comment(bob, post.id, f"comment {i}")
    await login(client, "bob")
    response = await submit(client, f"/post/{post.id}", {"body": "one too many"})
    html = await response.get_data(as_text=True)
    assert response.status_code in (400, 429)
    assert "You are commenting too fast" in html
    assert await Comment.filter(author_id=bob.id).count() == ratelimit.COMMENTS.amount


async def test_follows_and_unfollows_share_a_limit(client):
    await make_user("alice")
    carol = await make_user("carol")
    headers = await token_for(client, "alice")
    for i in range(ratelimit.FOLLOWS.amount):
        method = "POST" if i % 2 == 0 else "DELETE"
        response = await client.open(f"/api/me/following/{carol.id}", method=method,
                                     headers=headers)
        assert response.status_code == 204, i
    response = await client.post(f"/api/me/following/{carol.id}", headers=headers)
    refused(response)
    assert await Follow.filter(followed_id=carol.id).count() == 0


async def test_registrations_per_client_address(client):
    def new(i: int) -> dict[str, str]:
        return {"username": f"newcomer{i}", "email": f"newcomer{i}@example.com",
                "password": "a long enough passphrase"}

    outside = {"X-Forwarded-For": "203.0.113.50"}
    for i in range(ratelimit.REGISTRATIONS.amount):
        response = await api(client, "POST", "/api/users", outside, json=new(i))
        assert response.status_code == 201
    response = await api(client, "POST", "/api/users", outside, json=new(99))
    refused(response)
    assert not await User.filter(username="newcomer99").exists()
    # another address, and the machine itself, are not affected
    other = await api(client, "POST", "/api/users", {"X-Forwarded-For": "203.0.113.51"},
                      json=new(99))
    assert other.status_code == 201
    local = await client.post("/api/users", json=new(100))
    assert local.status_code == 201


async def test_password_reset_requests_per_email(client):
    await make_user("alice")
    for _ in range(ratelimit.RESETS_PER_EMAIL.amount):
        response = await submit(client, "/auth/reset", {"email": "alice@example.com"})
        assert response.status_code == 302
    response = await submit(client, "/auth/reset", {"email": "alice@example.com"})
    assert response.status_code == 429
    assert "Too many password reset requests" in await response.get_data(as_text=True)
    # the same for an address nobody registered: nothing to learn from the answers
    for _ in range(ratelimit.RESETS_PER_EMAIL.amount):
        assert (await submit(client, "/auth/reset", {"email": "nobody@example.com"})
                ).status_code == 302
    assert (await submit(client, "/auth/reset", {"email": "nobody@example.com"})
            ).status_code == 429


async def test_exports_per_hour(client):
    alice = await make_user("alice")
    headers = await token_for(client, "alice")
    for _ in range(ratelimit.EXPORTS.amount):
        response = await client.post("/api/exports", headers=headers)
        assert response.status_code == 202
        # gone, so the next one is not refused for running alongside it (a worker that
        # takes the job finds no task and stops)
        await Task.filter(user_id=alice.id).delete()
    refused(await client.post("/api/exports", headers=headers))
    assert not await Task.filter(user_id=alice.id).exists()
