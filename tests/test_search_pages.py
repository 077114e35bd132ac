"""The search page (GET /search) and the navbar's search box, through the test client."""

import re
from html import unescape

import pytest

from microblog.services import posts, social
from tests.helpers import login, make_user, page


def cards(html: str) -> list[str]:
    """The bodies of the post cards on a page, as HTML."""
    return re.findall(r'<p class="post-body mb-0">(.*?)</p>', html, re.DOTALL)


@pytest.fixture
async def alice(client):
    user = await make_user("alice")
    await login(client)
    return user


async def test_the_navbar_has_a_search_box_for_signed_in_people(client):
    _status, html = await page(client, "/explore")
    assert 'role="search"' not in html  # signed out: no box
    await make_user("alice")
    await login(client)
    for path in ("/", "/explore", "/user/alice", "/notifications"):
        status, html = await page(client, path)
        assert status == 200
        box = re.search(r'<form class="navbar-search" role="search" method="get" '
                        r'action="/search">.*?</form>', html, re.DOTALL)
        assert box, path
        assert 'type="search"' in box[0] and 'name="q"' in box[0]
        assert 'placeholder="Search posts, people, #tags"' in box[0]
        # outside the collapsed menu: phones see it without opening the hamburger
        assert html.index("navbar-search") < html.index('id="nav"')
        assert "/static/js/search.js" in html
    # no inline script anywhere: only JSON data and script files
    scripts = re.findall(r"<script([^>]*)>", html)
    assert all("src=" in attrs or 'type="application/json"' in attrs for attrs in scripts)


async def test_finds_posts_with_highlights_and_escapes_them(client, alice):
    await posts.create_post(alice, "Hiking in the mountains today")
    await posts.create_post(alice, "<script>alert('mountain')</script> & <b>bold</b>")
    await posts.create_post(alice, "Nothing to see here")
    status, html = await page(client, "/search?q=mountain")
    assert status == 200
    assert "<title>Search: mountain · Microblog</title>" in html
    assert 'value="mountain"' in html  # the box, prefilled
    bodies = cards(html)
    assert len(bodies) == 2
    assert "Hiking in the <mark>mountains</mark> today" in bodies
    assert ("&lt;script&gt;alert(&#39;<mark>mountain</mark>&#39;)&lt;/script&gt; &amp; "
            "&lt;b&gt;bold&lt;/b&gt;") in bodies
    assert "<script>alert" not in html and "<b>bold</b>" not in html
    assert "2 results" in html
    # page 1 of the newest results: live results follow this query
    assert 'data-live-q="mountain"' in html and 'id="new-posts"' in html


async def test_top_sort_and_live_only_on_latest_first_page(client, alice):
    await posts.create_post(alice, "Coffee first, then coffee again")
    await posts.create_post(alice, "Coffee")
    status, html = await page(client, "/search?q=coffee&sort=top")
    assert status == 200 and len(cards(html)) == 2
    assert "data-live-q" not in html and 'id="new-posts"' not in html
    assert re.search(r'class="btn btn-outline-secondary active" aria-current="true"\s+'
                     r'href="/search\?q=coffee&amp;sort=top">Top</a>', html)
    # the box keeps the order; the tabs keep the query
    assert '<input type="hidden" name="sort" value="top">' in html
    assert 'href="/search?q=coffee&amp;type=users"' in html
    assert 'href="/search?q=coffee&amp;type=tags"' in html


async def test_escapes_the_query_everywhere(client, alice):
    q = '"<img src=x onerror=alert(1)>"'
    status, html = await page(client, "/search?q=" + q.replace(" ", "+"))
    assert status == 200
    assert "<img src=x" not in html
    assert "No posts match <strong>&#34;&lt;img src=x onerror=alert(1)&gt;&#34;</strong>." in html
    assert "Search: &#34;&lt;img" in html  # the title
    assert "How to search" in html  # help under empty results


async def test_people_tab(client, alice):
    bob = await make_user("bob")
    await make_user("bobby")
    bob.about_me = "Trail runner <b>and</b> baker"
    await bob.save()
    await social.follow(alice, bob)
    status, html = await page(client, "/search?q=bob&type=users")
    assert status == 200
    names = re.findall(r'<a class="fw-semibold" href="/user/(\w+)">', html)
    assert names == ["bob", "bobby"]
    assert "1 follower<" in html and "0 followers" in html
    assert "Trail runner &lt;b&gt;and&lt;/b&gt; baker" in html
    assert 'class="avatar rounded"' in html
    assert '<input type="hidden" name="type" value="users">' in html
    status, html = await page(client, "/search?q=nobody&type=users")
    assert status == 200 and "No people match <strong>nobody</strong>." in html


async def test_tags_tab(client, alice):
    await posts.create_post(alice, "Off to the #alps and #alpine lakes")
    await posts.create_post(alice, "Back in the #alps")
    status, html = await page(client, "/search?q=%23alp&type=tags")
    assert status == 200
    tags = re.findall(r'<a class="fw-semibold" href="([^"]+)">#(\w+)</a>\s*'
                      r'<span class="small text-body-secondary">([^<]+)</span>', html)
    assert tags == [("/search?q=%23alps", "alps", "2 posts"),
                    ("/search?q=%23alpine", "alpine", "1 post")]
    status, html = await page(client, "/search?q=%23alps")
    assert len(cards(html)) == 2
    status, html = await page(client, "/search?q=zzz&type=tags")
    assert status == 200 and "No hashtags match <strong>zzz</strong>." in html


async def test_did_you_mean(client, alice):
    await posts.create_post(alice, "The orchestra played beautifully")
    status, html = await page(client, "/search?q=orchestar")
    assert status == 200
    assert re.search(r'Did you mean <a href="/search\?q=orchestra"[^>]*>orchestra</a>\?',
                     html)


@pytest.mark.parametrize("q, message", [
    ("-only", None),
    ("after:yesterday", None),
    ("lang:english", "lang: needs a language code, like lang:es."),
    ("x" * 501, "That query is 501 characters; the limit is 500."),
    ("x" * 100_000, "That query is 100000 characters; the limit is 500."),
    ("nul\x00byte", "NUL character"),
])
async def test_a_query_that_cannot_mean_anything_is_a_400_with_the_message(
        client, alice, q, message):
    response = await client.get("/search", query_string={"q": q})
    html = await response.get_data(as_text=True)
    assert response.status_code == 400
    error = re.search(r'<div id="search-error" class="invalid-feedback">(.*?)</div>', html)
    assert error and error[1].strip()
    if message:
        assert message in unescape(error[1])
    title = re.search(r"<title>(.*?)</title>", html, re.DOTALL)
    assert title and len(title[1]) < 100
    assert 'aria-invalid="true"' in html and "How to search" in html


async def test_people_and_tags_refuse_unstorable_text_too(client, alice):
    for kind in ("users", "tags"):
        response = await client.get("/search", query_string={"q": "a\x00", "type": kind})
        assert response.status_code == 400
        assert "NUL character" in await response.get_data(as_text=True)


async def test_empty_search_shows_help(client, alice):
    for path in ("/search", "/search?q=", "/search?q=+++&type=users"):
        status, html = await page(client, path)
        assert status == 200
        assert "<title>Search · Microblog</title>" in html
        assert '<details class="search-help card card-body mt-3" open>' in html
        for example in ("from:me", "lang:es", "after:2026-01-31", "a OR b"):
            assert example in html
        assert 'class="nav nav-tabs' not in html and "search-error" not in html


async def test_signed_out_goes_to_login(client):
    response = await client.get("/search?q=hello")
    assert response.status_code == 302
    assert response.location == "/auth/login?next=/search?q%3Dhello"


async def test_bad_type_sort_and_page(client, alice):
    await posts.create_post(alice, "Hello there")
    status, html = await page(client, "/search?q=hello&type=nonsense&sort=best")
    assert status == 200 and len(cards(html)) == 1  # the defaults: posts, latest
    status, html = await page(client, "/search?q=hello&page=0")
    assert status == 400 and "page must be a whole number" in html


async def test_pagination(client, alice):
    for i in range(45):
        await posts.create_post(alice, f"Numbered post {i} about gardens")
    status, html = await page(client, "/search?q=garden")
    assert status == 200 and len(cards(html)) == 20
    assert "45 results" in html and "Page 1 of 3" in html
    assert 'href="/search?q=garden&amp;page=2">Next' in html
    assert 'rel="prev" aria-disabled="true"' in html
    first = cards(html)
    status, html = await page(client, "/search?q=garden&page=2")
    assert status == 200 and len(cards(html)) == 20 and not set(cards(html)) & set(first)
    assert 'href="/search?q=garden&amp;page=1">&larr; Previous' in html
    assert 'href="/search?q=garden&amp;page=3">Next' in html
    assert "data-live-q" not in html  # live results only on the first page
    status, html = await page(client, "/search?q=garden&sort=top&page=3")
    assert len(cards(html)) == 5 and 'rel="next" aria-disabled="true"' in html
    assert 'href="/search?q=garden&amp;sort=top&amp;page=2">&larr; Previous' in html
    # results go 1,000 deep: beyond that, nothing, and a way back
    status, html = await page(client, "/search?q=garden&page=51")
    assert status == 200 and cards(html) == []
    assert 'href="/search?q=garden&amp;page=50">&larr; Previous' in html


@pytest.mark.parametrize("lang", ["es", "zh"])
async def test_renders_in_every_language(client, alice, lang):
    await posts.create_post(alice, "Hiking in the mountains today #hike")
    for query in ("q=mountain", "q=mountain&sort=top", "q=ali&type=users", "q=hik&type=tags",
                  "q=", "q=lang%3Aenglish"):
        response = await client.get(f"/search?{query}", headers={"Accept-Language": lang})
        html = await response.get_data(as_text=True)
        assert response.status_code in (200, 400), query
        assert f'<html lang="{lang}">' in html
