"""The engine's KV-cache bytes against what transformers really caches.

Reference data: ``reference/kv_cache.json``, written by ``tools/reference/kv_cache.py``
(tiny same-layout versions of one real config per family, run in bfloat16 with
``use_cache=True``; versions recorded in the file). Every comparison is exact.

Two states are recorded per family:

* ``decode``: after the prompt and a few one-token steps. Full layers hold every token;
  sliding layers hold a view of the last ``window - 1`` tokens of a ``window``-token
  concatenation, so their storage is ``min(context, window)`` tokens, which is what
  ``engine.kv.kv_layer_bytes(runtime="transformers")`` models.
* ``prefill``: right after one forward over a prompt longer than the window. The sliding
  layers' view then keeps the *whole prompt's* K/V storage alive until the first decode step
  (``DynamicSlidingWindowLayer.update`` slices the concatenation without copying).
"""

from __future__ import annotations

import json

import pytest

from engine import arch, inference, kv
from engine.workload import InferenceWorkload
from reference import KV_CACHE

REFERENCE = KV_CACHE
DATA = json.loads(REFERENCE.read_text())
CASES = {case["family"]: case for case in DATA["cases"]}

# Every family the engine supports must have a measurement (the brief's list).
FAMILIES = (
    "deepseek_v3",
    "falcon",
    "gemma2",
    "gemma3_text",
    "gpt2",
    "gpt_neox",
    "gpt_oss",
    "llama",
    "mistral",
    "mixtral",
    "olmo2",
    "phi3",
    "qwen2",
    "qwen3",
    "qwen3_moe",
    "starcoder2",
)
FAMILIES += ("qwen3_next", "nemotron_h", "granitemoehybrid", "lfm2", "jamba", "falcon_h1")
# 2025-26 layouts: sliding layers with their own KV heads and K != V widths (mimo_v2_flash),
# the DSA indexer key beside the MLA latent (deepseek_v32), parallel blocks (cohere)
# llama4: chunked layers (attention_chunk_size) cached as a window of that size
FAMILIES += ("mimo_v2_flash", "deepseek_v32", "minimax_m2", "glm4_moe", "cohere", "smollm3")
FAMILIES += ("llama4",)
FAMILIES += ("olmo3", "exaone4")  # arch.postnorm: sliding on 3 of 4 layers


def _engine_layers(case: dict, context: int) -> tuple[int, ...]:
    spec = arch.parse_config(case["config"], name=case["family"])
    return kv.kv_layer_bytes(
        spec, context=context, batch=case["batch"], kv_dtype="bf16", runtime="transformers"
    )


def test_every_family_measured() -> None:
    assert sorted(CASES) == sorted(FAMILIES)
    assert DATA["versions"]["transformers"]
    for case in DATA["cases"]:
        assert case["dtype"] == "bfloat16"
        assert case["prompt_tokens"] > max(case["windows"], default=0), case["family"]


@pytest.mark.parametrize("family", FAMILIES)
def test_layer_count_and_windows_match(family: str) -> None:
    """The engine sees the same sliding/full layer pattern as transformers' cache."""
    case = CASES[family]
    spec = arch.parse_config(case["config"], name=family)
    layers = case["stages"]["decode"]["layers"]
    assert spec.num_layers == len(layers)
    for layer_spec, measured in zip(spec.layers, layers, strict=True):
        assert layer_spec.attention.window == measured["sliding_window"], (
            f"{family} layer {measured['layer']}"
        )


@pytest.mark.parametrize("family", FAMILIES)
def test_decode_kv_bytes_exact(family: str) -> None:
    """Per-layer storage after decoding equals the engine's transformers KV bytes."""
    case = CASES[family]
    stage = case["stages"]["decode"]
    measured = tuple(layer["storage_bytes"] for layer in stage["layers"])
    assert _engine_layers(case, stage["context_tokens"]) == measured


@pytest.mark.parametrize("family", FAMILIES)
def test_inference_estimate_kv_component_exact(family: str) -> None:
    """The same bytes reach estimate_inference's kv_cache component (transformers, tp=1)."""
    case = CASES[family]
    stage = case["stages"]["decode"]
    spec = arch.parse_config(case["config"], name=family)
    work = InferenceWorkload(
        weights="bf16",
        kv_dtype="bf16",
        context=stage["context_tokens"],
        batch=case["batch"],
        runtime="transformers",
    )
    estimate = inference.estimate_inference(spec, work)
    assert estimate.components["kv_cache"] == stage["total_storage_bytes"]


@pytest.mark.parametrize("family", FAMILIES)
def test_elements_per_token_exact(family: str) -> None:
    """Cached K+V elements per token and layer (MLA: the latent in transformers 5.x)."""
    case = CASES[family]
    spec = arch.parse_config(case["config"], name=family)
    for layer_spec, measured in zip(spec.layers, case["stages"]["decode"]["layers"], strict=True):
        engine_elems = kv.layer_elems_per_token(layer_spec.attention, runtime="transformers")
        assert engine_elems == measured["elems_per_token"], f"{family} layer {measured['layer']}"


def test_mla_layouts_recorded() -> None:
    """DeepSeek-V3: transformers 5.x caches kv_lora_rank + qk_rope_head_dim per token."""
    mla = CASES["deepseek_v3"]["mla"]
    cfg = CASES["deepseek_v3"]["config"]
    assert mla["measured_elems_per_token"] == cfg["kv_lora_rank"] + cfg["qk_rope_head_dim"]
    assert mla["latent_elems_per_token"] == mla["measured_elems_per_token"]
    heads = cfg["num_attention_heads"]
    assert mla["decompressed_elems_per_token"] == heads * (
        cfg["qk_nope_head_dim"] + cfg["qk_rope_head_dim"] + cfg["v_head_dim"]
    )


@pytest.mark.parametrize("family", FAMILIES)
def test_full_layers_prefill_exact(family: str) -> None:
    """Right after prefill, full-attention layers hold exactly the prompt."""
    case = CASES[family]
    stage = case["stages"]["prefill"]
    engine = _engine_layers(case, stage["context_tokens"])
    for engine_bytes, measured in zip(engine, stage["layers"], strict=True):
        if measured["sliding_window"] is None:
            assert engine_bytes == measured["storage_bytes"]


@pytest.mark.parametrize(
    "family", [f for f in FAMILIES if any(w for w in CASES[f]["windows"])] if CASES else []
)
def test_sliding_layers_keep_whole_prompt_after_prefill(family: str) -> None:
    """A sliding layer's storage after a long prefill is the whole prompt, not the window.

    Pins the measured transformers behaviour (tensor view W-1 tokens, storage P tokens) so a
    change in transformers shows up here. The engine's ``min(context, window)`` matches the
    steady decode state, not this transient prefill peak.
    """
    case = CASES[family]
    stage = case["stages"]["prefill"]
    for measured in stage["layers"]:
        if measured["sliding_window"] is None:
            continue
        assert measured["tokens"] == measured["sliding_window"] - 1
        per_token = measured["tensor_bytes"] // measured["tokens"]
        assert measured["storage_bytes"] == per_token * stage["context_tokens"]
