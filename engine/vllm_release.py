"""The vLLM release a workload follows, and the memory rules that differ between releases.

``engine/data/vllm_releases.json`` holds one row per release line, each value with the file
it was read from. The current line (0.34) sizes the KV cache with the *extensible KV
cache* on CUDA and ROCm: ``--gpu-memory-utilization`` left unset means 1.0 there (0.92
elsewhere), and the pool is what the memory measured after warm-up leaves, less the
transient peak and a margin (``vllm/v1/worker/extensible_kv_cache.py``
``measure_kv_cache_bytes``)::

    pool = min(R − persistent, U − persistent − margin) − peak
    R = ceil(total · utilization),  margin = max(floor, 0.75 · peak)
    peak = profiled activations + sampler logits + CUDA-graph estimate

The previous line (0.33) sizes it from the profiling estimate: utilization 0.92 by default
and ``pool = R − persistent − peak`` with the CUDA-graph estimate once.
"""

from __future__ import annotations

import json
import math
from importlib import resources
from typing import TYPE_CHECKING, Any

from .memo import cached

if TYPE_CHECKING:
    from .gpus import GpuSpec
    from .workload import InferenceWorkload


@cached
def _table() -> dict[str, Any]:
    text = resources.files("engine").joinpath("data/vllm_releases.json").read_text("utf-8")
    return json.loads(text)


def releases() -> tuple[str, ...]:
    """The release lines the engine models, current first (the workload's choices)."""
    return tuple(_table()["releases"])


def default_release() -> str:
    return str(_table()["default"])


def release_row(line: str) -> dict[str, Any]:
    """The rules of one release line (``"0.34"``); read-only."""
    return _table()["releases"][line]


def version(line: str) -> str:
    """The full version a line's rules were read from (``"0.34.0"``)."""
    return str(release_row(line)["version"])


def extensible(gpu: GpuSpec | None, line: str) -> bool:
    """Whether vLLM sizes the KV cache with the extensible KV cache on ``gpu``; with no GPU
    named, as on CUDA."""
    vendors = release_row(line)["extensible_kv_cache"]["vendors"]
    return (gpu.vendor if gpu is not None else "nvidia") in vendors


def utilization(gpu: GpuSpec | None, work: InferenceWorkload) -> float:
    """``--gpu-memory-utilization`` as vLLM resolves it (the user's value, else the
    release's default for the sizing mode)."""
    if work.gpu_memory_utilization is not None:
        return work.gpu_memory_utilization
    rule = release_row(work.vllm_version)["gpu_memory_utilization"]
    if extensible(gpu, work.vllm_version):
        return float(rule["extensible"])
    return float(rule["estimate"])


def requested_bytes(gpu: GpuSpec, work: InferenceWorkload) -> int:
    """vLLM's budget on one GPU: ``ceil(total · utilization)`` (v1/worker/utils.py
    ``request_memory``), the GPU's usable bytes standing for torch's total memory."""
    return math.ceil(gpu.usable_bytes * utilization(gpu, work))


def kept_free_bytes(
    gpu: GpuSpec | None, work: InferenceWorkload, *, peak: int, graphs: int
) -> int:
    """Bytes the extensible KV cache keeps free beyond the profiled peak: the CUDA-graph
    estimate a second time (it is in the transient headroom and, once captured, in the
    measured memory) and the part of the margin ``max(floor, 0.75 · peak)`` that the
    budget does not already leave free. 0 without the extensible KV cache.

    ``peak`` is activations + logits (+ ``graphs``, added here)."""
    line = work.vllm_version
    if not extensible(gpu, line):
        return 0
    rule = release_row(line)["kv_margin"]
    vendor = gpu.vendor if gpu is not None else "nvidia"
    transient = peak + graphs
    margin = max(int(rule["floor"][vendor]), int(transient * float(rule["fraction"])))
    below_budget = 0 if gpu is None else gpu.usable_bytes - requested_bytes(gpu, work)
    return graphs + max(0, margin - max(0, below_budget))


def block_tokens(line: str) -> int:
    """Tokens per KV-cache block (``CacheConfig.DEFAULT_BLOCK_SIZE``)."""
    return int(release_row(line)["block_size"]["value"])


def gptq_unused_zeros_kept(line: str) -> bool:
    """Whether symmetric GPTQ's loaded ``qzeros`` stay on the GPU after Marlin repacking."""
    return bool(release_row(line)["gptq_unused_zeros_kept"]["value"])


def utilization_words(work: InferenceWorkload) -> str:
    """The utilisation a budget uses, in words, when no single GPU is named (the fit table):
    the user's value, or the release's defaults per sizing mode."""
    from .messages import msg

    if work.gpu_memory_utilization is not None:
        return f"{work.gpu_memory_utilization}"
    rule = release_row(work.vllm_version)["gpu_memory_utilization"]
    if "extensible" not in rule:
        return msg(
            "{value}, vLLM {version}'s default",
            value=rule["estimate"],
            version=version(work.vllm_version),
        )
    return msg(
        "vLLM {version}'s default: {ext} on NVIDIA/AMD (extensible KV cache), else {est}",
        version=version(work.vllm_version),
        ext=rule["extensible"],
        est=rule["estimate"],
    )


def gpu_key(gpu: GpuSpec, work: InferenceWorkload) -> tuple[int, ...]:
    """What the vLLM estimate takes from ``gpu`` besides overhead and batch limits (a sweep
    shares one memory curve only between GPUs with equal keys): the margin floor (-1: no
    extensible KV cache), how far the budget stays below the usable memory, and the GPU
    family that picks the quantized kernels (``vllm_wna16.kernel_family``)."""
    from .vllm_wna16 import kernel_family

    line = work.vllm_version
    family = kernel_family(gpu)
    if not extensible(gpu, line):
        return (-1, 0, family)
    floor = int(release_row(line)["kv_margin"]["floor"][gpu.vendor])
    return (floor, max(0, gpu.usable_bytes - requested_bytes(gpu, work)), family)
