"""Page rendering: a synchronous Jinja environment and a cache of rendered post cards.

Quart renders with an async Jinja environment; our templates await nothing (everything is
loaded before rendering), and async rendering costs about a quarter more CPU per page, so
pages render through a synchronous overlay of the same environment (same loader, globals,
filters). Post cards, the bulk of every timeline page, are cached as HTML, in two parts:
the card (text, author, time, translate offer) keyed by everything it shows, and its action
bar keyed by the counts and the reader's state; the reader's CSRF token, the page's address
and the "reposted" line go into placeholders on each render.
"""

from __future__ import annotations

import re
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Iterable
from typing import Any
from urllib.parse import quote

from jinja2 import Environment
from markupsafe import Markup, escape
from quart import Quart, current_app, g, request, session, url_for

from microblog.i18n import get_locale
from microblog.realtime.rooms import author_room, post_room
from microblog.services import pagecache, translation
from microblog.text import rich_text
from microblog.web.client_strings import client_strings

CARD_CACHE_SIZE = 20_000
# in _post_card.html: where the per-reader parts go (never in escaped user text, where "<"
# is "&lt;"), and the values the cached action bar leaves out
REPOSTED_SLOT = "<!--post-reposted-->"
ACTIONS_SLOT = "<!--post-actions-->"
# raw "<": never in what users write, which is always escaped ("&lt;") before it gets here
CSRF_SLOT = "<!--csrf-->"
NEXT_SLOT = "<!--next-->"
_READER_SLOT = re.compile(f"{CSRF_SLOT}|{NEXT_SLOT}")


class CardCache:
    """A bounded LRU of rendered post cards (or their parts), per process."""

    def __init__(self, size: int = CARD_CACHE_SIZE) -> None:
        self.size = size
        self._cards: OrderedDict[tuple[Any, ...], Any] = OrderedDict()

    def get(self, key: tuple[Any, ...]) -> Any:
        card = self._cards.get(key)
        if card is not None:
            self._cards.move_to_end(key)
        return card

    def put(self, key: tuple[Any, ...], card: Any) -> None:
        self._cards[key] = card
        if len(self._cards) > self.size:
            self._cards.popitem(last=False)

    def clear(self) -> None:
        self._cards.clear()


def _card_parts(html: str) -> tuple[str, str, str]:
    """A rendered card cut at its two slots: before the "reposted" line, between it and the
    action bar, after the bar (plain str: Markup's methods escape their arguments)."""
    head, rest = str(html).split(REPOSTED_SLOT, 1)
    middle, tail = rest.split(ACTIONS_SLOT, 1)
    return head, middle, tail


def _bar_template(html: str) -> str:
    """A rendered action bar as a format string taking the CSRF token and `next`."""
    return (str(html).replace("{", "{{").replace("}", "}}")
            .replace(CSRF_SLOT, "{0}").replace(NEXT_SLOT, "{1}"))


# signed CSRF tokens by the session's secret: signing one (itsdangerous) took a tenth of a
# cached page's time, and with no time limit (WTF_CSRF_TIME_LIMIT) a signed token stays valid
# for as long as its secret, which a new sign-in replaces
_signed_tokens = CardCache(CARD_CACHE_SIZE)


def csrf_token() -> str:
    """The reader's CSRF token (quart-wtf's, signed once per session secret and process);
    CSRF_SLOT while a shared fragment is rendered."""
    if g.get("csrf_slot"):
        return Markup(CSRF_SLOT)  # noqa: S704 - a constant, raw: escaped, it would read like text
    token = g.get("csrf_token")
    if token is not None:
        return str(token)
    from quart_wtf.csrf import generate_csrf

    secret = session.get("csrf_token")
    token = _signed_tokens.get((secret,)) if isinstance(secret, str) else None
    if token is None:
        token = str(generate_csrf())  # makes the secret when the session has none
        _signed_tokens.put((session["csrf_token"],), token)
    g.csrf_token = token
    return token


def install(app: Quart) -> None:
    app.jinja_env.globals["csrf_token"] = csrf_token  # instead of quart-wtf's generate_csrf
    env = app.jinja_env.overlay(enable_async=False)
    cards = CardCache()
    bars = CardCache()
    app.extensions["sync_jinja"] = env
    app.extensions["card_cache"] = cards
    app.extensions["card_bar_cache"] = bars

    macros: Any = None

    def post_card(post: Any, link: bool = True, highlight: Markup | None = None) -> Markup:
        """`highlight`: a search hit's body (escaped HTML with <mark>s) shown instead of the
        body; such a card is per query, so it is rendered every time, not cached."""
        nonlocal macros
        if macros is None:
            macros = env.get_template("_post_card.html").module
        author = post.author
        viewer, token, here, locale, offer = _reader()
        # the macros' output is already escaped by the autoescaping environment
        if highlight is not None:
            parts = _card_parts(macros.post_card(post, link, highlight))
        else:
            # everything the card shows: an edit, a renamed author or another locale is
            # another card (the body and time too: ids are reused after a restore or a
            # truncated table, as in the tests)
            key = (post.id, post.body, post.created_at, post.edited_at, author.username,
                   author.email, locale, link, offer)
            parts = cards.get(key)
            if parts is None:
                parts = _card_parts(macros.post_card(post, link))
                cards.put(key, parts)
        # the action bar: the counts and what this reader did, nothing else
        mine = viewer is not None and viewer.id == author.id
        bar_key = (post.id, getattr(post, "like_count", 0), getattr(post, "repost_count", 0),
                   getattr(post, "comment_count", 0), getattr(post, "liked", False),
                   getattr(post, "reposted", False), viewer is not None, mine, locale)
        bar = bars.get(bar_key)
        if bar is None:
            bar = _bar_template(macros.post_actions(post, viewer is not None, mine))
            bars.put(bar_key, bar)
        by = getattr(post, "reposted_by", None)
        line = "" if by is None else str(macros.repost_line(
            post, viewer.id if viewer is not None else None))
        head, middle, tail = parts
        return Markup(f"{head}{line}{middle}{bar.format(token, here)}{tail}")  # noqa: S704

    env.globals["post_card"] = post_card
    env.globals["navbar"] = navbar
    env.globals["static_url"] = static_url
    env.globals["client_strings"] = client_strings
    # a post's or comment's text with links, @mentions and #tags as links (escaped)
    env.filters["rich"] = lambda text: rich_text(
        text, lambda name: url_for("main.user", username=name),
        lambda tag: url_for("main.tag", name=tag))
    # the Translate link: offered when a translator is configured and the text's language is
    # not the reader's (the card cache key carries both)
    env.globals["can_translate"] = lambda language: translation.offered(language, get_locale())


def _reader() -> tuple[Any, str, str, str, Any]:
    """What a page's cards share, worked out once per page: the reader (or None), their CSRF
    token, the page's address as a `next` parameter, the locale and the translate offer."""
    found = g.get("card_reader")
    if found is None:
        from microblog.web.common import current_user

        viewer = current_user()
        here = quote(request.full_path.rstrip("?"), safe="/")
        found = (viewer, csrf_token() if viewer is not None else "", here,
                 get_locale(), translation.offer_key())
        g.card_reader = found
    return found  # type: ignore[no-any-return]


def _fill(html: str) -> bytes:
    """A fragment rendered with the slots, for this reader (their CSRF token, this address),
    encoded for the response."""
    _viewer, token, here, _locale, _offer = _reader()
    values = {CSRF_SLOT: token, NEXT_SLOT: here}
    return _READER_SLOT.sub(lambda m: values[m.group()], html).encode()


class Spliced:
    """A part of a page that is already encoded (a cached fragment, tens of kilobytes): the
    template shows a marker, and `render` puts the bytes in its place in the encoded page.
    Passing it through Jinja would copy it several times (escaping, joining, encoding: a
    third of a cached page's time, more when an emoji makes Python store four bytes per
    character)."""

    def __init__(self, data: bytes) -> None:
        splices = g.get("splices")
        if splices is None:
            splices = g.splices = {}
        self.marker = f"<!--splice-{len(splices)}-->"  # raw "<": no user text reads so
        splices[self.marker.encode()] = data

    def __html__(self) -> str:
        return self.marker


def feed_rooms(items: Iterable[Any]) -> list[str]:
    """What the cards of a page show, as rooms (services/pagecache.py): each post (counts,
    text, deletion) and its author and reposter (names, avatars)."""
    rooms: list[str] = []
    for post in items:
        rooms += (post_room(post.id), author_room(post.author.id))
        by = getattr(post, "reposted_by", None)
        if by is not None:
            rooms.append(author_room(by.id))
    return rooms


# (context of main/_feed.html, the rooms it shows, or None when it must not be kept)
FeedLoad = Callable[[], Awaitable[tuple[dict[str, Any], list[str] | None]]]


# fragments this process has: key -> (clock, html with the slots, the last reader's (token,
# address), the html filled in for them, until when it may be used: a fragment's ttl also
# bounds what no room stamps, like trending tags). Redis says whether a copy is current
# without sending it again, and a reader reloading a page gets the very same string.
FRAGMENT_COPIES = 256
_copies = CardCache(FRAGMENT_COPIES)


async def fragment(page: str, variant: tuple[object, ...], ttl: int, load: FeedLoad,
                   cached: bool = True, template: str = "main/_feed.html") -> Spliced:
    """A part of a page (a timeline's page: main/_feed.html); when `cached` (a first page),
    from the page cache, or loaded, rendered and kept there if `load` names the rooms it
    shows. Kept with the CSRF and `next` slots in place of the reader's values, which every
    answer fills in."""
    viewer, token, here, locale, offer = _reader()
    key = pagecache.fragment_key(page, *variant, locale, *offer)
    copy = _copies.get((key,)) if cached else None
    if copy is not None and copy[4] < time.monotonic():
        copy = None
    found = await pagecache.get(page, key, copy[0] if copy else None) if cached else None
    if found is not None:
        clock, html = found
        if html is None and copy is not None:  # ours is current
            if copy[2] == (token, here):
                return Spliced(copy[3])
            html = copy[1]
        filled = _fill(html)  # type: ignore[arg-type]
        until = copy[4] if copy is not None and html is copy[1] else time.monotonic() + ttl
        _copies.put((key,), (clock, html, (token, here), filled, until))
        return Spliced(filled)
    read_at = await pagecache.clock()  # before the data: see services/pagecache.py
    context, rooms = await load()
    g.card_reader = (viewer, CSRF_SLOT, NEXT_SLOT, locale, offer)
    g.csrf_slot = True
    try:
        html = sync_env().get_template(template).render(
            {"request": request, "g": g, "me": viewer, "pager_args": {}, "suggested": (),
             **context})
    finally:
        g.card_reader = (viewer, token, here, locale, offer)
        g.csrf_slot = False
    filled = _fill(html)
    if rooms is not None and cached and read_at is not None \
            and await pagecache.put(key, read_at, rooms, html, ttl):
        _copies.put((key,), (read_at, html, (token, here), filled, time.monotonic() + ttl))
    return Spliced(filled)


_blank_forms: dict[tuple[str, str], str] = {}


async def blank_form(template: str, macro: str, form_class: Any) -> Spliced:
    """An empty form as `macro` of `template` renders it, rendered once per locale and
    process: only the CSRF token differs between readers (no WTForms on each GET)."""
    locale = get_locale()
    html = _blank_forms.get((template, locale))
    if html is None:
        form = await form_class.create_form()
        rendered = str(getattr(sync_env().get_template(template).module, macro)(form))
        html = _blank_forms[(template, locale)] = rendered.replace(
            csrf_token(), CSRF_SLOT)
    return Spliced(_fill(html))


NAV_SLOTS = ("NAME", "USER_URL", "MESSAGES", "MESSAGES_HIDDEN", "BELL", "BELL_HIDDEN", "CSRF",
             "HERE")
_NAV_SLOT = re.compile(f"@@({'|'.join(NAV_SLOTS)})@@")
_navs: dict[tuple[str, bool, str], str] = {}


def navbar() -> Markup:
    """The navigation bar (_nav.html), rendered once per locale, signed-in state and active
    section, its slots filled for this reader: some thirty translated strings and addresses
    are the same for everyone."""
    from microblog.web.common import current_user

    me = current_user()
    endpoint = request.endpoint
    active = "home" if endpoint == "main.index" else "explore" if endpoint == "main.explore" \
        else "messages" if request.blueprint == "messages" else ""
    key = (get_locale(), me is not None, active)
    html = _navs.get(key)
    if html is None:
        slots = {name.lower(): f"@@{name}@@" for name in NAV_SLOTS}
        html = _navs[key] = sync_env().get_template("_nav.html").render({
            "request": request, "signed_in": me is not None, "active": active,
            "username": slots["name"], "user_url": slots["user_url"],
            "messages_count": slots["messages"], "messages_hidden": slots["messages_hidden"],
            "bell_count": slots["bell"], "bell_hidden": slots["bell_hidden"],
            "csrf": slots["csrf"], "here": slots["here"]})
    values = {"CSRF": csrf_token(), "HERE": str(escape(request.full_path.rstrip("?")))}
    if me is not None:
        values.update(
            NAME=str(escape(me.username)),
            USER_URL=str(escape(url_for("main.user", username=me.username))),
            MESSAGES=str(me.unread_messages), BELL=str(me.unread_notifications),
            MESSAGES_HIDDEN="" if me.unread_messages else " d-none",
            BELL_HIDDEN="" if me.unread_notifications else " d-none")
    return Markup(_NAV_SLOT.sub(lambda m: values[m.group(1)], html))  # noqa: S704


_static_urls: dict[tuple[str, str], str] = {}


def static_url(filename: str) -> str:
    """url_for('static', filename=...), worked out once per file (every page links a dozen)."""
    key = (request.root_path, filename)
    found = _static_urls.get(key)
    if found is None:
        found = _static_urls[key] = url_for("static", filename=filename)
    return found


def sync_env() -> Environment:
    return current_app.extensions["sync_jinja"]  # type: ignore[no-any-return]


async def render(name: str, **context: Any) -> bytes:
    """Render a page template, encoded (with its `Spliced` parts in place). The context every
    page needs is added here, without the thread-pool hop Quart makes for each synchronous
    context processor."""
    from microblog.web.common import current_user

    context.setdefault("request", request)
    context.setdefault("g", g)
    context.setdefault("me", current_user())
    context.setdefault("settings", current_app.extensions["settings"])
    context.setdefault("translator_name", translation.provider_title())
    page = sync_env().get_template(name).render(context).encode()
    for marker, data in (g.pop("splices", None) or {}).items():
        page = page.replace(marker, data, 1)
    return page
