"""The fit verdict: does the need on each GPU fit the budget the runtime may fill?

One rule for every caller (estimates' ``details.fit``, the ``fit`` op, solvers, rankings):

* **Budget** (``budget_bytes``): a GPU's ``usable_bytes`` (what the runtime sees as total
  memory); for vLLM ``ceil(gpu_memory_utilization × usable_bytes)`` with the utilisation
  vLLM resolves (``engine.vllm_release``), because vLLM refuses to start when weights,
  activations and the KV cache it needs exceed that fraction (worker profiling:
  ``requested_memory = ceil(gpu_memory_utilization × total memory)``).
* **Verdict** (``fit_verdict``): fits when every GPU's need is at most the budget (exactly
  full still fits); headroom ``budget − need`` and shortfall ``need − budget`` per GPU,
  never negative.

``FitVerdict.details()`` is the ``details["fit"]`` block of an estimate (the most-loaded
GPU); ``FitVerdict.to_dict()`` lists every GPU (the ``fit`` op's ``gpu`` block).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # annotations only: the runtimes import this module, keep it a leaf
    from .gpus import GpuSpec
    from .result import Estimate
    from .workload import InferenceWorkload


def budget_bytes(gpu: GpuSpec, work: InferenceWorkload | None = None) -> int:
    """Return the bytes per GPU the runtime may fill (vLLM: its utilisation fraction)."""
    if work is not None and work.runtime == "vllm":
        from .vllm_release import requested_bytes  # a leaf too

        return requested_bytes(gpu, work)
    return gpu.usable_bytes


@dataclass(frozen=True)
class FitVerdict:
    """Whether the need on ``num_gpus`` GPUs of one kind fits its budget, and by how much.

    ``need_bytes``, ``headroom_bytes`` and ``shortfall_bytes`` list every GPU (a GPU has
    headroom or a shortfall, never both).
    """

    gpu: str  # slug
    gpu_name: str
    fits: bool
    num_gpus: int
    usable_bytes: int  # per GPU, as the runtime sees it
    budget_bytes: int  # per GPU: usable, or gpu_memory_utilization × usable for vLLM
    need_bytes: tuple[int, ...]
    headroom_bytes: tuple[int, ...]
    shortfall_bytes: tuple[int, ...]

    @property
    def max_need_bytes(self) -> int:
        return max(self.need_bytes)

    @property
    def min_headroom_bytes(self) -> int:
        return min(self.headroom_bytes)

    @property
    def max_shortfall_bytes(self) -> int:
        return max(self.shortfall_bytes)

    def to_dict(self) -> dict[str, Any]:
        """Every GPU: the ``fit`` op's chosen-GPU block."""
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

    def details(self) -> dict[str, object]:
        """The most-loaded GPU: an estimate's ``details["fit"]`` block."""
        return {
            "gpu": self.gpu,
            "gpu_name": self.gpu_name,
            "usable_bytes": self.usable_bytes,
            "budget_bytes": self.budget_bytes,
            "fits": self.fits,
            "headroom_bytes": self.min_headroom_bytes,
            "shortfall_bytes": self.max_shortfall_bytes,
        }


def fit_verdict(
    gpu: GpuSpec, need_bytes: Sequence[int], *, budget_bytes: int | None = None
) -> FitVerdict:
    """Judge the need on each GPU (``need_bytes``, one per GPU) against ``budget_bytes``
    (default: the GPU's usable bytes; pass ``budget_bytes(gpu, work)`` for a workload)."""
    need = tuple(int(b) for b in need_bytes)
    if not need:
        raise ValueError("fit_verdict needs the bytes of at least one GPU")
    limit = gpu.usable_bytes if budget_bytes is None else int(budget_bytes)
    return FitVerdict(
        gpu=gpu.slug,
        gpu_name=gpu.name,
        fits=all(b <= limit for b in need),
        num_gpus=len(need),
        usable_bytes=gpu.usable_bytes,
        budget_bytes=limit,
        need_bytes=need,
        headroom_bytes=tuple(max(0, limit - b) for b in need),
        shortfall_bytes=tuple(max(0, b - limit) for b in need),
    )


def fits(estimate: Estimate, gpu: GpuSpec, *, budget: int | None = None) -> FitVerdict:
    """Judge an estimate's need on each of its GPUs (``budget``: default usable bytes)."""
    need = estimate.gpu_bytes or (estimate.per_gpu_bytes,)
    return fit_verdict(gpu, need, budget_bytes=budget)


def fit_details(gpu: GpuSpec, need_bytes: int, budget_bytes: int) -> dict[str, object]:
    """The ``details["fit"]`` block of an estimate: the need on the most-loaded GPU vs the
    budget (``FitVerdict.details``)."""
    return fit_verdict(gpu, (need_bytes,), budget_bytes=budget_bytes).details()
