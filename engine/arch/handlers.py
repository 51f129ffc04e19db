"""Which builder lays out each model_type, and its traits (one table; add a model_type here).

A row pairs the builder that lists the tensors with the ``ModelTraits`` the estimates read
(norm kind, attention paths, router precision, GGUF arch): adding a model_type touches this
table and, when its layout is new, a builder, and nothing else in the engine.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from ..model import ModelTraits
from .blocks import Builder
from .classic import build_falcon, build_gpt2, build_gpt_neox, build_phi
from .dense import build_llama_like
from .dsa import build_dsa
from .fields import Config
from .hybrid import (
    build_falcon_h1,
    build_granitemoehybrid,
    build_jamba,
    build_lfm2,
    build_nemotron_h,
    build_qwen3_5,
    build_qwen3_next,
)
from .mla import build_deepseek
from .modern import build_glm4_moe, build_mimo_v2_flash, build_minimax_m2
from .moe import build_moe
from .multimodal import build_gemma3_multimodal
from .postnorm import build_postnorm
from .towers import (
    build_kimi_k25,
    build_llama4,
    build_mistral3,
    build_qwen2_5_vl,
    build_qwen3_vl,
)
from .variants import build_variant

# A builder appends tensors and layers and returns whether lm_head is tied to the embedding.
Build = Callable[[Config, Builder], bool]


_DEFAULT = ModelTraits()


@dataclass(frozen=True)
class Handler:
    """One model_type: its builder and its traits (Llama's defaults unless named)."""

    build: Build
    traits: ModelTraits = _DEFAULT


_LLAMA_GGUF = ModelTraits(gguf_arch="llama")  # convert_hf_to_gguf writes LLM_ARCH_LLAMA
_GEMMA = ModelTraits(norm="gemma", fp32_weight_norm=True)
_DEEPSEEK = ModelTraits(cat_rope=True, fp32_router=True, peft_fused_experts=True)

HANDLERS: dict[str, Handler] = {
    "llama": Handler(build_llama_like, _LLAMA_GGUF),
    "mistral": Handler(build_llama_like, _LLAMA_GGUF),
    "qwen2": Handler(build_llama_like),
    "qwen3": Handler(build_llama_like),
    "gemma": Handler(build_llama_like, _GEMMA),
    # soft-capping needs the eager scores: no SDPA path in transformers
    "gemma2": Handler(
        build_llama_like,
        ModelTraits(norm="gemma", fp32_weight_norm=True, softcapping=True, sdpa=False),
    ),
    "gemma3_text": Handler(build_llama_like, _GEMMA),
    "gemma3": Handler(build_gemma3_multimodal, _GEMMA),
    "olmo2": Handler(build_llama_like, ModelTraits(fp32_weight_norm=True)),
    # post-norm + QK norms with a sliding/full layer pattern (arch.postnorm)
    "olmo3": Handler(build_postnorm, ModelTraits(fp32_weight_norm=True)),
    "exaone4": Handler(build_postnorm),
    "phi3": Handler(build_llama_like, ModelTraits(cat_rope=True)),
    "starcoder2": Handler(build_llama_like, ModelTraits(norm="layer")),
    "mixtral": Handler(build_moe, _LLAMA_GGUF),
    "qwen2_moe": Handler(build_moe),
    "qwen3_moe": Handler(build_moe, ModelTraits(peft_fused_experts=True)),
    # attention sinks: no SDPA path in transformers
    "gpt_oss": Handler(build_moe, ModelTraits(sdpa=False, softmax_in_compute_dtype=True)),
    "deepseek_v2": Handler(build_deepseek, _DEEPSEEK),
    "deepseek_v3": Handler(build_deepseek, _DEEPSEEK),
    "phi": Handler(build_phi, ModelTraits(norm="layer", parallel_residual=True, cat_rope=True)),
    "gpt2": Handler(build_gpt2, ModelTraits(norm="layer", softmax_in_compute_dtype=True)),
    "gpt_neox": Handler(
        build_gpt_neox, ModelTraits(norm="layer", parallel_residual=True, cat_rope=True)
    ),
    "falcon": Handler(
        build_falcon,
        ModelTraits(norm="layer", parallel_residual=True, softmax_in_compute_dtype=True),
    ),
    # 2025-26 text decoders (arch.modern) and vision-language wrappers (arch.towers)
    "minimax_m2": Handler(
        build_minimax_m2, ModelTraits(peft_fused_experts=True, gguf_arch="minimax-m2")
    ),
    "glm4_moe": Handler(
        build_glm4_moe,
        ModelTraits(fp32_router=True, peft_fused_experts=True, gguf_arch="glm4moe"),
    ),
    "smollm3": Handler(build_variant),
    "seed_oss": Handler(build_variant),
    "granite": Handler(build_variant),
    "ernie4_5": Handler(build_variant),
    # one bias-free LayerNorm feeds attention and MLP side by side
    "cohere": Handler(
        build_variant,
        ModelTraits(norm="layer", parallel_residual=True, gguf_arch="command-r"),
    ),
    # DeepSeek sparse attention: MLA plus a top-k indexer with its own key cache (arch.dsa)
    "deepseek_v32": Handler(build_dsa, _DEEPSEEK),
    "glm_moe_dsa": Handler(build_dsa, _DEEPSEEK),
    "kimi_k25": Handler(build_kimi_k25, _DEEPSEEK),  # DeepSeek-V3 text + MoonViT (arch.towers)
    # attention sinks: no SDPA path in transformers; the router runs in fp32
    "mimo_v2_flash": Handler(
        build_mimo_v2_flash, ModelTraits(sdpa=False, fp32_router=True, peft_fused_experts=True)
    ),
    "llama4": Handler(build_llama4, ModelTraits(peft_fused_experts=True)),
    "qwen2_5_vl": Handler(build_qwen2_5_vl, ModelTraits(gguf_arch="qwen2vl")),
    "mistral3": Handler(build_mistral3, ModelTraits(gguf_arch="llama")),
    "qwen3_vl": Handler(build_qwen3_vl, ModelTraits(gguf_arch="qwen3vl")),
    "qwen3_vl_moe": Handler(
        build_qwen3_vl, ModelTraits(peft_fused_experts=True, gguf_arch="qwen3vlmoe")
    ),
    # hybrid: recurrent layers keep a fixed-size state, no KV cache (arch.hybrid)
    "qwen3_next": Handler(
        build_qwen3_next,
        ModelTraits(
            norm="gemma", fp32_weight_norm=True, peft_fused_experts=True, gguf_arch="qwen3next"
        ),
    ),
    "nemotron_h": Handler(build_nemotron_h, ModelTraits(fp32_weight_norm=True, fp32_router=True)),
    "granitemoehybrid": Handler(
        build_granitemoehybrid, ModelTraits(peft_fused_experts=True, gguf_arch="granitehybrid")
    ),
    "falcon_h1": Handler(build_falcon_h1, ModelTraits(gguf_arch="falcon-h1")),
    "jamba": Handler(build_jamba, ModelTraits(peft_fused_experts=True)),
    "lfm2": Handler(build_lfm2),
    "qwen3_5": Handler(
        build_qwen3_5, ModelTraits(norm="gemma", fp32_weight_norm=True, gguf_arch="qwen35")
    ),
    "qwen3_5_moe": Handler(
        build_qwen3_5,
        ModelTraits(
            norm="gemma", fp32_weight_norm=True, peft_fused_experts=True, gguf_arch="qwen35moe"
        ),
    ),
}
SUPPORTED_MODEL_TYPES: tuple[str, ...] = tuple(sorted(HANDLERS))
# remote-code model_types of early checkpoints, later rewritten to a native one
LEGACY_MODEL_TYPES = {"RefinedWebModel": "falcon", "RefinedWeb": "falcon", "phi-msft": "phi"}
