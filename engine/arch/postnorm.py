"""Post-norm decoders with QK norms and a sliding/full layer pattern (transformers 5.25.0):

* ``olmo3`` (OLMo 3): OLMo 2's layer (RMSNorm after attention and after the MLP only, q/k
  RMSNorms over the whole projection, ``attention_bias``) with ``layer_types``: a
  ``sliding_window`` (default 4096) on every layer but each 4th; untied by default.
* ``exaone4`` (EXAONE 4.0): the same post-norm layer, bias-free, with q/k RMSNorms per head
  (``head_dim`` weights); ``layer_types``, else every ``sliding_window_pattern``-th layer
  (default 4) global, none sliding without a ``sliding_window``; untied by default.

Memory differs from OLMo 2 only in the KV cache: sliding layers keep at most the window.
"""

from __future__ import annotations

from typing import Any

from ..model import LayerSpec
from .blocks import Builder, attn_qkvo, dense_spec, embeddings, finish_head, gqa_spec, mlp_gated
from .fields import Config, as_int
from .modern import gqa_dims

# transformers 5.25.0 config-class defaults the builder reads when a key is absent
POSTNORM_DEFAULTS: dict[str, dict[str, Any]] = {
    "olmo3": {"tie_word_embeddings": False, "attention_bias": False},
    "exaone4": {"tie_word_embeddings": False},
}
_DEFAULT_WINDOW = 4096  # Olmo3Config and Exaone4Config
_DEFAULT_PATTERN = 4  # every 4th layer global


def _pattern(c: Config) -> int:
    """Exaone4Config builds layer_types from an int ``sliding_window_pattern`` (a string such
    as "LLLG" only describes the file's own layer_types, so it cannot stand in for them)."""
    value = c.get("sliding_window_pattern", _DEFAULT_PATTERN)
    return as_int(value, "sliding_window_pattern", c.model_type, minimum=1)


def postnorm_windows(c: Config, n: int) -> list[int | None]:
    """Per layer, the sliding window its attention uses (None: global)."""
    window = c.opt_int("sliding_window", _DEFAULT_WINDOW)
    types = c.layer_types(n)
    if types is None:
        if window is None:
            return [None] * n
        every = _pattern(c) if c.model_type == "exaone4" else _DEFAULT_PATTERN
        types = [
            "full_attention" if (i + 1) % every == 0 else "sliding_attention" for i in range(n)
        ]
    return [window if t == "sliding_attention" else None for t in types]


def build_postnorm(c: Config, b: Builder) -> bool:
    """olmo3, exaone4."""
    t = c.model_type
    c.defaults.update(POSTNORM_DEFAULTS[t])
    d = gqa_dims(c)
    n = c.int("num_layers")
    windows = postnorm_windows(c, n)
    bias = t == "olmo3" and c.bool("attention_bias")
    inter = c.int("intermediate_size")
    embeddings(b, d)
    for i in range(n):
        attn_qkvo(b, i, d, qkv_bias=bias, o_bias=bias)
        if t == "olmo3":  # over the whole projection, as OLMo 2
            b.norm("attn_q_norm", d.heads * d.head_dim, i)
            b.norm("attn_k_norm", d.kv_heads * d.head_dim, i)
        else:  # per head
            b.norm("attn_q_norm", d.head_dim, i)
            b.norm("attn_k_norm", d.head_dim, i)
        b.norm("post_attention_norm", d.hidden, i)
        mlp_gated(b, i, d.hidden, inter)
        b.norm("post_ffw_norm", d.hidden, i)
        b.layers.append(LayerSpec(i, gqa_spec(d, windows[i]), dense_spec(c, inter)))
    return finish_head(b, c, d)
