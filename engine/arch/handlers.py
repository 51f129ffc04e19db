"""Which builder lays out each model_type (one table; add a model_type here)."""

from __future__ import annotations

from collections.abc import Callable

from .blocks import Builder
from .classic import build_falcon, build_gpt2, build_gpt_neox, build_phi
from .dense import build_llama_like
from .fields import Config
from .mla import build_deepseek
from .moe import build_moe
from .multimodal import build_gemma3_multimodal

# A builder appends tensors and layers and returns whether lm_head is tied to the embedding.
Handler = Callable[[Config, Builder], bool]
HANDLERS: dict[str, Handler] = {
    "llama": build_llama_like,
    "mistral": build_llama_like,
    "qwen2": build_llama_like,
    "qwen3": build_llama_like,
    "gemma": build_llama_like,
    "gemma2": build_llama_like,
    "gemma3_text": build_llama_like,
    "gemma3": build_gemma3_multimodal,
    "olmo2": build_llama_like,
    "phi3": build_llama_like,
    "starcoder2": build_llama_like,
    "mixtral": build_moe,
    "qwen2_moe": build_moe,
    "qwen3_moe": build_moe,
    "gpt_oss": build_moe,
    "deepseek_v2": build_deepseek,
    "deepseek_v3": build_deepseek,
    "phi": build_phi,
    "gpt2": build_gpt2,
    "gpt_neox": build_gpt_neox,
    "falcon": build_falcon,
}
SUPPORTED_MODEL_TYPES: tuple[str, ...] = tuple(sorted(HANDLERS))
# remote-code model_types of early checkpoints, later rewritten to a native one
LEGACY_MODEL_TYPES = {"RefinedWebModel": "falcon", "RefinedWeb": "falcon", "phi-msft": "phi"}
