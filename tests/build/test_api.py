"""The public JSON API (/api/v1/): every model and GPU has its file, the figures are the
engine's (the same as the pages), it is CORS-open, and the methodology documents it."""

from __future__ import annotations

import json
from pathlib import Path

from sitegen.api import API_SCHEMA
from sitegen.compute import engine_call
from sitegen.headers import header_for


def load(site_dir: Path, path: str) -> dict:
    return json.loads((site_dir / path.lstrip("/")).read_text(encoding="utf-8"))


def test_the_index_names_every_endpoint_and_file(site_dir: Path) -> None:
    index = load(site_dir, "/api/v1/index.json")
    assert index["schema"] == API_SCHEMA
    models = load(site_dir, index["endpoints"]["models"])["models"]
    gpus = load(site_dir, index["endpoints"]["gpus"])["gpus"]
    assert index["models"] == len(models) and index["gpus"] == len(gpus)
    assert [m["slug"] for m in models] == sorted(m["slug"] for m in engine_call("models"))
    for m in models:
        doc = load(site_dir, index["endpoints"]["model"].format(slug=m["slug"]))
        assert doc["schema"] == API_SCHEMA and doc["slug"] == m["slug"]
        assert (site_dir / m["url"].strip("/") / "index.html").is_file()
    for g in gpus:
        doc = load(site_dir, index["endpoints"]["gpu"].format(slug=g["slug"]))
        assert doc["memory_bytes"] == g["memory_bytes"]
        assert g["models_fit"] == len(doc["fits"])


def test_model_figures_are_the_engines(site_dir: Path) -> None:
    doc = load(site_dir, "/api/v1/models/llama-3.1-8b.json")
    params = engine_call("params", {"model": "llama-3.1-8b"})
    assert doc["params_total"] == params["total"] == doc["params"]["total"]
    bf16 = engine_call("infer", {"model": "llama-3.1-8b", "weights": "bf16", "context": 1024})
    assert doc["weights_bytes"]["bf16"] == bf16["components"]["weights"]
    # Llama-3.1-8B: 32 layers x 8 KV heads x 128 x 2 (K and V) x 2 bytes = 128 KiB/token
    assert doc["kv_cache"]["bytes_per_token"] == 32 * 8 * 128 * 2 * 2
    row = doc["formats"]["bf16"]["memory"][0]
    first = engine_call(
        "infer", {"model": "llama-3.1-8b", "weights": "bf16", "context": row["context"]}
    )
    assert row["total_bytes"] == first["total_bytes"]


def test_models_carry_the_engines_architecture_tags(site_dir: Path) -> None:
    """``kinds`` (added within schema 1) is ModelSpec.kind; ``kind`` stays dense/moe."""
    rows = {m["slug"]: m for m in load(site_dir, "/api/v1/models.json")["models"]}
    expect = {
        "llama-3.1-8b": (["dense"], "dense"),
        "mixtral-8x7b": (["moe"], "moe"),
        "qwen3-vl-8b-instruct": (["multimodal"], "dense"),
        "qwen3-next-80b-a3b-instruct": (["moe", "hybrid"], "moe"),
    }
    for slug, (kinds, kind) in expect.items():
        assert (rows[slug]["kinds"], rows[slug]["kind"]) == (kinds, kind), slug
    assert load(site_dir, "/api/v1/models/qwen3.5-9b.json")["kinds"] == ["hybrid", "multimodal"]


def test_fit_tables_agree_between_model_and_gpu(site_dir: Path) -> None:
    model = load(site_dir, "/api/v1/models/llama-3.1-8b.json")
    assert model["fit"], "an 8B model fits some GPU"
    for gpu, cells in model["fit"].items():
        assert load(site_dir, f"/api/v1/gpus/{gpu}.json")["fits"]["llama-3.1-8b"] == cells


def test_the_api_is_cors_open_and_documented(site_dir: Path) -> None:
    for url in ("/api/v1/index.json", "/api/v1/models/llama-3.1-8b.json"):
        assert header_for(url).get("Access-Control-Allow-Origin") == "*"
    for page in ("methodology/index.html", "zh/methodology/index.html"):
        html = (site_dir / page).read_text(encoding="utf-8")
        assert 'id="api"' in html and "/api/v1/models/{slug}.json" in html
