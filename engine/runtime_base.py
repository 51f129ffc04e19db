"""What an inference runtime strategy is, and the steps more than one runtime shares.

``engine.inference`` computes what every runtime needs the same way (weights split per
rank, KV cache per layer, device overhead) into ``Inputs``, then asks the workload's
``Runtime`` (``inference.RUNTIMES``: ``runtime_transformers``, ``runtime_vllm``,
``runtime_llamacpp``) for what differs: its transient bytes, where layers and weights go,
and the budget it runs in. A fourth runtime is one module with a ``Runtime`` and a row in
that table.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

from .memo import per_spec_cache
from .units import ceil_div, format_gib

if TYPE_CHECKING:
    from .gpus import GpuSpec
    from .model import LayerSpec, ModelSpec
    from .workload import InferenceWorkload


@dataclass(frozen=True)
class WeightSplit:
    """Weight bytes of one TP rank: per layer, embedding, output head and the rest."""

    layers: tuple[int, ...]
    embedding: int  # token_embd (+ pos_embd) on one rank
    output: int  # lm_head on one rank (0 when tied)
    final: int  # final norm and other non-layer tensors
    embedding_full: int  # token_embd bytes unsplit (llama.cpp host copy / tied copy)
    total_unsplit: int  # whole model, one copy


@dataclass(frozen=True, eq=False)
class Inputs:
    """What the shared steps computed for one workload, handed to its runtime."""

    spec: ModelSpec
    work: InferenceWorkload
    gpu: GpuSpec | None
    split: WeightSplit  # weights on one TP rank
    stages: tuple[range, ...]  # layers of each pipeline stage
    kv_layers: tuple[int, ...]  # KV-cache bytes of each layer on one TP rank
    act_bytes: int  # bytes per activation element
    overhead: int  # device context + BLAS workspace
    overhead_text: str  # the same, in words
    limits: tuple[int, int]  # Runtime.gpu_limits(gpu)
    kv_block: int = 0  # tokens per vLLM KV block (kv.vllm_kv_block); 0: not vLLM


@dataclass(frozen=True)
class GpuBytes:
    """One GPU's bytes by component."""

    weights: int = 0
    kv_cache: int = 0
    activations: int = 0
    logits: int = 0
    overhead: int = 0
    allocator: int | None = None  # PyTorch caching allocator (engine.cuda_alloc); None: not used

    def components(self) -> dict[str, int]:
        parts = {
            "weights": self.weights,
            "kv_cache": self.kv_cache,
            "activations": self.activations,
            "logits": self.logits,
            "overhead": self.overhead,
        }
        if self.allocator is not None:
            parts["allocator"] = self.allocator
        return parts

    @property
    def total(self) -> int:
        return (
            self.weights
            + self.kv_cache
            + self.activations
            + self.logits
            + self.overhead
            + (self.allocator or 0)
        )


@dataclass(frozen=True)
class Transients:
    """The bytes a runtime adds on one rank besides weights and KV, and why."""

    activations: int
    logits: int
    overhead: int
    host_bytes: int = 0
    assumptions: tuple[str, ...] = ()
    details: dict[str, object] = field(default_factory=dict)


@dataclass(frozen=True)
class Placement:
    """Where the runtime puts layers: one ``GpuBytes`` per pipeline stage, the rest on host."""

    stages: tuple[GpuBytes, ...]
    host_weights: int = 0
    host_kv: int = 0
    host_other: int = 0  # e.g. logits of an output layer that runs on the CPU
    assumptions: tuple[str, ...] = ()
    details: dict[str, object] = field(default_factory=dict)


@dataclass(frozen=True)
class Budget:
    """What one GPU offers the runtime: the budget a fit is judged against, and its words."""

    budget_bytes: int
    offer: str  # the budget as the not-fitting warning states it
    reserved_bytes: int | None = None  # pre-allocated pool (vLLM), reported apart
    details: dict[str, object] = field(default_factory=dict)


class Runtime(Protocol):
    """One inference runtime's rules; everything else in an estimate is shared."""

    @property
    def name(self) -> str:
        """The workload's ``runtime`` value."""
        ...

    @property
    def vocab_padding(self) -> int:
        """Embedding/lm_head rows are padded to a multiple of this (1 = none)."""
        ...

    @property
    def partial_offload(self) -> bool:
        """Whether some layers can stay in CPU RAM (``n_gpu_layers``)."""
        ...

    def check(self, spec: ModelSpec, work: InferenceWorkload) -> None:
        """Raise ``InvalidWorkload`` for a setting this runtime cannot run."""
        ...

    def activation_bytes(self, weights_format: str) -> int:
        """Bytes per activation element for a model loaded in ``weights_format``."""
        ...

    def gpu_limits(self, gpu: GpuSpec | None) -> tuple[int, int]:
        """Batch limits taken from the GPU (vLLM's max_num_batched_tokens, max_num_seqs)."""
        ...

    def gpu_key(self, gpu: GpuSpec | None, work: InferenceWorkload) -> tuple[int, ...]:
        """Everything besides the device overhead that this runtime's components take from
        the GPU (``inference.gpu_dependence``: equal keys share one sweep curve)."""
        ...

    def transients(self, inp: Inputs) -> Transients:
        """Activations, logits and overhead on one rank at the runtime's peak."""
        ...

    def place(self, inp: Inputs, peak: Transients) -> Placement:
        """Bytes on each pipeline stage's GPU and in host RAM."""
        ...

    def budget(self, gpu: GpuSpec, work: InferenceWorkload, worst: GpuBytes) -> Budget:
        """What ``gpu`` offers this runtime (``worst``: the most-loaded GPU's bytes)."""
        ...

    def gpu_warnings(self, gpu: GpuSpec) -> tuple[str, ...]:
        """Warnings about running this runtime on ``gpu`` at all."""
        ...


# --------------------------------------------------------------------------- shared steps


def layer_transient_per_token(
    layer: LayerSpec, hidden: int, tp: int, *, hidden_tensors: int, rope_tables: bool
) -> int:
    """Return the elements per token alive at one layer's peak on one TP rank.

    ``hidden_tensors`` hidden-sized tensors (transformers keeps four, runtimes that update
    the residual in place two), the larger of the attention and MLP intermediates (each
    split by tp), fp32 router logits, and with ``rope_tables`` the RoPE cos/sin tables.
    """
    att = layer.attention
    attn = attention_elems_per_token(layer, tp)
    rope = att.qk_rope_head_dim if att.kind == "mla" else att.head_dim
    mlp = layer.mlp
    width = mlp.intermediate_size
    if mlp.kind == "moe":
        width = max(mlp.intermediate_size, mlp.shared_intermediate_size)
    mlp_elems = ceil_div(((2 if mlp.gated else 1) + 1) * width, tp)
    router = mlp.num_experts * 2 if mlp.kind == "moe" else 0  # fp32 router logits
    tables = 2 * rope if rope_tables else 0
    return hidden_tensors * hidden + max(attn, mlp_elems) + router + tables


def attention_elems_per_token(layer: LayerSpec, tp: int) -> int:
    """Return the elements per token of one layer's q, k, v and attention output on one
    TP rank (MLA: the uncompressed q, k, v)."""
    att = layer.attention
    if att.kind == "mla":
        q = att.num_heads * (att.qk_nope_head_dim + att.qk_rope_head_dim)
        kv_width = att.num_heads * (att.qk_nope_head_dim + att.qk_rope_head_dim + att.v_head_dim)
        return ceil_div(q + kv_width + att.num_heads * att.v_head_dim, tp)
    q = att.num_heads * att.head_dim
    kv_width = att.num_kv_heads * (att.head_dim + att.v_head_dim)
    attn = ceil_div(q, tp) + ceil_div(kv_width, min(tp, max(1, att.num_kv_heads)))
    return attn + ceil_div(att.num_heads * att.v_head_dim, tp)


@per_spec_cache
def max_transient_per_token(
    spec: ModelSpec, tp: int, hidden_tensors: int, rope_tables: bool
) -> int:
    """Return the largest ``layer_transient_per_token`` over the model's layers."""
    return max(
        (
            layer_transient_per_token(
                layer, spec.hidden_size, tp, hidden_tensors=hidden_tensors, rope_tables=rope_tables
            )
            for layer in spec.layers
        ),
        default=2 * spec.hidden_size,
    )


def place_layers(inp: Inputs, peak: Transients) -> Placement:
    """Every layer on a GPU, split into pipeline stages (transformers, vLLM).

    The first stage holds the embedding, the last the final norm, lm_head and logits; a
    tied lm_head is a second copy of the embedding on the last stage when pp > 1.
    """
    split = inp.split
    tied_copy = 0
    if inp.spec.tie_word_embeddings and not split.output and len(inp.stages) > 1:
        tied_copy = split.embedding  # the last stage loads its own lm_head copy
    out = []
    for s, stage in enumerate(inp.stages):
        first, last = s == 0, s == len(inp.stages) - 1
        w = sum(split.layers[i] for i in stage)
        if first:
            w += split.embedding
        if last:
            w += split.output + split.final + tied_copy
        out.append(
            GpuBytes(
                weights=w,
                kv_cache=sum(inp.kv_layers[i] for i in stage),
                activations=peak.activations,
                logits=peak.logits if last else 0,
                overhead=peak.overhead,
            )
        )
    return Placement(tuple(out))


def usable_budget(gpu: GpuSpec) -> Budget:
    """The whole usable memory of ``gpu`` (runtimes that allocate as they go)."""
    return Budget(gpu.usable_bytes, format_gib(gpu.usable_bytes))
