"""Fit verdict, solve, rank, roofline, sweep and the fit report (engine/verdict.py,
solve.py, rank.py, roofline.py, sweep.py, fit.py).

The integer search is checked on synthetic curves (linear, stepped, quadratic, flat), then
the solvers are checked on real estimates: the answer fits and answer + 1 does not.
"""

from __future__ import annotations

import math
from dataclasses import replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine import fit, rank, roofline, solve, sweep, verdict
from engine.gpus import get_gpu
from engine.result import Estimate
from engine.solve import Curve, solve_largest
from engine.workload import MAX_BATCH, MAX_TOKENS, InferenceWorkload, TrainingWorkload

# ----------------------------------------------------------------------------- the search


def _brute(f, budget, lo, hi):
    best = lo - 1
    for x in range(lo, hi + 1):
        if f(x) <= budget:
            best = x
    return best


CURVES = {
    "linear": lambda x: 1000 + 7 * x,
    "blocks16": lambda x: 500 + 64 * (-(-x // 16)),  # vLLM: KV rounded up to 16-token blocks
    "quadratic": lambda x: 10 + 3 * x + x * x,  # eager attention scores
    "window": lambda x: 100 + 5 * min(x, 40) + x,  # a sliding-window layer saturates
    "flat": lambda x: 42,
}


@pytest.mark.parametrize("name", sorted(CURVES))
@pytest.mark.parametrize("budget", [0, 41, 42, 1006, 1500, 2222, 5000, 10**6])
def test_solve_largest_matches_brute_force(name, budget):
    f = CURVES[name]
    assert solve_largest(f, budget, 1, 300) == _brute(f, budget, 1, 300)


@settings(max_examples=200, deadline=None)
@given(
    steps=st.lists(st.integers(min_value=0, max_value=50), min_size=1, max_size=200),
    base=st.integers(min_value=0, max_value=1000),
    budget=st.integers(min_value=0, max_value=6000),
)
def test_solve_largest_any_monotonic_curve(steps, base, budget):
    # any non-decreasing integer curve: prefix sums of non-negative steps
    values = [base]
    for s in steps:
        values.append(values[-1] + s)
    hi = len(values)

    def f(x):
        return values[x - 1]

    curve = Curve(f)
    got = solve_largest(curve, budget, 1, hi)
    assert got == _brute(f, budget, 1, hi)
    # the memo is reused: solving again costs no new evaluations
    calls = curve.calls
    assert solve_largest(curve, budget, 1, hi) == got
    assert curve.calls == calls


def test_solve_largest_linear_is_cheap():
    # a linear curve over 10M tokens is solved in a handful of evaluations (ends + one round)
    curve = Curve(lambda x: 16_000_000_000 + 131_072 * x)
    got = solve_largest(curve, 80 * 2**30, 1, MAX_TOKENS)
    assert got == (80 * 2**30 - 16_000_000_000) // 131_072
    assert curve.calls <= 5


def test_solve_largest_worst_case_is_logarithmic():
    # a curve with one big jump defeats interpolation; bisection bounds the work
    curve = Curve(lambda x: 0 if x < 777_777 else 10**12)
    assert solve_largest(curve, 1, 1, MAX_TOKENS) == 777_776
    assert curve.calls <= 3 * 24


# ----------------------------------------------------------------------------- fits()


def _small_gpu():
    """A real GpuSpec with 1,000 usable bytes."""
    return replace(get_gpu("rtx-4090"), usable_bytes=1000)


def test_fits_headroom_and_shortfall_per_gpu():
    est = Estimate(mode="inference", components={"weights": 900}, gpu_bytes=(900, 1100))
    result = verdict.fits(est, _small_gpu())
    assert not result.fits
    assert result.headroom_bytes == (100, 0)
    assert result.shortfall_bytes == (0, 100)
    assert result.num_gpus == 2
    est = Estimate(mode="inference", components={"weights": 1000}, gpu_bytes=(1000,))
    assert verdict.fits(est, _small_gpu()).fits  # exactly full still fits


@pytest.mark.parametrize(
    ("runtime", "weights", "gpu", "context"),
    [
        ("vllm", "bf16", "h100-sxm-80gb", 8192),
        ("vllm", "bf16", "rtx-4090", 131072),  # does not fit: a shortfall
        ("transformers", "bf16", "rtx-4090", 4096),
        ("llamacpp", "q4_k_m", "rtx-3060-12gb", 8192),
    ],
)
def test_estimate_carries_the_one_verdict(runtime, weights, gpu, context):
    """An estimate's details.fit is verdict.fits against verdict.budget_bytes (vLLM: its
    memory fraction), the same verdict the fit op reports for the chosen GPU."""
    from engine.inference import estimate_inference

    spec, g = _spec(LLAMA_8B), _gpu(gpu)
    work = InferenceWorkload(weights=weights, runtime=runtime, context=context, gpu=gpu)
    est = estimate_inference(spec, work)
    judged = verdict.fits(est, g, budget=verdict.budget_bytes(g, work))
    assert est.details["fit"] == judged.details()
    assert est.details["fit"] == verdict.fit_details(g, max(est.gpu_bytes), judged.budget_bytes)
    report = fit.fit_report(spec, work)["gpu"]
    assert {k: report[k] for k in judged.to_dict()} == judged.to_dict()


# ----------------------------------------------------------------------------- real estimates

LLAMA_8B = "llama-3.1-8b"


def _spec(slug):
    from engine.catalog import load_model

    return load_model(slug)


def _gpu(slug):
    return get_gpu(slug)


def _need(spec, work):
    from engine.inference import estimate_inference

    return max(estimate_inference(spec, work).gpu_bytes)


SOLVE_CASES = [
    # (model, weights, runtime, gpu, batch)
    (LLAMA_8B, "bf16", "transformers", "rtx-4090", 1),
    (LLAMA_8B, "q4_k_m", "llamacpp", "rtx-3060-12gb", 1),
    (LLAMA_8B, "bf16", "vllm", "h100-sxm-80gb", 4),
    ("qwen3-30b-a3b", "q4_k_m", "llamacpp", "m3-max-128gb", 2),
    ("gpt-oss-20b", "bf16", "transformers", "a100-80gb", 1),
]


@pytest.mark.parametrize(("model", "weights", "runtime", "gpu", "batch"), SOLVE_CASES)
def test_max_context_is_exact(model, weights, runtime, gpu, batch):
    spec, g = _spec(model), _gpu(gpu)
    work = InferenceWorkload(weights=weights, runtime=runtime, batch=batch, gpu=gpu)
    limit = solve.solve_context(spec, work, g)
    budget = verdict.budget_bytes(g, work)
    n = limit.memory_tokens
    assert 1 <= n < MAX_TOKENS
    assert _need(spec, replace(work, context=n)) <= budget
    assert _need(spec, replace(work, context=n + 1)) > budget
    assert limit.model_tokens == spec.max_position_embeddings
    assert limit.tokens == min(n, spec.max_position_embeddings)
    assert solve.max_context(spec, work, g) == limit.tokens


@pytest.mark.parametrize(("model", "weights", "runtime", "gpu", "batch"), SOLVE_CASES)
def test_max_batch_is_exact(model, weights, runtime, gpu, batch):
    spec, g = _spec(model), _gpu(gpu)
    work = InferenceWorkload(weights=weights, runtime=runtime, context=4096, gpu=gpu)
    budget = verdict.budget_bytes(g, work)
    n = solve.max_batch(spec, work, g)
    assert 1 <= n < MAX_BATCH
    assert _need(spec, replace(work, batch=n)) <= budget
    assert _need(spec, replace(work, batch=n + 1)) > budget


def test_nothing_fits_gives_zero():
    # Llama-3.1-405B in bf16 is ~810 GB of weights: not one token fits on a 24 GB card
    spec = _spec("llama-3.1-405b")
    work = InferenceWorkload(weights="bf16", gpu="rtx-4090")
    limit = solve.solve_context(spec, work, _gpu("rtx-4090"))
    assert (limit.tokens, limit.memory_tokens, limit.limited_by) == (0, 0, "nothing fits")
    assert solve.max_batch(spec, work, _gpu("rtx-4090")) == 0
    assert rank.best_quant(spec, work, _gpu("rtx-4090")) is None


def test_model_limit_reported_separately():
    # Qwen3-0.6B bf16 on an H200: memory allows far more than the model's 40,960 positions
    spec = _spec("qwen3-0.6b")
    limit = solve.solve_context(spec, InferenceWorkload(), _gpu("h200-141gb"))
    assert limit.limited_by == "model"
    assert limit.tokens == spec.max_position_embeddings == 40960  # Qwen3-0.6B config.json
    assert limit.memory_tokens > limit.tokens


def test_vllm_budget_is_the_utilisation_fraction():
    g = _gpu("h100-sxm-80gb")
    work = InferenceWorkload(runtime="vllm", gpu_memory_utilization=0.5)
    # vllm/v1/worker/utils.py request_memory: ceil(total × utilization)
    assert verdict.budget_bytes(g, work) == -(-g.usable_bytes // 2)
    assert verdict.budget_bytes(g, replace(work, runtime="transformers")) == g.usable_bytes
    # unset: 1.0 with 0.34's extensible KV cache on NVIDIA/AMD, 0.92 elsewhere and on 0.33
    default = InferenceWorkload(runtime="vllm")
    assert verdict.budget_bytes(g, default) == g.usable_bytes
    old = replace(default, vllm_version="0.33")
    assert verdict.budget_bytes(g, old) == math.ceil(g.usable_bytes * 0.92)
    arc = _gpu("arc-b580")
    assert verdict.budget_bytes(arc, default) == math.ceil(arc.usable_bytes * 0.92)


def test_decode_roofline_hand_derived():
    # Llama-3.1-8B bf16 on H100 SXM (3.35 TB/s, NVIDIA H100 datasheet). One decode step
    # reads every weight but the input embedding (a row gather): (8,030,261,248 params -
    # 128,256 × 4,096 embedding) × 2 bytes = 15,009,849,344 bytes, plus the KV cache:
    # 32 layers × 8 KV heads × 128 dims × 2 (K, V) × 2 bytes = 131,072 bytes per token.
    spec = _spec(LLAMA_8B)
    g = _gpu("h100-sxm-80gb")
    assert g.bandwidth_bytes_per_s == 3_350_000_000_000
    assert roofline.weight_bytes_read_per_token(spec, "bf16", "transformers") == 15_009_849_344
    work = InferenceWorkload(weights="bf16", context=4096, gpu=g.slug)
    tps = roofline.decode_tokens_per_s(spec, work, g)
    expected = 3.35e12 / (15_009_849_344 + 131_072 * 4096)  # = 215.48 tok/s
    assert tps == pytest.approx(expected, rel=1e-9)
    assert 215 < tps < 216
    # batch 8 reads the weights once per step and 8 KV caches; tensor parallel doubles bandwidth
    tps8 = roofline.decode_tokens_per_s(spec, replace(work, batch=8, tp=2), g)
    assert tps8 == pytest.approx(8 * 2 * 3.35e12 / (15_009_849_344 + 8 * 131_072 * 4096), rel=1e-9)


def test_recommendations_fit_and_are_ranked_by_price():
    from engine.inference import estimate_inference

    spec = _spec(LLAMA_8B)
    work = InferenceWorkload(weights="bf16", context=65536)
    options = rank.recommend_gpus(spec, work)
    assert len(options) >= 5
    prices = [o.price_usd for o in options if o.price_usd is not None]
    assert prices == sorted(prices)
    for o in options:
        g = _gpu(o.gpu)
        trial = replace(work, gpu=o.gpu, tp=o.tp, pp=o.pp)
        assert verdict.fits(estimate_inference(spec, trial), g).fits
        assert o.headroom_bytes >= 0
        assert o.max_context.tokens >= work.context
        assert o.max_batch >= 1
        if o.price_usd is not None:
            assert o.price_usd == pytest.approx(g.price_usd * o.num_gpus)
        if g.vendor == "apple":
            assert o.num_gpus == 1
    # 16 GB of bf16 weights + an 8 GiB KV cache (65,536 × 131,072 bytes) + the prefill
    # activations cannot sit on one 24 GB card: the 4090 option is two GPUs, the H100 one
    by_gpu = {o.gpu: o for o in options}
    assert not verdict.fits(
        estimate_inference(spec, replace(work, gpu="rtx-4090")), _gpu("rtx-4090")
    ).fits
    assert by_gpu["rtx-4090"].num_gpus == 2
    assert by_gpu["h100-sxm-80gb"].num_gpus == 1


def test_fewest_gpus_monotonic_in_context():
    spec = _spec("llama-3.1-70b")
    last = 0
    for context in (1024, 8192, 32768, 131072):
        work = InferenceWorkload(weights="bf16", context=context, runtime="vllm")
        tp, pp = rank.fewest_gpus(spec, work, _gpu("h100-sxm-80gb"))
        assert tp * pp >= last
        last = tp * pp
    assert last >= 2  # 141 GB of bf16 weights never fit one 80 GB GPU


def test_best_quant_is_the_most_bits_that_fit():
    from engine.quant import get_format

    spec = _spec(LLAMA_8B)
    work = InferenceWorkload(context=8192, runtime="llamacpp", gpu="rtx-3060-12gb")
    best = rank.best_quant(spec, work, _gpu("rtx-3060-12gb"))
    assert best is not None and best.fits
    choices = rank.quant_choices(spec, work, _gpu("rtx-3060-12gb"))
    for c in choices:
        if c.bits_per_weight > best.bits_per_weight:
            assert not c.fits, c.format
    bpw = float(get_format(best.format).bits_per_weight)
    assert 4 < bpw < 9  # 8B params: bf16 (16 GB) is too big for 12 GB; ~8-bit or less fits


def test_llamacpp_offload_layers_exact():
    spec = _spec("llama-3.1-70b")
    g = _gpu("rtx-4090")
    work = InferenceWorkload(weights="q4_k_m", context=8192, runtime="llamacpp", gpu=g.slug)
    n = solve.llamacpp_offload_layers(spec, work, g)
    assert 0 < n < spec.num_layers  # ~40 GB of Q4_K_M weights: only part fits in 24 GB
    assert _need(spec, replace(work, n_gpu_layers=n)) <= g.usable_bytes
    assert _need(spec, replace(work, n_gpu_layers=n + 1)) > g.usable_bytes


@settings(max_examples=25, deadline=None)
@given(
    a=st.integers(min_value=4 * 2**30, max_value=200 * 2**30),
    b=st.integers(min_value=4 * 2**30, max_value=200 * 2**30),
)
def test_more_memory_never_gives_a_smaller_context(a, b):
    spec = _spec(LLAMA_8B)
    base = _gpu("h100-sxm-80gb")
    small, large = sorted((a, b))
    work = InferenceWorkload(weights="q8_0", runtime="llamacpp", gpu=base.slug)
    c_small = solve.solve_context(spec, work, replace(base, usable_bytes=small)).memory_tokens
    c_large = solve.solve_context(spec, work, replace(base, usable_bytes=large)).memory_tokens
    assert c_small <= c_large


def test_fit_report_is_json_ready_integers():
    import json

    spec = _spec(LLAMA_8B)
    work = InferenceWorkload(weights="q4_k_m", context=8192, runtime="llamacpp", gpu="rtx-4090")
    report = fit.fit_report(spec, work)
    json.dumps(report, allow_nan=False)
    assert report["schema"] == 1
    chosen = report["gpu"]
    assert chosen["fits"] and chosen["gpu"] == "rtx-4090"
    for key in ("usable_bytes", "budget_bytes", "max_context", "max_batch", "n_gpu_layers"):
        assert isinstance(chosen[key], int), key
    # everything fits in 24 GB: llama.cpp logs "offloaded 33/33 layers to GPU" (32 + output)
    assert chosen["n_gpu_layers"] == spec.num_layers + 1 == 33
    assert chosen["fewest_gpus"] == {"num_gpus": 1, "tp": 1, "pp": 1}
    assert report["options"] and all(isinstance(o["need_bytes"], int) for o in report["options"])
    # the per-format table agrees with the single solvers
    rows = {row["format"]: row for row in chosen["formats"]}
    assert rows["q4_k_m"]["fits"] and rows["bf16"]["fits"]
    for fmt in ("q4_k_m", "q8_0", "q2_k"):
        assert rows[fmt]["max_context"] == solve.max_context(
            spec, replace(work, weights=fmt), _gpu("rtx-4090")
        )
    assert "f32" not in rows  # above the bf16 checkpoint's precision: never a better choice


def test_fit_training_fewest_gpus_zero3():
    from engine.training import estimate_training

    spec = _spec(LLAMA_8B)
    g = _gpu("h100-sxm-80gb")
    work = TrainingWorkload(method="full", seq=4096, zero=3, grad_checkpointing="full", gpu=g.slug)
    found = rank.fewest_training_gpus(spec, work, g)
    assert found is not None
    n, trial = found
    # full fine-tuning needs 16 bytes/param (~128 GB) before activations: > 1 H100
    assert n >= 2
    assert max(estimate_training(spec, trial).gpu_bytes) <= g.usable_bytes
    fewer = replace(trial, gpus=n // 2)
    assert max(estimate_training(spec, fewer).gpu_bytes) > g.usable_bytes
    report = fit.fit_training(spec, work)
    assert report["gpu"]["fewest_gpus_zero3"] == n
    prices = [o["price_usd"] for o in report["options"] if o["price_usd"] is not None]
    assert prices == sorted(prices)


# ----------------------------------------------------------------------------- the sweep

SWEEP_GPUS = (
    "t4",
    "rtx-3060-12gb",
    "rtx-4090",
    "a100-80gb",
    "h100-sxm-80gb",
    "m3-max-128gb",
    "mi300x",
    "b200",
)


@pytest.mark.parametrize("runtime", ["transformers", "vllm", "llamacpp"])
@pytest.mark.parametrize(("model", "batch"), [("gemma-3-4b-it", 1), ("qwen3-30b-a3b", 2)])
def test_sweep_equals_solve_context_on_every_pair(model, batch, runtime):
    # the sweep's shortcut (shared curves, quantum grid, concave segments) must give the
    # exact integer search's answer for every GPU x format; gemma-3 has interleaved sliding
    # windows, qwen3-30b-a3b is a MoE
    from engine.quant import list_formats

    spec = _spec(model)
    gpus = [_gpu(s) for s in SWEEP_GPUS]
    formats = [f.id for f in list_formats() if runtime in f.runtimes]
    work = InferenceWorkload(runtime=runtime, batch=batch)
    limits = sweep.sweep_context_limits(spec, work, gpus=gpus, formats=formats)
    assert len(limits) >= len(gpus) * 5
    for (fmt, slug), limit in limits.items():
        exact = solve.solve_context(spec, replace(work, weights=fmt), _gpu(slug))
        assert limit == exact, (fmt, slug)


def test_sweep_falls_back_when_the_step_is_irregular():
    # llama.cpp pads n_ctx = context x batch to 256 cells: with batch 3 the step in tokens is
    # irregular, so the shortcut must detect it and fall back to the integer search
    spec = _spec("qwen3-0.6b")
    gpus = [_gpu(s) for s in ("t4", "rtx-4090")]
    work = InferenceWorkload(runtime="llamacpp", batch=3)
    got = sweep.sweep_max_context(spec, work, gpus=gpus, formats=["q4_k_m", "q8_0", "bf16"])
    for (fmt, slug), tokens in got.items():
        assert tokens == solve.max_context(spec, replace(work, weights=fmt), _gpu(slug))


def test_grid_solver_rejects_a_convex_curve():
    # a quadratic (convex) curve breaks the concavity certificate: the solver must refuse
    curve = Curve(lambda x: 1000 + x * x)
    with pytest.raises(sweep._NotStructured):
        solver = sweep._GridSolver(curve, MAX_TOKENS)
        solver.solve(10**12)


@pytest.mark.parametrize("name", ["linear", "blocks16", "window"])
def test_grid_solver_on_concave_quantised_curves(name):
    f = CURVES[name]
    curve = Curve(f)
    solver = sweep._GridSolver(curve, 4096)
    for budget in (1006, 1500, 2222, 5000, 20000, 10**6):
        assert solver.solve(budget) == max(0, _brute(f, budget, 1, 4096)), budget


def test_training_estimate_ignores_which_gpu():
    # fit_training shares one GPU-count curve between GPU kinds: naming a GPU must not
    # change the training estimate
    from engine.training import estimate_training

    spec = _spec("qwen3-0.6b")
    work = TrainingWorkload(method="full", zero=3, gpus=2)
    base = estimate_training(spec, work)
    for slug in ("rtx-4090", "m3-max-128gb", "mi300x"):
        assert estimate_training(spec, replace(work, gpu=slug)).gpu_bytes == base.gpu_bytes


def test_llamacpp_options_split_by_layers_and_vllm_skips_apple():
    spec = _spec("llama-3.1-70b")
    work = InferenceWorkload(weights="q4_k_m", context=8192, runtime="llamacpp")
    options = rank.recommend_gpus(spec, work)
    multi = [o for o in options if o.num_gpus > 1]
    assert multi and all(o.tp == 1 and o.pp == o.num_gpus for o in multi)
    # ~40 GiB of Q4_K_M weights: a 24 GB card needs a layer split over 2 (and roofline
    # speed does not double: pipeline stages take turns on each token)
    by_gpu = {o.gpu: o for o in options}
    assert by_gpu["rtx-4090"].num_gpus == 2
    one = roofline.decode_tokens_per_s(spec, replace(work, pp=1), _gpu("rtx-4090"))
    two = roofline.decode_tokens_per_s(spec, replace(work, pp=2), _gpu("rtx-4090"))
    assert two == pytest.approx(one, rel=0.01)
    vllm = rank.recommend_gpus(spec, replace(work, weights="awq-4bit-g128", runtime="vllm"))
    assert vllm and not any(_gpu(o.gpu).vendor == "apple" for o in vllm)
    assert (
        rank.fewest_gpus(spec, replace(work, runtime="vllm", weights="bf16"), _gpu("m3-max-128gb"))
        is None
    )


def test_best_quant_never_upcasts_the_checkpoint():
    # a bf16 checkpoint on an 80 GB GPU: bf16 itself, not fp32 (which fits but adds nothing);
    # an FP8 checkpoint (DeepSeek-V3) on 8x H200: an 8-bit format, not a 9-bit GPTQ-8 upcast
    spec = _spec(LLAMA_8B)
    best = rank.best_quant(spec, InferenceWorkload(context=8192), _gpu("h100-sxm-80gb"))
    assert best.format == "bf16"
    ds = _spec("deepseek-v3")
    work = InferenceWorkload(context=32768, runtime="vllm", tp=8)
    best = rank.best_quant(ds, work, _gpu("h200-141gb"))
    # fp8-block128 is 8 bits plus one fp32 scale per 128×128 block: 8.002 bits
    assert best is not None and best.format.startswith("fp8") and best.bits_per_weight < 8.01


def test_fit_op_through_the_api():
    import json

    from engine.api import handle
    from engine.errors import UnknownGpu

    reply = json.loads(
        handle(json.dumps({"v": 1, "id": 7, "op": "fit", "args": {"model": "qwen3-0.6b"}}))
    )
    assert reply["ok"], reply
    result = reply["result"]
    assert result["schema"] == 1 and result["gpu"] is None  # no GPU named: options only
    prices = [o["price_usd"] for o in result["options"] if o["price_usd"] is not None]
    assert prices == sorted(prices) and len(result["options"]) >= 20
    with pytest.raises(UnknownGpu):
        fit.fit_report(_spec("qwen3-0.6b"), InferenceWorkload(gpu="rtx-9090"))
