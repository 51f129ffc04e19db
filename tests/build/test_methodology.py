"""The methodology page in every language: each translation exists and keeps the English
file's skeleton (headings and their anchors, formula blocks, inline code, links, tables,
numbers), so an edit to one language that is not made to the others fails here."""

from __future__ import annotations

import re
from collections import Counter
from html.parser import HTMLParser
from pathlib import Path

import pytest

from sitegen.config import BuildError
from sitegen.i18n import LANGUAGES
from sitegen.render import methodology_path, render_methodology

NUMBER = re.compile(r"\d+(?:[.,]\d+)*")
HAN = re.compile(r"[\u4e00-\u9fff]")
TRANSLATIONS = [catalog for _, catalog, _ in LANGUAGES if catalog]


class Skeleton(HTMLParser):
    """What a translation must keep from the rendered English page."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.headings: list[tuple[str, str]] = []  # (tag, id): anchors are shared
        self.blocks: list[str] = []  # <pre> formula/code blocks, verbatim
        self.code: Counter[str] = Counter()  # inline `code` spans
        self.links: list[str] = []
        self.tables: list[list[int]] = []  # cells per row, per table
        self.numbers: Counter[str] = Counter()  # digits in the prose
        self._in: list[str] = []
        self._text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list) -> None:
        a = dict(attrs)
        if tag in ("h1", "h2", "h3", "h4"):
            self.headings.append((tag, a.get("id") or ""))
        elif tag == "a" and not (a.get("href") or "").startswith("#"):
            self.links.append(a.get("href") or "")
        elif tag == "table":
            self.tables.append([])
        elif tag == "tr":
            self.tables[-1].append(0)
        elif tag in ("td", "th"):
            self.tables[-1][-1] += 1
        if tag in ("pre", "code"):
            self._text = []
        self._in.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if tag == "pre":
            self.blocks.append("".join(self._text))
        elif tag == "code" and "pre" not in self._in:
            self.code["".join(self._text)] += 1
        if tag in self._in:
            while self._in.pop() != tag:
                pass

    def handle_data(self, data: str) -> None:
        if "pre" in self._in or "code" in self._in:
            self._text.append(data)
        else:
            self.numbers.update(NUMBER.findall(data))


def skeleton(html: str) -> Skeleton:
    parser = Skeleton()
    parser.feed(html)
    parser.close()
    return parser


def differences(english: str, translated: str) -> list[str]:
    """Return how the translated page's skeleton differs from the English one."""
    en, tr = skeleton(english), skeleton(translated)
    out = []
    for name in ("headings", "blocks", "links", "tables"):
        if getattr(en, name) != getattr(tr, name):
            out.append(f"{name}: {getattr(en, name)} != {getattr(tr, name)}")
    for name in ("code", "numbers"):
        a, b = getattr(en, name), getattr(tr, name)
        if a != b:
            out.append(f"{name}: only in English {dict(a - b)}, only translated {dict(b - a)}")
    return out


@pytest.fixture(scope="module")
def pages() -> dict[str, str]:
    return render_methodology()


def test_every_language_has_its_own_methodology():
    assert methodology_path("zh").relative_to(methodology_path("").parent).as_posix() == (
        "zh/methodology.md"
    )
    for catalog in TRANSLATIONS:
        assert methodology_path(catalog).is_file(), f"translate content/methodology.md to {catalog}"


@pytest.mark.parametrize("lang", [lang for lang, catalog, _ in LANGUAGES if catalog])
def test_translation_keeps_the_english_skeleton(pages, lang):
    en = skeleton(pages["en"])
    assert len(en.headings) == 11 and en.headings[0] == ("h1", "methodology")
    assert len(en.blocks) == 4 and len(en.tables) == 3 and "/accuracy/" in en.links
    assert sum(en.code.values()) > 40 and sum(en.numbers.values()) > 100
    assert differences(pages["en"], pages[lang]) == []
    assert len(HAN.findall(pages[lang])) > 2000  # and it is Chinese, not a copy


def test_drift_is_caught(pages):
    zh = pages["zh-CN"]
    formula = "weights_bytes = Σ_tensors  ceil(numel / block_size) × bytes_per_block"
    assert formula in zh
    edits = {
        "formula": zh.replace(formula, formula.replace("ceil", "floor")),
        "anchor": zh.replace('id="kv-cache"', 'id="kv"'),
        "link": zh.replace('href="/accuracy/"', 'href="/models/"', 1),
        "number": zh.replace("65,536", "65536"),
        "code": zh.replace("<code>n_ubatch</code>", "n_ubatch"),
        "table row": zh.replace("<tr>", "<tr><td>x</td>", 1),
    }
    for what, edited in edits.items():
        assert edited != zh, what
        assert differences(pages["en"], edited), f"a changed {what} went unnoticed"


def test_a_missing_translation_fails_the_build(tmp_path: Path):
    (tmp_path / "methodology.md").write_text("# Methodology\n", encoding="utf-8")
    with pytest.raises(BuildError, match=r"zh/methodology\.md is missing"):
        render_methodology(tmp_path)
    (tmp_path / "zh").mkdir()
    (tmp_path / "zh" / "methodology.md").write_text("# 计算方法 {#methodology}\n", encoding="utf-8")
    assert render_methodology(tmp_path)["zh-CN"] == '<h1 id="methodology">计算方法</h1>'


def test_built_zh_methodology_is_chinese_with_zh_links(site_dir):
    html = (site_dir / "zh/methodology/index.html").read_text(encoding="utf-8")
    body = html.split('<article class="prose">', 1)[1].split("</article>", 1)[0]
    assert '<h1 id="methodology">计算方法</h1>' in body
    assert '<h2 id="kv-cache">KV 缓存</h2>' in body
    assert 'href="/zh/accuracy/"' in body and 'href="/accuracy/"' not in body
    assert ' lang="en"' not in body
    english = (site_dir / "methodology/index.html").read_text(encoding="utf-8")
    assert '<h2 id="kv-cache">KV cache</h2>' in english
