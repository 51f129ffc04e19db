"""safetensors headers → every tensor's dtype and shape → exact stored bytes and
parameters.

A ``.safetensors`` file starts with an unsigned little-endian 64-bit header length N and
N bytes of JSON ``{name: {"dtype", "shape", "data_offsets"}, "__metadata__": {...}}``
(huggingface/safetensors ``docs/source/index.mdx``, "Format"). Only those 8 + N bytes are
read, never a tensor. Stored bytes are ``numel × bits(dtype) / 8`` summed over tensors,
whatever the scheme (FP8 with BF16 modules kept, AWQ/GPTQ packed int32 with scales and
zeros, MXFP4 blocks and scales, bitsandbytes): the checkpoint is counted as it is stored.
Parameters undo the packing (``_unpacked``) and leave out quantization metadata.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from math import prod
from typing import Any

from ..messages import msg
from .errors import HubBadFile

# Refuse a header over this size: the largest real shard headers (DeepSeek-V3, 163 shards
# of ~1,000 tensors) are under 200 KB; the safetensors library itself allows 100 MB.
MAX_HEADER_BYTES = 8 * 1024 * 1024
MAX_TENSORS = 1_000_000

# bits per element of each safetensors dtype (safetensors ``Dtype``, src/tensor.rs)
DTYPE_BITS: dict[str, int] = {
    "BOOL": 8,
    "U8": 8,
    "I8": 8,
    "F8_E4M3": 8,
    "F8_E5M2": 8,
    "F8_E8M0": 8,
    "I16": 16,
    "U16": 16,
    "F16": 16,
    "BF16": 16,
    "I32": 32,
    "U32": 32,
    "F32": 32,
    "I64": 64,
    "U64": 64,
    "F64": 64,
    "F4": 4,
    "F6_E2M3": 6,
    "F6_E3M2": 6,
}

# tensors that hold quantization metadata, not parameters (suffixes of the tensor name)
_META_SUFFIXES = (
    "weight_scale_inv",
    "weight_scale",
    "input_scale",
    "output_scale",
    "k_scale",
    "v_scale",
    ".scales",
    ".qzeros",
    ".g_idx",
    ".SCB",
    ".absmax",
    ".quant_map",
    ".nested_absmax",
    ".nested_quant_map",
    "weight_format",
    "_scales",
    ".weight_scale_2",
    ".input_global_scale",
    # compressed-tensors (engine.compressed_tensors): original shape, zero points, globals
    ".weight_shape",
    ".weight_zero_point",
    ".weight_global_scale",
    ".weight_g_idx",
)


@dataclass(frozen=True)
class StoredTensor:
    """One tensor as stored: ``nbytes`` from dtype and shape, ``params`` unpacked."""

    name: str
    dtype: str
    shape: tuple[int, ...]
    nbytes: int
    params: int


@dataclass(frozen=True)
class StoredWeights:
    """Every tensor of a checkpoint, summed: bytes and parameters per dtype."""

    weights_bytes: int
    parameters: int
    tensors: int
    by_dtype: dict[str, dict[str, int]] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "weights_bytes": self.weights_bytes,
            "parameters": self.parameters,
            "tensors": self.tensors,
            "by_dtype": self.by_dtype,
        }


def header_length(first: bytes, *, file: str = "") -> int:
    """Return N from a file's first 8 bytes; refuse a header over ``MAX_HEADER_BYTES``."""
    if len(first) < 8:
        raise HubBadFile(
            msg("{file} is not a safetensors file: it is shorter than 8 bytes", file=file)
        )
    n = int.from_bytes(first[:8], "little")
    if n > MAX_HEADER_BYTES:
        raise HubBadFile(
            msg(
                "the safetensors header of {file} says it is {size:,} bytes; the limit is "
                "{limit:,} bytes, so it is not read",
                file=file,
                size=n,
                limit=MAX_HEADER_BYTES,
            )
        )
    if n < 2:
        raise HubBadFile(msg("{file} has an empty safetensors header", file=file))
    return n


def parse_header(data: bytes, *, file: str = "") -> dict[str, tuple[str, tuple[int, ...]]]:
    """Return {tensor name: (dtype, shape)} from the N header bytes (after the 8)."""

    def bad(why: str) -> HubBadFile:
        return HubBadFile(
            msg("the safetensors header of {file} is malformed: {why}", file=file, why=why)
        )

    try:
        raw = json.loads(data.decode("utf-8").rstrip(" "))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise bad(str(exc)) from None
    if not isinstance(raw, dict):
        raise bad("not a JSON object")
    if len(raw) > MAX_TENSORS:
        raise bad(f"{len(raw):,} entries")
    out: dict[str, tuple[str, tuple[int, ...]]] = {}
    for name, info in raw.items():
        if name == "__metadata__":
            continue
        if not isinstance(info, dict):
            raise bad(f"tensor {name!r} is not an object")
        dtype, shape = info.get("dtype"), info.get("shape")
        if dtype not in DTYPE_BITS:
            raise bad(f"tensor {name!r} has unknown dtype {dtype!r}")
        if not isinstance(shape, list) or len(shape) > 8:
            raise bad(f"tensor {name!r} has no valid shape")
        if not all(
            isinstance(d, int) and not isinstance(d, bool) and 0 <= d < 2**40 for d in shape
        ):
            raise bad(f"tensor {name!r} has a dimension that is not a size")
        out[name] = (dtype, tuple(shape))
    return out


def _unpacked(name: str, dtype: str, numel: int, quant: dict[str, Any]) -> int:
    """Parameters a stored tensor holds: packed integers unpacked, metadata left out."""
    if name.endswith(_META_SUFFIXES) or ".quant_state." in name:
        return 0
    method = str(quant.get("quant_method", "")).lower()
    if name.endswith("_blocks") and dtype == "U8":  # MXFP4: two 4-bit values per byte
        return numel * 2
    if name.endswith(".qweight") and dtype in ("I32", "U32"):  # AWQ/GPTQ packed
        bits = quant.get("bits") or quant.get("w_bit") or 4
        return numel * (32 // int(bits))
    if name.endswith(".weight_packed"):  # compressed-tensors: int32 codes or FP4 pairs
        if dtype in ("I32", "U32"):
            from ..compressed_tensors import packed_bits

            return numel * 32 // packed_bits(quant, name.removesuffix(".weight_packed"))
        return numel * 2
    if dtype == "U8" and method == "bitsandbytes" and quant.get("load_in_4bit"):
        return numel * 2  # bnb 4-bit: two NF4/FP4 values per byte
    if dtype == "F4":
        return numel
    return numel


def stored_tensors(
    header: dict[str, tuple[str, tuple[int, ...]]], quant: dict[str, Any] | None = None
) -> list[StoredTensor]:
    """Each tensor's stored bytes and parameters (``quant``: the config's
    ``quantization_config``, which says the bit width of packed integers)."""
    q = quant or {}
    out = []
    for name, (dtype, shape) in header.items():
        numel = prod(shape)
        nbytes = (numel * DTYPE_BITS[dtype] + 7) // 8
        out.append(StoredTensor(name, dtype, shape, nbytes, _unpacked(name, dtype, numel, q)))
    return out


def summarize(tensors: list[StoredTensor]) -> StoredWeights:
    """Sum bytes and parameters over all tensors, and per dtype."""
    by: dict[str, dict[str, int]] = {}
    for t in tensors:
        row = by.setdefault(t.dtype, {"tensors": 0, "bytes": 0, "parameters": 0})
        row["tensors"] += 1
        row["bytes"] += t.nbytes
        row["parameters"] += t.params
    return StoredWeights(
        weights_bytes=sum(t.nbytes for t in tensors),
        parameters=sum(t.params for t in tensors),
        tensors=len(tensors),
        by_dtype=dict(sorted(by.items())),
    )
