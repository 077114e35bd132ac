"""The page cache (microblog/services/pagecache.py) as a reader sees it: the first page of a
home timeline, of explore and its sidebar, and of a profile's posts come from the cache
(Redis, or the copy this process keeps of what Redis holds) while nothing they show has
changed, show every change on the next view, and carry each reader's own CSRF token.

Each test proves a view really was a cache hit (the `page_cache_total` counter) before it
changes something, so a next view that shows the change shows that it was invalidated, not
merely never cached. The changes are made as the site makes them (forms, with CSRF) or by
the services the forms call: each awaits `pagecache.changed()` before returning, so nothing
here waits for anything.
"""

from __future__ import annotations

import html as markup
import re
from dataclasses import dataclass
from typing import Any

import pytest
from markupsafe import escape
from prometheus_client import REGISTRY

from microblog.models import Post, User
from microblog.services import accounts, engagement, posts, social, tags
from microblog.web import rendering
from tests.helpers import login, make_user, page, present, submit

PAGES = ("home", "explore", "explore-aside", "profile")

Looked = dict[str, str]  # page cache page -> "hit" or "miss", for one request


@pytest.fixture(autouse=True)
def fresh_caches(monkeypatch: pytest.MonkeyPatch) -> None:
    """Trending tags and the most followed people are cached per process: read them afresh
    (as tests/test_composer.py does)."""
    tags.forget_trending()
    monkeypatch.setattr(social, "_popular", (-social.POPULAR_CACHE_SECONDS, []))


# --- reading what a page shows --------------------------------------------------------------


def lookups() -> dict[tuple[str, str], float]:
    return {(name, result): REGISTRY.get_sample_value(
        "page_cache_total", {"page": name, "result": result}) or 0.0
        for name in PAGES for result in ("hit", "miss")}


async def view(client: Any, path: str) -> tuple[str, Looked]:
    """GET `path` (200): its HTML and, for each fragment it looked up, hit or miss."""
    before = lookups()
    status, html = await page(client, path)
    assert status == 200, html
    looked: Looked = {}
    for (name, result), count in lookups().items():
        delta = count - before[(name, result)]
        assert delta in (0, 1), (name, result, delta)
        if delta:
            assert name not in looked, f"{name} looked up twice"
            looked[name] = result
    # every placeholder of the page's forms and links is filled in for this reader
    for slot in (rendering.CSRF_SLOT, rendering.NEXT_SLOT, "<!--splice-"):
        assert slot not in html, slot
    return html, looked


def as_another_instance() -> None:
    """Forget the copies of fragments this process keeps (web/rendering.py), if it keeps any:
    the next hit is served from the HTML in Redis, as on an instance that has no copy."""
    copies = getattr(rendering, "_copies", None)
    if copies is not None:
        copies.clear()


async def hit(client: Any, path: str, *names: str) -> str:
    html, looked = await view(client, path)
    assert looked == dict.fromkeys(names, "hit"), looked
    return html


async def miss(client: Any, path: str, *names: str) -> str:
    html, looked = await view(client, path)
    assert looked == dict.fromkeys(names, "miss"), looked
    return html


@dataclass(frozen=True)
class Card:
    id: int
    author: str
    body: str
    likes: int
    reposts: int
    comments: int
    liked: bool
    reposted: bool
    reposted_by: str | None  # "you" for "You reposted"
    edited: bool
    html: str

    def form(self, kind: str) -> tuple[str, str]:
        """The action and CSRF token of this card's like or repost form."""
        found = re.search(r'<form class="post-toggle" method="post" action="([^"]+)" '
                          rf'data-kind="{kind}">\s*<input type="hidden" name="csrf_token" '
                          r'value="([^"]*)">', self.html)
        assert found is not None, self.html
        return markup.unescape(found.group(1)), found.group(2)


def _text(fragment: str) -> str:
    return markup.unescape(re.sub(r"<[^>]+>", "", fragment)).strip()


def _count(card: str, kind: str) -> int:
    found = re.search(rf'<span class="post-count" data-count="{kind}">(\d*)</span>', card)
    assert found is not None, card
    return int(found.group(1) or 0)


def timeline(html: str) -> str:
    found = re.search(r'<section aria-label="[^"]*" id="timeline".*?</section>', html, re.S)
    assert found is not None, html
    return found.group(0)


def cards(html: str) -> list[Card]:
    """The post cards of the page's timeline, in order."""
    found = []
    for match in re.finditer(r'<article class="post card[^"]*" data-post-id="(\d+)".*?</article>',
                             timeline(html), re.S):
        card = match.group(0)
        author = re.search(r'class="fw-semibold text-body text-decoration-none" '
                           r'href="/user/([^"]+)">([^<]*)</a>', card)
        body = re.search(r'<p class="post-body mb-0">(.*?)</p>', card, re.S)
        assert author is not None and body is not None, card
        assert author.group(1) == author.group(2), card  # the link goes where the name says
        line = re.search(r'<div class="repost-line.*?</div>', card, re.S)
        by = None
        if line is not None:
            words = _text(line.group(0))
            by = "you" if "You reposted" in words else words.split()[-2]
        found.append(Card(
            int(match.group(1)), author.group(2), _text(body.group(1)), _count(card, "like"),
            _count(card, "repost"), _count(card, "comment"),
            'like-action" aria-pressed="true"' in card,
            'repost-action" aria-pressed="true"' in card, by, 'class="post-edited"' in card,
            card))
    return found


def card_of(html: str, post_id: int) -> Card:
    [card] = [c for c in cards(html) if c.id == post_id]
    return card


def bodies(html: str) -> list[str]:
    return [card.body for card in cards(html)]


def fragment_of(html: str) -> str:
    """The timeline as cached, with the reader's CSRF token put back as a placeholder (the
    first page a process renders may carry a freshly signed token of the same session)."""
    return timeline(html).replace(meta_token(html), "@@CSRF@@")


def meta_token(html: str) -> str:
    found = re.search(r'<meta name="csrf-token" content="([^"]+)">', html)
    assert found is not None
    return found.group(1)


def form_tokens(html: str) -> list[str]:
    return re.findall(r'<input[^>]*name="csrf_token"[^>]*value="([^"]*)"', html)


def who_to_follow(html: str) -> list[str]:
    """The names explore's sidebar offers to follow."""
    found = re.search(r'<section class="card mb-4 who-to-follow".*?</section>', html, re.S)
    if found is None:
        return []
    return re.findall(r'data-user-card href="/user/[^"]+">([^<]+)</a>', found.group(0))


def follow_form(html: str, username: str) -> tuple[str, str]:
    """The action and token of the sidebar's Follow button for `username`."""
    found = re.search(rf'<form method="post" class="flex-shrink-0" action="(/follow/{username}'
                      r'[^"]*)">\s*<input type="hidden" name="csrf_token" value="([^"]*)">',
                      html)
    assert found is not None, html
    return markup.unescape(found.group(1)), found.group(2)


# --- setting the scene ----------------------------------------------------------------------


async def people(*names: str) -> list[User]:
    return [await make_user(name) for name in names]


async def posts_of(author: User, *texts: str) -> list[Post]:
    return [await posts.create_post(author, text) for text in texts]


async def signed_in(app: Any, username: str) -> Any:
    """Another browser (its own cookie jar) signed in as `username`."""
    other = app.test_client()
    await login(other, username)
    return other


async def press(client: Any, card: Card, kind: str, next_path: str) -> None:
    """Press a card's like or repost button, as the form without JavaScript does."""
    action, token = card.form(kind)
    response = await client.post(action, form={"csrf_token": token})
    assert response.status_code == 302, await response.get_data(as_text=True)
    assert response.location == next_path


# --- the home timeline ----------------------------------------------------------------------


async def test_home_is_cached_until_a_post_is_added_deleted_or_edited(client):
    reader, bob = await people("reader", "bob")
    await social.follow(reader, bob)
    older = await posts_of(bob, *(f"bob says {n}" for n in range(5)))
    await login(client, "reader")
    first = await miss(client, "/", "home")
    second = await hit(client, "/", "home")
    assert fragment_of(second) == fragment_of(first)
    as_another_instance()
    assert fragment_of(await hit(client, "/", "home")) == fragment_of(first)
    assert bodies(second) == [f"bob says {n}" for n in reversed(range(5))]

    fresh = await posts.create_post(bob, "fresh from bob")
    html = await miss(client, "/", "home")
    assert [c.id for c in cards(html)] == [fresh.id, *(p.id for p in reversed(older))]
    assert cards(html)[0].body == "fresh from bob" and cards(html)[0].author == "bob"
    await hit(client, "/", "home")

    await posts.delete_post(bob, fresh.id)
    html = await miss(client, "/", "home")
    assert "fresh from bob" not in html
    assert [c.id for c in cards(html)] == [p.id for p in reversed(older)]
    await hit(client, "/", "home")

    # my own post, from the composer on the page, then edited through its form
    response = await submit(client, "/", {"post": "my first words"})
    assert response.status_code == 302
    html = await miss(client, "/", "home")
    mine = cards(html)[0]
    assert (mine.author, mine.body, mine.edited) == ("reader", "my first words", False)
    await hit(client, "/", "home")
    response = await submit(client, f"/post/{mine.id}/edit", {"post": "my second words"})
    assert response.status_code == 302, await response.get_data(as_text=True)
    html = await miss(client, "/", "home")
    edited = card_of(html, mine.id)
    assert (edited.body, edited.edited) == ("my second words", True)
    assert "my first words" not in html
    await hit(client, "/", "home")

    # and someone else's post on my home, edited by its author
    await posts.edit_post(bob, older[0].id, "bob thinks again")
    html = await miss(client, "/", "home")
    assert card_of(html, older[0].id).body == "bob thinks again"
    assert "bob says 0" not in html
    assert fragment_of(await hit(client, "/", "home")) == fragment_of(html)


async def test_home_shows_new_likes_reposts_and_comments(app, client):
    reader, bob, carol = await people("reader", "bob", "carol")
    await social.follow(reader, bob)
    older = await posts_of(bob, *(f"bob says {n}" for n in range(5)))
    target = older[-1]
    await login(client, "reader")
    await miss(client, "/", "home")
    html = await hit(client, "/", "home")
    card = card_of(html, target.id)
    assert (card.likes, card.reposts, card.comments, card.liked) == (0, 0, 0, False)

    # someone I do not follow likes it: only its count changes
    await engagement.like(carol, target.id)
    html = await miss(client, "/", "home")
    card = card_of(html, target.id)
    assert (card.likes, card.liked) == (1, False)
    html = await hit(client, "/", "home")

    # my like, through the card's own form on the cached page: the count and my state
    await press(client, card_of(html, target.id), "like", "/")
    html = await miss(client, "/", "home")
    card = card_of(html, target.id)
    assert (card.likes, card.liked) == (2, True)
    assert card.form("like")[0] == f"/post/{target.id}/unlike?next=/"
    html = await hit(client, "/", "home")
    assert card_of(html, target.id).liked

    # carol reposts and comments (counts); she unlikes (count back)
    await engagement.repost(carol, target.id)
    html = await miss(client, "/", "home")
    assert card_of(html, target.id).reposts == 1
    await hit(client, "/", "home")
    await posts.add_comment(carol, target.id, "well said")
    html = await miss(client, "/", "home")
    assert card_of(html, target.id).comments == 1
    await hit(client, "/", "home")
    await engagement.unlike(carol, target.id)
    html = await miss(client, "/", "home")
    assert (card_of(html, target.id).likes, card_of(html, target.id).liked) == (1, True)
    html = await hit(client, "/", "home")

    # my repost of bob's oldest post brings it to the top, as mine
    oldest = card_of(html, older[0].id)
    await press(client, oldest, "repost", "/")
    html = await miss(client, "/", "home")
    top = cards(html)[0]
    assert (top.id, top.reposted, top.reposted_by, top.reposts) == (older[0].id, True, "you", 1)
    await hit(client, "/", "home")
    # a like by another session of mine shows on this one's cached home too
    other = await signed_in(app, "reader")
    await press(other, card_of(await hit(other, "/", "home"), older[1].id), "like", "/")
    html = await miss(client, "/", "home")
    assert card_of(html, older[1].id).liked and card_of(html, older[1].id).likes == 1


async def test_following_and_unfollowing_change_home(client):
    reader, bob, carol = await people("reader", "bob", "carol")
    await social.follow(reader, bob)
    await posts_of(bob, *(f"bob says {n}" for n in range(5)))
    await posts_of(carol, *(f"carol says {n}" for n in range(5)))
    await login(client, "reader")
    await miss(client, "/", "home")
    html = await hit(client, "/", "home")
    assert not [b for b in bodies(html) if b.startswith("carol")]

    _status, profile = await page(client, "/user/carol")
    response = await client.post("/follow/carol", form={"csrf_token": meta_token(profile)})
    assert response.status_code == 302
    html = await miss(client, "/", "home")
    assert bodies(html) == [*(f"carol says {n}" for n in reversed(range(5))),
                            *(f"bob says {n}" for n in reversed(range(5)))]
    await hit(client, "/", "home")

    response = await client.post("/unfollow/bob", form={"csrf_token": meta_token(html)})
    assert response.status_code == 302
    html = await miss(client, "/", "home")
    assert bodies(html) == [f"carol says {n}" for n in reversed(range(5))]
    assert "bob says" not in html
    await hit(client, "/", "home")


async def test_a_rename_shows_on_the_cached_home_of_followers(app, client):
    reader, bob, carol, dave = await people("reader", "bob", "carol", "dave")
    await social.follow(reader, bob)
    await social.follow(reader, carol)
    await posts_of(bob, *(f"bob says {n}" for n in range(4)))
    [daves] = await posts_of(dave, "dave, followed by nobody")
    await engagement.repost(carol, daves.id)  # on my home as "carol reposted"
    await login(client, "reader")
    await miss(client, "/", "home")
    html = await hit(client, "/", "home")
    assert [c.author for c in cards(html)] == ["dave", "bob", "bob", "bob", "bob"]
    assert cards(html)[0].reposted_by == "carol"

    # bob renames himself through the profile form
    bobs = await signed_in(app, "bob")
    response = await submit(bobs, "/edit_profile", {"username": "Bobby", "about_me": ""})
    assert response.status_code == 302
    html = await miss(client, "/", "home")
    assert [c.author for c in cards(html)] == ["dave", "Bobby", "Bobby", "Bobby", "Bobby"]
    assert 'href="/user/bob"' not in html
    await hit(client, "/", "home")

    # the author of a post a followed person reposted, and the reposter
    await accounts.update_profile(dave, "david", "")
    html = await miss(client, "/", "home")
    assert cards(html)[0].author == "david" and 'href="/user/dave"' not in html
    await hit(client, "/", "home")
    await accounts.update_profile(carol, "caroline", "")
    html = await miss(client, "/", "home")
    assert cards(html)[0].reposted_by == "caroline" and 'href="/user/carol"' not in html
    await hit(client, "/", "home")


async def test_a_deleted_account_leaves_the_cached_home(client):
    reader, bob, carol = await people("reader", "bob", "carol")
    await social.follow(reader, bob)
    await social.follow(reader, carol)
    await posts_of(bob, *(f"bob says {n}" for n in range(3)))
    carols = await posts_of(carol, *(f"carol says {n}" for n in range(3)))
    await engagement.like(bob, carols[-1].id)
    await login(client, "reader")
    await miss(client, "/", "home")
    html = await hit(client, "/", "home")
    assert len(cards(html)) == 6 and card_of(html, carols[-1].id).likes == 1
    await miss(client, "/explore", "explore", "explore-aside")
    assert "bob says" in await hit(client, "/explore", "explore", "explore-aside")

    await accounts.delete_account(bob, "correct horse")
    html, looked = await view(client, "/")
    assert looked == {"home": "miss"}
    assert bodies(html) == [f"carol says {n}" for n in reversed(range(3))]
    assert "bob says" not in html and 'href="/user/bob"' not in html
    assert card_of(html, carols[-1].id).likes == 0  # his like went with him
    html = await miss(client, "/explore", "explore", "explore-aside")
    assert bodies(html) == [f"carol says {n}" for n in reversed(range(3))]


async def test_page_two_of_home_is_never_the_cached_first_page(client):
    reader, bob = await people("reader", "bob")
    await social.follow(reader, bob)
    written = await posts_of(bob, *(f"bob number {n}" for n in range(30)))
    await login(client, "reader")
    newest_first = [f"bob number {n}" for n in reversed(range(30))]
    await miss(client, "/", "home")
    first = await hit(client, "/", "home")
    assert bodies(first) == newest_first[:25]

    # page 2 is read every time, without a lookup; the cached first page stays as it was
    for _ in range(2):
        html, looked = await view(client, "/?page=2")
        assert looked == {}
        assert bodies(html) == newest_first[25:]
        assert 'href="/?page=1"' in html and 'href="/?page=3"' not in html
    assert fragment_of(await hit(client, "/", "home")) == fragment_of(first)
    # the first page asked for by number is the cached one, for this address
    html = await hit(client, "/?page=1", "home")
    assert bodies(html) == newest_first[:25]
    assert cards(html)[0].form("like")[0] == f"/post/{written[-1].id}/like?next=/%3Fpage%3D1"
    assert cards(await hit(client, "/", "home"))[0].form("like")[0].endswith("?next=/")

    # a new post moves one post from page 1 to page 2
    await posts.create_post(bob, "bob number 30")
    html = await miss(client, "/", "home")
    assert bodies(html) == ["bob number 30", *newest_first[:24]]
    html, looked = await view(client, "/?page=2")
    assert looked == {} and bodies(html) == newest_first[24:]
    # the same holds for a profile and explore
    for path in ("/user/bob?page=2", "/explore?page=2"):
        html, looked = await view(client, path)
        assert looked == {} and bodies(html) == newest_first[24:], path
    html = await miss(client, "/user/bob", "profile")
    assert bodies(await hit(client, "/user/bob", "profile")) == bodies(html)
    assert bodies(html) == ["bob number 30", *newest_first[:24]]


# --- explore --------------------------------------------------------------------------------


async def test_explore_shows_new_posts_and_the_sidebar_drops_who_you_follow(client):
    reader, bob, carol, dave, erin = await people("reader", "bob", "carol", "dave", "erin")
    for person in (bob, carol, dave):  # the most followed: suggested to everyone
        await social.follow(erin, person)
    await posts_of(bob, "bob on explore")
    await login(client, "reader")
    await miss(client, "/explore", "explore", "explore-aside")
    html = await hit(client, "/explore", "explore", "explore-aside")
    assert bodies(html) == ["bob on explore"]
    assert who_to_follow(html) == ["bob", "carol", "dave"]

    # anyone's new post, and a like on it
    [daves] = await posts_of(dave, "dave, followed by nobody I know")
    html, looked = await view(client, "/explore")
    # the sidebar shows dave (suggested): his room changed, so it is rendered again too
    assert looked == {"explore": "miss", "explore-aside": "miss"}
    assert bodies(html) == ["dave, followed by nobody I know", "bob on explore"]
    await hit(client, "/explore", "explore", "explore-aside")
    await engagement.like(erin, daves.id)
    html, looked = await view(client, "/explore")
    assert looked == {"explore": "miss", "explore-aside": "hit"}
    assert card_of(html, daves.id).likes == 1
    html = await hit(client, "/explore", "explore", "explore-aside")

    # following from the cached sidebar: back on explore, carol is no longer offered
    action, token = follow_form(html, "carol")
    assert token == meta_token(html)
    response = await client.post(action, form={"csrf_token": token})
    assert response.status_code == 302 and response.location == "/explore"
    assert await social.is_following(reader, carol)
    html = await miss(client, "/explore", "explore", "explore-aside")
    assert who_to_follow(html) == ["bob", "dave"]
    await hit(client, "/explore", "explore", "explore-aside")

    # a visitor's explore is its own fragment: no forms, the new post too
    visitor = client.app.test_client()
    html = await miss(visitor, "/explore", "explore", "explore-aside")
    assert bodies(html)[0] == "dave, followed by nobody I know"
    assert 'class="post-toggle"' not in timeline(html) and who_to_follow(html) == []
    await hit(visitor, "/explore", "explore", "explore-aside")
    await posts_of(carol, "carol for everyone")
    html, looked = await view(visitor, "/explore")
    assert looked == {"explore": "miss", "explore-aside": "hit"}
    assert bodies(html)[0] == "carol for everyone"


async def test_explore_sidebar_shows_a_suggested_persons_new_name(client):
    """The sidebar shows the names it offers, and their Follow buttons post to the name: a
    rename must not leave a button that follows nobody."""
    reader, bob, carol = await people("reader", "bob", "carol")
    await social.follow(carol, bob)  # bob: the most followed, suggested to the reader
    await login(client, "reader")
    await miss(client, "/explore", "explore", "explore-aside")
    html = await hit(client, "/explore", "explore", "explore-aside")
    assert who_to_follow(html) == ["bob"]

    await accounts.update_profile(bob, "robert", "")
    html, _looked = await view(client, "/explore")
    offered = who_to_follow(html)
    action, token = follow_form(html, offered[0])
    response = await client.post(action, form={"csrf_token": token})
    assert (offered, response.status_code) == (["robert"], 302)
    assert await social.is_following(reader, bob)


# --- a profile's posts ----------------------------------------------------------------------


async def test_profile_is_cached_until_its_posts_change(client):
    reader, bob, carol = await people("reader", "bob", "carol")
    await posts_of(bob, "bob one", "bob two")
    [carols] = await posts_of(carol, "carol's own")
    await login(client, "reader")
    await miss(client, "/user/bob", "profile")
    html = await hit(client, "/user/bob", "profile")
    assert bodies(html) == ["bob two", "bob one"]

    [fresh] = await posts_of(bob, "bob three")
    html = await miss(client, "/user/bob", "profile")
    assert bodies(html) == ["bob three", "bob two", "bob one"]
    await hit(client, "/user/bob", "profile")

    await engagement.like(carol, fresh.id)
    html = await miss(client, "/user/bob", "profile")
    assert (card_of(html, fresh.id).likes, card_of(html, fresh.id).liked) == (1, False)
    html = await hit(client, "/user/bob", "profile")
    await press(client, card_of(html, fresh.id), "like", "/user/bob")
    html = await miss(client, "/user/bob", "profile")
    assert (card_of(html, fresh.id).likes, card_of(html, fresh.id).liked) == (2, True)
    await hit(client, "/user/bob", "profile")

    # what bob reposts is on his profile, under his name
    await engagement.repost(bob, carols.id)
    html = await miss(client, "/user/bob", "profile")
    top = cards(html)[0]
    assert (top.id, top.author, top.reposted_by) == (carols.id, "carol", "bob")
    await hit(client, "/user/bob", "profile")
    await posts.delete_post(bob, fresh.id)
    html = await miss(client, "/user/bob", "profile")
    assert bodies(html) == ["carol's own", "bob two", "bob one"]

    # a visitor's copy is another fragment: the counts, no forms
    visitor = client.app.test_client()
    await miss(visitor, "/user/bob", "profile")
    html = await hit(visitor, "/user/bob", "profile")
    assert bodies(html) == ["carol's own", "bob two", "bob one"]
    assert 'class="post-toggle"' not in timeline(html)
    assert 'href="/auth/login?next=/user/bob"' in html


# --- two sessions, one fragment ---------------------------------------------------------------


def assert_own_tokens(html: str, other: str) -> str:
    """Every form of the page carries this session's token (the meta tag's), never the other
    session's."""
    token = meta_token(html)
    assert token != other
    found = form_tokens(html)
    assert found and set(found) == {token}, (token, set(found))
    assert other not in html
    return token


async def test_two_sessions_of_one_user_each_get_their_own_csrf_token(app, client):
    reader, bob, carol = await people("reader", "bob", "carol")
    await social.follow(reader, bob)
    await social.follow(bob, carol)  # carol: suggested to the reader (bob follows her)
    older = await posts_of(bob, *(f"bob says {n}" for n in range(5)))
    await login(client, "reader")
    second = await signed_in(app, "reader")

    one = await miss(client, "/", "home")
    token_one = meta_token(one)
    two = await hit(second, "/", "home")  # this process's copy, filled in for the second
    token_two = assert_own_tokens(two, token_one)
    assert fragment_of(two) == fragment_of(one)
    as_another_instance()
    two = await hit(second, "/", "home")  # the HTML in Redis
    assert assert_own_tokens(two, token_one) == token_two
    assert fragment_of(two) == fragment_of(one)
    assert assert_own_tokens(await hit(client, "/", "home"), token_two) == token_one
    # the tokens are the sessions' own: one's is refused in the other
    card = card_of(two, older[0].id)
    action, _token = card.form("like")
    refused = await second.post(action, form={"csrf_token": token_one})
    assert refused.status_code == 400
    # the second session likes through the cached card's form
    await press(second, card, "like", "/")
    assert card_of(await miss(second, "/", "home"), older[0].id).liked
    as_another_instance()
    one = await hit(client, "/", "home")
    assert card_of(one, older[0].id).liked
    assert_own_tokens(one, token_two)

    for path, names in (("/user/bob", ("profile",)),
                        ("/explore", ("explore", "explore-aside"))):
        one = await miss(client, path, *names)
        assert_own_tokens(one, token_two)
        assert_own_tokens(await hit(second, path, *names), token_one)
        as_another_instance()
        two = await hit(second, path, *names)
        assert_own_tokens(two, token_one)
        assert fragment_of(two) == fragment_of(one)

    # the second session follows from the sidebar the first one rendered
    assert who_to_follow(two) == ["carol"]
    action, token = follow_form(two, "carol")
    assert token == token_two
    response = await second.post(action, form={"csrf_token": token})
    assert response.status_code == 302 and response.location == "/explore"
    assert await social.is_following(reader, carol)
    one = await miss(client, "/explore", "explore", "explore-aside")
    assert who_to_follow(one) == []
    assert_own_tokens(one, token_two)
    assert_own_tokens(await hit(second, "/explore", "explore", "explore-aside"), token_one)
    # the composer (an empty form kept per locale) and the page around the fragments too
    home = await miss(second, "/", "home")
    assert_own_tokens(home, token_one)
    present(re.search(r'<textarea[^>]*name="post"', home))


# --- what readers wrote ---------------------------------------------------------------------


async def test_text_that_looks_like_a_placeholder_is_shown_as_written(client):
    reader, bob = await people("reader", "bob")
    await social.follow(reader, bob)
    await posts_of(bob, *(f"bob says {n}" for n in range(4)))
    written = (f"my token is {rendering.CSRF_SLOT} (or @@CSRF@@) and I am at "
               f"{rendering.NEXT_SLOT} <!--splice-0-->")
    [odd] = await posts_of(bob, written)
    await login(client, "reader")
    _status, html = await page(client, f"/post/{odd.id}")
    assert str(escape(written)) in html  # its own page (no page cache) shows it as written
    shown = {}
    for path, names in (("/", ("home",)), ("/explore", ("explore", "explore-aside")),
                        ("/user/bob", ("profile",))):
        await miss(client, path, *names)
        html = await hit(client, path, *names)
        shown[path] = card_of(html, odd.id).body
    assert shown == dict.fromkeys(shown, written)
