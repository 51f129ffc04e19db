"""Older LayerNorm-with-bias layouts: Phi-1/2, GPT-2, GPT-NeoX, Falcon."""

from __future__ import annotations

from ..model import LayerSpec
from .blocks import (
    Builder,
    Dims,
    attn_qkvo,
    dense_spec,
    dims,
    embeddings,
    finish_head,
    gqa_spec,
    mlp_plain,
)
from .fields import Config


def _plain_mlp_layer(
    b: Builder, c: Config, d: Dims, i: int, inter: int, *, bias: bool = True
) -> None:
    """Close layer i: an ungated up/down MLP and full multi-head attention (no window)."""
    mlp_plain(b, i, d.hidden, inter, bias=bias)
    b.layers.append(LayerSpec(i, gqa_spec(d, None), dense_spec(c, inter, gated=False)))


def build_phi(c: Config, b: Builder) -> bool:
    """phi (Phi-1/1.5/2): parallel attention + MLP after one LayerNorm, biases everywhere."""
    d = dims(c)
    n = c.int("num_layers")
    inter = c.int("intermediate_size")
    qk_ln = c.bool("qk_layernorm")
    embeddings(b, d)
    for i in range(n):
        b.norm("attn_norm", d.hidden, i, bias=True)
        attn_qkvo(b, i, d, qkv_bias=True, o_bias=True)
        if qk_ln:  # per-head LayerNorm over hidden_size // num_heads
            b.norm("attn_q_norm", d.hidden // d.heads, i, bias=True)
            b.norm("attn_k_norm", d.hidden // d.heads, i, bias=True)
        _plain_mlp_layer(b, c, d, i, inter)
    return finish_head(b, c, d, norm_bias=True, head_bias=True)


def build_gpt2(c: Config, b: Builder) -> bool:
    """gpt2: learned positions, fused c_attn (Conv1D), biases and LayerNorms everywhere."""
    hidden = c.int("hidden_size")
    heads = c.int("num_heads")
    n = c.int("num_layers")
    n_pos = c.int("max_position_embeddings")
    inter_raw = c.opt_int("intermediate_size", None)
    inter = inter_raw if inter_raw is not None else 4 * hidden
    d = Dims(hidden, heads, heads, hidden // heads, c.int("vocab_size"))
    b.add("token_embd", (d.vocab, hidden), "embedding")
    b.add("pos_embd", (n_pos, hidden), "embedding")
    for i in range(n):
        b.norm("attn_norm", hidden, i, bias=True)
        b.linear("attn_qkv", 3 * hidden, hidden, i, bias=True)
        b.linear("attn_output", hidden, hidden, i, bias=True)
        b.norm("ffn_norm", hidden, i, bias=True)
        _plain_mlp_layer(b, c, d, i, inter)
    return finish_head(b, c, d, norm_bias=True)


def build_gpt_neox(c: Config, b: Builder) -> bool:
    """gpt_neox (Pythia, GPT-NeoX-20B): fused query_key_value, LayerNorms with bias."""
    hidden = c.int("hidden_size")
    heads = c.int("num_heads")
    n = c.int("num_layers")
    inter = c.int("intermediate_size")
    bias = c.bool("attention_bias")
    d = Dims(hidden, heads, heads, hidden // heads, c.int("vocab_size"))
    b.add("token_embd", (d.vocab, hidden), "embedding")
    for i in range(n):
        b.norm("attn_norm", hidden, i, bias=True)
        b.norm("ffn_norm", hidden, i, bias=True)
        b.linear("attn_qkv", 3 * hidden, hidden, i, bias=bias)
        b.linear("attn_output", hidden, hidden, i, bias=bias)
        _plain_mlp_layer(b, c, d, i, inter)
    return finish_head(b, c, d, norm_bias=True)


def build_falcon(c: Config, b: Builder) -> bool:
    """falcon: fused QKV (MHA, multi-query, or grouped in the new decoder architecture)."""
    hidden = c.int("hidden_size")
    heads = c.int("num_heads")
    n = c.int("num_layers")
    head_dim = hidden // heads
    new_arch = c.bool("new_decoder_architecture")
    multi_query = c.bool("multi_query")
    parallel = c.bool("parallel_attn")
    bias = c.bool("bias")
    kv_raw = c.opt_int("num_kv_heads", None)
    if new_arch:
        kv_heads = kv_raw if kv_raw is not None else heads
        qkv_out = (heads + 2 * kv_heads) * head_dim
    elif multi_query:
        kv_heads = 1
        qkv_out = hidden + 2 * head_dim
    else:
        kv_heads = heads
        qkv_out = 3 * hidden
    inter_raw = c.opt_int("intermediate_size", None)
    inter = inter_raw if inter_raw is not None else 4 * hidden
    n_ln = c.opt_int("num_ln_in_parallel_attn")
    if n_ln is None and new_arch:
        n_ln = 2
    d = Dims(hidden, heads, kv_heads, head_dim, c.int("vocab_size"))
    b.add("token_embd", (d.vocab, hidden), "embedding")
    for i in range(n):
        if not parallel:
            b.norm("attn_norm", hidden, i, bias=True)
            b.norm("ffn_norm", hidden, i, bias=True)
        elif n_ln == 2:
            b.norm("attn_norm", hidden, i, bias=True)  # ln_attn
            b.norm("ffn_norm", hidden, i, bias=True)  # ln_mlp
        else:
            b.norm("attn_norm", hidden, i, bias=True)
        b.linear("attn_qkv", qkv_out, hidden, i, bias=bias)
        b.linear("attn_output", hidden, hidden, i, bias=bias)
        _plain_mlp_layer(b, c, d, i, inter, bias=bias)
    return finish_head(b, c, d, norm_bias=True)
