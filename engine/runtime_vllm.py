"""vLLM (``vllm serve``): the profiling run's peak, paged KV, a pre-allocated memory pool.

Activations and sampler logits are what vLLM's start-up profile measures and sets aside:
one forward pass over ``max_num_batched_tokens`` tokens (chunked prefill; two hidden-sized
tensors, the residual is updated in place) and ``min(max_num_seqs, max_num_batched_tokens)``
rows of full-vocabulary logits at ``dtype + 12`` bytes (fp32 logits, probabilities and one
more fp32 tensor). Overhead adds non-torch memory, CUDA graphs and, with tp > 1,
communication buffers. The vocabulary is padded to a multiple of 64. The budget is
``gpu_memory_utilization × usable``, reported as ``reserved_bytes``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .messages import msg
from .runtime_base import (
    Budget,
    GpuBytes,
    Inputs,
    Placement,
    Transients,
    max_transient_per_token,
    place_layers,
)
from .runtimes import runtime_constants
from .units import GIB, format_gib
from .verdict import budget_bytes

if TYPE_CHECKING:
    from .gpus import GpuSpec
    from .model import ModelSpec
    from .workload import InferenceWorkload


def vllm_profile_peak_bytes(
    spec: ModelSpec,
    *,
    max_num_batched_tokens: int,
    max_num_seqs: int,
    dtype_bytes: int = 2,
    tp: int = 1,
) -> tuple[int, int]:
    """Return (activation bytes, sampler logits bytes) of vLLM's profiling run on one rank.

    The profile runs one forward pass over ``max_num_batched_tokens`` tokens and the sampler
    over ``min(max_num_seqs, max_num_batched_tokens)`` rows of full-vocabulary logits.
    """
    per_token = max_transient_per_token(spec, tp, 2, False)
    activations = max_num_batched_tokens * per_token * dtype_bytes
    rows = min(max_num_seqs, max_num_batched_tokens)
    extra = int(runtime_constants()["vllm"]["sampler_bytes_per_logit"]["extra"])
    logits = rows * spec.vocab_size * (dtype_bytes + extra)
    return activations, logits


class Vllm:
    """vLLM's V1 engine with its default scheduler limits."""

    name = "vllm"
    partial_offload = False

    @property
    def vocab_padding(self) -> int:
        return int(runtime_constants()["vllm"]["vocab_padding"]["value"])

    def check(self, spec: ModelSpec, work: InferenceWorkload) -> None:
        return None

    def activation_bytes(self, weights_format: str) -> int:
        return 2

    def gpu_limits(self, gpu: GpuSpec | None) -> tuple[int, int]:
        """Return vllm serve's default (max_num_batched_tokens, max_num_seqs) for this GPU."""
        c = runtime_constants()["vllm"]
        large = (
            gpu is not None
            and gpu.vendor in ("nvidia", "amd")
            and gpu.usable_bytes >= 70 * GIB
            and "a100" not in gpu.slug
        )
        key = "large_gpu" if large else "default"
        return int(c["max_num_batched_tokens"][key]), int(c["max_num_seqs"][key])

    def transients(self, inp: Inputs) -> Transients:
        tp = inp.work.tp
        max_nbt, max_seqs = inp.limits
        activations, logits = vllm_profile_peak_bytes(
            inp.spec,
            max_num_batched_tokens=max_nbt,
            max_num_seqs=max_seqs,
            dtype_bytes=inp.act_bytes,
            tp=tp,
        )
        v = runtime_constants()["vllm"]
        extra = int(v["non_torch_bytes"]["value"]) + int(v["cuda_graph_bytes"]["value"])
        if tp > 1:
            extra += int(v["tp_comm_bytes"]["value"])
        return Transients(
            activations=activations,
            logits=logits,
            overhead=inp.overhead + extra,
            details={"max_num_batched_tokens": max_nbt, "max_num_seqs": max_seqs},
            assumptions=(
                msg(
                    "vLLM defaults for this GPU: max_num_batched_tokens={max_nbt}, "
                    "max_num_seqs={max_seqs}; activations and sampler logits are the profiling "
                    "peak vLLM sets aside",
                    max_nbt=max_nbt,
                    max_seqs=max_seqs,
                ),
                msg(
                    "KV cache in 16-token paged blocks; sliding-window layers use window-sized "
                    "pages (hybrid KV-cache manager, vLLM >= 0.10)"
                ),
                msg(
                    "overhead: {overhead} + non-torch memory + CUDA graphs{tp_buffers}",
                    overhead=inp.overhead_text,
                    tp_buffers=msg(" + tensor-parallel communication buffers") if tp > 1 else "",
                ),
            ),
        )

    def place(self, inp: Inputs, peak: Transients) -> Placement:
        return place_layers(inp, peak)

    def budget(self, gpu: GpuSpec, work: InferenceWorkload, worst: GpuBytes) -> Budget:
        """vLLM pre-allocates ``gpu_memory_utilization × usable``; the KV pool is what is
        left of it after everything else."""
        usable = gpu.usable_bytes
        reserved = budget_bytes(gpu, work)
        return Budget(
            budget_bytes=reserved,
            offer=f"gpu_memory_utilization={work.gpu_memory_utilization} × {format_gib(usable)}",
            reserved_bytes=reserved,
            details={"vllm_kv_pool_bytes": max(0, reserved - (worst.total - worst.kv_cache))},
        )

    def gpu_warnings(self, gpu: GpuSpec) -> tuple[str, ...]:
        if gpu.vendor == "apple":
            return (msg("vLLM does not run on Apple GPUs; use llama.cpp"),)
        return ()


RUNTIME = Vllm()
