"""Decode roofline: an upper bound on tokens/s from memory bandwidth alone.

Decoding one step reads every active weight once (routed experts count
``experts_per_token / num_experts``; an untied input embedding is a row gather and is not
counted) and the cached K/V of every sequence at the full context; the step yields one token
per sequence. Upper bound: ``tokens/s = batch × aggregate bandwidth / bytes per step``, with
``aggregate bandwidth = tp × bandwidth`` (tensor-parallel GPUs read at once, communication
ignored; pipeline stages take turns, so ``pp`` adds none). Compute, kernel efficiency and
CPU-offloaded layers are ignored, so real throughput is lower.
"""

from __future__ import annotations

from .gpus import GpuSpec
from .memo import per_spec_cache
from .messages import msg
from .model import ModelSpec
from .quant import quantize_tensors
from .result import Estimate
from .solve import inference_estimate, with_gpu
from .workload import InferenceWorkload

ROOFLINE_ASSUMPTION = msg(
    "decode tokens/s is a memory-bandwidth upper bound: each step reads the active weights "
    "once plus every sequence's cached K/V at the full context, over the bandwidth of the "
    "tensor-parallel GPUs (pipeline stages take turns; compute, kernel efficiency and "
    "interconnect ignored)"
)


def weight_bytes_read_per_token(spec: ModelSpec, weights: str, runtime: str) -> int:
    """Return the weight bytes one decode step streams from memory (all GPUs together).

    Every stored tensor counts, except an untied input embedding (a row gather) and the
    unused share of routed experts (``experts_per_token / num_experts`` of each stack).
    """
    return _weight_bytes_read(spec, weights, runtime)


@per_spec_cache
def _weight_bytes_read(spec: ModelSpec, weights: str, runtime: str) -> int:
    qts = quantize_tensors(spec, weights, runtime=runtime)
    total = 0
    for qt in qts:
        t = qt.tensor
        if t.name == "token_embd" and not spec.tie_word_embeddings:
            continue
        if t.name == "pos_embd":
            continue
        nbytes = int(qt.nbytes)
        if t.routed and t.layer is not None:
            mlp = spec.layers[t.layer].mlp
            if mlp.num_experts:
                nbytes = nbytes * mlp.experts_per_token // mlp.num_experts
        total += nbytes
    return total


def decode_tokens_per_s(
    spec: ModelSpec, work: InferenceWorkload, gpu: GpuSpec, *, estimate: Estimate | None = None
) -> float | None:
    """Return the memory-bandwidth roofline for decoding, in tokens/s over the batch.

    ``batch × tp × bandwidth / (active weight bytes + KV cache bytes)``, the KV cache
    taken from the estimate at ``work.context`` (None when the GPU has no bandwidth listed).
    Tensor-parallel GPUs read their shares at once; pipeline stages (``pp``, llama.cpp's
    layer split) take turns on each token, so they add no bandwidth.
    """
    if not gpu.bandwidth_bytes_per_s:
        return None
    bandwidth = float(gpu.bandwidth_bytes_per_s)
    work = with_gpu(work, gpu)
    if estimate is None:
        estimate = inference_estimate(spec, work)
    kv_total = _kv_total_bytes(estimate)
    weights = weight_bytes_read_per_token(spec, work.weights, work.runtime)
    step_bytes = weights + kv_total
    if step_bytes <= 0:
        return None
    return work.batch * bandwidth * work.tp / step_bytes


def _kv_total_bytes(estimate: Estimate) -> int:
    """KV cache over all GPUs: ``details['kv_cache_bytes_total']`` or per-GPU × GPUs."""
    total = estimate.details.get("kv_cache_total_bytes") if estimate.details else None
    if isinstance(total, int):
        return total
    return estimate.components.get("kv_cache", 0) * max(1, estimate.num_gpus)
