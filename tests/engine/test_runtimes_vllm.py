"""vLLM rules of issue 12 at vLLM 0.34.0 (and 0.33.0 where they differ): batch defaults per
GPU, chunked prefill, enforce eager, and the KV capacity vLLM logs (or its refusal to
start)."""

from __future__ import annotations

import pytest

from engine.catalog import load_model
from engine.errors import InvalidWorkload
from engine.gpus import get_gpu
from engine.inference import estimate_inference
from engine.runtime_vllm import RUNTIME as VLLM
from engine.runtime_vllm import VLLM_VERSION, batch_limits, kv_capacity
from engine.runtimes import runtime_constants
from engine.units import GIB
from engine.workload import InferenceWorkload


def _est(model: str = "llama-3.1-8b", **kw):
    return estimate_inference(load_model(model), InferenceWorkload(runtime="vllm", **kw))


@pytest.mark.parametrize(
    ("gpu", "limits"),
    [
        ("h100-sxm-80gb", (8192, 1024)),  # >= 70 GiB, not A100
        ("b200", (16384, 1024)),  # >= 160 GiB
        ("mi300x", (16384, 1024)),
        ("a100-80gb", (2048, 256)),  # A100 keeps the small tier (PR #17885)
        ("dgx-spark", (2048, 256)),  # GB10, compute capability 12.1
        ("rtx-4090", (2048, 256)),
    ],
)
def test_serve_defaults_per_gpu(gpu: str, limits: tuple[int, int]) -> None:
    assert VLLM.gpu_limits(get_gpu(gpu)) == limits


def test_chunked_prefill_off_takes_a_whole_max_model_len_step() -> None:
    work = InferenceWorkload(runtime="vllm", context=32768, chunked_prefill=False)
    assert batch_limits(work, (8192, 1024)) == (32768, 1024)
    short = InferenceWorkload(runtime="vllm", context=1024, chunked_prefill=False)
    assert batch_limits(short, (8192, 1024)) == (8192, 1024)  # max(max_model_len, default)
    on = _est(context=32768, gpu="h100-sxm-80gb")
    off = _est(context=32768, gpu="h100-sxm-80gb", chunked_prefill=False)
    assert off.details["max_num_batched_tokens"] == 32768
    assert off.components["activations"] == on.components["activations"] * 4


def test_user_limits_and_caps() -> None:
    work = InferenceWorkload(runtime="vllm", max_num_batched_tokens=4096, max_num_seqs=64)
    assert batch_limits(work, (8192, 1024)) == (4096, 64)
    # a default max_num_seqs is capped at max_num_batched_tokens
    assert batch_limits(InferenceWorkload(max_num_batched_tokens=512), (8192, 1024)) == (512, 512)
    # a default max_num_batched_tokens is capped at max_num_seqs × max_model_len
    assert batch_limits(InferenceWorkload(context=4, max_num_seqs=2), (8192, 1024)) == (8, 2)
    few = _est(gpu="h100-sxm-80gb", max_num_seqs=8)
    many = _est(gpu="h100-sxm-80gb")
    assert few.components["logits"] * 128 == many.components["logits"]


def test_refusals_follow_verify_max_model_len() -> None:
    with pytest.raises(InvalidWorkload) as err:
        _est(context=8192, max_num_batched_tokens=4096, chunked_prefill=False)
    assert err.value.field == "max_num_batched_tokens"
    with pytest.raises(InvalidWorkload):
        _est(max_num_batched_tokens=128, max_num_seqs=256)


def test_enforce_eager_drops_cuda_graph_memory() -> None:
    graphs = int(runtime_constants()["vllm"]["cuda_graph_bytes"]["value"])
    # 0.33 sizes the pool from the estimate: the graphs once
    eager = _est(gpu="h100-sxm-80gb", enforce_eager=True, vllm_version="0.33")
    graphed = _est(gpu="h100-sxm-80gb", vllm_version="0.33")
    assert graphed.components["overhead"] - eager.components["overhead"] == graphs
    assert any("--enforce-eager" in a for a in eager.assumptions)
    # 0.34's extensible KV cache: captured graphs, their estimate in the kept-free peak, and
    # the 0.75 margin on that estimate
    eager = _est(gpu="h100-sxm-80gb", enforce_eager=True)
    graphed = _est(gpu="h100-sxm-80gb")
    diff = graphed.components["overhead"] - eager.components["overhead"]
    assert diff == 2 * graphs + int(
        (graphed.components["activations"] + graphed.components["logits"] + graphs) * 0.75
    ) - int((eager.components["activations"] + eager.components["logits"]) * 0.75)


@pytest.mark.parametrize(("line", "block"), [("0.34", 64), ("0.33", 16)])
def test_kv_capacity_as_vllm_logs_it(line: str, block: int) -> None:
    est = _est(gpu="h100-sxm-80gb", context=8192, vllm_version=line)
    d = est.details
    pool, per_token = d["vllm_kv_pool_bytes"], 32 * 8 * 128 * 2 * 2  # Llama-3.1-8B, bf16
    blocks = pool // (block * per_token)
    per_request = 8192 // block
    assert d["vllm_kv_cache_tokens"] == blocks * block
    assert d["vllm_max_concurrency"] == round(blocks / per_request, 2)
    assert d["vllm_log"] == (
        f"GPU KV cache size: {blocks * block:,} tokens, Maximum concurrency for 8,192 tokens "
        f"per request: {blocks / per_request:.2f}x"
    )
    assert d["vllm_starts"] is True and d["vllm_version"] == f"{line}.0"
    assert VLLM_VERSION == "0.34.0"


def test_refuses_to_start_when_one_request_does_not_fit() -> None:
    est = _est(gpu="rtx-4090", context=131072)
    assert est.details["vllm_starts"] is False
    assert any("vLLM refuses to start" in w for w in est.warnings)
    assert kv_capacity(GIB, 2 * GIB, context=1024, batch=1) == (512, 0.5, 2 * GIB)
    assert kv_capacity(GIB, 0, context=1024, batch=1) is None
