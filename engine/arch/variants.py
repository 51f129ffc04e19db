"""Llama-shaped decoders that differ in a few switches (transformers 5.25.0 classes):

* ``smollm3``: Llama layer; NoPE every ``no_rope_layer_interval``-th layer (no memory effect);
  a sliding window only with ``use_sliding_window``, on the NoPE layers; tied by default.
* ``seed_oss``: q/k/v bias (``attention_bias``), a separate ``attention_out_bias``.
* ``granite``: Llama with ``attention_bias`` / ``mlp_bias`` (its multipliers scale
  activations, not memory).
* ``ernie4_5``: Llama with ``use_bias`` on every projection; tied by default.
* ``cohere``: one bias-free LayerNorm feeds attention and MLP in parallel; the optional q/k
  LayerNorms (``use_qk_norm``) are per head (``heads × head_dim`` weights); tied by default.
"""

from __future__ import annotations

from typing import Any

from ..model import LayerSpec
from .blocks import Builder, attn_qkvo, dense_spec, embeddings, finish_head, gqa_spec, mlp_gated
from .fields import Config
from .modern import gqa_dims

# transformers 5.25.0 config-class defaults the builder reads when a key is absent
VARIANT_DEFAULTS: dict[str, dict[str, Any]] = {
    "smollm3": {"tie_word_embeddings": True, "attention_bias": False, "mlp_bias": False},
    "seed_oss": {
        "tie_word_embeddings": False,
        "attention_bias": True,
        "attention_out_bias": False,
        "mlp_bias": False,
        "head_dim": 128,
    },
    "granite": {"tie_word_embeddings": False, "attention_bias": False, "mlp_bias": False},
    "cohere": {"tie_word_embeddings": True, "attention_bias": False, "use_qk_norm": False},
    "ernie4_5": {"tie_word_embeddings": True, "use_bias": False, "head_dim": 128},
}


def _smollm3_windows(c: Config, n: int) -> list[int | None]:
    """SmolLM3Config: with ``use_sliding_window``, the NoPE layers slide (else none does)."""
    if not c.bool("use_sliding_window", False):
        return [None] * n
    window = c.opt_int("sliding_window", None)
    types = c.layer_types(n)
    if types is None:
        rope = c.int_list("no_rope_layers") if c.get("no_rope_layers", None) else []
        if not rope:
            interval = c.int("no_rope_layer_interval", 4)
            rope = [int((i + 1) % interval != 0) for i in range(n)]
        types = ["sliding_attention" if not rope[i] else "full_attention" for i in range(n)]
    return [window if t == "sliding_attention" else None for t in types]


def build_variant(c: Config, b: Builder) -> bool:
    """smollm3, seed_oss, granite, ernie4_5, cohere."""
    t = c.model_type
    c.defaults.update(VARIANT_DEFAULTS[t])
    d = gqa_dims(c)
    n = c.int("num_layers")
    windows = _smollm3_windows(c, n) if t == "smollm3" else [None] * n
    qkv_bias = c.bool("use_bias") if t == "ernie4_5" else c.bool("attention_bias")
    o_bias = c.bool("attention_out_bias") if t == "seed_oss" else qkv_bias
    mlp_bias = qkv_bias if t == "ernie4_5" else t != "cohere" and c.bool("mlp_bias", False)
    parallel = t == "cohere"  # one CohereLayerNorm (weight only) before attention and MLP
    qk_norm = t == "cohere" and c.bool("use_qk_norm")
    embeddings(b, d)
    for i in range(n):
        b.norm("attn_norm", d.hidden, i)
        attn_qkvo(b, i, d, qkv_bias=qkv_bias, o_bias=o_bias)
        if qk_norm:
            b.norm("attn_q_norm", d.heads * d.head_dim, i)
            b.norm("attn_k_norm", d.kv_heads * d.head_dim, i)
        if not parallel:
            b.norm("ffn_norm", d.hidden, i)
        inter = c.int("intermediate_size")
        mlp_gated(b, i, d.hidden, inter, bias=mlp_bias)
        b.layers.append(LayerSpec(i, gqa_spec(d, windows[i]), dense_spec(c, inter)))
    return finish_head(b, c, d)
