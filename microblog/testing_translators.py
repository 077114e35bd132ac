"""Stand-ins for the translation services (the one place the tests use a stand-in: the real
services are on the internet). Only tests and benchmarks import this module.

Each stand-in is a real HTTP server on 127.0.0.1 (aiohttp.web, on a free port) that speaks one
service's protocol as the service documents it: the same paths, query parameters, headers,
language codes, answers and error bodies.

- `MicrosoftStandIn`: Microsoft Translator Text v3. `POST /translate?api-version=3.0&from=..
  &to=..` with `Ocp-Apim-Subscription-Key` (and `Ocp-Apim-Subscription-Region` when the
  stand-in has a region) and `[{"Text": ...}]`; `GET /languages?api-version=3.0` (no key).
  Chinese is `zh-Hans`.
- `DeepLStandIn`: DeepL API v2. `POST /v2/translate` with `Authorization: DeepL-Auth-Key ..`
  and a JSON or form body (`text`, `source_lang`, `target_lang`, codes upper case; English,
  Portuguese targets name a variant); `GET /v2/languages?type=source|target` (key needed).
- `LibreTranslateStandIn`: LibreTranslate. `POST /translate` with a JSON or form body (`q`,
  `source` or `auto`, `target`, `format`, `api_key`); `GET /languages`. Chinese is `zh-Hans`.

A translation is `StandIn.translation(text, target)` for all three (`target` our code), so a
test knows the answer to expect. Every request is kept in `requests`; `fail`, `hang`,
`garbage` and `malformed` make the translate endpoint misbehave until `recover()`, and `delay`
slows it down. `settings_for(standin)` gives the Settings keywords that point the app at one.

    async with DeepLStandIn() as deepl:
        settings = Settings(**settings_for(deepl), ...)
        deepl.fail(456)  # quota used up
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any, ClassVar, Self
from urllib.parse import parse_qs, parse_qsl

from aiohttp import web

# our codes (the ISO 639-1 codes the posts carry) the stand-ins support unless told otherwise
LANGUAGES = ("en", "es", "zh", "fr", "de", "pt", "ja")
# our code → (English name, native name)
NAMES: dict[str, tuple[str, str]] = {
    "en": ("English", "English"),
    "es": ("Spanish", "Español"),
    "zh": ("Chinese Simplified", "中文 (简体)"),
    "fr": ("French", "Français"),
    "de": ("German", "Deutsch"),
    "pt": ("Portuguese", "Português"),
    "ja": ("Japanese", "日本語"),
    "it": ("Italian", "Italiano"),
    "nl": ("Dutch", "Nederlands"),
    "ru": ("Russian", "Русский"),
    "ar": ("Arabic", "العربية"),
    "ko": ("Korean", "한국어"),
}
RTL = {"ar", "he", "fa", "ur"}
HANG_SECONDS = 3600.0
GARBAGE = b"<html>oops</html>"
MALFORMED: dict[str, Any] = {"unexpected": True}

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass
class Recorded:
    """One request a stand-in received."""

    method: str
    path: str                    # "/translate", "/v2/translate", "/languages"...
    query: dict[str, str]        # query string parameters (the last value of a repeated one)
    headers: dict[str, str]      # names lower case
    json: Any                    # the parsed JSON body, or None
    form: dict[str, str] | None  # the parsed form-encoded body (last value wins), or None
    body: bytes = b""            # the raw body


# where a request keeps its record for the handlers
RECORDED: web.RequestKey[Recorded] = web.RequestKey("recorded", Recorded)

def _base(code: str) -> str:
    """A service's code → ours: `zh-Hans` → `zh`, `EN-US` → `en`."""
    return code.replace("_", "-").split("-", 1)[0].lower()


def _name(ours: str) -> tuple[str, str]:
    return NAMES.get(ours, (ours.upper(), ours.upper()))


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


def _json(value: Any, status: int = 200) -> web.Response:
    return web.json_response(value, status=status, dumps=_dumps)


def _form_lists(recorded: Recorded) -> dict[str, list[str]]:
    """A form body's fields with every value of a repeated one (`text=a&text=b`)."""
    return parse_qs(recorded.body.decode("utf-8", "replace"), keep_blank_values=True)


class StandIn:
    """The part every stand-in shares: the server, the record of requests, the failure modes.
    Subclasses add the service's routes, code mapping, answers and error bodies."""

    provider: ClassVar[str]
    translate_path: ClassVar[str]

    def __init__(self, *, key: str | None = None, languages: Iterable[str] | None = None) -> None:
        self.key = key if key is not None else f"test-key-{self.provider}-0123456789"
        # our codes
        self.languages: tuple[str, ...] = tuple(languages) if languages is not None else LANGUAGES
        self.requests: list[Recorded] = []
        self.delay = 0.0
        self.url = ""
        self._mode: str | None = None
        self._failure: tuple[int, Any] = (500, None)
        self._runner: web.AppRunner | None = None

    # --- the server ---------------------------------------------------------------------------

    def code(self, ours: str) -> str:
        """Our language code in this service's words (Microsoft and LibreTranslate say zh-Hans;
        DeepL has its own source and target lists)."""
        return "zh-Hans" if ours == "zh" else ours

    def codes(self) -> dict[str, str]:
        """Their code → ours."""
        return {self.code(ours): ours for ours in self.languages}

    async def start(self) -> Self:
        """Serve on 127.0.0.1 on a free port; `url` then says where."""
        if self._runner is not None:
            raise RuntimeError(f"{type(self).__name__} already started")

        @web.middleware
        async def record(request: web.Request, handler: Handler) -> web.StreamResponse:
            request[RECORDED] = await self._record(request)
            return await handler(request)

        app = web.Application(middlewares=[record])
        self.add_routes(app)
        # handler_cancellation: a hanging handler ends when its client gives up; a short
        # shutdown_timeout: `stop()` does not wait for handlers still hanging
        runner = web.AppRunner(app, shutdown_timeout=0.1, handler_cancellation=True,
                               access_log=None)
        await runner.setup()
        try:
            site = web.TCPSite(runner, "127.0.0.1", 0)
            await site.start()
            port = runner.addresses[0][1]
        except BaseException:
            await runner.cleanup()
            raise
        self._runner = runner
        self.url = f"http://127.0.0.1:{port}"
        return self

    async def stop(self) -> None:
        """Stop serving (also with requests still hanging: they are cancelled)."""
        runner, self._runner = self._runner, None
        if runner is not None:
            await runner.cleanup()

    async def __aenter__(self) -> Self:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    async def _record(self, request: web.Request) -> Recorded:
        body = await request.read()
        content_type = request.content_type
        parsed: Any = None
        form: dict[str, str] | None = None
        if body and "json" in content_type:
            try:
                parsed = json.loads(body)
            except ValueError:
                parsed = None
        elif body and content_type == "application/x-www-form-urlencoded":
            form = dict(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
        recorded = Recorded(
            method=request.method, path=request.path, query=dict(request.query.items()),
            headers={name.lower(): value for name, value in request.headers.items()},
            json=parsed, form=form, body=body)
        self.requests.append(recorded)
        return recorded

    # --- what the tests look at and steer -----------------------------------------------------

    def translate_calls(self) -> list[Recorded]:
        """The translate requests received, in order (not the languages ones)."""
        return [r for r in self.requests
                if r.method == "POST" and r.path == self.translate_path]

    def fail(self, status: int, body: Any = None) -> None:
        """Translate requests answer `status` with `body` as JSON (bytes: sent as they are,
        text/plain), or the service's usual error body for that status when None."""
        self._mode, self._failure = "fail", (status, body)

    def hang(self) -> None:
        """Translate requests never answer (the client has to time out)."""
        self._mode = "hang"

    def garbage(self) -> None:
        """Translate requests answer 200 with an HTML page instead of JSON."""
        self._mode = "garbage"

    def malformed(self) -> None:
        """Translate requests answer 200 with JSON of the wrong shape."""
        self._mode = "malformed"

    def recover(self) -> None:
        """Translate requests are answered properly again (ones already hanging stay so)."""
        self._mode = None

    @staticmethod
    def translation(text: str, target: str) -> str:
        """What every stand-in translates `text` to in `target` (our code)."""
        return f"[{target}] {text}"

    @staticmethod
    def detected(text: str) -> str:
        """The language (our code) the stand-ins detect in `text` when no source is given:
        Japanese or Chinese by their script, Spanish by its letters and a few words, else
        English."""
        if re.search(r"[\u3040-\u30ff]", text):
            return "ja"
        if re.search(r"[\u4e00-\u9fff]", text):
            return "zh"
        if re.search(r"[ñ¿¡áéíóú]", text, re.IGNORECASE) or re.search(
                r"\b(el|la|los|las|que|es|una|hola|gracias|por)\b", text, re.IGNORECASE):
            return "es"
        return "en"

    # --- what each service implements -------------------------------------------------------

    def add_routes(self, app: web.Application) -> None:
        raise NotImplementedError

    def error_body(self, status: int) -> Any:
        """The service's usual error body for `status`."""
        raise NotImplementedError

    async def answer_translate(self, request: web.Request, recorded: Recorded) -> web.Response:
        """A translate request answered as the service would."""
        raise NotImplementedError

    # --- shared handling ----------------------------------------------------------------------

    def error(self, status: int) -> web.Response:
        return _json(self.error_body(status), status)

    async def translate(self, request: web.Request) -> web.StreamResponse:
        """The translate endpoint: the delay, then a failure mode or the proper answer."""
        recorded: Recorded = request[RECORDED]
        if self.delay > 0:
            await asyncio.sleep(self.delay)
        mode = self._mode
        if mode == "fail":
            status, body = self._failure
            if body is None:
                return self.error(status)
            if isinstance(body, bytes):
                return web.Response(body=body, status=status, content_type="text/plain")
            return _json(body, status)
        if mode == "hang":
            await asyncio.sleep(HANG_SECONDS)
            return web.Response(status=504)
        if mode == "garbage":
            return web.Response(body=GARBAGE, content_type="text/html")
        if mode == "malformed":
            return _json(MALFORMED)
        return await self.answer_translate(request, recorded)


# --- Microsoft Translator Text v3 ------------------------------------------------------------

MS_UNAUTHORIZED = "The request is not authorized because credentials are missing or invalid."
MS_ERRORS: dict[int, tuple[int, str]] = {
    400: (400000, "One of the request inputs is not valid."),
    401: (401000, MS_UNAUTHORIZED),
    403: (403001, "The operation is not allowed because the subscription has exceeded its "
                  "free quota."),
    429: (429000, "The server rejected the request because the client has exceeded request "
                  "limits."),
    500: (500000, "An unexpected error occurred."),
    503: (503000, "Service is temporarily unavailable. Please retry."),
}
MS_MAX_ELEMENTS = 1000
MS_MAX_CHARACTERS = 50000


def _ms_error(status: int, code: int, message: str) -> web.Response:
    return _json({"error": {"code": code, "message": message}}, status)


class MicrosoftStandIn(StandIn):
    """Microsoft Translator Text v3. `region` is the resource's region: requests must send it
    in `Ocp-Apim-Subscription-Region` (None: a global resource, any or none accepted)."""

    provider = "microsoft"
    translate_path = "/translate"

    def __init__(self, *, key: str | None = None, languages: Iterable[str] | None = None,
                 region: str | None = "westeurope") -> None:
        super().__init__(key=key, languages=languages)
        self.region = region

    def add_routes(self, app: web.Application) -> None:
        app.router.add_post("/translate", self.translate)
        app.router.add_get("/languages", self.list_languages)

    def error_body(self, status: int) -> Any:
        code, message = MS_ERRORS.get(status, (status * 1000, "Error"))
        return {"error": {"code": code, "message": message}}

    async def list_languages(self, request: web.Request) -> web.Response:
        if request.query.get("api-version") != "3.0":
            return _ms_error(400, 400021, "The API version parameter is missing or invalid.")
        scopes = request.query.get("scope", "translation,transliteration,dictionary").split(",")
        body: dict[str, Any] = {}
        if "translation" in scopes:
            body["translation"] = {
                self.code(ours): {"name": _name(ours)[0], "nativeName": _name(ours)[1],
                                  "dir": "rtl" if ours in RTL else "ltr"}
                for ours in self.languages}
        return _json(body)

    async def answer_translate(self, request: web.Request, recorded: Recorded) -> web.Response:
        query = request.query
        if request.headers.get("Ocp-Apim-Subscription-Key") != self.key:
            return _ms_error(401, 401000, MS_UNAUTHORIZED)
        region = request.headers.get("Ocp-Apim-Subscription-Region")
        if self.region is not None and (region or "").lower() != self.region.lower():
            return _ms_error(401, 401001, MS_UNAUTHORIZED)
        if query.get("api-version") != "3.0":
            return _ms_error(400, 400021, "The API version parameter is missing or invalid.")
        codes = self.codes()
        targets = query.getall("to", [])
        if not targets or any(t not in codes for t in targets):
            return _ms_error(400, 400036, "The target language is not valid.")
        source = query.get("from")
        if source is not None and source not in codes:
            return _ms_error(400, 400035, "The source language is not valid.")
        items = recorded.json
        if not isinstance(items, list):
            return _ms_error(400, 400074, "The body of the request is not valid JSON.")
        if not items or not all(isinstance(i, dict) and isinstance(i.get("Text"), str)
                                for i in items):
            return _ms_error(400, 400000, "One of the request inputs is not valid.")
        if (len(items) > MS_MAX_ELEMENTS
                or sum(len(i["Text"]) for i in items) * len(targets) > MS_MAX_CHARACTERS):
            return _ms_error(400, 400077, "The maximum request size has been exceeded.")
        answer = []
        for item in items:
            text = item["Text"]
            result: dict[str, Any] = {}
            if source is None:
                result["detectedLanguage"] = {"language": self.code(self.detected(text)),
                                              "score": 1.0}
            result["translations"] = [{"text": self.translation(text, codes[t]), "to": t}
                                      for t in targets]
            answer.append(result)
        return _json(answer)


# --- DeepL API v2 ----------------------------------------------------------------------------

DEEPL_AUTH_FAILURE = "Authorization failure, check auth_key"
DEEPL_ERRORS = {
    400: "Bad request",
    403: DEEPL_AUTH_FAILURE,
    404: "Not found",
    413: "Request Entity Too Large",
    429: "Too many requests",
    456: "Quota exceeded",
    500: "Internal server error",
    503: "Service unavailable",
}
# our code → DeepL's target variants (plain EN and PT are deprecated as targets)
DEEPL_TARGETS = {"en": ("EN-GB", "EN-US"), "pt": ("PT-BR", "PT-PT"), "zh": ("ZH", "ZH-HANS")}
DEEPL_TARGET_NAMES = {
    "EN-GB": "English (British)", "EN-US": "English (American)",
    "PT-BR": "Portuguese (Brazilian)", "PT-PT": "Portuguese (European)",
    "ZH": "Chinese (simplified)", "ZH-HANS": "Chinese (simplified)",
}


def _deepl_error(status: int, message: str) -> web.Response:
    return _json({"message": message}, status)


class DeepLStandIn(StandIn):
    """DeepL API v2 (either host: api.deepl.com and api-free.deepl.com speak the same)."""

    provider = "deepl"
    translate_path = "/v2/translate"

    def sources(self) -> dict[str, str]:
        """Their source code → ours."""
        return {ours.upper(): ours for ours in self.languages}

    def targets(self) -> dict[str, str]:
        """Their target code → ours."""
        return {variant: ours for ours in self.languages
                for variant in DEEPL_TARGETS.get(ours, (ours.upper(),))}

    def add_routes(self, app: web.Application) -> None:
        app.router.add_post("/v2/translate", self.translate)
        app.router.add_get("/v2/languages", self.list_languages)

    def error_body(self, status: int) -> Any:
        return {"message": DEEPL_ERRORS.get(status, "Error")}

    def authorized(self, request: web.Request) -> bool:
        return request.headers.get("Authorization") == f"DeepL-Auth-Key {self.key}"

    async def list_languages(self, request: web.Request) -> web.Response:
        if not self.authorized(request):
            return _deepl_error(403, DEEPL_AUTH_FAILURE)
        kind = request.query.get("type", "source")
        if kind == "source":
            return _json([{"language": code, "name": _name(ours)[0]}
                          for code, ours in self.sources().items()])
        if kind == "target":
            return _json([{"language": code,
                           "name": DEEPL_TARGET_NAMES.get(code, _name(ours)[0]),
                           "supports_formality": False}
                          for code, ours in self.targets().items()])
        return _deepl_error(400, "Value for 'type' not supported.")

    async def answer_translate(self, request: web.Request, recorded: Recorded) -> web.Response:
        if not self.authorized(request):
            return _deepl_error(403, DEEPL_AUTH_FAILURE)
        texts: Any = None
        source: Any = None
        target: Any = None
        if recorded.form is not None:
            texts = _form_lists(recorded).get("text")
            source = recorded.form.get("source_lang")
            target = recorded.form.get("target_lang")
        elif isinstance(recorded.json, dict):
            texts = recorded.json.get("text")
            source = recorded.json.get("source_lang")
            target = recorded.json.get("target_lang")
        elif recorded.body and "json" in request.content_type:
            return _deepl_error(400, "Invalid request: the body is not valid JSON.")
        if texts is None:
            return _deepl_error(400, "Parameter 'text' not specified.")
        if not isinstance(texts, list) or not all(isinstance(t, str) for t in texts):
            return _deepl_error(400, "Invalid request: Expected 'text' parameter to be an "
                                     "array of strings")
        if target is None:
            return _deepl_error(400, "Parameter 'target_lang' not specified.")
        targets = self.targets()
        if target not in targets:
            return _deepl_error(400, "Value for 'target_lang' not supported.")
        sources = self.sources()
        if source is not None and source not in sources:
            return _deepl_error(400, "Value for 'source_lang' not supported.")
        ours = targets[target]
        return _json({"translations": [
            {"detected_source_language": source or self.detected(text).upper(),
             "text": self.translation(text, ours)}
            for text in texts]})


# --- LibreTranslate --------------------------------------------------------------------------

LIBRE_ERRORS = {
    400: "Invalid request",
    403: "Invalid API key",
    404: "Not Found",
    429: "Slowdown: 30 per minute",
    500: "Cannot translate text: internal error",
}


def _libre_error(status: int, message: str) -> web.Response:
    return _json({"error": message}, status)


class LibreTranslateStandIn(StandIn):
    """LibreTranslate (1.3 or later: `/languages` lists each language's targets). With
    `key_required` (as with `--api-keys --require-api-key-origin ...`) a translation needs the
    key; without, none is needed but a wrong one is still refused (as with `--api-keys`)."""

    provider = "libretranslate"
    translate_path = "/translate"

    def __init__(self, *, key: str | None = None, languages: Iterable[str] | None = None,
                 key_required: bool = True) -> None:
        super().__init__(key=key, languages=languages)
        self.key_required = key_required

    def add_routes(self, app: web.Application) -> None:
        app.router.add_post("/translate", self.translate)
        app.router.add_get("/languages", self.list_languages)

    def error_body(self, status: int) -> Any:
        return {"error": LIBRE_ERRORS.get(status, "Error")}

    async def list_languages(self, request: web.Request) -> web.Response:
        codes = self.codes()
        return _json([{"code": code,
                       "name": "Chinese (Simplified)" if code == "zh-Hans" else _name(ours)[0],
                       "targets": [other for other in codes if other != code]}
                      for code, ours in codes.items()])

    async def answer_translate(self, request: web.Request, recorded: Recorded) -> web.Response:
        fields: dict[str, Any]
        if recorded.form is not None:
            fields = dict(recorded.form)
            q = _form_lists(recorded).get("q")
            if q is not None and len(q) > 1:
                fields["q"] = q
        elif isinstance(recorded.json, dict):
            fields = recorded.json
        else:
            fields = {}
        api_key = fields.get("api_key")
        if (self.key_required or api_key) and api_key != self.key:
            return _libre_error(403, "Invalid API key")
        for name in ("q", "source", "target"):
            if not fields.get(name):
                return _libre_error(400, f"Invalid request: missing {name} parameter")
        q, source, target = fields["q"], fields["source"], fields["target"]
        if not (isinstance(q, str) or (isinstance(q, list)
                                      and all(isinstance(t, str) for t in q))):
            return _libre_error(400, "Invalid request: q must be a string or a list of strings")
        codes = self.codes()
        if source != "auto" and source not in codes:
            return _libre_error(400, f"{source} is not supported")
        if target not in codes:
            return _libre_error(400, f"{target} is not supported")
        text_format = fields.get("format", "text")
        if text_format not in ("text", "html"):
            return _libre_error(400, f"{text_format} format is not supported")

        def one(text: str) -> tuple[str, dict[str, Any] | None]:
            detected = None
            if source == "auto":
                detected = {"confidence": 90.0, "language": self.code(self.detected(text))}
            return self.translation(text, codes[target]), detected

        if isinstance(q, str):
            translated, detected = one(q)
            answer: dict[str, Any] = {"translatedText": translated}
            if detected is not None:
                answer["detectedLanguage"] = detected
        else:
            results = [one(text) for text in q]
            answer = {"translatedText": [translated for translated, _ in results]}
            if source == "auto":
                answer["detectedLanguage"] = [detected for _, detected in results]
        return _json(answer)


# --- pointing the app at one -----------------------------------------------------------------

STANDINS: dict[str, type[StandIn]] = {
    "microsoft": MicrosoftStandIn,
    "deepl": DeepLStandIn,
    "libretranslate": LibreTranslateStandIn,
}


def settings_for(standin: StandIn) -> dict[str, str]:
    """The Settings keywords that make the app translate with `standin` (started)."""
    if not standin.url:
        raise RuntimeError(f"{type(standin).__name__} is not started")
    if isinstance(standin, MicrosoftStandIn):
        values = {"translator": "microsoft", "ms_translator_key": standin.key,
                  "ms_translator_url": standin.url}
        if standin.region is not None:
            values["ms_translator_region"] = standin.region
        return values
    if isinstance(standin, DeepLStandIn):
        return {"translator": "deepl", "deepl_api_key": standin.key, "deepl_url": standin.url}
    if isinstance(standin, LibreTranslateStandIn):
        return {"translator": "libretranslate", "libretranslate_url": standin.url,
                "libretranslate_api_key": standin.key}
    raise TypeError(f"not a stand-in: {standin!r}")
