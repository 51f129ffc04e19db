"""Every preset the engine lists has its Chinese title and description in
site/i18n-presets.js (the calculator renders presets in the browser), and no entry is stale."""

from __future__ import annotations

import json
import re

import build
from engine.presets import list_presets

HAN = re.compile(r"[\u4e00-\u9fff]")


def preset_strings() -> dict[str, list[str | None]]:
    text = (build.SITE_DIR / "i18n-presets.js").read_text(encoding="utf-8")
    body = text[text.index("{") : text.rindex("}") + 1]
    return json.loads(re.sub(r",\s*}$", "}", body))


def test_every_preset_has_a_chinese_title_and_description():
    table = preset_strings()
    english = [text for p in list_presets() for text in (p.title, p.description)]
    assert len(english) == 2 * len(list_presets()) >= 24
    for text in english:
        assert text in table, f"no Chinese for preset text {text!r}"
        german, chinese = table[text]
        assert german is None or german != text
        assert chinese and HAN.search(chinese), text
    assert set(table) == set(english), "entries for presets that no longer exist"
