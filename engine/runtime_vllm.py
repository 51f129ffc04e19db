"""vLLM (``vllm serve``): the profiling run's peak, paged KV, a pre-allocated memory pool.

Activations and sampler logits are what vLLM's start-up profile measures and sets aside:
one forward pass over ``max_num_batched_tokens`` tokens (chunked prefill; two hidden-sized
tensors, the residual is updated in place) and ``min(max_num_seqs, max_num_batched_tokens)``
rows of full-vocabulary logits at ``dtype + 12`` bytes (fp32 logits, probabilities and one
more fp32 tensor). Overhead adds non-torch memory, CUDA graphs and, with tp > 1,
communication buffers, and on vLLM 0.34 what its extensible KV cache keeps free
(``vllm_release.kept_free_bytes``). The vocabulary is padded to a multiple of 64. The
budget is ``ceil(gpu_memory_utilization × usable)`` with the utilisation vLLM resolves
(``vllm_release.utilization``), reported as ``reserved_bytes``. GPTQ/AWQ/compressed-tensors
weights change as vLLM's kernels repack them (``vllm_wna16``), MXFP4 experts as its MoE
kernels pad them (``vllm_mxfp4``).

Rules follow vLLM ``VLLM_VERSION`` (the workload's ``vllm_version`` picks 0.33.0 where
``data/vllm_releases.json`` says it differs; files under ``vllm/`` of its wheel):

* defaults (engine/arg_utils.py ``get_batch_defaults``, ``vllm serve``): 16384 batched
  tokens / 1024 sequences on GPUs with >= 160 GiB, 8192 / 1024 on >= 70 GiB except A100
  and GB10 (compute capability 12.1), else 2048 / 256;
  ``_set_default_chunked_prefill_and_prefix_caching_args``: without chunked prefill the
  default becomes ``max(max_model_len, default)``; a default is capped at ``max_num_seqs ×
  max_model_len`` and ``max_num_seqs`` at ``max_num_batched_tokens``.
* config/scheduler.py ``verify_max_model_len``: without chunked prefill,
  ``max_num_batched_tokens < max_model_len`` is refused, and ``max_num_batched_tokens <
  max_num_seqs`` always.
* v1/worker/gpu_worker.py ``determine_available_memory``: the KV pool is the requested
  memory minus the profiled non-KV memory minus the CUDA-graph estimate (none with
  ``--enforce-eager``); v1/core/kv_cache_utils.py ``update_kv_cache_capacity`` logs "GPU KV
  cache size: N tokens, Maximum concurrency for L tokens per request: Xx" (N = int(X × L));
  v1/core/kv_cache_planning.py ``_check_enough_kv_cache_memory`` refuses to start when one
  request of max_model_len does not fit.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from .errors import InvalidWorkload
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
from .units import GIB, ceil_div, format_gib
from .verdict import budget_bytes
from .vllm_mxfp4 import mxfp4_padding, padding_bytes
from .vllm_release import block_tokens, kept_free_bytes, utilization, version
from .vllm_release import gpu_key as release_gpu_key
from .vllm_wna16 import vllm_quant_check, wna16_plan
from .workload import InferenceWorkload

if TYPE_CHECKING:
    from .gpus import GpuSpec
    from .model import ModelSpec

VLLM_VERSION = version(InferenceWorkload().vllm_version)  # the default release, "0.34.0"


def batch_limits(work: InferenceWorkload, defaults: tuple[int, int]) -> tuple[int, int]:
    """Return (max_num_batched_tokens, max_num_seqs) as ``vllm serve`` resolves them from the
    user's values, the GPU's ``defaults`` and chunked prefill (arg_utils.py)."""
    default_nbt, default_seqs = defaults
    seqs = work.max_num_seqs if work.max_num_seqs is not None else default_seqs
    if work.max_num_batched_tokens is not None:
        nbt = work.max_num_batched_tokens
    else:
        nbt = default_nbt if work.chunked_prefill else max(work.context, default_nbt)
        nbt = min(seqs * work.context, nbt)
    if work.max_num_seqs is None:
        seqs = min(seqs, nbt)
    return nbt, seqs


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
        """Refuse what vLLM's SchedulerConfig.verify_max_model_len refuses, and weights
        formats or GPUs its quantization methods refuse (``vllm_wna16``)."""
        vllm_quant_check(spec, work)
        nbt, seqs = work.max_num_batched_tokens, work.max_num_seqs
        if nbt is not None and not work.chunked_prefill and nbt < work.context:
            raise InvalidWorkload(
                msg(
                    "vLLM refuses max_num_batched_tokens ({tokens:,}) below max_model_len "
                    "({context:,}) without chunked prefill; raise it or enable chunked prefill",
                    tokens=nbt,
                    context=work.context,
                ),
                field="max_num_batched_tokens",
            )
        if nbt is not None and seqs is not None and nbt < seqs:
            raise InvalidWorkload(
                msg(
                    "vLLM needs max_num_batched_tokens ({tokens:,}) >= max_num_seqs ({seqs:,})",
                    tokens=nbt,
                    seqs=seqs,
                ),
                field="max_num_batched_tokens",
            )

    def activation_bytes(self, weights_format: str) -> int:
        return 2

    def gpu_limits(self, gpu: GpuSpec | None) -> tuple[int, int]:
        """Return vllm serve's default (max_num_batched_tokens, max_num_seqs) for this GPU."""
        c = runtime_constants()["vllm"]
        vendor_ok = gpu is not None and gpu.vendor in ("nvidia", "amd")
        key = "default"
        if vendor_ok and gpu is not None and gpu.usable_bytes >= 160 * GIB:
            key = "huge_gpu"
        elif (
            vendor_ok
            and gpu is not None
            and gpu.usable_bytes >= 70 * GIB
            and "a100" not in gpu.slug
            and gpu.compute_capability != "12.1"  # GB10 (DGX Spark) keeps the small tier
        ):
            key = "large_gpu"
        return int(c["max_num_batched_tokens"][key]), int(c["max_num_seqs"][key])


    def gpu_key(self, gpu: GpuSpec | None, work: InferenceWorkload) -> tuple[int, ...]:
        """The batch limits, and what the KV sizing and the quantized kernels take from the
        GPU (``vllm_release.gpu_key``)."""
        return (*self.gpu_limits(gpu), *(release_gpu_key(gpu, work) if gpu is not None else ()))
    def transients(self, inp: Inputs) -> Transients:
        tp = inp.work.tp
        max_nbt, max_seqs = batch_limits(inp.work, inp.limits)
        activations, logits = vllm_profile_peak_bytes(
            inp.spec,
            max_num_batched_tokens=max_nbt,
            max_num_seqs=max_seqs,
            dtype_bytes=inp.act_bytes,
            tp=tp,
        )
        v = runtime_constants()["vllm"]
        graphs = 0 if inp.work.enforce_eager else int(v["cuda_graph_bytes"]["value"])
        extra = int(v["non_torch_bytes"]["value"]) + graphs
        if tp > 1:
            extra += int(v["tp_comm_bytes"]["value"])
        line = inp.work.vllm_version
        kept = kept_free_bytes(inp.gpu, inp.work, peak=activations + logits, graphs=graphs)
        plan = wna16_plan(inp)
        details: dict[str, object] = {
            "max_num_batched_tokens": max_nbt,
            "max_num_seqs": max_seqs,
            "vllm_version": version(line),
            "vllm_gpu_memory_utilization": utilization(inp.gpu, inp.work),
        }
        notes: list[str] = []
        if kept:
            details["vllm_kept_free_bytes"] = kept
            notes.append(
                msg(
                    "vLLM {version} sizes the KV cache after warm-up (extensible KV cache) and "
                    "keeps {kept} free besides the profiled peak: the CUDA-graph estimate and "
                    "a margin of max(1 GiB, 0.75 × peak), counted in overhead",
                    version=version(line),
                    kept=format_gib(kept),
                )
            )
        if plan is not None:
            details["vllm_linear_kernel"] = plan.kernel
            if plan.load_transient:
                details["vllm_load_transient_bytes"] = plan.load_transient
            notes.append(plan.note)
        return Transients(
            activations=activations,
            logits=logits,
            overhead=inp.overhead + extra + kept,
            details=details,
            assumptions=(
                msg(
                    "vLLM defaults for this GPU: max_num_batched_tokens={max_nbt}, "
                    "max_num_seqs={max_seqs}; activations and sampler logits are the profiling "
                    "peak vLLM sets aside",
                    max_nbt=max_nbt,
                    max_seqs=max_seqs,
                )
                if (inp.work.max_num_batched_tokens, inp.work.max_num_seqs) == (None, None)
                and inp.work.chunked_prefill
                else msg(
                    "vLLM {version} with max_num_batched_tokens={max_nbt}, "
                    "max_num_seqs={max_seqs}{prefill}; activations and sampler logits are the "
                    "profiling peak vLLM sets aside",
                    version=VLLM_VERSION,
                    max_nbt=max_nbt,
                    max_seqs=max_seqs,
                    prefill="" if inp.work.chunked_prefill else msg(", no chunked prefill"),
                ),
                msg(
                    "KV cache in {block}-token paged blocks; sliding-window layers use "
                    "window-sized pages (hybrid KV-cache manager, vLLM >= 0.10)",
                    block=inp.kv_block,
                ),
                *notes,
                msg(
                    "overhead: {overhead} + non-torch memory + CUDA graphs{tp_buffers}",
                    overhead=inp.overhead_text,
                    tp_buffers=msg(" + tensor-parallel communication buffers") if tp > 1 else "",
                )
                if not inp.work.enforce_eager
                else msg(
                    "overhead: {overhead} + non-torch memory{tp_buffers}; no CUDA graphs "
                    "(--enforce-eager)",
                    overhead=inp.overhead_text,
                    tp_buffers=msg(" + tensor-parallel communication buffers") if tp > 1 else "",
                ),
            ),
        )

    def place(self, inp: Inputs, peak: Transients) -> Placement:
        placed = place_layers(inp, peak)
        extra, note = _mxfp4_padding(inp)
        plan = wna16_plan(inp)
        if plan is not None and plan.layer_delta:
            layers = set(extra) | set(plan.layer_delta)
            extra = {i: extra.get(i, 0) + plan.layer_delta.get(i, 0) for i in layers}
        if not extra:
            return placed
        stages = tuple(
            replace(g, weights=g.weights + sum(extra.get(i, 0) for i in stage))
            for g, stage in zip(placed.stages, inp.stages, strict=True)
        )
        notes = (note,) if note else ()
        return replace(placed, stages=stages, assumptions=(*placed.assumptions, *notes))

    def budget(self, gpu: GpuSpec, work: InferenceWorkload, worst: GpuBytes) -> Budget:
        """vLLM pre-allocates ``gpu_memory_utilization × usable``; the KV pool is what is
        left of it after everything else, in whole 16-token blocks."""
        usable = gpu.usable_bytes
        reserved = budget_bytes(gpu, work)
        pool = max(0, reserved - (worst.total - worst.kv_cache))
        offer = f"gpu_memory_utilization={utilization(gpu, work)} × {format_gib(usable)}"
        details: dict[str, object] = {"vllm_kv_pool_bytes": pool}
        capacity = kv_capacity(
            pool,
            worst.kv_cache,
            context=work.context,
            batch=work.batch,
            block=block_tokens(work.vllm_version),
        )
        if capacity is not None:
            tokens, concurrency, per_request = capacity
            details["vllm_kv_cache_tokens"] = tokens
            details["vllm_max_concurrency"] = concurrency
            details["vllm_log"] = (
                f"GPU KV cache size: {tokens:,} tokens, Maximum concurrency for "
                f"{work.context:,} tokens per request: {concurrency:.2f}x"
            )
            details["vllm_starts"] = per_request <= pool
            if per_request > pool:
                offer = msg(
                    "{offer}; vLLM refuses to start: one request of max_model_len "
                    "{context:,} needs {needed} of KV cache but {pool} is left for it",
                    offer=offer,
                    context=work.context,
                    needed=format_gib(per_request),
                    pool=format_gib(pool),
                )
        return Budget(budget_bytes=reserved, offer=offer, reserved_bytes=reserved, details=details)

    def gpu_warnings(self, gpu: GpuSpec) -> tuple[str, ...]:
        if gpu.vendor == "apple":
            return (msg("vLLM does not run on Apple GPUs; use llama.cpp"),)
        return ()


def kv_capacity(
    pool_bytes: int, kv_bytes: int, *, context: int, batch: int, block: int = 0
) -> tuple[int, float, int] | None:
    """Return (GPU KV cache tokens, maximum concurrency, KV bytes of one request) as vLLM
    logs them for a pool of ``pool_bytes``, given ``kv_bytes`` for ``batch`` requests of
    ``context`` tokens on this GPU, in blocks of ``block`` tokens (0: the current
    release's); None when the model keeps no KV cache."""
    if kv_bytes <= 0 or context <= 0:
        return None
    block = block or block_tokens(InferenceWorkload().vllm_version)
    blocks_per_request = ceil_div(context, block)
    per_request = ceil_div(kv_bytes, batch)
    # kv_bytes holds whole blocks of the release's size (kv.kv_layer_bytes(vllm_block=))
    per_block = ceil_div(per_request, blocks_per_request)
    num_blocks = pool_bytes // per_block
    concurrency = num_blocks / blocks_per_request
    return int(concurrency * context), round(concurrency, 2), per_request


def _mxfp4_padding(inp: Inputs) -> tuple[dict[int, int], str]:
    """Per-layer bytes (one rank) that vLLM's MXFP4 MoE kernel padding adds on this GPU,
    and the assumption line naming it; ({}, "") when nothing is padded."""
    from . import quant
    from .formats import normalize_format_id

    gpu = inp.gpu
    if gpu is None:
        return {}, ""
    weights = inp.work.weights
    auto = weights.lower() == "auto"
    fmt = quant.resolve_auto(inp.spec) if auto else normalize_format_id(weights)
    pad = mxfp4_padding(gpu.compute_capability, gpu.vendor) if fmt == "mxfp4" else None
    if pad is None:
        return {}, ""
    extra: dict[int, int] = {}
    shape = (0, 0)
    for t in inp.spec.tensors:
        if t.name != "ffn_down_exps" or t.layer is None or t.experts <= 1:
            continue
        hidden, inter = t.shape[0], t.shape[1] // inp.work.tp
        n = padding_bytes(t.experts, inter, hidden, pad)
        if n > 0:
            extra[t.layer] = n
            shape = (inter, hidden)
    if not extra:
        return {}, ""
    sizes = msg("intermediate {i:,} → multiple of {m}", i=shape[0], m=pad.intermediate)
    if pad.hidden > 1:
        sizes += msg(", hidden {h:,} → multiple of {m}", h=shape[1], m=pad.hidden)
    return extra, msg(
        "MXFP4 experts padded as vLLM's {backend} MoE kernel needs on compute capability "
        "{cc} ({sizes} per rank): +{bytes} per GPU",
        backend=pad.backend,
        cc=gpu.compute_capability,
        sizes=sizes,
        bytes=format_gib(max(sum(extra.get(i, 0) for i in st) for st in inp.stages)),
    )


RUNTIME = Vllm()
