"""Hybrid recurrent architectures (engine.arch.hybrid): exact parameter counts and the
per-sequence recurrent state each runtime allocates instead of a KV cache.

Parameter counts: transformers 5.25.0 on the meta device (reference/params.json, written by
tools/reference/params.py). State layouts: transformers measured (reference/kv_cache.json);
vLLM and llama.cpp from their sources as cited in engine/kv.py's docstring, written out here
by hand so a change in the engine's formula shows up.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

import pytest

from engine import arch, inference, kv
from engine.errors import ConfigError
from engine.workload import InferenceWorkload
from reference import CONFIGS, KV_CACHE, PARAMS

ROOT = Path(__file__).resolve().parents[2]
CATALOG = ROOT / "engine" / "data" / "models"


@cache
def catalog_spec(slug: str):
    raw = json.loads((CATALOG / slug / "config.json").read_text())
    return arch.parse_config(raw, name=slug)


def _reference(key: str) -> dict:
    return json.loads(PARAMS.read_text())["models"][key]


# --- qwen3_next ---------------------------------------------------------------------------

QWEN3_NEXT = "qwen3-next-80b-a3b-instruct"


def test_qwen3_next_counts_equal_transformers() -> None:
    spec = catalog_spec(QWEN3_NEXT)
    ref = _reference(f"catalog/{QWEN3_NEXT}")
    assert ref["transformers"] == "5.25.0"
    assert spec.total_params == ref["total"] == 79_674_391_296
    assert list(spec.per_layer_params) == ref["per_layer"]
    assert spec.active_params_per_token == ref["active"]
    # the fixture copy is the same file
    assert (CONFIGS / f"{QWEN3_NEXT}.json").read_bytes() == (
        CATALOG / QWEN3_NEXT / "config.json"
    ).read_bytes()


def test_qwen3_next_layout() -> None:
    spec = catalog_spec(QWEN3_NEXT)
    full = [layer.index for layer in spec.layers if layer.state is None]
    assert full == list(range(3, 48, 4))  # every 4th layer attends
    assert kv.recurrent_summary(spec) == (36, 48)
    attn = spec.layers[3].attention
    assert (attn.num_kv_heads, attn.head_dim, attn.kv_elems_per_token) == (2, 256, 1024)
    st = spec.layers[0].state
    assert st is not None and st.kind == "gated_deltanet"
    # conv over q, k, v: 2 × 16 × 128 + 32 × 128; state [32 value heads, 128, 128]
    assert (st.conv_channels, st.conv_kernel, st.state_heads, st.state_head_elems) == (
        8192,
        4,
        32,
        128 * 128,
    )


# per sequence and layer, Qwen3-Next-80B-A3B (bf16 model)
QWEN3_NEXT_STATE = {
    # transformers: conv [8192, 4] bf16 + state [32, 128, 128] fp32 (measured layout)
    "transformers": 8192 * 4 * 2 + 32 * 128 * 128 * 4,
    # llama.cpp: n_embd_r = 3 × (4096 + 2 × 16 × 128), n_embd_s = 128 × 4096, both F32
    "llamacpp": 3 * 8192 * 4 + 128 * 4096 * 4,
}


@pytest.mark.parametrize("runtime", sorted(QWEN3_NEXT_STATE))
def test_qwen3_next_state_bytes(runtime: str) -> None:
    spec = catalog_spec(QWEN3_NEXT)
    kv_dtype = "fp16" if runtime == "llamacpp" else "bf16"
    layers = kv.kv_layer_bytes(spec, context=4096, batch=3, kv_dtype=kv_dtype, runtime=runtime)
    assert layers[0] == 3 * QWEN3_NEXT_STATE[runtime]
    kv_cells = 4096 * 3 if runtime == "transformers" else 12288  # llama.cpp: pad256(ctx × seqs)
    assert layers[3] == kv_cells * 1024 * 2


def test_qwen3_next_vllm_pages() -> None:
    """vLLM: conv [3, 8192] + state [32, 128, 128], both bf16 = 1,097,728 B; the attention
    block grows to 16 × ceil(1,097,728 / (16 × 2,048)) = 544 tokens and each state is
    padded to one 544-token attention page (1,114,112 B)."""
    spec = catalog_spec(QWEN3_NEXT)
    st = spec.layers[0].state
    assert kv.state_page_bytes(spec, st, runtime="vllm", kv_dtype="bf16") == 1_097_728
    assert kv.vllm_block_tokens(spec, kv_dtype="bf16") == 544
    layers = kv.kv_layer_bytes(spec, context=1000, batch=2, kv_dtype="bf16", runtime="vllm")
    assert layers[0] == 2 * 544 * 2048
    assert layers[3] == 2 * 1088 * 2048  # ceil(1000 / 544) blocks of 544 tokens
    # fp8 K/V halves one token's page: the block doubles, the state page stays bf16-sized
    assert kv.vllm_block_tokens(spec, kv_dtype="fp8") == 1072
    # tp=2: one KV head and half the value heads / conv channels per rank
    assert kv.state_page_bytes(spec, st, runtime="vllm", kv_dtype="bf16", tp=2) == 548_864
    assert kv.vllm_block_tokens(spec, kv_dtype="bf16", tp=2) == 544


def test_qwen3_next_state_is_constant_in_context() -> None:
    spec = catalog_spec(QWEN3_NEXT)
    short = kv.kv_layer_bytes(spec, context=1024, runtime="transformers")
    long = kv.kv_layer_bytes(spec, context=65536, runtime="transformers")
    assert short[0] == long[0] and long[3] == 64 * short[3]


def test_qwen3_next_estimate_explains_the_cache() -> None:
    spec = catalog_spec(QWEN3_NEXT)
    est = inference.estimate_inference(
        spec, InferenceWorkload(weights="bf16", context=8192, batch=1, runtime="vllm")
    )
    notes = [a for a in est.assumptions if "keep no KV cache" in a]
    assert notes and notes[0].startswith("36 of 48 layers keep no KV cache")
    assert any("544-token blocks" in a for a in est.assumptions)
    dense = inference.estimate_inference(
        catalog_spec("qwen3-30b-a3b"), InferenceWorkload(weights="bf16", context=8192)
    )
    assert not any("keep no KV cache" in a for a in dense.assumptions)


def test_qwen3_next_measured_state_matches() -> None:
    """The tiny qwen3_next case: per-layer conv/state shapes and dtypes as measured."""
    case = next(c for c in json.loads(KV_CACHE.read_text())["cases"] if c["family"] == "qwen3_next")
    spec = arch.parse_config(case["config"], name="qwen3_next")
    batch = case["batch"]
    for layer_spec, measured in zip(spec.layers, case["stages"]["decode"]["layers"], strict=True):
        st = layer_spec.state
        if st is None:
            assert measured["cache_class"] == "DynamicLayer"
            continue
        assert measured["conv_shapes"] == [[batch, st.conv_channels, st.conv_kernel]]
        assert measured["conv_dtype"] == "bfloat16" and measured["state_dtype"] == "float32"
        dk = case["config"]["linear_key_head_dim"]
        assert measured["state_shapes"] == [[batch, st.state_heads, dk, st.state_head_elems // dk]]


def test_qwen3_next_layer_types_checked() -> None:
    raw = json.loads((CATALOG / QWEN3_NEXT / "config.json").read_text())
    raw = {**raw, "num_hidden_layers": 2, "layer_types": ["linear_attention", "mamba"]}
    with pytest.raises(ConfigError, match="'mamba'"):
        arch.parse_config(raw)
    raw["layer_types"] = ["full_attention", "linear_attention"]
    spec = arch.parse_config(raw)
    assert [layer.state is None for layer in spec.layers] == [True, False]
