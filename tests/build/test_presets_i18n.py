"""Every preset the engine lists has its Chinese title and description in the gettext
catalog (locale/zh/LC_MESSAGES/messages.po, extracted from engine/data/presets.json by
babel.cfg), the page's compiled catalog carries them, and site/presets.js shows them
through t() by message id."""

from __future__ import annotations

import re

from engine.presets import list_presets
from sitegen.catalog import extract, page_messages, read_catalog, translated
from sitegen.config import SITE_DIR

HAN = re.compile(r"[\u4e00-\u9fff]")


def test_every_preset_has_a_chinese_title_and_description():
    zh = translated(read_catalog("zh"))
    german = translated(read_catalog("de"))
    english = [text for p in list_presets() for text in (p.title, p.description)]
    assert len(english) == 2 * len(list_presets()) >= 24
    for text in english:
        assert text in zh, f"no Chinese for preset text {text!r}"
        assert HAN.search(zh[text]), text
        assert german.get(text, "") != text
    page = page_messages("zh-CN")
    assert all(page[text] == zh[text] for text in english)


def test_babel_extracts_every_preset_text_and_no_stale_one():
    english = {text for p in list_presets() for text in (p.title, p.description)}
    from_data = {
        m.id for m in extract() if any(loc[0] == "engine/data/presets.json" for loc in m.locations)
    }
    assert from_data == english


def test_presets_render_from_message_ids():
    js = (SITE_DIR / "presets.js").read_text(encoding="utf-8")
    assert "tn(p.title)" in js and "tn(p.description)" in js
    assert not (SITE_DIR / "i18n-presets.js").exists(), "the .po is the one catalog"
