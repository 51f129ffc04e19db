"""The architecture description every estimate works from.

``arch.parse_config(raw) -> ModelSpec`` builds it from a Hugging Face ``config.json``;
catalog models and user-pasted configs take the same path. A ``ModelSpec`` lists every
parameter tensor the reference implementation (transformers) instantiates, so parameter
counts, quantized weight sizes (per-tensor rules, as llama.cpp applies them) and LoRA
adapter shapes all derive from one list.

Tensor names follow GGUF's convention (``token_embd``, ``attn_q``, ``ffn_down_exps``...)
because llama.cpp's quantization rules are keyed on them.
"""

from __future__ import annotations

from dataclasses import dataclass
from math import prod
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from .compressed_tensors import CtScheme

TensorKind = Literal["embedding", "linear", "norm", "bias", "other"]


@dataclass(frozen=True)
class Tensor:
    """One parameter tensor (or a stack of ``experts`` identical ones).

    ``shape`` is the torch layout of a single copy: ``(out_features, in_features)`` for a
    linear weight, ``(vocab, hidden)`` for an embedding, ``(n,)`` for norms and biases.
    """

    name: str
    shape: tuple[int, ...]
    kind: TensorKind
    layer: int | None = None
    experts: int = 1
    routed: bool = False  # a routed-expert stack: only experts_per_token of `experts` run per token

    @property
    def numel(self) -> int:
        return prod(self.shape) * self.experts


@dataclass(frozen=True)
class AttentionSpec:
    """Attention of one layer, as far as memory is concerned.

    ``kv_elems_per_token`` is what the runtime caches per token in this layer: for
    GQA/MQA/MHA ``num_kv_heads * (head_dim + v_head_dim)``; for MLA the compressed latent
    plus the decoupled RoPE key, ``kv_lora_rank + qk_rope_head_dim`` (as vLLM caches it).
    """

    kind: Literal["gqa", "mla", "recurrent"]  # "recurrent": no KV cache (see RecurrentSpec)
    num_heads: int
    num_kv_heads: int
    head_dim: int
    v_head_dim: int
    kv_elems_per_token: int
    window: int | None = None  # sliding-window length in tokens; None = attends to everything
    # MLA only (0 otherwise): the uncompressed K/V that transformers' eager path materializes
    kv_lora_rank: int = 0
    q_lora_rank: int = 0
    qk_rope_head_dim: int = 0
    qk_nope_head_dim: int = 0


@dataclass(frozen=True)
class MlpSpec:
    """Feed-forward block of one layer.

    ``intermediate_size`` is per expert for MoE layers. ``gated`` means three matrices
    (gate, up, down: SwiGLU/GeGLU) rather than two (up, down).
    """

    kind: Literal["dense", "moe"]
    intermediate_size: int
    gated: bool
    activation: str = "silu"
    num_experts: int = 0
    experts_per_token: int = 0
    shared_intermediate_size: int = 0  # total width of always-on shared experts (0 = none)


@dataclass(frozen=True)
class RecurrentSpec:
    """The fixed-size state one sequence keeps in a recurrent layer (Mamba, Gated DeltaNet,
    short convolution) instead of a growing KV cache: a causal-conv window plus an SSM /
    delta-rule state. ``engine.kv.state_layer_bytes`` lays it out per runtime.

    ``conv_channels`` = ``conv_base + groups × group_channels`` (Mamba-2 B/C groups, which
    vLLM replicates up to the TP size); the state is ``state_heads × state_head_elems``.
    """

    kind: Literal["gated_deltanet", "mamba2", "mamba", "short_conv"]
    conv_base: int
    conv_kernel: int
    state_heads: int = 0
    state_head_elems: int = 0
    groups: int = 0
    group_channels: int = 0
    hf_fp32_state: bool = False  # transformers keeps the SSM/delta state in float32
    vllm_fp32_state: bool = False  # vLLM's SSM state dtype is float32 (Nemotron-H's default)

    @property
    def conv_channels(self) -> int:
        return self.conv_base + self.groups * self.group_channels


@dataclass(frozen=True)
class LayerSpec:
    index: int
    attention: AttentionSpec
    mlp: MlpSpec
    state: RecurrentSpec | None = None  # recurrent layers only


@dataclass(frozen=True)
class ModelTraits:
    """How a model_type's transformers (and GGUF) implementation behaves where the tensor
    list cannot tell. Set once per model_type by ``arch.handlers.HANDLERS``; the defaults
    describe Llama, so a row names only what differs from it.
    """

    # norm module: "rms" (LlamaRMSNorm: fp32 math, cast back before the weight), "gemma"
    # (GemmaRMSNorm: all fp32, output·(1 + weight)) or "layer" (nn.LayerNorm, weight + bias)
    norm: Literal["rms", "gemma", "layer"] = "rms"
    # the norm weight multiplies the fp32 normalised tensor (Gemma, OLMo 2): it is saved
    fp32_weight_norm: bool = False
    # attention and MLP read the same normalised input (GPT-NeoX, Falcon, Phi)
    parallel_residual: bool = False
    # tanh soft-capping of attention scores and final logits (Gemma 2)
    softcapping: bool = False
    # transformers has an SDPA path (``_supports_sdpa``); False falls back to eager
    sdpa: bool = True
    # partial rotary embeddings joined with torch.cat: the attention output needs a copy
    cat_rope: bool = False
    # eager softmax runs in the scores' dtype (no fp32 upcast: GPT-2, Falcon, gpt-oss)
    softmax_in_compute_dtype: bool = False
    # MoE router computed in fp32 on an fp32 copy of its input (DeepseekV3TopkRouter)
    fp32_router: bool = False
    # peft adapts the experts' fused gate_up/down parameters for MLP targets
    peft_fused_experts: bool = False
    # llama.cpp's LLM_ARCH the converter writes ("" = the model_type itself)
    gguf_arch: str = ""


# name prefixes of the vision (``v.``), audio (``a.``) and projector (``mm.``) tensors the
# multimodal builders list outside any layer (arch.multimodal, arch.towers)
TOWERS = ("v.", "a.", "mm.")

# every tag ``ModelSpec.kind`` can hold, in the order it lists them
KINDS = ("dense", "moe", "hybrid", "multimodal")


@dataclass(frozen=True)
class StoredGguf:
    """The ggml type of each tensor as one GGUF file stores it, so that the weights of that
    file on llama.cpp are its own bytes, not those of the llama-quantize preset its
    ``general.file_type`` names (a dynamic mix, e.g. Unsloth's "UD" files, differs)."""

    weights: str  # the format id the file's general.file_type names ("auto": none), a label
    types: tuple[tuple[str, str], ...]  # (GGUF tensor name, ggml type name), file order


@dataclass(frozen=True)
class ModelSpec:
    """A parsed model: dimensions, per-layer layout and the full tensor list."""

    model_type: str
    hidden_size: int
    vocab_size: int
    num_layers: int
    max_position_embeddings: int
    tie_word_embeddings: bool
    dtype: str  # checkpoint dtype as written in config.json ("bfloat16", "float16", "float32")
    layers: tuple[LayerSpec, ...]
    tensors: tuple[Tensor, ...]
    checkpoint_quant: str | None = None  # format of a pre-quantized checkpoint ("fp8", "mxfp4"...)
    # a compressed-tensors checkpoint's parsed quantization_config (engine.compressed_tensors)
    checkpoint_scheme: CtScheme | None = None
    name: str = ""
    # dropout probabilities active in training (0 = none); each adds saved masks
    residual_dropout: float = 0.0  # after attention/MLP output projections
    attention_dropout: float = 0.0  # on the attention probabilities
    embedding_dropout: float = 0.0  # on the embedding output
    traits: ModelTraits = ModelTraits()  # per-model_type behaviour (arch.handlers)
    # read from a GGUF file (engine.hub): its per-tensor types replace the preset's on llamacpp
    gguf_file: StoredGguf | None = None

    # --- parameter counts (derived from the tensor list, never stored twice) ---
    @property
    def total_params(self) -> int:
        return sum(t.numel for t in self.tensors)

    @property
    def embedding_params(self) -> int:
        return sum(t.numel for t in self.tensors if t.name in ("token_embd", "pos_embd"))

    @property
    def lm_head_params(self) -> int:
        """Parameters of a separate output projection (0 when tied to the embedding)."""
        return sum(t.numel for t in self.tensors if t.name in ("output", "output.bias"))

    def layer_params(self, index: int) -> int:
        return sum(t.numel for t in self.tensors if t.layer == index)

    @property
    def per_layer_params(self) -> tuple[int, ...]:
        counts = [0] * self.num_layers
        for t in self.tensors:
            if t.layer is not None:
                counts[t.layer] += t.numel
        return tuple(counts)

    @property
    def active_params_per_token(self) -> int:
        """Parameters touched per token: routed experts count experts_per_token/num_experts."""
        total = 0
        for t in self.tensors:
            if t.routed:
                mlp = self.layers[t.layer].mlp if t.layer is not None else None
                if mlp is None or mlp.num_experts == 0:
                    total += t.numel
                else:
                    total += t.numel * mlp.experts_per_token // mlp.num_experts
            else:
                total += t.numel
        return total

    @property
    def gguf_arch(self) -> str:
        """The llama.cpp architecture name a GGUF conversion of this model carries."""
        return self.traits.gguf_arch or self.model_type

    @property
    def is_moe(self) -> bool:
        return any(layer.mlp.kind == "moe" for layer in self.layers)

    @property
    def tower_params(self) -> int:
        """Parameters of the vision/audio tower and projector (0 for a text-only model)."""
        return sum(t.numel for t in self.tensors if t.layer is None and t.name.startswith(TOWERS))

    @property
    def is_hybrid(self) -> bool:
        """Some layers keep a recurrent state (Mamba, Gated DeltaNet) instead of a KV cache."""
        return any(layer.state is not None for layer in self.layers)

    @property
    def kind(self) -> tuple[str, ...]:
        """Architecture tags a catalog filter offers, in ``KINDS`` order: "moe", "hybrid",
        "multimodal" combine (Qwen3.5 35B-A3B has all three); ("dense",) when none applies."""
        tags = (
            ("moe", self.is_moe),
            ("hybrid", self.is_hybrid),
            ("multimodal", self.tower_params > 0),
        )
        return tuple(tag for tag, on in tags if on) or ("dense",)

    def kv_elems_per_token(self) -> int:
        """Cached K/V elements per token over all layers, ignoring sliding windows."""
        return sum(layer.attention.kv_elems_per_token for layer in self.layers)
