"""The ``fit`` op's answers: the chosen GPU's limits and every GPU kind that fits, as JSON.

Report shaping only: every figure comes from the modules that decide it:

* ``verdict``: fits / headroom / shortfall against the budget (vLLM's memory fraction);
* ``solve``: the largest context, batch and llama.cpp ``n_gpu_layers`` that fit;
* ``sweep``: the largest context of every weight format on the chosen GPU;
* ``rank``: the fewest GPUs, the best weight format, GPU options cheapest first;
* ``roofline``: the decode tokens/s upper bound.

Workloads name GPUs by slug; they are resolved here, once (``gpus.get_gpu``). Sizes are
integer bytes (schema 1).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from typing import Any

from .gpus import GpuSpec, get_gpu, list_gpus
from .messages import msg
from .model import ModelSpec
from .rank import (
    GpuOption,
    fewest_gpus,
    fewest_training_gpus,
    quant_choices,
    recommend_gpus,
    training_estimate,
    training_need,
    training_options,
)
from .roofline import ROOFLINE_ASSUMPTION, decode_tokens_per_s
from .solve import inference_estimate, llamacpp_offload_layers, max_batch, need_max, solve_context
from .sweep import sweep_context_limits
from .verdict import budget_bytes, fits
from .vllm_release import utilization_words
from .workload import InferenceWorkload, TrainingWorkload

__all__ = ["FIT_SCHEMA", "fit_report", "fit_training"]

FIT_SCHEMA = 1


def _option_dict(option: GpuOption) -> dict[str, Any]:
    return {
        "gpu": option.gpu,
        "name": option.name,
        "num_gpus": option.num_gpus,
        "tp": option.tp,
        "pp": option.pp,
        "usable_bytes": option.usable_bytes,
        "need_bytes": option.need_bytes,
        "headroom_bytes": option.headroom_bytes,
        "max_context": option.max_context.tokens,
        "max_context_memory": option.max_context.memory_tokens,
        "max_batch": option.max_batch,
        "decode_tokens_per_s": _round(option.decode_tokens_per_s),
        "price_usd": _round(option.price_usd),
        "price_per_gib_usd": _round(option.price_per_gib_usd),
        "price_per_token_per_s_usd": _round(option.price_per_token_per_s_usd),
    }


def _round(x: float | None, digits: int = 3) -> float | None:
    return None if x is None else round(x, digits)


def fit_report(spec: ModelSpec, work: InferenceWorkload, *, max_gpus: int = 8) -> dict[str, Any]:
    """Return the ``fit`` result (schema 1, integer bytes): chosen GPU limits + ranked options.

    ``gpu`` is null when the workload names no GPU; otherwise it holds the fit at the
    requested context/batch, the largest context and batch, the fewest GPUs, the best
    weight format, every format with its need and largest context on this GPU, and
    (llama.cpp) the layers that fit. ``options`` lists every GPU kind
    that fits, cheapest first.
    """
    assumptions = [
        ROOFLINE_ASSUMPTION,
        msg(
            "options use 1, 2, 4 or 8 identical GPUs, fewest that fit, split by tensor "
            "parallelism (llama.cpp: by layers); Apple unified-memory GPUs are single-device"
        ),
    ]
    if work.runtime == "vllm":
        assumptions.append(
            msg(
                "vLLM budget = gpu_memory_utilization ({util}) × usable memory",
                util=utilization_words(work),
            )
        )
    chosen: dict[str, Any] | None = None
    warnings: list[str] = []
    if work.gpu is not None:
        gpu = get_gpu(work.gpu)
        estimate = inference_estimate(spec, work)
        result = fits(estimate, gpu, budget=budget_bytes(gpu, work))
        ctx = solve_context(spec, work, gpu)
        warnings.extend(estimate.warnings)
        chosen = {
            **result.to_dict(),
            "name": gpu.name,
            "need_bytes_max": need_max(estimate),
            "max_context": ctx.tokens,
            "max_context_memory": ctx.memory_tokens,
            "model_max_context": ctx.model_tokens,
            "context_limited_by": ctx.limited_by,
            "max_batch": max_batch(spec, work, gpu),
            "decode_tokens_per_s": _round(decode_tokens_per_s(spec, work, gpu, estimate=estimate)),
            "fewest_gpus": None,
            "best_quant": None,
            "n_gpu_layers": None,
        }
        few = fewest_gpus(spec, work, gpu)
        if few is not None:
            chosen["fewest_gpus"] = {"num_gpus": few[0] * few[1], "tp": few[0], "pp": few[1]}
        choices = quant_choices(spec, work, gpu)
        limits = sweep_context_limits(spec, work, gpus=[gpu], formats=[c.format for c in choices])
        best = next((c for c in choices if c.fits), None)
        if best is not None:
            chosen["best_quant"] = {
                "format": best.format,
                "bits_per_weight": round(best.bits_per_weight, 4),
                "need_bytes": best.need_bytes,
                "headroom_bytes": best.headroom_bytes,
            }
        slug = gpu.slug
        chosen["formats"] = [
            {
                "format": c.format,
                "bits_per_weight": round(c.bits_per_weight, 4),
                "fits": c.fits,
                "need_bytes": c.need_bytes,
                "max_context": limits[(c.format, slug)].tokens
                if (c.format, slug) in limits
                else None,
            }
            for c in choices
        ]
        if work.runtime == "llamacpp":
            chosen["n_gpu_layers"] = llamacpp_offload_layers(spec, work, gpu)
    options = recommend_gpus(spec, work, max_gpus=max_gpus)
    return {
        "schema": FIT_SCHEMA,
        "gpu": chosen,
        "options": [_option_dict(o) for o in options],
        "assumptions": assumptions,
        "warnings": list(dict.fromkeys(warnings)),
    }


def _largest_fitting(spec: ModelSpec, work: TrainingWorkload, gpu: GpuSpec, field: str) -> int:
    """Return the largest ``field`` (seq or batch) whose training estimate fits ``gpu``: a
    binary search, memory growing with both (issue 12's fit-train solver)."""
    from .errors import EngineError
    from .workload import INT_RANGES

    def ok(value: int) -> bool:
        try:
            return fits(training_estimate(spec, replace(work, **{field: value})), gpu).fits
        except EngineError:
            return False

    lo, hi = 0, INT_RANGES[field][1]
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if ok(mid):
            lo = mid
        else:
            hi = mid - 1
    return lo


def fit_training(
    spec: ModelSpec,
    work: TrainingWorkload,
    *,
    max_gpus: int = 64,
    gpus: Iterable[GpuSpec] | None = None,
) -> dict[str, Any]:
    """Return the training fit (schema 1): the chosen GPU, and every GPU kind ranked by price.

    For the chosen GPU (``work.gpu``): whether the workload fits as given, and the fewest
    GPUs with the workload's ZeRO stage and with ZeRO-3. Options: the fewest GPUs of each
    kind (up to ``max_gpus``) with ZeRO-3, cheapest first.
    """
    if gpus is None:
        gpus = list_gpus()
    chosen: dict[str, Any] | None = None
    z3_work = replace(work, zero=3)
    z3_need = training_need(spec, z3_work)
    if work.gpu is not None:
        gpu = get_gpu(work.gpu)
        estimate = training_estimate(spec, work)
        result = fits(estimate, gpu)
        own_need = z3_need if work.zero == 3 else None
        own = fewest_training_gpus(spec, work, gpu, max_gpus=max_gpus, _need=own_need)
        z3 = fewest_training_gpus(spec, z3_work, gpu, max_gpus=max_gpus, _need=z3_need)
        chosen = {
            **result.to_dict(),
            "name": gpu.name,
            "warnings": list(estimate.warnings),
            "fewest_gpus": own[0] if own else None,
            "fewest_gpus_zero3": z3[0] if z3 else None,
            # the longest sequence at this micro-batch, the largest micro-batch at this
            # sequence length, on work.gpus of this GPU (0: not even 1 fits)
            "max_seq_len": _largest_fitting(spec, work, gpu, "seq"),
            "max_micro_batch": _largest_fitting(spec, work, gpu, "batch"),
        }
    options = training_options(spec, z3_work, gpus, max_gpus=max_gpus, need=z3_need)
    return {
        "schema": FIT_SCHEMA,
        "gpu": chosen,
        "options": [
            {
                "gpu": o.gpu,
                "name": o.name,
                "num_gpus": o.num_gpus,
                "zero": o.zero,
                "need_bytes": o.need_bytes,
                "headroom_bytes": o.headroom_bytes,
                "price_usd": _round(o.price_usd),
            }
            for o in options
        ],
        "assumptions": [
            msg(
                "options shard with ZeRO-3 over a power-of-two number of identical GPUs "
                "(data parallel × the workload's tp × pp); per-GPU memory from estimate_training"
            )
        ],
        "warnings": [],
    }
