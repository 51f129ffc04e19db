"""Multimodal checkpoints whose language model is one of the engine's text layouts, plus a
vision tower: ``llama4`` (Llama4ForConditionalGeneration), ``qwen3_vl`` / ``qwen3_vl_moe``
(Qwen3VL[Moe]ForConditionalGeneration), ``qwen2_5_vl`` (Qwen2_5_VLForConditionalGeneration),
``mistral3`` (Mistral3ForConditionalGeneration: Mistral text tower, Pixtral) and ``kimi_k25``
(Kimi_K25ForConditionalGeneration: DeepSeek-V3 text tower, MoonViT).

The text tower comes from ``text_config`` and fills ``layers``; the vision tower and its
projector are ``kind="other"`` tensors outside any layer (names ``v.*`` / ``mm.*``), counted
in the total as transformers instantiates them. ``TEXT_MODEL_TYPES`` tells
``multimodal.text_config`` which text layout a wrapper's ``text_config`` takes.
"""

from __future__ import annotations

from typing import Any

from ..errors import ConfigError
from ..messages import msg
from .blocks import Builder
from .dense import build_llama_like
from .fields import Config
from .mla import build_deepseek
from .modern import build_llama4_text, with_defaults
from .moe import build_moe

# wrapper model_type -> the engine model_type its text_config is built as
TEXT_MODEL_TYPES: dict[str, str] = {
    "llama4": "llama4_text",
    "qwen3_vl": "qwen3",
    "qwen3_vl_moe": "qwen3_moe",
    "qwen3_5": "qwen3_5_text",  # arch.hybrid
    "qwen3_5_moe": "qwen3_5_moe_text",
    "kimi_k25": "deepseek_v3",
    "qwen2_5_vl": "qwen2",
    "mistral3": "mistral",
}

# the wrapper config class's tie_word_embeddings (what transformers ties by when the file
# has no top-level key; a text_config flag is not read, except Qwen2.5-VL's)
WRAPPER_TIES: dict[str, bool] = {
    "llama4": False,
    "qwen3_vl": False,
    "qwen3_vl_moe": False,
    "qwen2_5_vl": False,
    "kimi_k25": True,
    "mistral3": True,
    "qwen3_5": False,
    "qwen3_5_moe": False,
}

# transformers 5.25.0 vision-config class defaults
VISION_DEFAULTS: dict[str, dict[str, Any]] = {
    "llama4": {  # Llama4VisionConfig
        "hidden_size": 768,
        "num_layers": 34,
        "intermediate_size": 5632,
        "num_channels": 3,
        "vision_output_dim": 7680,
        "image_size": 448,
        "patch_size": 14,
        "projector_input_dim": 4096,
        "projector_output_dim": 4096,
    },
    "qwen3_vl": {  # Qwen3VLVisionConfig (Qwen3VLMoe's is the same)
        "depth": 27,
        "hidden_size": 1152,
        "intermediate_size": 4304,
        "in_channels": 3,
        "patch_size": 16,
        "spatial_merge_size": 2,
        "temporal_patch_size": 2,
        "out_hidden_size": 3584,
        "num_position_embeddings": 2304,
        "deepstack_visual_indexes": [8, 16, 24],
    },
    "qwen2_5_vl": {  # Qwen2_5_VLVisionConfig
        "depth": 32,
        "hidden_size": 3584,
        "intermediate_size": 3420,
        "in_channels": 3,
        "patch_size": 14,
        "spatial_merge_size": 2,
        "temporal_patch_size": 2,
        "out_hidden_size": 3584,
    },
    "mistral3": {  # PixtralVisionConfig
        "hidden_size": 1024,
        "intermediate_size": 4096,
        "num_layers": 24,
        "num_channels": 3,
        "patch_size": 16,
    },
    # Kimi_K25VisionConfig. The Hub file's vt_* keys are not read by transformers 5.25 (they
    # equal these defaults in Kimi K2.5); Kimi_K25Config.projection_hidden_size is 1152.
    "kimi_k25": {
        "hidden_size": 1152,
        "num_layers": 27,
        "intermediate_size": 4304,
        "patch_size": 14,
        "pos_emb_height": 64,
        "pos_emb_width": 64,
        "merge_kernel_size": [2, 2],
    },
}


def _sub(c: Config, key: str) -> dict[str, Any]:
    value = c.raw.get(key) or {}
    if not isinstance(value, dict):
        raise ConfigError(
            msg("{where} must be an object", where=f"{key!r} in config.json ({c.model_type})"),
            field=key,
        )
    return value


def text_part(c: Config) -> Config:
    """The language model's config, read as the engine's text model_type; the wrapper's
    ``tie_word_embeddings`` (what the ForConditionalGeneration class reads) wins."""
    kind = TEXT_MODEL_TYPES[c.model_type]
    raw = {**_sub(c, "text_config"), "model_type": kind}
    tie = c.raw.get("tie_word_embeddings", WRAPPER_TIES[c.model_type])
    if c.model_type == "qwen2_5_vl" and raw.get("tie_word_embeddings") is True:
        tie = True  # Qwen2_5_VLConfig: a pre-v5 save's text_config flag still ties
    raw["tie_word_embeddings"] = tie
    return with_defaults(Config(raw, kind))


def _vision(c: Config, family: str) -> Config:
    vc = Config(_sub(c, "vision_config"), f"{family}_vision")
    vc.defaults = {**VISION_DEFAULTS[family]}
    return vc


def _other(b: Builder, name: str, *shape: int) -> None:
    b.add(name, tuple(shape), "other")


def _linear(b: Builder, name: str, out: int, inp: int, *, bias: bool) -> None:
    _other(b, name, out, inp)
    if bias:
        _other(b, f"{name}.bias", out)


def _layernorm(b: Builder, name: str, size: int) -> None:
    _other(b, name, size)
    _other(b, f"{name}.bias", size)


def _vit_blocks(
    b: Builder,
    depth: int,
    h: int,
    inter: int,
    *,
    layernorm: bool,
    fused_qkv: bool,
    gated: bool,
    bias: bool = True,
) -> None:
    """``depth`` pre-norm ViT blocks: two norms (LayerNorm with bias, else a weight-only
    RMSNorm), q/k/v (fused or not) and out, then an MLP (gated or up/down)."""
    norm = _layernorm if layernorm else _other
    for j in range(depth):
        norm(b, f"v.blk.{j}.ln1", h)
        norm(b, f"v.blk.{j}.ln2", h)
        if fused_qkv:
            _linear(b, f"v.blk.{j}.attn_qkv", 3 * h, h, bias=bias)
            _linear(b, f"v.blk.{j}.attn_out", h, h, bias=bias)
        else:
            for part in ("attn_q", "attn_k", "attn_v", "attn_out"):
                _linear(b, f"v.blk.{j}.{part}", h, h, bias=bias)
        if gated:
            _linear(b, f"v.blk.{j}.ffn_gate", inter, h, bias=bias)
        _linear(b, f"v.blk.{j}.ffn_up", inter, h, bias=bias)
        _linear(b, f"v.blk.{j}.ffn_down", h, inter, bias=bias)


def build_llama4(c: Config, b: Builder) -> bool:
    """llama4: the MoE text tower plus the ViT (class token, learned positions, unfold patch
    linear) with its pixel-shuffle MLP adapter and the linear projector."""
    text = text_part(c)
    tied = build_llama4_text(text, b)
    vc = _vision(c, "llama4")
    h, inter = vc.int("hidden_size"), vc.int("intermediate_size")
    patch, image, ch = vc.int("patch_size"), vc.int("image_size"), vc.int("num_channels")
    _other(b, "v.class_embd", h)
    _other(b, "v.position_embd", (image // patch) ** 2 + 1, h)
    _linear(b, "v.patch_embd", h, ch * patch * patch, bias=False)
    _layernorm(b, "v.pre_ln", h)
    _layernorm(b, "v.post_ln", h)
    for j in range(vc.int("num_layers")):
        for part in ("attn_q", "attn_k", "attn_v", "attn_out"):
            _linear(b, f"v.blk.{j}.{part}", h, h, bias=True)
        _linear(b, f"v.blk.{j}.ffn_up", inter, h, bias=True)
        _linear(b, f"v.blk.{j}.ffn_down", h, inter, bias=True)
        _layernorm(b, f"v.blk.{j}.ln1", h)
        _layernorm(b, f"v.blk.{j}.ln2", h)
    out = vc.int("projector_output_dim")
    _linear(b, "v.adapter.fc1", vc.int("projector_input_dim"), inter, bias=False)
    _linear(b, "v.adapter.fc2", out, out, bias=False)
    _linear(b, "mm.linear_1", text.int("hidden_size"), vc.int("vision_output_dim"), bias=False)
    return tied


def build_qwen3_vl(c: Config, b: Builder) -> bool:
    """qwen3_vl / qwen3_vl_moe: the Qwen3 (MoE) text tower plus the ViT (3-D patch conv,
    learned position table), its 2x2 patch merger and the DeepStack mergers."""
    text = text_part(c)
    tied = build_llama_like(text, b) if text.model_type == "qwen3" else build_moe(text, b)
    vc = _vision(c, "qwen3_vl")
    h, inter = vc.int("hidden_size"), vc.int("intermediate_size")
    patch, temporal = vc.int("patch_size"), vc.int("temporal_patch_size")
    _other(b, "v.patch_embd", h, vc.int("in_channels"), temporal, patch, patch)
    _other(b, "v.patch_embd.bias", h)
    _other(b, "v.position_embd", vc.int("num_position_embeddings"), h)
    _vit_blocks(b, vc.int("depth"), h, inter, layernorm=True, fused_qkv=True, gated=False)
    merged = h * vc.int("spatial_merge_size") ** 2
    out = vc.int("out_hidden_size")
    deepstack = vc.get("deepstack_visual_indexes")
    n_deep = len(deepstack) if isinstance(deepstack, list) else 0
    for name, norm in [("mm.merger", h)] + [(f"mm.deepstack.{k}", merged) for k in range(n_deep)]:
        _layernorm(b, f"{name}.norm", norm)
        _linear(b, f"{name}.fc1", merged, merged, bias=True)
        _linear(b, f"{name}.fc2", out, merged, bias=True)
    return tied


def build_kimi_k25(c: Config, b: Builder) -> bool:
    """kimi_k25: the DeepSeek-V3 (MLA + MoE) text tower plus MoonViT (patch conv, a learned
    height x width position grid, pre-LN blocks with biased q/k/v) and the 2x2 patch-merger
    projector. transformers ties the head by default; Kimi K2.5's file says untied."""
    text = text_part(c)
    tied = build_deepseek(text, b)
    vc = _vision(c, "kimi_k25")
    h, inter, patch = vc.int("hidden_size"), vc.int("intermediate_size"), vc.int("patch_size")
    _other(b, "v.patch_embd", h, 3, patch, patch)
    _other(b, "v.patch_embd.bias", h)
    _other(b, "v.position_embd", vc.int("pos_emb_height"), vc.int("pos_emb_width"), h)
    _vit_blocks(b, vc.int("num_layers"), h, inter, layernorm=True, fused_qkv=False, gated=False)
    _layernorm(b, "v.post_ln", h)
    kernel = vc.get("merge_kernel_size")
    merged = h * (kernel[0] * kernel[1] if isinstance(kernel, list) and len(kernel) == 2 else 4)
    proj_norm = c.raw.get("projection_hidden_size", 1152)
    _layernorm(b, "mm.pre_norm", proj_norm if isinstance(proj_norm, int) else 1152)
    _linear(b, "mm.in_proj", merged, merged, bias=True)
    _linear(b, "mm.out_proj", text.int("hidden_size"), merged, bias=True)
    return tied


def build_qwen2_5_vl(c: Config, b: Builder) -> bool:
    """qwen2_5_vl: the Qwen2 text tower (q/k/v bias) plus the windowed ViT (bias-free 3-D
    patch conv, RMSNorm blocks with a gated SiLU MLP) and the 2x2 patch merger."""
    text = text_part(c)
    tied = build_llama_like(text, b)
    vc = _vision(c, "qwen2_5_vl")
    h, inter = vc.int("hidden_size"), vc.int("intermediate_size")
    patch, temporal = vc.int("patch_size"), vc.int("temporal_patch_size")
    _other(b, "v.patch_embd", h, vc.int("in_channels"), temporal, patch, patch)
    _vit_blocks(b, vc.int("depth"), h, inter, layernorm=False, fused_qkv=True, gated=True)
    merged = h * vc.int("spatial_merge_size") ** 2
    _other(b, "mm.merger.norm", h)
    _linear(b, "mm.merger.fc1", merged, merged, bias=True)
    _linear(b, "mm.merger.fc2", vc.int("out_hidden_size"), merged, bias=True)
    return tied


def build_mistral3(c: Config, b: Builder) -> bool:
    """mistral3 (Mistral Small 3.x): the Mistral text tower plus Pixtral (bias-free patch
    conv, RMSNorm blocks with a gated MLP, no biases) and the projector (RMSNorm, 2x2
    patch-merging linear, two linears). Mistral3Config ties the head unless the file says."""
    text = text_part(c)
    tied = build_llama_like(text, b)
    vc = _vision(c, "mistral3")
    h, inter, patch = vc.int("hidden_size"), vc.int("intermediate_size"), vc.int("patch_size")
    _other(b, "v.patch_embd", h, vc.int("num_channels"), patch, patch)
    _other(b, "v.pre_ln", h)
    _vit_blocks(
        b, vc.int("num_layers"), h, inter, layernorm=False, fused_qkv=False, gated=True, bias=False
    )
    merge = c.raw.get("spatial_merge_size", 2)
    merge = merge if isinstance(merge, int) and not isinstance(merge, bool) and merge > 0 else 2
    layers = c.raw.get("vision_feature_layer", -1)
    n_feat = len(layers) if isinstance(layers, list) else 1
    bias = c.bool("multimodal_projector_bias", False)
    th = text.int("hidden_size")
    _other(b, "mm.norm", h)
    _linear(b, "mm.patch_merger", h, h * merge * merge, bias=False)
    _linear(b, "mm.linear_1", th, h * n_feat, bias=bias)
    _linear(b, "mm.linear_2", th, th, bias=bias)
    return tied
