"""Render: the Jinja environment and filters, pages, sitemap, manifest, service worker."""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from sitegen.api import api_files
from sitegen.assets import Assets
from sitegen.assets import site_version as versioned
from sitegen.compute import SiteFacts
from sitegen.config import (
    CONTENT_DIR,
    PAGE_LIMIT_BYTES,
    SITE_DIR,
    SITE_NAME,
    SITE_URL,
    TEMPLATES_DIR,
    BuildError,
    form_globals,
)
from sitegen.i18n import LANGUAGES, Text, localize_links, localized_url, translations
from sitegen.pages import Page


def _filters() -> dict[str, Callable[..., Any]]:
    import markupsafe

    from engine.units import format_gib, format_tokens

    def gib(n: int | None) -> str:
        return "—" if n is None else format_gib(int(n))

    def human_count(n: int | None) -> str:
        if n is None:
            return "—"
        for unit, scale in (("T", 10**12), ("B", 10**9), ("M", 10**6), ("K", 10**3)):
            if n >= scale:
                return f"{n / scale:.2f}{unit}".replace(".00", "")
        return str(n)

    def tokens(n: int | None) -> str:
        return "—" if n is None else format_tokens(int(n))

    def to_json(value: Any) -> str:
        text = json.dumps(value, sort_keys=True, separators=(",", ":"), default=_json_default)
        # Safe inside <script type="application/json">: no tag can be closed from the data.
        text = text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
        return markupsafe.Markup(text)

    return {"gib": gib, "count": human_count, "tokens": tokens, "tojson_safe": to_json}


def _json_default(value: Any) -> Any:
    if hasattr(value, "__dataclass_fields__"):
        from dataclasses import asdict

        return asdict(value)
    raise TypeError(f"not JSON serializable: {type(value).__name__}")


def make_env(templates_dir: Path = TEMPLATES_DIR) -> Any:
    """Return the Jinja environment: StrictUndefined (a missing key fails), autoescape."""
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(templates_dir)),
        extensions=["jinja2.ext.i18n"],
        undefined=jinja2.StrictUndefined,
        autoescape=jinja2.select_autoescape(("html", "xml")),
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters.update(_filters())
    env.globals["component_labels"] = _component_labels()
    env.globals.update(_present_globals())
    env.globals.update(form_globals())  # the engine's form schema (engine.form)
    env.install_gettext_translations(translations(""), newstyle=True)  # English: the source
    return env


@functools.cache
def gettext_callables(lang: str) -> dict[str, Callable[..., Any]]:
    """Return ``gettext``/``_``/``ngettext`` for a page language, passed in the render
    context so one environment renders every language ({% trans %} looks them up there).
    They behave like Jinja's newstyle gettext: autoescape-aware, ``%(name)s`` filled in;
    ``_(text)`` of a build-made ``sitegen.i18n.Text`` translates it with its own args, and
    of an engine ``Message`` (warnings, assumptions, errors) renders it in the language."""
    import jinja2
    import markupsafe

    from engine.messages import Message, normalize_lang
    from engine.messages import render as render_message

    catalogs = {code: catalog for code, catalog, _ in LANGUAGES}
    if lang not in catalogs:
        raise BuildError(f"no language {lang!r}; known: {', '.join(catalogs)}")
    tr = translations(catalogs[lang])

    def finish(context: Any, text: str, variables: dict[str, Any]) -> str:
        if context.eval_ctx.autoescape:
            text = markupsafe.Markup(text)
        return text % variables

    @jinja2.pass_context
    def gettext(ctx: Any, message: str, /, **variables: Any) -> str:
        if not message:  # gettext("") would be the catalog's header
            return message
        if isinstance(message, Message):  # engine prose: the engine's own catalog translates it
            return render_message(message, normalize_lang(lang))
        if isinstance(message, Text):
            args = message.args.items()
            own = {k: gettext(ctx, v) if isinstance(v, Text) else v for k, v in args}
            variables, message = {**own, **variables}, message.msgid
        return finish(ctx, tr.gettext(message), variables)

    @jinja2.pass_context
    def ngettext(ctx: Any, singular: str, plural: str, n: int, /, **variables: Any) -> str:
        variables.setdefault("num", n)
        return finish(ctx, tr.ngettext(singular, plural, n), variables)

    return {"gettext": gettext, "_": gettext, "ngettext": ngettext}


@functools.cache
def plain_gettext(lang: str) -> Callable[[str], str]:
    """Return the gettext present/ renders a page's result with: a msgid (or an engine
    ``Message``) in ``lang``, as plain text (present/ escapes what it writes)."""
    from engine.messages import Message, normalize_lang
    from engine.messages import render as render_message

    catalogs = {code: catalog for code, catalog, _ in LANGUAGES}
    if lang not in catalogs:
        raise BuildError(f"no language {lang!r}; known: {', '.join(catalogs)}")
    tr = translations(catalogs[lang])

    def gettext(message: str) -> str:
        if isinstance(message, Message):
            return render_message(message, normalize_lang(lang))
        return tr.gettext(message) if message else message

    return gettext


def _present_globals() -> dict[str, Callable[..., Any]]:
    """``present_panel(result)`` and ``present_chart(result)``: present/'s view of a result
    (the same HTML the worker returns live), in the language of the page being rendered."""
    import jinja2
    import markupsafe

    from present.render import chart_html, panel_html

    def lang_of(ctx: Any) -> str:
        page = ctx.get("page") or {}
        return str(page.get("lang", "en")) if isinstance(page, Mapping) else "en"

    @jinja2.pass_context
    def present_panel(ctx: Any, result: Mapping[str, Any]) -> markupsafe.Markup:
        return markupsafe.Markup(panel_html(dict(result), plain_gettext(lang_of(ctx))))

    @jinja2.pass_context
    def present_chart(ctx: Any, result: Mapping[str, Any]) -> markupsafe.Markup:
        return markupsafe.Markup(chart_html(dict(result), plain_gettext(lang_of(ctx))))

    return {"present_panel": present_panel, "present_chart": present_chart}


def _component_labels() -> dict[str, str]:
    """present/'s component labels (msgids), for the page's own tables (compare)."""
    from present.labels import COMPONENT_LABELS

    return dict(COMPONENT_LABELS)


def _translated_meta(meta: Mapping[str, Any], lang: str) -> Mapping[str, Any]:
    """Return the page meta with title and description in ``lang`` (msgids from plan)."""
    if lang == "en" or "msgids" not in meta:
        return meta
    catalog = {code: cat for code, cat, _ in LANGUAGES}[lang]
    tr = translations(catalog)
    title, description = (tr.gettext(msgid) % meta["args"] for msgid in meta["msgids"])
    return {**meta, "title": title, "description": description}


def render_page(env: Any, page: Page) -> str:
    """Return the page's HTML (pure); errors name the page."""
    try:
        meta = page.context.get("page") or {}
        lang = meta.get("lang", "en")
        context = {**page.context, "page": _translated_meta(meta, lang)}
        html = env.get_template(page.template).render(**context, **gettext_callables(lang))
        return localize_links(html, meta.get("prefix", ""))
    except Exception as exc:
        raise BuildError(
            f"while rendering {page.url} ({page.template}): {type(exc).__name__}: {exc}"
        ) from exc


def methodology_path(catalog: str = "", content_dir: Path = CONTENT_DIR) -> Path:
    """Return the methodology source for a catalog: ``content/methodology.md`` (English,
    the source) or ``content/<catalog>/methodology.md``, mirroring ``locale/<catalog>/``."""
    return content_dir / catalog / "methodology.md" if catalog else content_dir / "methodology.md"


def render_methodology(content_dir: Path = CONTENT_DIR) -> dict[str, str]:
    """Return the methodology page's HTML per page language (as in ``<html lang>``).

    Every language must have its own translation: a missing one fails the build rather
    than shipping English prose under /zh/ (tests/build/test_methodology.py also checks
    that the translation keeps the English file's headings, formulas, code and links).
    """
    import markdown

    if not methodology_path("", content_dir).is_file():
        return {lang: "<p>Methodology is being written.</p>" for lang, _, _ in LANGUAGES}
    pages: dict[str, str] = {}
    for lang, catalog, _ in LANGUAGES:
        path = methodology_path(catalog, content_dir)
        if not path.is_file():
            raise BuildError(f"{path} is missing: translate {methodology_path('', content_dir)}")
        pages[lang] = markdown.markdown(
            path.read_text(encoding="utf-8"),
            extensions=["tables", "toc", "fenced_code", "attr_list"],
        )
    return pages


def render_sw(version: str, protocol: int, pyodide_version: str, precache: Iterable[str]) -> str:
    """Return site/sw.js with the cache version, protocol and precache list filled in."""
    template = (SITE_DIR / "sw.js").read_text(encoding="utf-8")
    values = {
        "__VERSION__": json.dumps(version),
        "__PROTOCOL__": json.dumps(protocol),
        "__PYODIDE_VERSION__": json.dumps(pyodide_version),
        "__PRECACHE__": json.dumps(sorted(precache), indent=1),
        "__OFFLINE_PAGES__": json.dumps(offline_pages(), sort_keys=True),
    }
    for key, value in values.items():
        if key not in template:
            raise BuildError(f"site/sw.js lacks the {key} placeholder")
        template = template.replace(key, value)
    return template


def offline_pages() -> dict[str, str]:
    """Return URL prefix -> offline page for each language ({"/": "/offline.html", …})."""
    return {f"{prefix}/": localized_url("/offline.html", prefix) for _, _, prefix in LANGUAGES}


def render_sitemap(pages: Iterable[Page], lastmod: str) -> str:
    urls = sorted(p.url for p in pages if p.url.endswith("/"))
    body = "".join(
        f"  <url><loc>{SITE_URL}{u}</loc><lastmod>{lastmod}</lastmod></url>\n" for u in urls
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">\n' + body + "</urlset>\n"
    )


def render_manifest() -> str:
    icons = [
        {"src": "/icons/icon-192.png", "sizes": "192x192", "type": "image/png", "purpose": "any"},
        {"src": "/icons/icon-512.png", "sizes": "512x512", "type": "image/png", "purpose": "any"},
        {
            "src": "/icons/maskable-192.png",
            "sizes": "192x192",
            "type": "image/png",
            "purpose": "maskable",
        },
        {
            "src": "/icons/maskable-512.png",
            "sizes": "512x512",
            "type": "image/png",
            "purpose": "maskable",
        },
        {"src": "/icons/icon.svg", "sizes": "any", "type": "image/svg+xml", "purpose": "any"},
    ]
    manifest = {
        "name": f"{SITE_NAME} — GPU memory calculator",
        "short_name": SITE_NAME,
        "description": "Exact GPU memory for LLM inference, training and fine-tuning, offline.",
        "id": "/",
        "start_url": "/",
        "scope": "/",
        "display": "standalone",
        "background_color": "#ffffff",
        "theme_color": "#312e81",
        "icons": icons,
        "categories": ["developer", "utilities"],
    }
    return json.dumps(manifest, indent=2, sort_keys=True) + "\n"


def render_site(facts: SiteFacts, assets: Assets, pages: Sequence[Page]) -> dict[str, bytes]:
    """Return every generated file (path -> bytes) except the vendored copies."""
    env = make_env()
    out: dict[str, bytes] = dict(assets.files)
    for page in pages:
        html = render_page(env, page)
        size = len(html.encode())
        if size > PAGE_LIMIT_BYTES:
            raise BuildError(
                f"{page.url} is {size:,} bytes, over the {PAGE_LIMIT_BYTES:,} byte limit"
            )
        out[page.path] = html.encode()
    version = facts.data.version
    date = facts.build_time[:10]
    out["sitemap.xml"] = render_sitemap(pages, date).encode()
    out["robots.txt"] = f"User-agent: *\nAllow: /\nSitemap: {SITE_URL}/sitemap.xml\n".encode()
    out["manifest.webmanifest"] = render_manifest().encode()
    out.update(api_files(facts))  # /api/v1/ (sitegen/api.py)
    # The cache version covers every byte the service worker may serve, not the clock.
    site_version = versioned(
        version["engine_version"], out, assets.copies, facts.build_time
    )
    version_info = {
        "version": site_version,
        "engine_version": version["engine_version"],
        "protocol": version["protocol"],
        "schema": version.get("schema"),
        "pyodide_version": assets.pyodide_version,
        "build_time": facts.build_time,
        "models": len(facts.models),
        "gpus": len(facts.data.gpus),
    }
    out["version.json"] = (json.dumps(version_info, indent=2, sort_keys=True) + "\n").encode()
    health = {
        "status": "ok",
        **{k: version_info[k] for k in ("version", "engine_version", "build_time", "protocol")},
    }
    out["api/health.json"] = (json.dumps(health, indent=2, sort_keys=True) + "\n").encode()
    out["sw.js"] = render_sw(
        site_version, version["protocol"], assets.runtime or assets.pyodide_version, assets.precache
    ).encode()
    return out
