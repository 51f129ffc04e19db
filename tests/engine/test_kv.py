"""KV-cache bytes against hand-derived values for GQA, MLA and sliding-window layouts.

Layer counts, KV heads, head dims and windows are read from the models' real config.json
files (engine/data/models/<slug>/config.json); the arithmetic is spelled out per test.
"""

from __future__ import annotations

from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine import kv
from engine.catalog import load_model
from engine.errors import InvalidWorkload
from engine.units import MIB


def _kv(slug: str, **kwargs: object) -> int:
    return kv.kv_cache_bytes(load_model(slug), **kwargs)


# --- bytes per element ---------------------------------------------------------------


def test_kv_bytes_per_element() -> None:
    assert kv.kv_bytes_per_element("fp32") == 4
    assert kv.kv_bytes_per_element("fp16") == 2
    assert kv.kv_bytes_per_element("bf16") == 2
    assert kv.kv_bytes_per_element("fp8") == 1
    assert kv.kv_bytes_per_element("q8_0") == Fraction(34, 32)  # block_q8_0: d + 32 qs
    assert kv.kv_bytes_per_element("q4_0") == Fraction(18, 32)  # block_q4_0: d + 16 qs
    with pytest.raises(InvalidWorkload):
        kv.kv_bytes_per_element("int3")


# --- bytes per token -----------------------------------------------------------------


def test_gqa_bytes_per_token_llama_3_1_8b() -> None:
    # 32 layers × 8 KV heads × 128 head_dim × 2 (K and V) × 2 bytes (fp16)
    assert kv.kv_bytes_per_token(load_model("llama-3.1-8b"), kv_dtype="fp16") == 131_072


def test_mla_bytes_per_token_deepseek_v3() -> None:
    spec = load_model("deepseek-v3")
    # vLLM/llama.cpp cache the latent: 61 layers × (kv_lora_rank 512 + qk_rope_head_dim 64) × 2
    assert kv.kv_bytes_per_token(spec, kv_dtype="bf16", runtime="vllm") == 61 * 576 * 2
    # transformers 5.x caches the same latent (reference/kv_cache.json, measured)
    assert kv.kv_bytes_per_token(spec, kv_dtype="bf16") == 61 * 576 * 2


def test_mha_bytes_per_token_gpt2() -> None:
    # GPT-2: 12 layers × 12 heads × 64 × 2 (K, V) × 2 bytes
    assert kv.kv_bytes_per_token(load_model("gpt2"), kv_dtype="fp16") == 12 * 12 * 64 * 2 * 2


# --- llama.cpp -------------------------------------------------------------------------


def test_llamacpp_llama3_8b_8k_is_1024_mib() -> None:
    # llama.cpp log for Llama-3-8B at n_ctx 8192: "KV self size = 1024.00 MiB,
    # K (f16): 512.00 MiB, V (f16): 512.00 MiB"
    assert _kv("llama-3-8b", context=8192, kv_dtype="fp16", runtime="llamacpp") == (1024 * MIB)


def test_llamacpp_pads_n_ctx_to_256_and_q8_0_is_34_32_bytes() -> None:
    # n_ctx 8000 -> GGML_PAD(8000, 256) = 8192 cells
    assert _kv("llama-3-8b", context=8000, kv_dtype="fp16", runtime="llamacpp") == (1024 * MIB)
    # q8_0 blocks: 32 elements in 34 bytes -> 8192 × 2048 × 32 × 34/32 bytes = 544 MiB
    assert _kv("llama-3-8b", context=8192, kv_dtype="q8_0", runtime="llamacpp") == (544 * MIB)


def test_llamacpp_sequences_share_one_unified_cache() -> None:
    one = _kv("llama-3.1-8b", context=4096, batch=4, kv_dtype="fp16", runtime="llamacpp")
    assert one == _kv("llama-3.1-8b", context=16384, kv_dtype="fp16", runtime="llamacpp")


def test_llamacpp_ignores_uniform_window_of_mistral_v01() -> None:
    # Mistral-7B-v0.1 (sliding_window 4096 on every layer) converts as plain llama: full n_ctx.
    # 32 layers × 8 heads × 128 × 2 × 2 bytes × 8192 cells
    assert _kv("mistral-7b-v0.1", context=8192, kv_dtype="fp16", runtime="llamacpp") == (
        32 * 2048 * 2 * 8192
    )


def test_llamacpp_iswa_gemma3() -> None:
    spec = load_model("gemma-3-27b-it")
    # 62 layers, 5 local : 1 global -> 10 global layers; 16 KV heads × 128 × 2 = 4096 elems
    # global cache: n_ctx = 32768 cells; SWA cache: pad256(min(32768, 1024 + n_ubatch 512))
    # = 1536 cells (llama-kv-cache-iswa.cpp)
    assert kv.llamacpp_cells(spec, context=32768, batch=1, ubatch=512) == (32768, 1536)
    expected = 10 * 4096 * 2 * 32768 + 52 * 4096 * 2 * 1536
    assert kv.kv_cache_bytes(spec, context=32768, kv_dtype="fp16", runtime="llamacpp") == expected


def test_llamacpp_iswa_gpt_oss() -> None:
    spec = load_model("gpt-oss-20b")
    # 24 layers alternating window 128 / full; 8 KV heads × 64 × 2 = 1024 elems
    # SWA cache: pad256(128 + 512) = 768 cells
    assert kv.llamacpp_cells(spec, context=8192, batch=1, ubatch=512) == (8192, 768)
    expected = 12 * 1024 * 2 * 8192 + 12 * 1024 * 2 * 768
    assert kv.kv_cache_bytes(spec, context=8192, kv_dtype="fp16", runtime="llamacpp") == expected


# --- transformers ----------------------------------------------------------------------


def test_transformers_sliding_window_mistral_v01() -> None:
    # DynamicSlidingWindowLayer keeps min(context, 4096) tokens: 32 × 2048 elems × 4096 × 2
    assert _kv("mistral-7b-v0.1", context=8192, kv_dtype="bf16") == 32 * 2048 * 4096 * 2
    assert _kv("mistral-7b-v0.1", context=1000, kv_dtype="bf16") == 32 * 2048 * 1000 * 2


def test_transformers_gemma2_alternates_local_and_global() -> None:
    # Gemma-2-9B: 42 layers, every other one local (window 4096); 8 heads × 256 × 2 = 4096
    expected = 21 * 4096 * 8192 * 2 + 21 * 4096 * 4096 * 2
    assert _kv("gemma-2-9b-it", context=8192, kv_dtype="bf16") == expected


def test_transformers_gemma3_five_local_per_global() -> None:
    # Gemma-3-27B: 10 global layers at 32768 tokens + 52 local layers at the 1024 window
    expected = 10 * 4096 * 32768 * 2 + 52 * 4096 * 1024 * 2
    assert _kv("gemma-3-27b-it", context=32768, kv_dtype="bf16") == expected


def test_transformers_gpt_oss_window_128() -> None:
    expected = 12 * 1024 * 8192 * 2 + 12 * 1024 * 128 * 2
    assert _kv("gpt-oss-20b", context=8192, kv_dtype="bf16") == expected


# --- vLLM ------------------------------------------------------------------------------


def test_vllm_rounds_to_16_token_blocks() -> None:
    per_token = 131_072
    assert _kv("llama-3.1-8b", context=1, kv_dtype="bf16", runtime="vllm") == 16 * per_token
    assert _kv("llama-3.1-8b", context=17, kv_dtype="bf16", runtime="vllm") == 32 * per_token
    assert _kv("llama-3.1-8b", context=4096, batch=3, kv_dtype="fp8", runtime="vllm") == (
        3 * 4096 * per_token // 2
    )


def test_vllm_hybrid_manager_sliding_pages() -> None:
    spec = load_model("gemma-3-27b-it")
    # SlidingWindowSpec.max_memory_usage_bytes: cdiv(min(1024 - 1 + 2048, 32768), 16) + 1
    # = 193 blocks = 3088 tokens for local layers; global: 2048 blocks = 32768 tokens.
    hybrid = kv.kv_cache_bytes(
        spec, context=32768, kv_dtype="bf16", runtime="vllm", max_num_batched_tokens=2048
    )
    assert hybrid == 10 * 4096 * 32768 * 2 + 52 * 4096 * 3088 * 2
    # --disable-hybrid-kv-cache-manager: every layer gets full-size pages.
    full = kv.kv_cache_bytes(spec, context=32768, kv_dtype="bf16", runtime="vllm", hybrid=False)
    assert full == 62 * 4096 * 32768 * 2


def test_tp_splits_kv_heads_and_replicates_beyond_them() -> None:
    spec = load_model("llama-3.1-8b")  # 8 KV heads
    one = kv.kv_cache_bytes(spec, context=4096, kv_dtype="bf16", runtime="vllm")
    assert kv.kv_cache_bytes(spec, context=4096, kv_dtype="bf16", runtime="vllm", tp=2) == (
        one // 2
    )
    # tp=16 > 8 KV heads: each rank keeps one (replicated) head, 1/8 of the cache
    assert kv.kv_cache_bytes(spec, context=4096, kv_dtype="bf16", runtime="vllm", tp=16) == (
        one // 8
    )
    mla = load_model("deepseek-v3")  # the MLA latent is replicated on every rank
    assert kv.kv_cache_bytes(mla, context=4096, kv_dtype="bf16", runtime="vllm", tp=8) == (
        kv.kv_cache_bytes(mla, context=4096, kv_dtype="bf16", runtime="vllm")
    )


def test_resolve_kv_dtype() -> None:
    assert kv.resolve_kv_dtype("auto", runtime="llamacpp", weights="q4_k_m") == "fp16"
    assert kv.resolve_kv_dtype("auto", runtime="transformers", weights="fp32") == "fp32"
    assert kv.resolve_kv_dtype("auto", runtime="vllm", weights="bf16") == "bf16"
    with pytest.raises(InvalidWorkload) as err:
        kv.resolve_kv_dtype("q8_0", runtime="vllm")
    assert err.value.field == "kv_dtype" and "fp8" in err.value.message
    with pytest.raises(InvalidWorkload):
        kv.resolve_kv_dtype("fp8", runtime="llamacpp")


# --- properties ------------------------------------------------------------------------

SLUGS = ("llama-3.1-8b", "gemma-3-27b-it", "gpt-oss-20b", "deepseek-v3", "mistral-7b-v0.1")


@settings(max_examples=150, deadline=None)
@given(
    slug=st.sampled_from(SLUGS),
    runtime=st.sampled_from(("transformers", "vllm", "llamacpp")),
    context=st.integers(1, 300_000),
    extra=st.integers(1, 50_000),
    batch=st.integers(1, 64),
    tp=st.sampled_from((1, 2, 4, 8)),
)
def test_monotonic_and_non_negative(
    slug: str, runtime: str, context: int, extra: int, batch: int, tp: int
) -> None:
    spec = load_model(slug)
    dtype = "fp16"

    def size(c: int, b: int) -> int:
        return kv.kv_cache_bytes(spec, context=c, batch=b, kv_dtype=dtype, runtime=runtime, tp=tp)

    base = size(context, batch)
    assert base > 0
    assert size(context + extra, batch) >= base
    assert size(context, batch + 1) >= base
    layers = kv.kv_layer_bytes(spec, context=context, batch=batch, kv_dtype=dtype, runtime=runtime)
    assert len(layers) == spec.num_layers and min(layers) >= 0
