"""DeepL API v2.

`POST {DEEPL_URL}/v2/translate` with `Authorization: DeepL-Auth-Key ...` and
`{"text": [...], "source_lang": "ES", "target_lang": "EN-US"}` (codes upper case; English,
Portuguese and Chinese targets name a variant); the languages from
`GET /v2/languages?type=source|target`. 456 means the quota is used up. A free account's key
ends in `:fx` and lives at api-free.deepl.com.
"""

from __future__ import annotations

import asyncio
from typing import Any

from microblog.translate.base import (
    Failure,
    Languages,
    Translated,
    Translator,
    base_code,
    code_map,
)

FREE_URL = "https://api-free.deepl.com"
PRO_URL = "https://api.deepl.com"
# target variants in order of preference (plain EN and PT are deprecated as targets)
PREFERRED_TARGETS = {"en": ("EN-US", "EN-GB", "EN"), "pt": ("PT-BR", "PT-PT", "PT"),
                     "zh": ("ZH-HANS", "ZH")}


class DeepLTranslator(Translator):
    name = "deepl"
    title = "DeepL"

    @property
    def url(self) -> str:
        if self.settings.deepl_url:
            return self.settings.deepl_url
        key = self.settings.deepl_api_key or ""
        return FREE_URL if key.endswith(":fx") else PRO_URL

    def headers(self) -> dict[str, str]:
        return {"Authorization": f"DeepL-Auth-Key {self.settings.deepl_api_key or ''}"}

    async def _listed(self, kind: str) -> list[str]:
        body = await self.call("GET", f"{self.url}/v2/languages", params={"type": kind},
                               headers=self.headers())
        try:
            return [str(item["language"]) for item in body]
        except (KeyError, TypeError):
            raise self.malformed(body) from None

    async def fetch_languages(self) -> Languages:
        sources, targets = await asyncio.gather(self._listed("source"), self._listed("target"))
        return Languages(sources=code_map(sources), targets=code_map(targets, PREFERRED_TARGETS))

    async def request_translation(self, text: str, source: str, target: str) -> Translated:
        body = await self.call(
            "POST", f"{self.url}/v2/translate", headers=self.headers(),
            json={"text": [text], "source_lang": source, "target_lang": target})
        try:
            item = body["translations"][0]
            translated = item["text"]
        except (KeyError, IndexError, TypeError):
            raise self.malformed(body) from None
        if not isinstance(translated, str):
            raise self.malformed(body)
        detected = item.get("detected_source_language") if isinstance(item, dict) else None
        return Translated(translated, base_code(detected if isinstance(detected, str) and detected
                                                else source))

    def failure_for(self, status: int) -> Failure:
        if status == 456:  # "Quota exceeded. The character limit has been reached."
            return Failure.QUOTA
        return super().failure_for(status)

    def reason(self, body: Any) -> str:
        message = body.get("message") if isinstance(body, dict) else None
        return message if isinstance(message, str) else ""
