"""Measure the KV cache transformers really keeps, per layer, for every supported family.

Dev-only tool (needs torch and transformers; never a project dependency). For each
architecture family it takes a real ``config.json`` from the catalog (or
``reference/configs/``), shrinks it to a tiny model of the same layout (few layers, small
hidden size, the same ratio of attention heads to KV heads, the same sliding/full layer
pattern, windows scaled down so a short prompt exceeds them), and runs it in bfloat16 with
``use_cache=True``:

1. prefill: one forward over a prompt longer than every window;
2. decode: ``DECODE_STEPS`` more forwards of one token each, feeding the cache back.

After each stage it records, per cache layer, the tokens the cache tensors cover
(``keys.shape[-2]``), the bytes of those tensors (``numel × element_size``) and the bytes of
the storages they keep alive (distinct ``untyped_storage()``s). The two differ for sliding
layers: ``DynamicSlidingWindowLayer.update`` keeps a *view* of the last ``window - 1`` tokens
of the concatenated states, so right after a long prefill the whole prompt's K/V stays
allocated; after the first decode step the storage is the ``window`` tokens of that step's
concatenation.

Usage (from the repository root)::

    /work/refenv/bin/python tools/reference/kv_cache.py            # all families
    /work/refenv/bin/python tools/reference/kv_cache.py --only gemma2,gpt_oss

Writes ``reference/kv_cache.json`` (sorted keys).
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
from pathlib import Path
from typing import Any

import torch
import transformers
from transformers import AutoConfig, AutoModelForCausalLM

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_OUT = ROOT / "reference" / "kv_cache.json"
SCHEMA = 1
BATCH = 2
PROMPT_TOKENS = 80  # > every scaled window (32) and > 2 × window, so windows bind
DECODE_STEPS = 3
DTYPE = torch.bfloat16
SMALL_VOCAB = 512

# family -> (source config: catalog slug or reference/configs name, overrides).
# Overrides keep the layout: heads / KV heads ratio, sliding pattern, MLA split, MoE shape.
CASES: dict[str, tuple[str, dict[str, Any]]] = {
    "llama": (
        "llama-3.2-1b",  # 32 heads / 8 KV heads, head_dim 64
        {
            "hidden_size": 128,
            "num_attention_heads": 8,
            "num_key_value_heads": 2,
            "head_dim": 16,
            "intermediate_size": 256,
            "num_hidden_layers": 2,
        },
    ),
    "mistral": (
        "mistral-7b-v0.1",  # 32 / 8 heads, every layer sliding (4096)
        {
            "hidden_size": 128,
            "num_attention_heads": 8,
            "num_key_value_heads": 2,
            "head_dim": 16,
            "intermediate_size": 256,
            "num_hidden_layers": 2,
            "sliding_window": 32,
        },
    ),
    "mixtral": (
        "mixtral-8x7b",  # 32 / 8 heads, 8 experts top-2
        {
            "hidden_size": 128,
            "num_attention_heads": 8,
            "num_key_value_heads": 2,
            "head_dim": 16,
            "intermediate_size": 128,
            "num_hidden_layers": 2,
            "num_local_experts": 4,
            "num_experts_per_tok": 2,
        },
    ),
    "qwen2": (
        "qwen2.5-7b",  # 28 / 4 heads, use_sliding_window false
        {
            "hidden_size": 112,
            "num_attention_heads": 7,
            "num_key_value_heads": 1,
            "intermediate_size": 256,
            "num_hidden_layers": 2,
            "max_window_layers": 2,
        },
    ),
    "qwen3": (
        "qwen3-8b",  # 32 / 8 heads, head_dim 128 (explicit)
        {
            "hidden_size": 128,
            "num_attention_heads": 8,
            "num_key_value_heads": 2,
            "head_dim": 32,
            "intermediate_size": 256,
            "num_hidden_layers": 2,
            "max_window_layers": 2,
        },
    ),
    "qwen3_moe": (
        "qwen3-30b-a3b",  # 32 / 4 heads, head_dim 128, 128 experts top-8
        {
            "hidden_size": 128,
            "num_attention_heads": 8,
            "num_key_value_heads": 1,
            "head_dim": 32,
            "intermediate_size": 256,
            "moe_intermediate_size": 64,
            "num_experts": 8,
            "num_experts_per_tok": 2,
            "num_hidden_layers": 2,
            "max_window_layers": 2,
        },
    ),
    "gemma2": (
        "gemma-2-2b",  # 8 / 4 heads, head_dim 256, sliding 4096 on every other layer
        {
            "hidden_size": 128,
            "num_attention_heads": 4,
            "num_key_value_heads": 2,
            "head_dim": 32,
            "query_pre_attn_scalar": 32,
            "intermediate_size": 256,
            "num_hidden_layers": 4,
            "sliding_window": 32,
        },
    ),
    "gemma3_text": (
        "gemma-3-1b-it",  # 4 / 1 heads, head_dim 256, 5 local (512) : 1 global
        {
            "hidden_size": 128,
            "num_attention_heads": 4,
            "num_key_value_heads": 1,
            "head_dim": 32,
            "query_pre_attn_scalar": 32,
            "intermediate_size": 256,
            "num_hidden_layers": 7,
            "sliding_window": 32,
        },
    ),
    "phi3": (
        "phi-3-mini-4k-instruct",  # 32 / 32 heads (MHA), sliding_window 2047 in config
        {
            "hidden_size": 128,
            "num_attention_heads": 4,
            "num_key_value_heads": 4,
            "intermediate_size": 256,
            "num_hidden_layers": 2,
            "sliding_window": 31,
        },
    ),
    "gpt2": (
        "gpt2",  # 12 heads MHA, fused c_attn
        {"n_embd": 128, "n_head": 4, "n_layer": 2, "n_positions": 256},
    ),
    "gpt_neox": (
        "redpajama-incite-3b-v1",  # 32 heads MHA
        {
            "hidden_size": 128,
            "num_attention_heads": 4,
            "intermediate_size": 256,
            "num_hidden_layers": 2,
            "max_position_embeddings": 256,
        },
    ),
    "falcon": (
        "falcon-7b-instruct",  # multi_query: 71 heads over 1 KV head
        {"hidden_size": 128, "num_attention_heads": 8, "num_hidden_layers": 2},
    ),
    "starcoder2": (
        "starcoder2-7b",  # 36 / 4 heads, every layer sliding (4096)
        {
            "hidden_size": 144,
            "num_attention_heads": 9,
            "num_key_value_heads": 1,
            "intermediate_size": 256,
            "num_hidden_layers": 2,
            "sliding_window": 32,
        },
    ),
    "olmo2": (
        "olmo-2-7b",  # 32 heads MHA with q/k norms
        {
            "hidden_size": 128,
            "num_attention_heads": 4,
            "num_key_value_heads": 4,
            "intermediate_size": 256,
            "num_hidden_layers": 2,
        },
    ),
    "deepseek_v3": (
        "deepseek-v3",  # MLA: 128 heads, kv_lora_rank 512, nope 128 + rope 64, v 128
        {
            "hidden_size": 128,
            "num_attention_heads": 4,
            "num_key_value_heads": 4,
            "q_lora_rank": 48,
            "kv_lora_rank": 32,
            "qk_nope_head_dim": 16,
            "qk_rope_head_dim": 8,
            "v_head_dim": 16,
            "intermediate_size": 256,
            "moe_intermediate_size": 64,
            "n_routed_experts": 8,
            "num_experts_per_tok": 2,
            "n_group": 2,
            "topk_group": 1,
            "first_k_dense_replace": 1,
            "num_hidden_layers": 2,
        },
    ),
    "gpt_oss": (
        "gpt-oss-20b",  # 64 / 8 heads, head_dim 64, sliding 128 on every other layer
        {
            "hidden_size": 128,
            "num_attention_heads": 8,
            "num_key_value_heads": 1,
            "head_dim": 16,
            "intermediate_size": 64,
            "num_local_experts": 4,
            "num_experts_per_tok": 2,
            "experts_per_token": 2,
            "num_hidden_layers": 4,
            "sliding_window": 32,
        },
    ),
    "qwen3_next": (
        "qwen3-next-80b-a3b-instruct",  # Gated DeltaNet ×3 + gated attention, 512 experts
        {
            "hidden_size": 128,
            "num_attention_heads": 4,
            "num_key_value_heads": 1,  # 16 / 2 heads
            "head_dim": 32,
            "linear_num_key_heads": 2,  # 16 key / 32 value heads
            "linear_num_value_heads": 4,
            "linear_key_head_dim": 16,
            "linear_value_head_dim": 24,  # != key dim: the state is [v heads, dk, dv]
            "intermediate_size": 256,
            "moe_intermediate_size": 32,
            "shared_expert_intermediate_size": 32,
            "num_experts": 8,
            "num_experts_per_tok": 2,
            "num_hidden_layers": 4,
        },
    ),
    "nemotron_h": (
        "nemotron-3-nano-30b-a3b",  # Mamba-2 (64 heads × 64, 8 groups, d_state 128) / attn / MoE
        {
            "hidden_size": 128,
            "num_attention_heads": 4,
            "num_key_value_heads": 1,  # 32 / 2 heads
            "head_dim": 32,
            "mamba_num_heads": 8,
            "mamba_head_dim": 16,
            "n_groups": 2,
            "ssm_state_size": 24,
            "intermediate_size": 64,
            "moe_intermediate_size": 32,
            "moe_shared_expert_intermediate_size": 64,
            "n_routed_experts": 8,
            "num_experts_per_tok": 2,
            "num_hidden_layers": 4,
            "hybrid_override_pattern": "M*EM",
        },
    ),
    "granitemoehybrid": (
        "granite-4.0-h-tiny",  # Mamba-2 (48 heads × 64, 1 group, d_state 128) / attn, MoE
        {
            "hidden_size": 128,
            "num_attention_heads": 4,
            "num_key_value_heads": 1,  # 12 : 4 heads scaled to 4 : 1
            "mamba_n_heads": 8,
            "mamba_d_head": 32,
            "mamba_d_state": 16,
            "intermediate_size": 32,
            "shared_intermediate_size": 64,
            "num_local_experts": 4,
            "num_experts_per_tok": 2,
            "num_hidden_layers": 4,
            "layer_types": ["mamba", "attention", "mamba", "mamba"],
        },
    ),
    "lfm2": (
        "lfm2.5-2.6b",  # short conv (3 taps over hidden) in 22 of 30 layers, GQA 32 / 8
        {
            "hidden_size": 128,
            "num_attention_heads": 8,
            "num_key_value_heads": 2,
            "intermediate_size": 256,
            "num_hidden_layers": 4,
            "layer_types": ["conv", "conv", "full_attention", "conv"],
        },
    ),
    "jamba": (
        "jamba-1.5-mini",  # Mamba-1 (d_inner 8192, d_state 16, conv 4), attention at 4 mod 8
        {
            "hidden_size": 128,
            "num_attention_heads": 4,
            "num_key_value_heads": 1,
            "intermediate_size": 256,
            "num_experts": 4,
            "num_experts_per_tok": 2,
            "mamba_dt_rank": 8,
            "num_hidden_layers": 4,
            "attn_layer_period": 4,
            "attn_layer_offset": 2,
        },
    ),
    "falcon_h1": (
        "falcon-h1-0.5b",  # attention (8 / 2 heads × 64) beside Mamba-2 (24 × 64) in every layer
        {
            "hidden_size": 128,
            "num_attention_heads": 4,
            "num_key_value_heads": 1,
            "head_dim": 32,
            "intermediate_size": 256,
            "mamba_d_ssm": 192,
            "mamba_n_heads": 6,
            "mamba_d_head": 32,
            "mamba_d_state": 16,
            "num_hidden_layers": 3,
        },
    ),
}

# 2025-26 model_types (arch.modern, arch.dsa, arch.variants)
CASES.update(
    {
        "mimo_v2_flash": (
            "mimo-v2-flash",  # 64 heads, 4 KV heads (8 on sliding layers), q/k 192, v 128
            {
                "hidden_size": 128,
                "num_attention_heads": 16,
                "num_key_value_heads": 1,
                "head_dim": 24,
                "v_head_dim": 16,  # != head_dim: K and V widths differ
                "intermediate_size": 256,
                "moe_intermediate_size": 32,
                "n_routed_experts": 4,
                "num_experts_per_tok": 2,
                "num_hidden_layers": 6,  # full at 0 and 5, sliding 1-4
                "sliding_window": 32,
                "sliding_window_size": 31,  # transformers: window = sliding_window_size + 1
            },
        ),
        "deepseek_v32": (
            "deepseek-v3.2",  # MLA + lightning indexer (key 128 wide, 64 heads)
            {
                "hidden_size": 128,
                "num_attention_heads": 4,
                "num_key_value_heads": 4,
                "q_lora_rank": 48,
                "kv_lora_rank": 32,
                "qk_nope_head_dim": 16,
                "qk_rope_head_dim": 8,
                "v_head_dim": 16,
                "index_head_dim": 24,
                "index_n_heads": 4,
                "intermediate_size": 256,
                "moe_intermediate_size": 64,
                "n_routed_experts": 8,
                "num_experts_per_tok": 2,
                "n_group": 2,
                "topk_group": 1,
                "first_k_dense_replace": 1,
                "num_hidden_layers": 2,
            },
        ),
        "minimax_m2": (
            "minimax-m2.5",  # 48 / 8 heads, head_dim 128, 256 experts top-8
            {
                "hidden_size": 128,
                "num_attention_heads": 12,
                "num_key_value_heads": 2,
                "head_dim": 16,
                "intermediate_size": 64,
                "num_local_experts": 4,
                "num_experts_per_tok": 2,
                "num_hidden_layers": 2,
                "rotary_dim": 8,  # 64 of 128 in the real model: half the head again
            },
        ),
        "glm4_moe": (
            "glm-4.5-air",  # 96 / 8 heads, head_dim 128, 1 dense + MoE layers
            {
                "hidden_size": 128,
                "num_attention_heads": 12,
                "num_key_value_heads": 1,
                "head_dim": 16,
                "intermediate_size": 256,
                "moe_intermediate_size": 32,
                "n_routed_experts": 4,
                "num_experts_per_tok": 2,
                "num_hidden_layers": 2,
            },
        ),
        "cohere": (
            "aya-23-8b",  # 32 / 8 heads, parallel attention + MLP
            {
                "hidden_size": 128,
                "num_attention_heads": 8,
                "num_key_value_heads": 2,
                "intermediate_size": 256,
                "num_hidden_layers": 2,
            },
        ),
        "llama4": (
            "llama-4-scout-17b-16e-instruct",  # 40 / 8 heads; chunked (8192) 3 of 4 layers
            {
                "text_config": {
                    "model_type": "llama4_text",
                    "hidden_size": 128,
                    "num_attention_heads": 8,
                    "num_key_value_heads": 2,
                    "head_dim": 16,
                    "intermediate_size": 64,
                    "intermediate_size_mlp": 256,
                    "num_local_experts": 4,
                    "num_experts_per_tok": 1,
                    "interleave_moe_layer_step": 2,
                    "num_hidden_layers": 4,
                    "attention_chunk_size": 32,  # scaled down like the windows
                    "use_qk_norm": True,
                    "vocab_size": 512,
                    "max_position_embeddings": 4096,
                    "torch_dtype": "bfloat16",
                },
                "vision_config": {
                    "hidden_size": 32,
                    "num_hidden_layers": 1,
                    "num_attention_heads": 2,
                    "intermediate_size": 64,
                    "vision_output_dim": 32,
                    "projector_input_dim": 32,
                    "projector_output_dim": 32,
                    "image_size": 28,
                    "patch_size": 14,
                },
            },
        ),
        "smollm3": (
            "smollm3-3b",  # 16 / 4 heads, NoPE every 4th layer
            {
                "hidden_size": 128,
                "num_attention_heads": 8,
                "num_key_value_heads": 2,
                "head_dim": 16,
                "intermediate_size": 256,
                "num_hidden_layers": 4,
                "no_rope_layers": [1, 1, 1, 0],
                "pad_token_id": None,  # the class default (128004) is outside the tiny vocab
            },
        ),
    }
)

# post-norm layers with a sliding/full pattern (arch.postnorm)
CASES.update(
    {
        "olmo3": (
            "olmo-3.1-32b-instruct",  # 40 / 8 heads, 4096-token window on 3 of 4 layers
            {
                "hidden_size": 128,
                "num_attention_heads": 8,
                "num_key_value_heads": 2,
                "intermediate_size": 256,
                "num_hidden_layers": 4,
                "layer_types": ["sliding_attention"] * 3 + ["full_attention"],
                "sliding_window": 32,
                "pad_token_id": None,  # the file's 100277 is outside the tiny vocab
                "eos_token_id": None,
            },
        ),
        "exaone4": (
            "exaone-4.0-32b",  # 40 / 8 heads of 128, LLLG: 4096-token window on 3 of 4
            {
                "hidden_size": 128,
                "num_attention_heads": 8,
                "num_key_value_heads": 2,
                "head_dim": 16,
                "intermediate_size": 256,
                "num_hidden_layers": 4,
                "layer_types": ["sliding_attention"] * 3 + ["full_attention"],
                "sliding_window": 32,
            },
        ),
    }
)

# MLA layouts (per token, per layer) recorded next to the DeepSeek measurement.
MLA_NOTE = (
    "transformers (this version) caches the compressed latent: DeepseekV3Attention.forward "
    "calls cache.update(kv_nope, k_rot) before expand_kv/kv_b_proj, so each layer holds "
    "[B, 1, T, kv_lora_rank] 'keys' and [B, 1, T, qk_rope_head_dim] 'values' (measured above). "
    "vLLM (MLAAttentionSpec) and llama.cpp cache the same kv_lora_rank + qk_rope_head_dim "
    "elements per token. Older transformers (4.x) cached the decompressed per-head K/V "
    "instead: num_heads x (qk_nope_head_dim + qk_rope_head_dim + v_head_dim) per token."
)


def load_source_config(source: str) -> tuple[dict[str, Any], str]:
    for path in (
        ROOT / "engine" / "data" / "models" / source / "config.json",
        ROOT / "reference" / "configs" / f"{source}.json",
    ):
        if path.exists():
            return json.loads(path.read_text()), str(path.relative_to(ROOT))
    raise SystemExit(f"no config.json for {source!r} in engine/data/models/ or reference/configs/")


def tiny_config(raw: dict[str, Any], overrides: dict[str, Any]) -> dict[str, Any]:
    """Return ``raw`` shrunk by ``overrides``: small vocab, no pre-quantization, bf16."""
    cfg = {k: v for k, v in raw.items() if k not in ("quantization_config", "auto_map")}
    cfg.update(overrides)
    n_layers = overrides.get("num_hidden_layers", overrides.get("n_layer"))
    if isinstance(cfg.get("layer_types"), list) and n_layers is not None:
        cfg["layer_types"] = cfg["layer_types"][:n_layers]
    if "vocab_size" in cfg:
        cfg["vocab_size"] = SMALL_VOCAB
    for key in ("bos_token_id", "eos_token_id", "pad_token_id"):
        value = cfg.get(key)
        if isinstance(value, int) and value >= SMALL_VOCAB:
            cfg[key] = SMALL_VOCAB - 1
        elif isinstance(value, list):
            cfg[key] = [min(v, SMALL_VOCAB - 1) for v in value]
    cfg["torch_dtype"] = "bfloat16"
    cfg["use_cache"] = True
    return cfg


def _storage_bytes(tensors: list[torch.Tensor]) -> int:
    seen: dict[int, int] = {}
    for t in tensors:
        st = t.untyped_storage()
        seen[st.data_ptr()] = st.nbytes()
    return sum(seen.values())


def _state_fields(layer: Any) -> tuple[dict[str, Any], list[torch.Tensor]]:
    """Conv/recurrent state of a linear-attention (Mamba, Gated DeltaNet) cache layer."""
    conv = [t for t in getattr(layer, "conv_states", {}).values() if isinstance(t, torch.Tensor)]
    rec = [
        t for t in getattr(layer, "recurrent_states", {}).values() if isinstance(t, torch.Tensor)
    ]

    def dtype(ts: list[torch.Tensor]) -> str | None:
        return str(ts[0].dtype).removeprefix("torch.") if ts else None

    fields = {
        "conv_shapes": [list(t.shape) for t in conv],
        "conv_dtype": dtype(conv),
        "conv_bytes": sum(t.numel() * t.element_size() for t in conv),
        "state_shapes": [list(t.shape) for t in rec],
        "state_dtype": dtype(rec),
        "state_bytes": sum(t.numel() * t.element_size() for t in rec),
    }
    return fields, conv + rec


def snapshot(cache: Any) -> list[dict[str, Any]]:
    """Per-layer view of a transformers Cache: tokens, tensor bytes, storage bytes (K/V and,
    for linear-attention layers, the conv and recurrent states)."""
    layers = []
    for index, layer in enumerate(cache.layers):
        keys, values = getattr(layer, "keys", None), getattr(layer, "values", None)
        if not isinstance(keys, torch.Tensor) or keys.dim() != 4:
            keys = values = None  # a linear-attention layer (or K/V not yet allocated)
        tensors = [t for t in (keys, values) if isinstance(t, torch.Tensor)]
        state: dict[str, Any] = {}
        indexer = getattr(layer, "indexer_keys", None)  # DSA: the indexer's cached keys
        index_elems = 0
        if isinstance(indexer, torch.Tensor) and indexer.dim() == 3:
            tensors.append(indexer)
            index_elems = int(indexer.shape[-1])
            state["indexer_key_shape"] = list(indexer.shape)
        if hasattr(layer, "conv_states"):
            state, state_tensors = _state_fields(layer)
            tensors += state_tensors
        layers.append(
            {
                **state,
                "layer": index,
                "cache_class": type(layer).__name__,
                "sliding_window": getattr(layer, "sliding_window", None),
                "tokens": int(keys.shape[-2]) if keys is not None and keys.dim() == 4 else 0,
                "key_shape": list(keys.shape) if keys is not None else None,
                "value_shape": list(values.shape) if values is not None else None,
                "elems_per_token": (
                    int(keys.shape[1] * keys.shape[3] + values.shape[1] * values.shape[3])
                    + index_elems
                    if keys is not None and keys.dim() == 4
                    else 0
                ),
                "tensor_bytes": sum(t.numel() * t.element_size() for t in tensors),
                "storage_bytes": _storage_bytes(tensors),
                "dtype": str(keys.dtype).removeprefix("torch.") if keys is not None else None,
            }
        )
    return layers


def measure(family: str) -> dict[str, Any]:
    source, overrides = CASES[family]
    raw, source_path = load_source_config(source)
    cfg_dict = tiny_config(raw, overrides)
    config = AutoConfig.for_model(**cfg_dict)
    torch.manual_seed(0)
    model = AutoModelForCausalLM.from_config(config, dtype=DTYPE).eval()
    ids = torch.randint(0, SMALL_VOCAB, (BATCH, PROMPT_TOKENS))
    with torch.no_grad():
        out = model(input_ids=ids, use_cache=True)
        cache = out.past_key_values
        prefill = snapshot(cache)
        next_ids = out.logits[:, -1:].argmax(-1)
        del out
        for _ in range(DECODE_STEPS):
            out = model(input_ids=next_ids, past_key_values=cache, use_cache=True)
            cache = out.past_key_values
            next_ids = out.logits[:, -1:].argmax(-1)
            del out
        decode = snapshot(cache)
    windows = sorted({layer["sliding_window"] for layer in prefill if layer["sliding_window"]})
    record: dict[str, Any] = {
        "versions": versions(),
        "family": family,
        "model_type": cfg_dict["model_type"],
        "source_config": source_path,
        "overrides": overrides,
        "config": cfg_dict,
        "attn_implementation": model.config._attn_implementation,
        "cache_class": type(cache).__name__,
        "dtype": "bfloat16",
        "batch": BATCH,
        "prompt_tokens": PROMPT_TOKENS,
        "decode_steps": DECODE_STEPS,
        "windows": windows,
        "stages": {
            "prefill": {
                "context_tokens": PROMPT_TOKENS,
                "layers": prefill,
                "total_tensor_bytes": sum(x["tensor_bytes"] for x in prefill),
                "total_storage_bytes": sum(x["storage_bytes"] for x in prefill),
            },
            "decode": {
                "context_tokens": PROMPT_TOKENS + DECODE_STEPS,
                "layers": decode,
                "total_tensor_bytes": sum(x["tensor_bytes"] for x in decode),
                "total_storage_bytes": sum(x["storage_bytes"] for x in decode),
            },
        },
    }
    if family == "deepseek_v3":
        h = cfg_dict["num_attention_heads"]
        nope, rope = cfg_dict["qk_nope_head_dim"], cfg_dict["qk_rope_head_dim"]
        v, rank = cfg_dict["v_head_dim"], cfg_dict["kv_lora_rank"]
        record["mla"] = {
            "note": MLA_NOTE,
            "latent_elems_per_token_formula": "kv_lora_rank + qk_rope_head_dim "
            "(transformers 5.x as measured, vLLM, llama.cpp)",
            "latent_elems_per_token": rank + rope,
            "decompressed_elems_per_token_formula": "num_heads * (qk_nope_head_dim + "
            "qk_rope_head_dim + v_head_dim) (transformers 4.x)",
            "decompressed_elems_per_token": h * (nope + rope + v),
            "measured_elems_per_token": decode[0]["elems_per_token"],
        }
    return record


def versions() -> dict[str, str]:
    return {
        "python": platform.python_version(),
        "torch": torch.__version__,
        "transformers": transformers.__version__,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--only", help="comma-separated families (merge into --out)")
    args = parser.parse_args(argv)
    families = list(CASES)
    cases: dict[str, Any] = {}
    kept_versions = None  # a merge keeps the file's versions; each case records its own
    if args.only:
        families = [f for f in args.only.split(",") if f]
        unknown = [f for f in families if f not in CASES]
        if unknown:
            raise SystemExit(f"unknown family {unknown[0]!r}; known: {', '.join(CASES)}")
        if args.out.exists():
            previous = json.loads(args.out.read_text())
            cases = {c["family"]: c for c in previous["cases"]}
            kept_versions = previous.get("versions")
    for family in families:
        print(f"measuring {family} ...", file=sys.stderr, flush=True)
        rec = measure(family)
        cases[family] = rec
        p, d = rec["stages"]["prefill"], rec["stages"]["decode"]
        print(
            f"  prefill {p['total_tensor_bytes']} tensor / {p['total_storage_bytes']} storage B;"
            f" decode {d['total_tensor_bytes']} / {d['total_storage_bytes']} B",
            file=sys.stderr,
        )
    doc = {
        "schema": SCHEMA,
        "tool": "tools/reference/kv_cache.py",
        "versions": kept_versions or versions(),
        "fields": {
            "tokens": "keys.shape[-2]: tokens the cache tensors cover",
            "tensor_bytes": "numel x element_size of this layer's key and value tensors",
            "storage_bytes": "bytes of the distinct storages those tensors keep alive; larger "
            "than tensor_bytes when a sliding layer holds a view of a longer concatenation",
            "stages": "prefill = after one forward over prompt_tokens; decode = after "
            "decode_steps further one-token forwards (context_tokens in all)",
        },
        "formulas": {
            "full_layer_bytes": "batch x context_tokens x elems_per_token x dtype_bytes, "
            "elems_per_token = num_kv_heads x (head_dim + v_head_dim); MLA (transformers 5.x, "
            "vLLM, llama.cpp): kv_lora_rank + qk_rope_head_dim",
            "sliding_layer_bytes_decode": "batch x min(context_tokens, window) x "
            "elems_per_token x dtype_bytes (storage; the tensors cover window - 1 tokens)",
            "sliding_layer_bytes_after_prefill": "batch x prompt_tokens x elems_per_token x "
            "dtype_bytes (the window - 1 view pins the whole prefill concatenation)",
        },
        "cases": [cases[f] for f in sorted(cases)],
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(doc, indent=1, sort_keys=True) + "\n")
    print(f"wrote {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
