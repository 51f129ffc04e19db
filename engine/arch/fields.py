"""Alias-aware, typed reads of one config dict; every bad or missing value is a ConfigError."""

from __future__ import annotations

from typing import Any

from ..errors import ConfigError
from ..limits import describe_number, field_max
from ..messages import msg
from .defaults import defaults_for

# canonical field -> HF keys, in order of preference
ALIASES: dict[str, tuple[str, ...]] = {
    "hidden_size": ("hidden_size", "n_embd", "d_model", "n_embed"),
    "num_layers": ("num_hidden_layers", "n_layer", "num_layers"),
    "num_heads": ("num_attention_heads", "n_head"),
    "num_kv_heads": ("num_key_value_heads", "num_kv_heads", "n_head_kv"),
    "head_dim": ("head_dim",),
    "intermediate_size": ("intermediate_size", "ffn_hidden_size", "n_inner"),
    "vocab_size": ("vocab_size",),
    "max_position_embeddings": ("max_position_embeddings", "n_positions", "max_seq_len"),
    "tie_word_embeddings": ("tie_word_embeddings",),
    "dtype": ("dtype", "torch_dtype"),
    "activation": ("hidden_act", "hidden_activation", "activation_function", "activation"),
    "num_experts": ("num_experts", "num_local_experts", "n_routed_experts"),
    "experts_per_token": ("num_experts_per_tok",),
    "moe_intermediate_size": ("moe_intermediate_size",),
    "shared_expert_intermediate_size": ("shared_expert_intermediate_size",),
    "n_shared_experts": ("n_shared_experts",),
    "first_k_dense_replace": ("first_k_dense_replace",),
    "decoder_sparse_step": ("decoder_sparse_step",),
    "mlp_only_layers": ("mlp_only_layers",),
    "sliding_window": ("sliding_window",),
    "use_sliding_window": ("use_sliding_window",),
    "max_window_layers": ("max_window_layers",),
    "sliding_window_pattern": ("sliding_window_pattern", "_sliding_window_pattern"),
    "layer_types": ("layer_types",),
    "attention_bias": ("attention_bias",),
    "qkv_bias": ("qkv_bias",),
    "mlp_bias": ("mlp_bias",),
    "use_bias": ("use_bias",),
    "bias": ("bias",),
    "kv_lora_rank": ("kv_lora_rank",),
    "q_lora_rank": ("q_lora_rank",),
    "qk_rope_head_dim": ("qk_rope_head_dim",),
    "qk_nope_head_dim": ("qk_nope_head_dim",),
    "v_head_dim": ("v_head_dim",),
    "qk_layernorm": ("qk_layernorm",),
    "multi_query": ("multi_query",),
    "new_decoder_architecture": ("new_decoder_architecture",),
    "parallel_attn": ("parallel_attn",),
    "num_ln_in_parallel_attn": ("num_ln_in_parallel_attn",),
}

MISSING = object()


class Config:
    """One config dict read through ALIASES, falling back to its model_type's defaults;
    errors name the HF key and the model_type."""

    def __init__(self, raw: dict[str, Any], model_type: str) -> None:
        self.raw = raw
        self.model_type = model_type
        self.defaults = defaults_for(model_type)

    def _lookup(self, name: str) -> tuple[str, Any]:
        """Return (key used, value) for a canonical field; value is MISSING when absent."""
        for key in ALIASES.get(name, (name,)):
            if key in self.raw:
                return key, self.raw[key]
        return ALIASES.get(name, (name,))[0], MISSING

    def has(self, name: str) -> bool:
        return self._lookup(name)[1] is not MISSING

    def get(self, name: str, default: Any = MISSING) -> Any:
        """Return the raw value of a canonical field, its default, or raise ConfigError."""
        key, value = self._lookup(name)
        if value is MISSING:
            if default is not MISSING:
                return default
            if name in self.defaults:
                return self.defaults[name]
            raise ConfigError(
                msg(
                    "config.json for model_type {model_type!r} has no {key!r} "
                    "(looked for {aliases}); add it from the model's original config.json.",
                    model_type=self.model_type,
                    key=key,
                    aliases=", ".join(repr(k) for k in ALIASES.get(name, (name,))),
                ),
                field=key,
            )
        return value

    def int(self, name: str, default: Any = MISSING, *, minimum: int = 1) -> int:
        value = self.get(name, default)
        key = self._lookup(name)[0]
        return as_int(value, key, self.model_type, minimum=minimum, maximum=field_max(name))

    def opt_int(self, name: str, default: Any = MISSING, *, minimum: int = 1) -> int | None:
        value = self.get(name, default)
        if value is None:
            return None
        key = self._lookup(name)[0]
        return as_int(value, key, self.model_type, minimum=minimum, maximum=field_max(name))

    def bool(self, name: str, default: Any = MISSING) -> bool:
        value = self.get(name, default)
        if value is None:
            return False
        if not isinstance(value, bool):
            if isinstance(value, int) and value in (0, 1):
                return bool(value)
            key = self._lookup(name)[0]
            raise ConfigError(
                msg(
                    "{key!r} in config.json ({model_type}) is {value!r}; it must be true or false.",
                    key=key,
                    model_type=self.model_type,
                    value=value,
                ),
                field=key,
            )
        return value

    def int_list(self, name: str) -> list[int]:
        value = self.get(name, None)
        if value is None:
            return []
        key = self._lookup(name)[0]
        if not isinstance(value, list):
            raise ConfigError(
                msg(
                    "{key!r} in config.json ({model_type}) is {value!r}; "
                    "it must be a list of layer indices.",
                    key=key,
                    model_type=self.model_type,
                    value=value,
                ),
                field=key,
            )
        top = field_max(name)
        return [as_int(v, key, self.model_type, minimum=0, maximum=top) for v in value]

    def layer_types(self, num_layers: int) -> list[str] | None:
        value = self.get("layer_types", None)
        if value is None:
            return None
        if (
            not isinstance(value, list)
            or len(value) != num_layers
            or not all(isinstance(v, str) for v in value)
        ):
            raise ConfigError(
                msg(
                    "'layer_types' in config.json ({model_type}) must be a list of "
                    "{num_layers} strings (one per layer, e.g. 'full_attention', "
                    "'sliding_attention'); got {value!r}.",
                    model_type=self.model_type,
                    num_layers=num_layers,
                    value=value,
                ),
                field="layer_types",
            )
        return value


def as_int(
    value: Any, key: str, model_type: str, *, minimum: int, maximum: int | None = None
) -> int:
    """Return value as an int (an integral float is accepted) in [minimum, maximum];
    ``maximum`` is the field's physical limit (``engine.limits``, ``data/limits.json``)."""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigError(
            msg(
                "{key!r} in config.json ({model_type}) is {value!r} ({type}); "
                "it must be an integer.",
                key=key,
                model_type=model_type,
                value=value,
                type=type(value).__name__,
            ),
            field=key,
        )
    if value < minimum:
        raise ConfigError(
            msg(
                "{key!r} in config.json ({model_type}) is {value}; it must be at least {minimum}.",
                key=key,
                model_type=model_type,
                value=value,
                minimum=minimum,
            ),
            field=key,
        )
    if maximum is not None and value > maximum:
        raise ConfigError(
            msg(
                "{key!r} in config.json ({model_type}) is {value}; it must be between "
                "{minimum} and {maximum:,}, the physical range the engine accepts "
                "(the largest released models stay far below it).",
                key=key,
                model_type=model_type,
                value=describe_number(value),
                minimum=minimum,
                maximum=maximum,
            ),
            field=key,
        )
    return value
