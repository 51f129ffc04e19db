"""GPU options and weight formats that fit a workload, ranked.

* ``recommend_gpus``: every GPU kind with the fewest GPUs that fit (1, 2, 4 or 8, split by
  tensor parallelism; llama.cpp by layers), each with its limits, roofline and price,
  cheapest first. ``fewest_gpus`` also tries pipeline stages across nodes.
* ``quant_choices`` / ``best_quant``: weight formats by quality (bits per weight, capped at
  the checkpoint's own format), with the memory each needs on one GPU.
* ``fewest_training_gpus``: the fewest GPUs of a kind for a training workload (data
  parallel in powers of two times its tp x pp).

Every fit is ``verdict.fit_verdict`` against ``verdict.budget_bytes``; every number comes
from the estimates (``solve``, ``roofline``), never a second formula.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, replace

from .errors import EngineError, InvalidWorkload
from .formats import QuantFormat, get_format, list_formats
from .gpus import GpuSpec, list_gpus
from .messages import msg
from .model import ModelSpec
from .quant import resolve_auto
from .result import Estimate
from .roofline import decode_tokens_per_s
from .solve import (
    ContextLimit,
    inference_estimate,
    max_batch,
    need_max,
    solve_context,
    with_gpu,
)
from .units import GIB
from .verdict import FitVerdict, budget_bytes, fit_verdict, fits
from .workload import MAX_GPUS, InferenceWorkload, TrainingWorkload

TP_DEGREES = (1, 2, 4, 8)  # tensor parallelism stays inside one 8-GPU node


@dataclass(frozen=True)
class GpuOption:
    """One GPU configuration that fits the workload, with what it allows and costs."""

    gpu: str
    name: str
    num_gpus: int
    tp: int
    pp: int
    usable_bytes: int  # per GPU
    need_bytes: int  # on the most-loaded GPU
    headroom_bytes: int  # least headroom over the GPUs
    max_context: ContextLimit
    max_batch: int
    decode_tokens_per_s: float | None  # roofline upper bound at the workload's context/batch
    price_usd: float | None  # all GPUs together
    price_per_gib_usd: float | None
    price_per_token_per_s_usd: float | None


@dataclass(frozen=True)
class QuantChoice:
    """A weight format tried on a GPU budget, with the memory it needs there."""

    format: str
    bits_per_weight: float
    fits: bool
    need_bytes: int  # per GPU
    headroom_bytes: int
    max_context: int | None = None


@dataclass(frozen=True)
class TrainingOption:
    gpu: str
    name: str
    num_gpus: int
    zero: int
    need_bytes: int  # per GPU
    headroom_bytes: int
    price_usd: float | None


def price_usd(gpu: GpuSpec) -> float | None:
    """One GPU's listed price (None when unpriced)."""
    return float(gpu.price_usd) if gpu.price_usd else None


def single_only(gpu: GpuSpec) -> bool:
    """True for GPUs that cannot be ganged with tensor parallelism (Apple unified memory, and
    APUs such as Ryzen AI Max, whose GPU has no link to a second machine's)."""
    return gpu.vendor == "apple" or not gpu.multi_gpu


def runtime_runs_on(runtime: str, gpu: GpuSpec) -> bool:
    """Return False where the runtime has no backend for the GPU (vLLM on Apple Silicon).

    vLLM's own GPU backends are CUDA, ROCm and Intel XPU; on Apple Silicon its core build
    runs on the CPU, and the GPU is reached only through the community vllm-metal plugin
    (MLX), whose memory layout the engine does not model
    (https://docs.vllm.ai/en/v0.31.0/getting_started/installation/gpu/, checked 2026-11-25).
    """
    return not (runtime == "vllm" and gpu.vendor == "apple")


def split(runtime: str, n: int) -> tuple[int, int]:
    """Return (tp, pp) for ``n`` GPUs: llama.cpp splits by layers, the others by tensors."""
    return (1, n) if runtime == "llamacpp" else (n, 1)


# --------------------------------------------------------------------------- inference


def _options_for(
    spec: ModelSpec, work: InferenceWorkload, gpu: GpuSpec, max_gpus: int
) -> GpuOption | None:
    """The fewest GPUs of this kind (TP 1/2/4/8) that fit ``work``, with its limits."""
    if not runtime_runs_on(work.runtime, gpu):
        return None
    counts = (1,) if single_only(gpu) else tuple(n for n in TP_DEGREES if n <= max_gpus)
    for n in counts:
        tp, pp = split(work.runtime, n)
        trial = replace(work, gpu=gpu.slug, tp=tp, pp=pp, n_gpu_layers=None)
        try:
            estimate = inference_estimate(spec, trial)
        except InvalidWorkload:
            continue  # e.g. TP degree does not divide the attention heads
        result = fits(estimate, gpu, budget=budget_bytes(gpu, trial))
        if not result.fits:
            continue
        return _make_option(spec, trial, gpu, estimate, result)
    return None


def _make_option(
    spec: ModelSpec, work: InferenceWorkload, gpu: GpuSpec, estimate: Estimate, result: FitVerdict
) -> GpuOption:
    n = work.num_gpus
    price = price_usd(gpu)
    total_price = price * n if price is not None else None
    tps = decode_tokens_per_s(spec, work, gpu, estimate=estimate)
    usable = gpu.usable_bytes
    return GpuOption(
        gpu=gpu.slug,
        name=gpu.name,
        num_gpus=n,
        tp=work.tp,
        pp=work.pp,
        usable_bytes=usable,
        need_bytes=result.max_need_bytes,
        headroom_bytes=result.min_headroom_bytes,
        max_context=solve_context(spec, work, gpu),
        max_batch=max_batch(spec, work, gpu),
        decode_tokens_per_s=tps,
        price_usd=total_price,
        price_per_gib_usd=(total_price / (usable * n / GIB)) if total_price is not None else None,
        price_per_token_per_s_usd=(total_price / tps) if total_price is not None and tps else None,
    )


def _price_key(option: GpuOption) -> tuple[int, float, int, str]:
    unpriced = option.price_usd is None
    return (int(unpriced), option.price_usd or 0.0, option.num_gpus, option.gpu)


def recommend_gpus(
    spec: ModelSpec,
    work: InferenceWorkload,
    *,
    max_gpus: int = 8,
    gpus: Iterable[GpuSpec] | None = None,
) -> list[GpuOption]:
    """Return every GPU kind that fits ``work`` (fewest GPUs each), cheapest first.

    Multi-GPU options use tensor parallelism over 2, 4 or 8 identical GPUs (``tp``; for
    llama.cpp, its layer split ``pp``); the workload's own ``tp``/``pp`` are replaced.
    GPUs the runtime does not run on are left out; unpriced GPUs come last.
    """
    if max_gpus < 1:
        raise InvalidWorkload(
            msg("max_gpus must be at least 1, got {value}", value=max_gpus), field="max_gpus"
        )
    if gpus is None:
        gpus = list_gpus()
    options = [opt for g in gpus if (opt := _options_for(spec, work, g, max_gpus)) is not None]
    return sorted(options, key=_price_key)


def fewest_gpus(
    spec: ModelSpec, work: InferenceWorkload, gpu: GpuSpec, *, max_gpus: int = 64
) -> tuple[int, int] | None:
    """Return ``(tp, pp)`` for the fewest GPUs of kind ``gpu`` that fit ``work``, or None.

    Tries tensor parallelism over 1, 2, 4, 8 GPUs, then 8-way TP × 2, 4, 8... pipeline
    stages (across nodes), up to ``max_gpus`` GPUs; llama.cpp splits by layers only
    (``pp``). None also where the runtime does not run on the GPU (vLLM on Apple).
    """
    if not runtime_runs_on(work.runtime, gpu):
        return None
    candidates = [split(work.runtime, n) for n in TP_DEGREES]
    n = 16
    while n <= max_gpus:
        candidates.append((1, n) if work.runtime == "llamacpp" else (8, n // 8))
        n *= 2
    if single_only(gpu):
        candidates = [(1, 1)]
    for tp, pp in candidates:
        if tp * pp > max_gpus:
            break
        trial = replace(work, gpu=gpu.slug, tp=tp, pp=pp, n_gpu_layers=None)
        try:
            estimate = inference_estimate(spec, trial)
        except InvalidWorkload:
            continue
        if fits(estimate, gpu, budget=budget_bytes(gpu, trial)).fits:
            return tp, pp
    return None


def _native_format(spec: ModelSpec) -> QuantFormat | None:
    """The checkpoint's own format (``weights="auto"``), or None when it cannot be told."""
    try:
        return get_format(resolve_auto(spec))
    except EngineError:
        return None


def _formats_by_quality(runtime: str, spec: ModelSpec) -> list[QuantFormat]:
    """Formats the runtime accepts, most bits per weight first, none above the checkpoint's.

    Storing a bf16 checkpoint in fp32, or an MXFP4 one in 8 bits, costs memory and adds no
    quality, so the checkpoint's own precision is the ceiling (it wins ties).
    """
    native = _native_format(spec)
    ceiling = native.bits_per_weight if native is not None else None
    formats = [
        f
        for f in list_formats()
        if runtime in f.runtimes and (ceiling is None or f.bits_per_weight <= ceiling)
    ]
    native_id = native.id if native is not None else None
    formats.sort(key=lambda f: (-f.bits_per_weight, f.id != native_id, f.id))
    return formats


def _format_trials(
    spec: ModelSpec, work: InferenceWorkload, gpu: GpuSpec
) -> Iterator[tuple[QuantFormat, InferenceWorkload, int, int]]:
    """Yield ``(format, workload, need, budget)`` best quality first, lazily (so a caller can
    stop at the first fit); formats the runtime or model cannot use are left out."""
    work = with_gpu(work, gpu)
    budget = budget_bytes(gpu, work)
    for fmt in _formats_by_quality(work.runtime, spec):
        trial = replace(work, weights=fmt.id)
        try:
            estimate = inference_estimate(spec, trial)
        except EngineError:
            continue
        yield fmt, trial, need_max(estimate), budget


def quant_choices(
    spec: ModelSpec, work: InferenceWorkload, gpu: GpuSpec, *, solve: bool = False
) -> list[QuantChoice]:
    """Return the weight formats to try, best quality (most bits, up to the checkpoint's) first.

    With ``solve``, each fitting format also gets its largest context.
    """
    choices = []
    for fmt, trial, need, budget in _format_trials(spec, work, gpu):
        ctx = solve_context(spec, trial, gpu).tokens if solve and need <= budget else None
        choices.append(
            QuantChoice(
                format=fmt.id,
                bits_per_weight=float(fmt.bits_per_weight),
                fits=need <= budget,
                need_bytes=need,
                headroom_bytes=max(0, budget - need),
                max_context=ctx,
            )
        )
    return choices


def best_quant(spec: ModelSpec, work: InferenceWorkload, gpu: GpuSpec) -> QuantChoice | None:
    """Return the highest-quality weight format that fits, or None.

    Quality is bits per weight, capped at the checkpoint's own format (which wins ties).
    ``work.context`` and ``work.batch`` are kept: the KV cache must fit alongside.
    """
    for fmt, _trial, need, budget in _format_trials(spec, work, gpu):
        if need <= budget:
            return QuantChoice(fmt.id, float(fmt.bits_per_weight), True, need, budget - need)
    return None


# --------------------------------------------------------------------------- training


def training_estimate(spec: ModelSpec, work: TrainingWorkload) -> Estimate:
    """``estimate_training``, imported on first use (as ``solve.inference_estimate``)."""
    from .training import estimate_training

    return estimate_training(spec, work)


def training_need(spec: ModelSpec, work: TrainingWorkload) -> Callable[[int], int]:
    """Memoised ``GPU count -> bytes on the most-loaded GPU`` for this training workload.

    Training estimates depend on how many GPUs there are, not on which GPU: the memo is
    shared by every GPU kind (``test_fit`` checks that naming a GPU changes nothing).
    """
    base = replace(work, gpu=None)
    memo: dict[int, int] = {}

    def need(n: int) -> int:
        if n not in memo:
            memo[n] = need_max(training_estimate(spec, replace(base, gpus=n)))
        return memo[n]

    return need


def fewest_training_gpus(
    spec: ModelSpec,
    work: TrainingWorkload,
    gpu: GpuSpec,
    *,
    max_gpus: int = 1024,
    _need: Callable[[int], int] | None = None,
) -> tuple[int, TrainingWorkload] | None:
    """Return ``(gpus, workload)`` for the fewest GPUs of kind ``gpu`` that fit, or None.

    Data parallelism grows in powers of two (times the workload's tp × pp); with ZeRO-3
    weights, gradients and optimizer states shard over all of them, so memory per GPU
    falls. Stages 0-2 shard less, so the same search may find no answer.
    """
    need = _need or training_need(spec, work)
    budget = gpu.usable_bytes
    mp = work.tp * work.pp
    dp = 1
    limit = mp if single_only(gpu) else min(max_gpus, MAX_GPUS)
    while dp * mp <= limit:
        if need(dp * mp) <= budget:
            return dp * mp, replace(work, gpus=dp * mp, gpu=gpu.slug)
        dp *= 2
    return None


def training_options(
    spec: ModelSpec,
    work: TrainingWorkload,
    gpus: Iterable[GpuSpec],
    *,
    max_gpus: int,
    need: Callable[[int], int] | None = None,
) -> list[TrainingOption]:
    """Return the fewest GPUs of each kind that fit ``work`` (its ZeRO stage as given),
    cheapest first; unpriced GPUs last."""
    need = need or training_need(spec, work)
    options: list[TrainingOption] = []
    for g in gpus:
        found = fewest_training_gpus(spec, work, g, max_gpus=max_gpus, _need=need)
        if found is None:
            continue
        n = found[0]
        verdict = fit_verdict(g, (need(n),))
        price = price_usd(g)
        options.append(
            TrainingOption(
                gpu=g.slug,
                name=g.name,
                num_gpus=n,
                zero=work.zero,
                need_bytes=verdict.max_need_bytes,
                headroom_bytes=verdict.min_headroom_bytes,
                price_usd=price * n if price is not None else None,
            )
        )
    options.sort(key=lambda o: (o.price_usd is None, o.price_usd or 0.0, o.num_gpus, o.gpu))
    return options
