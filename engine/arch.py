"""Parse a Hugging Face ``config.json`` (a dict) into an exact :class:`ModelSpec`.

``parse_config(raw)`` returns the list of every parameter tensor that transformers
instantiates for the config (``AutoModelForCausalLM.from_config``), so the parameter
counts equal ``model.num_parameters()`` to the parameter; ``tests/reference/params.json``
(written by ``tools/reference/params.py`` with the real transformers) checks it.

How it is organised (STYLE.md §2):

* ``ALIASES`` maps a canonical field to the HF keys that carry it, in order of preference
  (``hidden_size`` is ``n_embd`` in GPT-2, ``d_model`` elsewhere...).
* ``DEFAULTS`` holds, per ``model_type``, the value the transformers config class uses when
  a key is absent (e.g. Gemma ties embeddings by default, Qwen3's ``head_dim`` is 128).
  A field that has no default there and is absent is a ``ConfigError`` naming it.
* ``_HANDLERS`` maps each ``model_type`` to a builder that lays out the tensors the way that
  architecture's transformers module does (fused QKV, biases, QK norms, MoE, MLA...).

Tensor names follow GGUF (see engine/model.py). Biases are separate ``kind="bias"`` tensors
named ``<weight>.bias``. Routed expert stacks carry ``experts=N, routed=True``.

Where transformers differs from the model's paper or other runtimes, this module follows
transformers (verified against transformers 5.24.0):

* Gemma 3 multimodal (``model_type: gemma3``): ``layers`` and the per-layer tensors describe the
  text tower (``text_config``); the SigLIP vision tower and the multimodal projector are listed
  as ``kind="other"`` tensors with ``layer=None`` (names ``v.*`` / ``mm.*``), so they count in
  ``total_params`` but in no layer.
* DeepSeek-V2/V3: every layer from ``first_k_dense_replace`` on is MoE (``moe_layer_freq`` is not
  read); V3's multi-token-prediction layer (``num_nextn_predict_layers``) is not instantiated;
  the router's ``e_score_correction_bias`` is a buffer, not a parameter. An absent
  ``q_lora_rank`` means transformers' default 1536, not "no query compression" (that is an
  explicit ``null``, as in DeepSeek-V2-Lite).
* A key absent from config.json takes the transformers config class default (``DEFAULTS``),
  e.g. Mistral's ``sliding_window`` 4096, Gemma's tied embeddings, Qwen3's ``head_dim`` 128.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from engine.errors import ConfigError, UnsupportedArchitecture
from engine.model import AttentionSpec, LayerSpec, MlpSpec, ModelSpec, Tensor, TensorKind

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

# Defaults of the transformers (5.x) config classes, used when a key is absent.
# Source: transformers/models/<type>/configuration_<type>.py (class attributes).
# The special value _DERIVED means "computed from other fields" (handled by the builder).
_DERIVED = object()
_COMMON: dict[str, Any] = {
    "tie_word_embeddings": False,
    "num_kv_heads": _DERIVED,  # = num_heads
    "head_dim": _DERIVED,  # = hidden_size // num_heads
    "dtype": "float32",  # no dtype key: an old checkpoint saved in float32 (GPT-2 era)
    "activation": "silu",
    "max_position_embeddings": 2048,
    "attention_bias": False,
    "mlp_bias": False,
    "sliding_window": None,
    "layer_types": None,
}
DEFAULTS: dict[str, dict[str, Any]] = {
    "llama": {"max_position_embeddings": 2048},
    "mistral": {"max_position_embeddings": 131072, "sliding_window": 4096, "num_kv_heads": 8},
    "mixtral": {
        "max_position_embeddings": 131072,
        "num_kv_heads": 8,
        "num_experts": 8,
        "experts_per_token": 2,
    },
    "qwen2": {
        "max_position_embeddings": 32768,
        "use_sliding_window": False,
        "max_window_layers": 28,
    },
    "qwen2_moe": {
        "max_position_embeddings": 32768,
        "use_sliding_window": False,
        "max_window_layers": 28,
        "qkv_bias": True,
        "decoder_sparse_step": 1,
        "mlp_only_layers": None,
        "num_experts": 60,
        "experts_per_token": 4,
        "moe_intermediate_size": 1408,
        "shared_expert_intermediate_size": 5632,
    },
    "qwen3": {
        "max_position_embeddings": 32768,
        "use_sliding_window": False,
        "max_window_layers": 28,
        "head_dim": 128,
    },
    "qwen3_moe": {
        "max_position_embeddings": 32768,
        "use_sliding_window": False,
        "decoder_sparse_step": 1,
        "mlp_only_layers": None,
        "num_kv_heads": 4,
        "num_experts": 128,
        "experts_per_token": 8,
        "moe_intermediate_size": 768,
    },
    "gemma": {
        "tie_word_embeddings": True,
        "head_dim": 256,
        "activation": "gelu_pytorch_tanh",
        "max_position_embeddings": 8192,
    },
    "gemma2": {
        "tie_word_embeddings": True,
        "head_dim": 256,
        "activation": "gelu_pytorch_tanh",
        "max_position_embeddings": 8192,
        "sliding_window": 4096,
    },
    "gemma3_text": {
        "tie_word_embeddings": True,
        "head_dim": 256,
        "activation": "gelu_pytorch_tanh",
        "max_position_embeddings": 131072,
        "sliding_window": 4096,
        "sliding_window_pattern": 6,
        "vocab_size": 262208,
        "hidden_size": 2304,
        "intermediate_size": 9216,
        "num_layers": 26,
        "num_heads": 8,
        "num_kv_heads": 4,
    },
    "phi": {"activation": "gelu_new", "qk_layernorm": False},
    "phi3": {"max_position_embeddings": 4096},
    "gpt2": {
        "tie_word_embeddings": True,
        "activation": "gelu_new",
        "max_position_embeddings": 1024,
        "intermediate_size": _DERIVED,  # n_inner None -> 4 * n_embd
    },
    "gpt_neox": {"activation": "gelu", "attention_bias": True},
    "falcon": {
        "tie_word_embeddings": True,
        "activation": "gelu",
        "bias": False,
        "multi_query": True,
        "new_decoder_architecture": False,
        "parallel_attn": True,
        "num_ln_in_parallel_attn": None,
        "intermediate_size": _DERIVED,  # ffn_hidden_size None -> 4 * hidden_size
    },
    "starcoder2": {
        "tie_word_embeddings": True,
        "activation": "gelu_pytorch_tanh",
        "max_position_embeddings": 4096,
        "use_bias": True,
        "num_kv_heads": 2,
    },
    "olmo2": {},
    "deepseek_v2": {
        "first_k_dense_replace": 0,
        "kv_lora_rank": 512,
        "q_lora_rank": 1536,
        "qk_rope_head_dim": 64,
        "qk_nope_head_dim": 128,
        "v_head_dim": 128,
        "num_experts": 64,
        "n_shared_experts": 2,
        "moe_intermediate_size": 1407,
        "experts_per_token": None,
    },
    "deepseek_v3": {
        "max_position_embeddings": 4096,
        "first_k_dense_replace": 3,
        "kv_lora_rank": 512,
        "q_lora_rank": 1536,
        "qk_rope_head_dim": 64,
        "qk_nope_head_dim": 128,
        "v_head_dim": 128,
        "num_experts": 256,
        "n_shared_experts": 1,
        "moe_intermediate_size": 2048,
        "experts_per_token": 8,
    },
    "gpt_oss": {
        # gpt-oss config.json has no torch_dtype; its non-expert tensors are stored in bf16
        # (huggingface.co/openai/gpt-oss-20b, safetensors metadata: BF16 + U8 MXFP4 blocks)
        "dtype": "bfloat16",
        "max_position_embeddings": 131072,
        "attention_bias": True,
        "head_dim": 64,
        "num_kv_heads": 8,
        "num_experts": 128,
        "experts_per_token": 4,
        "sliding_window": 128,
    },
}
# SigLIP vision tower defaults (transformers SiglipVisionConfig), for Gemma 3 multimodal configs
_SIGLIP_DEFAULTS: dict[str, Any] = {
    "hidden_size": 768,
    "intermediate_size": 3072,
    "num_layers": 12,
    "num_heads": 12,
    "num_channels": 3,
    "image_size": 224,
    "patch_size": 16,
    "vision_use_head": True,
}

_MISSING = object()


class _Config:
    """Typed, alias-aware access to one config dict; errors name the field and model_type."""

    def __init__(self, raw: dict[str, Any], model_type: str) -> None:
        self.raw = raw
        self.model_type = model_type
        self.defaults = {**_COMMON, **DEFAULTS.get(model_type, {})}

    def _lookup(self, name: str) -> tuple[str, Any]:
        """Return (key used, value) for a canonical field; value is _MISSING when absent."""
        for key in ALIASES.get(name, (name,)):
            if key in self.raw:
                return key, self.raw[key]
        return ALIASES.get(name, (name,))[0], _MISSING

    def has(self, name: str) -> bool:
        return self._lookup(name)[1] is not _MISSING

    def get(self, name: str, default: Any = _MISSING) -> Any:
        """Return the raw value of a canonical field, its default, or raise ConfigError."""
        key, value = self._lookup(name)
        if value is _MISSING:
            if default is not _MISSING:
                return default
            if name in self.defaults:
                return self.defaults[name]
            raise ConfigError(
                f"config.json for model_type {self.model_type!r} has no {key!r} "
                f"(looked for {', '.join(repr(k) for k in ALIASES.get(name, (name,)))}); "
                "add it from the model's original config.json.",
                field=key,
            )
        return value

    def int(self, name: str, default: Any = _MISSING, *, minimum: int = 1) -> int:
        value = self.get(name, default)
        key = self._lookup(name)[0]
        return _as_int(value, key, self.model_type, minimum=minimum)

    def opt_int(self, name: str, default: Any = _MISSING, *, minimum: int = 1) -> int | None:
        value = self.get(name, default)
        if value is None:
            return None
        return _as_int(value, self._lookup(name)[0], self.model_type, minimum=minimum)

    def bool(self, name: str, default: Any = _MISSING) -> bool:
        value = self.get(name, default)
        if value is None:
            return False
        if not isinstance(value, bool):
            if isinstance(value, int) and value in (0, 1):
                return bool(value)
            key = self._lookup(name)[0]
            raise ConfigError(
                f"{key!r} in config.json ({self.model_type}) is {value!r}; "
                "it must be true or false.",
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
                f"{key!r} in config.json ({self.model_type}) is {value!r}; "
                "it must be a list of layer indices.",
                field=key,
            )
        return [_as_int(v, key, self.model_type, minimum=0) for v in value]

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
                f"'layer_types' in config.json ({self.model_type}) must be a list of "
                f"{num_layers} strings (one per layer, e.g. 'full_attention', "
                f"'sliding_attention'); got {value!r}.",
                field="layer_types",
            )
        return value


def _as_int(value: Any, key: str, model_type: str, *, minimum: int) -> int:
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigError(
            f"{key!r} in config.json ({model_type}) is {value!r} ({type(value).__name__}); "
            "it must be an integer.",
            field=key,
        )
    if value < minimum:
        raise ConfigError(
            f"{key!r} in config.json ({model_type}) is {value}; it must be at least {minimum}.",
            field=key,
        )
    return value


# ---------------------------------------------------------------------------------------
# Building blocks


@dataclass
class _Builder:
    """Accumulates tensors and layer specs while a handler walks the architecture."""

    tensors: list[Tensor] = field(default_factory=list)
    layers: list[LayerSpec] = field(default_factory=list)

    def add(
        self,
        name: str,
        shape: tuple[int, ...],
        kind: TensorKind,
        layer: int | None = None,
        *,
        experts: int = 1,
        routed: bool = False,
    ) -> None:
        self.tensors.append(Tensor(name, shape, kind, layer, experts, routed))

    def linear(
        self,
        name: str,
        out_features: int,
        in_features: int,
        layer: int | None,
        *,
        bias: bool = False,
        experts: int = 1,
        routed: bool = False,
    ) -> None:
        self.add(name, (out_features, in_features), "linear", layer, experts=experts, routed=routed)
        if bias:
            self.add(f"{name}.bias", (out_features,), "bias", layer, experts=experts, routed=routed)

    def norm(self, name: str, size: int, layer: int | None, *, bias: bool = False) -> None:
        self.add(name, (size,), "norm", layer)
        if bias:
            self.add(f"{name}.bias", (size,), "bias", layer)


@dataclass(frozen=True)
class _Dims:
    hidden: int
    heads: int
    kv_heads: int
    head_dim: int
    vocab: int


def _dims(c: _Config) -> _Dims:
    hidden = c.int("hidden_size")
    heads = c.int("num_heads")
    kv_heads = c.opt_int("num_kv_heads", None) if c.has("num_kv_heads") else None
    if kv_heads is None:
        d = c.defaults.get("num_kv_heads", _DERIVED)
        kv_heads = heads if d is _DERIVED or d is None else d
    head_dim = c.opt_int("head_dim", None) if c.has("head_dim") else None
    if head_dim is None:
        d = c.defaults.get("head_dim", _DERIVED)
        head_dim = hidden // heads if d is _DERIVED or d is None else d
    if heads % kv_heads:
        raise ConfigError(
            f"num_attention_heads={heads} is not a multiple of num_key_value_heads={kv_heads} "
            f"({c.model_type}); grouped-query attention needs whole groups.",
            field="num_key_value_heads",
        )
    return _Dims(hidden, heads, kv_heads, head_dim, c.int("vocab_size"))


def _gqa_spec(d: _Dims, window: int | None) -> AttentionSpec:
    return AttentionSpec(
        kind="gqa",
        num_heads=d.heads,
        num_kv_heads=d.kv_heads,
        head_dim=d.head_dim,
        v_head_dim=d.head_dim,
        kv_elems_per_token=d.kv_heads * 2 * d.head_dim,
        window=window,
    )


def _attn_qkvo(
    b: _Builder,
    i: int,
    d: _Dims,
    *,
    qkv_bias: bool = False,
    o_bias: bool = False,
    fused: bool = False,
) -> None:
    """Separate q/k/v/o projections (or one fused attn_qkv) of a GQA layer."""
    q_out = d.heads * d.head_dim
    kv_out = d.kv_heads * d.head_dim
    if fused:
        b.linear("attn_qkv", q_out + 2 * kv_out, d.hidden, i, bias=qkv_bias)
    else:
        b.linear("attn_q", q_out, d.hidden, i, bias=qkv_bias)
        b.linear("attn_k", kv_out, d.hidden, i, bias=qkv_bias)
        b.linear("attn_v", kv_out, d.hidden, i, bias=qkv_bias)
    b.linear("attn_output", d.hidden, q_out, i, bias=o_bias)


def _mlp_gated(
    b: _Builder, i: int, hidden: int, inter: int, *, bias: bool = False, fused: bool = False
) -> None:
    if fused:
        b.linear("ffn_gate_up", 2 * inter, hidden, i, bias=bias)
    else:
        b.linear("ffn_gate", inter, hidden, i, bias=bias)
        b.linear("ffn_up", inter, hidden, i, bias=bias)
    b.linear("ffn_down", hidden, inter, i, bias=bias)


def _mlp_plain(b: _Builder, i: int, hidden: int, inter: int, *, bias: bool) -> None:
    b.linear("ffn_up", inter, hidden, i, bias=bias)
    b.linear("ffn_down", hidden, inter, i, bias=bias)


def _experts(b: _Builder, i: int, hidden: int, inter: int, n: int, *, bias: bool = False) -> None:
    """A stack of n routed gated experts (transformers fuses gate/up into one 3-D tensor)."""
    b.linear("ffn_gate_exps", inter, hidden, i, bias=bias, experts=n, routed=True)
    b.linear("ffn_up_exps", inter, hidden, i, bias=bias, experts=n, routed=True)
    b.linear("ffn_down_exps", hidden, inter, i, bias=bias, experts=n, routed=True)


def _shared_expert(b: _Builder, i: int, hidden: int, inter: int) -> None:
    b.linear("ffn_gate_shexp", inter, hidden, i)
    b.linear("ffn_up_shexp", inter, hidden, i)
    b.linear("ffn_down_shexp", hidden, inter, i)


def _dense_spec(c: _Config, inter: int, *, gated: bool = True) -> MlpSpec:
    return MlpSpec(kind="dense", intermediate_size=inter, gated=gated, activation=_act(c))


def _act(c: _Config) -> str:
    value = c.get("activation")
    return value if isinstance(value, str) else str(value)


def _embeddings(b: _Builder, d: _Dims) -> None:
    """token_embd first; the final norm and an untied output are added by _finish_head."""
    b.add("token_embd", (d.vocab, d.hidden), "embedding")


def _finish_head(
    b: _Builder,
    c: _Config,
    d: _Dims,
    *,
    norm_bias: bool = False,
    head_bias: bool = False,
) -> bool:
    """Final norm + lm_head (none when tied). Returns tie_word_embeddings."""
    b.norm("output_norm", d.hidden, None, bias=norm_bias)
    tied = c.bool("tie_word_embeddings")
    if not tied:
        b.linear("output", d.vocab, d.hidden, None, bias=head_bias)
    elif head_bias:
        # the weight is shared with token_embd, the bias is not
        b.add("output.bias", (d.vocab,), "bias")
    return tied


# ---------------------------------------------------------------------------------------
# Sliding-window layouts


def _qwen_layer_windows(c: _Config, n: int) -> list[int | None]:
    """Qwen2/Qwen3: sliding on layers >= max_window_layers when use_sliding_window."""
    use = c.bool("use_sliding_window")
    window = c.opt_int("sliding_window") if use else None
    types = c.layer_types(n)
    if types is None:
        mwl = c.int("max_window_layers", minimum=0)
        types = [
            "sliding_attention" if window is not None and i >= mwl else "full_attention"
            for i in range(n)
        ]
    return [window if t == "sliding_attention" else None for t in types]


def _pattern_windows(c: _Config, n: int, *, pattern: int) -> list[int | None]:
    """Gemma2/3 and gpt-oss: layer_types, else every pattern-th layer is global."""
    window = c.opt_int("sliding_window")
    types = c.layer_types(n)
    if types is None:
        types = ["sliding_attention" if (i + 1) % pattern else "full_attention" for i in range(n)]
    return [window if t == "sliding_attention" else None for t in types]


def _uniform_windows(c: _Config, n: int) -> list[int | None]:
    """Mistral/Mixtral/Phi-3/Starcoder2: one sliding_window (or none) for every layer."""
    window = c.opt_int("sliding_window")
    return [window] * n


# ---------------------------------------------------------------------------------------
# Handlers: one per layout family. Each appends tensors and layers and returns whether the
# output projection is tied to the input embedding.


def _build_llama_like(c: _Config, b: _Builder) -> bool:
    """llama, mistral, qwen2, qwen3, gemma, gemma2, gemma3_text, olmo2, phi3, starcoder2."""
    t = c.model_type
    d = _dims(c)
    n = c.int("num_layers")
    inter = c.int("intermediate_size")
    _embeddings(b, d)

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
        windows = _uniform_windows(c, n)
    elif t in ("qwen2", "qwen3"):
        windows = _qwen_layer_windows(c, n)
    elif t == "gemma2":
        windows = _pattern_windows(c, n, pattern=2)
    elif t == "gemma3_text":
        windows = _pattern_windows(c, n, pattern=c.int("sliding_window_pattern"))
    else:
        windows = [None] * n

    layernorm = t == "starcoder2"  # nn.LayerNorm (weight + bias) instead of RMSNorm
    for i in range(n):
        if t != "olmo2":  # OLMo 2 normalises after attention/MLP only
            b.norm("attn_norm", d.hidden, i, bias=layernorm)
        _attn_qkvo(b, i, d, qkv_bias=qkv_bias, o_bias=o_bias, fused=t == "phi3")
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
            _mlp_plain(b, i, d.hidden, inter, bias=mlp_bias)
        else:
            _mlp_gated(b, i, d.hidden, inter, bias=mlp_bias, fused=t == "phi3")
        if t in ("gemma2", "gemma3_text", "olmo2"):
            b.norm("post_ffw_norm", d.hidden, i)
        b.layers.append(
            LayerSpec(i, _gqa_spec(d, windows[i]), _dense_spec(c, inter, gated=t != "starcoder2"))
        )
    return _finish_head(b, c, d, norm_bias=layernorm)


def _build_moe(c: _Config, b: _Builder) -> bool:
    """mixtral, qwen2_moe, qwen3_moe, gpt_oss."""
    t = c.model_type
    d = _dims(c)
    n = c.int("num_layers")
    n_exp = c.int("num_experts")
    top_k = c.int("experts_per_token")
    _embeddings(b, d)
    if t == "gpt_oss":
        expert_inter = c.int("intermediate_size")
        windows = _pattern_windows(c, n, pattern=2)
        qkv_bias = o_bias = c.bool("attention_bias")
    elif t == "mixtral":
        expert_inter = c.int("intermediate_size")
        windows = _uniform_windows(c, n)
        qkv_bias = o_bias = False
    else:
        expert_inter = c.int("moe_intermediate_size")
        if t == "qwen2_moe":
            windows = _qwen2_moe_windows(c, n)
            qkv_bias, o_bias = c.bool("qkv_bias"), False
        else:
            use = c.bool("use_sliding_window")
            windows = [c.opt_int("sliding_window") if use else None] * n
            qkv_bias = o_bias = c.bool("attention_bias")
    if top_k > n_exp:
        raise ConfigError(
            f"num_experts_per_tok={top_k} exceeds the number of experts ({n_exp}) "
            f"for model_type {t!r}.",
            field="num_experts_per_tok",
        )
    sparse_step = c.int("decoder_sparse_step") if t in ("qwen2_moe", "qwen3_moe") else 1
    mlp_only = set(c.int_list("mlp_only_layers")) if t in ("qwen2_moe", "qwen3_moe") else set()
    shared_inter = c.int("shared_expert_intermediate_size") if t == "qwen2_moe" else 0

    for i in range(n):
        b.norm("attn_norm", d.hidden, i)
        _attn_qkvo(b, i, d, qkv_bias=qkv_bias, o_bias=o_bias)
        if t == "gpt_oss":
            b.add("attn_sinks", (d.heads,), "other", i)
        if t == "qwen3_moe":
            b.norm("attn_q_norm", d.head_dim, i)
            b.norm("attn_k_norm", d.head_dim, i)
        b.norm("ffn_norm", d.hidden, i)
        is_moe = i not in mlp_only and (i + 1) % sparse_step == 0
        if is_moe:
            b.linear("ffn_gate_inp", n_exp, d.hidden, i, bias=t == "gpt_oss")
            _experts(b, i, d.hidden, expert_inter, n_exp, bias=t == "gpt_oss")
            if shared_inter:
                _shared_expert(b, i, d.hidden, shared_inter)
                b.linear("ffn_gate_inp_shexp", 1, d.hidden, i)
            mlp = MlpSpec(
                kind="moe",
                intermediate_size=expert_inter,
                gated=True,
                activation=_act(c),
                num_experts=n_exp,
                experts_per_token=top_k,
                shared_intermediate_size=shared_inter,
            )
        else:
            inter = c.int("intermediate_size")
            _mlp_gated(b, i, d.hidden, inter)
            mlp = _dense_spec(c, inter)
        b.layers.append(LayerSpec(i, _gqa_spec(d, windows[i]), mlp))
    return _finish_head(b, c, d)


def _qwen2_moe_windows(c: _Config, n: int) -> list[int | None]:
    use = c.bool("use_sliding_window")
    window = c.opt_int("sliding_window", minimum=0) if use else None
    types = c.layer_types(n)
    if types is None:
        mwl = c.int("max_window_layers", minimum=0)
        types = [
            "sliding_attention" if (i + 1) % 2 and i < mwl and use else "full_attention"
            for i in range(n)
        ]
    return [window or None if tt == "sliding_attention" else None for tt in types]


def _build_deepseek(c: _Config, b: _Builder) -> bool:
    """deepseek_v2 / deepseek_v3: MLA attention, leading dense layers, shared + routed experts.

    transformers makes every layer from ``first_k_dense_replace`` on an MoE layer (it does
    not read ``moe_layer_freq``) and does not instantiate DeepSeek-V3's multi-token-
    prediction layer (``num_nextn_predict_layers``); the V3 router's
    ``e_score_correction_bias`` is a buffer there, not a parameter, so it is not listed.
    """
    t = c.model_type
    hidden = c.int("hidden_size")
    heads = c.int("num_heads")
    vocab = c.int("vocab_size")
    n = c.int("num_layers")
    inter = c.int("intermediate_size")
    kv_rank = c.int("kv_lora_rank")
    q_rank = c.opt_int("q_lora_rank")
    rope = c.int("qk_rope_head_dim")
    nope = c.int("qk_nope_head_dim")
    v_dim = c.int("v_head_dim")
    n_exp = c.int("num_experts")
    top_k = c.opt_int("experts_per_token")
    if top_k is None:
        raise ConfigError(
            f"config.json for model_type {t!r} has no 'num_experts_per_tok'; "
            "add it from the model's original config.json.",
            field="num_experts_per_tok",
        )
    moe_inter = c.int("moe_intermediate_size")
    n_shared = c.int("n_shared_experts", minimum=0)
    first_dense = c.int("first_k_dense_replace", minimum=0)
    attn_bias = c.bool("attention_bias")
    mlp_bias = c.bool("mlp_bias") if t == "deepseek_v2" else False
    qk_dim = nope + rope
    d = _Dims(hidden, heads, heads, qk_dim, vocab)
    b.add("token_embd", (vocab, hidden), "embedding")
    attn = AttentionSpec(
        kind="mla",
        num_heads=heads,
        num_kv_heads=heads,
        head_dim=qk_dim,
        v_head_dim=v_dim,
        kv_elems_per_token=kv_rank + rope,
        window=None,
        kv_lora_rank=kv_rank,
        q_lora_rank=q_rank or 0,
        qk_rope_head_dim=rope,
        qk_nope_head_dim=nope,
    )
    for i in range(n):
        b.norm("attn_norm", hidden, i)
        if q_rank is None:
            b.linear("attn_q", heads * qk_dim, hidden, i)
        else:
            b.linear("attn_q_a", q_rank, hidden, i, bias=attn_bias)
            b.norm("attn_q_a_norm", q_rank, i)
            b.linear("attn_q_b", heads * qk_dim, q_rank, i)
        b.linear("attn_kv_a_mqa", kv_rank + rope, hidden, i, bias=attn_bias)
        b.norm("attn_kv_a_norm", kv_rank, i)
        b.linear("attn_kv_b", heads * (nope + v_dim), kv_rank, i)
        b.linear("attn_output", hidden, heads * v_dim, i, bias=attn_bias)
        b.norm("ffn_norm", hidden, i)
        if i >= first_dense:
            b.linear("ffn_gate_inp", n_exp, hidden, i)
            _experts(b, i, hidden, moe_inter, n_exp)
            shared = moe_inter * n_shared
            if shared:
                b.linear("ffn_gate_shexp", shared, hidden, i, bias=mlp_bias)
                b.linear("ffn_up_shexp", shared, hidden, i, bias=mlp_bias)
                b.linear("ffn_down_shexp", hidden, shared, i, bias=mlp_bias)
            mlp = MlpSpec(
                kind="moe",
                intermediate_size=moe_inter,
                gated=True,
                activation=_act(c),
                num_experts=n_exp,
                experts_per_token=top_k,
                shared_intermediate_size=shared,
            )
        else:
            _mlp_gated(b, i, hidden, inter, bias=mlp_bias)
            mlp = _dense_spec(c, inter)
        b.layers.append(LayerSpec(i, attn, mlp))
    return _finish_head(b, c, d)


def _build_phi(c: _Config, b: _Builder) -> bool:
    """phi (Phi-1/1.5/2): parallel attention + MLP after one LayerNorm, biases everywhere."""
    d = _dims(c)
    n = c.int("num_layers")
    inter = c.int("intermediate_size")
    qk_ln = c.bool("qk_layernorm")
    _embeddings(b, d)
    for i in range(n):
        b.norm("attn_norm", d.hidden, i, bias=True)
        _attn_qkvo(b, i, d, qkv_bias=True, o_bias=True)
        if qk_ln:  # per-head LayerNorm over hidden_size // num_heads
            b.norm("attn_q_norm", d.hidden // d.heads, i, bias=True)
            b.norm("attn_k_norm", d.hidden // d.heads, i, bias=True)
        _mlp_plain(b, i, d.hidden, inter, bias=True)
        b.layers.append(LayerSpec(i, _gqa_spec(d, None), _dense_spec(c, inter, gated=False)))
    return _finish_head(b, c, d, norm_bias=True, head_bias=True)


def _build_gpt2(c: _Config, b: _Builder) -> bool:
    """gpt2: learned positions, fused c_attn (Conv1D), biases and LayerNorms everywhere."""
    hidden = c.int("hidden_size")
    heads = c.int("num_heads")
    n = c.int("num_layers")
    n_pos = c.int("max_position_embeddings")
    inter_raw = c.opt_int("intermediate_size", None)
    inter = inter_raw if inter_raw is not None else 4 * hidden
    d = _Dims(hidden, heads, heads, hidden // heads, c.int("vocab_size"))
    b.add("token_embd", (d.vocab, hidden), "embedding")
    b.add("pos_embd", (n_pos, hidden), "embedding")
    for i in range(n):
        b.norm("attn_norm", hidden, i, bias=True)
        b.linear("attn_qkv", 3 * hidden, hidden, i, bias=True)
        b.linear("attn_output", hidden, hidden, i, bias=True)
        b.norm("ffn_norm", hidden, i, bias=True)
        _mlp_plain(b, i, hidden, inter, bias=True)
        b.layers.append(LayerSpec(i, _gqa_spec(d, None), _dense_spec(c, inter, gated=False)))
    return _finish_head(b, c, d, norm_bias=True)


def _build_gpt_neox(c: _Config, b: _Builder) -> bool:
    """gpt_neox (Pythia, GPT-NeoX-20B): fused query_key_value, LayerNorms with bias."""
    hidden = c.int("hidden_size")
    heads = c.int("num_heads")
    n = c.int("num_layers")
    inter = c.int("intermediate_size")
    bias = c.bool("attention_bias")
    d = _Dims(hidden, heads, heads, hidden // heads, c.int("vocab_size"))
    b.add("token_embd", (d.vocab, hidden), "embedding")
    for i in range(n):
        b.norm("attn_norm", hidden, i, bias=True)
        b.norm("ffn_norm", hidden, i, bias=True)
        b.linear("attn_qkv", 3 * hidden, hidden, i, bias=bias)
        b.linear("attn_output", hidden, hidden, i, bias=bias)
        _mlp_plain(b, i, hidden, inter, bias=True)
        b.layers.append(LayerSpec(i, _gqa_spec(d, None), _dense_spec(c, inter, gated=False)))
    return _finish_head(b, c, d, norm_bias=True)


def _build_falcon(c: _Config, b: _Builder) -> bool:
    """falcon: fused QKV (MHA, multi-query, or grouped in the new decoder architecture)."""
    hidden = c.int("hidden_size")
    heads = c.int("num_heads")
    n = c.int("num_layers")
    head_dim = hidden // heads
    new_arch = c.bool("new_decoder_architecture")
    multi_query = c.bool("multi_query")
    parallel = c.bool("parallel_attn")
    bias = c.bool("bias")
    kv_raw = c.opt_int("num_kv_heads", None)
    if new_arch:
        kv_heads = kv_raw if kv_raw is not None else heads
        qkv_out = (heads + 2 * kv_heads) * head_dim
    elif multi_query:
        kv_heads = 1
        qkv_out = hidden + 2 * head_dim
    else:
        kv_heads = heads
        qkv_out = 3 * hidden
    inter_raw = c.opt_int("intermediate_size", None)
    inter = inter_raw if inter_raw is not None else 4 * hidden
    n_ln = c.opt_int("num_ln_in_parallel_attn")
    if n_ln is None and new_arch:
        n_ln = 2
    d = _Dims(hidden, heads, kv_heads, head_dim, c.int("vocab_size"))
    b.add("token_embd", (d.vocab, hidden), "embedding")
    for i in range(n):
        if not parallel:
            b.norm("attn_norm", hidden, i, bias=True)
            b.norm("ffn_norm", hidden, i, bias=True)
        elif n_ln == 2:
            b.norm("attn_norm", hidden, i, bias=True)  # ln_attn
            b.norm("ffn_norm", hidden, i, bias=True)  # ln_mlp
        else:
            b.norm("attn_norm", hidden, i, bias=True)
        b.linear("attn_qkv", qkv_out, hidden, i, bias=bias)
        b.linear("attn_output", hidden, hidden, i, bias=bias)
        _mlp_plain(b, i, hidden, inter, bias=bias)
        b.layers.append(LayerSpec(i, _gqa_spec(d, None), _dense_spec(c, inter, gated=False)))
    return _finish_head(b, c, d, norm_bias=True)


def _build_gemma3_multimodal(c: _Config, b: _Builder) -> bool:
    """gemma3 (Gemma3ForConditionalGeneration): the text tower from ``text_config`` plus
    the SigLIP vision tower and the multimodal projector as ``kind="other"`` tensors
    (``layer=None``, names prefixed ``v.``/``mm.``), so the total matches transformers."""
    text = c.raw.get("text_config") or {}
    if not isinstance(text, dict):
        raise ConfigError(
            "'text_config' in a gemma3 config.json must be an object.", field="text_config"
        )
    tc = _Config({**text, "model_type": "gemma3_text"}, "gemma3_text")
    if "tie_word_embeddings" in c.raw:
        tc.raw.setdefault("tie_word_embeddings", c.raw["tie_word_embeddings"])
    tied = _build_llama_like(tc, b)
    vision = c.raw.get("vision_config") or {}
    if not isinstance(vision, dict):
        raise ConfigError(
            "'vision_config' in a gemma3 config.json must be an object.", field="vision_config"
        )
    vc = _Config(vision, "siglip_vision_model")
    vc.defaults = dict(_SIGLIP_DEFAULTS)
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


_Handler = Callable[[_Config, _Builder], bool]
_HANDLERS: dict[str, _Handler] = {
    "llama": _build_llama_like,
    "mistral": _build_llama_like,
    "qwen2": _build_llama_like,
    "qwen3": _build_llama_like,
    "gemma": _build_llama_like,
    "gemma2": _build_llama_like,
    "gemma3_text": _build_llama_like,
    "gemma3": _build_gemma3_multimodal,
    "olmo2": _build_llama_like,
    "phi3": _build_llama_like,
    "starcoder2": _build_llama_like,
    "mixtral": _build_moe,
    "qwen2_moe": _build_moe,
    "qwen3_moe": _build_moe,
    "gpt_oss": _build_moe,
    "deepseek_v2": _build_deepseek,
    "deepseek_v3": _build_deepseek,
    "phi": _build_phi,
    "gpt2": _build_gpt2,
    "gpt_neox": _build_gpt_neox,
    "falcon": _build_falcon,
}
SUPPORTED_MODEL_TYPES: tuple[str, ...] = tuple(sorted(_HANDLERS))
# remote-code model_types of early checkpoints, later rewritten to a native one
_LEGACY_MODEL_TYPES = {"RefinedWebModel": "falcon", "RefinedWeb": "falcon", "phi-msft": "phi"}


# ---------------------------------------------------------------------------------------
# Checkpoint quantization


def parse_quantization(raw: dict[str, Any]) -> str | None:
    """Return the pre-quantized checkpoint format id ("fp8", "mxfp4", "gptq-4bit-g128"...)
    named by ``quantization_config``, or None for an unquantized checkpoint."""
    q = raw.get("quantization_config")
    if q is None:
        return None
    if not isinstance(q, dict):
        raise ConfigError(
            f"'quantization_config' must be an object; got {q!r}.", field="quantization_config"
        )
    method = str(q.get("quant_method", "")).lower()
    if method in ("fp8", "fbgemm_fp8", "finegrained_fp8"):
        # DeepSeek-V3/R1 store one fp32 scale per 128x128 weight block, not per tensor
        if list(q.get("weight_block_size") or []) == [128, 128]:
            return "fp8-block128"
        return "fp8"
    if method == "mxfp4":
        return "mxfp4"
    if method in ("gptq", "awq"):
        bits = q.get("bits", q.get("w_bit", 4))
        group = q.get("group_size", q.get("q_group_size", 128))
        suffix = f"-g{group}" if isinstance(group, int) and group > 0 else ""
        return f"{method}-{bits}bit{suffix}"
    if method == "bitsandbytes":
        if q.get("load_in_4bit"):
            kind = str(q.get("bnb_4bit_quant_type", "fp4")).lower()
            return f"{kind}-dq" if q.get("bnb_4bit_use_double_quant") else kind
        if q.get("load_in_8bit"):
            return "int8"
        return "bitsandbytes"
    if method == "compressed-tensors":
        fmt = str(q.get("format", ""))
        if fmt.startswith("float-quantized"):
            return "fp8"
        if fmt == "int-quantized":
            return "int8"
        return "compressed-tensors"
    return method or "unknown"


# ---------------------------------------------------------------------------------------
# Entry point


def parse_config(raw: dict, *, name: str = "") -> ModelSpec:
    """Return the exact ModelSpec (every parameter tensor, per-layer attention/MLP layout)
    that transformers instantiates for a Hugging Face ``config.json`` dict."""
    if not isinstance(raw, dict):
        raise ConfigError(
            f"a model config must be a JSON object (config.json); got {type(raw).__name__}.",
            field="config",
        )
    model_type = raw.get("model_type")
    if model_type is None:
        raise ConfigError(
            "config.json has no 'model_type'; paste the model's full config.json "
            f"(supported model_types: {', '.join(SUPPORTED_MODEL_TYPES)}).",
            field="model_type",
        )
    if not isinstance(model_type, str):
        raise ConfigError(f"'model_type' must be a string; got {model_type!r}.", field="model_type")
    handler = _HANDLERS.get(model_type)
    if handler is None:
        hint = _LEGACY_MODEL_TYPES.get(model_type)
        text = raw.get("text_config")
        text_type = text.get("model_type") if isinstance(text, dict) else None
        if hint:
            hint_text = (
                " This is a legacy remote-code config; the model's current config.json on the "
                f"Hub uses model_type {hint!r}: paste that one instead."
            )
        elif text_type in _HANDLERS:
            hint_text = (
                f" Its language model (text_config) is a supported {text_type!r}: paste the "
                "text_config object to size the language model alone."
            )
        else:
            hint_text = ""
        raise UnsupportedArchitecture(
            f"model_type {model_type!r} is not supported; supported model_types: "
            f"{', '.join(SUPPORTED_MODEL_TYPES)}.{hint_text}",
            field="model_type",
        )
    c = _Config(raw, model_type)
    b = _Builder()
    tied = handler(c, b)

    text = _text_config(c)
    dtype = c.get("dtype", None)
    if dtype is None and text is not c:
        dtype = text.get("dtype", None)
    if dtype is None:
        dtype = c.defaults["dtype"]
    if not isinstance(dtype, str):
        raise ConfigError(
            f"'torch_dtype' in config.json is {dtype!r}; it must be a dtype name "
            "such as 'bfloat16'.",
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
        name=name,
        **_dropouts(text.raw, text.model_type),
    )


# dropout keys per kind, in order of preference; transformers' config defaults are 0.0
# except GPT-2 (resid_pdrop = embd_pdrop = attn_pdrop = 0.1 in GPT2Config)
_DROPOUT_KEYS: dict[str, tuple[str, ...]] = {
    "residual_dropout": ("resid_pdrop", "residual_dropout", "hidden_dropout"),
    "attention_dropout": ("attn_pdrop", "attention_dropout"),
    "embedding_dropout": ("embd_pdrop", "embedding_dropout"),
}


def _dropouts(raw: dict[str, Any], model_type: str) -> dict[str, float]:
    """Dropout probabilities used in training (training-memory masks), 0.0 when absent."""
    default = 0.1 if model_type == "gpt2" else 0.0
    out: dict[str, float] = {}
    for field_name, keys in _DROPOUT_KEYS.items():
        value: Any = default
        for key in keys:
            if key in raw:
                value = raw[key]
                break
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value < 1:
            value = default  # malformed or absent: never fail parsing over a dropout rate
        out[field_name] = float(value)
    return out


def _text_config(c: _Config) -> _Config:
    """The config of the language model (``text_config`` for Gemma 3 multimodal)."""
    if c.model_type == "gemma3":
        text = c.raw.get("text_config") or {}
        return _Config({**text, "model_type": "gemma3_text"}, "gemma3_text")
    return c
