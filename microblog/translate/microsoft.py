"""Microsoft Translator Text v3 (what the Flask Mega-Tutorial uses).

`POST {MS_TRANSLATOR_URL}/translate?api-version=3.0&from=..&to=..` with the subscription key
and region in `Ocp-Apim-Subscription-*` headers and `[{"Text": ...}]`; the languages from
`GET /languages?api-version=3.0&scope=translation` (no key needed). Chinese is `zh-Hans`.
"""

from __future__ import annotations

from typing import Any

from microblog.translate.base import (
    Failure,
    Languages,
    Translated,
    Translator,
    base_code,
    code_map,
)

PREFERRED = {"zh": ("zh-Hans",), "sr": ("sr-Cyrl", "sr-Latn"), "mn": ("mn-Cyrl",)}


class MicrosoftTranslator(Translator):
    name = "microsoft"
    title = "Microsoft Translator"

    @property
    def url(self) -> str:
        return self.settings.ms_translator_url

    def headers(self) -> dict[str, str]:
        headers = {"Ocp-Apim-Subscription-Key": self.settings.ms_translator_key or ""}
        if self.settings.ms_translator_region:
            headers["Ocp-Apim-Subscription-Region"] = self.settings.ms_translator_region
        return headers

    async def fetch_languages(self) -> Languages:
        body = await self.call("GET", f"{self.url}/languages",
                               params={"api-version": "3.0", "scope": "translation"})
        try:
            codes = list(body["translation"])
        except (KeyError, TypeError):
            raise self.malformed(body) from None
        mapping = code_map(codes, PREFERRED)
        return Languages(sources=mapping, targets=mapping)

    async def request_translation(self, text: str, source: str, target: str) -> Translated:
        body = await self.call(
            "POST", f"{self.url}/translate",
            params={"api-version": "3.0", "from": source, "to": target},
            headers=self.headers(), json=[{"Text": text}])
        try:
            translated = body[0]["translations"][0]["text"]
        except (KeyError, IndexError, TypeError):
            raise self.malformed(body) from None
        if not isinstance(translated, str):
            raise self.malformed(body)
        return Translated(translated, source_language=base_code(source))

    def failure_for(self, status: int) -> Failure:
        if status == 403:  # 403001: the subscription's free quota is used up
            return Failure.QUOTA
        return super().failure_for(status)

    def reason(self, body: Any) -> str:
        error = body.get("error") if isinstance(body, dict) else None
        message = error.get("message") if isinstance(error, dict) else None
        return message if isinstance(message, str) else ""

