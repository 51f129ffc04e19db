"""PyTorch's CUDA caching allocator (engine.cuda_alloc): block rounding, segments, the
fragmentation allowance, and where the estimates show it (transformers and training only)."""

from __future__ import annotations

from engine.catalog import load_model
from engine.cuda_alloc import (
    allocator_constants,
    fragmentation_fraction,
    persistent_layout,
    round_block,
    segment_size,
)
from engine.inference import estimate_inference
from engine.training import estimate_training
from engine.workload import InferenceWorkload, TrainingWorkload

MIB = 2**20


def test_constants_are_torch_2_13_with_sources() -> None:
    data = allocator_constants()
    assert data["torch_version"] == "2.13.0"
    for key, value in (
        ("min_block_bytes", 512),
        ("small_size_bytes", MIB),
        ("small_buffer_bytes", 2 * MIB),
        ("large_buffer_bytes", 20 * MIB),
        ("min_large_alloc_bytes", 10 * MIB),
        ("round_large_bytes", 2 * MIB),
    ):
        assert data[key]["value"] == value
        assert data[key]["source"]
    assert "ASSUMPTION" in data["fragmentation"]["notes"]


def test_round_block_is_512_bytes() -> None:
    assert [round_block(n) for n in (0, 1, 512, 513, 4608)] == [0, 512, 512, 1024, 4608]


def test_segment_sizes_follow_get_allocation_size() -> None:
    assert segment_size(512) == segment_size(MIB) == 2 * MIB  # small pool
    assert segment_size(MIB + 512) == segment_size(10 * MIB - 512) == 20 * MIB  # 1-10 MiB
    assert segment_size(10 * MIB) == 10 * MIB
    assert segment_size(11 * MIB + 1) == 12 * MIB  # rounded up to 2 MiB


def test_layout_splits_and_keeps_unsplit_rests() -> None:
    # two 8 MiB tensors share one 20 MiB segment (the rest, 4 MiB, stays free)
    two = persistent_layout((8 * MIB, 8 * MIB), False)
    assert (two.exact, two.allocated, two.reserved) == (16 * MIB, 16 * MIB, 20 * MIB)
    # 11.5 MiB in a 12 MiB segment: 0.5 MiB is not worth a split, so it counts as allocated
    rest = persistent_layout((11 * MIB + MIB // 2,), False)
    assert (rest.allocated, rest.reserved) == (12 * MIB, 12 * MIB)
    # small tensors pack into one 2 MiB segment, each rounded to 512 B
    small = persistent_layout((1000,) * 1000, False)
    assert (small.exact, small.allocated, small.reserved) == (10**6, 1024 * 1000, 2 * MIB)


def test_expandable_segments_round_to_pages_only() -> None:
    layout = persistent_layout((8 * MIB, 8 * MIB, 1000), True)
    assert layout.allocated == 16 * MIB + 1024
    assert layout.reserved == 20 * MIB + 2 * MIB
    assert fragmentation_fraction(True) == 0.0
    assert fragmentation_fraction(False) == 0.1


def test_transformers_inference_shows_the_allocator_vllm_and_llamacpp_do_not() -> None:
    spec = load_model("llama-3.1-8b")
    est = estimate_inference(spec, InferenceWorkload(gpu="rtx-4090"))
    c = est.components
    # 32 layers × 4 MiB free in the 8 MiB K/V projections' 20 MiB segments, the rest of the
    # 2 MiB segment that holds the 65 norms (8 KiB each), and 10 % of the activations,
    # logits and KV cache
    segments = 32 * 4 * MIB + 2 * MIB - 65 * 8 * 1024
    churn = c["activations"] + c["logits"] + c["kv_cache"]
    assert c["allocator"] == segments + int(churn * 0.1)
    assert est.details["cuda_allocator"]["segment_bytes"] == segments
    assert est.details["fit"]["headroom_bytes"] == est.details["fit"]["budget_bytes"] - (
        est.per_gpu_bytes
    )
    assert any(a.startswith("allocator: +") for a in est.assumptions)
    assert "allocator" in est.to_dict()["components"]
    for runtime in ("vllm", "llamacpp"):
        other = estimate_inference(spec, InferenceWorkload(runtime=runtime, gpu="h100"))
        assert "allocator" not in other.components
        assert "allocator" not in other.to_dict()["components"]
        assert "cuda_allocator" not in other.details


def test_expandable_segments_drop_the_allowance() -> None:
    spec = load_model("llama-3.1-8b")
    off = estimate_inference(spec, InferenceWorkload(context=32768))
    on = estimate_inference(spec, InferenceWorkload(context=32768, expandable_segments=True))
    assert on.components["allocator"] < off.components["allocator"]
    assert on.details["cuda_allocator"]["fragmentation_bytes"] == 0
    assert {k: v for k, v in on.components.items() if k != "allocator"} == {
        k: v for k, v in off.components.items() if k != "allocator"
    }


def test_training_tracked_peak_excludes_the_allocator() -> None:
    spec = load_model("llama-3.2-1b")
    e = estimate_training(spec, TrainingWorkload(seq=4096, method="lora"))
    c = e.components
    alloc = e.details["cuda_allocator"]
    assert c["allocator"] == (
        alloc["block_rounding_bytes"] + alloc["segment_bytes"] + alloc["fragmentation_bytes"]
    )
    assert alloc["fragmentation_bytes"] == int((c["activations"] + c["logits"]) * 0.1)
    assert e.details["tracked_peak_bytes"] == e.per_gpu_bytes - c["overhead"] - c["allocator"]
    assert e.details["phases"][e.details["peak_phase"]] == e.details["tracked_peak_bytes"]
    on = estimate_training(
        spec, TrainingWorkload(seq=4096, method="lora", expandable_segments=True)
    )
    assert on.components["allocator"] < c["allocator"]
    assert on.details["tracked_peak_bytes"] == e.details["tracked_peak_bytes"]


def test_training_fit_verdict_counts_reserved_bytes() -> None:
    spec = load_model("llama-3.1-8b")
    e = estimate_training(spec, TrainingWorkload(method="qlora", gpu="rtx-4090"))
    fit = e.details["fit"]
    need = fit["budget_bytes"] - fit["headroom_bytes"] + fit["shortfall_bytes"]
    assert need == e.per_gpu_bytes
    assert e.components["allocator"] > 0


def test_apple_gpus_get_no_cuda_allocator() -> None:
    from engine.gpus import list_gpus

    apple = next(g.slug for g in list_gpus() if g.vendor == "apple")
    est = estimate_inference(load_model("llama-3.2-1b"), InferenceWorkload(gpu=apple))
    assert "allocator" not in est.components
