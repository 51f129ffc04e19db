"""Text decoders of the 2025-26 generation that keep the Llama skeleton (RMSNorm, GQA, gated
MLP) but differ in where the MoE layers sit, how the query/key norms are shaped and which
layers attend to a chunk or a window.

* ``minimax_m2``: every layer MoE (no shared expert), q/k RMSNorm over the whole projection.
* ``glm4_moe`` (GLM-4.5/4.6): dense ``first_k_dense_replace`` layers, then MoE with
  ``n_shared_experts`` always-on experts; q/k/v bias (``attention_bias``), optional per-head
  q/k norm (``use_qk_norm``). The checkpoint's multi-token-prediction layer
  (``num_nextn_predict_layers``) is not built by transformers and is not counted.
* ``llama4_text``: MoE every ``interleave_moe_layer_step``-th layer (``moe_layers``) with one
  shared expert, dense layers of ``intermediate_size_mlp``; RoPE layers attend to chunks of
  ``attention_chunk_size`` tokens (transformers caches them like a sliding window of that
  size), every ``no_rope_layer_interval``-th layer is global. The q/k norm is a weightless
  L2 norm.

Config defaults are transformers 5.25.0's config-class defaults, kept here.
"""

from __future__ import annotations

from typing import Any

from ..model import AttentionSpec, LayerSpec
from .blocks import (
    Builder,
    Dims,
    attn_qkvo,
    check_top_k,
    checked_dims,
    dense_spec,
    embeddings,
    finish_head,
    gqa_spec,
    mlp_gated,
    moe_block,
)
from .fields import Config

MODERN_DEFAULTS: dict[str, dict[str, Any]] = {
    "minimax_m2": {  # MiniMaxM2Config
        "vocab_size": 200064,
        "hidden_size": 3072,
        "intermediate_size": 1536,
        "num_layers": 62,
        "num_heads": 48,
        "num_kv_heads": 8,
        "head_dim": 128,
        "max_position_embeddings": 196608,
        "num_experts": 256,
        "experts_per_token": 8,
        "tie_word_embeddings": False,
        "sliding_window": None,
    },
    "glm4_moe": {  # Glm4MoeConfig
        "vocab_size": 151552,
        "hidden_size": 4096,
        "intermediate_size": 10944,
        "num_layers": 46,
        "num_heads": 96,
        "num_kv_heads": 8,
        "head_dim": 128,
        "max_position_embeddings": 131072,
        "moe_intermediate_size": 1408,
        "num_experts": 128,
        "experts_per_token": 8,
        "n_shared_experts": 1,
        "first_k_dense_replace": 1,
        "attention_bias": False,
        "use_qk_norm": False,
        "tie_word_embeddings": False,
    },
    "llama4_text": {  # Llama4TextConfig
        "vocab_size": 202048,
        "hidden_size": 5120,
        "intermediate_size": 8192,
        "intermediate_size_mlp": 16384,
        "num_layers": 48,
        "num_heads": 40,
        "num_kv_heads": 8,
        "head_dim": 128,
        "max_position_embeddings": 4096 * 32,
        "num_experts": 16,
        "experts_per_token": 1,
        "interleave_moe_layer_step": 1,
        "moe_layers": None,
        "no_rope_layers": None,
        "no_rope_layer_interval": 4,
        "attention_chunk_size": 8192,
        "attention_bias": False,
        "tie_word_embeddings": False,
    },
}


def with_defaults(c: Config) -> Config:
    """Add this module's transformers defaults under the model_type's own."""
    c.defaults.update(MODERN_DEFAULTS.get(c.model_type, {}))
    return c


def _known(c: Config, name: str) -> int | None:
    """The model_type's default for an absent key, None when it is derived from others."""
    value = c.defaults.get(name)
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def gqa_dims(c: Config) -> Dims:
    """GQA sizes; an absent num_key_value_heads means MHA, an absent head_dim
    hidden_size // num_attention_heads (unless the model_type's default says otherwise)."""
    hidden = c.int("hidden_size")
    heads = c.int("num_heads")
    kv_heads = c.int("num_kv_heads") if c.has("num_kv_heads") else _known(c, "num_kv_heads")
    head_dim = c.opt_int("head_dim", None) if c.has("head_dim") else _known(c, "head_dim")
    kv_heads = kv_heads or heads
    head_dim = head_dim or hidden // heads
    return checked_dims(c, hidden, heads, kv_heads, head_dim)


def _moe_setup(c: Config) -> tuple[Dims, int, int, int]:
    """This module's defaults applied, then (dims, layers, experts, experts per token)."""
    with_defaults(c)
    d = gqa_dims(c)
    n = c.int("num_layers")
    n_exp, top_k = c.int("num_experts"), c.int("experts_per_token")
    check_top_k(c, top_k, n_exp)
    return d, n, n_exp, top_k


def build_minimax_m2(c: Config, b: Builder) -> bool:
    """minimax_m2 (MiniMax-M2/M2.1/M2.5): all-MoE, whole-projection q/k norms."""
    d, n, n_exp, top_k = _moe_setup(c)
    inter = c.int("intermediate_size")
    window = c.opt_int("sliding_window")
    types = c.layer_types(n) or ["full_attention"] * n
    embeddings(b, d)
    for i in range(n):
        b.norm("attn_norm", d.hidden, i)
        attn_qkvo(b, i, d)
        b.norm("attn_q_norm", d.heads * d.head_dim, i)
        b.norm("attn_k_norm", d.kv_heads * d.head_dim, i)
        b.norm("ffn_norm", d.hidden, i)
        mlp = moe_block(b, c, i, d.hidden, inter, n_exp, top_k)
        w = window if types[i] == "sliding_attention" else None
        b.layers.append(LayerSpec(i, gqa_spec(d, w), mlp))
    return finish_head(b, c, d)


def build_glm4_moe(c: Config, b: Builder) -> bool:
    """glm4_moe (GLM-4.5, GLM-4.5-Air, GLM-4.6): leading dense layers, shared + routed experts."""
    d, n, n_exp, top_k = _moe_setup(c)
    moe_inter = c.int("moe_intermediate_size")
    shared = moe_inter * c.int("n_shared_experts", minimum=0)
    first_dense = c.int("first_k_dense_replace", minimum=0)
    qk_norm = c.bool("use_qk_norm")
    embeddings(b, d)
    for i in range(n):
        b.norm("attn_norm", d.hidden, i)
        attn_qkvo(b, i, d, qkv_bias=c.bool("attention_bias"))
        if qk_norm:
            b.norm("attn_q_norm", d.head_dim, i)
            b.norm("attn_k_norm", d.head_dim, i)
        b.norm("ffn_norm", d.hidden, i)
        if i >= first_dense:
            mlp = moe_block(b, c, i, d.hidden, moe_inter, n_exp, top_k, shared)
        else:
            inter = c.int("intermediate_size")
            mlp_gated(b, i, d.hidden, inter)
            mlp = dense_spec(c, inter)
        b.layers.append(LayerSpec(i, gqa_spec(d, None), mlp))
    return finish_head(b, c, d)


def build_llama4_text(c: Config, b: Builder) -> bool:
    """llama4_text: interleaved MoE (one shared expert) and dense layers, chunked attention."""
    d, n, n_exp, top_k = _moe_setup(c)
    step = c.int("interleave_moe_layer_step")
    moe_layers = set(c.int_list("moe_layers")) if c.get("moe_layers") is not None else None
    if moe_layers is None:
        moe_layers = set(range(step - 1, n, step))
    rope = c.int_list("no_rope_layers") if c.get("no_rope_layers") else []
    if not rope:
        interval = c.int("no_rope_layer_interval")
        rope = [int((i + 1) % interval != 0) for i in range(n)]
    chunk = c.opt_int("attention_chunk_size")
    types = c.layer_types(n) or [
        "chunked_attention" if rope[i] and chunk is not None else "full_attention" for i in range(n)
    ]
    expert_inter = c.int("intermediate_size")
    embeddings(b, d)
    for i in range(n):
        b.norm("attn_norm", d.hidden, i)
        attn_qkvo(b, i, d, qkv_bias=c.bool("attention_bias"), o_bias=c.bool("attention_bias"))
        b.norm("ffn_norm", d.hidden, i)
        if i in moe_layers:
            mlp = moe_block(b, c, i, d.hidden, expert_inter, n_exp, top_k, expert_inter)
        else:
            inter = c.int("intermediate_size_mlp")
            mlp_gated(b, i, d.hidden, inter)
            mlp = dense_spec(c, inter)
        window = chunk if types[i] == "chunked_attention" else None
        b.layers.append(LayerSpec(i, gqa_spec(d, window), mlp))
    return finish_head(b, c, d)


def build_mimo_v2_flash(c: Config, b: Builder) -> bool:
    """mimo_v2_flash (MiMo-V2-Flash): sliding-window layers with twice the KV heads and
    per-head attention sinks, full layers at 0 and every 6th; q/k heads wider than v heads;
    layer 0 dense, the rest MoE.

    transformers reads ``layer_types`` / ``mlp_layer_types`` (else the defaults above), not
    the Hub's ``hybrid_layer_pattern`` / ``moe_layer_freq`` (they agree for the released
    model); the window is ``sliding_window_size + 1`` when that key is present. The
    checkpoint's ``model.mtp.*`` layers are not built by transformers and are not counted.
    """
    c.defaults.update(
        {
            "num_kv_heads": 4,
            "head_dim": 192,
            "v_head_dim": 128,
            "sliding_window": 129,
            "moe_intermediate_size": 2048,
            "num_experts": 256,
            "experts_per_token": 8,
            "tie_word_embeddings": False,
        }
    )
    hidden, heads = c.int("hidden_size"), c.int("num_heads")
    kv_full = c.int("num_kv_heads")
    qk_dim, v_dim = c.int("head_dim"), c.int("v_head_dim")
    vocab, n = c.int("vocab_size"), c.int("num_layers")
    n_exp, top_k = c.int("num_experts"), c.int("experts_per_token")
    check_top_k(c, top_k, n_exp)
    window = c.int("sliding_window")
    if isinstance(c.raw.get("sliding_window_size"), int):
        window = c.raw["sliding_window_size"] + 1
    types = c.layer_types(n) or [
        "full_attention" if i == 0 or not (i + 1) % 6 else "sliding_attention" for i in range(n)
    ]
    mlp_types = c.raw.get("mlp_layer_types") or ["dense"] + ["sparse"] * (n - 1)
    bias = c.bool("attention_bias")
    d = Dims(hidden, heads, kv_full, qk_dim, vocab)
    embeddings(b, d)
    for i in range(n):
        swa = types[i] == "sliding_attention"
        kv = 2 * kv_full if swa else kv_full
        b.norm("attn_norm", hidden, i)
        b.linear("attn_q", heads * qk_dim, hidden, i, bias=bias)
        b.linear("attn_k", kv * qk_dim, hidden, i, bias=bias)
        b.linear("attn_v", kv * v_dim, hidden, i, bias=bias)
        b.linear("attn_output", hidden, heads * v_dim, i)
        if swa:
            b.add("attn_sinks", (heads,), "other", i)
        b.norm("ffn_norm", hidden, i)
        if mlp_types[i] == "sparse":
            mlp = moe_block(b, c, i, hidden, c.int("moe_intermediate_size"), n_exp, top_k)
        else:
            inter = c.int("intermediate_size")
            mlp_gated(b, i, hidden, inter)
            mlp = dense_spec(c, inter)
        attn = AttentionSpec(
            kind="gqa",
            num_heads=heads,
            num_kv_heads=kv,
            head_dim=qk_dim,
            v_head_dim=v_dim,
            kv_elems_per_token=kv * (qk_dim + v_dim),
            window=window if swa else None,
        )
        b.layers.append(LayerSpec(i, attn, mlp))
    return finish_head(b, c, d)
