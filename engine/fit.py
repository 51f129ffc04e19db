"""Fit estimates against GPUs: headroom, solved limits, ranked GPU options.

Everything here is built on ``inference.estimate_inference`` / ``training.estimate_training``
(never a second memory formula) plus the GPU table (``gpus``) and the weight formats
(``quant``). Sizes are integer bytes.

* ``fits(estimate, gpu)`` -> ``FitResult``: fits or not, headroom/shortfall per GPU.
* ``solve_context`` / ``max_context``, ``max_batch``, ``llamacpp_offload_layers``: the
  largest context, batch or ``n_gpu_layers`` that fit, exact to the token.
* ``recommend_gpus`` -> ``GpuOption`` list, cheapest first; ``fewest_gpus``; ``best_quant``
  / ``quant_choices``; ``decode_tokens_per_s`` (roofline); ``sweep_context_limits`` (every
  GPU x format at once); ``fit_report`` (the ``fit`` op's JSON); ``fit_training`` and
  ``fewest_training_gpus``.

Solving. Memory is monotonic non-decreasing in context, batch and offloaded layers, but
not linear (16-token KV blocks in vLLM, n_ctx padded to 256 in llama.cpp, sliding windows),
so limits are found by an integer search on the real estimate: a safeguarded interpolation
(secant, falling back to bisection when a round does not halve the bracket) that confirms the
boundary by probing both sides. The answer ``n`` is exact: ``n`` fits and ``n + 1`` does not.

Budgets. A GPU's budget is its ``usable_bytes`` (what the runtime sees as total memory).
For vLLM the budget is ``gpu_memory_utilization × usable_bytes``: vLLM refuses to start when
weights, activations and the KV cache it needs exceed that fraction.

Decode roofline. Decoding one step reads every active weight once (routed experts count
``experts_per_token / num_experts``; an untied input embedding is a row gather and is not
counted) and the cached K/V of every sequence at the full context; the step yields one token
per sequence. Upper bound: ``tokens/s = batch × aggregate bandwidth / bytes per step``, with
``aggregate bandwidth = tp × bandwidth`` (tensor-parallel GPUs read at once, communication
ignored; pipeline stages take turns, so ``pp`` adds none). Compute, kernel efficiency and
CPU-offloaded layers are ignored, so real throughput is lower.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, replace
from typing import Any, Literal

from .errors import EngineError, InvalidWorkload, UnknownGpu
from .memo import per_spec_cache
from .messages import msg
from .model import ModelSpec
from .result import Estimate
from .units import GIB
from .workload import MAX_BATCH, MAX_GPUS, MAX_TOKENS, InferenceWorkload, TrainingWorkload

TP_DEGREES = (1, 2, 4, 8)  # tensor parallelism stays inside one 8-GPU node
FIT_SCHEMA = 1


# --------------------------------------------------------------------------- values


@dataclass(frozen=True)
class FitResult:
    """Whether an estimate fits on ``num_gpus`` GPUs of one kind, and by how much.

    ``headroom_bytes`` and ``shortfall_bytes`` list every GPU (never negative: a GPU
    either has headroom or a shortfall).
    """

    gpu: str
    fits: bool
    num_gpus: int
    usable_bytes: int  # per GPU, as the runtime sees it
    budget_bytes: int  # per GPU: usable, or gpu_memory_utilization × usable for vLLM
    need_bytes: tuple[int, ...]
    headroom_bytes: tuple[int, ...]
    shortfall_bytes: tuple[int, ...]

    @property
    def min_headroom_bytes(self) -> int:
        return min(self.headroom_bytes)

    @property
    def max_shortfall_bytes(self) -> int:
        return max(self.shortfall_bytes)

    def to_dict(self) -> dict[str, Any]:
        return {
            "gpu": self.gpu,
            "fits": self.fits,
            "num_gpus": self.num_gpus,
            "usable_bytes": self.usable_bytes,
            "budget_bytes": self.budget_bytes,
            "need_bytes": list(self.need_bytes),
            "headroom_bytes": list(self.headroom_bytes),
            "shortfall_bytes": list(self.shortfall_bytes),
        }


@dataclass(frozen=True)
class ContextLimit:
    """Largest context per sequence: what memory allows and what the model supports."""

    tokens: int  # min(memory_tokens, model_tokens); 0 when not even one token fits
    memory_tokens: int  # largest context that fits in memory (capped at workload.MAX_TOKENS)
    model_tokens: int  # the model's max_position_embeddings
    limited_by: Literal["memory", "model", "nothing fits"]


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


# --------------------------------------------------------------------------- GPU helpers


def _gpu(gpu: Any) -> Any:
    """Return a ``GpuSpec`` from a spec or a slug (``UnknownGpu`` with suggestions)."""
    if isinstance(gpu, str):
        from .gpus import get_gpu

        return get_gpu(gpu)
    if gpu is None:
        raise UnknownGpu(msg("choose a GPU (a slug from 'vram gpus') to fit against"), field="gpu")
    return gpu


def _slug(gpu: Any) -> str:
    return str(getattr(gpu, "slug", "") or getattr(gpu, "name", "gpu"))


def _name(gpu: Any) -> str:
    return str(getattr(gpu, "name", "") or _slug(gpu))


def _price(gpu: Any) -> float | None:
    price = getattr(gpu, "price_usd", None)
    return float(price) if price else None


def _bandwidth(gpu: Any) -> float | None:
    bw = getattr(gpu, "bandwidth_bytes_per_s", None)
    return float(bw) if bw else None


def _single_only(gpu: Any) -> bool:
    """True for GPUs that cannot be ganged with tensor parallelism (Apple unified memory)."""
    max_count = getattr(gpu, "max_count", None)
    if isinstance(max_count, int) and max_count <= 1:
        return True
    vendor = str(getattr(gpu, "vendor", "")).lower()
    kind = str(getattr(gpu, "kind", getattr(gpu, "memory_kind", ""))).lower()
    return vendor == "apple" or "unified" in kind


def runtime_runs_on(runtime: str, gpu: Any) -> bool:
    """Return False where the runtime has no backend for the GPU (vLLM on Apple Silicon).

    vLLM's own GPU backends are CUDA, ROCm and Intel XPU; on Apple Silicon its core build
    runs on the CPU, and the GPU is reached only through the community vllm-metal plugin
    (MLX), whose memory layout the engine does not model
    (https://docs.vllm.ai/en/v0.31.0/getting_started/installation/gpu/, checked 2026-11-25).
    """
    return not (runtime == "vllm" and str(getattr(gpu, "vendor", "")).lower() == "apple")


def _split(runtime: str, n: int) -> tuple[int, int]:
    """Return (tp, pp) for ``n`` GPUs: llama.cpp splits by layers, the others by tensors."""
    return (1, n) if runtime == "llamacpp" else (n, 1)


def budget_bytes(gpu: Any, work: InferenceWorkload | None = None) -> int:
    """Return the bytes per GPU the runtime may fill (vLLM: its utilisation fraction)."""
    usable = int(gpu.usable_bytes)
    if work is not None and work.runtime == "vllm":
        # vLLM: requested_memory = gpu_memory_utilization × total memory (worker profiling).
        return int(usable * work.gpu_memory_utilization)
    return usable


def fits(estimate: Estimate, gpu: Any, *, budget: int | None = None) -> FitResult:
    """Return whether ``estimate`` fits on GPUs of kind ``gpu`` (a ``GpuSpec`` or slug).

    ``budget`` overrides the per-GPU byte budget (default: the GPU's usable bytes).
    """
    spec = _gpu(gpu)
    usable = int(spec.usable_bytes)
    limit = usable if budget is None else int(budget)
    need = tuple(int(b) for b in estimate.gpu_bytes) or (estimate.per_gpu_bytes,)
    return FitResult(
        gpu=_slug(spec),
        fits=all(b <= limit for b in need),
        num_gpus=len(need),
        usable_bytes=usable,
        budget_bytes=limit,
        need_bytes=need,
        headroom_bytes=tuple(max(0, limit - b) for b in need),
        shortfall_bytes=tuple(max(0, b - limit) for b in need),
    )


# --------------------------------------------------------------------------- the search


def _need_max(estimate: Estimate) -> int:
    return max(estimate.gpu_bytes) if estimate.gpu_bytes else estimate.per_gpu_bytes


class _Curve:
    """Memoised ``value -> bytes on the most-loaded GPU`` for one varying workload field."""

    __slots__ = ("_keys", "_make", "_memo", "_values", "calls")

    def __init__(self, make: Callable[[int], int]) -> None:
        self._make = make
        self._memo: dict[int, int] = {}
        self._keys: list[int] = []  # sorted; _values[i] = curve(_keys[i]), non-decreasing
        self._values: list[int] = []
        self.calls = 0

    def __call__(self, x: int) -> int:
        value = self._memo.get(x)
        if value is None:
            value = self._make(x)
            self.calls += 1
            self._memo[x] = value
            i = bisect.bisect_left(self._keys, x)
            self._keys.insert(i, x)
            self._values.insert(i, value)
        return value

    def bracket(self, budget: int, lo: int, hi: int) -> tuple[int, int]:
        """Narrow ``[lo, hi]`` with known points (valid because the curve is monotonic)."""
        i = bisect.bisect_right(self._values, budget)  # keys[:i] fit, keys[i:] do not
        if i > 0:
            lo = min(max(lo, self._keys[i - 1]), hi)
        if i < len(self._keys):
            hi = max(min(hi, self._keys[i]), lo)
        return lo, hi


def solve_largest(curve: Callable[[int], int], budget: int, lo: int, hi: int) -> int:
    """Return the largest ``x`` in ``[lo, hi]`` with ``curve(x) <= budget`` (``lo - 1``: none).

    ``curve`` must be non-decreasing. Exact: the answer fits and the next integer does not.
    Safeguarded interpolation: each round evaluates the secant root ``x`` and its neighbour,
    so a curve that is linear near the answer is solved in one round; a round that does not
    halve the bracket is followed by a bisection, bounding the work at O(log(hi - lo)).
    """
    if lo > hi:
        return lo - 1
    if isinstance(curve, _Curve):
        lo_known, hi_known = curve.bracket(budget, lo, hi)
    else:
        lo_known, hi_known = lo, hi
    if curve(lo_known) > budget:
        return lo - 1  # lo_known == lo here: known points below budget would have raised lo
    if lo_known == hi or curve(hi_known) <= budget:
        return hi_known
    lo, hi = lo_known, hi_known  # invariant: curve(lo) <= budget < curve(hi)
    bisect_next = False
    while hi - lo > 1:
        width = hi - lo
        if bisect_next:
            x = (lo + hi) // 2
            if curve(x) <= budget:
                lo = x
            else:
                hi = x
        else:
            f_lo, f_hi = curve(lo), curve(hi)
            x = lo + (budget - f_lo) * (hi - lo) // (f_hi - f_lo)
            x = min(max(x, lo + 1), hi - 1)
            if curve(x) <= budget:
                lo = x
                if x + 1 < hi:
                    if curve(x + 1) <= budget:
                        lo = x + 1
                    else:
                        hi = x + 1
            else:
                hi = x
                if x - 1 > lo:
                    if curve(x - 1) > budget:
                        hi = x - 1
                    else:
                        lo = x - 1
        bisect_next = (hi - lo) * 2 > width
    return lo


# --------------------------------------------------------------------------- inference


def _estimate(spec: ModelSpec, work: InferenceWorkload) -> Estimate:
    from .inference import estimate_inference

    return estimate_inference(spec, work)


def _with_gpu(work: InferenceWorkload, gpu: Any) -> InferenceWorkload:
    slug = _slug(gpu)
    return work if work.gpu == slug else replace(work, gpu=slug)


def _context_curve(spec: ModelSpec, work: InferenceWorkload) -> _Curve:
    return _Curve(lambda c: _need_max(_estimate(spec, replace(work, context=c))))


def _batch_curve(spec: ModelSpec, work: InferenceWorkload) -> _Curve:
    return _Curve(lambda b: _need_max(_estimate(spec, replace(work, batch=b))))


def _context_limit(spec: ModelSpec, memory_tokens: int) -> ContextLimit:
    model_tokens = int(spec.max_position_embeddings)
    if memory_tokens < 1:
        return ContextLimit(0, 0, model_tokens, "nothing fits")
    if model_tokens <= 0 or memory_tokens < model_tokens:  # <= 0: the config gives no limit
        return ContextLimit(memory_tokens, memory_tokens, model_tokens, "memory")
    return ContextLimit(model_tokens, memory_tokens, model_tokens, "model")


def solve_context(
    spec: ModelSpec, work: InferenceWorkload, gpu: Any, *, _curve: _Curve | None = None
) -> ContextLimit:
    """Return the largest context per sequence (tokens) that fits ``work.batch`` sequences.

    Both limits are reported: memory (searched up to ``workload.MAX_TOKENS``) and the
    model's ``max_position_embeddings``; ``tokens`` is the smaller.
    """
    gpu = _gpu(gpu)
    work = _with_gpu(work, gpu)
    curve = _curve or _context_curve(spec, work)
    memory = solve_largest(curve, budget_bytes(gpu, work), 1, MAX_TOKENS)
    return _context_limit(spec, max(memory, 0))


def max_context(spec: ModelSpec, work: InferenceWorkload, gpu: Any) -> int:
    """Return the largest context (tokens per sequence) that fits and the model supports.

    0 when not even a one-token context fits. ``solve_context`` gives both limits.
    """
    return solve_context(spec, work, gpu).tokens


def max_batch(spec: ModelSpec, work: InferenceWorkload, gpu: Any) -> int:
    """Return the most concurrent sequences of ``work.context`` tokens that fit (0: none).

    Searched up to ``workload.MAX_BATCH``.
    """
    gpu = _gpu(gpu)
    work = _with_gpu(work, gpu)
    return max(0, solve_largest(_batch_curve(spec, work), budget_bytes(gpu, work), 1, MAX_BATCH))


def llamacpp_offload_layers(spec: ModelSpec, work: InferenceWorkload, gpu: Any) -> int | None:
    """Return the largest ``n_gpu_layers`` whose VRAM fits the GPU under llama.cpp.

    Counted as llama.cpp counts them (``llama-model.cpp``: ``i_gpu_start = n_layer + 1 -
    n_gpu_layers``): the output layer first, then repeating layers from the last one, so
    ``num_layers + 1`` means everything ("offloaded 33/33 layers" for a 32-layer model).
    None when even ``n_gpu_layers=0`` (compute buffers only) does not fit.
    """
    gpu = _gpu(gpu)
    work = replace(_with_gpu(work, gpu), runtime="llamacpp", tp=1, pp=1)
    curve = _Curve(lambda n: _need_max(_estimate(spec, replace(work, n_gpu_layers=n))))
    n = solve_largest(curve, budget_bytes(gpu, work), 0, spec.num_layers + 1)
    return None if n < 0 else n


def weight_bytes_read_per_token(spec: ModelSpec, weights: str, runtime: str) -> int:
    """Return the weight bytes one decode step streams from memory (all GPUs together).

    Every stored tensor counts, except an untied input embedding (a row gather) and the
    unused share of routed experts (``experts_per_token / num_experts`` of each stack).
    """
    return _weight_bytes_read(spec, weights, runtime)


@per_spec_cache
def _weight_bytes_read(spec: ModelSpec, weights: str, runtime: str) -> int:
    from .quant import quantize_tensors

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
    spec: ModelSpec, work: InferenceWorkload, gpu: Any, *, estimate: Estimate | None = None
) -> float | None:
    """Return the memory-bandwidth roofline for decoding, in tokens/s over the batch.

    ``batch × tp × bandwidth / (active weight bytes + KV cache bytes)``, the KV cache
    taken from the estimate at ``work.context`` (None when the GPU has no bandwidth listed).
    Tensor-parallel GPUs read their shares at once; pipeline stages (``pp``, llama.cpp's
    layer split) take turns on each token, so they add no bandwidth.
    """
    gpu = _gpu(gpu)
    bandwidth = _bandwidth(gpu)
    if bandwidth is None:
        return None
    work = _with_gpu(work, gpu)
    if estimate is None:
        estimate = _estimate(spec, work)
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


def _options_for(
    spec: ModelSpec, work: InferenceWorkload, gpu: Any, max_gpus: int
) -> GpuOption | None:
    """The fewest GPUs of this kind (TP 1/2/4/8) that fit ``work``, with its limits."""
    if not runtime_runs_on(work.runtime, gpu):
        return None
    counts = (1,) if _single_only(gpu) else tuple(n for n in TP_DEGREES if n <= max_gpus)
    for n in counts:
        tp, pp = _split(work.runtime, n)
        trial = replace(work, gpu=_slug(gpu), tp=tp, pp=pp, n_gpu_layers=None)
        try:
            estimate = _estimate(spec, trial)
        except InvalidWorkload:
            continue  # e.g. TP degree does not divide the attention heads
        result = fits(estimate, gpu, budget=budget_bytes(gpu, trial))
        if not result.fits:
            continue
        return _make_option(spec, trial, gpu, estimate, result)
    return None


def _make_option(
    spec: ModelSpec, work: InferenceWorkload, gpu: Any, estimate: Estimate, result: FitResult
) -> GpuOption:
    n = work.num_gpus
    price = _price(gpu)
    total_price = price * n if price is not None else None
    tps = decode_tokens_per_s(spec, work, gpu, estimate=estimate)
    usable = int(gpu.usable_bytes)
    return GpuOption(
        gpu=_slug(gpu),
        name=_name(gpu),
        num_gpus=n,
        tp=work.tp,
        pp=work.pp,
        usable_bytes=usable,
        need_bytes=max(result.need_bytes),
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
    gpus: Iterable[Any] | None = None,
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
        from .gpus import list_gpus

        gpus = list_gpus()
    options = [opt for g in gpus if (opt := _options_for(spec, work, g, max_gpus)) is not None]
    return sorted(options, key=_price_key)


def fewest_gpus(
    spec: ModelSpec, work: InferenceWorkload, gpu: Any, *, max_gpus: int = 64
) -> tuple[int, int] | None:
    """Return ``(tp, pp)`` for the fewest GPUs of kind ``gpu`` that fit ``work``, or None.

    Tries tensor parallelism over 1, 2, 4, 8 GPUs, then 8-way TP × 2, 4, 8... pipeline
    stages (across nodes), up to ``max_gpus`` GPUs; llama.cpp splits by layers only
    (``pp``). None also where the runtime does not run on the GPU (vLLM on Apple).
    """
    gpu = _gpu(gpu)
    if not runtime_runs_on(work.runtime, gpu):
        return None
    candidates = [_split(work.runtime, n) for n in TP_DEGREES]
    n = 16
    while n <= max_gpus:
        candidates.append((1, n) if work.runtime == "llamacpp" else (8, n // 8))
        n *= 2
    if _single_only(gpu):
        candidates = [(1, 1)]
    for tp, pp in candidates:
        if tp * pp > max_gpus:
            break
        trial = replace(work, gpu=_slug(gpu), tp=tp, pp=pp, n_gpu_layers=None)
        try:
            estimate = _estimate(spec, trial)
        except InvalidWorkload:
            continue
        if fits(estimate, gpu, budget=budget_bytes(gpu, trial)).fits:
            return tp, pp
    return None


def _native_format(spec: ModelSpec) -> Any | None:
    """The checkpoint's own format (``weights="auto"``), or None when it cannot be told."""
    from .quant import get_format, resolve_auto

    try:
        return get_format(resolve_auto(spec))
    except EngineError:
        return None


def _formats_by_quality(runtime: str, spec: ModelSpec) -> list[Any]:
    """Formats the runtime accepts, most bits per weight first, none above the checkpoint's.

    Storing a bf16 checkpoint in fp32, or an MXFP4 one in 8 bits, costs memory and adds no
    quality, so the checkpoint's own precision is the ceiling (it wins ties).
    """
    from .quant import list_formats

    native = _native_format(spec)
    ceiling = native.bits_per_weight if native is not None else None
    formats = [
        f
        for f in list_formats()
        if runtime in (getattr(f, "runtimes", None) or (runtime,))
        and (ceiling is None or f.bits_per_weight <= ceiling)
    ]
    native_id = native.id if native is not None else None
    formats.sort(key=lambda f: (-f.bits_per_weight, f.id != native_id, f.id))
    return formats


def _format_trials(
    spec: ModelSpec, work: InferenceWorkload, gpu: Any
) -> Iterator[tuple[Any, InferenceWorkload, int, int]]:
    """Yield ``(format, workload, need, budget)`` best quality first, lazily (so a caller can
    stop at the first fit); formats the runtime or model cannot use are left out."""
    gpu = _gpu(gpu)
    work = _with_gpu(work, gpu)
    budget = budget_bytes(gpu, work)
    for fmt in _formats_by_quality(work.runtime, spec):
        trial = replace(work, weights=fmt.id)
        try:
            estimate = _estimate(spec, trial)
        except EngineError:
            continue
        yield fmt, trial, _need_max(estimate), budget


def quant_choices(
    spec: ModelSpec, work: InferenceWorkload, gpu: Any, *, solve: bool = False
) -> list[QuantChoice]:
    """Return the weight formats to try, best quality (most bits, up to the checkpoint's) first.

    With ``solve``, each fitting format also gets its largest context.
    """
    gpu = _gpu(gpu)
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


def best_quant(spec: ModelSpec, work: InferenceWorkload, gpu: Any) -> QuantChoice | None:
    """Return the highest-quality weight format that fits, or None.

    Quality is bits per weight, capped at the checkpoint's own format (which wins ties).
    ``work.context`` and ``work.batch`` are kept: the KV cache must fit alongside.
    """
    for fmt, _trial, need, budget in _format_trials(spec, work, gpu):
        if need <= budget:
            return QuantChoice(fmt.id, float(fmt.bits_per_weight), True, need, budget - need)
    return None


# --------------------------------------------------------------------------- sweep
#
# A sweep solves the largest context for every GPU x weight format. Solving each pair with
# the integer search costs ~10 estimates; a sweep shares the work instead:
#
# 1. Classes. One estimate per format (at 1 token, on a reference GPU): formats whose
#    context-dependent components (KV cache, activations, logits) equal the reference's
#    differ from it only by their weights. GPUs that differ only in device overhead
#    (``inference.gpu_dependence``) differ only by that. Each (format class, GPU class)
#    shares one context curve, shifted by those constant offsets.
# 2. Quantum. Runtimes allocate KV in steps of q tokens (1 for transformers, vLLM's
#    16-token blocks, llama.cpp's n_ctx padded to 256 cells), so the curve is constant on
#    ((k-1)q, kq] and every answer is a multiple of q. q is measured at three contexts.
# 3. Concavity. On the grid k -> curve(kq) each term is linear or saturates (sliding
#    windows, llama.cpp's n_ubatch), so the curve is concave and piecewise linear. For a
#    concave sequence, one interior point on the chord proves the whole segment linear,
#    so a bracket is refined by midpoints until a segment is proven linear, then the answer
#    is exact integer arithmetic. Many budgets share the same segments.
# Any check that fails (a midpoint below the chord, an irregular quantum, a spot check of a
# pair against its own estimate) sends that curve back to the plain integer search.


class _NotStructured(Exception):
    """The curve is not the concave, quantised shape the sweep's shortcut relies on."""


_QUANTA = (256, 128, 64, 32, 16, 8, 4, 2)
_PROBES = (1 << 8, 1 << 12, 1 << 16, 1 << 20)  # multiples of every quantum, below MAX_TOKENS


def _quantum(curve: _Curve) -> int:
    """Return the token step q on which ``curve`` is constant per block ((k-1)q, kq]."""
    found = []
    for x in _PROBES:
        top = curve(x)
        if curve(x - 1) != top:
            found.append(1)
            continue
        q = next((p for p in _QUANTA if curve(x - p + 1) == top), 1)
        found.append(q)
    q = min(found)
    for x in _PROBES:  # the step must be aligned the same way everywhere
        if q > 1 and curve(x - q + 1) != curve(x):
            raise _NotStructured
    return q


class _GridSolver:
    """Solve many budgets on one concave, quantised context curve (see the notes above)."""

    def __init__(self, curve: _Curve, hi: int) -> None:
        self.curve = curve
        self.q = _quantum(curve)
        self.k_max = hi // self.q
        self.linear: list[tuple[int, int]] = []  # proven-linear grid segments, sorted
        self._memo: dict[int, int] = {}
        self._keys: list[int] = []  # grid points evaluated, sorted; values non-decreasing
        self._vals: list[int] = []
        for x in list(curve._keys):  # seed: a point in ((k-1)q, kq] has the value of kq
            k = -(-x // self.q)
            if 1 <= k <= self.k_max and k not in self._memo:
                self._add(k, curve(x))

    def _add(self, k: int, value: int) -> None:
        self._memo[k] = value
        i = bisect.bisect_left(self._keys, k)
        self._keys.insert(i, k)
        self._vals.insert(i, value)

    def g(self, k: int) -> int:
        value = self._memo.get(k)
        if value is None:
            value = self.curve(k * self.q)
            self._add(k, value)
        return value

    def _proven(self, a: int, b: int) -> tuple[int, int] | None:
        i = bisect.bisect_right(self.linear, (a, self.k_max + 1)) - 1
        if i >= 0 and self.linear[i][0] <= a and b <= self.linear[i][1]:
            return self.linear[i]
        return None

    def solve(self, budget: int) -> int:
        """Return the largest context (tokens) whose need is at most ``budget`` (0: none)."""
        q = self.q
        if self.g(1) > budget:
            return 0  # the curve is constant on [1, q]: nothing fits
        if self.g(self.k_max) <= budget:
            return self.k_max * q
        i = bisect.bisect_right(self._vals, budget)
        a, b = self._keys[i - 1], self._keys[i]  # g(a) <= budget < g(b)
        while b - a > 1:
            seg = self._proven(a, b)
            if seg is not None:
                sa, sb = seg
                ga, gb = self.g(sa), self.g(sb)
                return (sa + (budget - ga) * (sb - sa) // (gb - ga)) * q
            m = (a + b) // 2
            ga, gm, gb = self.g(a), self.g(m), self.g(b)
            chord = ga * (b - m) + gb * (m - a)
            if gm * (b - a) < chord:
                raise _NotStructured  # below the chord: not concave
            if gm * (b - a) == chord:
                bisect.insort(self.linear, (a, b))
                continue
            if gm <= budget:
                a = m
            else:
                b = m
        return a * q


def _context_key(estimate: Estimate) -> tuple[Any, ...]:
    """What makes two estimates' context curves the same shape (all but weights, overhead)."""
    c = estimate.components
    parts = tuple(sorted((k, v) for k, v in c.items() if k not in ("weights", "overhead")))
    return (len(estimate.gpu_bytes), parts)


def sweep_context_limits(
    spec: ModelSpec,
    work: InferenceWorkload,
    *,
    gpus: Iterable[Any] | None = None,
    formats: Iterable[str] | None = None,
) -> dict[tuple[str, str], ContextLimit]:
    """Return ``{(format, gpu slug): ContextLimit}`` for every GPU x weight format.

    Same answers as ``solve_context`` pair by pair (tests compare them on every pair), at a
    fraction of the estimates; formats the runtime or model cannot use are left out.
    """
    from .gpus import list_gpus
    from .quant import list_formats

    gpu_list = list(list_gpus() if gpus is None else gpus)
    fmt_ids = [f.id for f in list_formats()] if formats is None else list(formats)
    if not gpu_list or not fmt_ids:
        return {}
    ref_gpu = gpu_list[0]

    def at(fmt: str, gpu: Any, context: int) -> Estimate:
        return _estimate(spec, replace(work, weights=fmt, gpu=_slug(gpu), context=context))

    fmt_probe: dict[str, Estimate] = {}
    for fmt in fmt_ids:
        try:
            fmt_probe[fmt] = at(fmt, ref_gpu, 1)
        except EngineError:
            continue
    if not fmt_probe:
        return {}
    ref_fmt = next(iter(fmt_probe))

    # classes: representative format / GPU per context shape, and constant offsets
    fmt_rep: dict[tuple[Any, ...], str] = {}
    fmt_class: dict[str, tuple[str, int]] = {}
    for fmt, est in fmt_probe.items():
        rep = fmt_rep.setdefault(_context_key(est), fmt)
        fmt_class[fmt] = (rep, _need_max(est) - _need_max(fmt_probe[rep]))
    gpu_class = _gpu_classes(spec, work, gpu_list, lambda g: at(ref_fmt, g, 1))

    out: dict[tuple[str, str], ContextLimit] = {}
    pending: dict[tuple[str, str], list[tuple[str, Any, int]]] = {}
    for fmt in fmt_probe:
        f_rep, f_off = fmt_class[fmt]
        for g in gpu_list:
            g_rep, g_off = gpu_class[_slug(g)]
            budget = budget_bytes(g, work) - f_off - g_off
            pending.setdefault((f_rep, _slug(g_rep)), []).append((fmt, g, budget))

    for (f_rep, g_rep_slug), pairs in pending.items():
        g_rep = gpu_class[g_rep_slug][0]
        base = replace(work, weights=f_rep, gpu=g_rep_slug)
        curve = _context_curve(spec, base)
        answers = _solve_class(curve, [b for _, _, b in pairs])
        if answers is not None and not _spot_check(spec, work, pairs, answers):
            answers = None
        if answers is None:  # the exact integer search on the shared curve
            answers = [max(0, solve_largest(curve, b, 1, MAX_TOKENS)) for _, _, b in pairs]
        for (fmt, g, _), tokens in zip(pairs, answers, strict=True):
            out[(fmt, _slug(g))] = _context_limit(spec, tokens)
    return out


def _gpu_classes(
    spec: ModelSpec, work: InferenceWorkload, gpu_list: list[Any], probe: Callable[[Any], Estimate]
) -> dict[str, tuple[Any, int]]:
    """Return ``{slug: (representative GPU, need offset)}``: GPUs sharing a context curve.

    ``inference.gpu_dependence`` lists everything the estimate takes from the GPU (device
    overhead, vLLM's batching limits); GPUs that differ only in overhead share a curve,
    shifted by the difference. Without it, one probe estimate per GPU decides.
    """
    from . import inference

    dependence = getattr(inference, "gpu_dependence", None)
    rep_by_key: dict[tuple[Any, ...], Any] = {}
    out: dict[str, tuple[Any, int]] = {}
    if dependence is not None:
        keys = {_slug(g): dependence(work.runtime, _slug(g)) for g in gpu_list}
        for g in gpu_list:
            overhead, *shape = keys[_slug(g)]
            rep = rep_by_key.setdefault(tuple(shape), g)
            out[_slug(g)] = (rep, overhead - keys[_slug(rep)][0])
        return out
    probes = {_slug(g): probe(g) for g in gpu_list}
    for g in gpu_list:
        est = probes[_slug(g)]
        rep = rep_by_key.setdefault(_context_key(est), g)
        out[_slug(g)] = (rep, _need_max(est) - _need_max(probes[_slug(rep)]))
    return out


def _solve_class(curve: _Curve, budgets: list[int]) -> list[int] | None:
    try:
        solver = _GridSolver(curve, MAX_TOKENS)
        return [solver.solve(b) for b in budgets]
    except _NotStructured:
        return None


def _spot_check(
    spec: ModelSpec,
    work: InferenceWorkload,
    pairs: list[tuple[str, Any, int]],
    answers: list[int],
) -> bool:
    """Check the median pair against its own estimate: answer fits, answer + 1 does not."""
    order = sorted(range(len(pairs)), key=lambda i: pairs[i][2])
    i = order[len(order) // 2]
    fmt, g, _ = pairs[i]
    tokens = answers[i]
    trial = replace(work, weights=fmt, gpu=_slug(g))
    budget = budget_bytes(g, trial)
    if tokens >= MAX_TOKENS:
        return _need_max(_estimate(spec, replace(trial, context=MAX_TOKENS))) <= budget
    over = _need_max(_estimate(spec, replace(trial, context=tokens + 1))) > budget
    if tokens == 0:
        return over
    return over and _need_max(_estimate(spec, replace(trial, context=tokens))) <= budget


def sweep_max_context(
    spec: ModelSpec,
    work: InferenceWorkload,
    *,
    gpus: Iterable[Any] | None = None,
    formats: Iterable[str] | None = None,
) -> dict[tuple[str, str], int]:
    """Return ``{(format, gpu slug): largest context}`` (``max_context`` for every pair)."""
    limits = sweep_context_limits(spec, work, gpus=gpus, formats=formats)
    return {key: limit.tokens for key, limit in limits.items()}


# --------------------------------------------------------------------------- report


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


ROOFLINE_ASSUMPTION = msg(
    "decode tokens/s is a memory-bandwidth upper bound: each step reads the active weights "
    "once plus every sequence's cached K/V at the full context, over the bandwidth of the "
    "tensor-parallel GPUs (pipeline stages take turns; compute, kernel efficiency and "
    "interconnect ignored)"
)


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
                util=work.gpu_memory_utilization,
            )
        )
    chosen: dict[str, Any] | None = None
    warnings: list[str] = []
    if work.gpu is not None:
        gpu = _gpu(work.gpu)
        estimate = _estimate(spec, work)
        result = fits(estimate, gpu, budget=budget_bytes(gpu, work))
        ctx = solve_context(spec, work, gpu)
        warnings.extend(estimate.warnings)
        chosen = {
            **result.to_dict(),
            "name": _name(gpu),
            "need_bytes_max": _need_max(estimate),
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
        slug = _slug(gpu)
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


# --------------------------------------------------------------------------- training


def _estimate_training(spec: ModelSpec, work: TrainingWorkload) -> Estimate:
    from .training import estimate_training

    return estimate_training(spec, work)


def _training_need(spec: ModelSpec, work: TrainingWorkload) -> Callable[[int], int]:
    """Memoised ``GPU count -> bytes on the most-loaded GPU`` for this training workload.

    Training estimates depend on how many GPUs there are, not on which GPU: the memo is
    shared by every GPU kind (``test_fit`` checks that naming a GPU changes nothing).
    """
    base = replace(work, gpu=None)
    memo: dict[int, int] = {}

    def need(n: int) -> int:
        if n not in memo:
            memo[n] = _need_max(_estimate_training(spec, replace(base, gpus=n)))
        return memo[n]

    return need


def fewest_training_gpus(
    spec: ModelSpec,
    work: TrainingWorkload,
    gpu: Any,
    *,
    max_gpus: int = 1024,
    _need: Callable[[int], int] | None = None,
) -> tuple[int, TrainingWorkload] | None:
    """Return ``(gpus, workload)`` for the fewest GPUs of kind ``gpu`` that fit, or None.

    Data parallelism grows in powers of two (times the workload's tp × pp); with ZeRO-3
    weights, gradients and optimizer states shard over all of them, so memory per GPU
    falls. Stages 0-2 shard less, so the same search may find no answer.
    """
    gpu = _gpu(gpu)
    need = _need or _training_need(spec, work)
    budget = int(gpu.usable_bytes)
    mp = work.tp * work.pp
    dp = 1
    limit = mp if _single_only(gpu) else min(max_gpus, MAX_GPUS)
    while dp * mp <= limit:
        if need(dp * mp) <= budget:
            return dp * mp, replace(work, gpus=dp * mp, gpu=_slug(gpu))
        dp *= 2
    return None


def fit_training(
    spec: ModelSpec,
    work: TrainingWorkload,
    *,
    max_gpus: int = 64,
    gpus: Iterable[Any] | None = None,
) -> dict[str, Any]:
    """Return the training fit (schema 1): the chosen GPU, and every GPU kind ranked by price.

    For the chosen GPU (``work.gpu``): whether the workload fits as given, and the fewest
    GPUs with the workload's ZeRO stage and with ZeRO-3. Options: the fewest GPUs of each
    kind (up to ``max_gpus``) with ZeRO-3, cheapest first.
    """
    if gpus is None:
        from .gpus import list_gpus

        gpus = list_gpus()
    chosen: dict[str, Any] | None = None
    z3_work = replace(work, zero=3)
    z3_need = _training_need(spec, z3_work)
    if work.gpu is not None:
        gpu = _gpu(work.gpu)
        estimate = _estimate_training(spec, work)
        result = fits(estimate, gpu)
        own_need = z3_need if work.zero == 3 else None
        own = fewest_training_gpus(spec, work, gpu, max_gpus=max_gpus, _need=own_need)
        z3 = fewest_training_gpus(spec, z3_work, gpu, max_gpus=max_gpus, _need=z3_need)
        chosen = {
            **result.to_dict(),
            "name": _name(gpu),
            "warnings": list(estimate.warnings),
            "fewest_gpus": own[0] if own else None,
            "fewest_gpus_zero3": z3[0] if z3 else None,
        }
    options: list[TrainingOption] = []
    for g in gpus:
        found = fewest_training_gpus(spec, z3_work, g, max_gpus=max_gpus, _need=z3_need)
        if found is None:
            continue
        n = found[0]
        need = z3_need(n)
        price = _price(g)
        options.append(
            TrainingOption(
                gpu=_slug(g),
                name=_name(g),
                num_gpus=n,
                zero=3,
                need_bytes=need,
                headroom_bytes=int(g.usable_bytes) - need,
                price_usd=price * n if price is not None else None,
            )
        )
    options.sort(key=lambda o: (o.price_usd is None, o.price_usd or 0.0, o.num_gpus, o.gpu))
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
