"""The composer and the people around it: @mention suggestions, the card over a username,
explore's trending tags and who to follow, the suggestions on an empty home, the landing page
for visitors, and a post's length counted in code points on every side."""

from __future__ import annotations

import re

import pytest

from microblog.limits import POST_MAX
from microblog.models import Post
from microblog.services import posts, social, tags
from tests.helpers import login, make_user, page, submit
from tests.test_api import token_for

EMOJI = "😀"  # one code point, two UTF-16 units


@pytest.fixture(autouse=True)
def fresh_caches(monkeypatch: pytest.MonkeyPatch) -> None:
    """Trending tags and the most followed people are cached per process: read them afresh."""
    tags.forget_trending()
    monkeypatch.setattr(social, "_popular", (-social.POPULAR_CACHE_SECONDS, []))


async def suggest(client, q: str) -> list[dict[str, str]]:
    response = await client.get("/people/suggest", query_string={"q": q},
                                headers={"Accept": "application/json"})
    assert response.status_code == 200
    return await response.get_json()


# --- /people/suggest -------------------------------------------------------------------


async def test_suggest_lists_usernames_by_prefix(client):
    for name in ("alice", "Bob", "bobby", "bo_peep", "carol", "boris", "bozo9"):
        await make_user(name)
    await login(client, "alice")
    found = await suggest(client, "bo")
    assert [p["username"] for p in found] == ["bo_peep", "Bob", "bobby", "boris", "bozo9"]
    assert [p["username"] for p in await suggest(client, "bo_")] == ["bo_peep"]  # no wildcard
    assert all(p["avatar"].startswith("/avatar/") for p in found)
    assert [p["username"] for p in await suggest(client, "BOB")] == ["Bob", "bobby"]
    assert [p["username"] for p in await suggest(client, "@car")] == ["carol"]
    assert await suggest(client, "al") == []  # not yourself


async def test_suggest_gives_at_most_eight(client):
    await make_user("alice")
    for n in range(12):
        await make_user(f"zed{n:02d}")
    await login(client, "alice")
    assert [p["username"] for p in await suggest(client, "zed")] == [
        f"zed{n:02d}" for n in range(8)]


@pytest.mark.parametrize("q", ["", "b o", "bo%", "bo_%", "b*", "x" * 33, "é", "bo\x00",
                               "'; drop table users; --"])
async def test_suggest_answers_nothing_for_what_no_username_starts_with(client, q):
    await make_user("alice")
    await make_user("bob")
    await login(client, "alice")
    assert await suggest(client, q) == []


async def test_suggest_is_for_signed_in_people(client):
    await make_user("bob")
    response = await client.get("/people/suggest?q=bo", headers={"Accept": "application/json"})
    assert response.status_code == 401
    assert (await response.get_json())["message"]


# --- /people/<name>/card ---------------------------------------------------------------


async def test_card_shows_counts_and_a_follow_button(client):
    alice = await make_user("alice")
    bob = await make_user("bob")
    await bob.update_from_dict({"about_me": "I grow <tomatoes>"}).save()
    carol = await make_user("carol")
    await posts.create_post(bob, "one")
    await social.follow(carol, bob)
    await login(client, "alice")
    status, html = await page(client, "/people/bob/card?next=/explore")
    assert status == 200
    assert "<html" not in html  # a fragment
    assert "I grow &lt;tomatoes&gt;" in html
    assert "1 post" in html and "1 follower" in html and "0 following" in html
    assert 'action="/follow/bob?next=/explore"' in html and ">Follow</button>" in html
    assert 'name="csrf_token"' in html and "Last seen" in html

    await social.follow(alice, bob)
    await posts.create_post(bob, "two")
    _status, html = await page(client, "/people/bob/card?next=https://evil.example/")
    assert "2 posts" in html and "2 followers" in html
    assert 'action="/unfollow/bob"' in html and ">Unfollow</button>" in html  # no foreign next


async def test_no_follow_button_on_your_own_card_or_for_visitors(client):
    await make_user("alice")
    await make_user("bob")
    status, html = await page(client, "/people/bob/card")
    assert status == 200 and "bob" in html and "<form" not in html
    await login(client, "alice")
    _status, html = await page(client, "/people/alice/card")
    assert "alice" in html and "<form" not in html and "Follow" not in html
    assert (await client.get("/people/nobody/card")).status_code == 404


async def test_the_follow_button_in_a_card_comes_back_to_the_page(client):
    alice = await make_user("alice")
    bob = await make_user("bob")
    await login(client, "alice")
    _status, html = await page(client, "/people/bob/card?next=/explore?page=2")
    action = re.search(r'action="([^"]+)"', html)
    assert action is not None
    response = await submit(client, "/explore", {}, action=action.group(1).replace("&amp;", "&"))
    assert response.status_code == 302 and response.location == "/explore?page=2"
    assert await social.is_following(alice, bob)


# --- explore, home, landing ----------------------------------------------------------


async def test_explore_shows_trending_tags_and_who_to_follow(client):
    alice, bob, carol, dave = [await make_user(n) for n in ("alice", "bob", "carol", "dave")]
    await posts.create_post(bob, "Soup tonight #Cooking")
    await posts.create_post(carol, "Bread! #cooking #baking")
    await posts.create_post(carol, "More bread #baking")
    await posts.create_post(dave, "Rain #weather")
    await social.follow(carol, dave)
    await social.follow(bob, dave)
    await social.follow(alice, bob)
    await login(client, "alice")
    status, html = await page(client, "/explore")
    assert status == 200
    aside = html.split('class="col-lg-4 explore-aside"', 1)[1]
    assert "Trending today" in aside
    # by people first: #cooking (2 people), then #baking (1 person, 2 posts), then #weather
    names = re.findall(r'href="/tags/([^"]+)">#', aside)
    assert names == ["cooking", "baking", "weather"]
    assert "2 people · 2 posts" in aside and "1 person · 2 posts" in aside
    assert "1 person · 1 post" in aside
    # who to follow: dave (followed by bob, whom alice follows) first; never bob or alice
    assert "Who to follow" in aside
    people = re.findall(r'action="/follow/([^"?]+)\?next=/explore"', aside)
    assert people[0] == "dave" and "bob" not in people and "alice" not in people
    assert 'aria-label="Follow dave"' in aside


async def test_explore_for_a_visitor_has_tags_but_nobody_to_follow(client):
    bob = await make_user("bob")
    await posts.create_post(bob, "#hello world")
    status, html = await page(client, "/explore")
    assert status == 200 and 'href="/tags/hello"' in html
    assert "Who to follow" not in html


async def test_an_empty_home_suggests_people_to_follow(client):
    await make_user("alice")
    bob, carol = await make_user("bob"), await make_user("carol")
    await social.follow(carol, bob)
    await login(client, "alice")
    status, html = await page(client, "/")
    assert status == 200
    assert "People you might like" in html
    assert 'action="/follow/bob?next=/"' in html
    response = await submit(client, "/", {}, action="/follow/bob?next=/")
    assert response.status_code == 302 and response.location == "/"
    # five posts on home: no suggestions any more
    for n in range(5):
        await posts.create_post(bob, f"post {n}")
    _status, html = await page(client, "/")
    assert "People you might like" not in html


async def test_landing_page_shows_recent_posts_to_visitors(client):
    bob = await make_user("bob")
    await posts.create_post(bob, "Hello <visitors>, welcome")
    status, html = await page(client, "/")
    assert status == 200
    assert "Recent posts" in html and "Hello &lt;visitors&gt;, welcome" in html
    assert 'href="/auth/register"' in html and 'href="/auth/login"' in html
    assert "Say it in 280 characters." in html


async def test_landing_page_without_posts(client):
    status, html = await page(client, "/")
    assert status == 200 and "No posts yet." in html


# --- the composer ----------------------------------------------------------------------


async def test_composer_counts_in_code_points(client):
    await make_user("alice")
    await login(client, "alice")
    _status, html = await page(client, "/")
    area = re.search(r"<textarea[^>]*>", html)
    assert area is not None
    # no browser limit at half the posts' (maxlength counts UTF-16 units, emoji are two)
    assert f'data-maxlength="{POST_MAX}"' in area.group(0)
    maxlength = re.search(r'\smaxlength="(\d+)"', area.group(0))
    assert maxlength is None or int(maxlength.group(1)) >= 2 * POST_MAX
    assert "data-mentions" in area.group(0)
    assert 'data-counter-for="post"' in html
    # the schedule field sits behind the clock button, plainly worded
    assert 'aria-controls="schedule-section"' in html and 'id="schedule-section"' in html
    assert "JavaScript" not in html


async def test_280_emoji_post_from_the_page_and_the_api(client):
    await make_user("alice")
    await login(client, "alice")
    body = EMOJI * POST_MAX
    assert len(body.encode("utf-16-le")) // 2 == 2 * POST_MAX
    response = await submit(client, "/", {"post": body})
    assert response.status_code == 302
    assert await Post.filter(body=body).count() == 1
    response = await submit(client, "/", {"post": body + EMOJI})
    assert response.status_code == 400
    assert f"That is {POST_MAX + 1} characters; the limit is {POST_MAX}." in \
        await response.get_data(as_text=True)

    headers = await token_for(client)
    response = await client.post("/api/posts", headers=headers, json={"body": body})
    assert response.status_code == 201
    response = await client.post("/api/posts", headers=headers, json={"body": body + EMOJI})
    assert response.status_code == 400
    assert f"That is {POST_MAX + 1} characters; the limit is {POST_MAX}." in \
        (await response.get_json())["message"]
    assert await Post.filter(body=body).count() == 2


async def test_comment_box_counts_in_code_points_too(client):
    alice = await make_user("alice")
    post = await posts.create_post(alice, "hi")
    await login(client, "alice")
    _status, html = await page(client, f"/post/{post.id}")
    area = re.search(r'<textarea[^>]*id="body"[^>]*>', html)
    assert area is not None and 'data-maxlength="280"' in area.group(0)
    assert "data-mentions" in area.group(0)
    response = await submit(client, f"/post/{post.id}", {"body": EMOJI * 280})
    assert response.status_code == 302
