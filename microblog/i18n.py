"""Babel translations, selected per request, socket event or job through a context variable.

A context variable (not Quart's request) carries the locale so the same
`gettext` works in pages, API handlers, Socket.IO handlers and SAQ jobs.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from functools import cache
from typing import Any

from babel import Locale
from babel.dates import format_datetime as _format_datetime
from babel.dates import format_timedelta
from babel.support import LazyProxy, NullTranslations, Translations

from microblog.settings import ROOT

TRANSLATIONS_DIR = ROOT / "translations"
DEFAULT_LOCALE = "en"
LANGUAGE_NAMES = {"en": "English", "es": "Español", "zh": "中文"}

_current: ContextVar[str] = ContextVar("microblog_locale", default=DEFAULT_LOCALE)


@cache
def translations(locale: str) -> NullTranslations:
    if locale == DEFAULT_LOCALE:
        return NullTranslations()
    return Translations.load(str(TRANSLATIONS_DIR), [locale], domain="messages")


def get_locale() -> str:
    return _current.get()


def set_locale(locale: str) -> None:
    _current.set(locale)


@contextmanager
def locale_context(locale: str | None) -> Iterator[None]:
    token = _current.set(locale or DEFAULT_LOCALE)
    try:
        yield
    finally:
        _current.reset(token)


def gettext(message: str, **variables: Any) -> str:
    text = translations(_current.get()).ugettext(message)
    return text % variables if variables else text


def ngettext(singular: str, plural: str, num: int, **variables: Any) -> str:
    variables.setdefault("num", num)
    text = translations(_current.get()).ungettext(singular, plural, num)
    return text % variables


def template_ngettext(singular: str, plural: str, num: int) -> str:
    """For Jinja's newstyle gettext, which formats the result itself (with `num` and the
    template's variables): translate only, or a second `%(name)s` would raise KeyError."""
    return str(translations(_current.get()).ungettext(singular, plural, num))


def lazy_gettext(message: str, **variables: Any) -> LazyProxy:
    return LazyProxy(gettext, message, enable_cache=False, **variables)


def best_locale(accept_language: str | None, supported: Sequence[str]) -> str:
    """The best supported locale for an Accept-Language header (q-values honoured)."""
    if not accept_language:
        return DEFAULT_LOCALE
    choices: list[tuple[float, int, str]] = []
    for index, part in enumerate(accept_language.split(",")):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                quality = 0.0
        if tag:
            choices.append((-quality, index, tag.strip().lower()))
    for quality, _, tag in sorted(choices):
        if quality >= 0:
            continue
        primary = tag.split("-")[0]
        if primary in supported:
            return primary
    return DEFAULT_LOCALE


def choose_locale(user_choice: str | None, cookie_choice: str | None,
                  accept_language: str | None, supported: Sequence[str]) -> str:
    """The user's stored choice, then the signed-out visitor's cookie, then Accept-Language."""
    for choice in (user_choice, cookie_choice):
        if choice and choice in supported:
            return choice
    return best_locale(accept_language, supported)


def language_name(code: str) -> str:
    """The name of a language (an ISO 639 code) in the current locale: `es` → "Spanish",
    "español" or "西班牙语"; the code itself when Babel does not know it."""
    name = Locale.parse(get_locale()).languages.get(code.replace("-", "_").split("_")[0])
    return name or code


def format_datetime(value: Any, format: str = "medium") -> str:  # noqa: A002
    return _format_datetime(value, format=format, locale=Locale.parse(get_locale()))


def format_ago(value: Any, now: Any) -> str:
    return format_timedelta(value - now, add_direction=True, locale=Locale.parse(get_locale()))
