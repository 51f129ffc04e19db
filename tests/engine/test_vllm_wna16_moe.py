"""Routed AWQ and compressed-tensors W4A16 experts as vLLM 0.34.0 loads them
(engine/vllm_wna16.py ``expert_stacks``); each figure derived by hand from the wheel's
``auto_awq.py`` ``AutoAWQMoEMethod``, ``compressed_tensors_moe_wna16.py`` and
``layers/fused_moe/oracle/int_wna16.py``."""

from __future__ import annotations

from engine.catalog import load_model
from engine.formats import QuantizedTensor
from engine.gpus import get_gpu
from engine.inference import estimate_inference
from engine.model import Tensor
from engine.vllm_wna16 import (
    Wna16,
    expert_stacks,
    marlin_moe_padded_intermediate,
    moe_kernel,
)
from engine.workload import InferenceWorkload


def _est(model: str, **kw):
    return estimate_inference(load_model(model), InferenceWorkload(runtime="vllm", **kw))


def _stack(storage: str, per_expert: int, inter: int = 352, experts: int = 4):
    """One layer's gate/up/down expert stacks (hidden 2048) with the given bytes each."""
    shapes = {"ffn_gate_exps": (inter, 2048), "ffn_up_exps": (inter, 2048)}
    shapes["ffn_down_exps"] = (2048, inter)
    return [
        QuantizedTensor(Tensor(name, shape, "linear", 3, experts, True), storage, per_expert * 4)
        for name, shape in shapes.items()
    ]


def test_moe_backend_per_gpu() -> None:
    ct = Wna16("ct", 4, 32)
    awq = Wna16("awq", 4, 128, zero_points=True)
    # FlashInfer TRT-LLM (10.x, symmetric int4 g32), Humming ahead of Marlin on 9.0
    assert moe_kernel(ct, get_gpu("b200"), 7168, 256) == "FlashInfer TRT-LLM"
    assert moe_kernel(awq, get_gpu("b200"), 2048, 768) == "Marlin"
    assert moe_kernel(ct, get_gpu("h200-141gb"), 7168, 256) == "Humming"
    assert moe_kernel(ct, get_gpu("a100-80gb"), 7168, 256) == "Marlin"
    # groups straddling the per-rank intermediate size: no Marlin (Triton refuses AWQ)
    assert moe_kernel(awq, get_gpu("a100-80gb"), 2048, 96) == "Humming"
    assert moe_kernel(ct, get_gpu("a100-80gb"), 7168, 48) == "Triton"
    # marlin_moe_padded_intermediate: round up to lcm(64, group)
    assert marlin_moe_padded_intermediate(352, 32) == 384
    assert marlin_moe_padded_intermediate(768, 128) == 768


def test_awq_experts_padded_on_marlin() -> None:
    # per expert at N intermediate: w13 2048·2N/2 + 64·2N·2 + 64·2N/2 = 2368N,
    # w2 N·2048/2 + (N/32)·2048·(2 + 1/2) = 1184N; 4 experts: 14208N; N 352 → 384
    out, kernels = expert_stacks(_stack("awq-int4-g32", 416_768), lambda t: 1, get_gpu("a100-80gb"))
    assert kernels == {"Marlin"}
    loaded, checkpoint = 14208 * 384, 14208 * 352
    # the padded copy and the repacked stacks beside the loaded ones
    assert out == {3: (loaded - checkpoint, checkpoint + loaded)}


def test_compressed_tensors_experts_padded_on_marlin() -> None:
    # per expert: w13 2N·256 words·4 + 2N·64·2 = 2304N, w2 2048·(N/8)·4 + 2048·(N/32)·2 =
    # 1152N (+16 B weight_shape per tensor in the checkpoint); 4 experts: 13824N
    out, _ = expert_stacks(
        _stack("ct-int4-g32-a16", 405_520 + 16), lambda t: 1, get_gpu("a100-80gb")
    )
    loaded, checkpoint = 13824 * 384, 13824 * 352
    shape = 2 * 4 * 2 * 2 - 3 * 4 * 16  # w13/w2_weight_shape [E, 2] bf16 vs int64[2] each
    # K-first transposed copy, padded copy and repacked stacks beside the loaded ones
    assert out == {3: (loaded - checkpoint + shape, 2 * checkpoint + loaded)}


def test_kimi_k25_experts_by_gpu() -> None:
    kw = {"weights": "auto", "tp": 8}
    h200 = _est("kimi-k2.5", gpu="h200-141gb", **kw)
    a100 = _est("kimi-k2.5", gpu="a100-80gb", **kw)
    b200 = _est("kimi-k2.5", gpu="b200", **kw)
    assert h200.details["vllm_linear_kernel"] == "Humming (MoE)"
    assert b200.details["vllm_linear_kernel"] == "FlashInfer TRT-LLM (MoE)"
    assert a100.details["vllm_linear_kernel"] == "Marlin (MoE)"
    # Humming and FlashInfer layouts not modelled: the checkpoint's bytes
    assert h200.components["weights"] == b200.components["weights"]
    assert "vllm_load_transient_bytes" not in h200.details
    # Marlin: 256 intermediate columns per rank need no padding; weight_shape per layer
    # 2·384·2·2 against 3·384·16/8 in the checkpoint's share, 60 MoE layers
    assert a100.components["weights"] - h200.components["weights"] == 60 * (3072 - 2304)
    # 384 experts × 3 × (2048·7168/2 + 2048·224·2) / 8 ranks, copied twice
    assert a100.details["vllm_load_transient_bytes"] == 2 * 384 * 3 * 8_257_536 // 8


def test_qwen3_moe_awq_experts() -> None:
    a100 = _est("qwen3-30b-a3b", weights="awq-4bit-g128", gpu="a100-80gb")
    h100 = _est("qwen3-30b-a3b", weights="awq-4bit-g128", gpu="h100-sxm-80gb")
    # 768 intermediate: no padding, the repacked stacks of one layer beside the loaded ones:
    # 3 × 128 × (768·2048/2 + 16·768·2 + 16·768/2)
    assert a100.details["vllm_load_transient_bytes"] == 3 * 128 * 817_152
    assert any("routed experts on the Marlin MoE backend" in a for a in a100.assumptions)
    assert any("routed experts on the Humming MoE backend" in a for a in h100.assumptions)
