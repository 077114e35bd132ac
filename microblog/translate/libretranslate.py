"""LibreTranslate (self-hostable).

`POST {LIBRETRANSLATE_URL}/translate` `{q, source, target, format: "text", api_key?}` →
`{translatedText}`; the languages, and which targets each source has, from `GET /languages`.
Chinese is `zh-Hans` there (`zh` on older servers).
"""

from __future__ import annotations

from typing import Any

from microblog.translate.base import Languages, Translated, Translator, base_code, code_map

PREFERRED = {"zh": ("zh-Hans", "zh")}


class LibreTranslateTranslator(Translator):
    name = "libretranslate"
    title = "LibreTranslate"

    @property
    def url(self) -> str:
        return self.settings.libretranslate_url or ""

    async def fetch_languages(self) -> Languages:
        body = await self.call("GET", f"{self.url}/languages")
        try:
            listed = {str(item["code"]): [str(t) for t in item.get("targets") or ()]
                      for item in body}
        except (KeyError, TypeError, AttributeError):
            raise self.malformed(body) from None
        mapping = code_map(listed, PREFERRED)
        theirs_to_ours = {theirs: ours for ours, theirs in mapping.items()}
        # servers before 1.3 list no targets: then every language translates to every other
        pairs = None if not any(listed.values()) else {
            theirs_to_ours[code]: frozenset(theirs_to_ours[t] for t in targets
                                            if t in theirs_to_ours)
            for code, targets in listed.items() if code in theirs_to_ours}
        return Languages(sources=mapping, targets=mapping, pairs=pairs)

    async def request_translation(self, text: str, source: str, target: str) -> Translated:
        payload: dict[str, str] = {"q": text, "source": source, "target": target,
                                   "format": "text"}
        if self.settings.libretranslate_api_key:
            payload["api_key"] = self.settings.libretranslate_api_key
        body = await self.call("POST", f"{self.url}/translate", json=payload)
        translated = body.get("translatedText") if isinstance(body, dict) else None
        if not isinstance(translated, str):
            raise self.malformed(body)
        return Translated(translated, base_code(source))

    def reason(self, body: Any) -> str:
        message = body.get("error") if isinstance(body, dict) else None
        return message if isinstance(message, str) else ""
