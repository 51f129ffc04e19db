"""vLLM on quantized checkpoints: FP8 ignored layers stay 16-bit, MXFP4 kernel padding per
GPU family (vllm/model_executor/layers/quantization/{fp8,mxfp4}.py)."""

from __future__ import annotations

import re

import pytest

from engine.catalog import load_config, load_model
from engine.inference import estimate_inference
from engine.quant import quantize_tensors, resolve_auto
from engine.vllm_mxfp4 import expert_stack_bytes, mxfp4_padding, padding_bytes
from engine.workload import InferenceWorkload

# HF module name (from modules_to_not_convert / ignored_layers) -> engine tensor names
_HF_TO_ENGINE = {
    "lm_head": ("output",),
    "embed_tokens": ("token_embd",),
    "input_layernorm": ("attn_norm",),
    "post_attention_layernorm": ("ffn_norm",),
    "mlp.gate": ("ffn_gate_inp",),
    "gate": ("ffn_gate_inp",),
    "mlp.router": ("ffn_gate_inp",),
    "e_score_correction_bias": ("ffn_gate_inp", "exp_probs_b"),
    "self_attn": ("attn_q", "attn_k", "attn_v", "attn_output", "attn_sinks"),
    "vision_tower": ("v.",),
    "multi_modal_projector": ("mm.",),
}


def _ignored(model: str) -> list[str]:
    q = load_config(model).get("quantization_config") or {}
    return list(q.get("modules_to_not_convert") or q.get("ignored_layers") or [])


@pytest.mark.parametrize(
    "model",
    [
        "qwen3-30b-a3b-fp8",
        "qwen3-235b-a22b-fp8",
        "minimax-m2.5",
        "devstral-small-2-24b-instruct-2512",
        "gpt-oss-20b",
    ],
)
def test_ignored_layers_stay_16_bit_on_vllm(model: str) -> None:
    """Every module the checkpoint lists as not converted is 16-bit in the engine's vLLM
    estimate for --weights auto, as vLLM's is_layer_skipped keeps it unquantized."""
    spec = load_model(model)
    stored = {
        q.tensor.name: q.storage for q in quantize_tensors(spec, resolve_auto(spec), runtime="vllm")
    }
    ignored = _ignored(model)
    assert ignored
    checked = 0
    for module in ignored:
        tail = re.sub(r"^(model\.)?(layers\.[\d*]+\.)?", "", module)
        names = next(
            (v for k, v in _HF_TO_ENGINE.items() if tail == k or tail.endswith("." + k)), None
        )
        assert names is not None, module
        for name, storage in stored.items():
            if name.startswith(names) and not name.endswith("_exps"):
                assert storage in ("bf16", "fp16", "fp32"), (module, name, storage)
                checked += 1
    assert checked


def test_mxfp4_backend_per_family() -> None:
    assert mxfp4_padding("9.0", "nvidia").intermediate == 64  # triton_kernels
    assert mxfp4_padding("9.0", "nvidia").hidden == 1
    b = mxfp4_padding("10.0", "nvidia")
    assert (b.intermediate, b.hidden) == (256, 256)  # FlashInfer SM100
    m = mxfp4_padding("8.0", "nvidia")
    assert (m.backend, m.intermediate, m.hidden) == ("Marlin", 128, 256)
    assert mxfp4_padding("12.0", "nvidia").backend == "Marlin"
    assert mxfp4_padding(None, "nvidia") is None
    assert mxfp4_padding("9.4", "amd") is None


def test_mxfp4_stack_bytes_match_create_weights() -> None:
    # gpt-oss-20b layer: 32 experts, I = H = 2880; Blackwell pads both to 3072
    e, i, h = 32, 2880, 2880
    unpadded = e * (2 * i * (h // 2 + h // 32 + 2) + h * (i // 2 + i // 32 + 2))
    assert expert_stack_bytes(e, i, h) == unpadded
    pad = mxfp4_padding("10.0", "nvidia")
    assert padding_bytes(e, i, h, pad) == expert_stack_bytes(e, 3072, 3072) - unpadded
    assert padding_bytes(e, i, h, mxfp4_padding("9.0", "nvidia")) == 0  # 2880 % 64 == 0
    assert padding_bytes(e, 1440, h, mxfp4_padding("9.0", "nvidia")) == (
        expert_stack_bytes(e, 1472, h) - expert_stack_bytes(e, 1440, h)
    )


def _weights(gpu: str, tp: int = 1, runtime: str = "vllm") -> tuple[int, tuple[str, ...]]:
    work = InferenceWorkload(weights="auto", runtime=runtime, context=4096, tp=tp, gpu=gpu)
    est = estimate_inference(load_model("gpt-oss-20b"), work)
    return est.components["weights"], tuple(est.assumptions)


def test_gpt_oss_padding_per_gpu_family() -> None:
    hopper, notes_h = _weights("h100-sxm")
    blackwell, notes_b = _weights("b200")
    ampere, notes_a = _weights("a100-80gb")
    layers = 24
    assert blackwell - hopper == layers * padding_bytes(
        32, 2880, 2880, mxfp4_padding("10.0", "nvidia")
    )
    assert ampere - hopper == layers * padding_bytes(32, 2880, 2880, mxfp4_padding("8.0", "nvidia"))
    assert not any("MXFP4" in n for n in notes_h)
    assert any("FlashInfer SM100" in n for n in notes_b)
    assert any("Marlin" in n for n in notes_a)
    # Hopper pads the per-rank intermediate size 1440 (tp=2) to 1472
    _, notes_tp2 = _weights("h100-sxm", tp=2)
    assert any("1,440 → multiple of 64" in n for n in notes_tp2)


def test_transformers_not_padded() -> None:
    a, _ = _weights("b200", runtime="transformers")
    b, _ = _weights("h100-sxm", runtime="transformers")
    assert a == b
