"""The model catalog: real config.json files plus metadata, and name resolution."""

from __future__ import annotations

import json
import re
from dataclasses import fields
from importlib.resources import files

import pytest

from engine import catalog
from engine.catalog import CatalogEntry, get_entry, list_models, load_config, resolve_model
from engine.errors import UnknownModel

MODELS_DIR = files("engine") / "data" / "models"

# The model_types the engine models exactly (the brief's list; arch.SUPPORTED_MODEL_TYPES must
# cover every one the catalog uses, checked below).
CATALOG_MODEL_TYPES = {
    "llama", "mistral", "mixtral", "qwen2", "qwen2_moe", "qwen3", "qwen3_moe", "gemma", "gemma2",
    "gemma3", "gemma3_text", "phi", "phi3", "gpt2", "gpt_neox", "falcon", "starcoder2", "olmo2",
    "deepseek_v2", "deepseek_v3", "gpt_oss",
}  # fmt: skip
CATALOG_MODEL_TYPES |= {"qwen3_next", "nemotron_h", "granitemoehybrid"}  # arch.hybrid
CATALOG_MODEL_TYPES |= {"qwen3_5", "qwen3_5_moe", "jamba"}  # recurrent (arch.hybrid)
# 2025-26 decoders and vision-language wrappers (arch.modern, towers, dsa)
CATALOG_MODEL_TYPES |= {"llama4", "qwen3_vl", "qwen3_vl_moe", "minimax_m2", "glm4_moe"}
CATALOG_MODEL_TYPES |= {"qwen2_5_vl"}
CATALOG_MODEL_TYPES |= {"deepseek_v32", "glm_moe_dsa", "mimo_v2_flash", "kimi_k25"}
CATALOG_MODEL_TYPES |= {"cohere", "ernie4_5", "granite", "mistral3", "seed_oss", "smollm3"}
CATALOG_MODEL_TYPES |= {"olmo3", "exaone4"}  # arch.postnorm
SLUG_RE = re.compile(r"^[a-z0-9][a-z0-9.\-]*[a-z0-9]$")
DATE_RE = re.compile(r"^\d{4}-\d{2}(-\d{2})?$")


def model_dirs() -> list[str]:
    return sorted(p.name for p in MODELS_DIR.iterdir() if p.is_dir())


def test_catalog_has_at_least_60_models() -> None:
    assert len(list_models()) >= 60


def test_every_folder_is_listed_and_sorted() -> None:
    slugs = [e.slug for e in list_models()]
    assert slugs == sorted(slugs)
    assert slugs == model_dirs()
    assert len(set(slugs)) == len(slugs)


@pytest.mark.parametrize("slug", model_dirs())
def test_config_is_real_json_of_a_catalog_type(slug: str) -> None:
    raw = json.loads((MODELS_DIR / slug / "config.json").read_text(encoding="utf-8"))
    assert isinstance(raw, dict)
    assert raw["model_type"] in CATALOG_MODEL_TYPES
    assert raw.get("architectures"), "a published config names its architecture class"
    assert load_config(slug) == raw


@pytest.mark.parametrize("slug", model_dirs())
def test_meta_has_every_field(slug: str) -> None:
    meta = json.loads((MODELS_DIR / slug / "meta.json").read_text(encoding="utf-8"))
    assert set(meta) == {f.name for f in fields(CatalogEntry)}
    assert meta["slug"] == slug
    assert SLUG_RE.match(slug) and slug == slug.lower()
    for key in (
        "display_name",
        "hf_repo",
        "family",
        "developer",
        "license",
        "parameters_label",
        "source",
        "fetched",
    ):
        assert isinstance(meta[key], str) and meta[key].strip(), key
    assert "/" in meta["hf_repo"]
    assert DATE_RE.match(meta["release_date"])
    assert DATE_RE.match(meta["fetched"])
    assert isinstance(meta["context_length"], int) and meta["context_length"] >= 1024
    assert isinstance(meta["verbatim"], bool)
    if not meta["verbatim"]:
        assert meta["notes"].strip(), "a non-verbatim config must say what was changed"


def test_hf_repos_and_display_names_are_unique() -> None:
    entries = list_models()
    assert len({e.hf_repo.lower() for e in entries}) == len(entries)
    assert len({e.display_name.lower() for e in entries}) == len(entries)


def test_known_configs_match_published_architectures() -> None:
    # Layer counts and widths from the model cards / papers (the catalog must hold the right files).
    llama = load_config("llama-3.1-8b")  # Llama 3 paper, Table 3: 32 layers, 4096, 8 KV heads
    assert (llama["num_hidden_layers"], llama["hidden_size"], llama["num_key_value_heads"]) == (
        32, 4096, 8)  # fmt: skip
    ds = load_config("deepseek-v3")  # DeepSeek-V3 report: 61 layers, 256 routed experts, top-8
    assert (ds["num_hidden_layers"], ds["n_routed_experts"], ds["num_experts_per_tok"]) == (
        61,
        256,
        8,
    )
    mix = load_config("mixtral-8x7b")  # Mixtral paper, Table 1: 8 experts, top-2
    assert (mix["num_local_experts"], mix["num_experts_per_tok"]) == (8, 2)
    oss = load_config("gpt-oss-120b")  # gpt-oss model card: 36 layers, 128 experts, top-4
    assert (oss["num_hidden_layers"], oss["num_local_experts"], oss["experts_per_token"]) == (
        36, 128, 4)  # fmt: skip
    mistral = load_config("mistral-7b-v0.1")  # Mistral 7B paper, Table 1: window 4096
    assert mistral["sliding_window"] == 4096
    gemma3 = load_config("gemma-3-27b-it")  # multimodal wrapper with a text_config
    assert gemma3["text_config"]["num_hidden_layers"] == 62


def test_resolve_by_slug_repo_and_name() -> None:
    assert resolve_model("llama-3.1-8b") == "llama-3.1-8b"
    assert resolve_model("meta-llama/Llama-3.1-8B") == "llama-3.1-8b"
    assert resolve_model("META-LLAMA/llama-3.1-8b") == "llama-3.1-8b"
    assert resolve_model("Llama 3.1 8B") == "llama-3.1-8b"
    assert resolve_model("  mistralai/Mixtral-8x7B-v0.1 ") == "mixtral-8x7b"
    assert resolve_model("https://huggingface.co/openai/gpt-oss-20b") == "gpt-oss-20b"
    assert resolve_model("Mixtral-8x7B-v0.1") == "mixtral-8x7b"  # repo name without the owner
    for entry in list_models():
        assert resolve_model(entry.slug) == entry.slug
        assert resolve_model(entry.hf_repo) == entry.slug
        assert resolve_model(entry.display_name.upper()) == entry.slug


def test_unknown_model_suggests_close_matches() -> None:
    with pytest.raises(UnknownModel) as info:
        resolve_model("llama-3.1-8")
    assert "llama-3.1-8b" in info.value.message
    assert info.value.field == "model"
    with pytest.raises(UnknownModel):
        get_entry("no-such-model")
    with pytest.raises(UnknownModel):
        load_config("no-such-model")


def test_load_config_returns_a_fresh_copy() -> None:
    first = load_config("gpt2")
    first["n_layer"] = 999
    assert load_config("gpt2")["n_layer"] == 12


def test_entry_fields() -> None:
    entry = get_entry("qwen3-30b-a3b")
    assert entry.hf_repo == "Qwen/Qwen3-30B-A3B"
    assert entry.verbatim is True
    assert "aiconfigurator" in entry.source


def test_every_catalog_model_parses() -> None:
    from engine.arch import SUPPORTED_MODEL_TYPES

    assert set(SUPPORTED_MODEL_TYPES) >= CATALOG_MODEL_TYPES
    for entry in list_models():
        spec = catalog.load_model(entry.slug)
        assert spec.num_layers > 0, entry.slug
        assert catalog.load_model(entry.slug) is spec  # cached


def test_names_never_shadow_another_model() -> None:
    # Every way of naming a model (slug, repo id, repo name, display name) points at one slug.
    owner: dict[str, str] = {}
    for e in list_models():
        for key in {
            e.slug,
            e.hf_repo.lower(),
            e.hf_repo.split("/")[-1].lower(),
            e.display_name.lower(),
        }:
            assert owner.setdefault(key, e.slug) == e.slug, (
                f"{key!r} names {owner[key]} and {e.slug}"
            )
