"""Translating posts and comments for their readers, on request.

A translation is made once per (post or comment, body, target language) and kept in the
`translations` table for good: asking again, from any instance, after a restart, reads it
back. A body is identified by its SHA-256 (computed by PostgreSQL in the same query that
reads the post), so an edited post is translated again. When many readers ask for the same
translation at once, the service is called once: readers in this process share one task, and
instances share a Redis lock (the others wait for the row, or for the failure, to appear).
Calls to the service are rate limited per reader (`ratelimit.TRANSLATIONS`); cache hits are
free.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from hashlib import sha256
from typing import Any, Literal

from tortoise import connections
from tortoise.exceptions import IntegrityError

from microblog import metrics, ratelimit, translate
from microblog.errors import NotFound, RateLimited, Unavailable, Unprocessable, ValidationFailed
from microblog.i18n import gettext as _
from microblog.i18n import language_name
from microblog.infra import resources
from microblog.models import User
from microblog.services.posts import detect_language
from microblog.translate import Failure, TranslationFailed, Translator, base_code

log = logging.getLogger(__name__)

Kind = Literal["post", "comment"]
LANGUAGE_RE = re.compile(r"[A-Za-z]{2,3}(?:[-_][A-Za-z0-9]{2,8})?")
# how long readers on other instances wait for the one call beyond the service's timeout,
# and how long a failure is shared with readers who were waiting for it
WAIT_MARGIN = 5.0
FAILURE_SHARED_MS = 3000
DONE_MS = 30_000


@dataclass(frozen=True, slots=True)
class TranslationView:
    id: int
    kind: Kind
    language: str  # the target
    source_language: str
    body: str
    provider: str

    @property
    def provider_title(self) -> str:
        provider = translate.PROVIDERS.get(self.provider)
        return provider.title if provider else self.provider


# --- what pages ask ------------------------------------------------------------------------


def enabled() -> bool:
    return translate.current() is not None


def provider_title() -> str | None:
    translator = translate.current()
    return translator.title if translator else None


def offered(language: str | None, locale: str) -> bool:
    """Whether a reader in `locale` is offered a translation of text in `language`: a
    translator is configured, the languages differ (an unknown one: not offered) and, once
    the service's languages are known, it translates between them."""
    translator = translate.current()
    if translator is None or not language:
        return False
    source, target = base_code(language), base_code(locale)
    if source == target:
        return False
    known = translator.known_languages()
    return known is None or known.supports(source, target)


def offer_key() -> tuple[str | None, bool]:
    """What `offered` depends on besides the languages: cached post cards carry it."""
    translator = translate.current()
    if translator is None:
        return None, False
    return translator.title, translator.known_languages() is not None


def clean_target(lang: str | None, default: str) -> str:
    """Our code for the requested language (`pt-BR` → `pt`); `default` when none."""
    if lang is None or not lang.strip():
        return base_code(default)
    if not LANGUAGE_RE.fullmatch(lang.strip()):
        raise ValidationFailed({"lang": _(
            "lang must be a language code such as en, es or zh.")})
    return base_code(lang.strip())


# --- translating ---------------------------------------------------------------------------

# One round trip reads the text, its language and, when it was already translated to the
# target, the translation: PostgreSQL hashes the current body as Python does (UTF-8, hex).
_LOOKUP = """
SELECT s.body, s.language, encode(sha256(convert_to(s.body, 'UTF8')), 'hex') AS body_hash,
       t.body AS translated, t.source_language, t.provider
FROM {table} s
LEFT JOIN translations t
  ON t.{column} = s.id AND t.target = $2
 AND t.body_hash = encode(sha256(convert_to(s.body, 'UTF8')), 'hex')
WHERE s.id = $1
"""
_STORE = """
INSERT INTO translations ({column}, body_hash, target, source_language, provider, body)
VALUES ($1, $2, $3, $4, $5, $6)
ON CONFLICT DO NOTHING
"""
_TABLES: dict[Kind, tuple[str, str]] = {"post": ("posts", "post_id"),
                                        "comment": ("comments", "comment_id")}


def body_hash(text: str) -> str:
    return sha256(text.encode("utf-8")).hexdigest()


async def translate_post(user: User, post_id: int, target: str) -> TranslationView:
    """`target`: our language code (clean_target)."""
    return await _translate(user, "post", post_id, target)


async def translate_comment(user: User, comment_id: int, target: str) -> TranslationView:
    return await _translate(user, "comment", comment_id, target)


async def _lookup(kind: Kind, item_id: int, target: str) -> dict[str, Any] | None:
    table, column = _TABLES[kind]
    rows = await connections.get("default").execute_query_dict(
        _LOOKUP.format(table=table, column=column), [item_id, target])
    return rows[0] if rows else None


def _view(kind: Kind, item_id: int, target: str, row: dict[str, Any]) -> TranslationView:
    return TranslationView(item_id, kind, target, row["source_language"], row["translated"],
                           row["provider"])


async def _translate(user: User, kind: Kind, item_id: int, target: str) -> TranslationView:
    translator = translate.current()
    if translator is None:
        raise NotFound(_("Translation is not available on this site."))
    row = await _lookup(kind, item_id, target)
    if row is None:
        raise NotFound(_("No such post.") if kind == "post" else _("No such comment."))
    provider = translator.name
    if row["translated"] is not None:
        metrics.translation(provider, "cached")
        return _view(kind, item_id, target, row)
    # comments written before languages were detected for them have none yet
    source = base_code(row["language"] or detect_language(row["body"]))
    if not source:
        metrics.translation(provider, "unsupported")
        raise Unprocessable(_("The language of this text is not known, so it cannot be "
                              "translated."))
    if source == target:
        metrics.translation(provider, "same_language")
        raise Unprocessable(_("This is already in %(language)s.",
                              language=language_name(target)))
    try:
        supported = await translator.supports(source, target)
    except TranslationFailed as exc:
        raise _unavailable(translator, exc) from None
    if not supported:
        metrics.translation(provider, "unsupported")
        raise Unprocessable(_(
            "%(service)s cannot translate from %(source)s to %(target)s.",
            service=translator.title, source=language_name(source),
            target=language_name(target)))
    try:
        await ratelimit.enforce(ratelimit.TRANSLATIONS, "translations", user.id, message=_(
            "You are translating too fast. Wait a minute and try again."))
    except RateLimited:
        metrics.translation(provider, "rate_limited")
        raise

    digest = row["body_hash"]
    key = f"{kind}:{item_id}:{digest}:{target}"

    async def load() -> TranslationView | None:
        found = await _lookup(kind, item_id, target)
        if found is None:
            raise NotFound(_("No such post.") if kind == "post" else _("No such comment."))
        # the body changed while we waited: its translation is another key's business
        return _view(kind, item_id, target, found) if found["translated"] is not None else None

    async def produce() -> TranslationView:
        started = time.perf_counter()
        try:
            result = await translator.translate(row["body"], source, target)
        finally:
            metrics.translation_call(provider, time.perf_counter() - started)
        _table, column = _TABLES[kind]
        try:
            await connections.get("default").execute_query(
                _STORE.format(column=column),
                [item_id, digest, target, source, provider, result.text])
        except IntegrityError:  # deleted while it was being translated
            raise NotFound(_("No such post.") if kind == "post"
                           else _("No such comment.")) from None
        return TranslationView(item_id, kind, target, source, result.text, provider)

    try:
        view, outcome = await _once(key, translator, load, produce)
    except TranslationFailed as exc:
        raise _unavailable(translator, exc) from None
    metrics.translation(provider, outcome)
    return view


def _unavailable(translator: Translator, exc: TranslationFailed) -> Unavailable:
    metrics.translation(translator.name, "failed")
    log.warning("translation failed: %s", exc)
    service = translator.title
    reasons = {
        Failure.AUTH: _("%(service)s refused this site's key.", service=service),
        Failure.QUOTA: _("This site's %(service)s quota is used up.", service=service),
        Failure.BUSY: _("%(service)s asks us to slow down; try again in a minute.",
                        service=service),
        Failure.TIMEOUT: _("%(service)s did not answer in time.", service=service),
        Failure.UNREACHABLE: _("%(service)s cannot be reached.", service=service),
        Failure.ERROR: _("%(service)s failed.", service=service),
        Failure.REFUSED: _("%(service)s refused the request.", service=service),
        Failure.MALFORMED: _("%(service)s sent an answer that could not be read.",
                             service=service),
    }
    return Unavailable(_("Translation is unavailable right now.") + " " + reasons[exc.failure])


# --- one call per translation --------------------------------------------------------------

_running: dict[str, asyncio.Task[TranslationView]] = {}

# delete the lock only if it is still ours (it may have expired and been taken by another)
_RELEASE = """
if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end
return 0
"""

Loader = Callable[[], Awaitable[TranslationView | None]]
Producer = Callable[[], Awaitable[TranslationView]]


async def _once(key: str, translator: Translator, load: Loader, produce: Producer
                ) -> tuple[TranslationView, str]:
    """The translation for `key` and how it was had: "translated" (this reader's request
    called the service) or "shared" (another reader's call, here or on another instance)."""
    task = _running.get(key)
    if task is not None:
        return await asyncio.shield(task), "shared"
    made: list[bool] = []

    async def run() -> TranslationView:
        view, called = await _across_instances(key, translator, load, produce)
        made.append(called)
        return view

    task = asyncio.ensure_future(run())
    _running[key] = task

    def done(finished: asyncio.Task[TranslationView]) -> None:
        _running.pop(key, None)
        if not finished.cancelled():
            finished.exception()  # retrieved: readers who left do not leave it unlogged

    task.add_done_callback(done)
    view = await asyncio.shield(task)
    return view, "translated" if made and made[0] else "shared"


async def _across_instances(key: str, translator: Translator, load: Loader, produce: Producer
                            ) -> tuple[TranslationView, bool]:
    """Call the service unless another instance is already doing it for `key`; then wait for
    its row (or its failure). Returns the view and whether this call made it."""
    redis = resources.redis
    if redis is None:
        return await produce(), True
    lock = resources.key("translation", "lock", key)
    done = resources.key("translation", "done", key)
    token = secrets.token_hex(8)
    wait = translator.settings.translator_timeout + WAIT_MARGIN
    deadline = time.monotonic() + wait
    pause = 0.01
    while True:
        if await redis.set(lock, token, nx=True, px=int(wait * 1000)):
            try:
                await redis.delete(done)  # an earlier attempt's outcome is not this one's
                earlier = await load()  # finished between our cache miss and the lock
                if earlier is not None:
                    return earlier, False
                try:
                    view = await produce()
                except TranslationFailed as exc:
                    await redis.set(done, json.dumps({"failure": exc.failure.value,
                                                      "detail": exc.detail,
                                                      "status": exc.status}),
                                    px=FAILURE_SHARED_MS)
                    raise
                await redis.set(done, "ok", px=DONE_MS)
                return view, True
            finally:
                await redis.eval(_RELEASE, 1, lock, token)  # type: ignore[misc]
        state = await redis.get(done)
        if state == "ok":
            theirs = await load()
            if theirs is not None:
                return theirs, False
        elif state:
            shared = json.loads(state)
            raise TranslationFailed(translator.name, Failure(shared["failure"]),
                                    shared["detail"], shared["status"])
        if time.monotonic() > deadline:
            raise TranslationFailed(translator.name, Failure.TIMEOUT,
                                    "another instance's translation did not finish")
        await asyncio.sleep(pause)
        pause = min(pause * 2, 0.2)
