"""vLLM release lines (engine/vllm_release.py) and GPTQ/AWQ/compressed-tensors as vLLM loads
them (engine/vllm_wna16.py), each figure derived by hand from the wheels' source."""

from __future__ import annotations

import math

import pytest

from engine.catalog import load_model
from engine.errors import InvalidWorkload
from engine.gpus import get_gpu
from engine.inference import estimate_inference
from engine.runtimes import runtime_constants
from engine.units import GIB, MIB
from engine.verdict import budget_bytes
from engine.vllm_release import (
    block_tokens,
    gptq_unused_zeros_kept,
    release_row,
    releases,
    utilization,
)
from engine.vllm_wna16 import Linear, Wna16, kernel, load_transient_bytes, marlin_padded_nk
from engine.workload import VLLM_VERSIONS, InferenceWorkload, inference_from_dict

GRAPHS = int(runtime_constants()["vllm"]["cuda_graph_bytes"]["value"])


def _est(model: str = "llama-3.1-8b", **kw):
    return estimate_inference(load_model(model), InferenceWorkload(runtime="vllm", **kw))


def test_release_table_is_the_workload_choice_and_every_rule_has_a_source() -> None:
    assert VLLM_VERSIONS == releases() == ("0.34", "0.33")
    assert InferenceWorkload().vllm_version == "0.34"
    for line in releases():
        row = release_row(line)
        assert row["version"] == f"{line}.0"
        for key in ("gpu_memory_utilization", "extensible_kv_cache", "block_size"):
            assert "vllm/" in row[key]["source"]
    assert (block_tokens("0.34"), block_tokens("0.33")) == (64, 16)  # DEFAULT_BLOCK_SIZE
    assert gptq_unused_zeros_kept("0.34") and not gptq_unused_zeros_kept("0.33")


@pytest.mark.parametrize(
    ("gpu", "line", "util"),
    [
        ("h100-sxm-80gb", "0.34", 1.0),  # CUDA: extensible KV cache
        ("mi300x", "0.34", 1.0),  # ROCm too
        ("arc-b580", "0.34", 0.92),  # XPU: estimate sizing
        ("h100-sxm-80gb", "0.33", 0.92),  # 0.33: Field(default=0.92)
    ],
)
def test_unset_utilization_resolves_as_vllm_does(gpu: str, line: str, util: float) -> None:
    g = get_gpu(gpu)
    work = InferenceWorkload(runtime="vllm", vllm_version=line)
    assert utilization(g, work) == util
    assert budget_bytes(g, work) == math.ceil(g.usable_bytes * util)  # request_memory
    given = InferenceWorkload(runtime="vllm", vllm_version=line, gpu_memory_utilization=0.5)
    assert utilization(g, given) == 0.5


def test_workload_accepts_no_utilization_and_a_release() -> None:
    work = inference_from_dict({"runtime": "vllm", "vllm_version": "0.33"})
    assert work.gpu_memory_utilization is None and work.vllm_version == "0.33"
    with pytest.raises(InvalidWorkload):
        inference_from_dict({"vllm_version": "0.10"})


def test_extensible_kv_cache_keeps_graphs_and_margin_free() -> None:
    # measure_kv_cache_bytes: available = min(R - used, U - used - margin) - peak, with
    # peak = activations + logits + CUDA-graph estimate, margin = max(1 GiB, 0.75 peak)
    new = _est(gpu="h100-sxm-80gb")
    old = _est(gpu="h100-sxm-80gb", vllm_version="0.33")
    peak = new.components["activations"] + new.components["logits"] + GRAPHS
    kept = GRAPHS + max(GIB, int(peak * 0.75))
    assert new.details["vllm_kept_free_bytes"] == kept
    assert new.components["overhead"] - old.components["overhead"] == kept
    assert "vllm_kept_free_bytes" not in old.details
    usable = get_gpu("h100-sxm-80gb").usable_bytes
    non_kv = new.per_gpu_bytes - new.components["kv_cache"]
    assert new.details["vllm_kv_pool_bytes"] == usable - non_kv
    # a budget well below the usable memory already leaves the margin free: graphs only
    half = _est(gpu="h100-sxm-80gb", gpu_memory_utilization=0.5)
    assert half.details["vllm_kept_free_bytes"] == GRAPHS


def test_amd_margin_floor_is_three_gib() -> None:
    est = _est(gpu="mi300x", max_num_seqs=1, max_num_batched_tokens=16)  # a tiny peak
    assert est.details["vllm_kept_free_bytes"] == GRAPHS + 3 * GIB


# --------------------------------------------------------------------------- GPTQ / AWQ


def test_marlin_tile_padding() -> None:
    assert marlin_padded_nk(4096, 14336, 128) == (4096, 14336)  # already aligned
    # gpt-oss's 2880: n % 64 holds, k -> 2944 (k % 128) beats (2944, 2944)
    assert marlin_padded_nk(2880, 2880, -1) == (2880, 2944)
    assert marlin_padded_nk(100, 200, 32) == (128, 256)


@pytest.mark.parametrize(
    ("gpu", "group", "expected"),
    [
        ("h100-sxm-80gb", 128, "Machete"),  # 9.0: Machete first
        ("h100-sxm-80gb", 32, "Humming"),  # Machete takes -1/64/128; Humming before Marlin
        ("a100-80gb", 128, "Marlin"),
        ("rtx-4090", 32, "Marlin"),
        ("mi300x", 128, "checkpoint"),  # ROCm kernels keep the checkpoint layout
    ],
)
def test_kernel_per_gpu(gpu: str, group: int, expected: str) -> None:
    assert kernel(Wna16("gptq", 4, group), get_gpu(gpu), 4096, 6144) == expected


def test_gptq_llama_8b_loses_g_idx_and_on_033_its_unused_zeros() -> None:
    # per layer, g_idx int32 of every linear's inputs: 4 x (6 x 4096 + 14336); qzeros of
    # 4-bit g128: q 65,536 + k, v 16,384 each + o 65,536 + gate, up 229,376 each + down 229,376
    checkpoint = _est(weights="gptq-4bit-g128", gpu="a100-80gb", vllm_version="0.33")
    g_idx = 32 * 4 * (6 * 4096 + 14336)
    zeros = 32 * (65536 + 2 * 16384 + 65536 + 3 * 229376)
    new = _est(weights="gptq-4bit-g128", gpu="a100-80gb")
    assert new.details["vllm_linear_kernel"] == "Marlin"
    assert checkpoint.components["weights"] == new.components["weights"] - zeros
    transformers = estimate_inference(
        load_model("llama-3.1-8b"),
        InferenceWorkload(runtime="transformers", weights="gptq-4bit-g128"),
    )
    vocab_pad = new.components["weights"] - transformers.components["weights"] + g_idx
    assert 0 <= vocab_pad < 64 * 4096 * 2 * 2  # vLLM's vocabulary padding only
    assert any("GPTQ on vLLM 0.34.0: Marlin" in a for a in new.assumptions)


def test_awq_on_hopper_keeps_zero_points_in_the_activation_dtype() -> None:
    # Machete: -scale·zero as bf16 [groups, n] instead of packed 4-bit: +1.5 x groups x n
    h100 = _est(weights="awq-4bit-g128", gpu="h100-sxm-80gb")
    a100 = _est(weights="awq-4bit-g128", gpu="a100-80gb")
    per_layer = 3 * (32 * 6144 + 32 * 4096 + 32 * 28672 + 112 * 4096) // 2
    assert h100.components["weights"] - a100.components["weights"] == 32 * per_layer
    assert h100.details["vllm_linear_kernel"] == "Machete"
    # _convert_awq_to_standard_format on gate_up (k 4096, n 28672): two int32 copies + result
    assert a100.details["vllm_load_transient_bytes"] == 8 * 4096 * 28672 + 4096 * 28672 // 2
    lin = Linear(0, Wna16("gptq", 4, 128), 4096, 28672, 0, 0)
    assert load_transient_bytes(lin, "Marlin") == 4096 * 28672 // 2 + 32 * 28672 * 2


def test_compressed_tensors_w4a16_repacks_like_gptq() -> None:
    sym = _est(weights="ct-int4-g128-a16", gpu="a100-80gb")
    asym = _est(weights="ct-int4asym-g128-a16", gpu="a100-80gb")
    assert sym.details["vllm_linear_kernel"] == "Marlin"
    assert any("compressed-tensors on vLLM" in a for a in asym.assumptions)
    assert asym.components["weights"] > sym.components["weights"]


@pytest.mark.parametrize(
    ("weights", "gpu", "field"),
    [
        ("nf4", None, "weights"),  # no bitsandbytes method at 0.33/0.34
        ("q4_k_m", None, "weights"),  # no GGUF either
        ("gptq-3bit-g128", None, "weights"),  # AutoGPTQConfig.TYPE_MAP: 4/8-bit
        ("gptq-4bit-g128", "v100-32gb", "gpu"),  # verify_marlin_supported: >= 7.5
        ("awq-4bit-g128", "v100-32gb", "gpu"),  # AutoAWQConfig.get_min_capability
    ],
)
def test_refusals(weights: str, gpu: str | None, field: str) -> None:
    with pytest.raises(InvalidWorkload) as err:
        _est(weights=weights, gpu=gpu)
    assert err.value.field == field
    assert "vLLM 0.34.0" in str(err.value)


def test_capacity_line_uses_the_release_block() -> None:
    # get_kv_cache_capacity: int(concurrency × max_model_len), concurrency in whole blocks
    # of the release's size: a 1,000-token request takes 16 blocks of 64 (1,024 tokens)
    est = _est(gpu="rtx-4090", context=1000)
    per_token = 32 * 8 * 128 * 2 * 2
    blocks = est.details["vllm_kv_pool_bytes"] // (64 * per_token)
    assert est.details["vllm_kv_cache_tokens"] == int(blocks / 16 * 1000)
    old = _est(gpu="rtx-4090", context=1000, vllm_version="0.33")
    blocks = old.details["vllm_kv_pool_bytes"] // (16 * per_token)
    assert old.details["vllm_kv_cache_tokens"] == int(blocks / 63 * 1000)
    assert est.details["vllm_kv_pool_bytes"] > MIB


def test_gptq_moe_experts_lose_g_idx_and_are_copied_while_converted() -> None:
    # Mixtral-8x7B (vocabulary 32,000: no padding): per layer, dense q/k/v/o g_idx
    # 4 x 4 x 4096 and the experts' 8 x 4 x (4096 + 4096 + 14336) (AutoGPTQMoEMethod)
    vllm = _est("mixtral-8x7b", weights="gptq-4bit-g128", gpu="a100-80gb")
    transformers = estimate_inference(
        load_model("mixtral-8x7b"),
        InferenceWorkload(runtime="transformers", weights="gptq-4bit-g128"),
    )
    g_idx = 32 * (4 * 4 * 4096 + 8 * 4 * (4096 + 4096 + 14336))
    assert transformers.components["weights"] - vllm.components["weights"] == g_idx
    # the transposed copy and the converted stack of one layer's experts
    assert vllm.details["vllm_load_transient_bytes"] > 2 * 8 * 3 * 14336 * 4096 // 2
