"""The weight formats a user can pick (``--weights``): the catalog, its ids and aliases.

Every format is a row in ``data/quant_formats.json`` with its source: the non-GGUF schemes
(``schemes``), the GPTQ/AWQ bits x group grid (``gptq_awq``) and llama-quantize's file
types (``gguf_file_types``). A format's nominal bits per weight is derived from its block
layout (``Σ part bits / block``), never typed in. How each format stores each tensor is
``schemes.py`` (non-GGUF) and ``gguf.py`` (GGUF); ``quant.py`` picks between them.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from fractions import Fraction
from typing import Any, Literal

from . import compressed_tensors as ct
from .errors import UnknownQuantFormat, suggest
from .ggml import GgmlType, get_ggml_type
from .llama_quant import LlamaFtype
from .memo import cached
from .messages import msg
from .model import Tensor
from .quant_data import rows

Family = Literal["float", "bnb", "gptq", "awq", "gguf", "fp8", "mxfp4", "compressed-tensors"]


@dataclass(frozen=True)
class QuantFormat:
    """A weight format the user can pick (``--weights``)."""

    id: str
    label: str
    family: Family
    bits_per_weight: Fraction  # nominal, derived from the block layout
    runtimes: tuple[str, ...]
    source: str
    notes: str = ""
    block_size: int = 1  # weights per layout block
    layout: tuple[tuple[str, int], ...] = ()  # (part, bits per block)


@dataclass(frozen=True)
class QuantizedTensor:
    """A spec tensor as stored by the runtime: storage type and exact bytes (all experts)."""

    tensor: Tensor
    storage: str
    nbytes: int


@dataclass(frozen=True)
class GgufFileType:
    """A llama-quantize file type ("mix"): its ``llama_ftype`` and default ggml type
    (``llama_ftype_get_default_type``)."""

    id: str
    name: str
    ftype: LlamaFtype
    default_type: GgmlType
    imatrix: bool  # llama-quantize requires an importance matrix (assumed used then)


@cached
def gguf_file_types() -> dict[str, GgufFileType]:
    """Return the llama-quantize file types keyed by format id ("q4_k_m")."""
    return {
        row["id"]: GgufFileType(
            id=row["id"],
            name=row["name"],
            ftype=LlamaFtype(row["ftype"]),
            default_type=GgmlType[row["default_type"]],
            imatrix=bool(row.get("imatrix", False)),
        )
        for row in rows("gguf_file_types")
    }


# the float formats and the GGUF file types that store them
FLOAT_TO_GGUF = {"fp32": "f32", "fp16": "f16", "bf16": "bf16"}


@cached
def scheme_rows() -> dict[str, dict[str, Any]]:
    """Return every listed non-GGUF format's data row keyed by format id."""
    table: dict[str, dict[str, Any]] = {}
    for row in rows("schemes"):
        table[row["id"]] = row
    for row in rows("gptq_awq"):
        for bits in row["bits"]:
            for group in row["group_sizes"]:
                fid = f"{row['method']}-{bits}bit-g{group}"
                table[fid] = _gptq_awq_row(row, bits, group)
    return table


def _gptq_awq_row(row: dict[str, Any], bits: int, group: int) -> dict[str, Any]:
    """A GPTQ/AWQ format row: one group of ``group`` weights stores packed ints, an fp16 scale
    and a packed zero point (g_idx is per input column, counted per tensor)."""
    return {
        "id": f"{row['method']}-{bits}bit-g{group}",
        "label": f"{row['label']} {bits}-bit, group {group}",
        "family": row["method"],
        "runtimes": row["runtimes"],
        "layout": {
            "block": group,
            "parts": [["qweight", bits * group], ["scale_fp16", 16], ["qzero", bits]],
        },
        "gptq": {"method": row["method"], "bits": bits, "group": group, "g_idx": row["g_idx"]},
        "source": row["source"],
        "notes": row["notes"],
    }


def _format_from_row(row: dict[str, Any]) -> QuantFormat:
    layout = row["layout"]
    parts = tuple((p, b) for p, b in layout["parts"])
    return QuantFormat(
        id=row["id"],
        label=row["label"],
        family=row["family"],
        bits_per_weight=Fraction(sum(b for _, b in parts), layout["block"]),
        runtimes=tuple(row["runtimes"]),
        source=row["source"],
        notes=row.get("notes", ""),
        block_size=layout["block"],
        layout=parts,
    )


def _gguf_format(ft: GgufFileType) -> QuantFormat:
    base = get_ggml_type(ft.default_type)
    imatrix = " Requires an importance matrix (llama-quantize --imatrix)." if ft.imatrix else ""
    return QuantFormat(
        id=ft.id,
        label=f"GGUF {ft.name}",
        family="gguf",
        bits_per_weight=base.bits_per_weight,
        runtimes=("llamacpp", "vllm"),
        source=(
            "llama.cpp src/llama-quant.cpp llama_ftype_get_default_type / "
            f"llama_tensor_get_type_impl (ggml-org/llama.cpp 007dbbf); base type {base.source}"
        ),
        notes=(
            f"llama-quantize file type {ft.name} (ftype {int(ft.ftype)}): mostly {base.name}; "
            "output, token_embd, attn_v, ffn_down and MoE attention get the types llama.cpp "
            "picks per tensor, so the model's real bits per weight is higher than the "
            f"nominal {float(base.bits_per_weight):.4g}.{imatrix}"
        ),
        block_size=base.block_size,
        layout=tuple((p, 8 * n) for p, n in base.parts),
    )


@cached
def _formats() -> dict[str, QuantFormat]:
    table = {fid: _format_from_row(row) for fid, row in scheme_rows().items()}
    for fid, ft in gguf_file_types().items():
        if fid in FLOAT_TO_GGUF.values():
            continue  # F32/F16/BF16 files are the float formats on llamacpp
        table[fid] = _gguf_format(ft)
    return table


_ALIASES = {
    "float32": "fp32",
    "f32": "fp32",
    "float16": "fp16",
    "f16": "fp16",
    "half": "fp16",
    "bfloat16": "bf16",
    "fp8-e4m3": "fp8",
    "e4m3": "fp8",
    "llm.int8": "int8",
    "bnb-int8": "int8",
    "nf4-double-quant": "nf4-dq",
    "fp4-double-quant": "fp4-dq",
    # llama-quantize's own aliases (tools/quantize/quantize.cpp QUANT_OPTIONS)
    "q3_k": "q3_k_m",
    "q4_k": "q4_k_m",
    "q5_k": "q5_k_m",
    "gptq": "gptq-4bit-g128",
    "awq": "awq-4bit-g128",
}


def normalize_format_id(fmt_id: str) -> str:
    """Return the canonical id for ``fmt_id`` (lower case, no spaces, aliases resolved)."""
    key = fmt_id.strip().lower().replace(" ", "")
    return _ALIASES.get(key, key)


def list_formats() -> tuple[QuantFormat, ...]:
    """Return every weight format, floats first, then by family and bits per weight."""
    order = {"float": 0, "fp8": 1, "bnb": 2, "gptq": 3, "awq": 4, "mxfp4": 5, "gguf": 6}
    order["compressed-tensors"] = 7
    return tuple(
        sorted(
            _formats().values(),
            key=lambda f: (
                order[f.family],
                -f.bits_per_weight if f.family == "float" else f.bits_per_weight,
                f.id,
            ),
        )
    )


def get_format(fmt_id: str) -> QuantFormat:
    """Return the format named ``fmt_id`` (case-insensitive; "auto" is not a format)."""
    if not isinstance(fmt_id, str) or not fmt_id.strip():
        raise UnknownQuantFormat(
            msg("weights must name a format, got {value!r}", value=fmt_id), field="weights"
        )
    key = normalize_format_id(fmt_id)
    gptq = _unlisted_gptq(key) or _ct_format(key)
    if gptq is not None:
        return gptq[0]
    table = _formats()
    if key not in table:
        raise UnknownQuantFormat(
            msg(
                "unknown weight format {name!r}; run 'vram formats' or pick one of {known}.{hint}",
                name=fmt_id,
                known=", ".join(sorted(table)),
                hint=suggest(key, list(table)),
            ),
            field="weights",
        )
    return table[key]


def format_row(fmt: QuantFormat) -> dict[str, Any]:
    """Return the data row of a non-GGUF format (listed, or an unlisted GPTQ/AWQ id)."""
    row = scheme_rows().get(fmt.id)
    if row is not None:
        return row
    found = _unlisted_gptq(fmt.id) or _ct_format(fmt.id)
    if found is None:
        raise KeyError(fmt.id)
    return found[1]


_CT_STRATEGY = {
    "tensor": "one scale per tensor",
    "channel": "one scale per output channel",
    "token": "one scale per token",
}


@cached
def _ct_format(key: str) -> tuple[QuantFormat, dict[str, Any]] | None:
    """A compressed-tensors checkpoint's format ("ct-int4-g32-a16", ``engine.compressed_tensors
    .format_id``; "+mixed": other config groups differ). Unlisted: it describes one published
    checkpoint; the model's own quantization_config decides every tensor's bytes."""
    if not key.startswith("ct-"):
        return None
    base, plus, rest = key.partition("+")
    if plus and rest != "mixed":
        return None
    g = ct.group_from_id(base)
    if g is None:
        return None
    w = g.weights
    assert w is not None
    block, parts = ct.nominal_bits(g)
    kind = f"{w.type}{w.num_bits}" + ("" if w.symmetric else " asymmetric")
    if w.strategy in ("group", "tensor_group"):
        how = f"group {w.group_size}"
    elif w.strategy == "block":
        how = f"{w.block[0]}x{w.block[1]} blocks"
    else:
        how = _CT_STRATEGY[w.strategy]
    act = g.input_activations
    acts = "16-bit activations" if act is None else f"{act.type}{act.num_bits} activations"
    label = f"compressed-tensors {kind}, {how}, {acts} ({ct.module_format(g)})"
    if plus:
        label += " + other groups"
    row = {
        "id": key,
        "label": label,
        "family": "compressed-tensors",
        "runtimes": ["transformers", "vllm"],
        "layout": {"block": block, "parts": [list(p) for p in parts]},
        "source": (
            "compressed-tensors 0.18.0 (vllm-project/compressed-tensors ac8e2ba): "
            "compressors/*, quantization/lifecycle/initialize.py, utils/match.py"
        ),
        "notes": (
            "A compressed-tensors checkpoint: the modules its quantization_config targets and "
            "does not ignore are stored in the format's layout, the rest 16-bit."
        ),
    }
    return _format_from_row(row), row


@cached
def _unlisted_gptq(key: str) -> tuple[QuantFormat, dict[str, Any]] | None:
    """Accept GPTQ/AWQ ids outside the listed grid ("gptq-3bit-g128", "gptq-4bit" = one group
    per column), as pre-quantized checkpoints name them; return the format and its row."""
    if key in _formats() or not key.startswith(("gptq-", "awq-")):
        return None
    method, _, rest = key.partition("-")
    bits_s, _, group_s = rest.partition("-")
    if not bits_s.endswith("bit") or not bits_s[:-3].isdigit():
        return None
    bits = int(bits_s[:-3])
    group = 0
    if group_s:
        if not group_s.startswith("g") or not group_s[1:].isdigit():
            return None
        group = int(group_s[1:])
    allowed_bits = (2, 3, 4, 8) if method == "gptq" else (4,)
    if bits not in allowed_bits:
        raise UnknownQuantFormat(
            msg(
                "{method} with {bits} bits is not supported; {method} kernels "
                "take {allowed}-bit weights",
                method=method.upper(),
                bits=bits,
                allowed=", ".join(map(str, allowed_bits)),
            ),
            field="weights",
        )
    base = next(r for r in rows("gptq_awq") if r["method"] == method)
    row = _gptq_awq_row(base, bits, group or 1)
    row["id"] = key
    row["label"] = f"{base['label']} {bits}-bit, " + (
        f"group {group}" if group else "one group per column"
    )
    row["gptq"]["group"] = group  # 0 = a single group spanning in_features
    fmt = _format_from_row(row)
    if not group:  # per-column scales: nominal bpw is the packed bits alone
        fmt = replace(
            fmt, bits_per_weight=Fraction(bits), block_size=1, layout=(("qweight", bits),)
        )
    return fmt, row
