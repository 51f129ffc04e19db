"""DeepSeek sparse attention (DSA): DeepSeek-V3.2 (``deepseek_v32``) and GLM-5
(``glm_moe_dsa``) are DeepSeek-V3 layouts (MLA, leading dense layers, shared + routed
experts) whose attention adds a lightning indexer that picks the top-k earlier tokens.

The indexer's parameters (``wq_b``, ``wk``, a LayerNorm on its key, ``weights_proj``) sit in
every layer that runs it (GLM-5: ``indexer_types`` "full"; "shared" layers reuse the previous
layer's selection and have none). Its key, ``index_head_dim`` elements per token, is cached
next to the MLA latent: transformers keeps it in the cache dtype beside the latent, so it is
added to ``kv_elems_per_token`` (vLLM stores it in FP8 with a scale, 132 bytes per token,
which this layout over-counts slightly). transformers does not build the checkpoint's
multi-token-prediction layer (``num_nextn_predict_layers``): it is not counted.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from .blocks import Builder
from .fields import Config
from .mla import build_deepseek

# transformers 5.25.0 config-class defaults (only keys build_deepseek reads)
DSA_DEFAULTS: dict[str, dict[str, Any]] = {
    "deepseek_v32": {
        "index_head_dim": 128,
        "index_n_heads": 64,
        "first_k_dense_replace": 3,
        "attention_bias": False,
        "tie_word_embeddings": False,
    },
    "glm_moe_dsa": {
        "index_head_dim": 128,
        "index_n_heads": 32,
        "first_k_dense_replace": 3,
        "attention_bias": False,
        "mlp_bias": False,
        "tie_word_embeddings": False,
        "q_lora_rank": 2048,
        "kv_lora_rank": 512,
        "qk_rope_head_dim": 64,
        "qk_nope_head_dim": 192,
        "v_head_dim": 256,
    },
}


def indexer_layers(c: Config, n: int) -> list[bool]:
    """Which layers run their own indexer (GLM-5's ``indexer_types`` / ``index_topk_*``)."""
    if c.model_type != "glm_moe_dsa":
        return [True] * n
    types = c.raw.get("indexer_types")
    if not isinstance(types, list):
        pattern = c.raw.get("index_topk_pattern")
        if pattern is not None:
            types = [{"F": "full", "S": "shared"}.get(p, p) for p in pattern]
        else:
            freq = max(c.raw.get("index_topk_freq", 1), 1)
            offset = c.raw.get("index_skip_topk_offset", 2)
            types = ["full" if max(i - offset + 1, 0) % freq == 0 else "shared" for i in range(n)]
    return [t == "full" for t in types]


def build_dsa(c: Config, b: Builder) -> bool:
    """deepseek_v32 / glm_moe_dsa: the DeepSeek-V3 layout plus the per-layer indexer."""
    c.defaults.update(DSA_DEFAULTS[c.model_type])
    tied = build_deepseek(c, b)
    hidden = c.int("hidden_size")
    q_rank = c.int("q_lora_rank")
    idx_dim, idx_heads = c.int("index_head_dim"), c.int("index_n_heads")
    runs = indexer_layers(c, len(b.layers))
    for i, layer in enumerate(b.layers):
        if not runs[i]:
            continue
        b.linear("indexer.attn_q_b", idx_heads * idx_dim, q_rank, i)
        b.linear("indexer.attn_k", idx_dim, hidden, i)
        b.norm("indexer.k_norm", idx_dim, i, bias=True)
        b.linear("indexer.proj", idx_heads, hidden, i)
        kv = layer.attention.kv_elems_per_token + idx_dim
        att = replace(layer.attention, kv_elems_per_token=kv)
        b.layers[i] = replace(layer, attention=att)
    return tied
