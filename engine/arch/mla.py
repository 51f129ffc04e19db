"""DeepSeek-V2/V3: multi-head latent attention (MLA) with shared + routed experts."""

from __future__ import annotations

from ..errors import ConfigError
from ..messages import msg
from ..model import AttentionSpec, LayerSpec
from .blocks import Builder, Dims, dense_spec, finish_head, mlp_gated, moe_block
from .fields import Config


def build_deepseek(c: Config, b: Builder) -> bool:
    """deepseek_v2 / deepseek_v3: MLA attention, leading dense layers, shared + routed experts.

    transformers makes every layer from ``first_k_dense_replace`` on an MoE layer (it does
    not read ``moe_layer_freq``) and does not instantiate DeepSeek-V3's multi-token-
    prediction layer (``num_nextn_predict_layers``); the V3 router's
    ``e_score_correction_bias`` is a buffer there, not a parameter, so it is not listed.
    """
    t = c.model_type
    hidden = c.int("hidden_size")
    heads = c.int("num_heads")
    vocab = c.int("vocab_size")
    n = c.int("num_layers")
    inter = c.int("intermediate_size")
    kv_rank = c.int("kv_lora_rank")
    q_rank = c.opt_int("q_lora_rank")
    rope = c.int("qk_rope_head_dim")
    nope = c.int("qk_nope_head_dim")
    v_dim = c.int("v_head_dim")
    n_exp = c.int("num_experts")
    top_k = c.opt_int("experts_per_token")
    if top_k is None:
        raise ConfigError(
            msg(
                "config.json for model_type {model_type!r} has no 'num_experts_per_tok'; "
                "add it from the model's original config.json.",
                model_type=t,
            ),
            field="num_experts_per_tok",
        )
    moe_inter = c.int("moe_intermediate_size")
    n_shared = c.int("n_shared_experts", minimum=0)
    first_dense = c.int("first_k_dense_replace", minimum=0)
    attn_bias = c.bool("attention_bias")
    mlp_bias = c.bool("mlp_bias") if t == "deepseek_v2" else False
    qk_dim = nope + rope
    d = Dims(hidden, heads, heads, qk_dim, vocab)
    b.add("token_embd", (vocab, hidden), "embedding")
    attn = AttentionSpec(
        kind="mla",
        num_heads=heads,
        num_kv_heads=heads,
        head_dim=qk_dim,
        v_head_dim=v_dim,
        kv_elems_per_token=kv_rank + rope,
        window=None,
        kv_lora_rank=kv_rank,
        q_lora_rank=q_rank or 0,
        qk_rope_head_dim=rope,
        qk_nope_head_dim=nope,
    )
    for i in range(n):
        b.norm("attn_norm", hidden, i)
        if q_rank is None:
            b.linear("attn_q", heads * qk_dim, hidden, i)
        else:
            b.linear("attn_q_a", q_rank, hidden, i, bias=attn_bias)
            b.norm("attn_q_a_norm", q_rank, i)
            b.linear("attn_q_b", heads * qk_dim, q_rank, i)
        b.linear("attn_kv_a_mqa", kv_rank + rope, hidden, i, bias=attn_bias)
        b.norm("attn_kv_a_norm", kv_rank, i)
        b.linear("attn_kv_b", heads * (nope + v_dim), kv_rank, i)
        b.linear("attn_output", hidden, heads * v_dim, i, bias=attn_bias)
        b.norm("ffn_norm", hidden, i)
        if i >= first_dense:
            shared = moe_inter * n_shared
            mlp = moe_block(b, c, i, hidden, moe_inter, n_exp, top_k, shared, shared_bias=mlp_bias)
        else:
            mlp_gated(b, i, hidden, inter, bias=mlp_bias)
            mlp = dense_spec(c, inter)
        b.layers.append(LayerSpec(i, attn, mlp))
    return finish_head(b, c, d)
