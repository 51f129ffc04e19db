"""Dense decoder layouts descended from Llama: RMSNorm, gated MLP, GQA, per-family biases,
QK norms, post-norms and sliding windows."""

from __future__ import annotations

from ..model import LayerSpec
from .blocks import (
    Builder,
    attn_qkvo,
    dense_spec,
    dims,
    embeddings,
    finish_head,
    gqa_spec,
    mlp_gated,
    mlp_plain,
)
from .fields import Config
from .windows import pattern_windows, qwen_windows, uniform_windows


def build_llama_like(c: Config, b: Builder) -> bool:
    """llama, mistral, qwen2, qwen3, gemma, gemma2, gemma3_text, olmo2, phi3, starcoder2."""
    t = c.model_type
    d = dims(c)
    n = c.int("num_layers")
    inter = c.int("intermediate_size")
    embeddings(b, d)

    qkv_bias = o_bias = mlp_bias = False
    if t in ("llama", "mistral"):
        qkv_bias = o_bias = c.bool("attention_bias")
        mlp_bias = c.bool("mlp_bias")
    elif t in ("qwen2",):
        qkv_bias = True
    elif t in ("qwen3", "gemma", "gemma2", "gemma3_text", "olmo2"):
        qkv_bias = o_bias = c.bool("attention_bias")
    elif t == "starcoder2":
        qkv_bias = o_bias = mlp_bias = c.bool("use_bias")

    if t in ("mistral", "phi3", "starcoder2"):
        windows = uniform_windows(c, n)
    elif t in ("qwen2", "qwen3"):
        windows = qwen_windows(c, n)
    elif t == "gemma2":
        windows = pattern_windows(c, n, pattern=2)
    elif t == "gemma3_text":
        windows = pattern_windows(c, n, pattern=c.int("sliding_window_pattern"))
    else:
        windows = [None] * n

    layernorm = t == "starcoder2"  # nn.LayerNorm (weight + bias) instead of RMSNorm
    for i in range(n):
        if t != "olmo2":  # OLMo 2 normalises after attention/MLP only
            b.norm("attn_norm", d.hidden, i, bias=layernorm)
        attn_qkvo(b, i, d, qkv_bias=qkv_bias, o_bias=o_bias, fused=t == "phi3")
        if t in ("qwen3", "gemma3_text"):
            b.norm("attn_q_norm", d.head_dim, i)
            b.norm("attn_k_norm", d.head_dim, i)
        elif t == "olmo2":  # over the whole projection, not per head
            b.norm("attn_q_norm", d.heads * d.head_dim, i)
            b.norm("attn_k_norm", d.kv_heads * d.head_dim, i)
        if t in ("gemma2", "gemma3_text", "olmo2"):
            b.norm("post_attention_norm", d.hidden, i)
        if t != "olmo2":
            b.norm("ffn_norm", d.hidden, i, bias=layernorm)
        if t == "starcoder2":
            mlp_plain(b, i, d.hidden, inter, bias=mlp_bias)
        else:
            mlp_gated(b, i, d.hidden, inter, bias=mlp_bias, fused=t == "phi3")
        if t in ("gemma2", "gemma3_text", "olmo2"):
            b.norm("post_ffw_norm", d.hidden, i)
        b.layers.append(
            LayerSpec(i, gqa_spec(d, windows[i]), dense_spec(c, inter, gated=t != "starcoder2"))
        )
    return finish_head(b, c, d, norm_bias=layernorm)
