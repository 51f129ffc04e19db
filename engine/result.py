"""The result of an estimate: named byte components plus the assumptions behind them."""

from __future__ import annotations

from dataclasses import dataclass, field

# Canonical component names, in display order. Estimates may use a subset; the JSON
# schema always lists all of them (0 when absent) so scripts can rely on the keys, but
# for the optional ones below.
COMPONENT_NAMES: tuple[str, ...] = (
    "weights",
    "adapters",
    "kv_cache",
    "activations",
    "logits",
    "gradients",
    "master_weights",
    "optimizer",
    "temporaries",
    "overhead",
    "allocator",
)
# Listed in the JSON only where the estimate has them: the CUDA caching allocator's extra
# bytes exist for the PyTorch-based runtimes (transformers, training), not vLLM/llama.cpp.
OPTIONAL_COMPONENTS: frozenset[str] = frozenset({"allocator"})


@dataclass(frozen=True)
class Estimate:
    """Memory needed, in bytes.

    ``components`` are the bytes on the most-loaded GPU (their sum is ``per_gpu_bytes``);
    ``gpu_bytes`` lists every GPU (length = number of GPUs); ``host_bytes`` is CPU RAM
    used by offloading. ``reserved_bytes`` is what the runtime pre-allocates beyond the
    need (vLLM's gpu_memory_utilization), reported separately, never added to the need.
    """

    mode: str  # "inference" | "training"
    components: dict[str, int]
    gpu_bytes: tuple[int, ...]
    assumptions: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()
    host_bytes: int = 0
    reserved_bytes: int | None = None
    details: dict[str, object] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for name, value in self.components.items():
            if name not in COMPONENT_NAMES:
                raise ValueError(f"unknown component {name!r}")
            if not isinstance(value, int) or value < 0:
                raise ValueError(f"component {name} must be a non-negative int, got {value!r}")

    @property
    def per_gpu_bytes(self) -> int:
        return sum(self.components.values())

    @property
    def total_bytes(self) -> int:
        return sum(self.gpu_bytes)

    @property
    def num_gpus(self) -> int:
        return len(self.gpu_bytes)

    def to_dict(self) -> dict[str, object]:
        """JSON-ready dict, schema 1 (documented in engine/api.py)."""
        return {
            "mode": self.mode,
            "total_bytes": self.total_bytes,
            "per_gpu_bytes": self.per_gpu_bytes,
            "gpu_bytes": list(self.gpu_bytes),
            "host_bytes": self.host_bytes,
            "reserved_bytes": self.reserved_bytes,
            "components": {
                name: self.components.get(name, 0)
                for name in COMPONENT_NAMES
                if name in self.components or name not in OPTIONAL_COMPONENTS
            },
            "assumptions": list(self.assumptions),
            "warnings": list(self.warnings),
            "details": self.details,
        }
