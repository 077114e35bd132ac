"""The catalogs: complete, and translations keep their placeholders."""

import re

import pytest
from babel.messages.pofile import read_po

from microblog.i18n import best_locale, gettext, locale_context
from microblog.settings import ROOT

PLACEHOLDER = re.compile(r"%\(\w+\)[sd]")


@pytest.mark.parametrize("lang", ["es", "zh"])
def test_catalog_is_complete_and_keeps_placeholders(lang):
    with open(ROOT / "translations" / lang / "LC_MESSAGES" / "messages.po", "rb") as f:
        catalog = read_po(f)
    with open(ROOT / "messages.pot", "rb") as f:
        template = read_po(f)
    missing = [m.id for m in template if m.id and (m.id not in catalog or not catalog[m.id].string)]
    assert not missing, f"untranslated in {lang}: {missing[:5]}"
    for message in catalog:
        if not message.id:
            continue
        assert not message.fuzzy, message.id
        if not isinstance(message.id, str):  # plural forms: each keeps the plural's placeholders
            forms = message.string
            assert isinstance(forms, tuple | list) and all(forms), message.id
            for form in forms:
                assert isinstance(form, str), message.id
                assert sorted(PLACEHOLDER.findall(message.id[1])) == sorted(
                    PLACEHOLDER.findall(form)), message.id
            continue
        assert isinstance(message.string, str), message.id
        assert sorted(PLACEHOLDER.findall(message.id)) == sorted(
            PLACEHOLDER.findall(message.string)), message.id


def test_gettext_follows_the_locale_context():
    with locale_context("es"):
        assert gettext("Hi, %(name)s!", name="ana") == "¡Hola, ana!"
    with locale_context("zh"):
        assert gettext("Explore") == "探索"
    assert gettext("Explore") == "Explore"


@pytest.mark.parametrize("header, expected", [
    (None, "en"), ("", "en"), ("es", "es"), ("zh-CN,zh;q=0.9,en;q=0.8", "zh"),
    ("fr-FR, de;q=0.9", "en"), ("en;q=0.1, es;q=0.9", "es"), ("es;q=0", "en"),
    ("garbage;;q=x", "en"),
])
def test_best_locale_honours_quality(header, expected):
    assert best_locale(header, ("en", "es", "zh")) == expected
