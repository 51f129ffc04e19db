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
