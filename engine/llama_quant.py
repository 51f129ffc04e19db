"""llama-quantize's per-tensor type choice, mirroring ``src/llama-quant.cpp``.

Pinned to ggml-org/llama.cpp 007dbbf (the commit ``data/quant_formats.json`` cites for the
file types). Each function here is named after the upstream one it mirrors and keeps its
branch order, so a diff against a newer llama-quant.cpp maps line to line:

* ``tensor_get_category``: broad roles matched on the GGUF tensor name.
* ``tensor_allows_quantization``: which tensors are never quantized (norms, router...).
* ``use_more_bits``: the layers that get more bits in the ``_M`` mixes.
* ``llama_tensor_get_type_impl``: the mix rules (output/token-embedding types, the
  ``attn_v``/``ffn_down`` bumps, 8-expert and GQA rules). It counts tensors as it goes, in
  ``QuantizeState``, so callers visit tensors in llama.cpp's order.
* ``tensor_type_fallback``: the 32-block type used when a row does not fill 256-blocks.

Types are enums whose values mirror the C enums (``GgmlType`` = ``enum ggml_type``,
``LlamaFtype`` = ``enum llama_ftype``). Which tensors exist and how they are named in the
GGUF file is ``gguf.py``'s business.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum, IntEnum

from .errors import InvalidWorkload
from .ggml import GgmlType, block_size
from .ggml import GgmlType as T
from .memo import cached
from .messages import msg


class LlamaFtype(IntEnum):
    """``enum llama_ftype`` (include/llama.h, ``LLAMA_FTYPE_MOSTLY_<name>``). Values must
    match llama.h and the ``ftype`` of each row in data/quant_formats.json (a test checks
    both against gguf-py's ``LlamaFileType``). Retired ids are never reused."""

    F32 = 0  # LLAMA_FTYPE_ALL_F32
    F16 = 1
    Q4_0 = 2
    Q4_1 = 3
    # 4 (Q4_1_SOME_F16), 5 (Q4_2), 6 (Q4_3): removed upstream
    Q8_0 = 7
    Q5_0 = 8
    Q5_1 = 9
    Q2_K = 10
    Q3_K_S = 11
    Q3_K_M = 12
    Q3_K_L = 13
    Q4_K_S = 14
    Q4_K_M = 15
    Q5_K_S = 16
    Q5_K_M = 17
    Q6_K = 18
    IQ2_XXS = 19
    IQ2_XS = 20
    Q2_K_S = 21
    IQ3_XS = 22
    IQ3_XXS = 23
    IQ1_S = 24
    IQ4_NL = 25
    IQ3_S = 26
    IQ3_M = 27
    IQ2_S = 28
    IQ2_M = 29
    IQ4_XS = 30
    IQ1_M = 31
    BF16 = 32
    # 33-35 (Q4_0_4_4, Q4_0_4_8, Q4_0_8_8): removed upstream
    TQ1_0 = 36
    TQ2_0 = 37
    MXFP4_MOE = 38
    NVFP4 = 39  # not offered as a file type here
    Q1_0 = 40  # not offered as a file type here
    Q2_0 = 41  # not offered as a file type here; named by one token_embd rule


F = LlamaFtype


class TensorCategory(Enum):
    """``enum class tensor_category``."""

    OUTPUT = "output"
    TOKEN_EMBD = "token_embd"
    ATTENTION_QKV = "attn_qkv"
    ATTENTION_KV_B = "attn_kv_b"
    ATTENTION_V = "attn_v"
    ATTENTION_K = "attn_k"
    ATTENTION_Q = "attn_q"
    ATTENTION_OUTPUT = "attn_output"
    FFN_UP = "ffn_up"
    FFN_GATE = "ffn_gate"
    FFN_DOWN = "ffn_down"
    OTHER = "other"


C = TensorCategory

# tensor_get_category: substring matches, first hit wins (upstream order)
_CATEGORY_NEEDLES = (
    ("attn_qkv.weight", C.ATTENTION_QKV),
    ("attn_kv_b.weight", C.ATTENTION_KV_B),
    ("attn_v.weight", C.ATTENTION_V),
    ("attn_k.weight", C.ATTENTION_K),
    ("attn_q.weight", C.ATTENTION_Q),
    ("attn_output.weight", C.ATTENTION_OUTPUT),
    ("ffn_up", C.FFN_UP),
    ("ffn_gate", C.FFN_GATE),
    ("ffn_down", C.FFN_DOWN),
)


@cached(maxsize=16384)
def tensor_get_category(name: str) -> TensorCategory:
    """Broad role of a tensor, matched on its GGUF name."""
    if name == "output.weight":
        return C.OUTPUT
    if name in ("token_embd.weight", "per_layer_token_embd.weight"):
        return C.TOKEN_EMBD
    for needle, cat in _CATEGORY_NEEDLES:
        if needle in name:
            return cat
    return C.OTHER


# attn_v, fused attn_qkv and MLA attn_kv_b share the attn_v rules and counter
ATTN_V_LIKE = (C.ATTENTION_V, C.ATTENTION_QKV, C.ATTENTION_KV_B)


# tensor_allows_quantization: name fragments never quantized (the ones that can appear in a
# ModelSpec); these keep the type convert_hf_to_gguf.py wrote.
_NEVER_QUANTIZED = ("_norm.weight", "ffn_gate_inp.weight", "pos_embd.weight", "token_types.weight")


def tensor_allows_quantization(name: str, n_dims: int) -> bool:
    """Whether llama-quantize may change this tensor's type (2-D+ weights only)."""
    if n_dims < 2 or not name.endswith("weight"):
        return False
    return not any(s in name for s in _NEVER_QUANTIZED)


@dataclass
class QuantizeState:
    """``quantize_state_impl``: the model facts the rules read and the running counters."""

    ftype: LlamaFtype
    arch: str  # "llama", "falcon" or the model_type
    n_layer: int
    n_expert: int
    n_gqa: int
    is_70b: bool  # LLM_TYPE_70B
    has_imatrix: bool
    has_tied_embeddings: bool
    n_attention_wv: int = 0
    i_attention_wv: int = 0
    i_ffn_down: int = 0
    i_ffn_gate: int = 0
    i_ffn_up: int = 0


def use_more_bits(i_layer: int, n_layers: int) -> bool:
    """The first and last eighth of the layers and every third layer in between. (The C
    remainder of a negative number is never reached: the first test already holds for
    i_layer < n_layers/8.)"""
    n8 = n_layers // 8
    return i_layer < n8 or i_layer >= 7 * n_layers // 8 or (i_layer - n8) % 3 == 2


def llama_tensor_get_type_impl(
    qs: QuantizeState,
    new_type: GgmlType,
    cat: TensorCategory,
    *,
    layer: int | None,
    ne0: int,
    stacked: bool,
) -> GgmlType:
    """The mix rules for one tensor, starting from the file type's default ``new_type``.

    ``layer`` is the tensor's block index (MoE models read it instead of the counters),
    ``ne0`` its row length and ``stacked`` whether it is 3-D in GGUF (expert stacks).
    """
    ft = qs.ftype
    n_expert = qs.n_expert
    gqa = qs.n_gqa

    def layer_of(counter: int) -> int:
        return layer if (n_expert > 1 and layer is not None) else counter

    low_iq = (F.IQ2_XXS, F.IQ2_XS, F.IQ1_S, F.IQ2_S, F.IQ2_M, F.IQ1_M)
    if cat == C.OUTPUT or (qs.has_tied_embeddings and cat == C.TOKEN_EMBD):
        if ft == F.MXFP4_MOE or qs.arch == "falcon" or ne0 % block_size(new_type):
            new_type = T.Q8_0
        elif ft in (F.IQ2_XXS, F.IQ2_XS, F.IQ3_XXS, F.IQ1_S, F.IQ2_S, F.IQ2_M, F.IQ1_M):
            new_type = T.Q5_K
        elif new_type != T.Q8_0:
            new_type = T.Q6_K
    elif ft == F.MXFP4_MOE:
        new_type = T.MXFP4 if stacked else T.Q8_0
    elif cat == C.TOKEN_EMBD:
        if ft in (F.IQ2_XXS, F.IQ2_XS, F.IQ1_S, F.IQ1_M):
            new_type = T.Q2_K
        elif ft in (F.IQ2_S, F.IQ2_M, F.IQ3_XXS):
            new_type = T.IQ3_S
        elif ft in (F.TQ1_0, F.TQ2_0, F.Q2_0):
            new_type = T.Q4_K
    elif ft in low_iq:
        iq2s = ft in (F.IQ2_S, F.IQ2_M)
        if cat in ATTN_V_LIKE:
            if gqa >= 4 or n_expert >= 4:  # noqa: SIM108 (mirrors llama.cpp)
                new_type = T.Q4_K
            else:
                new_type = T.IQ3_S if iq2s else T.Q2_K
            qs.i_attention_wv += 1
        elif n_expert == 8 and cat == C.ATTENTION_K:
            new_type = T.Q4_K
        elif cat == C.FFN_DOWN:
            if qs.i_ffn_down < qs.n_layer // 8:
                new_type = T.IQ3_S if iq2s else T.Q2_K
            qs.i_ffn_down += 1
        elif cat == C.ATTENTION_OUTPUT:
            if n_expert == 8:
                new_type = T.Q5_K
            elif ft in (F.IQ1_S, F.IQ1_M):
                new_type = T.IQ2_XXS
            elif iq2s:
                new_type = T.IQ3_S
    elif cat in ATTN_V_LIKE:
        i_wv, n_wv = qs.i_attention_wv, qs.n_attention_wv
        if ft == F.Q2_K:
            new_type = T.Q4_K if gqa >= 4 else T.Q3_K
        elif ft == F.Q2_K_S and gqa >= 4:
            new_type = T.Q4_K
        elif ft == F.IQ3_XXS:
            new_type = T.Q4_K if gqa >= 4 else (T.IQ3_XXS if qs.has_imatrix else T.IQ3_S)
        elif ft in (F.IQ3_XS, F.IQ3_S) and gqa >= 4:  # noqa: SIM114 (mirrors llama.cpp)
            new_type = T.Q4_K
        elif ft == F.IQ3_M:
            new_type = T.Q4_K
        elif ft == F.Q3_K_M:
            new_type = T.Q5_K if i_wv < 2 else T.Q4_K
        elif ft == F.Q3_K_L:  # noqa: SIM114 (mirrors llama.cpp)
            new_type = T.Q5_K
        elif ft in (F.IQ4_NL, F.IQ4_XS) and gqa >= 4:
            new_type = T.Q5_K
        elif ft in (F.Q4_K_M, F.Q5_K_M) and use_more_bits(i_wv, n_wv):
            new_type = T.Q6_K
        elif ft == F.Q4_K_S and i_wv < 4:
            new_type = T.Q5_K
        if qs.is_70b and new_type in (T.Q3_K, T.Q4_K):
            new_type = T.Q5_K
        if n_expert == 8:
            new_type = T.Q8_0
        qs.i_attention_wv += 1
    elif cat == C.ATTENTION_K:
        if n_expert == 8:
            new_type = T.Q8_0
        elif ft == F.IQ3_XS:
            new_type = T.IQ3_XXS
        elif ft == F.IQ3_XXS:
            new_type = T.IQ2_S
    elif cat == C.ATTENTION_Q:
        if ft == F.IQ3_XS:
            new_type = T.IQ3_XXS
        elif ft == F.IQ3_XXS:
            new_type = T.IQ2_S
    elif cat == C.FFN_DOWN:
        i_layer, n_layer = layer_of(qs.i_ffn_down), qs.n_layer
        falcon = qs.arch == "falcon"
        if ft == F.Q2_K:
            new_type = T.Q3_K
        elif ft == F.Q2_K_S:
            if i_layer < n_layer // 8:
                new_type = T.Q4_K
        elif ft == F.IQ3_XXS and not qs.has_imatrix:
            new_type = T.Q4_K if i_layer < n_layer // 8 else T.Q3_K
        elif ft == F.Q3_K_M:
            if i_layer < n_layer // 16:
                new_type = T.Q5_K
            elif not falcon or use_more_bits(i_layer, n_layer):
                new_type = T.Q4_K
            else:
                new_type = T.Q3_K
        elif ft == F.IQ3_M and (
            i_layer < n_layer // 8 or (n_expert == 8 and use_more_bits(i_layer, n_layer))
        ):
            new_type = T.Q4_K
        elif ft == F.Q3_K_L:
            new_type = T.Q4_K if falcon else T.Q5_K
        elif ft == F.Q4_K_M:
            if falcon:
                new_type = (
                    T.Q6_K
                    if i_layer < n_layer // 16
                    else T.Q5_K
                    if use_more_bits(i_layer, n_layer)
                    else T.Q4_K
                )
            elif use_more_bits(i_layer, n_layer):
                new_type = T.Q6_K
        elif i_layer < n_layer // 8 and ft in (F.IQ4_NL, F.IQ4_XS) and not qs.has_imatrix:
            new_type = T.Q5_K
        elif ft == F.Q5_K_M and use_more_bits(i_layer, n_layer):
            new_type = T.Q6_K
        elif ft == F.Q4_K_S and not falcon and i_layer < n_layer // 8:
            new_type = T.Q5_K
        elif ft in (F.Q4_0, F.Q5_0) and qs.has_imatrix and i_layer < n_layer // 8:
            new_type = T.Q4_1 if ft == F.Q4_0 else T.Q5_1
        qs.i_ffn_down += 1
    elif cat == C.ATTENTION_OUTPUT:
        if qs.arch != "falcon":
            if n_expert == 8:
                if ft in (
                    F.Q2_K,
                    F.IQ3_XS,
                    F.IQ3_XXS,
                    F.Q3_K_S,
                    F.Q3_K_M,
                    F.IQ4_NL,
                    F.Q4_K_S,
                    F.Q4_K_M,
                    F.IQ3_S,
                    F.IQ3_M,
                    F.IQ4_XS,
                ):
                    new_type = T.Q5_K
            else:
                new_type = {
                    F.Q2_K: T.Q3_K,
                    F.IQ3_XXS: T.IQ3_S,
                    F.Q3_K_M: T.Q4_K,
                    F.Q3_K_L: T.Q5_K,
                    F.IQ3_M: T.Q4_K,
                }.get(ft, new_type)
        elif ft == F.Q3_K_L:
            new_type = T.Q4_K
    elif cat in (C.FFN_GATE, C.FFN_UP):
        counter = qs.i_ffn_gate if cat == C.FFN_GATE else qs.i_ffn_up
        i_layer, n_layer = layer_of(counter), qs.n_layer
        if ft == F.IQ3_XS and n_layer // 8 <= i_layer < 7 * n_layer // 8:
            new_type = T.IQ3_XXS
        if cat == C.FFN_GATE:
            qs.i_ffn_gate += 1
        else:
            qs.i_ffn_up += 1
    return new_type


# tensor_type_fallback's switch: the 32-block type for each 256-block type
_FALLBACK = {
    T.IQ1_S: T.IQ4_NL,
    T.IQ1_M: T.IQ4_NL,
    T.IQ2_XXS: T.IQ4_NL,
    T.IQ2_XS: T.IQ4_NL,
    T.IQ2_S: T.IQ4_NL,
    T.IQ3_XXS: T.IQ4_NL,
    T.IQ3_S: T.IQ4_NL,
    T.IQ4_XS: T.IQ4_NL,
    T.Q2_0: T.Q4_0,
    T.Q2_K: T.Q4_0,
    T.Q3_K: T.Q4_0,
    T.TQ1_0: T.Q4_0,
    T.TQ2_0: T.Q4_0,
    T.Q4_K: T.Q5_0,
    T.Q5_K: T.Q5_1,
    T.Q6_K: T.Q8_0,
}


def tensor_type_fallback(target: GgmlType, ncols: int) -> GgmlType:
    """``target`` when ``ncols`` fills whole blocks, else its 32-block fallback, else F16."""
    if ncols % block_size(target) == 0:
        return target
    if target not in _FALLBACK:
        raise InvalidWorkload(
            msg(
                "row size {ne0} is not a multiple of {type} block size "
                "{block} and llama.cpp defines no fallback type",
                ne0=ncols,
                type=target.name,
                block=block_size(target),
            ),
            field="weights",
        )
    fb = _FALLBACK[target]
    return fb if ncols % block_size(fb) == 0 else T.F16
