"""The GPU catalog: memory the runtime can use, bandwidth, compute, power and price.

Rows live in ``engine/data/gpus.json``, each with its spec source, the source of its usable
memory figure and a dated price. ``memory_bytes`` is the marketing capacity ("80 GB");
``usable_bytes`` is what a runtime can allocate: the CUDA total that
``torch.cuda.mem_get_info()`` reports (an "80 GB" H100 shows 79.22 GiB), or, on Apple
Silicon, the default GPU wired limit (``recommendedMaxWorkingSetSize``), not all of RAM.
Other unified-memory devices follow what their runtime allocates by default: the CUDA total
on DGX Spark (the OS shares it), the kernel's default GTT cap on Strix Halo (half of RAM);
each row's ``usable_source`` says how to raise it.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from importlib import resources

from .errors import UnknownGpu, suggest
from .memo import cached
from .messages import msg


@dataclass(frozen=True)
class GpuSpec:
    slug: str
    name: str
    vendor: str  # "nvidia" | "amd" | "intel" | "apple"
    kind: str  # "consumer" | "workstation" | "datacenter" | "apple"
    compute_capability: str | None  # CUDA "major.minor" (NVIDIA only): picks cuBLAS workspace
    memory_bytes: int  # physical capacity: the marketed "80 GB" is 80 GiB of HBM/GDDR
    memory_label: str  # as marketed: "80 GB"
    usable_bytes: int  # what the runtime can allocate
    usable_basis: str  # "reported" (cited log) | "estimate" | "wired-limit" (Apple)
    usable_source: str
    bandwidth_bytes_per_s: int
    bf16_tflops: float | None  # dense; None where the chip has no bf16 (T4)
    fp16_tflops: float
    fp8_tflops: float | None  # dense; None where the chip has no fp8 tensor cores
    tdp_w: int
    price_usd: int | None
    price_kind: str  # "msrp" | "street" | "none"
    price_date: str | None
    price_source: str
    spec_source: str
    checked: str
    aliases: tuple[str, ...] = ()
    notes: str = ""
    fp4_tflops: float | None = None  # dense FP4 (NVFP4/MXFP4) where the chip has FP4 tensor cores
    multi_gpu: bool = True  # False: no link to gang several (an APU's GPU, Ryzen AI Max)

    @property
    def tflops_16bit(self) -> float:
        """Dense 16-bit tensor TFLOPS the chip runs LLMs at (bf16, or fp16 where bf16 is absent)."""
        return self.bf16_tflops if self.bf16_tflops is not None else self.fp16_tflops

    def to_dict(self) -> dict[str, object]:
        return {
            "slug": self.slug,
            "name": self.name,
            "vendor": self.vendor,
            "kind": self.kind,
            "compute_capability": self.compute_capability,
            "memory_bytes": self.memory_bytes,
            "memory_label": self.memory_label,
            "usable_bytes": self.usable_bytes,
            "usable_basis": self.usable_basis,
            "usable_source": self.usable_source,
            "bandwidth_bytes_per_s": self.bandwidth_bytes_per_s,
            "bf16_tflops": self.bf16_tflops,
            "fp16_tflops": self.fp16_tflops,
            "fp8_tflops": self.fp8_tflops,
            "fp4_tflops": self.fp4_tflops,
            "tdp_w": self.tdp_w,
            "price_usd": self.price_usd,
            "price_kind": self.price_kind,
            "price_date": self.price_date,
            "price_source": self.price_source,
            "spec_source": self.spec_source,
            "checked": self.checked,
            "aliases": list(self.aliases),
            "notes": self.notes,
            "multi_gpu": self.multi_gpu,
        }


def _norm(name: str) -> str:
    """Lower-case and drop spaces, dashes and vendor prefixes: 'NVIDIA H100-SXM' -> 'h100sxm'."""
    key = re.sub(r"[\s_\-]+", "", name.strip().lower())
    for prefix in ("nvidia", "geforce", "amd", "radeon", "instinct", "apple"):
        if key.startswith(prefix) and len(key) > len(prefix):
            key = key[len(prefix) :]
    return key


@cached
def list_gpus() -> tuple[GpuSpec, ...]:
    """Return every GPU in the catalog, sorted by slug."""
    raw = json.loads(resources.files("engine").joinpath("data/gpus.json").read_text("utf-8"))
    gpus = []
    for row in raw["gpus"]:
        fields = dict(row)
        fields["aliases"] = tuple(fields.get("aliases", ()))
        gpus.append(GpuSpec(**fields))
    return tuple(sorted(gpus, key=lambda g: g.slug))


@cached
def _index() -> dict[str, GpuSpec]:
    index: dict[str, GpuSpec] = {}
    for gpu in list_gpus():
        index[gpu.slug] = gpu
    for gpu in list_gpus():  # aliases and normalized names never shadow a real slug
        for key in (_norm(gpu.slug), _norm(gpu.name), *(_norm(a) for a in gpu.aliases)):
            index.setdefault(key, gpu)
    return index


def get_gpu(slug: str) -> GpuSpec:
    """Return the GPU with this slug or a common alias ("4090", "h100", "RTX 4090")."""
    if not isinstance(slug, str) or not slug.strip():
        raise UnknownGpu(
            msg("GPU name must be a non-empty string, got {value!r}", value=slug), field="gpu"
        )
    index = _index()
    gpu = index.get(slug.strip().lower()) or index.get(_norm(slug))
    if gpu is None:
        slugs = [g.slug for g in list_gpus()]
        raise UnknownGpu(
            msg(
                "unknown GPU {name!r}; `vram gpus` lists the {count} known ones.{hint}",
                name=slug,
                count=len(slugs),
                hint=suggest(slug, slugs),
            ),
            field="gpu",
        )
    return gpu
