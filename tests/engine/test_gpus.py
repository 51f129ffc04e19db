"""The GPU catalog: coverage, usable-memory figures with their sources, lookup and aliases."""

from __future__ import annotations

import re

import pytest

from engine.errors import UnknownGpu
from engine.gpus import GpuSpec, get_gpu, list_gpus
from engine.units import GIB


def test_catalog_covers_every_family() -> None:
    gpus = list_gpus()
    assert len(gpus) >= 45
    slugs = {g.slug for g in gpus}
    assert len(slugs) == len(gpus)
    for needed in (
        "rtx-3060-12gb",
        "rtx-3090",
        "rtx-4090",
        "rtx-5090",
        "rtx-a6000",
        "rtx-6000-ada",
        "l40s",
        "t4",
        "l4",
        "a100-40gb",
        "a100-80gb",
        "h100-pcie-80gb",
        "h100-sxm-80gb",
        "h200-141gb",
        "b200",
        "mi300x",
        "rx-7900-xtx",
        "m2-ultra-192gb",
        "m3-ultra-512gb",
        # issue 11: current and still-common devices
        "rtx-5060-ti-16gb",
        "rtx-5070",
        "rtx-5070-ti",
        "rtx-5080",
        "rtx-pro-6000-blackwell",
        "dgx-spark",
        "ryzen-ai-max-395",
        "mi355x",
        "arc-b580",
        "arc-pro-b60",
        "m4-pro-64gb",
        "m5-max-128gb",
        "h20",
        "l20",
        "v100-16gb",
        "v100-32gb",
        "p100",
        "rtx-3080-10gb",
        "rtx-3080-12gb",
        "rtx-3070",
        "rtx-2080-ti",
        "rtx-4060",
        "rtx-4060-ti-8gb",
    ):
        assert needed in slugs
    assert {g.vendor for g in gpus} == {"nvidia", "amd", "intel", "apple"}
    assert [g.slug for g in gpus] == sorted(slugs)


@pytest.mark.parametrize("gpu", list_gpus(), ids=lambda g: g.slug)
def test_every_row_is_sourced_and_sane(gpu: GpuSpec) -> None:
    # unified memory can default to under half (Strix Halo's GTT cap); discrete cards keep > 90 %
    floor = 0.4 if gpu.vendor == "apple" or "unified" in gpu.usable_source else 0.9
    assert floor * gpu.memory_bytes < gpu.usable_bytes <= gpu.memory_bytes
    assert gpu.usable_basis in ("reported", "estimate", "wired-limit")
    assert gpu.usable_source and gpu.spec_source.startswith("https://")
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", gpu.checked)
    assert gpu.bandwidth_bytes_per_s > 10**11
    assert gpu.tflops_16bit > 0 and gpu.tdp_w > 0
    if gpu.fp8_tflops is not None:
        assert gpu.fp8_tflops >= gpu.tflops_16bit  # fp8 runs at twice the 16-bit rate
    if gpu.fp4_tflops is not None:
        assert gpu.fp4_tflops >= (gpu.fp8_tflops or gpu.tflops_16bit)
    assert (gpu.compute_capability is not None) == (gpu.vendor == "nvidia")
    if gpu.usable_basis == "estimate" and not gpu.usable_source.startswith("estimate"):
        pytest.fail(f"{gpu.slug}: an estimated usable figure says so in its source")
    if gpu.price_usd is not None:
        assert gpu.price_kind in ("msrp", "street") and gpu.price_date and gpu.price_source
    else:
        assert gpu.price_kind == "none" and gpu.price_source
    assert set(gpu.to_dict()) >= {"slug", "usable_bytes", "price_usd", "spec_source"}


def test_usable_memory_matches_reported_figures() -> None:
    # vLLM PR #10511 memory profile on H100 80GB: "total_gpu_memory 79.22GiB"
    assert get_gpu("h100-sxm-80gb").usable_bytes == pytest.approx(79.22 * GIB, abs=0.005 * GIB)
    # PyTorch OOM message on an RTX 4090: "GPU 0 has a total capacity of 23.64 GiB"
    assert get_gpu("rtx-4090").usable_bytes == pytest.approx(23.64 * GIB, abs=0.005 * GIB)
    # Apple: the default wired limit is 75 % of RAM above 36 GB; a 128 GB Mac logs
    # recommendedMaxWorkingSetSize = 103079.22 MB (= 96 GiB) in ggml_metal_init.
    assert get_gpu("m3-max-128gb").usable_bytes == 96 * GIB
    assert get_gpu("m2-ultra-192gb").usable_bytes == 144 * GIB
    # PyTorch OOM messages: RTX 3070 7.78 GiB, RTX 3080 10GB 9.78 GiB, V100 32GB 31.74 GiB
    assert get_gpu("rtx-3070").usable_bytes == pytest.approx(7.78 * GIB, abs=0.005 * GIB)
    assert get_gpu("rtx-3080-10gb").usable_bytes == pytest.approx(9.78 * GIB, abs=0.005 * GIB)
    assert get_gpu("v100-32gb").usable_bytes == pytest.approx(31.74 * GIB, abs=0.005 * GIB)


def test_unified_memory_devices_use_the_default_share() -> None:
    """Unified memory: usable is what the runtime allocates by default, not all of RAM, and
    the row says how to raise it."""
    # Apple: 75 % of RAM above 36 GB (recommendedMaxWorkingSetSize)
    for slug, ram in (("m4-pro-64gb", 64), ("m3-ultra-256gb", 256), ("m5-max-128gb", 128)):
        gpu = get_gpu(slug)
        assert gpu.memory_bytes == ram * GIB and gpu.usable_bytes == ram * GIB * 3 // 4
        assert "iogpu.wired_limit_mb" in gpu.usable_source
    # DGX Spark: CUDA reports 121.69 GiB of the 128 GB, which the OS shares
    spark = get_gpu("dgx-spark")
    assert spark.usable_bytes == pytest.approx(121.69 * GIB, abs=0.005 * GIB)
    assert "drop_caches" in spark.usable_source and spark.compute_capability == "12.1"
    # Strix Halo: the kernel's default GTT cap is half of RAM; raised with the TTM limit
    strix = get_gpu("strix halo")
    assert strix.slug == "ryzen-ai-max-395" and strix.usable_bytes <= strix.memory_bytes // 2
    assert "ttm.pages_limit" in strix.usable_source and "BIOS" in strix.usable_source


def test_an_apu_is_never_ganged_but_dgx_spark_is() -> None:
    """Ryzen AI Max's GPU has no link to a second box's: the ranking offers one, like a Mac;
    DGX Sparks pair over ConnectX-7."""
    from engine.rank import single_only

    assert single_only(get_gpu("ryzen-ai-max-395")) and not get_gpu("ryzen-ai-max-395").multi_gpu
    assert single_only(get_gpu("m4-max-128gb"))
    assert not single_only(get_gpu("dgx-spark")) and not single_only(get_gpu("rtx-5090"))


@pytest.mark.parametrize(
    ("name", "slug"),
    [
        ("h100", "h100-sxm-80gb"),
        ("H100 SXM 80GB", "h100-sxm-80gb"),
        ("4090", "rtx-4090"),
        ("NVIDIA GeForce RTX 4090", "rtx-4090"),
        ("rtx-4090", "rtx-4090"),
        ("A100", "a100-80gb"),
        ("mi300x", "mi300x"),
        ("M2 Ultra", "m2-ultra-192gb"),
        ("NVIDIA GeForce RTX 5080", "rtx-5080"),
        ("5060 Ti", "rtx-5060-ti-16gb"),
        ("RTX PRO 6000", "rtx-pro-6000-blackwell"),
        ("GB10", "dgx-spark"),
        ("Intel Arc B580", "arc-b580"),
        ("AMD Radeon 8060S", "ryzen-ai-max-395"),
        ("3080", "rtx-3080-10gb"),
        ("4060 Ti", "rtx-4060-ti-16gb"),
    ],
)
def test_aliases(name: str, slug: str) -> None:
    assert get_gpu(name).slug == slug


def test_unknown_gpu_suggests_close_matches() -> None:
    with pytest.raises(UnknownGpu) as err:
        get_gpu("h100-sxm-80")
    assert "h100-sxm-80gb" in err.value.message
    assert err.value.field == "gpu"
    with pytest.raises(UnknownGpu):
        get_gpu("")
