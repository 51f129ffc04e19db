"""Plan: every page as (url, template, context), from the computed facts. Pure."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import Any, TypedDict

from engine.form import N_
from sitegen.accuracy import AccuracySection
from sitegen.api import model_kinds
from sitegen.assets import Assets
from sitegen.compute import (
    GpuFit,
    ModelFacts,
    SiteFacts,
    gpu_capacity_bytes,
    gpu_name,
    model_name,
    pick_formats,
    present_render,
)
from sitegen.config import MATRIX_FORMATS, SITE_NAME, SITE_URL
from sitegen.i18n import LANGUAGES, Text, localized_url


class BaseContext(TypedDict):
    """Every template: ``site`` (assets, versions, model/GPU lists) and ``page`` meta."""

    site: Mapping[str, Any]
    page: Mapping[str, Any]  # title, description, url, canonical, section, lang, alternates


class CalculatorContext(BaseContext):
    request: Mapping[str, Any]  # the default engine request, baked into the page
    result: Mapping[str, Any]  # its engine result (schema 1), shown at first paint
    formats: list[dict[str, str]]
    all_formats: list[dict[str, str]]
    presets: list[Mapping[str, Any]]
    chart: Mapping[str, str]  # present.render.render(result): donut, legend, capacity, exports


class ModelsContext(BaseContext):
    models: list[dict[str, Any]]  # the table's rows: every model, a family's, or none
    total: int  # models in the catalog (the lede's count)
    families: list[dict[str, Any]]  # links to the family pages; empty when the index lists all
    family: Mapping[str, Any] | None  # on a family page: its name and pages


class GpusContext(BaseContext):
    gpus: list[dict[str, Any]]


class ModelContext(BaseContext):
    m: ModelFacts
    name: str
    gpus: Mapping[str, Mapping[str, Any]]
    formats: Mapping[str, str]


class GpuContext(BaseContext):
    g: Mapping[str, Any]
    name: str
    capacity: int
    specs: list[dict[str, Any]]
    formats: Mapping[str, str]
    fits: list[dict[str, Any]]  # every model that fits, when there are few enough
    ranked: list[dict[str, Any]]  # else the top models per size class (see _rank_fits)
    fits_total: int


# Scale: no page may grow with the catalog. Up to these counts a page lists everything (the
# current catalog); above them the models index links to pages per family (and filters the
# JSON index client-side, site/models-index.js) and a GPU page ranks the top models per
# size class, linking to its full fit table in the JSON API.
INDEX_ALL_MODELS = 150
FAMILY_PAGE_SIZE = 150
GPU_ALL_FITS = 100
GPU_TOP_PER_CLASS = 8
CALCULATOR_MODELS = 600  # options in the calculator's model <select>
# (upper bound in parameters, label msgid) of the GPU pages' size classes, largest first
SIZE_CLASSES: tuple[tuple[float, str], ...] = (
    (float("inf"), N_("150B parameters and more")),
    (150e9, N_("40B to 150B parameters")),
    (40e9, N_("15B to 40B parameters")),
    (15e9, N_("4B to 15B parameters")),
    (4e9, N_("Under 4B parameters")),
)


class ContentContext(BaseContext):
    body: str | PerLanguage  # trusted HTML from content/[<catalog>/]methodology.md


class AccuracyContext(BaseContext):
    sections: list[AccuracySection]


@dataclass(frozen=True)
class PerLanguage:
    """A context value that differs by page language (``<html lang>`` -> value), such as
    a translated Markdown body; ``_with_languages`` hands each page its own."""

    values: Mapping[str, Any]


@dataclass(frozen=True)
class Page:
    """One output HTML file: ``path`` relative to public/, ``url`` its canonical URL."""

    path: str
    url: str
    template: str
    context: Mapping[str, Any]


def _page_meta(url: str, title: str, description: str, section: str, **args: Any) -> dict[str, Any]:
    """Page meta; ``title`` and ``description`` are gettext msgids with ``%(name)s``
    fields filled from ``args`` (and ``site``), translated per language at render time."""
    args = {"site": SITE_NAME, **args}
    return {
        "url": url,
        "canonical": SITE_URL + url,
        "title": title % args,
        "description": description % args,
        "msgids": (title, description),
        "args": args,
        "section": section,
    }


def site_context(facts: SiteFacts, assets: Assets) -> dict[str, Any]:
    data = facts.data
    return {
        "name": SITE_NAME,
        "url": SITE_URL,
        "assets": dict(assets.urls),
        "engine_version": data.version.get("engine_version"),
        "protocol": data.version.get("protocol"),
        "pyodide_version": assets.pyodide_version,
        "build_time": facts.build_time,
        # the calculator's <select> (capped: CALCULATOR_MODELS) and the catalog's size
        "models": [{"slug": m["slug"], "name": model_name(m)} for m in _select_models(facts)],
        "model_count": len(data.models),
        # the calculator's GPU <select>: the page reads sizes from the engine, not from here
        "gpus": [{"slug": g["slug"], "name": gpu_name(g)} for g in data.gpus],
    }


def _select_models(facts: SiteFacts) -> list[Mapping[str, Any]]:
    """The calculator's model options: every model up to CALCULATOR_MODELS, else the most
    recent ones and the default (sorted by slug, as the catalog); the search box and links
    (``/?model=<slug>``) reach the others."""
    models = facts.data.models
    if len(models) <= CALCULATOR_MODELS:
        return list(models)
    default = facts.default_request.get("model")
    recent = sorted(models, key=lambda m: (str(m.get("release_date") or ""), m["slug"]))
    keep = {m["slug"] for m in recent[-CALCULATOR_MODELS + 1 :]} | {default}
    return [m for m in models if m["slug"] in keep]


@dataclass(frozen=True)
class PageKind:
    """One row of the page table: a URL (``{slug}`` filled per item), its template, the
    ``<title>`` and description msgids (``%(name)s`` fields from ``args``), the nav section,
    and the context the template gets besides ``site`` and ``page``. ``items`` makes one
    page per (slug, item); without it the kind is a single page."""

    url: str
    template: str
    title: str
    description: str
    section: str
    context: Callable[[_Plan, Any], dict[str, Any]]
    args: Callable[[_Plan, Any], dict[str, Any]] = lambda plan, item: {}
    items: Callable[[_Plan], Iterable[tuple[str, Any]]] | None = None

    def path(self, url: str) -> str:
        """The output file for ``url``: a directory URL gets its index.html."""
        return url.lstrip("/") + ("index.html" if url.endswith("/") else "")


@dataclass(frozen=True)
class _Plan:
    """What the context builders share: the facts and lookups made once per build."""

    facts: SiteFacts
    methodology_html: str | Mapping[str, str]

    @cached_property
    def formats(self) -> dict[str, str]:
        return dict(pick_formats(self.facts.data.formats))

    @cached_property
    def gpus(self) -> dict[str, Mapping[str, Any]]:
        return {g["slug"]: g for g in self.facts.data.gpus}

    @cached_property
    def models(self) -> dict[str, ModelFacts]:
        return {m.slug: m for m in self.facts.models}

    @cached_property
    def matrix_formats(self) -> dict[str, str]:
        return {f: label for f, label in self.formats.items() if f in MATRIX_FORMATS}

    @cached_property
    def summaries(self) -> list[dict[str, Any]]:
        return [_model_summary(m) for m in self.facts.models]

    @cached_property
    def families(self) -> list[dict[str, Any]]:
        """The family pages (none while the index lists every model), by family name."""
        if len(self.facts.models) <= INDEX_ALL_MODELS:
            return []
        groups: dict[str, list[dict[str, Any]]] = {}
        for summary in self.summaries:
            groups.setdefault(summary["family"], []).append(summary)
        out = []
        for name in sorted(groups, key=str.lower):
            slug = family_slug(name)
            models = groups[name]
            chunks = [
                models[i : i + FAMILY_PAGE_SIZE] for i in range(0, len(models), FAMILY_PAGE_SIZE)
            ]
            urls = [
                f"/models/family/{slug}/" + (f"{n}/" if n > 1 else "")
                for n in range(1, len(chunks) + 1)
            ]
            out.append(
                {
                    "slug": slug,
                    "name": name,
                    "count": len(models),
                    "url": urls[0],
                    "chunks": chunks,
                    "urls": urls,
                }
            )
        return out


def _calculator(plan: _Plan, _: None) -> dict[str, Any]:
    facts = plan.facts
    return {
        "request": facts.default_request,
        "result": facts.default_result,
        "formats": [{"id": f, "label": lbl} for f, lbl in plan.formats.items()],
        "all_formats": [_fmt_option(f) for f in facts.data.formats],
        "presets": list(facts.data.presets),
        # the donut, legend and exports, drawn by the code the worker runs (present/)
        "chart": present_render(facts.default_result),
    }


def _model(plan: _Plan, m: ModelFacts) -> dict[str, Any]:
    return {"m": m, "name": model_name(m.meta), "gpus": plan.gpus, "formats": plan.formats}


def _gpu(plan: _Plan, g: Mapping[str, Any]) -> dict[str, Any]:
    formats = plan.matrix_formats
    fits = _gpu_fit_rows(plan.facts.gpu_fits[g["slug"]], plan.models, formats)
    ranked = _rank_fits(fits, plan.models) if len(fits) > GPU_ALL_FITS else []
    return {
        "g": g,
        "name": gpu_name(g),
        "capacity": gpu_capacity_bytes(g),
        "specs": _gpu_specs(g),
        "formats": formats,
        "fits": [] if ranked else fits,
        "ranked": ranked,
        "fits_total": len(fits),
    }


def _models_index(plan: _Plan, _: None) -> dict[str, Any]:
    families = plan.families
    return {
        "models": [] if families else plan.summaries,
        "total": len(plan.summaries),
        "families": [{k: f[k] for k in ("slug", "name", "count", "url")} for f in families],
        "family": None,
    }


def _family_pages(plan: _Plan) -> Iterable[tuple[str, Any]]:
    for family in plan.families:
        for n, (url, chunk) in enumerate(zip(family["urls"], family["chunks"], strict=True)):
            slug = url.removeprefix("/models/family/").rstrip("/")
            yield slug, (family, n, chunk)


def _family(plan: _Plan, item: tuple[Mapping[str, Any], int, list[dict[str, Any]]]) -> dict:
    family, n, chunk = item
    pages = [{"n": i + 1, "url": u, "current": i == n} for i, u in enumerate(family["urls"])]
    return {
        "models": chunk,
        "total": len(plan.summaries),
        "families": [],
        "family": {"name": family["name"], "count": family["count"], "pages": pages},
    }


def _nothing(plan: _Plan, _: None) -> dict[str, Any]:
    return {}


def _methodology(plan: _Plan, _: None) -> dict[str, Any]:
    html = plan.methodology_html
    return {"body": html if isinstance(html, str) else PerLanguage(html)}


# Every page of the site, in output order (the sitemap's and the tests'). Contexts:
# CalculatorContext, ModelsContext, GpusContext, ModelContext, GpuContext, ContentContext,
# AccuracyContext, BaseContext.
PAGES: tuple[PageKind, ...] = (
    PageKind(
        "/",
        "calculator.html",
        "%(site)s — GPU memory calculator for LLMs",
        "How much GPU memory does an LLM need? Exact inference, training, LoRA and "
        "QLoRA memory for any Hugging Face config, computed in your browser.",
        "calculator",
        _calculator,
    ),
    PageKind(
        "/models/",
        "models.html",
        "LLM memory requirements — all models · %(site)s",
        "Parameters, weight sizes and KV cache for %(n)s open LLMs.",
        "models",
        _models_index,
        args=lambda plan, _: {"n": len(plan.facts.models)},
    ),
    PageKind(
        "/models/family/{slug}/",
        "models.html",
        "%(name)s models — memory requirements · %(site)s",
        "Parameters, weight sizes and KV cache for the %(n)s %(name)s models.",
        "models",
        _family,
        args=lambda plan, item: {"name": item[0]["name"], "n": item[0]["count"]},
        items=_family_pages,
    ),
    PageKind(
        "/gpus/",
        "gpus.html",
        "GPUs for LLMs — memory, bandwidth, price · %(site)s",
        "Memory, bandwidth and price of %(n)s GPUs, with the models each runs.",
        "gpus",
        lambda plan, _: {
            "gpus": [_gpu_summary(g, plan.facts.gpu_fits[g["slug"]]) for g in plan.gpus.values()]
        },
        args=lambda plan, _: {"n": len(plan.gpus)},
    ),
    PageKind(
        "/models/{slug}/",
        "model.html",
        "%(name)s GPU memory requirements · %(site)s",
        "How much VRAM %(name)s needs: weights at every quantization, KV cache per "
        "1k tokens, memory by context length, GPUs that fit, training and LoRA.",
        "models",
        _model,
        args=lambda plan, m: {"name": model_name(m.meta)},
        items=lambda plan: ((m.slug, m) for m in plan.facts.models),
    ),
    PageKind(
        "/gpus/{slug}/",
        "gpu.html",
        "Which LLMs fit on %(name)s? · %(site)s",
        "Every catalog model that runs on one %(name)s, at which quantization, "
        "and the longest context it can serve.",
        "gpus",
        _gpu,
        args=lambda plan, g: {"name": gpu_name(g)},
        items=lambda plan: ((g["slug"], g) for g in plan.facts.data.gpus),
    ),
    PageKind(
        "/methodology/",
        "content.html",
        "Methodology — how the memory is computed · %(site)s",
        "Every formula behind the estimates, with its source.",
        "methodology",
        _methodology,
    ),
    PageKind(
        "/accuracy/",
        "accuracy.html",
        "Accuracy — engine vs measured memory · %(site)s",
        "The engine's figures beside reference measurements, with the error of each.",
        "accuracy",
        lambda plan, _: {"sections": list(plan.facts.accuracy)},
    ),
    PageKind("/404.html", "404.html", "Not found · %(site)s", "Page not found.", "", _nothing),
    PageKind(
        "/offline.html", "offline.html", "Offline · %(site)s", "You are offline.", "", _nothing
    ),
)


def plan_pages(
    facts: SiteFacts, assets: Assets, methodology_html: str | Mapping[str, str] = ""
) -> list[Page]:
    """Return every HTML page to render (pure: no disk, no engine calls): one per row of
    ``PAGES``, or one per item of a row that has ``items``.

    ``methodology_html`` is the body per page language (``render_methodology``), or one
    body for every language."""
    site = site_context(facts, assets)
    plan = _Plan(facts, methodology_html)
    pages = []
    for kind in PAGES:
        for slug, item in kind.items(plan) if kind.items else (("", None),):
            url = kind.url.format(slug=slug)
            meta = _page_meta(
                url, kind.title, kind.description, kind.section, **kind.args(plan, item)
            )
            context = {"site": site, "page": meta, **kind.context(plan, item)}
            pages.append(Page(kind.path(url), url, kind.template, context))
    return _with_languages(pages)


def _with_languages(pages: list[Page]) -> list[Page]:
    """Return every page once per language in LANGUAGES: English at its URL, each other
    language under its prefix (/zh/models/…), all with the same context and figures, and
    each naming its twins (hreflang) and the switch to the other language."""
    out: list[Page] = []
    for lang, _, prefix in LANGUAGES:
        for page in pages:
            alternates = [
                {
                    "lang": other,
                    "url": localized_url(page.url, other_prefix),
                    "href": SITE_URL + localized_url(page.url, other_prefix),
                }
                for other, _, other_prefix in LANGUAGES
            ]
            url = localized_url(page.url, prefix)
            meta = {
                **page.context["page"],
                "url": url,
                "canonical": SITE_URL + url,
                "lang": lang,
                "prefix": prefix,
                "alternates": alternates,
                "switch": [a for a in alternates if a["lang"] != lang],
            }
            path = f"{prefix.strip('/')}/{page.path}" if prefix else page.path
            context = {
                key: value.values[lang] if isinstance(value, PerLanguage) else value
                for key, value in page.context.items()
            }
            out.append(Page(path, url, page.template, {**context, "page": meta}))
    return out


def _fmt_option(fmt: Mapping[str, Any]) -> dict[str, str]:
    return {
        "id": str(fmt["id"]),
        "label": str(fmt.get("label") or fmt["id"]),
        "runtimes": " ".join(fmt.get("runtimes") or ()),
    }


def family_slug(name: str) -> str:
    """The URL segment of a family name ("Llama 3.1" -> "llama-3-1")."""
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-") or "other"


def _model_summary(m: ModelFacts) -> dict[str, Any]:
    weights = {row.fmt: row.weights_bytes for row in m.rows}
    return {
        "slug": m.slug,
        "name": model_name(m.meta),
        "family": str(m.meta.get("family") or "Other"),
        "developer": m.meta.get("developer"),
        "license": m.meta.get("license"),
        "release_date": m.meta.get("release_date"),
        "total": m.params.get("total"),
        "active": m.params.get("active_per_token"),
        "is_moe": m.params.get("is_moe"),
        "kinds": model_kinds(m),
        "model_type": m.params.get("model_type"),
        "max_context": m.params.get("max_position_embeddings"),
        "kv_per_1k": m.kv_per_1k_bytes,
        "weights": weights,
    }


def _gpu_specs(g: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Return the GPU's spec rows: label, text, optional exact bytes and source."""
    rows: list[dict[str, Any]] = []

    def add(label: str, text: Any, *, nbytes: int | None = None, source: str = "") -> None:
        if text not in (None, "") or nbytes is not None:
            rows.append(
                {
                    "label": label,
                    "text": text if isinstance(text, str) else str(text or ""),  # keeps a Text
                    "bytes": nbytes,
                    "source": source,
                }
            )

    # catalog words (segment, basis, price kind, notes) are msgids: /zh/ pages translate them
    add(
        "Vendor · segment",
        Text("%(vendor)s · %(kind)s", vendor=g.get("vendor", "?"), kind=Text(g.get("kind", "?"))),
    )
    label = g.get("memory_label")
    add(
        "Memory",
        # the exact bytes first, then the vendor's marketing figure, said to be one
        Text("(sold as “%(label)s”)", label=label) if label else None,
        nbytes=gpu_capacity_bytes(g),
        source=g.get("spec_source", ""),
    )
    usable = g.get("usable_bytes")
    if isinstance(usable, int):
        add(
            Text("Usable by a process (%(basis)s)", basis=Text(g.get("usable_basis", ""))),
            "",
            nbytes=usable,
            source=g.get("usable_source", ""),
        )
    if _bandwidth_gbs(g):
        add("Memory bandwidth", f"{_bandwidth_gbs(g):,} GB/s")
    for key, label in (("bf16_tflops", N_("BF16 dense")), ("fp8_tflops", N_("FP8 dense"))):
        if g.get(key):
            add(label, f"{g[key]:g} TFLOPS")
    if g.get("tdp_w"):
        add("Board power", f"{g['tdp_w']} W")
    if g.get("price_usd"):
        add(
            "Price",
            Text(
                "$%(price)s (%(kind)s, %(date)s)",
                price=f"{g['price_usd']:,}",
                kind=Text(g.get("price_kind", "")),
                date=g.get("price_date", ""),
            ),
            source=g.get("price_source", ""),
        )
    add("Data checked", g.get("checked"))
    add("Notes", Text(g["notes"]) if g.get("notes") else None)
    return rows


def _gpu_summary(g: Mapping[str, Any], fits: Iterable[GpuFit]) -> dict[str, Any]:
    fitting_models = {f.model for f in fits if f.max_context}
    return {
        "slug": g["slug"],
        "name": gpu_name(g),
        "bytes": gpu_capacity_bytes(g),
        "price": g.get("price_usd"),
        "bandwidth": _bandwidth_gbs(g),
        "models_fit": len(fitting_models),
    }


def _bandwidth_gbs(g: Mapping[str, Any]) -> int | None:
    """Return memory bandwidth in GB/s (10**9 bytes/s, as datasheets quote it)."""
    value = g.get("bandwidth_bytes_per_s")
    return round(value / 10**9) if isinstance(value, (int, float)) else None


def _gpu_fit_rows(
    fits: Iterable[GpuFit], models: Mapping[str, ModelFacts], formats: Mapping[str, str]
) -> list[dict[str, Any]]:
    by_model: dict[str, dict[str, GpuFit]] = {}
    for f in fits:
        by_model.setdefault(f.model, {})[f.fmt] = f
    rows = []
    for slug in sorted(by_model):
        cells = by_model[slug]
        if not any(c.max_context for c in cells.values()):
            continue
        rows.append({"slug": slug, "name": model_name(models[slug].meta), "cells": cells})
    return rows


def _rank_fits(rows: list[dict[str, Any]], models: Mapping[str, ModelFacts]) -> list[dict]:
    """Return the top fitting models per size class (SIZE_CLASSES): the largest first, so a
    GPU page names the biggest model of each class it holds, whatever the catalog's size."""

    def total(row: Mapping[str, Any]) -> int:
        return int(models[row["slug"]].params.get("total") or 0)

    classes = []
    for i, (upper, label) in enumerate(SIZE_CLASSES):
        lower = SIZE_CLASSES[i + 1][0] if i + 1 < len(SIZE_CLASSES) else 0
        members = sorted(
            (r for r in rows if lower <= total(r) < upper), key=lambda r: (-total(r), r["slug"])
        )
        if members:
            classes.append(
                {"label": label, "rows": members[:GPU_TOP_PER_CLASS], "count": len(members)}
            )
    return classes
