"""Solving: the largest context, batch or ``n_gpu_layers`` that fits a GPU, exact to the token.

Memory is monotonic non-decreasing in context, batch and offloaded layers, but not linear
(16-token KV blocks in vLLM, n_ctx padded to 256 in llama.cpp, sliding windows), so limits
are found by an integer search on the real estimate: a safeguarded interpolation (secant,
falling back to bisection when a round does not halve the bracket) that confirms the
boundary by probing both sides. The answer ``n`` is exact: ``n`` fits and ``n + 1`` does
not. The budget is ``verdict.budget_bytes`` (vLLM: its memory fraction).
"""

from __future__ import annotations

import bisect
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Literal

from .gpus import GpuSpec
from .model import ModelSpec
from .result import Estimate
from .verdict import budget_bytes
from .workload import MAX_BATCH, MAX_TOKENS, InferenceWorkload


@dataclass(frozen=True)
class ContextLimit:
    """Largest context per sequence: what memory allows and what the model supports."""

    tokens: int  # min(memory_tokens, model_tokens); 0 when not even one token fits
    memory_tokens: int  # largest context that fits in memory (capped at workload.MAX_TOKENS)
    model_tokens: int  # the model's max_position_embeddings
    limited_by: Literal["memory", "model", "nothing fits"]


def need_max(estimate: Estimate) -> int:
    """Bytes on the most-loaded GPU."""
    return max(estimate.gpu_bytes) if estimate.gpu_bytes else estimate.per_gpu_bytes


class Curve:
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
    if isinstance(curve, Curve):
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


def inference_estimate(spec: ModelSpec, work: InferenceWorkload) -> Estimate:
    """``estimate_inference``, imported on first use (the estimate modules load the GPU
    table and the verdict, so a module-level import would be circular)."""
    from .inference import estimate_inference

    return estimate_inference(spec, work)


def with_gpu(work: InferenceWorkload, gpu: GpuSpec) -> InferenceWorkload:
    """``work`` measured on ``gpu`` (the estimate reads the GPU's overhead and limits)."""
    slug = gpu.slug
    return work if work.gpu == slug else replace(work, gpu=slug)


def context_curve(spec: ModelSpec, work: InferenceWorkload) -> Curve:
    """Memoised ``context -> bytes on the most-loaded GPU`` for ``work``."""
    return Curve(lambda c: need_max(inference_estimate(spec, replace(work, context=c))))


def batch_curve(spec: ModelSpec, work: InferenceWorkload) -> Curve:
    """Memoised ``batch -> bytes on the most-loaded GPU`` for ``work``."""
    return Curve(lambda b: need_max(inference_estimate(spec, replace(work, batch=b))))


def context_limit(spec: ModelSpec, memory_tokens: int) -> ContextLimit:
    """Both limits on the context: memory (``memory_tokens``) and the model's."""
    model_tokens = int(spec.max_position_embeddings)
    if memory_tokens < 1:
        return ContextLimit(0, 0, model_tokens, "nothing fits")
    if model_tokens <= 0 or memory_tokens < model_tokens:  # <= 0: the config gives no limit
        return ContextLimit(memory_tokens, memory_tokens, model_tokens, "memory")
    return ContextLimit(model_tokens, memory_tokens, model_tokens, "model")


def solve_context(
    spec: ModelSpec, work: InferenceWorkload, gpu: GpuSpec, *, _curve: Curve | None = None
) -> ContextLimit:
    """Return the largest context per sequence (tokens) that fits ``work.batch`` sequences.

    Both limits are reported: memory (searched up to ``workload.MAX_TOKENS``) and the
    model's ``max_position_embeddings``; ``tokens`` is the smaller.
    """
    work = with_gpu(work, gpu)
    curve = _curve or context_curve(spec, work)
    memory = solve_largest(curve, budget_bytes(gpu, work), 1, MAX_TOKENS)
    return context_limit(spec, max(memory, 0))


def max_context(spec: ModelSpec, work: InferenceWorkload, gpu: GpuSpec) -> int:
    """Return the largest context (tokens per sequence) that fits and the model supports.

    0 when not even a one-token context fits. ``solve_context`` gives both limits.
    """
    return solve_context(spec, work, gpu).tokens


def max_batch(spec: ModelSpec, work: InferenceWorkload, gpu: GpuSpec) -> int:
    """Return the most concurrent sequences of ``work.context`` tokens that fit (0: none).

    Searched up to ``workload.MAX_BATCH``.
    """
    work = with_gpu(work, gpu)
    return max(0, solve_largest(batch_curve(spec, work), budget_bytes(gpu, work), 1, MAX_BATCH))


def llamacpp_offload_layers(spec: ModelSpec, work: InferenceWorkload, gpu: GpuSpec) -> int | None:
    """Return the largest ``n_gpu_layers`` whose VRAM fits the GPU under llama.cpp.

    Counted as llama.cpp counts them (``llama-model.cpp``: ``i_gpu_start = n_layer + 1 -
    n_gpu_layers``): the output layer first, then repeating layers from the last one, so
    ``num_layers + 1`` means everything ("offloaded 33/33 layers" for a 32-layer model).
    None when even ``n_gpu_layers=0`` (compute buffers only) does not fit.
    """
    work = replace(with_gpu(work, gpu), runtime="llamacpp", tp=1, pp=1)
    curve = Curve(lambda n: need_max(inference_estimate(spec, replace(work, n_gpu_layers=n))))
    n = solve_largest(curve, budget_bytes(gpu, work), 0, spec.num_layers + 1)
    return None if n < 0 else n
