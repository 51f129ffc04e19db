"""Parse a Hugging Face ``config.json`` (a dict) into an exact :class:`ModelSpec`.

``parse_config(raw)`` lists every parameter tensor that transformers instantiates for the
config (``AutoModelForCausalLM.from_config``), so parameter counts equal
``model.num_parameters()`` exactly; ``reference/params.json`` (written by
``tools/reference/params.py`` with transformers 5.24.0) checks it.

Modules (STYLE.md §2): ``fields`` (alias table, typed reads raising ConfigError),
``defaults`` (transformers defaults per model_type, ``data/arch_defaults.json``),
``handlers`` (model_type -> builder), the builders ``dense``, ``moe``, ``mla``, ``classic``,
``multimodal`` over the shared ``blocks`` and ``windows``, ``quantization`` and ``parse``.

Where transformers differs from the model's paper or other runtimes, this package follows
transformers:

* Gemma 3 multimodal (``model_type: gemma3``): ``layers`` describe the text tower
  (``text_config``); the SigLIP vision tower and projector are ``kind="other"`` tensors with
  ``layer=None`` (names ``v.*`` / ``mm.*``), counted in ``total_params`` but in no layer.
* DeepSeek-V2/V3: every layer from ``first_k_dense_replace`` on is MoE (``moe_layer_freq`` is
  not read); V3's multi-token-prediction layer is not instantiated; the router's
  ``e_score_correction_bias`` is a buffer, not a parameter. An absent ``q_lora_rank`` means
  transformers' default 1536; an explicit ``null`` means no query compression.
* A key absent from config.json takes the transformers config class default, e.g. Mistral's
  ``sliding_window`` 4096, Gemma's tied embeddings, Qwen3's ``head_dim`` 128.
"""

from __future__ import annotations

from .handlers import SUPPORTED_MODEL_TYPES
from .parse import parse_config
from .quantization import parse_quantization

__all__ = ["SUPPORTED_MODEL_TYPES", "parse_config", "parse_quantization"]
