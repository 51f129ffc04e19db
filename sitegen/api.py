"""The public JSON API under /api/v1/: the precomputed per-model and per-GPU figures, so
tools can use them without scraping pages. Stable: fields are only ever added within a
schema version (``API_SCHEMA``); a change that removes or redefines one bumps it and moves
to /api/v2/. Served CORS-open (``sitegen.headers``: ``/api/*``). Documented in the
methodology ("Public JSON API"). Pure: facts in, ``path -> bytes`` out."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

from sitegen.compute import GpuFit, ModelFacts, SiteFacts, model_name

API_SCHEMA = 1
API_ROOT = "api/v1"


def _dump(value: Any) -> bytes:
    """Compact, sorted JSON (deterministic bytes, so unchanged data keeps its ETag)."""
    return (
        json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False) + "\n"
    ).encode()


def model_kind(m: ModelFacts) -> str:
    """Schema 1's ``kind``: "moe" (routed experts) or "dense" (kept as it was; the finer
    tags are ``kinds``)."""
    return "moe" if m.params.get("is_moe") else "dense"


def model_kinds(m: ModelFacts) -> list[str]:
    """The architecture tags the engine derives from the spec (``ModelSpec.kind``): "moe",
    "hybrid", "multimodal" combined, or ["dense"]; the models index filters on any tag."""
    from engine.catalog import load_model

    return list(load_model(m.slug).kind)


def model_summary(m: ModelFacts) -> dict[str, Any]:
    """One row of /api/v1/models.json (also what the models index filters client-side)."""
    meta = m.meta
    return {
        "slug": m.slug,
        "name": model_name(meta),
        "family": meta.get("family"),
        "developer": meta.get("developer"),
        "license": meta.get("license"),
        "release_date": meta.get("release_date"),
        "hf_repo": meta.get("hf_repo"),
        "model_type": m.params.get("model_type"),
        "kind": model_kind(m),
        "kinds": model_kinds(m),
        "params_total": m.params.get("total"),
        "params_active": m.params.get("active_per_token"),
        "max_context": m.params.get("max_position_embeddings"),
        "kv_bytes_per_1k_tokens": m.kv_per_1k_bytes,
        "weights_bytes": {row.fmt: row.weights_bytes for row in m.rows if row.weights_bytes},
        "url": f"/models/{m.slug}/",
        "api": f"/{API_ROOT}/models/{m.slug}.json",
    }


def _fits_by_model(gpu_fits: Mapping[str, Iterable[GpuFit]]) -> dict[str, dict[str, Any]]:
    """model -> gpu -> format -> [max_context, total_bytes], fitting cells only."""
    out: dict[str, dict[str, Any]] = {}
    for gpu, fits in gpu_fits.items():
        for f in fits:
            if f.max_context:
                cells = out.setdefault(f.model, {}).setdefault(gpu, {})
                cells[f.fmt] = [f.max_context, f.total_at_max]
    return out


def model_document(m: ModelFacts, fits: Mapping[str, Any]) -> dict[str, Any]:
    """/api/v1/models/<slug>.json: everything the model page shows, as integers."""
    kv = m.kv_per_1k_bytes
    return {
        "schema": API_SCHEMA,
        **model_summary(m),
        "meta": dict(m.meta),
        "params": {k: v for k, v in m.params.items() if k != "schema"},
        "kv_cache": {
            "context": 1024,
            "batch": 1,
            "kv_dtype": "auto",
            "bytes": kv,
            "bytes_per_token": kv / 1024 if isinstance(kv, int) else None,
        },
        "formats": {
            row.fmt: {
                "label": row.label,
                "runtime": row.runtime,
                "weights_bytes": row.weights_bytes,
                "error": str(row.error) if row.error else None,
                "memory": [{"context": c.context, "total_bytes": c.total_bytes} for c in row.cells],
            }
            for row in m.rows
        },
        "fit": fits,
    }


def gpu_document(g: Mapping[str, Any], fits: Iterable[GpuFit]) -> dict[str, Any]:
    """/api/v1/gpus/<slug>.json: the GPU's data and every model/format that fits one card:
    ``fits[model][format] = [max_context, total_bytes]`` (the model documents' ``fit``)."""
    rows: dict[str, dict[str, list[int | None]]] = {}
    for f in fits:
        if f.max_context:
            rows.setdefault(f.model, {})[f.fmt] = [f.max_context, f.total_at_max]
    return {"schema": API_SCHEMA, **dict(g), "url": f"/gpus/{g['slug']}/", "fits": rows}


def api_files(facts: SiteFacts) -> dict[str, bytes]:
    """Return every /api/v1/ file (path relative to public/ -> bytes)."""
    version = facts.data.version
    by_model = _fits_by_model(facts.gpu_fits)
    out: dict[str, bytes] = {}
    summaries = [model_summary(m) for m in facts.models]
    gpus = []
    for g in facts.data.gpus:
        doc = gpu_document(g, facts.gpu_fits.get(g["slug"], ()))
        out[f"{API_ROOT}/gpus/{g['slug']}.json"] = _dump(doc)
        models_fit = len(doc["fits"])
        gpus.append(
            {**dict(g), "models_fit": models_fit, "api": f"/{API_ROOT}/gpus/{g['slug']}.json"}
        )
    for m in facts.models:
        out[f"{API_ROOT}/models/{m.slug}.json"] = _dump(model_document(m, by_model.get(m.slug, {})))
    head = {"schema": API_SCHEMA, "engine_version": version.get("engine_version")}
    out[f"{API_ROOT}/models.json"] = _dump({**head, "models": summaries})
    out[f"{API_ROOT}/gpus.json"] = _dump({**head, "gpus": gpus})
    out[f"{API_ROOT}/index.json"] = _dump(
        {
            **head,
            "build_time": facts.build_time,
            "models": len(summaries),
            "gpus": len(gpus),
            "endpoints": {
                "models": f"/{API_ROOT}/models.json",
                "gpus": f"/{API_ROOT}/gpus.json",
                "model": f"/{API_ROOT}/models/{{slug}}.json",
                "gpu": f"/{API_ROOT}/gpus/{{slug}}.json",
            },
            "docs": "/methodology/#api",
        }
    )
    return out
