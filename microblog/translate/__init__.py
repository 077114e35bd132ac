"""Translation of posts and comments by a translation service, chosen by TRANSLATOR:
Microsoft Translator, DeepL or LibreTranslate, each behind the one `Translator` interface.

The app opens the configured translator at start (`start`) and closes it at the end
(`close`); `current()` is it, or None when translation is off. One aiohttp session with the
TRANSLATOR_TIMEOUT serves every request of the process.
"""

from __future__ import annotations

import asyncio
import contextlib

import aiohttp

from microblog import logs
from microblog.settings import Settings
from microblog.translate.base import (
    Failure,
    Languages,
    Translated,
    TranslationFailed,
    Translator,
    base_code,
)
from microblog.translate.deepl import DeepLTranslator
from microblog.translate.libretranslate import LibreTranslateTranslator
from microblog.translate.microsoft import MicrosoftTranslator

__all__ = ["PROVIDERS", "Failure", "Languages", "Translated", "TranslationFailed",
           "Translator", "base_code", "close", "current", "open_translator", "start", "use"]

PROVIDERS: dict[str, type[Translator]] = {
    provider.name: provider
    for provider in (MicrosoftTranslator, DeepLTranslator, LibreTranslateTranslator)
}

_current: Translator | None = None
_warming: asyncio.Task[None] | None = None


def open_translator(settings: Settings) -> Translator | None:
    """The translator `settings` configure, with its own HTTP session (inside a running event
    loop); None when TRANSLATOR is unset."""
    if settings.translator is None:
        return None
    for secret in (settings.ms_translator_key, settings.deepl_api_key,
                   settings.libretranslate_api_key):
        logs.register_secret(secret)  # never in a log line, whoever logs it
    timeout = aiohttp.ClientTimeout(total=settings.translator_timeout,
                                    connect=min(5.0, settings.translator_timeout))
    session = aiohttp.ClientSession(
        timeout=timeout, raise_for_status=False,
        headers={"User-Agent": "microblog", "Accept": "application/json"},
        connector=aiohttp.TCPConnector(limit=64, ttl_dns_cache=300))
    return PROVIDERS[settings.translator](settings, session)


async def start(settings: Settings) -> Translator | None:
    """Open the configured translator and read its languages in the background (a service
    that is down then only costs a log line; readers are told when they ask)."""
    global _warming
    translator = use(open_translator(settings))
    if translator is not None:
        _warming = asyncio.create_task(_warm(translator))
    return translator


async def _warm(translator: Translator) -> None:
    with contextlib.suppress(TranslationFailed):
        await translator.languages()


def use(translator: Translator | None) -> Translator | None:
    """Make `translator` the process's (tests switch providers this way); returns it."""
    global _current
    _current = translator
    return translator


def current() -> Translator | None:
    return _current


async def close() -> None:
    global _current, _warming
    if _warming is not None:
        _warming.cancel()
        _warming = None
    translator, _current = _current, None
    if translator is not None:
        await translator.session.close()
