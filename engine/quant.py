"""Number formats and quantization: which storage type each tensor gets, and its exact bytes.

Every format is a row in ``data/quant_formats.json`` with its source. Bits per weight are
derived from block layouts (block size and the sizes of the parts stored per block, as in
ggml's type traits and gguf-py's ``GGML_QUANT_SIZES``), never typed in.

Per-tensor rules follow the real tools:

* **GGUF** file types ("mixes" such as Q4_K_M) follow llama.cpp's ``llama_tensor_get_type``
  (``src/llama-quant.cpp`` at ggml-org/llama.cpp 007dbbf): the output/token-embedding types,
  the ``use_more_bits`` layers for ``attn_v``/``ffn_down``, the 8-expert and GQA bumps, and
  the fallback to a 32-block type when a row length (``ne0`` = in_features) is not a
  multiple of 256. Tensors are visited in llama.cpp's order (layer, then name), because
  some rules count tensors as they go. 1-D tensors (norms, biases) and the MoE router stay
  F32 as ``convert_hf_to_gguf.py`` writes them.
* **bitsandbytes** (LLM.int8, nf4/fp4 ± double quant) quantizes what transformers'
  ``replace_with_bnb_linear`` converts: ``nn.Linear`` layers except lm_head and tied weights.
  In transformers 5.x routed experts are 3-D parameters, not ``nn.Linear``, so they stay
  16-bit there; vLLM's bitsandbytes MoE method quantizes them.
* **GPTQ / AWQ** quantize every linear layer of the decoder blocks (incl. experts); embeddings,
  lm_head, norms, biases and routers stay 16-bit.
* **FP8** (E4M3) quantizes linear layers with a per-tensor scale (vLLM ``--quantization fp8``)
  or with 128x128 block scales (DeepSeek-V3 checkpoints).
* **MXFP4** stores routed experts as 32-element E2M1 blocks + one E8M0 scale (4.25 bits), the
  rest 16-bit, as gpt-oss is published.

``quantize_tensors`` returns one ``QuantizedTensor`` per spec tensor (the storage type the
runtime uses and its exact bytes); ``weights_bytes`` is their sum. Allocator rounding and
placement (e.g. llama.cpp keeping ``token_embd`` on the CPU) are the caller's business.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from fractions import Fraction
from functools import cache, lru_cache
from importlib import resources
from math import prod
from typing import Any, Literal

from .errors import InvalidWorkload, UnknownQuantFormat, suggest
from .messages import msg, or_list
from .model import ModelSpec, Tensor
from .units import ceil_div

Family = Literal["float", "bnb", "gptq", "awq", "gguf", "fp8", "mxfp4"]
RUNTIMES = ("transformers", "vllm", "llamacpp")

# ---------------------------------------------------------------------------------------
# Value types


@dataclass(frozen=True)
class GgmlType:
    """One ggml tensor type: ``block_size`` weights stored in the sum of ``parts`` bytes."""

    name: str
    type_id: int  # must match enum ggml_type (ggml.h)
    block_size: int
    parts: tuple[tuple[str, int], ...]  # (struct member, bytes)
    bytes_per_block: int  # sum of parts, computed by the loader (ggml_types)
    source: str

    @property
    def bits_per_weight(self) -> Fraction:
        return Fraction(8 * self.bytes_per_block, self.block_size)

    def row_bytes(self, ne0: int) -> int:
        """Bytes of one row of ``ne0`` weights (ggml_row_size); ``ne0`` must fill whole blocks."""
        if ne0 % self.block_size:
            raise ValueError(
                f"row size {ne0} is not a multiple of {self.name} block size {self.block_size}"
            )
        return ne0 // self.block_size * self.bytes_per_block


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


# ---------------------------------------------------------------------------------------
# Data loading (lazy, cached)


@cache
def _data() -> dict[str, Any]:
    text = resources.files("engine").joinpath("data/quant_formats.json").read_text("utf-8")
    return json.loads(text)


@cache
def ggml_types() -> dict[str, GgmlType]:
    """Return the ggml block-type table keyed by upper-case name ("Q4_K")."""
    table = {}
    for row in _data()["ggml_types"]["rows"]:
        table[row["name"]] = GgmlType(
            name=row["name"],
            type_id=row["id"],
            block_size=row["block_size"],
            parts=tuple((p, n) for p, n in row["parts"]),
            bytes_per_block=sum(n for _, n in row["parts"]),
            source=row["source"],
        )
    return table


def get_ggml_type(name: str) -> GgmlType:
    """Return a ggml type by name (case-insensitive: "q4_k", "Q4_K")."""
    table = ggml_types()
    key = name.upper()
    if key not in table:
        raise UnknownQuantFormat(
            msg(
                "unknown ggml type {name!r}; known types: {known}.{hint}",
                name=name,
                known=", ".join(table),
                hint=suggest(name, list(table)),
            ),
            field="weights",
        )
    return table[key]


@dataclass(frozen=True)
class _GgufFileType:
    id: str
    name: str
    ftype: int
    default_type: str
    imatrix: bool


@cache
def _gguf_file_types() -> dict[str, _GgufFileType]:
    return {
        row["id"]: _GgufFileType(
            id=row["id"],
            name=row["name"],
            ftype=row["ftype"],
            default_type=row["default_type"],
            imatrix=bool(row.get("imatrix", False)),
        )
        for row in _data()["gguf_file_types"]["rows"]
    }


_FLOAT_TO_GGUF = {"fp32": "f32", "fp16": "f16", "bf16": "bf16"}
_FLOAT_BYTES = {"fp32": 4, "fp16": 2, "bf16": 2}


@cache
def _scheme_rows() -> dict[str, dict[str, Any]]:
    rows: dict[str, dict[str, Any]] = {}
    for row in _data()["schemes"]["rows"]:
        rows[row["id"]] = row
    for row in _data()["gptq_awq"]["rows"]:
        for bits in row["bits"]:
            for group in row["group_sizes"]:
                fid = f"{row['method']}-{bits}bit-g{group}"
                rows[fid] = _gptq_awq_row(row, bits, group)
    return rows


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


def _gguf_format(ft: _GgufFileType) -> QuantFormat:
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
            f"llama-quantize file type {ft.name} (ftype {ft.ftype}): mostly {base.name}; "
            "output, token_embd, attn_v, ffn_down and MoE attention get the types llama.cpp "
            "picks per tensor, so the model's real bits per weight is higher than the "
            f"nominal {float(base.bits_per_weight):.4g}.{imatrix}"
        ),
        block_size=base.block_size,
        layout=tuple((p, 8 * n) for p, n in base.parts),
    )


@cache
def _formats() -> dict[str, QuantFormat]:
    table = {fid: _format_from_row(row) for fid, row in _scheme_rows().items()}
    for fid, ft in _gguf_file_types().items():
        if fid in _FLOAT_TO_GGUF.values():
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


def _normalize(fmt_id: str) -> str:
    key = fmt_id.strip().lower().replace(" ", "")
    return _ALIASES.get(key, key)


def list_formats() -> tuple[QuantFormat, ...]:
    """Return every weight format, floats first, then by family and bits per weight."""
    order = {"float": 0, "fp8": 1, "bnb": 2, "gptq": 3, "awq": 4, "mxfp4": 5, "gguf": 6}
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
    key = _normalize(fmt_id)
    gptq = _parse_gptq_id(key)
    if gptq is not None:
        return gptq
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


def _parse_gptq_id(key: str) -> QuantFormat | None:
    """Accept GPTQ/AWQ ids outside the listed grid ("gptq-3bit-g128", "gptq-4bit" = one group
    per column), as pre-quantized checkpoints name them."""
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
    base = next(r for r in _data()["gptq_awq"]["rows"] if r["method"] == method)
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
    _EXTRA_GPTQ[key] = row
    return fmt


_EXTRA_GPTQ: dict[str, dict[str, Any]] = {}


def _row(fmt: QuantFormat) -> dict[str, Any]:
    return _scheme_rows().get(fmt.id) or _EXTRA_GPTQ[fmt.id]


# ---------------------------------------------------------------------------------------
# KV cache element sizes


@cache
def _kv_table() -> dict[str, Fraction]:
    table: dict[str, Fraction] = {}
    for row in _data()["kv_dtypes"]["rows"]:
        if "ggml_type" in row:
            t = get_ggml_type(row["ggml_type"])
            table[row["id"]] = Fraction(t.bytes_per_block, t.block_size)
        else:
            table[row["id"]] = Fraction(row["bits"], 8)
    return table


def kv_bytes_per_element(kv_dtype: str) -> Fraction:
    """Return bytes per cached K/V element for ``kv_dtype`` (q8_0 = 34/32, q4_0 = 18/32)."""
    table = _kv_table()
    key = kv_dtype.strip().lower() if isinstance(kv_dtype, str) else kv_dtype
    key = {
        "float16": "fp16",
        "f16": "fp16",
        "bfloat16": "bf16",
        "float32": "fp32",
        "f32": "fp32",
        "fp8_e4m3": "fp8",
        "fp8_e5m2": "fp8",
    }.get(key, key)
    if key not in table:
        raise InvalidWorkload(
            msg(
                "kv_dtype must be one of {allowed}; got {value!r}",
                allowed=", ".join(table),
                value=kv_dtype,
            ),
            field="kv_dtype",
        )
    return table[key]


# ---------------------------------------------------------------------------------------
# Shared helpers


def _half_dtype(spec: ModelSpec) -> str:
    """The 16-bit dtype that unquantized tensors keep: the checkpoint's if it is 16-bit,
    else bf16."""
    return "fp16" if spec.dtype in ("float16", "fp16", "half") else "bf16"


def _float_tensor(t: Tensor, dtype: str) -> QuantizedTensor:
    return QuantizedTensor(t, dtype, t.numel * _FLOAT_BYTES[dtype])


def _is_router(t: Tensor) -> bool:
    return t.name.startswith("ffn_gate_inp")


def _is_quantizable_linear(t: Tensor) -> bool:
    """A 2-D weight of a linear layer inside the decoder (not the lm_head or a router)."""
    return t.kind == "linear" and len(t.shape) == 2 and t.name != "output" and not _is_router(t)


def _check_runtime(fmt: QuantFormat, runtime: str) -> None:
    if runtime not in RUNTIMES:
        raise InvalidWorkload(
            msg(
                "runtime must be one of {runtimes}; got {value!r}",
                runtimes=", ".join(RUNTIMES),
                value=runtime,
            ),
            field="runtime",
        )
    if runtime not in fmt.runtimes:
        if fmt.family == "gguf":
            fix = msg(
                "use runtime llamacpp (or vllm); transformers dequantizes GGUF to 16-bit "
                "on load, so pick bf16 there"
            )
        else:
            fix = msg(
                "use runtime {runtimes}, or pick a GGUF type such as q4_k_m for llamacpp",
                runtimes=or_list(fmt.runtimes),
            )
        raise InvalidWorkload(
            msg(
                "weights {id!r} ({label}) does not run on {runtime}: {fix}",
                id=fmt.id,
                label=fmt.label,
                runtime=runtime,
                fix=fix,
            ),
            field="weights",
        )


# ---------------------------------------------------------------------------------------
# Non-GGUF schemes


def _quantize_float(spec: ModelSpec, dtype: str) -> tuple[QuantizedTensor, ...]:
    return tuple(_float_tensor(t, dtype) for t in spec.tensors)


def _quantize_fp8(
    spec: ModelSpec, row: dict[str, Any], runtime: str
) -> tuple[QuantizedTensor, ...]:
    half = _half_dtype(spec)
    # transformers quantizes to FP8 only through FineGrainedFP8Config, whose default
    # weight_block_size is (128, 128); vLLM's online `--quantization fp8` is per-tensor
    block = row["scale"] == "block" or runtime == "transformers"
    out = []
    for t in spec.tensors:
        if not _is_quantizable_linear(t):
            out.append(_float_tensor(t, half))
            continue
        n_out, n_in = t.shape
        if block:
            bo, bi = row.get("block_shape", (128, 128))
            scales = ceil_div(n_out, bo) * ceil_div(n_in, bi)
            storage = f"fp8-e4m3+fp32-scale-{bo}x{bi}"
        else:
            scales = 1
            storage = "fp8-e4m3+fp32-scale"
        out.append(QuantizedTensor(t, storage, t.experts * (n_out * n_in + 4 * scales)))
    return tuple(out)


def _bnb_converts(t: Tensor, spec: ModelSpec, runtime: str) -> bool:
    if t.name == "ffn_gate_inp_shexp":
        # Qwen2-MoE shared_expert_gate: an nn.Linear(hidden, 1) in transformers (converted);
        # vLLM builds it as a plain torch Linear outside its quantized layers
        return runtime == "transformers"
    if not _is_quantizable_linear(t):
        return False
    if spec.tie_word_embeddings and t.name == "token_embd":
        return False
    # transformers 5.x: routed experts are nn.Parameter stacks, not nn.Linear
    # (e.g. MixtralExperts.gate_up_proj), so replace_with_bnb_linear leaves them alone.
    return not (t.experts > 1 and runtime == "transformers")


def _quantize_bnb(
    spec: ModelSpec, row: dict[str, Any], runtime: str
) -> tuple[QuantizedTensor, ...]:
    half = _half_dtype(spec)
    cfg = row["bnb"]
    out = []
    for t in spec.tensors:
        if not _bnb_converts(t, spec, runtime):
            out.append(_float_tensor(t, half))
            continue
        n_out, n_in = t.shape
        n = n_out * n_in
        if cfg["kind"] == "int8":
            # Int8Params: CB int8 (out, in) + SCB float32 (out,)
            nbytes = n + 4 * n_out
            storage = "int8+fp32-row-scale"
        else:
            blocks = ceil_div(n, cfg["blocksize"])
            nbytes = (n + 1) // 2  # packed uint8, two 4-bit codes per byte
            nbytes += 16 * 4  # the 16-entry float32 code table (QuantState.code)
            if cfg["double_quant"]:
                # uint8 absmax per block + float32 absmax per 256 blocks + 256-entry float32
                # code copy + float32 offset (quantize_blockwise(blocksize=256))
                nbytes += blocks + 4 * ceil_div(blocks, 256) + 256 * 4 + 4
                storage = f"{cfg['quant_type']}-dq"
            else:
                nbytes += 4 * blocks  # float32 absmax per block
                storage = cfg["quant_type"]
        out.append(QuantizedTensor(t, storage, t.experts * nbytes))
    return tuple(out)


def _quantize_gptq(spec: ModelSpec, row: dict[str, Any]) -> tuple[QuantizedTensor, ...]:
    half = _half_dtype(spec)
    cfg = row["gptq"]
    bits, group = cfg["bits"], cfg["group"]
    pack = 32 // bits if 32 % bits == 0 else 32  # 3-bit packs 32 weights into 3 int32
    storage = f"{cfg['method']}-int{bits}" + (f"-g{group}" if group else "")
    out = []
    for t in spec.tensors:
        if not _is_quantizable_linear(t):
            out.append(_float_tensor(t, half))
            continue
        n_out, n_in = t.shape
        g = group or n_in
        if n_in % g or n_in % pack or n_out % pack:
            out.append(_float_tensor(t, half))  # kernels need whole groups and packs
            continue
        groups = n_in // g
        nbytes = n_in * n_out * bits // 8  # qweight (int32, packed)
        nbytes += groups * n_out * bits // 8  # qzeros (int32, packed)
        nbytes += groups * n_out * 2  # scales (fp16)
        if cfg["g_idx"]:
            nbytes += n_in * 4  # g_idx (int32)
        out.append(QuantizedTensor(t, storage, t.experts * nbytes))
    return tuple(out)


def _quantize_mxfp4(spec: ModelSpec) -> tuple[QuantizedTensor, ...]:
    half = _half_dtype(spec)
    mx = get_ggml_type("MXFP4")
    if not any(t.routed and t.kind == "linear" for t in spec.tensors):
        raise InvalidWorkload(
            msg(
                "mxfp4 applies to routed MoE expert weights and {model} has "
                "none; pick fp8, nf4 or a GGUF type for a dense model",
                model=spec.name or spec.model_type,
            ),
            field="weights",
        )
    out = []
    for t in spec.tensors:
        if (
            t.routed
            and t.kind == "linear"
            and len(t.shape) == 2
            and t.shape[1] % mx.block_size == 0
        ):
            n_out, n_in = t.shape
            # *_blocks uint8 (out, in/32, 16) + *_scales uint8 (out, in/32)
            out.append(QuantizedTensor(t, "mxfp4", t.experts * n_out * mx.row_bytes(n_in)))
        else:
            out.append(_float_tensor(t, half))
    return tuple(out)


# ---------------------------------------------------------------------------------------
# GGUF (llama.cpp)


# spec names that GGUF spells differently (phi3's fused gate+up projection is "ffn_up")
_GGUF_RENAMES = {"ffn_gate_up": "ffn_up"}


def _gguf_name(t: Tensor) -> str:
    base = _GGUF_RENAMES.get(t.name, t.name)
    name = base if base.endswith(".bias") else f"{base}.weight"
    return name if t.layer is None else f"blk.{t.layer}.{name}"


def _gguf_dims(t: Tensor) -> int:
    return len(t.shape) + (1 if t.experts > 1 else 0)


@lru_cache(maxsize=16384)
def _category(gname: str) -> str:
    """llama.cpp tensor_get_category: broad roles matched on the GGUF name."""
    if gname == "output.weight":
        return "output"
    if gname in ("token_embd.weight", "per_layer_token_embd.weight"):
        return "token_embd"
    for needle, cat in (
        ("attn_qkv.weight", "attn_qkv"),
        ("attn_kv_b.weight", "attn_kv_b"),
        ("attn_v.weight", "attn_v"),
        ("attn_k.weight", "attn_k"),
        ("attn_q.weight", "attn_q"),
        ("attn_output.weight", "attn_output"),
        ("ffn_up", "ffn_up"),
        ("ffn_gate", "ffn_gate"),
        ("ffn_down", "ffn_down"),
    ):
        if needle in gname:
            return cat
    return "other"


_ATTN_V_LIKE = ("attn_v", "attn_qkv", "attn_kv_b")

# llama.cpp tensor_allows_quantization: name fragments never quantized (the ones that can
# appear in a ModelSpec); these keep the type convert_hf_to_gguf.py wrote.
_NEVER_QUANTIZED = ("_norm.weight", "ffn_gate_inp.weight", "pos_embd.weight", "token_types.weight")


def _gguf_source_type(t: Tensor, gname: str, float_type: str) -> str:
    """Type in the converted (unquantized) GGUF: convert_hf_to_gguf.py writes 1-D tensors,
    norms, the MoE router, position embeddings and non-".weight" tensors as F32."""
    if (
        _gguf_dims(t) < 2
        or gname.endswith("_norm.weight")
        or not gname.endswith(".weight")
        or any(s in gname for s in ("ffn_gate_inp", "pos_embd.weight", "token_types.weight"))
    ):
        return "F32"
    return float_type


def _allows_quantization(t: Tensor, gname: str) -> bool:
    if _gguf_dims(t) < 2 or not gname.endswith("weight"):
        return False
    return not any(s in gname for s in _NEVER_QUANTIZED)


@dataclass
class _QuantState:
    ftype: str  # file type name, e.g. "Q4_K_M"
    arch: str  # "llama", "falcon" or the model_type
    n_layer: int
    n_expert: int
    n_gqa: int
    is_70b: bool
    has_imatrix: bool
    has_tied_embeddings: bool
    n_attention_wv: int = 0
    i_attention_wv: int = 0
    i_ffn_down: int = 0
    i_ffn_gate: int = 0
    i_ffn_up: int = 0


def _more_bits(i_layer: int, n_layers: int) -> bool:
    """llama.cpp's use_more_bits: the first and last eighth of the layers and every third
    layer in between. (The C remainder of a negative number is never reached: the first
    test already holds for i_layer < n_layers/8.)"""
    n8 = n_layers // 8
    return i_layer < n8 or i_layer >= 7 * n_layers // 8 or (i_layer - n8) % 3 == 2


def _get_type_impl(
    qs: _QuantState, new_type: str, t: Tensor, gname: str, cat: str, ne0: int, stacked: bool
) -> str:
    """llama_tensor_get_type_impl (src/llama-quant.cpp @ 007dbbf), mix rules only."""
    ft = qs.ftype
    n_expert = qs.n_expert
    gqa = qs.n_gqa

    def layer_of(counter: int) -> int:
        return t.layer if (n_expert > 1 and t.layer is not None) else counter

    low_iq = ("IQ2_XXS", "IQ2_XS", "IQ1_S", "IQ2_S", "IQ2_M", "IQ1_M")
    if cat == "output" or (qs.has_tied_embeddings and cat == "token_embd"):
        if ft == "MXFP4_MOE" or qs.arch == "falcon" or ne0 % get_ggml_type(new_type).block_size:
            new_type = "Q8_0"
        elif ft in ("IQ2_XXS", "IQ2_XS", "IQ3_XXS", "IQ1_S", "IQ2_S", "IQ2_M", "IQ1_M"):
            new_type = "Q5_K"
        elif new_type != "Q8_0":
            new_type = "Q6_K"
    elif ft == "MXFP4_MOE":
        new_type = "MXFP4" if stacked else "Q8_0"
    elif cat == "token_embd":
        if ft in ("IQ2_XXS", "IQ2_XS", "IQ1_S", "IQ1_M"):
            new_type = "Q2_K"
        elif ft in ("IQ2_S", "IQ2_M", "IQ3_XXS"):
            new_type = "IQ3_S"
        elif ft in ("TQ1_0", "TQ2_0", "Q2_0"):
            new_type = "Q4_K"
    elif ft in low_iq:
        iq2s = ft in ("IQ2_S", "IQ2_M")
        if cat in _ATTN_V_LIKE:
            if gqa >= 4 or n_expert >= 4:  # noqa: SIM108 (mirrors llama.cpp)
                new_type = "Q4_K"
            else:
                new_type = "IQ3_S" if iq2s else "Q2_K"
            qs.i_attention_wv += 1
        elif n_expert == 8 and cat == "attn_k":
            new_type = "Q4_K"
        elif cat == "ffn_down":
            if qs.i_ffn_down < qs.n_layer // 8:
                new_type = "IQ3_S" if iq2s else "Q2_K"
            qs.i_ffn_down += 1
        elif cat == "attn_output":
            if n_expert == 8:
                new_type = "Q5_K"
            elif ft in ("IQ1_S", "IQ1_M"):
                new_type = "IQ2_XXS"
            elif iq2s:
                new_type = "IQ3_S"
    elif cat in _ATTN_V_LIKE:
        i_wv, n_wv = qs.i_attention_wv, qs.n_attention_wv
        if ft == "Q2_K":
            new_type = "Q4_K" if gqa >= 4 else "Q3_K"
        elif ft == "Q2_K_S" and gqa >= 4:
            new_type = "Q4_K"
        elif ft == "IQ3_XXS":
            new_type = "Q4_K" if gqa >= 4 else ("IQ3_XXS" if qs.has_imatrix else "IQ3_S")
        elif ft in ("IQ3_XS", "IQ3_S") and gqa >= 4:  # noqa: SIM114 (mirrors llama.cpp)
            new_type = "Q4_K"
        elif ft == "IQ3_M":
            new_type = "Q4_K"
        elif ft == "Q3_K_M":
            new_type = "Q5_K" if i_wv < 2 else "Q4_K"
        elif ft == "Q3_K_L":  # noqa: SIM114 (mirrors llama.cpp)
            new_type = "Q5_K"
        elif ft in ("IQ4_NL", "IQ4_XS") and gqa >= 4:
            new_type = "Q5_K"
        elif ft in ("Q4_K_M", "Q5_K_M") and _more_bits(i_wv, n_wv):
            new_type = "Q6_K"
        elif ft == "Q4_K_S" and i_wv < 4:
            new_type = "Q5_K"
        if qs.is_70b and new_type in ("Q3_K", "Q4_K"):
            new_type = "Q5_K"
        if n_expert == 8:
            new_type = "Q8_0"
        qs.i_attention_wv += 1
    elif cat == "attn_k":
        if n_expert == 8:
            new_type = "Q8_0"
        elif ft == "IQ3_XS":
            new_type = "IQ3_XXS"
        elif ft == "IQ3_XXS":
            new_type = "IQ2_S"
    elif cat == "attn_q":
        if ft == "IQ3_XS":
            new_type = "IQ3_XXS"
        elif ft == "IQ3_XXS":
            new_type = "IQ2_S"
    elif cat == "ffn_down":
        i_layer, n_layer = layer_of(qs.i_ffn_down), qs.n_layer
        falcon = qs.arch == "falcon"
        if ft == "Q2_K":
            new_type = "Q3_K"
        elif ft == "Q2_K_S":
            if i_layer < n_layer // 8:
                new_type = "Q4_K"
        elif ft == "IQ3_XXS" and not qs.has_imatrix:
            new_type = "Q4_K" if i_layer < n_layer // 8 else "Q3_K"
        elif ft == "Q3_K_M":
            if i_layer < n_layer // 16:
                new_type = "Q5_K"
            elif not falcon or _more_bits(i_layer, n_layer):
                new_type = "Q4_K"
            else:
                new_type = "Q3_K"
        elif ft == "IQ3_M" and (
            i_layer < n_layer // 8 or (n_expert == 8 and _more_bits(i_layer, n_layer))
        ):
            new_type = "Q4_K"
        elif ft == "Q3_K_L":
            new_type = "Q4_K" if falcon else "Q5_K"
        elif ft == "Q4_K_M":
            if falcon:
                new_type = (
                    "Q6_K"
                    if i_layer < n_layer // 16
                    else "Q5_K"
                    if _more_bits(i_layer, n_layer)
                    else "Q4_K"
                )
            elif _more_bits(i_layer, n_layer):
                new_type = "Q6_K"
        elif i_layer < n_layer // 8 and ft in ("IQ4_NL", "IQ4_XS") and not qs.has_imatrix:
            new_type = "Q5_K"
        elif ft == "Q5_K_M" and _more_bits(i_layer, n_layer):
            new_type = "Q6_K"
        elif ft == "Q4_K_S" and not falcon and i_layer < n_layer // 8:
            new_type = "Q5_K"
        elif ft in ("Q4_0", "Q5_0") and qs.has_imatrix and i_layer < n_layer // 8:
            new_type = "Q4_1" if ft == "Q4_0" else "Q5_1"
        qs.i_ffn_down += 1
    elif cat == "attn_output":
        if qs.arch != "falcon":
            if n_expert == 8:
                if ft in (
                    "Q2_K",
                    "IQ3_XS",
                    "IQ3_XXS",
                    "Q3_K_S",
                    "Q3_K_M",
                    "IQ4_NL",
                    "Q4_K_S",
                    "Q4_K_M",
                    "IQ3_S",
                    "IQ3_M",
                    "IQ4_XS",
                ):
                    new_type = "Q5_K"
            else:
                new_type = {
                    "Q2_K": "Q3_K",
                    "IQ3_XXS": "IQ3_S",
                    "Q3_K_M": "Q4_K",
                    "Q3_K_L": "Q5_K",
                    "IQ3_M": "Q4_K",
                }.get(ft, new_type)
        elif ft == "Q3_K_L":
            new_type = "Q4_K"
    elif cat in ("ffn_gate", "ffn_up"):
        counter = qs.i_ffn_gate if cat == "ffn_gate" else qs.i_ffn_up
        i_layer, n_layer = layer_of(counter), qs.n_layer
        if ft == "IQ3_XS" and n_layer // 8 <= i_layer < 7 * n_layer // 8:
            new_type = "IQ3_XXS"
        if cat == "ffn_gate":
            qs.i_ffn_gate += 1
        else:
            qs.i_ffn_up += 1
    return new_type


# tensor_type_fallback: the 32-block type used when a row does not fill 256-blocks
_FALLBACK = {
    "IQ1_S": "IQ4_NL",
    "IQ1_M": "IQ4_NL",
    "IQ2_XXS": "IQ4_NL",
    "IQ2_XS": "IQ4_NL",
    "IQ2_S": "IQ4_NL",
    "IQ3_XXS": "IQ4_NL",
    "IQ3_S": "IQ4_NL",
    "IQ4_XS": "IQ4_NL",
    "Q2_0": "Q4_0",
    "Q2_K": "Q4_0",
    "Q3_K": "Q4_0",
    "TQ1_0": "Q4_0",
    "TQ2_0": "Q4_0",
    "Q4_K": "Q5_0",
    "Q5_K": "Q5_1",
    "Q6_K": "Q8_0",
}


def _fallback(new_type: str, ne0: int) -> str:
    if ne0 % get_ggml_type(new_type).block_size == 0:
        return new_type
    if new_type not in _FALLBACK:
        raise InvalidWorkload(
            msg(
                "row size {ne0} is not a multiple of {type} block size "
                "{block} and llama.cpp defines no fallback type",
                ne0=ne0,
                type=new_type,
                block=get_ggml_type(new_type).block_size,
            ),
            field="weights",
        )
    fb = _FALLBACK[new_type]
    return fb if ne0 % get_ggml_type(fb).block_size == 0 else "F16"


@dataclass(frozen=True)
class _GgufEntry:
    """One spec tensor as llama-quantize sees it (computed once per spec)."""

    index: int  # position in spec.tensors
    tensor: Tensor
    gname: str  # GGUF name, e.g. "blk.3.attn_v.weight"
    category: str
    role: Literal["f32", "keep", "quant"]  # F32 always / the file's float type / quantizable
    ne0: int  # row length (in_features)
    rows: int  # rows over all experts
    stacked: bool  # ne[2] > 1 in GGUF (expert stacks, MLA k_b/v_b)


@dataclass(frozen=True)
class _GgufPlan:
    entries: tuple[_GgufEntry, ...]  # in weight_name_comparer order: layer (-1 first), name
    by_index: tuple[_GgufEntry, ...]  # in spec order
    arch: str
    n_layer: int
    n_expert: int
    n_gqa: int
    is_70b: bool
    has_tied_embeddings: bool
    n_attention_wv: int


_LLAMA_ARCH_TYPES = ("llama", "mistral", "mixtral")  # converted as LLM_ARCH_LLAMA


_PLANS: dict[int, tuple[ModelSpec, _GgufPlan]] = {}


def _gguf_plan(spec: ModelSpec) -> _GgufPlan:
    """The per-spec part of llama-quantize's work, memoized by spec identity."""
    hit = _PLANS.get(id(spec))
    if hit is not None and hit[0] is spec:
        return hit[1]
    plan = _build_gguf_plan(spec)
    if len(_PLANS) >= 256:
        _PLANS.pop(next(iter(_PLANS)))
    _PLANS[id(spec)] = (spec, plan)
    return plan


def _mla_kv_b_split(spec: ModelSpec, t: Tensor) -> tuple[tuple[str, int, int], ...]:
    """(GGUF name, ne0, rows) of attn_k_b and attn_v_b for an MLA kv_b projection, else ()."""
    if t.name != "attn_kv_b" or t.layer is None or t.layer >= len(spec.layers):
        return ()
    att = spec.layers[t.layer].attention
    heads, nope, v, rank = att.num_heads, att.qk_nope_head_dim, att.v_head_dim, att.kv_lora_rank
    if att.kind != "mla" or t.shape != (heads * (nope + v), rank) or t.experts != 1:
        return ()
    return (("attn_k_b", nope, heads * rank), ("attn_v_b", rank, heads * v))


def _build_gguf_plan(spec: ModelSpec) -> _GgufPlan:
    entries = []
    for i, t in enumerate(spec.tensors):
        gname = _gguf_name(t)
        split = _mla_kv_b_split(spec, t)
        if split:
            # convert_hf_to_gguf.py (DeepseekV2Model.modify_tensors, "MLA with the absorption
            # optimization, needs these two split and k_b_proj transposed") writes kv_b_proj as
            # attn_k_b (heads, kv_lora_rank, qk_nope) and attn_v_b (heads, v_head, kv_lora_rank)
            for part, ne0, rows in split:
                pname = f"blk.{t.layer}.{part}.weight"
                entries.append(
                    _GgufEntry(i, t, pname, _category(pname), "quant", ne0, rows, stacked=True)
                )
            continue
        if _gguf_source_type(t, gname, "F16") == "F32":
            role = "f32"
        elif t.kind == "other" or not _allows_quantization(t, gname):
            # "other" tensors (e.g. a vision tower) are not in the language-model GGUF that
            # llama-quantize rewrites (llama.cpp keeps them in a separate mmproj file)
            role = "keep"
        else:
            role = "quant"
        entries.append(
            _GgufEntry(
                index=i,
                tensor=t,
                gname=gname,
                category=_category(gname),
                role=role,
                ne0=t.shape[-1],
                rows=prod(t.shape[:-1]) * t.experts,
                stacked=t.experts > 1,
            )
        )
    entries.sort(key=lambda e: (-1 if e.tensor.layer is None else e.tensor.layer, e.gname))
    first = spec.layers[0].attention if spec.layers else None
    if first is None:
        n_gqa = 1
    elif first.kind == "mla":
        n_gqa = first.num_heads  # convert_hf_to_gguf writes head_count_kv = 1 for MLA
    else:
        n_gqa = first.num_heads // max(1, first.num_kv_heads)
    arch = "llama" if spec.model_type in _LLAMA_ARCH_TYPES else spec.model_type
    return _GgufPlan(
        entries=tuple(entries),
        by_index=tuple(sorted(entries, key=lambda e: e.index)),
        arch=arch,
        n_layer=spec.num_layers,
        n_expert=max((layer.mlp.num_experts for layer in spec.layers), default=0),
        n_gqa=n_gqa,
        # llama-model.cpp: LLM_ARCH_LLAMA with 80 layers and GQA is LLM_TYPE_70B
        is_70b=arch == "llama" and spec.num_layers == 80 and n_gqa > 1,
        has_tied_embeddings=not any(e.gname == "output.weight" for e in entries),
        n_attention_wv=sum(1 for e in entries if e.category in _ATTN_V_LIKE),
    )


def _gguf_types(
    spec: ModelSpec, ft: _GgufFileType, *, float_type: str = "F16", expert_type: str | None = None
) -> dict[str, str]:
    """{GGUF tensor name: ggml type} as llama-quantize writes file type ``ft``."""
    plan = _gguf_plan(spec)
    qs = _QuantState(
        ftype=ft.name,
        arch=plan.arch,
        n_layer=plan.n_layer,
        n_expert=plan.n_expert,
        n_gqa=plan.n_gqa,
        is_70b=plan.is_70b,
        has_imatrix=ft.imatrix,
        has_tied_embeddings=plan.has_tied_embeddings,
        n_attention_wv=plan.n_attention_wv,
    )
    default = ft.default_type
    quantized_default = default not in ("F32", "F16", "BF16")
    types: dict[str, str] = {}
    for e in plan.entries:
        if e.role == "f32":
            new = "F32"
        elif expert_type is not None and e.tensor.routed and e.role == "quant":
            new = _fallback(expert_type, e.ne0)
        elif e.role == "keep":
            new = float_type
        elif not quantized_default:
            new = default
        else:
            new = _get_type_impl(qs, default, e.tensor, e.gname, e.category, e.ne0, e.stacked)
            new = _fallback(new, e.ne0)
        types[e.gname] = new
    return types


@lru_cache(maxsize=4096)
def _row_bytes(type_name: str, ne0: int) -> int:
    return get_ggml_type(type_name).row_bytes(ne0)


def _gguf_nbytes(t: Tensor, type_name: str) -> int:
    return prod(t.shape[:-1]) * t.experts * _row_bytes(type_name, t.shape[-1])


def _quantize_gguf(
    spec: ModelSpec, ft: _GgufFileType, *, float_type: str = "F16", expert_type: str | None = None
) -> tuple[QuantizedTensor, ...]:
    types = _gguf_types(spec, ft, float_type=float_type, expert_type=expert_type)
    storage: list[list[str]] = [[] for _ in spec.tensors]
    nbytes = [0] * len(spec.tensors)
    for e in _gguf_plan(spec).by_index:
        storage[e.index].append(types[e.gname])
        nbytes[e.index] += e.rows * _row_bytes(types[e.gname], e.ne0)
    return tuple(
        QuantizedTensor(t, "+".join(dict.fromkeys(storage[i])), nbytes[i])
        for i, t in enumerate(spec.tensors)
    )


def gguf_tensor_types(spec: ModelSpec, fmt_id: str) -> dict[str, str]:
    """Return {GGUF tensor name: ggml type} as llama-quantize would write ``fmt_id``."""
    fmt = get_format(fmt_id)
    if fmt.family != "gguf":
        raise InvalidWorkload(msg("{id!r} is not a GGUF file type", id=fmt.id), field="weights")
    return _gguf_types(spec, _gguf_file_types()[fmt.id])


# ---------------------------------------------------------------------------------------
# Entry points


_DTYPE_TO_FLOAT = {
    "bfloat16": "bf16",
    "bf16": "bf16",
    "float16": "fp16",
    "fp16": "fp16",
    "half": "fp16",
    "float32": "fp32",
    "fp32": "fp32",
    "float": "fp32",
}


def resolve_auto(spec: ModelSpec) -> str:
    """Return the format id of the checkpoint as published (``weights="auto"``)."""
    if spec.checkpoint_quant is None:
        return _DTYPE_TO_FLOAT.get(spec.dtype, "bf16")
    key = _normalize(spec.checkpoint_quant)
    try:
        get_format(key)
    except UnknownQuantFormat:
        raise UnknownQuantFormat(
            msg(
                "the checkpoint of {model} is pre-quantized as {quant!r}, which the engine "
                "does not model; pass an explicit weights format (e.g. bf16, fp8, nf4, q4_k_m)",
                model=spec.name or spec.model_type,
                quant=spec.checkpoint_quant,
            ),
            field="weights",
        ) from None
    return key


def quantize_tensors(
    spec: ModelSpec, fmt_id: str, *, runtime: str = "transformers"
) -> tuple[QuantizedTensor, ...]:
    """Return each tensor of ``spec`` as ``runtime`` stores it in format ``fmt_id`` (bytes)."""
    if not isinstance(fmt_id, str) or not isinstance(runtime, str):
        raise InvalidWorkload(
            msg(
                "weights and runtime must be names, got {weights!r} and {runtime!r}",
                weights=fmt_id,
                runtime=runtime,
            ),
            field="weights",
        )
    return _quantize_cached(spec, _normalize(fmt_id), runtime)


_RESULTS: dict[tuple[int, str, str], tuple[ModelSpec, tuple[QuantizedTensor, ...]]] = {}
_RESULTS_MAX = 1024


def _quantize_cached(spec: ModelSpec, fmt_id: str, runtime: str) -> tuple[QuantizedTensor, ...]:
    """Memoize by spec identity: hashing a frozen ModelSpec walks every tensor, which costs
    more than a lookup should. The cache holds the spec, so its id cannot be reused."""
    key = (id(spec), fmt_id, runtime)
    hit = _RESULTS.get(key)
    if hit is not None and hit[0] is spec:
        return hit[1]
    result = _quantize_uncached(spec, fmt_id, runtime)
    if len(_RESULTS) >= _RESULTS_MAX:
        _RESULTS.pop(next(iter(_RESULTS)))
    _RESULTS[key] = (spec, result)
    return result


def _quantize_uncached(spec: ModelSpec, fmt_id: str, runtime: str) -> tuple[QuantizedTensor, ...]:
    if runtime not in RUNTIMES:
        raise InvalidWorkload(
            msg(
                "runtime must be one of {runtimes}; got {value!r}",
                runtimes=", ".join(RUNTIMES),
                value=runtime,
            ),
            field="runtime",
        )
    if fmt_id == "auto":
        fid = resolve_auto(spec)
        if runtime == "llamacpp":
            return _auto_gguf(spec, fid)
        fmt = get_format(fid)
        if runtime not in fmt.runtimes:
            _check_runtime(fmt, runtime)
    else:
        fmt = get_format(fmt_id)
        _check_runtime(fmt, runtime)
    if fmt.family == "float":
        if runtime == "llamacpp":
            ft = _gguf_file_types()[_FLOAT_TO_GGUF[fmt.id]]
            return _quantize_gguf(spec, ft, float_type=ft.default_type)
        return _quantize_float(spec, fmt.id)
    if fmt.family == "gguf":
        return _quantize_gguf(spec, _gguf_file_types()[fmt.id])
    row = _row(fmt)
    if fmt.family == "fp8":
        return _quantize_fp8(spec, row, runtime)
    if fmt.family == "bnb":
        return _quantize_bnb(spec, row, runtime)
    if fmt.family in ("gptq", "awq"):
        return _quantize_gptq(spec, row)
    if fmt.family == "mxfp4":
        return _quantize_mxfp4(spec)
    raise AssertionError(f"unhandled family {fmt.family}")  # pragma: no cover


def _auto_gguf(spec: ModelSpec, fid: str) -> tuple[QuantizedTensor, ...]:
    """The published checkpoint converted with convert_hf_to_gguf.py: floats keep their
    dtype (FP8 is dequantized to BF16); MXFP4 experts stay MXFP4."""
    fmt = get_format(fid)
    if fmt.family == "float":
        ft = _gguf_file_types()[_FLOAT_TO_GGUF[fmt.id]]
        return _quantize_gguf(spec, ft, float_type=ft.default_type)
    if fmt.family == "fp8":
        ft = _gguf_file_types()["bf16"]
        return _quantize_gguf(spec, ft, float_type="BF16")
    if fmt.family == "mxfp4":
        ft = _gguf_file_types()["bf16"]
        return _quantize_gguf(spec, ft, float_type="BF16", expert_type="MXFP4")
    raise InvalidWorkload(
        msg(
            "the checkpoint is {label}; llama.cpp runs GGUF files: pick a GGUF type such as "
            "q4_k_m or q8_0 for runtime llamacpp",
            label=fmt.label,
        ),
        field="weights",
    )


def weights_bytes(spec: ModelSpec, fmt_id: str, *, runtime: str = "transformers") -> int:
    """Return the bytes of all weights of ``spec`` in format ``fmt_id`` on ``runtime``."""
    return sum(q.nbytes for q in quantize_tensors(spec, fmt_id, runtime=runtime))
