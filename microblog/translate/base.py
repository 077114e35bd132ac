"""The `Translator` interface every translation service implements, and what they share: one
aiohttp session with timeouts, language-code mapping, the supported languages fetched once,
and one error type for every way a service can fail.

Language codes: ours are the ISO 639-1 codes the posts carry (py3langid's: `en`, `es`, `zh`,
`pt`...). Each service names some languages its own way (`zh-Hans`, `EN-US`); a provider maps
our code to its own from the list of languages the service itself publishes, so a code is
only ever sent when the service said it knows it.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from abc import ABC, abstractmethod
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, ClassVar

import aiohttp

from microblog.settings import Settings

log = logging.getLogger(__name__)

# how long the languages a service supports are trusted before they are asked again, and how
# long a failure to read them is remembered (so a down service is not asked on every click)
LANGUAGES_TTL = 24 * 3600.0
LANGUAGES_RETRY = 30.0
USER_AGENT = "microblog (+translation)"


class Failure(StrEnum):
    """Why a translation could not be made: the service decides, we explain."""

    AUTH = "auth"              # the key was refused
    QUOTA = "quota"            # the account's quota is used up
    BUSY = "busy"              # the service asks us to slow down
    TIMEOUT = "timeout"        # no answer in time
    UNREACHABLE = "unreachable"  # no connection
    ERROR = "error"            # the service failed (5xx)
    REFUSED = "refused"        # the service refused this request (another 4xx)
    MALFORMED = "malformed"    # an answer that is not what the protocol says


class TranslationFailed(Exception):
    """The one error a translator raises: `failure` says why (for people, in their language,
    by the service layer), `detail` what the service said (for the log)."""

    def __init__(self, provider: str, failure: Failure, detail: str = "",
                 status: int | None = None) -> None:
        super().__init__(f"{provider}: {failure.value}" + (f" (HTTP {status})" if status else "")
                         + (f": {detail}" if detail else ""))
        self.provider = provider
        self.failure = failure
        self.detail = detail
        self.status = status


@dataclass(frozen=True, slots=True)
class Translated:
    text: str
    source_language: str  # our code of the language the service translated from


def base_code(code: str) -> str:
    """`zh-Hans` → `zh`, `EN-US` → `en`, `pt_BR` → `pt`."""
    return code.replace("_", "-").split("-", 1)[0].lower()


def code_map(codes: Iterable[str], preferred: Mapping[str, Iterable[str]] = {}) -> dict[str, str]:
    """Our code → the service's, from the codes the service lists. `preferred` names, for some
    of our codes, the service's variants in order of preference (`zh`: `zh-Hans` before
    `zh-Hant`); otherwise the first listed code with that base wins, a plain one (`es`) first."""
    listed = list(codes)
    result: dict[str, str] = {}
    for code in sorted(listed, key=lambda c: ("-" in c or "_" in c, c)):
        result.setdefault(base_code(code), code)
    for ours, variants in preferred.items():
        available = [v for v in variants if v in listed]
        if available:
            result[ours] = available[0]
        elif ours in result and result[ours] not in variants and result[ours] != ours:
            del result[ours]  # only unwanted variants (zh-Hant for zh): not offered
    return result


@dataclass(frozen=True)
class Languages:
    """What a service translates, in its own codes, keyed by ours."""

    sources: dict[str, str]
    targets: dict[str, str]
    # our source → our targets, when the service does not translate every source to every target
    pairs: dict[str, frozenset[str]] | None = None

    def supports(self, source: str, target: str) -> bool:
        if source not in self.sources or target not in self.targets or source == target:
            return False
        return self.pairs is None or target in self.pairs.get(source, frozenset())


@dataclass
class _Cached:
    languages: Languages | None = None
    failure: TranslationFailed | None = None
    until: float = 0.0
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)


class Translator(ABC):
    """A translation service. `translate` and `languages` raise TranslationFailed for every
    failure (timeout, refusal, quota, a 5xx, an answer that is not the protocol's)."""

    name: ClassVar[str]   # the TRANSLATOR setting's value, and the API's `provider`
    title: ClassVar[str]  # the service's own name, shown to readers

    def __init__(self, settings: Settings, session: aiohttp.ClientSession) -> None:
        self.settings = settings
        self.session = session
        self._languages = _Cached()

    # --- what each service implements -------------------------------------------------------

    @abstractmethod
    async def fetch_languages(self) -> Languages:
        """Ask the service which languages it translates."""

    @abstractmethod
    async def request_translation(self, text: str, source: str, target: str) -> Translated:
        """Translate `text` from `source` to `target`, both the service's codes."""

    @abstractmethod
    def reason(self, body: Any) -> str:
        """The service's own explanation in an error answer's JSON body, or ""."""

    def failure_for(self, status: int) -> Failure:
        """What an HTTP error status means for this service."""
        if status in (401, 403):
            return Failure.AUTH
        if status == 429:
            return Failure.BUSY
        if status >= 500:
            return Failure.ERROR
        return Failure.REFUSED

    # --- the interface ----------------------------------------------------------------------

    async def languages(self) -> Languages:
        """The service's languages, asked once and kept for a day (a failure for 30 s)."""
        cached = self._languages
        if cached.until > time.monotonic():
            if cached.failure is not None:
                raise cached.failure
            assert cached.languages is not None
            return cached.languages
        async with cached.lock:  # one request however many readers ask at once
            if cached.until <= time.monotonic():
                try:
                    cached.languages, cached.failure = await self.fetch_languages(), None
                    cached.until = time.monotonic() + LANGUAGES_TTL
                except TranslationFailed as exc:
                    log.warning("translation: could not read %s's languages: %s", self.title, exc)
                    cached.failure = exc
                    cached.until = time.monotonic() + LANGUAGES_RETRY
        return await self.languages()

    def known_languages(self) -> Languages | None:
        """The service's languages when already read (never waits): pages use it to offer
        Translate only for pairs the service has."""
        cached = self._languages
        return cached.languages if cached.failure is None else None

    async def supports(self, source: str, target: str) -> bool:
        """Whether the service translates from `source` to `target` (our codes)."""
        return (await self.languages()).supports(source, target)

    async def translate(self, text: str, source: str, target: str) -> Translated:
        """`text` translated from `source` to `target` (our codes; call `supports` first)."""
        languages = await self.languages()
        if not languages.supports(source, target):
            raise TranslationFailed(self.name, Failure.REFUSED,
                                    f"{source} → {target} is not supported")
        return await self.request_translation(
            text, languages.sources[source], languages.targets[target])

    # --- HTTP -------------------------------------------------------------------------------

    async def call(self, method: str, url: str, **kwargs: Any) -> Any:
        """One request to the service; its JSON answer, or TranslationFailed."""
        try:
            async with self.session.request(method, url, **kwargs) as response:
                raw = await response.read()
                status = response.status
        except TimeoutError as exc:
            raise TranslationFailed(self.name, Failure.TIMEOUT,
                                    f"no answer in {self.settings.translator_timeout:g} s"
                                    ) from exc
        except aiohttp.ClientError as exc:
            raise TranslationFailed(self.name, Failure.UNREACHABLE, repr(exc)) from exc
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = None
            if status < 400:
                raise TranslationFailed(self.name, Failure.MALFORMED,
                                        f"not JSON: {raw[:80]!r}", status) from None
        if status >= 400:
            raise TranslationFailed(self.name, self.failure_for(status),
                                    self.reason(body) or raw[:200].decode("utf-8", "replace"),
                                    status)
        return body

    def malformed(self, body: Any) -> TranslationFailed:
        return TranslationFailed(self.name, Failure.MALFORMED,
                                 f"unexpected answer: {json.dumps(body)[:200]}")
