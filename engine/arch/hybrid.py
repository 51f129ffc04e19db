"""Hybrid layouts whose token mixer is, in some or all layers, a recurrent one with a
fixed-size per-sequence state instead of a KV cache.

* ``qwen3_next``: Gated DeltaNet linear attention in 3 of every 4 layers (``layer_types``,
  else ``full_attention_interval``), gated full attention (``q_proj`` twice as wide: the
  output gate) in the rest; a sparse MoE block with one gated shared expert in every layer.
* ``nemotron_h`` (Nemotron-H, Nemotron 3): one mixer per layer (``hybrid_override_pattern``):
  Mamba-2, attention, a squared-ReLU MLP or an MoE block.
* ``granitemoehybrid`` (Granite 4.0-H): Mamba-2 or attention, then routed experts plus a
  shared MLP.
* ``qwen3_5``, ``qwen3_5_moe`` (Qwen3.5): the ``qwen3_next`` language model in a
  vision-language wrapper with a ViT.
* ``falcon_h1`` (Falcon-H1): attention and Mamba-2 side by side in every layer (both caches).
* ``jamba`` (Jamba): Mamba-1 layers with attention every ``attn_layer_period``-th layer,
  MoE every ``expert_layer_period``-th.
* ``lfm2`` (LFM2): gated short-convolution layers (a conv window only, no SSM state) and
  attention with q/k norms.

The recurrent layers get an ``AttentionSpec`` of kind ``"recurrent"`` (no KV elements) and a
``RecurrentSpec`` (the conv window and the delta/SSM state, laid out per runtime by
``engine.kv.state_layer_bytes``). Config defaults are transformers' config-class defaults
(5.25.0), kept here so the shared ``data/arch_defaults.json`` need not change.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..errors import ConfigError
from ..messages import msg
from ..model import AttentionSpec, LayerSpec, MlpSpec, RecurrentSpec
from .blocks import (
    Builder,
    Dims,
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

_GRANITE_MAMBA: dict[str, Any] = {  # GraniteMoeHybridConfig's Mamba-2 defaults
    "mamba_n_heads": 128,
    "mamba_d_head": "auto",
    "mamba_n_groups": 1,
    "mamba_d_state": 256,
    "mamba_d_conv": 4,
    "mamba_expand": 2,
    "mamba_conv_bias": True,
    "mamba_proj_bias": False,
}

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
    "qwen3_5_text": {  # Qwen3_5TextConfig
        "vocab_size": 248320,
        "hidden_size": 4096,
        "intermediate_size": 12288,
        "num_layers": 32,
        "num_heads": 16,
        "num_kv_heads": 4,
        "head_dim": 256,
        "max_position_embeddings": 32768,
        "linear_conv_kernel_dim": 4,
        "linear_key_head_dim": 128,
        "linear_value_head_dim": 128,
        "linear_num_key_heads": 16,
        "linear_num_value_heads": 32,
        "full_attention_interval": 4,
    },
    "qwen3_5_moe_text": {  # Qwen3_5MoeTextConfig
        "vocab_size": 248320,
        "hidden_size": 2048,
        "num_layers": 40,
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
        "moe_intermediate_size": 512,
        "shared_expert_intermediate_size": 512,
        "experts_per_token": 8,
        "num_experts": 256,
    },
    "qwen3_5_vision": {  # Qwen3_5VisionConfig
        "depth": 27,
        "hidden_size": 1152,
        "intermediate_size": 4304,
        "in_channels": 3,
        "patch_size": 16,
        "spatial_merge_size": 2,
        "temporal_patch_size": 2,
        "out_hidden_size": 3584,
        "num_position_embeddings": 2304,
    },
    "lfm2": {  # Lfm2Config
        "vocab_size": 65536,
        "hidden_size": 2560,
        "intermediate_size": 12288,
        "num_layers": 32,
        "num_heads": 32,
        "num_kv_heads": 8,
        "max_position_embeddings": 128000,
        "tie_word_embeddings": True,
        "conv_bias": False,
        "conv_L_cache": 3,
        "block_multiple_of": 256,
        "block_ffn_dim_multiplier": 1.0,
        "block_auto_adjust_ff_dim": True,
        "full_attn_idxs": None,
    },
    "jamba": {  # JambaConfig
        "vocab_size": 65536,
        "hidden_size": 4096,
        "intermediate_size": 14336,
        "num_layers": 32,
        "num_heads": 32,
        "num_kv_heads": 8,
        "max_position_embeddings": 262144,
        "experts_per_token": 2,
        "num_experts": 16,
        "expert_layer_period": 2,
        "expert_layer_offset": 1,
        "attn_layer_period": 8,
        "attn_layer_offset": 4,
        "mamba_d_state": 16,
        "mamba_d_conv": 4,
        "mamba_expand": 2,
        "mamba_dt_rank": "auto",
        "mamba_conv_bias": True,
        "mamba_proj_bias": False,
    },
    "falcon_h1": {  # FalconH1Config
        "vocab_size": 128000,
        "hidden_size": 4096,
        "intermediate_size": 14336,
        "num_layers": 32,
        "num_heads": 32,
        "num_kv_heads": 8,
        "max_position_embeddings": 8192,
        "mamba_d_ssm": 1024,
        "mamba_n_heads": 128,
        "mamba_d_head": "auto",
        "mamba_n_groups": 1,
        "mamba_d_state": 256,
        "mamba_d_conv": 4,
        "mamba_expand": 2,
        "mamba_conv_bias": True,
        "mamba_proj_bias": False,
        "mamba_rms_norm": False,
        "projectors_bias": False,
    },
    "nemotron_h": {  # NemotronHConfig
        "vocab_size": 131072,
        "hidden_size": 4096,
        "num_heads": 32,
        "num_kv_heads": 8,
        "head_dim": 128,
        "max_position_embeddings": 4096,
        "intermediate_size": 21504,
        "ssm_state_size": 128,
        "mamba_num_heads": 128,
        "mamba_head_dim": 64,
        "n_groups": 8,
        "conv_kernel": 4,
        "use_conv_bias": True,
        "use_bias": False,
        "num_experts": 8,
        "experts_per_token": 2,
        "moe_intermediate_size": 7688,
        "moe_shared_expert_intermediate_size": 7688,
        "moe_latent_size": None,
    },
    "granitemoehybrid": {  # GraniteMoeHybridConfig
        "vocab_size": 32000,
        "hidden_size": 4096,
        "intermediate_size": 11008,
        "num_layers": 32,
        "num_heads": 32,
        "max_position_embeddings": 2048,
        "num_experts": 8,
        "experts_per_token": 2,
        "shared_intermediate_size": 1024,
        **_GRANITE_MAMBA,
    },
}

# Nemotron-H's hybrid_override_pattern letters and the legacy layers_block_type names
_NEMOTRON_PATTERN = {"M": "linear_attention", "E": "moe", "*": "full_attention", "-": "mlp"}
_LEGACY_KINDS = {"mamba": "linear_attention", "attention": "full_attention"}
_NO_MLP = MlpSpec(kind="dense", intermediate_size=0, gated=False)


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


def recurrent_attention(heads: int = 0, head_dim: int = 0, v_head_dim: int = 0) -> AttentionSpec:
    """The AttentionSpec of a layer without KV cache (its mixer's heads, for TP checks;
    none for a layer that is only an MLP)."""
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
    return _gated_deltanet_decoder(c, b)


def _gated_deltanet_decoder(c: Config, b: Builder) -> bool:
    """The Qwen3-Next / Qwen3.5 language model: Gated DeltaNet or gated attention, then a
    dense MLP (qwen3_5_text) or MoE with a gated shared expert (the others; qwen3_next
    also honours ``decoder_sparse_step`` and ``mlp_only_layers``)."""
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
    dense = c.model_type == "qwen3_5_text"
    n_exp = 0 if dense else c.int("num_experts", minimum=0)
    top_k = 0 if dense else c.int("experts_per_token")
    sparse_step = c.int("decoder_sparse_step") if c.model_type == "qwen3_next" else 1
    mlp_only = set(c.int_list("mlp_only_layers")) if c.model_type == "qwen3_next" else set()
    expert_inter = 0 if dense else c.int("moe_intermediate_size")
    shared_inter = 0 if dense else c.int("shared_expert_intermediate_size")
    state = RecurrentSpec(
        kind="gated_deltanet",
        conv_base=conv_dim,
        conv_kernel=kernel,
        state_heads=nv,
        state_head_elems=dk * dv,
        hf_fp32_state=True,
        # vLLM's Qwen3_5ForConditionalGenerationConfig applies the text config's
        # mamba_ssm_dtype (float32 in the releases); Qwen3-Next writes none: model dtype
        vllm_fp32_state=c.raw.get("mamba_ssm_dtype") in ("float32", "fp32"),
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
            # qwen3_next fuses in_proj_qkvz / in_proj_ba; Qwen3.5 splits them (same sizes)
            b.linear("ssm_in", 2 * key_dim + 2 * value_dim, hidden, i)  # q, k, v, z
            b.linear("ssm_ba", 2 * nv, hidden, i)  # beta, a
            b.add("ssm_conv1d", (conv_dim, 1, kernel), "other", i)
            b.add("ssm_dt", (nv,), "other", i)  # dt_bias
            b.add("ssm_a", (nv,), "other", i)  # A_log
            b.norm("ssm_norm", dv, i)  # gated RMSNorm over one value head
            b.linear("ssm_out", hidden, value_dim, i)
            att, layer_state = recurrent_attention(nv, dk, dv), state
        b.norm("ffn_norm", hidden, i)
        if n_exp > 0 and i not in mlp_only and (i + 1) % sparse_step == 0:
            check_top_k(c, top_k, n_exp)
            mlp = moe_block(
                b, c, i, hidden, expert_inter, n_exp, top_k, shared_inter, shared_gate=True
            )
        else:
            inter = c.int("intermediate_size")
            mlp_gated(b, i, hidden, inter)
            mlp = dense_spec(c, inter)
        b.layers.append(LayerSpec(i, att, mlp, layer_state))
    return finish_head(b, c, d)


@dataclass(frozen=True)
class Mamba2Dims:
    heads: int
    head_dim: int
    d_state: int
    groups: int
    kernel: int
    conv_bias: bool
    bias: bool
    out_bias: bool | None = None  # out_proj's bias when it differs from in_proj's (Falcon-H1)
    norm: bool = True  # the gated RMSNorm before out_proj (Falcon-H1: mamba_rms_norm)


def nemotron_mamba2(c: Config) -> Mamba2Dims:
    """NemotronHConfig's Mamba-2 keys (and their legacy mamba_* spellings)."""
    return Mamba2Dims(
        heads=c.int("mamba_num_heads"),
        head_dim=c.int("mamba_head_dim"),
        d_state=c.int("ssm_state_size"),
        groups=c.int(_key(c, "n_groups", "mamba_n_groups")),
        kernel=c.int(_key(c, "conv_kernel", "mamba_d_conv")),
        conv_bias=c.bool(_key(c, "use_conv_bias", "mamba_conv_bias")),
        bias=c.bool("use_bias"),
    )


def granite_mamba2(c: Config) -> Mamba2Dims:
    """GraniteMoeHybrid keys: ``mamba_d_head`` "auto" = expand × hidden / heads."""
    heads = c.int("mamba_n_heads")
    if c.get("mamba_d_head", "auto") in (None, "auto"):
        head_dim = c.int("mamba_expand") * c.int("hidden_size") // heads
    else:
        head_dim = c.int("mamba_d_head")
    return Mamba2Dims(
        heads=heads,
        head_dim=head_dim,
        d_state=c.int("mamba_d_state"),
        groups=c.int("mamba_n_groups"),
        kernel=c.int("mamba_d_conv"),
        conv_bias=c.bool("mamba_conv_bias"),
        bias=c.bool("mamba_proj_bias"),
    )


def _key(c: Config, name: str, legacy: str) -> str:
    """``name``, or its legacy spelling when only that is in config.json."""
    return legacy if legacy in c.raw and name not in c.raw else name


def mamba2_mixer(
    b: Builder,
    i: int,
    hidden: int,
    m: Mamba2Dims,
    *,
    hf_fp32_state: bool = True,
    vllm_fp32_state: bool = False,
) -> RecurrentSpec:
    """A Mamba-2 mixer's tensors (in_proj, depthwise conv1d, dt_bias/A_log/D, gated RMSNorm,
    out_proj) and its per-sequence state: conv over x, B, C; state [heads, head_dim, d_state].
    transformers keeps that state in float32 (measured for Nemotron-H)."""
    heads, head_dim, d_state, groups, kernel = m.heads, m.head_dim, m.d_state, m.groups, m.kernel
    inner = heads * head_dim
    conv_dim = inner + 2 * groups * d_state
    b.linear("ssm_in", inner + conv_dim + heads, hidden, i, bias=m.bias)
    b.add("ssm_conv1d", (conv_dim, 1, kernel), "other", i)
    if m.conv_bias:
        b.add("ssm_conv1d.bias", (conv_dim,), "bias", i)
    b.add("ssm_dt", (heads,), "other", i)
    b.add("ssm_a", (heads,), "other", i)
    b.add("ssm_d", (heads,), "other", i)
    if m.norm:
        b.norm("ssm_norm", inner, i)
    b.linear("ssm_out", hidden, inner, i, bias=m.bias if m.out_bias is None else m.out_bias)
    return RecurrentSpec(
        kind="mamba2",
        conv_base=inner,
        conv_kernel=kernel,
        state_heads=heads,
        state_head_elems=head_dim * d_state,
        groups=groups,
        group_channels=2 * d_state,
        hf_fp32_state=hf_fp32_state,
        vllm_fp32_state=vllm_fp32_state,
    )


def _nemotron_kinds(c: Config) -> list[str]:
    """layers_block_type / layer_types, else hybrid_override_pattern, else the class default."""
    raw = c.raw
    allowed = ("linear_attention", "full_attention", "moe", "mlp")
    value = raw.get("layers_block_type", raw.get("layer_types"))
    key = "layers_block_type" if "layers_block_type" in raw else "layer_types"
    if value is None and "hybrid_override_pattern" in raw:
        pattern, key = raw["hybrid_override_pattern"], "hybrid_override_pattern"
        if isinstance(pattern, str) and pattern and set(pattern) <= set(_NEMOTRON_PATTERN):
            return [_NEMOTRON_PATTERN[ch] for ch in pattern]
        value = pattern
    elif value is None:
        return ["linear_attention", "moe", "full_attention", "mlp"]
    if isinstance(value, list) and value and all(isinstance(v, str) for v in value):
        kinds = [_LEGACY_KINDS.get(v, v) for v in value]
        if all(k in allowed for k in kinds):
            return kinds
    raise ConfigError(
        msg(
            "{key!r} in config.json ({model_type}) must list one layer kind per layer "
            "({allowed}; or a pattern of M, E, * and -); got {value!r}.",
            key=key,
            model_type=c.model_type,
            allowed=", ".join(repr(a) for a in allowed),
            value=value,
        ),
        field=key,
    )


def build_nemotron_h(c: Config, b: Builder) -> bool:
    """nemotron_h (Nemotron-H, Nemotron 3): one mixer per layer, each with a pre-norm: Mamba-2
    (M), attention (*), a squared-ReLU MLP (-) or MoE with a shared expert (E).

    The layer count is the pattern's length (transformers ignores num_hidden_layers); the
    router weight is an fp32 parameter and its ``e_score_correction_bias`` a buffer."""
    _with_defaults(c)
    hidden = c.int("hidden_size")
    heads = c.int("num_heads")
    kv_heads = c.int("num_kv_heads")
    head_dim = c.int("head_dim")
    d = Dims(hidden, heads, kv_heads, head_dim, c.int("vocab_size"))
    kinds = _nemotron_kinds(c)
    mlp_bias = c.bool("mlp_bias")
    act = str(c.raw.get("mlp_hidden_act", "relu2"))
    vllm_fp32 = c.raw.get("mamba_ssm_cache_dtype", "float32") in ("float32", "fp32")
    mamba = nemotron_mamba2(c)
    embeddings(b, d)
    for i, kind in enumerate(kinds):
        b.norm("attn_norm", hidden, i)  # the block's only norm
        state = None
        mlp = _NO_MLP
        if kind == "linear_attention":
            state = mamba2_mixer(b, i, hidden, mamba, vllm_fp32_state=vllm_fp32)
            att = recurrent_attention(mamba.heads, mamba.head_dim, 0)
        elif kind == "full_attention":
            b.linear("attn_q", heads * head_dim, hidden, i)
            b.linear("attn_k", kv_heads * head_dim, hidden, i)
            b.linear("attn_v", kv_heads * head_dim, hidden, i)
            b.linear("attn_output", hidden, heads * head_dim, i)
            att = gqa_spec(d, None)
        elif kind == "mlp":
            inter = c.int("intermediate_size")
            b.linear("ffn_up", inter, hidden, i, bias=mlp_bias)
            b.linear("ffn_down", hidden, inter, i, bias=mlp_bias)
            att = recurrent_attention()
            mlp = MlpSpec(kind="dense", intermediate_size=inter, gated=False, activation=act)
        else:  # moe
            n_exp = c.int("num_experts")
            top_k = c.int("experts_per_token")
            inter = c.int("moe_intermediate_size")
            shared = c.int("moe_shared_expert_intermediate_size")
            latent = c.opt_int("moe_latent_size")
            width = latent or hidden
            b.add("ffn_gate_inp", (n_exp, hidden), "linear", i)  # fp32 parameter
            b.linear("ffn_up_exps", inter, width, i, experts=n_exp, routed=True)
            b.linear("ffn_down_exps", width, inter, i, experts=n_exp, routed=True)
            b.linear("ffn_up_shexp", shared, hidden, i, bias=mlp_bias)
            b.linear("ffn_down_shexp", hidden, shared, i, bias=mlp_bias)
            if latent:
                b.linear("ffn_latent_in", latent, hidden, i, bias=mlp_bias)
                b.linear("ffn_latent_out", hidden, latent, i, bias=mlp_bias)
            att = recurrent_attention()
            mlp = MlpSpec(
                kind="moe",
                intermediate_size=inter,
                gated=False,
                activation=act,
                num_experts=n_exp,
                experts_per_token=top_k,
                shared_intermediate_size=shared,
            )
        b.layers.append(LayerSpec(i, att, mlp, state))
    return finish_head(b, c, d)


def _granite_kinds(c: Config, n: int) -> list[str]:
    """``layer_types`` (legacy "mamba"/"attention" accepted), else every layer Mamba-2."""
    types = c.raw.get("layers_block_type", c.raw.get("layer_types"))
    if isinstance(types, list):
        c = Config({**c.raw, "layer_types": [_LEGACY_KINDS.get(t, t) for t in types]}, c.model_type)
    return _layer_kinds(c, n, ("linear_attention", "full_attention"), ["linear_attention"] * n)


def build_granitemoehybrid(c: Config, b: Builder) -> bool:
    """granitemoehybrid (Granite 4.0-H): each layer is Mamba-2 or GQA attention (no RoPE by
    default: nothing to store), then routed experts plus a gated shared MLP (only the shared
    MLP when ``num_local_experts`` is 0)."""
    _with_defaults(c)
    hidden = c.int("hidden_size")
    d = dims(c)
    n = c.int("num_layers")
    kinds = _granite_kinds(c, n)
    mamba = granite_mamba2(c)
    qkv_bias = c.bool("attention_bias")
    n_exp = c.int("num_experts", minimum=0)
    shared = c.int("shared_intermediate_size")
    embeddings(b, d)
    for i, kind in enumerate(kinds):
        b.norm("attn_norm", hidden, i)
        state = None
        if kind == "linear_attention":
            state = mamba2_mixer(b, i, hidden, mamba)
            att = recurrent_attention(mamba.heads, mamba.head_dim, 0)
        else:
            attn_qkvo(b, i, d, qkv_bias=qkv_bias, o_bias=qkv_bias)
            att = gqa_spec(d, None)
        b.norm("ffn_norm", hidden, i)
        if n_exp:
            # shared: input_linear (2 × shared) + output_linear
            top_k = c.int("experts_per_token")
            mlp = moe_block(b, c, i, hidden, c.int("intermediate_size"), n_exp, top_k, shared)
        else:
            mlp_gated(b, i, hidden, shared)
            mlp = dense_spec(c, shared)
        b.layers.append(LayerSpec(i, att, mlp, state))
    return finish_head(b, c, d)


def _qwen3_5_text(c: Config) -> Config:
    """The wrapper's ``text_config`` as qwen3_5_text / qwen3_5_moe_text (the wrapper's
    ``tie_word_embeddings``, which the ForConditionalGeneration class reads, wins)."""
    text = c.raw.get("text_config")
    if not isinstance(text, dict):
        raise ConfigError(
            msg(
                "{key!r} in a {model_type} config.json must be an object.",
                key="text_config",
                model_type=c.model_type,
            ),
            field="text_config",
        )
    kind = f"{c.model_type}_text"
    raw = {**text, "model_type": kind}
    if "tie_word_embeddings" in c.raw:
        raw["tie_word_embeddings"] = c.raw["tie_word_embeddings"]
    t = Config(raw, kind)
    _with_defaults(t)
    return t


def build_qwen3_5(c: Config, b: Builder) -> bool:
    """qwen3_5 / qwen3_5_moe (Qwen3.5): the Qwen3-Next-style language model (dense MLPs or
    MoE in every layer) plus the ViT: 3-D patch conv, learned position table, LayerNorm
    blocks, one 2×2 patch merger (no DeepStack mergers), all ``kind="other"``."""
    tied = _gated_deltanet_decoder(_qwen3_5_text(c), b)
    vision = c.raw.get("vision_config") or {}
    vc = Config(vision if isinstance(vision, dict) else {}, "qwen3_5_vision")
    _with_defaults(vc)
    h, inter = vc.int("hidden_size"), vc.int("intermediate_size")
    patch, temporal = vc.int("patch_size"), vc.int("temporal_patch_size")

    def other(name: str, *shape: int) -> None:
        b.add(name, shape, "other")

    other("v.patch_embd", h, vc.int("in_channels"), temporal, patch, patch)
    other("v.patch_embd.bias", h)
    other("v.position_embd", vc.int("num_position_embeddings"), h)
    for j in range(vc.int("depth")):
        for name, out, inp in (
            ("attn_qkv", 3 * h, h),
            ("attn_out", h, h),
            ("ffn_up", inter, h),
            ("ffn_down", h, inter),
        ):
            other(f"v.blk.{j}.{name}", out, inp)
            other(f"v.blk.{j}.{name}.bias", out)
        for ln in ("ln1", "ln2"):
            other(f"v.blk.{j}.{ln}", h)
            other(f"v.blk.{j}.{ln}.bias", h)
    merged = h * vc.int("spatial_merge_size") ** 2
    other("mm.merger.norm", h)
    other("mm.merger.norm.bias", h)
    other("mm.merger.fc1", merged, merged)
    other("mm.merger.fc1.bias", merged)
    other("mm.merger.fc2", vc.int("out_hidden_size"), merged)
    other("mm.merger.fc2.bias", vc.int("out_hidden_size"))
    return tied


def _lfm2_ffn(c: Config) -> int:
    """Lfm2MLP's width: with ``block_auto_adjust_ff_dim``, 2/3 of ``intermediate_size`` times
    ``block_ffn_dim_multiplier``, rounded up to ``block_multiple_of``."""
    inter = c.int("intermediate_size")
    if not c.bool("block_auto_adjust_ff_dim"):
        return inter
    inter = int(2 * inter / 3)
    mult = c.get("block_ffn_dim_multiplier")
    if mult is not None:
        if isinstance(mult, bool) or not isinstance(mult, (int, float)) or mult <= 0:
            raise ConfigError(
                msg(
                    "{key!r} in config.json ({model_type}) is {value!r}; it must be a "
                    "positive number.",
                    key="block_ffn_dim_multiplier",
                    model_type=c.model_type,
                    value=mult,
                ),
                field="block_ffn_dim_multiplier",
            )
        step = c.int("block_multiple_of")
        inter = step * ((int(mult * inter) + step - 1) // step)
    return inter


def build_lfm2(c: Config, b: Builder) -> bool:
    """lfm2 (LFM2): each layer is a gated short convolution (in_proj to B, C, x; depthwise
    conv of ``conv_L_cache`` taps; out_proj) or GQA attention with per-head q/k RMSNorms,
    then a gated MLP; the final norm is ``embedding_norm``. Layers from ``layer_types``, else
    ``full_attn_idxs`` (transformers' default: every layer attends)."""
    _with_defaults(c)
    if "tie_embedding" in c.raw and "tie_word_embeddings" not in c.raw:
        c = Config({**c.raw, "tie_word_embeddings": c.raw["tie_embedding"]}, c.model_type)
        _with_defaults(c)
    hidden = c.int("hidden_size")
    d = dims(c)
    n = c.int("num_layers")
    attn = c.int_list("full_attn_idxs") if c.get("full_attn_idxs") is not None else range(n)
    fallback = ["full_attention" if i in set(attn) else "conv" for i in range(n)]
    kinds = _layer_kinds(c, n, ("full_attention", "conv"), fallback)
    kernel = c.int("conv_L_cache")
    bias = c.bool("conv_bias")
    inter = _lfm2_ffn(c)
    state = RecurrentSpec(kind="short_conv", conv_base=hidden, conv_kernel=kernel)
    embeddings(b, d)
    for i, kind in enumerate(kinds):
        b.norm("attn_norm", hidden, i)  # operator_norm
        if kind == "full_attention":
            attn_qkvo(b, i, d)
            b.norm("attn_q_norm", d.head_dim, i)
            b.norm("attn_k_norm", d.head_dim, i)
            att, layer_state = gqa_spec(d, None), None
        else:
            b.linear("shortconv_in", 3 * hidden, hidden, i, bias=bias)
            b.add("shortconv_conv", (hidden, 1, kernel), "other", i)
            if bias:
                b.add("shortconv_conv.bias", (hidden,), "bias", i)
            b.linear("shortconv_out", hidden, hidden, i, bias=bias)
            att, layer_state = recurrent_attention(), state
        b.norm("ffn_norm", hidden, i)
        mlp_gated(b, i, hidden, inter)
        b.layers.append(LayerSpec(i, att, dense_spec(c, inter), layer_state))
    return finish_head(b, c, d)


def build_jamba(c: Config, b: Builder) -> bool:
    """jamba: Mamba-1 mixers (in_proj to x and z; depthwise conv; x_proj to dt, B, C with
    RMSNorms on each; dt_proj; A_log [d_inner, d_state], D) or GQA attention at
    ``i % attn_layer_period == attn_layer_offset``; MoE (gated experts, no shared expert) at
    ``i % expert_layer_period == expert_layer_offset``, a gated MLP elsewhere."""
    _with_defaults(c)
    hidden = c.int("hidden_size")
    d = dims(c)
    n = c.int("num_layers")
    a_period, a_offset = c.int("attn_layer_period"), c.int("attn_layer_offset", minimum=0)
    e_period, e_offset = c.int("expert_layer_period"), c.int("expert_layer_offset", minimum=0)
    inner = c.int("mamba_expand") * hidden
    d_state, kernel = c.int("mamba_d_state"), c.int("mamba_d_conv")
    dt_rank = -(-hidden // 16) if c.get("mamba_dt_rank") == "auto" else c.int("mamba_dt_rank")
    conv_bias, bias = c.bool("mamba_conv_bias"), c.bool("mamba_proj_bias")
    n_exp = c.int("num_experts")
    inter = c.int("intermediate_size")
    state = RecurrentSpec(
        kind="mamba",
        conv_base=inner,
        conv_kernel=kernel,
        state_heads=inner,  # one state row per channel (vLLM splits the channels by TP)
        state_head_elems=d_state,
        hf_fp32_state=True,
    )
    embeddings(b, d)
    for i in range(n):
        b.norm("attn_norm", hidden, i)
        if i % a_period == a_offset:
            attn_qkvo(b, i, d)
            att, layer_state = gqa_spec(d, None), None
        else:
            b.linear("ssm_in", 2 * inner, hidden, i, bias=bias)
            b.add("ssm_conv1d", (inner, 1, kernel), "other", i)
            if conv_bias:
                b.add("ssm_conv1d.bias", (inner,), "bias", i)
            b.linear("ssm_x", dt_rank + 2 * d_state, inner, i)
            b.linear("ssm_dt", inner, dt_rank, i, bias=True)
            b.add("ssm_a", (inner, d_state), "other", i)
            b.add("ssm_d", (inner,), "other", i)
            b.linear("ssm_out", hidden, inner, i, bias=bias)
            b.norm("ssm_dt_norm", dt_rank, i)
            b.norm("ssm_b_norm", d_state, i)
            b.norm("ssm_c_norm", d_state, i)
            att, layer_state = recurrent_attention(), state
        b.norm("ffn_norm", hidden, i)
        if n_exp > 1 and i % e_period == e_offset:
            mlp = moe_block(b, c, i, hidden, inter, n_exp, c.int("experts_per_token"))
        else:
            mlp_gated(b, i, hidden, inter)
            mlp = dense_spec(c, inter)
        b.layers.append(LayerSpec(i, att, mlp, layer_state))
    return finish_head(b, c, d)


def build_falcon_h1(c: Config, b: Builder) -> bool:
    """falcon_h1 (Falcon-H1): every layer runs GQA attention and a Mamba-2 mixer on the same
    normalised input (it keeps K/V *and* a recurrent state), then a gated MLP. The Mamba
    width is ``mamba_d_ssm`` (else ``mamba_expand × hidden``); out_proj's bias is
    ``projectors_bias``; the gated norm exists only with ``mamba_rms_norm``; the µP
    multipliers scale activations, and ``mup_vector`` is a buffer, not a parameter."""
    _with_defaults(c)
    hidden = c.int("hidden_size")
    d = dims(c)
    n = c.int("num_layers")
    heads = c.int("mamba_n_heads")
    d_ssm = c.get("mamba_d_ssm")
    inner = c.int("mamba_expand") * hidden if d_ssm is None else c.int("mamba_d_ssm")
    head_dim = inner // heads if c.get("mamba_d_head") == "auto" else c.int("mamba_d_head")
    if head_dim * heads != inner:
        raise ConfigError(
            msg(
                "mamba_n_heads × mamba_d_head ({heads} × {head_dim}) must equal the Mamba "
                "width mamba_d_ssm ({inner}) for model_type {model_type!r}.",
                heads=heads,
                head_dim=head_dim,
                inner=inner,
                model_type=c.model_type,
            ),
            field="mamba_d_ssm",
        )
    mamba = Mamba2Dims(
        heads=heads,
        head_dim=head_dim,
        d_state=c.int("mamba_d_state"),
        groups=c.int("mamba_n_groups"),
        kernel=c.int("mamba_d_conv"),
        conv_bias=c.bool("mamba_conv_bias"),
        bias=c.bool("mamba_proj_bias"),
        out_bias=c.bool("projectors_bias"),
        norm=c.bool("mamba_rms_norm"),
    )
    qkv_bias = c.bool("attention_bias")
    inter = c.int("intermediate_size")
    embeddings(b, d)
    for i in range(n):
        b.norm("attn_norm", hidden, i)
        state = mamba2_mixer(b, i, hidden, mamba)
        attn_qkvo(b, i, d, qkv_bias=qkv_bias, o_bias=qkv_bias)
        b.norm("ffn_norm", hidden, i)
        mlp_gated(b, i, hidden, inter, bias=c.bool("mlp_bias"))
        b.layers.append(LayerSpec(i, gqa_spec(d, None), dense_spec(c, inter), state))
    return finish_head(b, c, d)
