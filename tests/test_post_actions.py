"""Likes, reposts, edits, hashtags and rich text on post cards: the pages (with and without
JavaScript's JSON fetches), the API, and the live events on two real instances."""

import asyncio
import re

import pytest

from microblog.models import User
from microblog.services import accounts, engagement, posts, social, tags
from tests.helpers import csrf_from, login, make_user, page, present, submit
from tests.realtime import Api, Recorder
from tests.test_api import token_for


def card(html: str, post_id: int) -> str:
    """One post card of a page."""
    found = re.search(rf'<article class="post[^"]*" data-post-id="{post_id}".*?</article>',
                      html, re.S)
    return present(found).group(0)


def cards(html: str) -> list[int]:
    return [int(i) for i in re.findall(r'<article class="post[^"]*" data-post-id="(\d+)"', html)]


def pressed(html: str, kind: str) -> bool:
    button = present(re.search(rf'<button[^>]*class="[^"]*{kind}-action"[^>]*>', html))
    return 'aria-pressed="true"' in button.group(0)


def count(html: str, kind: str) -> str:
    return present(re.search(rf'data-count="{kind}">([^<]*)<', html)).group(1)


async def json_headers(client, path="/explore"):
    _status, html = await page(client, path)
    return {"X-CSRFToken": csrf_from(html), "Accept": "application/json"}


@pytest.fixture
async def three(client):
    return [await make_user(name) for name in ("alice", "bob", "carol")]


# --- pages ----------------------------------------------------------------------------------


async def test_like_and_unlike_by_json_fetch_and_by_form(client, three):
    alice, _bob, _carol = three
    post = await posts.create_post(alice, "like me")
    await login(client, "bob")
    headers = await json_headers(client)
    response = await client.post(f"/post/{post.id}/like", headers=headers)
    assert response.status_code == 200
    assert await response.get_json() == {"id": post.id, "like_count": 1, "repost_count": 0,
                                         "comment_count": 0, "liked": True, "reposted": False}
    # again: nothing changes
    response = await client.post(f"/post/{post.id}/like", headers=headers)
    assert (await response.get_json())["like_count"] == 1

    # without JavaScript: the card's form, back to the page it was on
    _status, html = await page(client, "/explore")
    mine = card(html, post.id)
    assert pressed(mine, "like") and count(mine, "like") == "1"
    action = present(re.search(r'action="(/post/\d+/unlike\?next=[^"]*)"', mine)).group(1)
    assert action == f"/post/{post.id}/unlike?next=/explore"
    assert f'name="csrf_token" value="{csrf_from(html)}"' in mine
    response = await client.post(action, form={"csrf_token": csrf_from(html)})
    assert response.status_code == 302 and response.location == "/explore"
    _status, html = await page(client, "/explore")
    assert not pressed(card(html, post.id), "like") and count(card(html, post.id), "like") == ""
    # a form without the CSRF token does nothing
    response = await client.post(f"/post/{post.id}/like", form={})
    assert response.status_code == 400
    assert (await engagement.counts(None, post.id)).like_count == 0


async def test_signed_out_readers_see_counts_and_sign_in_links(client, three):
    alice, bob, _carol = three
    post = await posts.create_post(alice, "counted")
    await engagement.like(bob, post.id)
    await engagement.repost(bob, post.id)
    await posts.add_comment(bob, post.id, "a reply")
    _status, html = await page(client, "/explore")
    shown = card(html, post.id)
    assert count(shown, "like") == "1" and count(shown, "repost") == "1"
    assert count(shown, "comment") == "1"
    assert "<form" not in shown and "aria-pressed" not in shown
    assert 'href="/auth/login?next=/explore"' in shown
    assert f'href="/post/{post.id}#comment-form"' in shown
    # a JSON like without a session: 401 with a message; a form: to the sign-in page
    response = await client.post(f"/post/{post.id}/like", headers={"Accept": "application/json"})
    assert response.status_code in (400, 401)


async def test_cards_show_each_reader_their_own_state_from_the_cache(client, three):
    alice, bob, carol = three
    post = await posts.create_post(alice, "who liked it?")
    await engagement.like(bob, post.id)
    await engagement.like(carol, post.id)
    await engagement.repost(carol, post.id)
    await login(client, "bob")
    _status, html = await page(client, "/explore")
    shown = card(html, post.id)
    assert pressed(shown, "like") and not pressed(shown, "repost")
    assert count(shown, "like") == "2" and count(shown, "repost") == "1"
    assert "more-action" not in shown  # not bob's post: no edit or delete
    await client.post("/auth/logout", form={"csrf_token": csrf_from(html)})
    await login(client, "carol")
    _status, html = await page(client, "/explore")
    shown = card(html, post.id)
    assert pressed(shown, "like") and pressed(shown, "repost")
    assert f'value="{csrf_from(html)}"' in shown  # carol's token, not bob's
    await client.post("/auth/logout", form={"csrf_token": csrf_from(html)})
    await login(client, "alice")
    _status, html = await page(client, "/explore")
    shown = card(html, post.id)
    assert not pressed(shown, "like") and "more-action" in shown
    assert f'action="/post/{post.id}/delete"' in shown and "data-confirm=" in shown
    assert f'href="/post/{post.id}/edit"' in shown


async def test_a_repost_shows_once_on_a_followers_home_and_undo_removes_it(client, three):
    alice, bob, carol = three
    dave = await make_user("dave")
    await social.follow(dave, bob)
    await social.follow(dave, carol)
    post = await posts.create_post(alice, "worth sharing")
    await login(client, "dave")
    _status, html = await page(client, "/")
    assert post.id not in cards(html)  # dave does not follow alice

    await engagement.repost(bob, post.id)
    await engagement.repost(carol, post.id)
    _status, html = await page(client, "/")
    assert cards(html).count(post.id) == 1
    shown = card(html, post.id)
    assert "carol</a> reposted" in shown and f'data-reposted-by="{carol.id}"' in shown

    await engagement.unrepost(carol, post.id)
    _status, html = await page(client, "/")
    assert cards(html).count(post.id) == 1 and "bob</a> reposted" in card(html, post.id)
    await engagement.unrepost(bob, post.id)
    _status, html = await page(client, "/")
    assert post.id not in cards(html)

    # the reposter's own home says "You reposted"
    await engagement.repost(dave, post.id)
    _status, html = await page(client, "/")
    assert "You reposted" in card(html, post.id) and pressed(card(html, post.id), "repost")


async def test_edit_by_form_and_by_json_with_history(client, three):
    alice, _bob, _carol = three
    post = await posts.create_post(alice, "first words")
    await login(client, "alice")
    status, html = await page(client, f"/post/{post.id}/edit")
    assert status == 200 and "first words" in html
    response = await submit(client, f"/post/{post.id}/edit", {"post": "second words"})
    assert response.status_code == 302 and response.location == f"/post/{post.id}"
    _status, html = await page(client, f"/post/{post.id}")
    shown = card(html, post.id)
    assert "second words" in shown and f'href="/post/{post.id}/history"' in shown
    assert ">edited</a>" in shown

    response = await client.post(f"/post/{post.id}/edit", json={"body": "third words"},
                                 headers=await json_headers(client))
    assert response.status_code == 200
    body = await response.get_json()
    assert body["body"] == "third words" and body["edited_at"] and body["id"] == post.id
    # too long: the error comes back as JSON with its message
    response = await client.post(f"/post/{post.id}/edit", json={"body": "x" * 281},
                                 headers=await json_headers(client))
    assert response.status_code == 400 and "limit" in (await response.get_json())["message"]
    response = await submit(client, f"/post/{post.id}/edit", {"post": ""})
    assert response.status_code == 400 and "is-invalid" in await response.get_data(as_text=True)

    status, html = await page(client, f"/post/{post.id}/history")
    assert status == 200
    versions = re.findall(r'<p class="post-body mb-0"[^>]*>([^<]*)</p>', html)
    assert versions == ["third words", "second words", "first words"]


async def test_only_the_author_edits(client, three):
    alice, _bob, _carol = three
    post = await posts.create_post(alice, "mine")
    await login(client, "bob")
    status, _html = await page(client, f"/post/{post.id}/edit")
    assert status == 403
    response = await client.post(f"/post/{post.id}/edit", json={"body": "hijacked"},
                                 headers=await json_headers(client))
    assert response.status_code == 403
    assert (await posts.get_post(post.id)).body == "mine"
    _status, html = await page(client, f"/post/{post.id}")
    assert "more-action" not in card(html, post.id)


async def test_tag_page_lists_tagged_posts_whatever_the_case(client, three):
    alice, bob, _carol = three
    upper = await posts.create_post(alice, "Coffee at the #Café")
    lower = await posts.create_post(bob, "another #café visit")
    other = await posts.create_post(bob, "no tag here, just café")
    tags.forget_trending()
    for path in ("/tags/caf%C3%A9", "/tags/CAF%C3%89", "/tags/Caf%C3%A9"):
        status, html = await page(client, path)
        assert status == 200
        assert set(cards(html)) == {upper.id, lower.id} and other.id not in cards(html)
        assert '<h1 class="h4 mb-3 tag-heading">#café</h1>' in html
        assert 'data-stream="tag:café"' in html
    # trending: the tag, used by two people
    assert 'href="/tags/caf%C3%A9"' in html and "2 people" in html
    status, _html = await page(client, "/tags/123")
    assert status == 404


async def test_rich_text_escapes_and_links(client, three):
    alice, _bob, _carol = three
    post = await posts.create_post(
        alice, "<script>alert(1)</script> hi @bob see https://example.com/a?b=1&c=2. #Fun")
    status, html = await page(client, f"/post/{post.id}")
    shown = card(html, post.id)
    assert "<script>alert" not in shown and "&lt;script&gt;alert(1)&lt;/script&gt;" in shown
    assert '<a class="mention" href="/user/bob">@bob</a>' in shown
    assert '<a class="hashtag" href="/tags/fun">#Fun</a>' in shown
    assert ('<a href="https://example.com/a?b=1&amp;c=2" rel="nofollow noopener ugc" '
            'target="_blank">https://example.com/a?b=1&amp;c=2</a>.') in shown
    # comments too
    await posts.add_comment(alice, post.id, "thanks @bob #Fun <b>")
    _status, html = await page(client, f"/post/{post.id}")
    assert 'thanks <a class="mention" href="/user/bob">@bob</a>' in html and "&lt;b&gt;" in html


# --- API ------------------------------------------------------------------------------------


async def test_api_likes_reposts_and_edits(client, three):
    alice, _bob, _carol = three
    post = await posts.create_post(alice, "api post")
    bob_auth = await token_for(client, "bob")
    alice_auth = await token_for(client, "alice")
    for method in ("post", "delete", "post"):
        response = await getattr(client, method)(f"/api/posts/{post.id}/like", headers=bob_auth)
        assert response.status_code == 204
    response = await client.post(f"/api/posts/{post.id}/repost", headers=bob_auth)
    assert response.status_code == 204
    body = await (await client.get(f"/api/posts/{post.id}", headers=bob_auth)).get_json()
    assert body["like_count"] == 1 and body["liked"] is True
    assert body["repost_count"] == 1 and body["reposted"] is True
    body = await (await client.get(f"/api/posts/{post.id}", headers=alice_auth)).get_json()
    assert body["like_count"] == 1 and body["liked"] is False and body["reposted"] is False
    assert (await client.delete(f"/api/posts/{post.id}/repost",
                                headers=bob_auth)).status_code == 204
    assert (await client.post("/api/posts/999999/like", headers=bob_auth)).status_code == 404

    response = await client.patch(f"/api/posts/{post.id}", json={"body": "api post #Edited"},
                                  headers=bob_auth)
    assert response.status_code == 403
    response = await client.patch(f"/api/posts/{post.id}", json={"body": "api post #Edited"},
                                  headers=alice_auth)
    assert response.status_code == 200
    body = await response.get_json()
    assert body["body"] == "api post #Edited" and body["edited_at"] is not None
    listing = await (await client.get("/api/tags/EDITED", headers=bob_auth)).get_json()
    assert [p["id"] for p in listing["items"]] == [post.id]


async def test_api_trending_counts_people(client, three):
    alice, bob, _carol = three
    for _ in range(3):
        await posts.create_post(alice, "#solo again")
    await posts.create_post(alice, "#shared by alice")
    await posts.create_post(bob, "#Shared by bob")
    tags.forget_trending()
    auth = await token_for(client, "carol")
    body = await (await client.get("/api/tags/trending", headers=auth)).get_json()
    assert body["items"][:2] == [{"name": "shared", "uses": 2, "people": 2},
                                 {"name": "solo", "uses": 3, "people": 1}]


# --- live, on two instances -----------------------------------------------------------------


async def api_as(base: str, username: str) -> tuple[Api, User]:
    """An API client of `base` for a new user (made here: registering over HTTP is limited
    per address)."""
    user = await make_user(username)
    api = Api(base)
    api.token, _expires = await accounts.issue_api_token(user)
    api.http.headers["Authorization"] = f"Bearer {api.token}"
    return api, user


async def connect(url: str, api: Api, name: str) -> Recorder:
    return await Recorder(name).connect(url, api.token)


async def test_a_like_reaches_the_post_page_and_the_author_as_post_stats(server, server2, db):
    (author, _a), (fan, _f), (viewer, _v) = [
        await api_as(base, name) for base, name in (
            (server.url, "author"), (server2.url, "fan"), (server2.url, "viewer"))]
    post = (await author.http.post("/api/posts", json={"body": "like this"})).json()
    author_socket = await connect(server.url, author, "author")
    viewer_socket = await connect(server2.url, viewer, "viewer")
    try:
        assert await viewer_socket.call("subscribe", {"stream": f"post:{post['id']}"}) == {
            "ok": True}
        assert (await fan.http.post(f"/api/posts/{post['id']}/like")).status_code == 204
        expected = {"id": post["id"], "like_count": 1, "repost_count": 0, "comment_count": 0}
        for socket in (viewer_socket, author_socket):
            got = await socket.wait_for("post.stats", lambda s: s["like_count"] == 1)
            assert got[0] == expected
        note = (await author_socket.wait_for("notification"))[0]
        assert note["kind"] == "like" and note["data"]["users"][0]["username"] == "fan"
    finally:
        for s in (author_socket, viewer_socket):
            await s.disconnect()
        for api in (author, fan, viewer):
            await api.close()


async def test_a_repost_reaches_the_reposters_followers_once(server, server2, db):
    (author, _a), (sharer, sharer_user), (other, other_user), (fan, fan_user) = [
        await api_as(base, name) for base, name in (
            (server.url, "author"), (server.url, "sharer"), (server2.url, "other"),
            (server2.url, "fan"))]
    await social.follow(fan_user, sharer_user)
    await social.follow(fan_user, other_user)
    post = (await author.http.post("/api/posts", json={"body": "share me"})).json()
    fan_socket = await connect(server2.url, fan, "fan")
    try:
        assert (await sharer.http.post(f"/api/posts/{post['id']}/repost")).status_code == 204
        got = (await fan_socket.wait_for("post.created"))[0]
        assert got["id"] == post["id"] and got["reposted_by"]["username"] == "sharer"
        assert got["reposted_at"] and got["liked"] is False
        # undone: the card shown for sharer's repost goes
        assert (await sharer.http.delete(f"/api/posts/{post['id']}/repost")).status_code == 204
        gone = await fan_socket.wait_for("post.unreposted")
        assert gone == [{"id": post["id"], "by": sharer_user.id}]
        # the home page after two reposts: the post once
        await engagement.repost(await User.get(id=sharer_user.id), post["id"])
        await engagement.repost(await User.get(id=other_user.id), post["id"])
        await fan_socket.wait_for("post.created", count=3)
        timeline = (await fan.http.get("/api/timeline")).json()["items"]
        assert [p["id"] for p in timeline].count(post["id"]) == 1
        assert timeline[0]["reposted_by"]["username"] == "other"
    finally:
        await fan_socket.disconnect()
        for api in (author, sharer, other, fan):
            await api.close()


async def test_an_edit_reaches_explore_and_the_post_page_as_post_updated(server, server2, db):
    (author, _a), (watcher, _w) = [await api_as(base, name) for base, name in (
        (server.url, "author"), (server2.url, "watcher"))]
    post = (await author.http.post("/api/posts", json={"body": "before the edit"})).json()
    explore = await connect(server2.url, watcher, "explore")
    page_socket = await connect(server.url, watcher, "post-page")
    try:
        assert await explore.call("subscribe", {"stream": "explore"}) == {"ok": True}
        assert await page_socket.call("subscribe", {"stream": f"post:{post['id']}"}) == {
            "ok": True}
        response = await author.http.patch(f"/api/posts/{post['id']}",
                                           json={"body": "after the edit #news"})
        assert response.status_code == 200
        for socket in (explore, page_socket):
            got = (await socket.wait_for("post.updated"))[0]
            assert got["id"] == post["id"] and got["body"] == "after the edit #news"
            assert got["edited_at"] is not None
    finally:
        for s in (explore, page_socket):
            await s.disconnect()
        for api in (author, watcher):
            await api.close()


async def test_a_tag_stream_gets_tagged_posts_and_nothing_else(server, server2, db):
    (author, _a), (watcher, _w) = [await api_as(base, name) for base, name in (
        (server.url, "author"), (server2.url, "watcher"))]
    socket = await connect(server2.url, watcher, "tag")
    try:
        assert await socket.call("subscribe", {"stream": "tag:Café"}) == {"ok": True}
        await author.http.post("/api/posts", json={"body": "nothing tagged"})
        await author.http.post("/api/posts", json={"body": "café, not a tag"})
        tagged = (await author.http.post("/api/posts", json={"body": "at the #CAFÉ"})).json()
        got = await socket.wait_for("post.created")
        await author.http.post("/api/posts", json={"body": "#other tag"})
        probe = (await author.http.post("/api/posts", json={"body": "probe #café"})).json()
        await socket.wait_for("post.created", lambda p: p["id"] == probe["id"])
        assert [p["id"] for p in socket.of("post.created")] == [tagged["id"], probe["id"]]
        assert got[0]["body"] == "at the #CAFÉ"
    finally:
        await socket.disconnect()
        for api in (author, watcher):
            await api.close()


async def test_thirty_people_liking_at_once_lose_no_like(server, server2, db):
    author, _user = await api_as(server.url, "author")
    post = (await author.http.post("/api/posts", json={"body": "popular"})).json()
    fans = [await api_as(server.url if i % 2 else server2.url, f"fan{i}") for i in range(30)]
    try:
        answers = await asyncio.gather(*(
            api.http.post(f"/api/posts/{post['id']}/like") for api, _u in fans))
        assert [a.status_code for a in answers] == [204] * 30
        body = (await author.http.get(f"/api/posts/{post['id']}")).json()
        assert body["like_count"] == 30
        # and undoing them all at once, half of them twice
        answers = await asyncio.gather(*(
            api.http.delete(f"/api/posts/{post['id']}/like")
            for api, _u in fans + fans[:15]))
        assert {a.status_code for a in answers} == {204}
        assert (await engagement.counts(None, post["id"])).like_count == 0
    finally:
        for api in [author, *(api for api, _u in fans)]:
            await api.close()
