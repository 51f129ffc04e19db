"""GGUF files: which tensors a converted model holds, and the ggml type of each after
llama-quantize.

Two upstream steps, in order:

1. ``convert_hf_to_gguf.py`` names every tensor (``blk.N.attn_v.weight``), writes 1-D
   tensors, norms, the MoE router and position embeddings as F32 and the rest in the
   checkpoint's float type, and splits an MLA ``kv_b`` projection into ``attn_k_b`` and
   ``attn_v_b``. ``gguf_plan`` reproduces that once per spec.
2. llama-quantize visits the tensors in its order (non-layer tensors first, then by layer,
   then by name: ``weight_name_comparer``), because several rules count tensors as they go,
   and asks ``llama_quant.llama_tensor_get_type_impl`` for each type, then
   ``tensor_type_fallback`` when a row does not fill the type's blocks.

``quantize_gguf`` returns one ``QuantizedTensor`` per spec tensor (a split tensor lists both
types, "Q4_K+Q6_K"). Allocator rounding and placement (e.g. llama.cpp keeping ``token_embd``
on the CPU) are the caller's business.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from math import prod
from typing import Literal

from .formats import GgufFileType, QuantizedTensor
from .ggml import GgmlType, row_bytes, type_name
from .llama_quant import (
    ATTN_V_LIKE,
    QuantizeState,
    TensorCategory,
    llama_tensor_get_type_impl,
    tensor_allows_quantization,
    tensor_get_category,
    tensor_type_fallback,
)
from .memo import per_spec_cache
from .model import ModelSpec, StoredGguf, Tensor

# spec names that GGUF spells differently (phi3's fused gate+up projection is "ffn_up")
_GGUF_RENAMES = {"ffn_gate_up": "ffn_up"}


def gguf_name(t: Tensor) -> str:
    """The tensor's name in a GGUF file ("blk.3.attn_v.weight", "output_norm.weight")."""
    base = _GGUF_RENAMES.get(t.name, t.name)
    name = base if base.endswith(".bias") else f"{base}.weight"
    return name if t.layer is None else f"blk.{t.layer}.{name}"


def _gguf_dims(t: Tensor) -> int:
    return len(t.shape) + (1 if t.experts > 1 else 0)


def _source_type(t: Tensor, gname: str, float_type: GgmlType) -> GgmlType:
    """Type in the converted (unquantized) GGUF: convert_hf_to_gguf.py writes 1-D tensors,
    norms, the MoE router, position embeddings and non-".weight" tensors as F32."""
    if (
        _gguf_dims(t) < 2
        or gname.endswith("_norm.weight")
        or not gname.endswith(".weight")
        or any(s in gname for s in ("ffn_gate_inp", "pos_embd.weight", "token_types.weight"))
    ):
        return GgmlType.F32
    return float_type


@dataclass(frozen=True)
class GgufEntry:
    """One GGUF tensor as llama-quantize sees it (a spec tensor, or half of a split one)."""

    index: int  # position in spec.tensors
    tensor: Tensor
    gname: str  # GGUF name, e.g. "blk.3.attn_v.weight"
    category: TensorCategory
    role: Literal["f32", "keep", "quant"]  # F32 always / the file's float type / quantizable
    ne0: int  # row length (in_features)
    rows: int  # rows over all experts
    stacked: bool  # ne[2] > 1 in GGUF (expert stacks, MLA k_b/v_b)


@dataclass(frozen=True)
class GgufPlan:
    """The per-spec part of llama-quantize's work: tensors in its order and model facts."""

    entries: tuple[GgufEntry, ...]  # in weight_name_comparer order: layer (-1 first), name
    by_index: tuple[GgufEntry, ...]  # in spec order
    arch: str
    n_layer: int
    n_expert: int
    n_gqa: int
    is_70b: bool
    has_tied_embeddings: bool
    n_attention_wv: int


def _mla_kv_b_split(spec: ModelSpec, t: Tensor) -> tuple[tuple[str, int, int], ...]:
    """(GGUF name, ne0, rows) of attn_k_b and attn_v_b for an MLA kv_b projection, else ()."""
    if t.name != "attn_kv_b" or t.layer is None or t.layer >= len(spec.layers):
        return ()
    att = spec.layers[t.layer].attention
    heads, nope, v, rank = att.num_heads, att.qk_nope_head_dim, att.v_head_dim, att.kv_lora_rank
    if att.kind != "mla" or t.shape != (heads * (nope + v), rank) or t.experts != 1:
        return ()
    return (("attn_k_b", nope, heads * rank), ("attn_v_b", rank, heads * v))


@per_spec_cache(maxsize=256)
def gguf_plan(spec: ModelSpec) -> GgufPlan:
    """Return the GGUF tensors of ``spec`` in llama-quantize's order, with the model facts
    its rules read (memoized by spec identity)."""
    entries = []
    for i, t in enumerate(spec.tensors):
        gname = gguf_name(t)
        split = _mla_kv_b_split(spec, t)
        if split:
            # convert_hf_to_gguf.py (DeepseekV2Model.modify_tensors, "MLA with the absorption
            # optimization, needs these two split and k_b_proj transposed") writes kv_b_proj as
            # attn_k_b (heads, kv_lora_rank, qk_nope) and attn_v_b (heads, v_head, kv_lora_rank)
            for part, ne0, rows in split:
                pname = f"blk.{t.layer}.{part}.weight"
                entries.append(
                    GgufEntry(i, t, pname, tensor_get_category(pname), "quant", ne0, rows, True)
                )
            continue
        if _source_type(t, gname, GgmlType.F16) == GgmlType.F32:
            role = "f32"
        elif t.kind == "other" or not tensor_allows_quantization(gname, _gguf_dims(t)):
            # "other" tensors (e.g. a vision tower) are not in the language-model GGUF that
            # llama-quantize rewrites (llama.cpp keeps them in a separate mmproj file)
            role = "keep"
        else:
            role = "quant"
        entries.append(
            GgufEntry(
                index=i,
                tensor=t,
                gname=gname,
                category=tensor_get_category(gname),
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
    arch = spec.gguf_arch  # convert_hf_to_gguf's LLM_ARCH (arch.handlers traits)
    return GgufPlan(
        entries=tuple(entries),
        by_index=tuple(sorted(entries, key=lambda e: e.index)),
        arch=arch,
        n_layer=spec.num_layers,
        n_expert=max((layer.mlp.num_experts for layer in spec.layers), default=0),
        n_gqa=n_gqa,
        # llama-model.cpp: LLM_ARCH_LLAMA with 80 layers and GQA is LLM_TYPE_70B
        is_70b=arch == "llama" and spec.num_layers == 80 and n_gqa > 1,
        has_tied_embeddings=not any(e.gname == "output.weight" for e in entries),
        n_attention_wv=sum(1 for e in entries if e.category in ATTN_V_LIKE),
    )


def gguf_types(
    spec: ModelSpec,
    ft: GgufFileType,
    *,
    float_type: GgmlType = GgmlType.F16,
    expert_type: GgmlType | None = None,
) -> dict[str, GgmlType]:
    """{GGUF tensor name: ggml type} as llama-quantize writes file type ``ft``.

    ``float_type`` is the type of tensors llama-quantize leaves alone; ``expert_type``
    forces routed experts to one type (an MXFP4 checkpoint converted as is).
    """
    plan = gguf_plan(spec)
    qs = QuantizeState(
        ftype=ft.ftype,
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
    quantized_default = default not in (GgmlType.F32, GgmlType.F16, GgmlType.BF16)
    types: dict[str, GgmlType] = {}
    for e in plan.entries:
        if e.role == "f32":
            new = GgmlType.F32
        elif expert_type is not None and e.tensor.routed and e.role == "quant":
            new = tensor_type_fallback(expert_type, e.ne0)
        elif e.role == "keep":
            new = float_type
        elif not quantized_default:
            new = default
        else:
            new = llama_tensor_get_type_impl(
                qs, default, e.category, layer=e.tensor.layer, ne0=e.ne0, stacked=e.stacked
            )
            new = tensor_type_fallback(new, e.ne0)
        types[e.gname] = new
    return types


def quantize_gguf(
    spec: ModelSpec,
    ft: GgufFileType,
    *,
    float_type: GgmlType = GgmlType.F16,
    expert_type: GgmlType | None = None,
    file_types: Mapping[str, GgmlType] | None = None,
) -> tuple[QuantizedTensor, ...]:
    """Return each spec tensor as stored in a GGUF file of type ``ft`` (exact bytes).

    ``file_types`` ({GGUF name: ggml type}, read from a real file) wins over the preset's
    rules for every tensor it names: the bytes are then the file's own.
    """
    types = gguf_types(spec, ft, float_type=float_type, expert_type=expert_type)
    if file_types:
        types = {name: file_types.get(name, t) for name, t in types.items()}
    storage: list[list[str]] = [[] for _ in spec.tensors]
    nbytes = [0] * len(spec.tensors)
    for e in gguf_plan(spec).by_index:
        t = types[e.gname]
        storage[e.index].append(type_name(t))
        nbytes[e.index] += e.rows * row_bytes(t, e.ne0)
    return tuple(
        QuantizedTensor(t, "+".join(dict.fromkeys(storage[i])), nbytes[i])
        for i, t in enumerate(spec.tensors)
    )


# the config key under which a GGUF file's own types travel (engine.hub.resolve writes it)
GGUF_FILE_KEY = "gguf_file"


def with_gguf_file(spec: ModelSpec, config: Mapping[str, object]) -> ModelSpec:
    """Return ``spec`` carrying the per-tensor types of the GGUF file ``config`` was read
    from (``config["gguf_file"] = {"weights": id, "tensor_types": {name: type}}``), else
    ``spec`` itself (also when the entry is not of that shape: the preset's types apply)."""
    from dataclasses import replace

    gf = config.get(GGUF_FILE_KEY)
    if not isinstance(gf, dict):
        return spec
    weights, types = gf.get("weights"), gf.get("tensor_types")
    if not isinstance(weights, str) or not isinstance(types, dict):
        return spec
    pairs = tuple((k, v) for k, v in types.items() if isinstance(k, str) and isinstance(v, str))
    return replace(spec, gguf_file=StoredGguf(weights, pairs))
