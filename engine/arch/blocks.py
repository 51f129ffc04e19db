"""Building blocks the per-family builders share: the tensor accumulator, GQA attention,
dense and expert MLPs, embeddings and the output head.

Tensor names follow GGUF (see engine/model.py); a bias is a separate ``kind="bias"`` tensor
named ``<weight>.bias``, and routed expert stacks carry ``experts=N, routed=True``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..errors import ConfigError
from ..messages import msg
from ..model import AttentionSpec, LayerSpec, MlpSpec, Tensor, TensorKind
from .defaults import DERIVED
from .fields import Config


@dataclass
class Builder:
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
class Dims:
    """Attention and embedding sizes shared by every layer of a model."""

    hidden: int
    heads: int
    kv_heads: int
    head_dim: int
    vocab: int


def dims(c: Config) -> Dims:
    """Return the GQA sizes; absent kv heads / head_dim fall back to the model_type default,
    else to num_heads / hidden_size // num_heads."""
    hidden = c.int("hidden_size")
    heads = c.int("num_heads")
    kv_heads = c.opt_int("num_kv_heads", None) if c.has("num_kv_heads") else None
    if kv_heads is None:
        d = c.defaults.get("num_kv_heads", DERIVED)
        kv_heads = heads if d is DERIVED or d is None else d
    head_dim = c.opt_int("head_dim", None) if c.has("head_dim") else None
    if head_dim is None:
        d = c.defaults.get("head_dim", DERIVED)
        head_dim = hidden // heads if d is DERIVED or d is None else d
    return checked_dims(c, hidden, heads, kv_heads, head_dim)


def checked_dims(c: Config, hidden: int, heads: int, kv_heads: int, head_dim: int) -> Dims:
    """Dims once the query heads split into whole groups of the KV heads."""
    if heads % kv_heads:
        raise ConfigError(
            msg(
                "num_attention_heads={heads} is not a multiple of num_key_value_heads={kv_heads} "
                "({model_type}); grouped-query attention needs whole groups.",
                heads=heads,
                kv_heads=kv_heads,
                model_type=c.model_type,
            ),
            field="num_key_value_heads",
        )
    return Dims(hidden, heads, kv_heads, head_dim, c.int("vocab_size"))


def gqa_spec(d: Dims, window: int | None) -> AttentionSpec:
    return AttentionSpec(
        kind="gqa",
        num_heads=d.heads,
        num_kv_heads=d.kv_heads,
        head_dim=d.head_dim,
        v_head_dim=d.head_dim,
        kv_elems_per_token=d.kv_heads * 2 * d.head_dim,
        window=window,
    )


def attn_qkvo(
    b: Builder,
    i: int,
    d: Dims,
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


def mlp_gated(
    b: Builder, i: int, hidden: int, inter: int, *, bias: bool = False, fused: bool = False
) -> None:
    if fused:
        b.linear("ffn_gate_up", 2 * inter, hidden, i, bias=bias)
    else:
        b.linear("ffn_gate", inter, hidden, i, bias=bias)
        b.linear("ffn_up", inter, hidden, i, bias=bias)
    b.linear("ffn_down", hidden, inter, i, bias=bias)


def mlp_plain(b: Builder, i: int, hidden: int, inter: int, *, bias: bool) -> None:
    b.linear("ffn_up", inter, hidden, i, bias=bias)
    b.linear("ffn_down", hidden, inter, i, bias=bias)


def routed_experts(
    b: Builder, i: int, hidden: int, inter: int, n: int, *, bias: bool = False
) -> None:
    """A stack of n routed gated experts (transformers fuses gate/up into one 3-D tensor)."""
    b.linear("ffn_gate_exps", inter, hidden, i, bias=bias, experts=n, routed=True)
    b.linear("ffn_up_exps", inter, hidden, i, bias=bias, experts=n, routed=True)
    b.linear("ffn_down_exps", hidden, inter, i, bias=bias, experts=n, routed=True)


def shared_expert(b: Builder, i: int, hidden: int, inter: int, *, bias: bool = False) -> None:
    b.linear("ffn_gate_shexp", inter, hidden, i, bias=bias)
    b.linear("ffn_up_shexp", inter, hidden, i, bias=bias)
    b.linear("ffn_down_shexp", hidden, inter, i, bias=bias)


def check_top_k(c: Config, top_k: int, n_exp: int) -> None:
    if top_k > n_exp:
        raise ConfigError(
            msg(
                "num_experts_per_tok={top_k} exceeds the number of experts ({experts}) "
                "for model_type {model_type!r}.",
                top_k=top_k,
                experts=n_exp,
                model_type=c.model_type,
            ),
            field="num_experts_per_tok",
        )


def moe_block(
    b: Builder,
    c: Config,
    i: int,
    hidden: int,
    inter: int,
    n_exp: int,
    top_k: int,
    shared_inter: int = 0,
    *,
    bias: bool = False,
    shared_bias: bool = False,
    shared_gate: bool = False,
) -> MlpSpec:
    """Router + routed gated experts (+ one always-on shared MLP of ``shared_inter``, with
    its own sigmoid gate ``ffn_gate_inp_shexp`` when ``shared_gate``)."""
    b.linear("ffn_gate_inp", n_exp, hidden, i, bias=bias)
    routed_experts(b, i, hidden, inter, n_exp, bias=bias)
    if shared_inter:
        shared_expert(b, i, hidden, shared_inter, bias=shared_bias)
        if shared_gate:
            b.linear("ffn_gate_inp_shexp", 1, hidden, i)
    return MlpSpec(
        kind="moe",
        intermediate_size=inter,
        gated=True,
        activation=activation(c),
        num_experts=n_exp,
        experts_per_token=top_k,
        shared_intermediate_size=shared_inter,
    )


def dense_spec(c: Config, inter: int, *, gated: bool = True) -> MlpSpec:
    return MlpSpec(kind="dense", intermediate_size=inter, gated=gated, activation=activation(c))


def activation(c: Config) -> str:
    value = c.get("activation")
    return value if isinstance(value, str) else str(value)


def embeddings(b: Builder, d: Dims) -> None:
    """token_embd first; the final norm and an untied output are added by finish_head."""
    b.add("token_embd", (d.vocab, d.hidden), "embedding")


def finish_head(
    b: Builder,
    c: Config,
    d: Dims,
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
