"""transformers attn_implementation (5.25.0): eager keeps the scores, the fused kernels
keep none; the default stays sdpa."""

from __future__ import annotations

import pytest

from engine.catalog import load_model
from engine.inference import estimate_inference
from engine.runtime_transformers import TRANSFORMERS_VERSION, attention_scores_bytes
from engine.workload import InferenceWorkload


def _est(**kw):
    return estimate_inference(load_model("llama-3.1-8b"), InferenceWorkload(**kw))


@pytest.mark.parametrize("impl", ["sdpa", "flash_attention_2", "flex_attention"])
def test_fused_kernels_keep_no_scores(impl: str) -> None:
    assert _est(attn_implementation=impl).components == _est().components


def test_eager_keeps_scores_softmax_and_mask() -> None:
    spec = load_model("llama-3.1-8b")
    scores, mask = attention_scores_bytes(
        spec, "eager", batch=2, q_tokens=4096, kv_tokens=4096, dtype_bytes=2
    )
    assert scores == 2 * 32 * 4096 * 4096 * (2 + 4 + 2)  # bf16 scores, fp32 softmax, cast
    assert mask == 2 * 4096 * 4096 * 2  # float mask in the model dtype
    eager = _est(attn_implementation="eager", batch=2)
    sdpa = _est(batch=2)
    diff = eager.components["activations"] - sdpa.components["activations"]
    assert diff == scores + mask
    assert eager.details["transformers_version"] == TRANSFORMERS_VERSION
    # tensor parallel splits the heads
    half, _ = attention_scores_bytes(
        spec, "eager", batch=2, q_tokens=4096, kv_tokens=4096, dtype_bytes=2, tp=2
    )
    assert half * 2 == scores


def test_fit_train_reports_the_longest_sequence_and_largest_micro_batch() -> None:
    from dataclasses import replace

    from engine.fit import fit_training
    from engine.gpus import get_gpu
    from engine.training import estimate_training
    from engine.verdict import fits
    from engine.workload import training_from_dict

    spec = load_model("llama-3.1-8b")
    work = training_from_dict({"method": "qlora", "gpu": "rtx-4090"})
    gpu = fit_training(spec, work, gpus=[])["gpu"]
    seq, batch = gpu["max_seq_len"], gpu["max_micro_batch"]
    assert seq > work.seq and batch >= 1
    g = get_gpu("rtx-4090")
    assert fits(estimate_training(spec, replace(work, seq=seq)), g).fits
    assert not fits(estimate_training(spec, replace(work, seq=seq + 1)), g).fits
    assert fits(estimate_training(spec, replace(work, batch=batch)), g).fits
    assert not fits(estimate_training(spec, replace(work, batch=batch + 1)), g).fits
    full = fit_training(spec, training_from_dict({"gpu": "rtx-4090"}), gpus=[])["gpu"]
    assert full["max_seq_len"] == full["max_micro_batch"] == 0  # 8B full AdamW never fits 24 GB


def test_one_attention_rule_with_training() -> None:
    """Inference takes training's path: eager where the model has no SDPA path."""
    from engine.activations import effective_attention

    gemma2 = load_model("gemma-2-9b-it")
    assert effective_attention(gemma2, "sdpa") == "eager"
    scores, mask = attention_scores_bytes(
        gemma2, "sdpa", batch=1, q_tokens=4096, kv_tokens=4096, dtype_bytes=2
    )
    assert scores == 16 * 4096 * 4096 * 8  # 16 heads, bf16 + fp32 + bf16
    assert mask == 2 * 4096 * 4096 * 2  # a full and a sliding mask, in bf16
    est = estimate_inference(gemma2, InferenceWorkload())
    assert any("attn_implementation=eager" in a for a in est.assumptions)


def test_sdpa_pays_for_a_sliding_window_it_cannot_skip() -> None:
    gemma3 = load_model("gemma-3-4b-it")
    window = min(la.attention.window for la in gemma3.layers if la.attention.window)
    kw = {"batch": 1, "dtype_bytes": 2}
    short = attention_scores_bytes(gemma3, "sdpa", q_tokens=512, kv_tokens=window - 1, **kw)
    assert short == (0, 0)
    long = attention_scores_bytes(gemma3, "sdpa", q_tokens=8192, kv_tokens=8192, **kw)
    assert long == (0, 8192 * 8192 * (1 + 2))  # bool mask + SDPA's float copy
    flash = attention_scores_bytes(gemma3, "flash_attention_2", q_tokens=8192, kv_tokens=8192, **kw)
    assert flash == (0, 0)
