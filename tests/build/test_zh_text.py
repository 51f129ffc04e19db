"""No English prose on the Chinese pages: the visible text of every public/zh/ page (body,
title, and the placeholder/title/aria-label/alt attributes) has no run of four or more
English words, once what is meant to stay as it is has been taken out: code (<code>, <pre>,
<kbd>, <script>), drawings (<svg>), the language switch (translate="no"), model, GPU and
format names, and citations (sources marked lang="en"). Anything else English must go
through the gettext catalog, content/zh/, a sitegen.i18n.Text or the engine's catalog."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import pytest

from engine.api import call

# Four or more English words in a row ("GPU" alone, "LoRA r=16", "KV 缓存" are not prose).
ENGLISH_RUN = re.compile(r"[A-Za-z][A-Za-z'’-]*(?:[,;:.]?\s+[A-Za-z][A-Za-z'’-]*){3,}")
SKIP_TAGS = {"script", "style", "code", "pre", "kbd", "samp", "svg", "template"}
VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source"}
VOID |= {"track", "wbr"}
BLOCKS = {"p", "li", "td", "th", "h1", "h2", "h3", "h4", "div", "section", "option", "label"}
BLOCKS |= {"button", "caption", "summary", "dt", "dd", "figcaption", "small", "br", "title"}
ATTRS = ("placeholder", "title", "aria-label", "alt")
# Elements that may stay English on a Chinese page, marked lang="en" (class -> why).
ENGLISH_BY_DESIGN = {
    "source": "a citation: the log line, tool or price list a catalog figure comes from",
}
# English that is fine in running Chinese text, and why. Keep it short.
ALLOWED = {
    "Reducing Activation Recomputation in Large Transformer Models": "paper title as published",
}


class VisibleText(HTMLParser):
    """Collect the text a reader sees, in block-sized chunks, and the lang="en" elements."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.chunks: list[str] = []
        self.english: list[str] = []  # class of each lang="en" element
        self._stack: list[tuple[str, bool]] = []
        self._skipping = 0
        self._buffer: list[str] = []

    def handle_starttag(self, tag: str, attrs: list) -> None:
        a = dict(attrs)
        if tag in BLOCKS:
            self._flush()
        if tag in VOID:
            return
        untranslatable = a.get("translate") == "no"  # the language switch, by its own name
        english = tag != "html" and (a.get("lang") or "").lower().startswith("en")
        if english and not untranslatable:
            self.english.append(a.get("class") or f"<{tag}>")
        skip = tag in SKIP_TAGS or untranslatable or english
        if not self._skipping and not skip:
            self.chunks += [a[name] for name in ATTRS if a.get(name)]
        self._stack.append((tag, skip))
        self._skipping += skip

    def handle_endtag(self, tag: str) -> None:
        if tag in VOID:
            return
        while self._stack:
            name, skip = self._stack.pop()
            self._skipping -= skip
            if name == tag:
                break
        if tag in BLOCKS:
            self._flush()

    def handle_data(self, data: str) -> None:
        # skipped text still separates words: "see <code>x</code> here" is not one run
        self._buffer.append(" | " if self._skipping else data)

    def _flush(self) -> None:
        text = " ".join("".join(self._buffer).split())
        if text:
            self.chunks.append(text)
        self._buffer = []

    def close(self) -> None:
        super().close()
        self._flush()


def names() -> list[str]:
    """Model, GPU and weight-format names, longest first (they are names, not prose)."""
    found = {str(m.get("name") or "") for m in call("models")}
    found |= {str(g.get("name") or "") for g in call("gpus")}
    found |= {str(f.get("label") or "") for f in call("formats")}
    return sorted((n for n in found if n), key=len, reverse=True)


def english_runs(html: str, skip: list[str]) -> tuple[list[str], list[str]]:
    """Return (English runs in the visible text, classes of lang="en" elements)."""
    parser = VisibleText()
    parser.feed(html)
    parser.close()
    runs = []
    for chunk in parser.chunks:
        for text in (*skip, *ALLOWED):
            chunk = chunk.replace(text, " | ")
        runs += ENGLISH_RUN.findall(chunk)
    return runs, parser.english


@pytest.fixture(scope="module")
def skip() -> list[str]:
    return names()


def zh_pages(site: Path) -> list[Path]:
    return sorted((site / "zh").rglob("*.html"))


def test_zh_pages_have_no_english_prose(site_dir, skip):
    pages = zh_pages(site_dir)
    assert len(pages) > 100
    found: dict[str, list[str]] = {}
    for page in pages:
        runs, english = english_runs(page.read_text(encoding="utf-8"), skip)
        bad = [f"lang=en on {cls!r}" for cls in english if cls not in ENGLISH_BY_DESIGN]
        if runs or bad:
            found[str(page.relative_to(site_dir))] = [*bad, *runs][:5]
    report = "\n".join(f"{page}: {runs}" for page, runs in sorted(found.items())[:20])
    assert not found, f"English on {len(found)} /zh/ pages (translate it):\n{report}"


def test_the_detector_sees_english(site_dir, skip):
    """The same scan on the English twins finds prose on nearly every page, so an
    untranslated string on a /zh/ page cannot slip through a blind extractor."""
    pages = [site_dir / p.relative_to(site_dir / "zh") for p in zh_pages(site_dir)]
    hits = [p for p in pages if english_runs(p.read_text(encoding="utf-8"), skip)[0]]
    assert len(hits) >= len(pages) - 2  # 404 and offline are short sentences
    html = (
        "<p>显存 <code>is not prose here</code> 与 <span lang='en' class='source'>vLLM log on"
        " RTX 4090 reports this</span></p><p title='Copy the link now'>Llama 3.1 8B</p>"
        "<p>This sentence is English.</p>"
    )
    runs, english = english_runs(html, ["Llama 3.1 8B"])
    assert runs == ["Copy the link now", "This sentence is English"]
    assert english == ["source"]
