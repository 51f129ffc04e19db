"""Mixture-of-experts layouts with GQA attention (Mixtral, Qwen MoE, gpt-oss)."""

from __future__ import annotations

from ..model import LayerSpec
from .blocks import (
    Builder,
    attn_qkvo,
    check_top_k,
    dense_spec,
    dims,
    embeddings,
    finish_head,
    gqa_spec,
    mlp_gated,
    moe_block,
)
from .fields import Config
from .windows import pattern_windows, qwen2_moe_windows, uniform_windows


def build_moe(c: Config, b: Builder) -> bool:
    """mixtral, qwen2_moe, qwen3_moe, gpt_oss."""
    t = c.model_type
    d = dims(c)
    n = c.int("num_layers")
    n_exp = c.int("num_experts")
    top_k = c.int("experts_per_token")
    embeddings(b, d)
    if t == "gpt_oss":
        expert_inter = c.int("intermediate_size")
        windows = pattern_windows(c, n, pattern=2)
        qkv_bias = o_bias = c.bool("attention_bias")
    elif t == "mixtral":
        expert_inter = c.int("intermediate_size")
        windows = uniform_windows(c, n)
        qkv_bias = o_bias = False
    else:
        expert_inter = c.int("moe_intermediate_size")
        if t == "qwen2_moe":
            windows = qwen2_moe_windows(c, n)
            qkv_bias, o_bias = c.bool("qkv_bias"), False
        else:
            use = c.bool("use_sliding_window")
            windows = [c.opt_int("sliding_window") if use else None] * n
            qkv_bias = o_bias = c.bool("attention_bias")
    check_top_k(c, top_k, n_exp)
    sparse_step = c.int("decoder_sparse_step") if t in ("qwen2_moe", "qwen3_moe") else 1
    mlp_only = set(c.int_list("mlp_only_layers")) if t in ("qwen2_moe", "qwen3_moe") else set()
    shared_inter = c.int("shared_expert_intermediate_size") if t == "qwen2_moe" else 0

    for i in range(n):
        b.norm("attn_norm", d.hidden, i)
        attn_qkvo(b, i, d, qkv_bias=qkv_bias, o_bias=o_bias)
        if t == "gpt_oss":
            b.add("attn_sinks", (d.heads,), "other", i)
        if t == "qwen3_moe":
            b.norm("attn_q_norm", d.head_dim, i)
            b.norm("attn_k_norm", d.head_dim, i)
        b.norm("ffn_norm", d.hidden, i)
        is_moe = i not in mlp_only and (i + 1) % sparse_step == 0
        if is_moe:
            mlp = moe_block(
                b,
                c,
                i,
                d.hidden,
                expert_inter,
                n_exp,
                top_k,
                shared_inter,
                bias=t == "gpt_oss",
                shared_gate=True,
            )
        else:
            inter = c.int("intermediate_size")
            mlp_gated(b, i, d.hidden, inter)
            mlp = dense_spec(c, inter)
        b.layers.append(LayerSpec(i, gqa_spec(d, windows[i]), mlp))
    return finish_head(b, c, d)
