"""Bilingual site: every English page has a /zh/ twin with the same figures, the catalogs
compile (Babel) and load through gettext, the twins point at each other."""

from __future__ import annotations

import gettext
import io
import re
import struct
from pathlib import Path

import pytest

from sitegen.catalog import LOCALE_DIR, compile_mo, translated
from sitegen.config import SITE_URL, BuildError
from sitegen.i18n import Text, join_texts, localize_links, translations

DATA_BYTES = re.compile(r'data-bytes="(\d+)"')
ALTERNATE = re.compile(r'<link rel="alternate" hreflang="([^"]+)" href="([^"]+)">')
HAN = re.compile(r"[\u4e00-\u9fff]")


def english_pages(site: Path) -> list[Path]:
    return sorted(p for p in site.rglob("*.html") if p.relative_to(site).parts[0] != "zh")


def url_of(site: Path, page: Path) -> str:
    rel = page.relative_to(site).as_posix()
    return "/" + (rel[: -len("index.html")] if rel.endswith("index.html") else rel)


def file_of(site: Path, url: str) -> Path:
    assert url.startswith(SITE_URL + "/"), url
    path = url[len(SITE_URL) :]
    return site / path.lstrip("/") / "index.html" if path.endswith("/") else site / path[1:]


def test_every_english_page_has_a_zh_twin_with_the_same_figures(site_dir):
    pages = english_pages(site_dir)
    assert len(pages) > 100  # 70 models + GPUs + the section pages
    for page in pages:
        twin = site_dir / "zh" / page.relative_to(site_dir)
        assert twin.is_file(), f"{page} has no /zh/ twin"
        en, zh = page.read_text(encoding="utf-8"), twin.read_text(encoding="utf-8")
        # same engine figures, same order: the translation changes words, never numbers
        assert DATA_BYTES.findall(en) == DATA_BYTES.findall(zh), twin


def test_zh_pages_are_chinese_and_english_pages_english(site_dir):
    for page in english_pages(site_dir):
        twin = site_dir / "zh" / page.relative_to(site_dir)
        en, zh = page.read_text(encoding="utf-8"), twin.read_text(encoding="utf-8")
        assert en.startswith('<!doctype html>\n<html lang="en"'), page
        assert zh.startswith('<!doctype html>\n<html lang="zh-CN"'), twin
        nav = re.split(r'<nav [^>]*aria-label="', zh, maxsplit=1)[1].split("</nav>", 1)[0]
        # the nav labels from locale/zh/LC_MESSAGES/messages.po
        for label in ("计算器", "模型", "计算方法", "准确度"):
            assert label in nav, twin
        assert ">Calculator</a>" in en and "计算器" not in en.split("<nav", 1)[1].split("</nav>")[0]


def test_model_page_headings_are_translated(site_dir):
    zh = (site_dir / "zh/models/llama-3.1-8b/index.html").read_text(encoding="utf-8")
    assert "<h1>Llama 3.1 8B — 显存需求</h1>" in zh
    assert '<h2 id="weights">各量化格式的权重大小</h2>' in zh
    body = zh.split('<main id="main">', 1)[1]
    assert len(HAN.findall(body)) > 100


def test_hreflang_links_resolve_both_ways(site_dir):
    checked = 0
    for page in english_pages(site_dir):
        for twin in (page, site_dir / "zh" / page.relative_to(site_dir)):
            alternates = dict(ALTERNATE.findall(twin.read_text(encoding="utf-8")))
            assert set(alternates) == {"en", "zh-CN", "x-default"}, twin
            for href in alternates.values():
                assert file_of(site_dir, href).is_file(), f"{twin}: {href}"
            assert file_of(site_dir, alternates["en"]) == page
            assert file_of(site_dir, alternates["zh-CN"]) == site_dir / "zh" / page.relative_to(
                site_dir
            )
            checked += 1
    assert checked > 200


def test_language_switch_links_to_the_twin(site_dir):
    en = (site_dir / "gpus/index.html").read_text(encoding="utf-8")
    zh = (site_dir / "zh/gpus/index.html").read_text(encoding="utf-8")
    assert 'class="lang-switch" href="/zh/gpus/" hreflang="zh-CN"' in en
    assert 'class="lang-switch" href="/gpus/" hreflang="en"' in zh
    # internal links on a zh page stay in Chinese; assets stay shared
    hrefs = re.findall(r'<a [^>]*href="(/[^"]*)"', zh)
    page_links = [h for h in hrefs if not h.startswith(("/api/", "/icons/", "/assets/"))]
    assert page_links and all(h.startswith("/zh/") or h == "/gpus/" for h in page_links)


def test_sitemap_lists_both_languages_and_precache_stays_english(site_dir):
    sitemap = (site_dir / "sitemap.xml").read_text(encoding="utf-8")
    assert f"<loc>{SITE_URL}/models/llama-3.1-8b/</loc>" in sitemap
    assert f"<loc>{SITE_URL}/zh/models/llama-3.1-8b/</loc>" in sitemap
    assert sitemap.count("<loc>") == 2 * sitemap.count("<loc>" + SITE_URL + "/zh/")
    sw = (site_dir / "sw.js").read_text(encoding="utf-8")
    precache = sw.split("const PRECACHE = ", 1)[1].split(";\n", 1)[0]
    # zh pages are cached on visit (network-first), not upfront; only their offline page is
    assert re.findall(r'"(/zh/[^"]*)"', precache) == ["/zh/offline.html"]
    assert '"/zh/": "/zh/offline.html"' in sw and '"/": "/offline.html"' in sw


def _catalog(tmp_path: Path, po: str):
    """Write ``po`` as locale/xx/LC_MESSAGES/messages.po under tmp_path; return its Catalog."""
    from sitegen.catalog import po_path, read_catalog

    path = po_path("xx", tmp_path)
    path.parent.mkdir(parents=True)
    path.write_text(po, encoding="utf-8")
    return read_catalog("xx", tmp_path)


def test_mo_compiler_round_trips_through_gnutranslations(tmp_path):
    catalog = _catalog(
        tmp_path,
        'msgid ""\nmsgstr ""\n"Content-Type: text/plain; charset=UTF-8\\n"\n\n'
        'msgid "Models"\nmsgstr "模型"\n\n'
        'msgid "%(n)s layers"\nmsgstr "%(n)s 层"\n\n'
        'msgid "a \\"quoted\\" \\\\ line\\nbreak"\nmsgstr "引号 \\\\ 换行\\n"\n\n'
        'msgid "zzz last"\nmsgstr "最后"\n',
    )
    mo = compile_mo(catalog)
    magic, revision, count = struct.unpack("<3I", mo[:12])
    assert (magic, revision, count) == (0x950412DE, 0, 5)  # four messages and the header
    tr = gettext.GNUTranslations(io.BytesIO(mo))
    expected = {
        "Models": "模型",
        "%(n)s layers": "%(n)s 层",
        'a "quoted" \\ line\nbreak': "引号 \\ 换行\n",
        "zzz last": "最后",
    }
    for msgid, msgstr in expected.items():
        assert tr.gettext(msgid) == msgstr
    assert tr.gettext("not in the catalog") == "not in the catalog"
    assert tr.info()["content-type"] == "text/plain; charset=utf-8"


def test_po_reader_joins_continuations_and_skips_fuzzy_and_untranslated(tmp_path):
    catalog = _catalog(
        tmp_path,
        'msgid ""\nmsgstr ""\n"Content-Type: text/plain; charset=UTF-8\\n"\n\n'
        '#: base.html\nmsgid "Hello "\n"world"\nmsgstr "你好"\n"世界"\n\n'
        '#, fuzzy\nmsgid "Maybe"\nmsgstr "也许"\n\n'
        'msgid "Untranslated"\nmsgstr ""\n\n'
        'msgid "Tab\\tquote\\""\nmsgstr "制表\\t引号\\""\n',
    )
    assert translated(catalog) == {"Hello world": "你好世界", 'Tab\tquote"': '制表\t引号"'}
    tr = gettext.GNUTranslations(io.BytesIO(compile_mo(catalog)))
    assert tr.gettext("Maybe") == "Maybe" and tr.gettext("Untranslated") == "Untranslated"
    with pytest.raises(BuildError, match=r"messages\.po"):
        _catalog(tmp_path / "bad", 'msgid "x"\nbogus "y"\n')


def test_the_zh_catalog_loads_and_covers_the_nav():
    tr = translations("zh")
    assert isinstance(tr, gettext.GNUTranslations)
    for en, zh in (("Calculator", "计算器"), ("Models", "模型"), ("Accuracy", "准确度")):
        assert tr.gettext(en) == zh
    assert not list(LOCALE_DIR.rglob("*.mo")), "compile at build time; commit no .mo"
    assert isinstance(translations(""), gettext.NullTranslations)


def test_localize_links_keeps_assets_and_language_switches():
    html = (
        '<a href="/">c</a><a href="/models/x/">m</a><a href="/?model=x">o</a>'
        '<a href="/api/health.json">s</a><link rel="icon" href="/icons/icon.svg">'
        '<a class="lang-switch" href="/models/x/" hreflang="en">EN</a>'
    )
    assert localize_links(html, "/zh") == (
        '<a href="/zh/">c</a><a href="/zh/models/x/">m</a><a href="/zh/?model=x">o</a>'
        '<a href="/api/health.json">s</a><link rel="icon" href="/icons/icon.svg">'
        '<a class="lang-switch" href="/models/x/" hreflang="en">EN</a>'
    )
    assert localize_links(html, "") == html


def test_titles_and_descriptions_are_translated(site_dir):
    en = (site_dir / "models/llama-3.1-8b/index.html").read_text(encoding="utf-8")
    zh = (site_dir / "zh/models/llama-3.1-8b/index.html").read_text(encoding="utf-8")
    assert "<title>Llama 3.1 8B GPU memory requirements · VRAM Insight</title>" in en
    assert "<title>Llama 3.1 8B 显存需求 · VRAM Insight</title>" in zh
    assert '<meta name="description" content="Llama 3.1 8B 需要多少显存' in zh
    assert f'<link rel="canonical" href="{SITE_URL}/zh/models/llama-3.1-8b/">' in zh


def test_every_template_msgid_has_a_chinese_translation():
    from sitegen.config import TEMPLATES_DIR
    from sitegen.render import make_env

    env = make_env()
    tr = translations("zh")
    missing, checked = [], 0
    for template in sorted(TEMPLATES_DIR.glob("*.html")):
        for _, _, message in env.extract_translations(template.read_text(encoding="utf-8")):
            msgid = message[0] if isinstance(message, tuple) else message
            checked += 1
            if (
                msgid
                and tr.gettext(msgid) == msgid
                and msgid not in ("Logits", "GPU", "Eager", "LoRA alpha")
            ):
                missing.append(f"{template.name}: {msgid!r}")
    assert checked > 80  # base, models, model, gpus, gpu, accuracy, 404, offline, macros
    assert not missing, "add these to locale/zh/LC_MESSAGES/messages.po:\n" + "\n".join(missing)


def _texts(value: object) -> list[Text]:
    """Every sitegen.i18n.Text in ``value`` and in its args, recursively."""
    if isinstance(value, Text):
        return [value, *(t for arg in value.args.values() for t in _texts(arg))]
    if isinstance(value, dict):
        return [t for v in value.values() for t in _texts(v)]
    if isinstance(value, (list, tuple)):
        return [t for v in value for t in _texts(v)]
    if hasattr(value, "__dataclass_fields__"):
        return [t for name in value.__dataclass_fields__ for t in _texts(getattr(value, name))]
    return []


def test_every_text_the_build_writes_has_a_chinese_translation():
    """Prose made in sitegen (accuracy rows, GPU specs, model notes) rather than in a
    template is a Text; its msgid must be in the catalog like a template's."""
    from engine.api import call
    from sitegen.accuracy import load_accuracy
    from sitegen.pages import _gpu_specs

    texts = _texts(list(load_accuracy())) + _texts([_gpu_specs(g) for g in call("gpus")])
    tr = translations("zh")
    msgids = {t.msgid for t in texts}
    assert len(msgids) > 25
    missing = sorted(m for m in msgids if tr.gettext(m) == m and m != "%(vendor)s · %(kind)s")
    assert not missing, "add these to locale/zh/LC_MESSAGES/messages.po:\n" + "\n".join(missing)


def test_text_is_english_in_code_and_translated_on_pages():
    from sitegen.render import gettext_callables, make_env

    text = Text(
        "%(head)s, %(tail)s",
        head=Text("batch %(batch)s × %(seq)s tokens", batch=2, seq="<8>"),
        tail=Text("checkpointing"),
    )
    assert text == "batch 2 × <8> tokens, checkpointing" and text.startswith("batch 2")
    assert join_texts(["a", "b"]) == "a, b" and not isinstance(join_texts(["a", "b"]), Text)
    assert join_texts(["a", Text("checkpointing")]).msgid == "%(head)s, %(tail)s"
    template = make_env().from_string("{{ _(t) }}|{{ _('') }}")
    assert template.render(t=text, **gettext_callables("en")) == (
        "batch 2 × &lt;8&gt; tokens, checkpointing|"
    )
    assert template.render(t=text, **gettext_callables("zh-CN")) == (
        "批大小 2 × &lt;8&gt; token，梯度检查点|"  # args escaped once, the header never shown
    )


# ---------------------------------------------------------------- one gettext pipeline


def test_every_msgid_the_page_code_uses_is_translated_and_shipped():
    """t()/tn()/tAttr()/N_() in site/*.js are extracted by Babel; each has Chinese and German
    in the .po and is in the compiled page catalog the build writes (messages-<lang>.js)."""
    from sitegen.catalog import extract, page_messages

    js = {m.id for m in extract() if any(loc[0].startswith("site/") for loc in m.locations)}
    assert len(js) > 25
    for page_lang in ("zh-CN", "de"):
        shipped = page_messages(page_lang)
        missing = sorted(js - set(shipped))
        assert not missing, f"translate in locale/…/messages.po for {page_lang}:\n{missing}"


def test_no_english_sentence_is_matched_with_patterns():
    """JS renders from message ids: i18n.js has no strings table or regex re-translation."""
    from sitegen.config import SITE_DIR

    i18n = (SITE_DIR / "i18n.js").read_text(encoding="utf-8")
    assert "PATTERNS" not in i18n and "STRINGS" not in i18n
    assert 'import("./messages-zh-cn.js")' in i18n and 'import("./messages-de.js")' in i18n


def test_page_catalogs_are_built_hashed_and_precached(site_dir):
    from sitegen.catalog import page_messages

    built = sorted(site_dir.glob("assets/messages-*.js"))
    assert [p.name.split(".")[0] for p in built] == ["messages-de", "messages-zh-cn"]
    zh = next(p for p in built if p.name.startswith("messages-zh-cn"))
    assert '"Calculator": "计算器"' in zh.read_text(encoding="utf-8")
    sw = (site_dir / "sw.js").read_text(encoding="utf-8")
    assert all(f"/assets/{p.name}" in sw for p in built)
    i18n = next(site_dir.glob("assets/i18n.*.js")).read_text(encoding="utf-8")
    assert f'import("./{zh.name}")' in i18n
    # a label the template takes from the engine's form schema (N_ in engine/form.py)
    assert page_messages("de")["Context (tokens)"] == "Kontext (Tokens)"


def test_engine_catalog_and_page_catalog_agree_with_the_po():
    from engine.messages import load_catalog
    from sitegen.catalog import read_catalog, translated

    zh = translated(read_catalog("zh"))
    engine = load_catalog("zh")
    assert engine and all(zh[k] == v for k, v in engine.items())


# msgids that no source passes to a gettext call yet, and who is to: the page still looks
# them up by msgid in text those modules write in English. Empty this as they adopt t().
NOT_YET_EXTRACTED: dict[str, str] = {}


def test_every_catalog_msgid_comes_from_a_source():
    """The .po holds what Babel extracts (plus the transition list above): a msgid no
    source uses is stale (run `python -m sitegen.catalog update`), and one the list names
    that is now extracted should leave the list."""
    from sitegen.catalog import CATALOGS, extract, read_catalog

    extracted = {m.id for m in extract() if m.id}
    for lang in CATALOGS:
        ids = {m.id for m in read_catalog(lang) if m.id}
        assert sorted(ids - extracted - set(NOT_YET_EXTRACTED)) == [], lang
        assert sorted(extracted - ids) == [], f"{lang}: run python -m sitegen.catalog update"
    assert sorted(set(NOT_YET_EXTRACTED) & extracted) == [], "extracted now: drop from the list"
