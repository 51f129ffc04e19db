"""The 2025-26 model_types (arch.modern, arch.towers, arch.dsa, arch.variants).

Exact totals, per-layer counts, windows and KV widths of every real config are checked
against transformers 5.25.0 in test_arch.test_matches_transformers_reference
(reference/params.json); this file pins what is special about each layout.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from engine.api import params_summary
from engine.arch import SUPPORTED_MODEL_TYPES, parse_config
from engine.catalog import load_model

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "reference" / "configs"
REFERENCE = json.loads((ROOT / "reference" / "params.json").read_text())["models"]

NEW_TYPES = {
    "llama4", "qwen3_vl", "qwen3_vl_moe", "minimax_m2", "glm4_moe", "deepseek_v32",
    "glm_moe_dsa", "mimo_v2_flash", "smollm3", "seed_oss", "granite", "ernie4_5", "cohere",
    "kimi_k25", "qwen2_5_vl", "mistral3",
}  # fmt: skip


def fixture(name: str) -> dict:
    return json.loads((FIXTURES / f"{name}.json").read_text())


def test_every_new_model_type_is_supported() -> None:
    assert set(SUPPORTED_MODEL_TYPES) >= NEW_TYPES


def test_llama4_scout_chunked_layers_and_towers() -> None:
    spec = parse_config(fixture("llama-4-scout-17b-16e-instruct"))
    windows = [layer.attention.window for layer in spec.layers]
    # every 4th layer is a global NoPE layer; the rest attend to 8192-token chunks
    assert windows == [None if (i + 1) % 4 == 0 else 8192 for i in range(48)]
    assert all(layer.mlp.kind == "moe" and layer.mlp.num_experts == 16 for layer in spec.layers)
    assert spec.layers[0].mlp.shared_intermediate_size == 8192
    summary = params_summary(spec)
    ref = REFERENCE["fixture/llama-4-scout-17b-16e-instruct"]
    assert summary["total"] == ref["total"] == 108_641_793_536
    assert summary["text_total"] == ref["text_total"]
    assert 0.85e9 < summary["total"] - summary["text_total"] < 0.9e9  # ViT + adapter


def test_llama4_maverick_interleaves_moe_and_dense() -> None:
    spec = parse_config(fixture("llama-4-maverick-17b-128e-instruct-text"))
    kinds = [layer.mlp.kind for layer in spec.layers]
    assert kinds == ["dense", "moe"] * 24  # interleave_moe_layer_step 2
    assert spec.layers[0].mlp.intermediate_size == 16384  # intermediate_size_mlp
    assert spec.layers[1].mlp.num_experts == 128


def test_qwen3_vl_text_total_is_the_language_model() -> None:
    names = ("qwen3-vl-2b-instruct", "qwen3-vl-8b-instruct", "qwen3-vl-30b-a3b-instruct")
    for name in (*names, "qwen2.5-vl-7b-instruct"):
        summary = params_summary(parse_config(fixture(name)))
        ref = REFERENCE[f"fixture/{name}"]
        assert (summary["total"], summary["text_total"]) == (ref["total"], ref["text_total"])


def test_kimi_k25_deepseek_text_tower_and_moonvit() -> None:
    spec = parse_config(fixture("kimi-k2.5"))
    assert spec.total_params == 1_026_879_353_328  # transformers 5.25.0
    assert {layer.attention.kind for layer in spec.layers} == {"mla"}
    assert not spec.tie_word_embeddings  # the file unties; Kimi_K25Config ties by default
    summary = params_summary(spec)
    assert 0.4e9 < summary["total"] - summary["text_total"] < 0.5e9  # MoonViT + projector
    # transformers reads its own vision names, not the Hub file's vt_* keys
    raw = fixture("kimi-k2.5")
    raw["vision_config"] = {**raw["vision_config"], "vt_num_hidden_layers": 3}
    assert parse_config(raw).total_params == spec.total_params


def test_wrappers_tie_by_their_config_class_default() -> None:
    # Mistral3Config ties unless the file says otherwise; Qwen2.5-VL keeps a pre-v5 save's
    # text_config flag; the others take the top-level key only
    mistral = fixture("flux.2-dev-text-encoder")
    assert parse_config(mistral).tie_word_embeddings
    assert not parse_config({**mistral, "tie_word_embeddings": False}).tie_word_embeddings
    qwen = fixture("qwen2.5-vl-7b-instruct")
    assert not parse_config(qwen).tie_word_embeddings
    text = {**qwen["text_config"], "tie_word_embeddings": True}
    assert parse_config({**qwen, "text_config": text}).tie_word_embeddings


def test_text_total_only_for_multimodal_checkpoints() -> None:
    assert "text_total" not in params_summary(load_model("llama-3.1-8b"))
    assert "text_total" not in params_summary(parse_config(fixture("minimax-m2.5")))


def test_dsa_caches_the_indexer_key_beside_the_latent() -> None:
    spec = parse_config(fixture("deepseek-v3.2"))
    assert {layer.attention.kv_elems_per_token for layer in spec.layers} == {512 + 64 + 128}
    assert sum(1 for t in spec.tensors if t.name == "indexer.attn_k") == 61
    glm5 = parse_config(fixture("glm-5"))
    assert glm5.layers[0].attention.kind == "mla"
    assert sum(1 for t in glm5.tensors if t.name == "indexer.proj") == 78


def test_glm5_shared_indexer_layers_have_no_indexer() -> None:
    raw = {**fixture("glm-5"), "index_topk_pattern": "F" + "S" * 77}
    spec = parse_config(raw)
    assert sum(1 for t in spec.tensors if t.name == "indexer.proj") == 1
    assert spec.layers[1].attention.kv_elems_per_token == 512 + 64


def test_mimo_v2_flash_sliding_layers() -> None:
    spec = parse_config(fixture("mimo-v2-flash"))
    swa = [layer for layer in spec.layers if layer.attention.window]
    full = [layer for layer in spec.layers if not layer.attention.window]
    assert len(swa) == 39 and len(full) == 9
    assert {layer.attention.window for layer in swa} == {129}  # sliding_window_size + 1
    assert swa[0].attention.kv_elems_per_token == 8 * (192 + 128)
    assert full[0].attention.kv_elems_per_token == 4 * (192 + 128)
    assert spec.layers[0].mlp.kind == "dense" and spec.layers[1].mlp.kind == "moe"
    assert sum(1 for t in spec.tensors if t.name == "attn_sinks") == 39


def test_glm45_air_dense_first_layer_and_shared_expert() -> None:
    spec = load_model("glm-4.5-air")
    assert spec.layers[0].mlp.kind == "dense"
    assert spec.layers[1].mlp.shared_intermediate_size == 1408
    assert spec.total_params == 106_852_245_504  # transformers 5.25.0, MTP layer not built


# transformers 5.25.0: model.num_parameters() of each class built from its config-class
# defaults on the meta device (the dimensions below are those defaults)
DEFAULT_COUNTS = {
    "smollm3": ({"hidden_size": 2048, "num_hidden_layers": 36, "num_attention_heads": 16,
                 "num_key_value_heads": 4, "intermediate_size": 11008, "vocab_size": 128256},
                3_075_098_624),
    "seed_oss": ({"hidden_size": 4096, "num_hidden_layers": 64, "num_attention_heads": 80,
                  "num_key_value_heads": 8, "intermediate_size": 27648, "vocab_size": 155136},
                 28_921_040_896),
    "granite": ({"hidden_size": 4096, "num_hidden_layers": 32, "num_attention_heads": 32,
                 "intermediate_size": 11008, "vocab_size": 32000}, 6_738_415_616),
    "ernie4_5": ({"hidden_size": 1024, "num_hidden_layers": 18, "num_attention_heads": 16,
                  "num_key_value_heads": 2, "intermediate_size": 3072, "vocab_size": 103424},
                 360_748_032),
    "cohere": ({"hidden_size": 8192, "num_hidden_layers": 40, "num_attention_heads": 64,
                "intermediate_size": 22528, "vocab_size": 256000}, 34_980_831_232),
}  # fmt: skip


@pytest.mark.parametrize("model_type", sorted(DEFAULT_COUNTS))
def test_variants_match_transformers_default_configs(model_type: str) -> None:
    dims, total = DEFAULT_COUNTS[model_type]
    raw = {"model_type": model_type, "max_position_embeddings": 4096, **dims}
    assert parse_config(raw).total_params == total


def test_smollm3_slides_only_its_nope_layers_when_asked() -> None:
    base = {"model_type": "smollm3", "hidden_size": 256, "num_hidden_layers": 8,
            "num_attention_heads": 4, "intermediate_size": 512, "vocab_size": 1000,
            "max_position_embeddings": 4096}  # fmt: skip
    assert all(la.attention.window is None for la in parse_config(base).layers)
    slid = parse_config({**base, "use_sliding_window": True, "sliding_window": 512})
    assert [la.attention.window for la in slid.layers] == [None, None, None, 512] * 2


def test_cohere_parallel_block_and_per_head_qk_norm() -> None:
    raw = fixture("aya-23-8b")
    plain = parse_config(raw)
    normed = parse_config({**raw, "use_qk_norm": True})
    assert plain.traits.parallel_residual
    assert normed.total_params - plain.total_params == 32 * (32 + 8) * 128
    assert not any(t.name == "ffn_norm" for t in plain.tensors)


def test_llama2_7b_has_4096_positions() -> None:
    assert load_model("llama-2-7b").max_position_embeddings == 4096
