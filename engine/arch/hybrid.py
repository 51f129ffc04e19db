"""Hybrid layouts whose token mixer is, in some or all layers, a recurrent one with a
fixed-size per-sequence state instead of a KV cache.

* ``qwen3_next``: Gated DeltaNet linear attention in 3 of every 4 layers (``layer_types``,
  else ``full_attention_interval``), gated full attention (``q_proj`` twice as wide: the
  output gate) in the rest; a sparse MoE block with one gated shared expert in every layer.

The recurrent layers get an ``AttentionSpec`` of kind ``"recurrent"`` (no KV elements) and a
``RecurrentSpec`` (the conv window and the delta/SSM state, laid out per runtime by
``engine.kv.state_layer_bytes``). Config defaults are transformers' config-class defaults
(5.25.0), kept here so the shared ``data/arch_defaults.json`` need not change.
"""

from __future__ import annotations

from typing import Any

from ..errors import ConfigError
from ..messages import msg
from ..model import AttentionSpec, LayerSpec, MlpSpec, RecurrentSpec
from .blocks import (
    Builder,
    Dims,
    activation,
    dense_spec,
    embeddings,
    finish_head,
    gqa_spec,
    mlp_gated,
    routed_experts,
    shared_expert,
)
from .fields import Config

# transformers 5.25.0 config-class defaults (configuration_<model_type>.py)
HYBRID_DEFAULTS: dict[str, dict[str, Any]] = {
    "qwen3_next": {  # Qwen3NextConfig
        "vocab_size": 151936,
        "hidden_size": 2048,
        "intermediate_size": 5632,
        "num_layers": 48,
        "num_heads": 16,
        "num_kv_heads": 2,
        "head_dim": 256,
        "max_position_embeddings": 32768,
        "linear_conv_kernel_dim": 4,
        "linear_key_head_dim": 128,
        "linear_value_head_dim": 128,
        "linear_num_key_heads": 16,
        "linear_num_value_heads": 32,
        "full_attention_interval": 4,
        "decoder_sparse_step": 1,
        "moe_intermediate_size": 512,
        "shared_expert_intermediate_size": 512,
        "experts_per_token": 10,
        "num_experts": 512,
        "mlp_only_layers": None,
    },
}


def _with_defaults(c: Config) -> None:
    c.defaults.update(HYBRID_DEFAULTS.get(c.model_type, {}))


def _layer_kinds(c: Config, n: int, allowed: tuple[str, ...], fallback: list[str]) -> list[str]:
    """``layer_types`` from the config (checked against ``allowed``), else ``fallback``."""
    types = c.layer_types(n)
    if types is None:
        return fallback
    bad = sorted({t for t in types if t not in allowed})
    if bad:
        raise ConfigError(
            msg(
                "'layer_types' in config.json ({model_type}) has {bad}; each entry must be "
                "one of {allowed}.",
                model_type=c.model_type,
                bad=", ".join(repr(t) for t in bad),
                allowed=", ".join(repr(t) for t in allowed),
            ),
            field="layer_types",
        )
    return types


def recurrent_attention(heads: int, head_dim: int, v_head_dim: int) -> AttentionSpec:
    """The AttentionSpec of a layer without KV cache (its mixer's heads, for TP checks)."""
    return AttentionSpec(
        kind="recurrent",
        num_heads=heads,
        num_kv_heads=0,
        head_dim=head_dim,
        v_head_dim=v_head_dim,
        kv_elems_per_token=0,
    )


def build_qwen3_next(c: Config, b: Builder) -> bool:
    """qwen3_next: Gated DeltaNet + gated attention, MoE with a gated shared expert."""
    _with_defaults(c)
    hidden = c.int("hidden_size")
    heads = c.int("num_heads")
    kv_heads = c.int("num_kv_heads")
    head_dim = c.int("head_dim")
    d = Dims(hidden, heads, kv_heads, head_dim, c.int("vocab_size"))
    n = c.int("num_layers")
    interval = c.int("full_attention_interval")
    kinds = _layer_kinds(
        c,
        n,
        ("linear_attention", "full_attention"),
        ["linear_attention" if (i + 1) % interval else "full_attention" for i in range(n)],
    )
    nk, nv = c.int("linear_num_key_heads"), c.int("linear_num_value_heads")
    dk, dv = c.int("linear_key_head_dim"), c.int("linear_value_head_dim")
    kernel = c.int("linear_conv_kernel_dim")
    key_dim, value_dim = nk * dk, nv * dv
    conv_dim = 2 * key_dim + value_dim
    qkv_bias = c.bool("attention_bias")
    n_exp = c.int("num_experts", minimum=0)
    top_k = c.int("experts_per_token")
    sparse_step = c.int("decoder_sparse_step")
    mlp_only = set(c.int_list("mlp_only_layers"))
    expert_inter = c.int("moe_intermediate_size")
    shared_inter = c.int("shared_expert_intermediate_size")
    state = RecurrentSpec(
        kind="gated_deltanet",
        conv_base=conv_dim,
        conv_kernel=kernel,
        state_heads=nv,
        state_head_elems=dk * dv,
        hf_fp32_state=True,
    )
    embeddings(b, d)
    for i in range(n):
        b.norm("attn_norm", hidden, i)
        if kinds[i] == "full_attention":
            b.linear("attn_q", 2 * heads * head_dim, hidden, i, bias=qkv_bias)  # query + gate
            b.linear("attn_k", kv_heads * head_dim, hidden, i, bias=qkv_bias)
            b.linear("attn_v", kv_heads * head_dim, hidden, i, bias=qkv_bias)
            b.linear("attn_output", hidden, heads * head_dim, i, bias=qkv_bias)
            b.norm("attn_q_norm", head_dim, i)
            b.norm("attn_k_norm", head_dim, i)
            att, layer_state = gqa_spec(d, None), None
        else:
            b.linear("ssm_in", 2 * key_dim + 2 * value_dim, hidden, i)  # in_proj_qkvz
            b.linear("ssm_ba", 2 * nv, hidden, i)  # in_proj_ba
            b.add("ssm_conv1d", (conv_dim, 1, kernel), "other", i)
            b.add("ssm_dt", (nv,), "other", i)  # dt_bias
            b.add("ssm_a", (nv,), "other", i)  # A_log
            b.norm("ssm_norm", dv, i)  # gated RMSNorm over one value head
            b.linear("ssm_out", hidden, value_dim, i)
            att, layer_state = recurrent_attention(nv, dk, dv), state
        b.norm("ffn_norm", hidden, i)
        if n_exp > 0 and i not in mlp_only and (i + 1) % sparse_step == 0:
            if top_k > n_exp:
                raise ConfigError(
                    msg(
                        "num_experts_per_tok={top_k} exceeds the number of experts "
                        "({experts}) for model_type {model_type!r}.",
                        top_k=top_k,
                        experts=n_exp,
                        model_type=c.model_type,
                    ),
                    field="num_experts_per_tok",
                )
            b.linear("ffn_gate_inp", n_exp, hidden, i)
            routed_experts(b, i, hidden, expert_inter, n_exp)
            shared_expert(b, i, hidden, shared_inter)
            b.linear("ffn_gate_inp_shexp", 1, hidden, i)
            mlp = MlpSpec(
                kind="moe",
                intermediate_size=expert_inter,
                gated=True,
                activation=activation(c),
                num_experts=n_exp,
                experts_per_token=top_k,
                shared_intermediate_size=shared_inter,
            )
        else:
            inter = c.int("intermediate_size")
            mlp_gated(b, i, hidden, inter)
            mlp = dense_spec(c, inter)
        b.layers.append(LayerSpec(i, att, mlp, layer_state))
    return finish_head(b, c, d)
