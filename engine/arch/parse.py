"""parse_config: validate model_type, run its builder, assemble the ModelSpec."""

from __future__ import annotations

from typing import Any

from ..errors import ConfigError, UnsupportedArchitecture
from ..messages import msg
from ..model import ModelSpec
from ..quant import _DTYPE_TO_FLOAT as CHECKPOINT_DTYPES
from .blocks import Builder
from .fields import Config
from .handlers import HANDLERS, LEGACY_MODEL_TYPES, SUPPORTED_MODEL_TYPES
from .multimodal import text_config
from .quantization import parse_checkpoint_scheme, parse_quantization


def parse_config(raw: dict, *, name: str = "") -> ModelSpec:
    """Return the exact ModelSpec (every parameter tensor, per-layer attention/MLP layout)
    that transformers instantiates for a Hugging Face ``config.json`` dict."""
    if not isinstance(raw, dict):
        raise ConfigError(
            msg(
                "a model config must be a JSON object (config.json); got {type}.",
                type=type(raw).__name__,
            ),
            field="config",
        )
    model_type = raw.get("model_type")
    if model_type is None:
        raise ConfigError(
            msg(
                "config.json has no 'model_type'; paste the model's full config.json "
                "(supported model_types: {supported}).",
                supported=", ".join(SUPPORTED_MODEL_TYPES),
            ),
            field="model_type",
        )
    if not isinstance(model_type, str):
        raise ConfigError(
            msg("'model_type' must be a string; got {value!r}.", value=model_type),
            field="model_type",
        )
    handler = HANDLERS.get(model_type)
    if handler is None:
        hint = LEGACY_MODEL_TYPES.get(model_type)
        text = raw.get("text_config")
        text_type = text.get("model_type") if isinstance(text, dict) else None
        hint_text: str = ""
        if hint:
            hint_text = msg(
                " This is a legacy remote-code config; the model's current config.json on the "
                "Hub uses model_type {current!r}: paste that one instead.",
                current=hint,
            )
        elif text_type in HANDLERS:
            hint_text = msg(
                " Its language model (text_config) is a supported {text_type!r}: paste the "
                "text_config object to size the language model alone.",
                text_type=text_type,
            )
        raise UnsupportedArchitecture(
            msg(
                "model_type {model_type!r} is not supported; supported model_types: "
                "{supported}.{hint}",
                model_type=model_type,
                supported=", ".join(SUPPORTED_MODEL_TYPES),
                hint=hint_text,
            ),
            field="model_type",
        )
    c = Config(raw, model_type)
    b = Builder()
    tied = handler.build(c, b)

    text = text_config(c)
    dtype = c.get("dtype", None)
    if dtype is None and text is not c:
        dtype = text.get("dtype", None)
    if dtype is None:
        dtype = c.defaults["dtype"]
    if not isinstance(dtype, str):
        raise ConfigError(
            msg(
                "'torch_dtype' in config.json is {value!r}; it must be a dtype name "
                "such as 'bfloat16'.",
                value=dtype,
            ),
            field="torch_dtype",
        )
    if dtype not in CHECKPOINT_DTYPES:  # never guess 16-bit for a dtype we cannot size
        raise ConfigError(
            msg(
                "'torch_dtype' in config.json is {value!r}, which the engine cannot size; "
                "use one of {known}.",
                value=dtype,
                known=", ".join(CHECKPOINT_DTYPES),
            ),
            field="torch_dtype",
        )
    return ModelSpec(
        model_type=model_type,
        hidden_size=text.int("hidden_size"),
        vocab_size=text.int("vocab_size"),
        num_layers=len(b.layers),
        max_position_embeddings=text.int("max_position_embeddings"),
        tie_word_embeddings=tied,
        dtype=dtype,
        layers=tuple(b.layers),
        tensors=tuple(b.tensors),
        checkpoint_quant=parse_quantization(raw),
        checkpoint_scheme=parse_checkpoint_scheme(raw),
        name=name,
        traits=handler.traits,
        **dropouts(text.raw, text.model_type),
    )


# dropout keys per kind, in order of preference; transformers' config defaults are 0.0
# except GPT-2 (resid_pdrop = embd_pdrop = attn_pdrop = 0.1 in GPT2Config)
DROPOUT_KEYS: dict[str, tuple[str, ...]] = {
    "residual_dropout": ("resid_pdrop", "residual_dropout", "hidden_dropout"),
    "attention_dropout": ("attn_pdrop", "attention_dropout"),
    "embedding_dropout": ("embd_pdrop", "embedding_dropout"),
}


def dropouts(raw: dict[str, Any], model_type: str) -> dict[str, float]:
    """Dropout probabilities used in training (training-memory masks), 0.0 when absent."""
    default = 0.1 if model_type == "gpt2" else 0.0
    out: dict[str, float] = {}
    for field_name, keys in DROPOUT_KEYS.items():
        value: Any = default
        for key in keys:
            if key in raw:
                value = raw[key]
                break
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value < 1:
            value = default  # malformed or absent: never fail parsing over a dropout rate
        out[field_name] = float(value)
    return out
