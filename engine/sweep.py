"""Sweep: the largest context for every GPU x weight format at once.

Same answers as ``solve.solve_context`` pair by pair (tests compare them on every pair).
Solving each pair with the integer search costs ~10 estimates; a sweep shares the work:

1. **Classes.** One estimate per format (at 1 token, on a reference GPU): formats whose
   context-dependent components (KV cache, activations, logits) equal the reference's
   differ from it only by their weights. GPUs that differ only in device overhead
   (``inference.gpu_dependence``) differ only by that. Each (format class, GPU class)
   shares one context curve, shifted by those constant offsets.
2. **Quantum.** Runtimes allocate KV in steps of q tokens (1 for transformers, vLLM's
   16-token blocks, llama.cpp's n_ctx padded to 256 cells), so the curve is constant on
   ((k-1)q, kq] and every answer is a multiple of q. q is measured at three contexts.
3. **Concavity.** On the grid k -> curve(kq) each term is linear or saturates (sliding
   windows, llama.cpp's n_ubatch), so the curve is concave and piecewise linear. For a
   concave sequence, one interior point on the chord proves the whole segment linear,
   so a bracket is refined by midpoints until a segment is proven linear, then the answer
   is exact integer arithmetic. Many budgets share the same segments.

Any check that fails (a midpoint below the chord, an irregular quantum, a spot check of a
pair against its own estimate) sends that curve back to the plain integer search.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable
from dataclasses import replace
from typing import Any

from .errors import EngineError
from .formats import list_formats
from .gpus import GpuSpec, list_gpus
from .model import ModelSpec
from .result import Estimate
from .solve import (
    ContextLimit,
    Curve,
    context_curve,
    context_limit,
    inference_estimate,
    need_max,
    solve_largest,
)
from .verdict import budget_bytes
from .vllm_wna16 import gpu_dependent_weights
from .workload import MAX_TOKENS, InferenceWorkload


class _NotStructured(Exception):
    """The curve is not the concave, quantised shape the sweep's shortcut relies on."""


_QUANTA = (256, 128, 64, 32, 16, 8, 4, 2)
_PROBES = (1 << 8, 1 << 12, 1 << 16, 1 << 20)  # multiples of every quantum, below MAX_TOKENS


def _quantum(curve: Curve) -> int:
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

    def __init__(self, curve: Curve, hi: int) -> None:
        self.curve = curve
        self.q = _quantum(curve)
        self.k_max = hi // self.q
        self.linear: list[tuple[int, int]] = []  # proven-linear grid segments, sorted
        self._memo: dict[int, int] = {}
        self._keys: list[int] = []  # grid points evaluated, sorted; values non-decreasing
        self._vals: list[int] = []
        for x in list(curve._keys):  # seed: a point in ((k-1)q, kq] has the value of kq
            k = -(-x // self.q)
            if 2 <= k <= self.k_max and k not in self._memo:  # (0, q] may not be constant
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
            if self.curve(1) <= budget:  # not constant on [1, q] (vLLM's batch at tiny contexts)
                raise _NotStructured
            return 0  # nothing fits
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
    gpus: Iterable[GpuSpec] | None = None,
    formats: Iterable[str] | None = None,
) -> dict[tuple[str, str], ContextLimit]:
    """Return ``{(format, gpu slug): ContextLimit}`` for every GPU x weight format.

    Same answers as ``solve_context`` pair by pair (tests compare them on every pair), at a
    fraction of the estimates; formats the runtime or model cannot use are left out.
    """
    gpu_list = list(list_gpus() if gpus is None else gpus)
    fmt_ids = [f.id for f in list_formats()] if formats is None else list(formats)
    if not gpu_list or not fmt_ids:
        return {}
    ref_gpu = gpu_list[0]

    def at(fmt: str, gpu: GpuSpec, context: int) -> Estimate:
        return inference_estimate(spec, replace(work, weights=fmt, gpu=gpu.slug, context=context))

    fmt_probe: dict[str, Estimate] = {}
    for fmt in fmt_ids:
        try:
            fmt_probe[fmt] = at(fmt, ref_gpu, 1)
        except EngineError:
            continue
    if not fmt_probe:
        return {}

    # classes: representative format / GPU per context shape, and constant offsets
    fmt_rep: dict[tuple[Any, ...], str] = {}
    fmt_class: dict[str, tuple[str, int]] = {}
    for fmt, est in fmt_probe.items():
        own = (fmt,) if gpu_dependent_weights(work.runtime, fmt) else ()  # no shared curve
        rep = fmt_rep.setdefault((*_context_key(est), *own), fmt)
        fmt_class[fmt] = (rep, need_max(est) - need_max(fmt_probe[rep]))
    gpu_class = _gpu_classes(work, gpu_list)

    out: dict[tuple[str, str], ContextLimit] = {}
    pending: dict[tuple[str, str], list[tuple[str, GpuSpec, int]]] = {}
    for fmt in fmt_probe:
        f_rep, f_off = fmt_class[fmt]
        for g in gpu_list:
            g_rep, g_off = gpu_class[g.slug]
            budget = budget_bytes(g, work) - f_off - g_off
            pending.setdefault((f_rep, g_rep.slug), []).append((fmt, g, budget))

    for (f_rep, g_rep_slug), pairs in pending.items():
        g_rep = gpu_class[g_rep_slug][0]
        base = replace(work, weights=f_rep, gpu=g_rep_slug)
        curve = context_curve(spec, base)
        answers = _solve_class(curve, [b for _, _, b in pairs])
        if answers is not None and not _spot_check(spec, work, pairs, answers):
            answers = None
        if answers is None:  # the exact integer search on the shared curve
            answers = [max(0, solve_largest(curve, b, 1, MAX_TOKENS)) for _, _, b in pairs]
        for (fmt, g, _), tokens in zip(pairs, answers, strict=True):
            out[(fmt, g.slug)] = context_limit(spec, tokens)
    return out


def _gpu_classes(
    work: InferenceWorkload, gpu_list: list[GpuSpec]
) -> dict[str, tuple[GpuSpec, int]]:
    """Return ``{slug: (representative GPU, need offset)}``: GPUs sharing a context curve.

    ``inference.gpu_dependence`` lists everything the estimate takes from the GPU (device
    overhead, vLLM's batching limits); GPUs that differ only in overhead share a curve,
    shifted by the difference.
    """
    from .inference import gpu_dependence

    rep_by_key: dict[tuple[int, ...], GpuSpec] = {}
    out: dict[str, tuple[GpuSpec, int]] = {}
    keys = {g.slug: gpu_dependence(work.runtime, g.slug, work) for g in gpu_list}
    for g in gpu_list:
        overhead, *shape = keys[g.slug]
        rep = rep_by_key.setdefault(tuple(shape), g)
        out[g.slug] = (rep, overhead - keys[rep.slug][0])
    return out


def _solve_class(curve: Curve, budgets: list[int]) -> list[int] | None:
    try:
        solver = _GridSolver(curve, MAX_TOKENS)
        return [solver.solve(b) for b in budgets]
    except _NotStructured:
        return None


def _spot_check(
    spec: ModelSpec,
    work: InferenceWorkload,
    pairs: list[tuple[str, GpuSpec, int]],
    answers: list[int],
) -> bool:
    """Check the median pair against its own estimate: answer fits, answer + 1 does not."""
    order = sorted(range(len(pairs)), key=lambda i: pairs[i][2])
    i = order[len(order) // 2]
    fmt, g, _ = pairs[i]
    tokens = answers[i]
    trial = replace(work, weights=fmt, gpu=g.slug)
    budget = budget_bytes(g, trial)
    if tokens >= MAX_TOKENS:
        return need_max(inference_estimate(spec, replace(trial, context=MAX_TOKENS))) <= budget
    over = need_max(inference_estimate(spec, replace(trial, context=tokens + 1))) > budget
    if tokens == 0:
        return over
    return over and need_max(inference_estimate(spec, replace(trial, context=tokens))) <= budget


def sweep_max_context(
    spec: ModelSpec,
    work: InferenceWorkload,
    *,
    gpus: Iterable[GpuSpec] | None = None,
    formats: Iterable[str] | None = None,
) -> dict[tuple[str, str], int]:
    """Return ``{(format, gpu slug): largest context}`` (``max_context`` for every pair)."""
    limits = sweep_context_limits(spec, work, gpus=gpus, formats=formats)
    return {key: limit.tokens for key, limit in limits.items()}
