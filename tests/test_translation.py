"""Translation through each service's real protocol, against stand-ins on loopback that record
every request: the exact requests, the answer shown, one call per (post, body, language),
every failure a 503 with a reason and nothing stored, 422s, 404s, 429, metrics, redaction."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest

from microblog import logs, metrics, ratelimit, translate
from microblog.models import Comment, Post, Translation, User
from microblog.services import posts as post_service
from microblog.services import translation as translation_service
from microblog.settings import Settings
from microblog.testing_translators import STANDINS, StandIn, settings_for
from tests.helpers import make_user
from tests.test_api import token_for

SPANISH = "Hoy fuimos a la playa con los niños y comimos paella."
ENGLISH = "We went to the beach today and had a lovely picnic."
CHINESE = "我们今天去北京大学看朋友，天气很好。"


@pytest.fixture(params=sorted(STANDINS))
async def standin(request: Any, app: Any, settings: Settings) -> AsyncIterator[StandIn]:
    """A stand-in for one service, and the running app's translator pointed at it."""
    async with STANDINS[request.param]() as service:
        yield service


async def use_translator(settings: Settings, service: StandIn, **changes: Any
                         ) -> translate.Translator:
    translator = translate.open_translator(settings.with_(**{**settings_for(service), **changes}))
    assert translator is not None
    translate.use(translator)
    return translator


@pytest.fixture
async def translator(standin: StandIn, settings: Settings) -> AsyncIterator[Any]:
    translator = await use_translator(settings, standin)
    yield translator
    translate.use(None)
    await translator.session.close()


@pytest.fixture
async def people(client: Any) -> dict[str, Any]:
    """ana writes; ben reads (English interface) with a token."""
    ana, ben = await make_user("ana"), await make_user("ben")
    return {"ana": ana, "ben": ben, "ben_headers": await token_for(client, "ben"),
            "ana_headers": await token_for(client, "ana")}


async def ask(client: Any, headers: dict[str, str], post_id: int, lang: str | None = None,
              kind: str = "posts") -> tuple[int, Any]:
    response = await client.post(f"/api/{kind}/{post_id}/translate",
                                 json={} if lang is None else {"lang": lang}, headers=headers)
    return response.status_code, await response.get_json()


def expected_request(service: StandIn, text: str, source: str, target: str) -> None:
    """The last translate request is exactly the service's protocol for (text, source,
    target) in our codes."""
    call = service.translate_calls()[-1]
    if service.provider == "microsoft":
        codes = {"en": "en", "es": "es", "zh": "zh-Hans"}
        assert call.method == "POST" and call.path == "/translate"
        assert call.query == {"api-version": "3.0", "from": codes[source], "to": codes[target]}
        assert call.headers["ocp-apim-subscription-key"] == service.key
        assert call.headers["ocp-apim-subscription-region"] == "westeurope"
        assert call.json == [{"Text": text}]
    elif service.provider == "deepl":
        sources = {"en": "EN", "es": "ES", "zh": "ZH"}
        targets = {"en": "EN-US", "es": "ES", "zh": "ZH-HANS"}
        assert call.method == "POST" and call.path == "/v2/translate"
        assert call.headers["authorization"] == f"DeepL-Auth-Key {service.key}"
        assert call.json == {"text": [text], "source_lang": sources[source],
                             "target_lang": targets[target]}
    else:
        codes = {"en": "en", "es": "es", "zh": "zh-Hans"}
        assert call.method == "POST" and call.path == "/translate"
        assert call.json == {"q": text, "source": codes[source], "target": codes[target],
                             "format": "text", "api_key": service.key}


async def test_translates_with_each_services_exact_protocol(client, people, translator, standin):
    post = await post_service.create_post(people["ana"], SPANISH)
    assert post.language == "es"
    status, body = await ask(client, people["ben_headers"], post.id)
    assert status == 200, body
    assert body == {"id": post.id, "language": "en", "source_language": "es",
                    "body": StandIn.translation(SPANISH, "en"), "provider": standin.provider}
    expected_request(standin, SPANISH, "es", "en")

    # Chinese both ways: the service's own code for Chinese
    chinese = await post_service.create_post(people["ana"], CHINESE)
    assert chinese.language == "zh"
    status, body = await ask(client, people["ben_headers"], chinese.id)
    assert (status, body["body"]) == (200, StandIn.translation(CHINESE, "en"))
    expected_request(standin, CHINESE, "zh", "en")
    english = await post_service.create_post(people["ana"], ENGLISH)
    status, body = await ask(client, people["ben_headers"], english.id, lang="zh")
    assert (status, body["language"], body["body"]) == (200, "zh",
                                                        StandIn.translation(ENGLISH, "zh"))
    expected_request(standin, ENGLISH, "en", "zh")


async def test_a_translation_is_made_once_per_post_body_and_language(
        client, people, translator, standin, settings):
    post = await post_service.create_post(people["ana"], SPANISH)
    first = await ask(client, people["ben_headers"], post.id)
    again = await ask(client, people["ben_headers"], post.id)
    other_reader = await ask(client, people["ana_headers"], post.id, lang="en")
    assert first == again == other_reader
    assert len(standin.translate_calls()) == 1
    assert await Translation.filter(post_id=post.id).count() == 1

    # a restarted instance (a new translator, empty process state) reads the stored one
    fresh = await use_translator(settings, standin)
    try:
        assert await ask(client, people["ben_headers"], post.id) == first
        assert len(standin.translate_calls()) == 1
        # another language is another translation
        status, body = await ask(client, people["ben_headers"], post.id, lang="zh")
        assert (status, body["body"]) == (200, StandIn.translation(SPANISH, "zh"))
        assert len(standin.translate_calls()) == 2
    finally:
        translate.use(translator)
        await fresh.session.close()


async def test_an_edited_post_is_translated_again(client, people, translator, standin):
    post = await post_service.create_post(people["ana"], SPANISH)
    await ask(client, people["ben_headers"], post.id)
    edited = "Hoy fuimos a la montaña con los niños y comimos tortilla."
    await Post.filter(id=post.id).update(body=edited)
    status, body = await ask(client, people["ben_headers"], post.id)
    assert (status, body["body"]) == (200, StandIn.translation(edited, "en"))
    assert len(standin.translate_calls()) == 2
    expected_request(standin, edited, "es", "en")
    # back to the first text: its translation is still there
    await Post.filter(id=post.id).update(body=SPANISH)
    status, body = await ask(client, people["ben_headers"], post.id)
    assert (status, body["body"]) == (200, StandIn.translation(SPANISH, "en"))
    assert len(standin.translate_calls()) == 2


async def test_comments_are_translated_too(client, people, translator, standin):
    post = await post_service.create_post(people["ben"], ENGLISH)
    comment = await post_service.add_comment(people["ana"], post.id, SPANISH)
    assert comment.language == "es"
    status, body = await ask(client, people["ben_headers"], comment.id, kind="comments")
    assert status == 200, body
    assert body == {"id": comment.id, "language": "en", "source_language": "es",
                    "body": StandIn.translation(SPANISH, "en"), "provider": standin.provider}
    assert await ask(client, people["ben_headers"], comment.id, kind="comments") == (200, body)
    assert len(standin.translate_calls()) == 1
    # a comment written before comments had a language: detected when asked
    await Comment.filter(id=comment.id).update(language="")
    await Translation.all().delete()
    assert (await ask(client, people["ben_headers"], comment.id, kind="comments"))[0] == 200


# (how the stand-in fails, what the reader is told) per service
FAILURES = {
    "microsoft": [(401, "refused this site's key"), (403, "quota is used up"),
                  (429, "slow down"), (500, "failed")],
    "deepl": [(403, "refused this site's key"), (456, "quota is used up"),
              (429, "slow down"), (500, "failed")],
    "libretranslate": [(403, "refused this site's key"), (429, "slow down"),
                       (500, "failed"), (400, "refused the request")],
}


async def test_every_failure_is_a_503_with_a_reason_and_stores_nothing(
        client, people, standin, settings):
    translator = await use_translator(settings, standin, translator_timeout=1.0)
    try:
        post = await post_service.create_post(people["ana"], SPANISH)
        cases: list[tuple[str, Any, str]] = [
            (f"HTTP {status}", status, reason) for status, reason in FAILURES[standin.provider]]
        cases += [("timeout", "hang", "did not answer in time"),
                  ("garbage", "garbage", "could not be read"),
                  ("malformed", "malformed", "could not be read")]
        for label, how, reason in cases:
            if how == "hang":
                standin.hang()
            elif how == "garbage":
                standin.garbage()
            elif how == "malformed":
                standin.malformed()
            else:
                standin.fail(how)
            status, body = await ask(client, people["ben_headers"], post.id)
            assert status == 503, (label, body)
            assert body["message"].startswith("Translation is unavailable right now."), label
            assert reason in body["message"], (label, body["message"])
            assert translator.title in body["message"]
            assert await Translation.all().count() == 0, label
        standin.recover()
        status, body = await ask(client, people["ben_headers"], post.id)
        assert (status, body["body"]) == (200, StandIn.translation(SPANISH, "en"))
    finally:
        translate.use(None)
        await translator.session.close()


async def test_the_services_languages_unreachable_is_a_503(client, people, settings):
    async with STANDINS["libretranslate"]() as service:  # started, then pointed elsewhere
        translator = await use_translator(settings, service,
                                          libretranslate_url="http://127.0.0.1:9")
    try:
        post = await post_service.create_post(people["ana"], SPANISH)
        status, body = await ask(client, people["ben_headers"], post.id)
        assert status == 503
        assert "LibreTranslate cannot be reached" in body["message"]
    finally:
        translate.use(None)
        await translator.session.close()


async def test_same_language_and_unsupported_pairs_are_422(client, people, translator, standin):
    english = await post_service.create_post(people["ana"], ENGLISH)
    status, body = await ask(client, people["ben_headers"], english.id)
    assert status == 422 and body["message"] == "This is already in English."
    status, body = await ask(client, people["ben_headers"], english.id, lang="en-GB")
    assert status == 422
    # Catalan is not among the stand-in's languages
    catalan = await post_service.create_post(people["ana"], "Avui hem anat a la platja amb "
                                             "els nens i hem menjat molt bé.")
    assert catalan.language == "ca"
    status, body = await ask(client, people["ben_headers"], catalan.id)
    assert status == 422, body
    assert "cannot translate from Catalan to English" in body["message"]
    status, body = await ask(client, people["ben_headers"], english.id, lang="tlh")
    assert status == 422
    assert standin.translate_calls() == []
    assert await Translation.all().count() == 0


async def test_bad_requests_are_400(client, people, translator, standin):
    post = await post_service.create_post(people["ana"], SPANISH)
    for bad in ({"lang": "123"}, {"lang": "english please"}, {"lang": 7}, {"other": "x"}):
        response = await client.post(f"/api/posts/{post.id}/translate", json=bad,
                                     headers=people["ben_headers"])
        assert response.status_code == 400, bad
        assert (await response.get_json())["message"]
    response = await client.post(f"/api/posts/{post.id}/translate", json={})
    assert response.status_code == 401
    assert standin.translate_calls() == []


async def test_without_a_translator_or_a_post_it_is_404(client, people):
    assert translate.current() is None
    post = await post_service.create_post(people["ana"], SPANISH)
    status, body = await ask(client, people["ben_headers"], post.id)
    assert status == 404 and body["message"] == "Translation is not available on this site."


async def test_missing_post_is_404(client, people, translator, standin):
    status, body = await ask(client, people["ben_headers"], 999_999)
    assert status == 404 and body["message"] == "No such post."
    status, body = await ask(client, people["ben_headers"], 999_999, kind="comments")
    assert status == 404 and body["message"] == "No such comment."


@pytest.mark.parametrize("standin", ["libretranslate"], indirect=True)
async def test_default_target_is_the_callers_language(client, people, translator, standin):
    english = await post_service.create_post(people["ana"], ENGLISH)
    response = await client.post(f"/api/posts/{english.id}/translate", json={},
                                 headers={**people["ben_headers"], "Accept-Language": "es"})
    body = await response.get_json()
    assert (response.status_code, body["language"]) == (200, "es")
    await User.filter(id=people["ben"].id).update(locale="zh")
    status, body = await ask(client, people["ben_headers"], english.id)
    assert (status, body["language"]) == (200, "zh")
    # and the errors speak the caller's language too
    status, body = await ask(client, people["ben_headers"], english.id, lang="en")
    assert (status, body["message"]) == (422, "这已经是英语了。")
    response = await client.post(f"/api/posts/{english.id}/translate", json={"lang": "en"},
                                 headers={**people["ana_headers"], "Accept-Language": "es"})
    assert (await response.get_json())["message"] == "Esto ya está en inglés."


@pytest.mark.parametrize("standin", ["microsoft"], indirect=True)
async def test_new_translations_are_rate_limited_cache_hits_are_not(
        client, people, translator, standin):
    limit = ratelimit.TRANSLATIONS.amount
    made = [await post_service.create_post(people["ana"], f"{SPANISH} Número {i}.")
            for i in range(limit + 1)]
    answers = [await ask(client, people["ben_headers"], p.id) for p in made]
    assert [status for status, _ in answers] == [200] * limit + [429]
    assert answers[-1][1]["message"] == ("You are translating too fast. Wait a minute and try "
                                         "again.")
    assert len(standin.translate_calls()) == limit
    # already translated: answered from the cache, not refused
    assert (await ask(client, people["ben_headers"], made[0].id))[0] == 200
    # another reader has their own allowance
    assert (await ask(client, people["ana_headers"], made[-1].id, lang="en"))[0] == 200


@pytest.mark.parametrize("standin", ["deepl"], indirect=True)
async def test_many_readers_at_once_call_the_service_once(client, people, translator, standin):
    post = await post_service.create_post(people["ana"], SPANISH)
    readers = [await make_user(f"reader{i}") for i in range(30)]
    standin.delay = 0.3
    views = await asyncio.gather(*(translation_service.translate_post(reader, post.id, "en")
                                   for reader in readers))
    assert {v.body for v in views} == {StandIn.translation(SPANISH, "en")}
    assert len(standin.translate_calls()) == 1
    # one reader's many tabs at once: one call too (past their allowance, refused clearly)
    other = await post_service.create_post(people["ana"], SPANISH + " Otra vez.")
    answers = await asyncio.gather(*(ask(client, people["ben_headers"], other.id)
                                     for _ in range(10)))
    assert {status for status, _ in answers} == {200}
    assert len(standin.translate_calls()) == 2


@pytest.mark.parametrize("standin", ["libretranslate"], indirect=True)
async def test_instances_share_one_call_through_redis(people, translator, standin):
    """Two instances' worth of readers: each process's single-flight is bypassed, so only the
    Redis lock stands between them and a second call."""
    post = await post_service.create_post(people["ana"], SPANISH)
    standin.delay = 0.3
    calls = [translation_service._translate(people["ben"], "post", post.id, "en")
             for _ in range(8)]

    async def as_another_instance(call: Any) -> Any:
        translation_service._running.clear()  # what another process would not share
        return await call

    views = await asyncio.gather(*(as_another_instance(c) for c in calls))
    assert {v.body for v in views} == {StandIn.translation(SPANISH, "en")}
    assert len(standin.translate_calls()) == 1


@pytest.mark.parametrize("standin", ["microsoft"], indirect=True)
async def test_metrics_count_outcomes_and_cache_hits(client, people, translator, standin):
    def count(outcome: str) -> float:
        from prometheus_client import REGISTRY
        return REGISTRY.get_sample_value(
            "translations_total", {"provider": "microsoft", "outcome": outcome}) or 0.0

    before = {o: count(o) for o in ("translated", "cached", "failed", "same_language")}
    post = await post_service.create_post(people["ana"], SPANISH)
    english = await post_service.create_post(people["ana"], ENGLISH)
    await ask(client, people["ben_headers"], post.id)
    await ask(client, people["ben_headers"], post.id)
    await ask(client, people["ben_headers"], english.id)
    other = await post_service.create_post(people["ana"], SPANISH + " Otra vez.")
    standin.fail(500)
    await ask(client, people["ben_headers"], other.id)
    after = {o: count(o) for o in before}
    assert {o: after[o] - before[o] for o in before} == {
        "translated": 1, "cached": 1, "failed": 1, "same_language": 1}
    text = metrics.exposition().decode()  # what GET /metrics serves (tests/test_metrics.py)
    assert 'translations_total{outcome="cached",provider="microsoft"}' in text
    assert "translation_provider_duration_seconds_count" in text


async def test_keys_never_reach_the_logs(settings):
    key = "ms-key-that-must-stay-secret-42"
    configured = settings.with_(translator="microsoft", ms_translator_key=key,
                                deepl_api_key="deepl-secret-key:fx",
                                libretranslate_api_key="libre-secret-key")
    assert {key, "deepl-secret-key:fx", "libre-secret-key"} <= set(configured.secret_values)
    translator = translate.open_translator(configured)
    assert translator is not None
    try:
        # registered when the translator opens: masked wherever a log line carries it
        assert logs.redact(f"calling with Ocp-Apim-Subscription-Key: {key}") == (
            f"calling with Ocp-Apim-Subscription-Key: {logs.MASK}")
        assert key not in logs.redact(f"headers={{'Ocp-Apim-Subscription-Key': '{key}'}}")
        assert "deepl-secret-key:fx" not in logs.redact(
            "Authorization: DeepL-Auth-Key deepl-secret-key:fx")
        assert "libre-secret-key" not in logs.redact('{"q": "hola", "api_key": '
                                                     '"libre-secret-key"}')
    finally:
        await translator.session.close()


def test_settings_refuse_a_translator_without_what_it_needs():
    from microblog.settings import SettingsError

    for env, missing in (({"TRANSLATOR": "microsoft"}, "MS_TRANSLATOR_KEY"),
                         ({"TRANSLATOR": "deepl"}, "DEEPL_API_KEY"),
                         ({"TRANSLATOR": "libretranslate"}, "LIBRETRANSLATE_URL")):
        with pytest.raises(SettingsError, match=missing):
            Settings.from_env(env)
    with pytest.raises(SettingsError, match="TRANSLATOR"):
        Settings.from_env({"TRANSLATOR": "google"})
    with pytest.raises(SettingsError, match="LIBRETRANSLATE_URL"):
        Settings.from_env({"TRANSLATOR": "libretranslate", "LIBRETRANSLATE_URL": "ftp://x"})
    deepl = Settings.from_env({"TRANSLATOR": "deepl", "DEEPL_API_KEY": "abc:fx"})
    assert deepl.translator == "deepl"
