"""Translations for the build: the gettext catalogs of ``locale/`` (Babel .po files,
compiled to .mo in memory by ``sitegen.catalog``; no .mo is committed) loaded with
``gettext.GNUTranslations``; build-made prose (``Text``); a rendered page's internal links
localized."""

from __future__ import annotations

import functools
import gettext
import io
import re
from pathlib import Path
from typing import Any

from sitegen.catalog import LOCALE_DIR, compile_mo, read_catalog

# (page language as in <html lang>, gettext catalog, URL prefix); English is the source.
LANGUAGES: tuple[tuple[str, str, str], ...] = (("en", "", ""), ("zh-CN", "zh", "/zh"))


@functools.cache
def translations(catalog: str, locale_dir: Path = LOCALE_DIR) -> gettext.NullTranslations:
    """Return the gettext translations for a catalog ("" = English, the source)."""
    if not catalog:
        return gettext.NullTranslations()
    return gettext.GNUTranslations(io.BytesIO(compile_mo(read_catalog(catalog, locale_dir))))


class Text(str):
    """English prose made by the build (not by a template) that a page can still show in
    any language: the str is the English text, ``msgid`` and ``args`` the gettext message
    it came from. Code and tests use it as the plain English string; a template's ``_()``
    translates it (``sitegen.render.gettext_callables``), and translates args that are
    Text themselves. A msgid must be in locale/*/messages.po like any template's."""

    msgid: str
    args: dict[str, Any]

    def __new__(cls, msgid: str, /, **args: Any) -> Text:
        text = super().__new__(cls, msgid % args if args else msgid)
        text.msgid, text.args = msgid, args
        return text


def join_texts(parts: list[str]) -> str:
    """Return ``parts`` as one list ("a, b, c"), a Text when any part is one, so the
    separator follows the language too ("a，b，c")."""
    if not any(isinstance(p, Text) for p in parts):
        return ", ".join(parts)
    out: str = parts[0]
    for part in parts[1:]:
        out = Text("%(head)s, %(tail)s", head=out, tail=part)
    return out


# Page URLs (not assets, icons, the API) that a translated page points at its own language.
_PAGE_HREF = re.compile(r'\bhref="/(?=(?:models/|gpus/|methodology/|accuracy/|\?|#|"))')
_A_TAG = re.compile(r"<a\b[^>]*>")


def localize_links(html: str, prefix: str) -> str:
    """Prefix the internal page links of ``<a>`` tags (not language-switch links, which
    carry ``hreflang``) with the language's URL prefix."""
    if not prefix:
        return html

    def fix(match: re.Match[str]) -> str:
        tag = match.group(0)
        return tag if "hreflang=" in tag else _PAGE_HREF.sub(f'href="{prefix}/', tag)

    return _A_TAG.sub(fix, html)


def localized_url(url: str, prefix: str) -> str:
    """Return the URL of ``url``'s twin under ``prefix`` ("/models/" -> "/zh/models/")."""
    return prefix + url if prefix else url
