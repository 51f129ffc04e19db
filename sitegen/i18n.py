"""Translations: read ``locale/<lang>/LC_MESSAGES/messages.po``, compile it to the GNU .mo
format in memory (stdlib only, no Babel; no .mo file is committed), load it with
``gettext.GNUTranslations``; localize a rendered page's internal links."""

from __future__ import annotations

import ast
import functools
import gettext
import io
import re
import struct
from pathlib import Path
from typing import Any

from sitegen.config import ROOT, BuildError

LOCALE_DIR = ROOT / "locale"
# (page language as in <html lang>, gettext catalog, URL prefix); English is the source.
LANGUAGES: tuple[tuple[str, str, str], ...] = (("en", "", ""), ("zh-CN", "zh", "/zh"))
MO_MAGIC = 0x950412DE


def parse_po(text: str, *, source: str = "messages.po") -> dict[str, str]:
    """Return msgid -> msgstr from a .po file (no plurals, no contexts); fuzzy and empty
    translations are left out so gettext falls back to the English source."""
    messages: dict[str, str] = {}
    entry: dict[str, str] = {}
    key = ""
    fuzzy = False

    def flush() -> None:
        nonlocal entry, fuzzy
        translated = entry.get("msgstr") or entry.get("msgid") == ""
        if "msgid" in entry and translated and not fuzzy:
            messages[entry["msgid"]] = entry.get("msgstr", "")
        entry, fuzzy = {}, False

    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line:
            flush()
            continue
        if line.startswith("#"):
            if line.startswith("#,") and "fuzzy" in line:
                fuzzy = True
            continue
        word, _, rest = line.partition(" ")
        if word in ("msgid", "msgstr"):
            if word == "msgid" and "msgid" in entry:
                flush()
            key = word
            line = rest.strip()
        elif not line.startswith('"'):
            raise BuildError(f'{source}:{number}: cannot read {line!r} (msgid/msgstr/"…" only)')
        try:
            value = ast.literal_eval(line)
        except (ValueError, SyntaxError) as exc:
            raise BuildError(f"{source}:{number}: bad string {line!r}: {exc}") from exc
        if not isinstance(value, str) or not key:
            raise BuildError(f"{source}:{number}: expected a quoted string after msgid/msgstr")
        entry[key] = entry.get(key, "") + value
    flush()
    return messages


def compile_mo(messages: dict[str, str]) -> bytes:
    """Return the GNU .mo bytes for ``messages`` (msgids sorted, no hash table)."""
    items = sorted((k.encode(), v.encode()) for k, v in messages.items())
    count = len(items)
    ids_at = 7 * 4
    strs_at = ids_at + count * 8
    data_at = strs_at + count * 8
    ids_table, strs_table, blob = [], [], io.BytesIO()
    for msgid, _ in items:
        ids_table += [len(msgid), data_at + blob.tell()]
        blob.write(msgid + b"\0")
    for _, msgstr in items:
        strs_table += [len(msgstr), data_at + blob.tell()]
        blob.write(msgstr + b"\0")
    header = struct.pack("<7I", MO_MAGIC, 0, count, ids_at, strs_at, 0, 0)
    tables = struct.pack(f"<{4 * count}I", *ids_table, *strs_table)
    return header + tables + blob.getvalue()


@functools.cache
def translations(catalog: str, locale_dir: Path = LOCALE_DIR) -> gettext.NullTranslations:
    """Return the gettext translations for a catalog ("" = English, the source)."""
    if not catalog:
        return gettext.NullTranslations()
    po = locale_dir / catalog / "LC_MESSAGES" / "messages.po"
    if not po.is_file():
        raise BuildError(f"no catalog {po}: write it (msgid/msgstr pairs) or drop {catalog!r}")
    messages = parse_po(po.read_text(encoding="utf-8"), source=str(po))
    return gettext.GNUTranslations(io.BytesIO(compile_mo(messages)))


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
