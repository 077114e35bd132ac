"""Page rendering: a synchronous Jinja environment and a cache of rendered post cards.

Quart renders with an async Jinja environment; our templates await nothing (everything is
loaded before rendering), and async rendering costs about a quarter more CPU per page, so
pages render through a synchronous overlay of the same environment (same loader, globals,
filters). Post cards, the bulk of every timeline page, are cached as HTML: a post never
changes after it is written, so a card is keyed by everything it shows.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

from jinja2 import Environment
from markupsafe import Markup
from quart import Quart, current_app, g, request

from microblog.i18n import get_locale
from microblog.services import translation

CARD_CACHE_SIZE = 20_000


class CardCache:
    """A bounded LRU of rendered post cards, per process."""

    def __init__(self, size: int = CARD_CACHE_SIZE) -> None:
        self.size = size
        self._cards: OrderedDict[tuple[Any, ...], Markup] = OrderedDict()

    def get(self, key: tuple[Any, ...]) -> Markup | None:
        card = self._cards.get(key)
        if card is not None:
            self._cards.move_to_end(key)
        return card

    def put(self, key: tuple[Any, ...], card: Markup) -> None:
        self._cards[key] = card
        if len(self._cards) > self.size:
            self._cards.popitem(last=False)

    def clear(self) -> None:
        self._cards.clear()


def install(app: Quart) -> None:
    env = app.jinja_env.overlay(enable_async=False)
    cards = CardCache()
    app.extensions["sync_jinja"] = env
    app.extensions["card_cache"] = cards

    card_macro = None

    def post_card(post: Any, link: bool = True, highlight: Markup | None = None) -> Markup:
        """`highlight`: a search hit's body (escaped HTML with <mark>s) shown instead of the
        body; such a card is per query, so it is rendered every time, not cached."""
        nonlocal card_macro
        if card_macro is None:
            card_macro = env.get_template("_post_card.html").module.post_card  # type: ignore[attr-defined]
        if highlight is not None:
            return Markup(card_macro(post, link, highlight))  # noqa: S704
        author = post.author
        # everything the card shows: a renamed author or another locale is another card (the
        # body too: ids are reused after a restore or a truncated table, as in the tests)
        key = (post.id, post.body, author.username, author.email, get_locale(), link,
               translation.offer_key())
        card = cards.get(key)
        if card is None:
            # the macro's output is already escaped by the autoescaping environment
            card = Markup(card_macro(post, link))  # noqa: S704
            cards.put(key, card)
        return card

    env.globals["post_card"] = post_card
    # the Translate link: offered when a translator is configured and the text's language is
    # not the reader's (the card cache key carries both)
    env.globals["can_translate"] = lambda language: translation.offered(language, get_locale())


def sync_env() -> Environment:
    return current_app.extensions["sync_jinja"]  # type: ignore[no-any-return]


async def render(name: str, **context: Any) -> str:
    """Render a page template. The context every page needs is added here, without the
    thread-pool hop Quart makes for each synchronous context processor."""
    from microblog.web.common import current_user

    context.setdefault("request", request)
    context.setdefault("g", g)
    context.setdefault("me", current_user())
    context.setdefault("settings", current_app.extensions["settings"])
    context.setdefault("translator_name", translation.provider_title())
    return sync_env().get_template(name).render(context)
