"""PyTorch's CUDA caching allocator: what it reserves beyond the tensors' own bytes.

transformers (inference) and every training job allocate through
``c10/cuda/CUDACachingAllocator.cpp`` (constants and sources: ``engine/data/
cuda_allocator.json``, torch 2.13.0). Two figures differ from the exact tensor bytes the
estimate counts (and that MemTracker on CPU, ``reference/training.json``, measures):

* allocated (``torch.cuda.max_memory_allocated``): every block is rounded up to 512 B,
  and a large-pool block whose segment leaves no more than 1 MiB over is not split, so
  that rest counts as allocated too;
* reserved (``torch.cuda.memory_reserved``, what nvidia-smi shows and what runs out):
  whole segments (2 MiB for requests up to 1 MiB, 20 MiB for 1-10 MiB, larger ones
  rounded up to 2 MiB), plus a fragmentation allowance on the sequence-shaped bytes freed
  and allocated again every step (an assumption, see the JSON; none with expandable
  segments, whose segment grows in 2 MiB / 20 MiB pages).

The weights are simulated tensor by tensor (best fit in the small or large pool, as
``malloc`` → ``get_free_block`` → ``alloc_block`` → ``alloc_found_block`` does), loaded
once and never freed; activations and logits (and transformers' DynamicCache) get the
allowance. Optimizer states, master weights and adapters are counted at their exact bytes
(parameter-shaped tensors, mostly multiples of 512 B; not simulated). vLLM's KV pool and llama.cpp
do not use this allocator's rounding here (their runtimes size their own pools).
"""

from __future__ import annotations

import bisect
import json
from dataclasses import dataclass
from importlib import resources
from typing import Any

from .gpus import GpuSpec
from .memo import cached
from .messages import msg
from .units import ceil_div, format_gib


def applies_to(gpu: GpuSpec | None) -> bool:
    """PyTorch runs this allocator on CUDA and ROCm devices (and on an unnamed GPU, taken as
    CUDA); on Apple GPUs it uses the MPS allocator, which is not modelled."""
    return gpu is None or gpu.vendor != "apple"


@cached
def allocator_constants() -> dict[str, Any]:
    """Return the parsed ``cuda_allocator.json`` (cached; treat as read-only)."""
    text = resources.files("engine").joinpath("data/cuda_allocator.json").read_text("utf-8")
    return json.loads(text)


def _c(name: str) -> int:
    return int(allocator_constants()[name]["value"])


def round_block(nbytes: int) -> int:
    """``round_size``: a request's block, at least 512 B and a multiple of 512 B (0 B
    tensors do not reach the allocator)."""
    if nbytes <= 0:
        return 0
    step = _c("min_block_bytes")
    return max(step, ceil_div(nbytes, step) * step)


def segment_size(block: int) -> int:
    """``get_allocation_size``: the cudaMalloc'd segment for a block that finds no free one."""
    if block <= _c("small_size_bytes"):
        return _c("small_buffer_bytes")
    if block < _c("min_large_alloc_bytes"):
        return _c("large_buffer_bytes")
    step = _c("round_large_bytes")
    return ceil_div(block, step) * step


def fragmentation_fraction(expandable_segments: bool) -> float:
    """The stated fragmentation allowance (a fraction of the re-allocated bytes)."""
    row = allocator_constants()["fragmentation"]
    return float(row["expandable_segments_value"] if expandable_segments else row["value"])


@dataclass(frozen=True)
class Layout:
    """Persistent tensors as the allocator holds them: exact, allocated and reserved bytes."""

    exact: int
    allocated: int  # sum of the blocks (max_memory_allocated counts these)
    reserved: int  # sum of the segments


@cached
def persistent_layout(sizes: tuple[int, ...], expandable_segments: bool) -> Layout:
    """Simulate allocating ``sizes`` (bytes, in order, never freed) on a fresh allocator.

    Default segments: best fit among the free blocks of the request's pool, else a new
    segment (``segment_size``); a small-pool block is split when at least 512 B remain, a
    large-pool one when more than 1 MiB remains (``should_split``, max_split_size
    unlimited by default). Expandable segments: one segment per pool that grows in pages
    (2 MiB small, 20 MiB large) and splits any rest of 512 B or more.
    """
    small_limit = _c("small_size_bytes")
    min_block = _c("min_block_bytes")
    exact = sum(sizes)
    blocks = [round_block(s) for s in sizes if s > 0]
    if expandable_segments:
        small = sum(b for b in blocks if b <= small_limit)
        large = sum(b for b in blocks if b > small_limit)
        pages = ceil_div(small, _c("small_buffer_bytes")) * _c("small_buffer_bytes")
        pages += ceil_div(large, _c("large_buffer_bytes")) * _c("large_buffer_bytes")
        return Layout(exact, small + large, pages)
    free: dict[bool, list[int]] = {True: [], False: []}  # sorted free block sizes per pool
    allocated = reserved = 0
    for block in blocks:
        is_small = block <= small_limit
        pool = free[is_small]
        i = bisect.bisect_left(pool, block)
        if i < len(pool):
            found = pool.pop(i)
        else:
            found = segment_size(block)
            reserved += found
        rest = found - block
        split = rest >= min_block if is_small else rest > small_limit
        if split:
            bisect.insort(pool, rest)
            allocated += block
        else:
            allocated += found
    return Layout(exact, allocated, reserved)


@dataclass(frozen=True)
class AllocatorBytes:
    """What the caching allocator adds on one GPU beyond the exact tensor bytes."""

    rounding: int  # allocated - exact (512 B blocks, unsplit rests of the weights)
    segments: int  # reserved - allocated of the persistent tensors (free ends of segments)
    fragmentation: int  # the allowance on the re-allocated bytes
    fraction: float
    expandable_segments: bool
    kv_cache: bool = False  # the KV cache is among the re-allocated bytes (generate())

    @property
    def total(self) -> int:
        return self.rounding + self.segments + self.fragmentation

    def details(self) -> dict[str, object]:
        return {
            "block_rounding_bytes": self.rounding,
            "segment_bytes": self.segments,
            "fragmentation_bytes": self.fragmentation,
            "fragmentation_fraction": self.fraction,
            "expandable_segments": self.expandable_segments,
            "torch_version": allocator_constants()["torch_version"],
        }

    def note(self) -> str:
        """The assumption line shown with the estimate."""
        version = allocator_constants()["torch_version"]
        if self.expandable_segments:
            return msg(
                "allocator: +{total} reserved beyond the tensors (PyTorch {version} "
                "CUDACachingAllocator, expandable_segments:True: 512 B blocks {rounding}, "
                "the segments' last 2/20 MiB pages {segments}, no fragmentation allowance)",
                total=format_gib(self.total),
                version=version,
                rounding=format_gib(self.rounding),
                segments=format_gib(self.segments),
            )
        return msg(
            "allocator: +{total} reserved beyond the tensors (PyTorch {version} "
            "CUDACachingAllocator: 512 B blocks and unsplit segment rests {rounding}, free "
            "ends of the weights' 2/20 MiB segments {segments}, an assumed fragmentation "
            "allowance of {percent} of the {what} re-allocated every step {fragmentation}; "
            "expandable_segments:True drops it)",
            total=format_gib(self.total),
            version=version,
            rounding=format_gib(self.rounding),
            segments=format_gib(self.segments),
            percent=f"{self.fraction * 100:g}%",
            fragmentation=format_gib(self.fragmentation),
            what=msg("activations, logits and KV cache (DynamicCache grows by torch.cat)")
            if self.kv_cache
            else msg("activations and logits"),
        )


def allocator_bytes(
    persistent_sizes: tuple[int, ...],
    churn_bytes: int,
    expandable_segments: bool,
    *,
    kv_cache: bool = False,
) -> AllocatorBytes:
    """Return the allocator's extra bytes for persistent tensors of ``persistent_sizes``
    (simulated) and ``churn_bytes`` freed and allocated again every step (``kv_cache``:
    they include a KV cache)."""
    layout = persistent_layout(persistent_sizes, expandable_segments)
    fraction = fragmentation_fraction(expandable_segments)
    return AllocatorBytes(
        rounding=layout.allocated - layout.exact,
        segments=layout.reserved - layout.allocated,
        fragmentation=int(churn_bytes * fraction),
        fraction=fraction,
        expandable_segments=expandable_segments,
        kv_cache=kv_cache,
    )
