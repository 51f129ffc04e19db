"""Gemma 3 multimodal (``model_type: gemma3``): the text tower plus the SigLIP vision tower
and projector as ``kind="other"`` tensors outside any layer."""

from __future__ import annotations

from ..errors import ConfigError
from ..messages import msg
from .blocks import Builder
from .defaults import siglip_defaults
from .dense import build_llama_like
from .fields import Config
from .towers import TEXT_MODEL_TYPES, text_part


def build_gemma3_multimodal(c: Config, b: Builder) -> bool:
    """gemma3 (Gemma3ForConditionalGeneration): the text tower from ``text_config`` plus
    the SigLIP vision tower and the multimodal projector as ``kind="other"`` tensors
    (``layer=None``, names prefixed ``v.``/``mm.``), so the total matches transformers."""
    text = c.raw.get("text_config") or {}
    if not isinstance(text, dict):
        raise ConfigError(
            msg("'text_config' in a gemma3 config.json must be an object."), field="text_config"
        )
    tc = Config({**text, "model_type": "gemma3_text"}, "gemma3_text")
    if "tie_word_embeddings" in c.raw:
        tc.raw.setdefault("tie_word_embeddings", c.raw["tie_word_embeddings"])
    tied = build_llama_like(tc, b)
    vision = c.raw.get("vision_config") or {}
    if not isinstance(vision, dict):
        raise ConfigError(
            msg("'vision_config' in a gemma3 config.json must be an object."),
            field="vision_config",
        )
    vc = Config(vision, "siglip_vision_model")
    vc.defaults = siglip_defaults()
    vh = vc.int("hidden_size")
    vi = vc.int("intermediate_size")
    vn = vc.int("num_layers")
    channels = vc.int("num_channels")
    image = vc.int("image_size")
    patch = vc.int("patch_size")
    use_head = vc.bool("vision_use_head")

    def other(name: str, shape: tuple[int, ...]) -> None:
        b.add(name, shape, "other")

    other("v.patch_embd", (vh, channels, patch, patch))
    other("v.patch_embd.bias", (vh,))
    other("v.position_embd", ((image // patch) ** 2, vh))
    for j in range(vn):
        for part in ("ln1", "ln2"):
            other(f"v.blk.{j}.{part}", (vh,))
            other(f"v.blk.{j}.{part}.bias", (vh,))
        for part in ("attn_q", "attn_k", "attn_v", "attn_out"):
            other(f"v.blk.{j}.{part}", (vh, vh))
            other(f"v.blk.{j}.{part}.bias", (vh,))
        other(f"v.blk.{j}.ffn_up", (vi, vh))
        other(f"v.blk.{j}.ffn_up.bias", (vi,))
        other(f"v.blk.{j}.ffn_down", (vh, vi))
        other(f"v.blk.{j}.ffn_down.bias", (vh,))
    other("v.post_ln", (vh,))
    other("v.post_ln.bias", (vh,))
    if use_head:
        other("v.head.probe", (1, 1, vh))
        other("v.head.attn_in", (3 * vh, vh))
        other("v.head.attn_in.bias", (3 * vh,))
        other("v.head.attn_out", (vh, vh))
        other("v.head.attn_out.bias", (vh,))
        other("v.head.ln", (vh,))
        other("v.head.ln.bias", (vh,))
        other("v.head.ffn_up", (vi, vh))
        other("v.head.ffn_up.bias", (vi,))
        other("v.head.ffn_down", (vh, vi))
        other("v.head.ffn_down.bias", (vh,))
    text_hidden = tc.int("hidden_size")
    other("mm.input_projection", (vh, text_hidden))
    other("mm.soft_emb_norm", (vh,))
    return tied


def text_config(c: Config) -> Config:
    """The config of the language model (``text_config`` for Gemma 3 multimodal)."""
    if c.model_type == "gemma3":
        text = c.raw.get("text_config") or {}
        return Config({**text, "model_type": "gemma3_text"}, "gemma3_text")
    if c.model_type in TEXT_MODEL_TYPES:  # arch.towers wrappers
        return text_part(c)
    return c
