"""Activation memory of one training step: what autograd keeps for the backward pass.

Method: Korthikanti et al. 2022, "Reducing Activation Recomputation in Large Transformer
Models" (arXiv:2205.05198), §4: count, layer by layer, every tensor the forward pass saves
for backward, in bytes per token. The paper's 34·s·b·h + 5·a·s²·b is that count for GPT-3
(GeLU MLP, LayerNorm, dropout, fp16). We redo the count for the modules transformers really
runs (RMSNorm in fp32, SwiGLU with three matrices, GQA, SDPA/flash vs eager attention, MoE
with experts_per_token routing, MLA, LayerNorm models), and for the three ways PyTorch trains:

* ``bf16``: parameters and activations in bf16; RMSNorm upcasts its input to fp32;
* ``amp-bf16``/``amp-fp16``: fp32 parameters under ``torch.autocast``: the residual stream
  stays fp32, every matmul casts its input to 16-bit (one copy per consuming module) and
  saves the 16-bit copy of its weight until backward;
* ``fp32``: everything in fp32.

Each term was checked, tensor by tensor, against the tensors a real CPU run of
transformers 5.24 / torch 2.13 saves (``torch.autograd.graph.saved_tensors_hooks``,
distinct storages), e.g. a tiny Llama layer saves exactly
``(16h + 8 + 4q + 4kv + 4·heads + 8i)·tokens`` bytes in bf16 with SDPA.

Whole training steps were compared with PyTorch's MemTracker (``tools/reference/
train_mem.py``, ``reference/training.json``): Llama 3.x, Mistral, Qwen 2.5/3, Phi-3,
Gemma 2/3, OLMo 2, SmolLM2, GPT-2 (eager), Mixtral and Qwen-MoE agree within 0.4% at the
peak and within 2% in every phase. Known differences, where the CPU reference takes a path a
GPU does not: with dropout > 0 or an explicit mask, CPU SDPA falls back to the math kernel
(fp32 scores; CUDA flash/efficient attention keeps none), CPU dropout keeps its mask in the
input dtype (CUDA: 1-byte bool), and MLA's unequal q/v head dims also take the CPU math path.

Terms below are bytes per token; ``s²`` terms are bytes per token per attended key.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .model import LayerSpec, ModelSpec, Tensor

# Per-model_type behaviour (norm kind, attention paths, router precision) is
# ``spec.traits`` (engine.model.ModelTraits, one row per model_type in arch.handlers).
# Activations written as Python arithmetic (several saved intermediates) rather than one op.
#   gelu_new / gelu_fast (NewGELUActivation): 0.5·x·(1 + tanh(√(2/π)(x + 0.044715x³)))
#   saves x, tanh(...), 0.5·x and (1 + tanh) → 4 tensors of the intermediate width.
PYTHON_GELU = frozenset({"gelu_new", "gelu_fast"})
# Dropout (p > 0, as configured; transformers trains with it): torch's CUDA native_dropout
# saves a bool mask, 1 byte per element (the CPU kernel keeps it in the input dtype). Inside
# SDPA/flash the attention dropout is regenerated from the RNG state: nothing saved.
DROPOUT_MASK_BYTES = 1


@dataclass(frozen=True)
class Precision:
    """Byte widths of one training precision.

    ``param`` is the width of trainable parameters, ``compute`` that of matmul inputs and
    outputs, ``residual`` that of the residual stream (fp32 under autocast, because the
    embedding and the fp32 norms are not autocast ops).
    """

    name: str
    param: int
    compute: int
    residual: int
    autocast: bool


PRECISIONS: dict[str, Precision] = {
    "bf16": Precision("bf16", param=2, compute=2, residual=2, autocast=False),
    "amp-bf16": Precision("amp-bf16", param=4, compute=2, residual=4, autocast=True),
    "amp-fp16": Precision("amp-fp16", param=4, compute=2, residual=4, autocast=True),
    "fp32": Precision("fp32", param=4, compute=4, residual=4, autocast=False),
}


@dataclass(frozen=True)
class Training:
    """What is trained, as the activation count needs it.

    ``base_trainable``: full fine-tune (every weight gets a gradient). Otherwise the base is
    frozen and ``lora`` names the GGUF tensor names that carry adapters (peft LoRA, adapter
    weights in ``adapter_bytes`` width: fp32 with peft's default ``autocast_adapter_dtype``).
    ``residual``/``compute``/``autocast`` describe the frozen base for LoRA (bf16 base).
    ``quantized_base``: QLoRA; bitsandbytes' ``MatMul4Bit`` saves only the packed weight
    (``ctx.tensors = (None, B)``), so frozen 4-bit linears keep no input either; backward
    dequantizes the weight again (a transient copy in compute dtype).
    """

    precision: Precision
    base_trainable: bool = True
    lora: frozenset[str] = frozenset()
    lora_rank: int = 0
    adapter_bytes: int = 4
    quantized_base: bool = False


@dataclass(frozen=True)
class LayerActivations:
    """Bytes one decoder layer keeps for backward (for the whole micro-batch).

    ``saved`` excludes ``weight_casts`` (autocast's 16-bit copies of fp32 weights, saved by
    the matmuls of that layer); ``attention_core`` is the part of ``saved`` that grows with
    s² (eager attention scores), dropped by selective recomputation; ``input`` is the layer's
    input hidden state, all that full recomputation keeps; ``terms`` lists per-token bytes.
    """

    saved: int
    weight_casts: int
    attention_core: int
    input: int
    backward_workspace: int
    terms: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class HeadActivations:
    """Final norm + lm_head + transformers' causal-LM loss, for the micro-batch.

    ``saved`` excludes the logits: final-norm tensors, lm_head input, the rotary cos/sin
    shared by all layers, input_ids and the shifted labels. The logits fields are the bytes
    alive together at three moments: ``forward_logits`` inside ``cross_entropy`` (logits in
    compute dtype + their fp32 upcast + the log_softmax output), ``backward_logits`` at the
    start of backward (saved log_softmax output + nll_loss gradient + log_softmax gradient,
    all fp32), ``grad_logits`` the logits gradient in compute dtype entering lm_head's
    backward.
    """

    saved: int
    weight_casts: int
    forward_logits: int
    backward_logits: int
    grad_logits: int


class _Terms:
    """Named per-token byte terms; duplicates of one storage are added once by the caller."""

    def __init__(self) -> None:
        self.items: dict[str, int] = {}

    def add(self, name: str, nbytes: int) -> None:
        if nbytes:
            self.items[name] = self.items.get(name, 0) + nbytes

    @property
    def total(self) -> int:
        return sum(self.items.values())


def effective_attention(spec: ModelSpec, attention: str) -> str:
    """Return the attention path transformers takes: eager where it has no SDPA path."""
    if attention == "sdpa" and not spec.traits.sdpa:
        return "eager"
    return attention


def layer_tensors(spec: ModelSpec) -> list[list[Tensor]]:
    """Return the tensors of each layer (one pass over the tensor list)."""
    out: list[list[Tensor]] = [[] for _ in range(spec.num_layers)]
    for t in spec.tensors:
        if t.layer is not None and 0 <= t.layer < spec.num_layers:
            out[t.layer].append(t)
    return out


def _norm(
    terms: _Terms,
    name: str,
    style: str,
    width: int,
    in_bytes: int,
    *,
    weight_trainable: bool,
    rows: int = 1,
) -> int:
    """Saved bytes of a norm over ``width`` elements; returns the output's byte width.

    ``rows`` is the number of normalised rows per token (heads for per-head QK norms).
    """
    if style == "layer":
        terms.add(f"{name}.input", in_bytes * width)
        terms.add(f"{name}.mean_rstd", 8 * rows)
        return in_bytes
    terms.add(f"{name}.input_fp32", 4 * width)  # x.to(fp32): a copy, or x itself when fp32
    terms.add(f"{name}.rsqrt", 4 * rows)
    if weight_trainable:
        # weight · normed saves normed for the weight's gradient: fp32 for Gemma, the
        # input dtype for Llama-style norms (normed.to(input_dtype)).
        terms.add(f"{name}.normed", (4 if style == "gemma" else in_bytes) * width)
    return in_bytes


def _consumers(
    terms: _Terms,
    name: str,
    width: int,
    out_bytes: int,
    modules: list[str],
    tr: Training,
    compute: int,
    autocast: bool,
) -> None:
    """Inputs saved by the linear modules that read one tensor (the norm output).

    A trainable matmul saves its input; under autocast each module casts (and saves) its own
    16-bit copy when the input is wider. A frozen base matmul saves nothing, a LoRA adapter
    saves the input cast to the adapter dtype (peft ``_cast_input_dtype``; one copy per
    module).
    """
    shared = False
    for module in modules:
        if tr.base_trainable:
            if autocast and out_bytes != compute:
                terms.add(f"{name}.cast_for_{module}", compute * width)
            else:
                shared = True
        if module in tr.lora:
            if autocast:
                # peft casts x to the fp32 adapter dtype, autocast casts it back to 16-bit
                # for lora_A: a new 16-bit copy per module
                terms.add(f"{name}.lora_input_{module}", compute * width)
                terms.add(f"{module}.lora_a_out", compute * tr.lora_rank)
                continue
            if tr.adapter_bytes != out_bytes:
                terms.add(f"{name}.lora_input_{module}", tr.adapter_bytes * width)
            else:
                shared = True
            terms.add(f"{module}.lora_a_out", tr.adapter_bytes * tr.lora_rank)
    if shared:
        terms.add(f"{name}.output", out_bytes * width)


def _attention_gqa(
    terms: _Terms,
    s2: _Terms,
    spec: ModelSpec,
    layer: LayerSpec,
    tensors: dict[str, tuple[int, ...]],
    tr: Training,
    c: int,
    attention: str,
    style: str,
    seq: int,
    autocast: bool = False,
) -> None:
    a = layer.attention
    q = a.num_heads * a.head_dim
    kv_k = a.num_kv_heads * a.head_dim
    kv_v = a.num_kv_heads * a.v_head_dim
    out = a.num_heads * a.v_head_dim
    norm_trainable = tr.base_trainable
    if "attn_q_norm" in tensors:
        per_head = tensors["attn_q_norm"][0] != q
        qk_style = "gemma" if spec.traits.fp32_weight_norm else "rms"
        if style == "layer":
            qk_style = "layer"
        _norm(
            terms,
            "q_norm",
            qk_style,
            q,
            c,
            weight_trainable=norm_trainable,
            rows=a.num_heads if per_head else 1,
        )
        _norm(
            terms,
            "k_norm",
            qk_style,
            kv_k,
            c,
            weight_trainable=norm_trainable,
            rows=a.num_kv_heads if per_head else 1,
        )
    if attention == "eager":
        # transformers' eager_attention_forward: repeat_kv copies K and V to every head,
        # softmax(dtype=fp32) saves its fp32 output, .to(q dtype) → matmul saves the probs.
        terms.add("attn.q", c * q)
        terms.add("attn.k_repeated", c * a.num_heads * a.head_dim)
        terms.add("attn.v_repeated", c * a.num_heads * a.v_head_dim)
        if tr.base_trainable:
            terms.add("attn.output", c * out)  # transpose(1, 2).contiguous() copy for o_proj
        if spec.traits.softmax_in_compute_dtype and not autocast:
            s2.add("attn.softmax", c * a.num_heads)  # softmax in the scores' dtype
            if spec.attention_dropout > 0:
                s2.add("attn.dropout_output", c * a.num_heads)
        else:
            s2.add("attn.softmax_fp32", 4 * a.num_heads)
            if c != 4:
                s2.add("attn.probs", c * a.num_heads)  # with dropout: its output, same size
        if spec.attention_dropout > 0:
            if c == 4:
                s2.add("attn.dropout_output", 4 * a.num_heads)
            s2.add("attn.dropout_mask", DROPOUT_MASK_BYTES * a.num_heads)
        if spec.traits.softcapping:
            s2.add("attn.softcap_tanh", c * a.num_heads)
    else:
        # SDPA / flash: q, k, v, output and the fp32 logsumexp per head and query;
        # GQA runs without repeated K/V (enable_gqa, no mask).
        if attention == "sdpa" and a.window is not None and seq >= a.window:
            # transformers skips the sliding-window mask only while seq < window; with the
            # mask SDPA loses enable_gqa (K/V repeated per head) and saves the mask it
            # converted to an additive float [batch, 1, seq, seq] bias, in every layer.
            kv_k = a.num_heads * a.head_dim
            kv_v = a.num_heads * a.v_head_dim
            s2.add("attn.window_mask", c)
        terms.add("attn.q", c * q)
        terms.add("attn.k", c * kv_k)
        if "attn_qkv" in tensors and spec.traits.cat_rope:
            # V stays a view of the fused qkv output (q and k were rebuilt by torch.cat), so
            # the whole fused output is kept (measured with MemTracker on Phi-3)
            terms.add("attn.qkv_output", c * tensors["attn_qkv"][0])
        else:
            terms.add("attn.v", c * kv_v)
        terms.add("attn.output", c * out)
        terms.add("attn.logsumexp", 4 * a.num_heads)
        if spec.traits.cat_rope and tr.base_trainable:
            # q comes out of torch.cat in (batch, heads, seq, dim) layout, so does the SDPA
            # output: transpose(1, 2).contiguous() copies it for o_proj, which saves the copy
            terms.add("attn.output_copy", c * out)


def _attention_mla(
    terms: _Terms,
    s2: _Terms,
    layer: LayerSpec,
    tensors: dict[str, tuple[int, ...]],
    tr: Training,
    c: int,
    autocast: bool,
    attention: str,
) -> None:
    a = layer.attention
    heads = a.num_heads
    qk = a.qk_nope_head_dim + a.qk_rope_head_dim
    trainable = tr.base_trainable
    for name, rank, consumer in (
        ("q_a_norm", a.q_lora_rank, "attn_q_b"),
        ("kv_a_norm", a.kv_lora_rank, "attn_kv_b"),
    ):
        if not rank:
            continue
        out_bytes = _norm(terms, name, "rms", rank, c, weight_trainable=trainable)
        # the norm's fp32 weight makes its output fp32 under autocast
        _consumers(terms, name, rank, 4 if autocast else out_bytes, [consumer], tr, c, autocast)
    terms.add("attn.q", c * heads * qk)  # cat(q_nope, rope(q_pe))
    terms.add("attn.k", c * heads * qk)  # cat(k_nope, rope(k_pe).expand(heads))
    terms.add("attn.kv_b_out", c * heads * (a.qk_nope_head_dim + a.v_head_dim))  # V is a view
    terms.add("attn.output", c * heads * a.v_head_dim)
    if tr.base_trainable:  # q from torch.cat: the output is copied for o_proj (see above)
        terms.add("attn.output_copy", c * heads * a.v_head_dim)
    if attention == "eager":
        s2.add("attn.softmax_fp32", 4 * heads)
        if c != 4:
            s2.add("attn.probs", c * heads)
    else:
        terms.add("attn.logsumexp", 4 * heads)


def _mlp_dense(
    terms: _Terms,
    name: str,
    inter: int,
    gated: bool,
    activation: str,
    down: str,
    tr: Training,
    c: int,
    autocast: bool,
) -> None:
    if activation in PYTHON_GELU:
        terms.add(f"{name}.act_intermediates", 3 * c * inter)  # x, tanh(...), 0.5·x, 1+tanh
    terms.add(f"{name}.act_input", c * inter)
    if gated:
        terms.add(f"{name}.act_output", c * inter)  # saved by act(gate) * up
        terms.add(f"{name}.up", c * inter)
    _consumers(
        terms,
        f"{name}.down_input",
        inter,
        c,
        [down],
        tr,
        c,
        autocast,
    )


def layer_activations(
    spec: ModelSpec,
    index: int,
    *,
    batch: int,
    seq: int,
    training: Training,
    attention: str,
    tp: int = 1,
    sequence_parallel: bool = False,
    tensors_of_layer: list[Tensor] | None = None,
) -> LayerActivations:
    """Return the bytes decoder layer ``index`` saves for backward for ``batch × seq`` tokens.

    Tensor parallelism (Megatron layout) divides the terms inside attention and MLP by
    ``tp``; the norm/residual terms are replicated unless ``sequence_parallel``.
    """
    attention = effective_attention(spec, attention)
    layer = spec.layers[index]
    own = tensors_of_layer
    if own is None:
        own = [t for t in spec.tensors if t.layer == index]
    tensors = {t.name: t.shape for t in own}
    tr = training
    p = tr.precision
    c = p.compute
    autocast = p.autocast
    r = p.residual
    if not tr.base_trainable:  # frozen 16-bit (or 4-bit) base: bf16 residual stream
        r = 4 if p.name == "fp32" else 2
    # fp32 norm weights under autocast make the norm output fp32 (full training only)
    fp32_norm_out = autocast and tr.base_trainable
    h = spec.hidden_size
    style = spec.traits.norm
    parallel = spec.traits.parallel_residual

    norm_terms = _Terms()  # replicated under TP unless sequence parallel
    inner = _Terms()  # divided by TP
    s2 = _Terms()  # × attended keys, divided by TP

    attn_in = [
        n
        for n in ("attn_qkv", "attn_q", "attn_k", "attn_v", "attn_q_a", "attn_kv_a_mqa")
        if n in tensors
    ]
    ffn_in = [
        n
        for n in (
            "ffn_gate_up",
            "ffn_gate",
            "ffn_up",
            "ffn_gate_inp",
            "ffn_gate_shexp",
            "ffn_up_shexp",
            "ffn_gate_inp_shexp",
        )
        if n in tensors
    ]
    if layer.mlp.kind == "moe":
        ffn_in = [n for n in ffn_in if n not in ("ffn_gate", "ffn_up")]
        if spec.traits.fp32_router:
            ffn_in = [n for n in ffn_in if n != "ffn_gate_inp"]

    # --- attention block -------------------------------------------------------------
    if "attn_norm" in tensors:
        out_bytes = _norm(norm_terms, "attn_norm", style, h, r, weight_trainable=tr.base_trainable)
        if style == "rms" and fp32_norm_out:
            out_bytes = 4  # fp32 weight · normed → fp32 under autocast
        consumers = attn_in + (ffn_in if parallel else [])
        _consumers(norm_terms, "attn_norm", h, out_bytes, consumers, tr, c, autocast)
    else:  # OLMo 2: the projections read the residual stream directly
        _consumers(norm_terms, "layer_input", h, r, attn_in, tr, c, autocast)
    if layer.attention.kind == "mla":
        _attention_mla(inner, s2, layer, tensors, tr, c, autocast, attention)
    else:
        _attention_gqa(inner, s2, spec, layer, tensors, tr, c, attention, style, seq, autocast)
    # o_proj reads the attention output (already saved, compute dtype)
    o_in = layer.attention.num_heads * layer.attention.v_head_dim
    if "attn_output" in tr.lora:
        adapter = c if autocast else tr.adapter_bytes
        if autocast or adapter != c:  # see _consumers: a copy per adapted module
            inner.add("attn_output.lora_input", adapter * o_in)
        inner.add("attn_output.lora_a_out", adapter * tr.lora_rank)
    if "post_attention_norm" in tensors:  # Gemma 2/3, OLMo 2: norm of the attention output
        _norm(norm_terms, "post_attention_norm", "gemma", h, c, weight_trainable=tr.base_trainable)

    # --- MLP block ---------------------------------------------------------------------
    if not parallel:
        if "ffn_norm" in tensors:
            out_bytes = _norm(
                norm_terms, "ffn_norm", style, h, r, weight_trainable=tr.base_trainable
            )
            if style == "rms" and fp32_norm_out:
                out_bytes = 4
            _consumers(norm_terms, "ffn_norm", h, out_bytes, ffn_in, tr, c, autocast)
        else:  # OLMo 2
            _consumers(norm_terms, "attn_residual", h, r, ffn_in, tr, c, autocast)
    elif "ffn_norm" in tensors:  # (Phi has a single norm per layer)
        # GPT-NeoX / new Falcon: a second LayerNorm of the same input (input saved once)
        norm_terms.add("ffn_norm.mean_rstd", 8)
    mlp = layer.mlp
    if mlp.kind == "moe":
        k = mlp.experts_per_token
        e = mlp.num_experts
        i = mlp.intermediate_size
        inner.add("router.logits_softmax", (c + 4) * e + 12 * k)
        if spec.traits.fp32_router:
            inner.add("router.input_fp32", 4 * h)  # linear(x.float(), weight.float())
        full = tr.base_trainable
        # transformers 5 experts (grouped_mm over tokens sorted by expert), per routed slot.
        # grouped_mm is not an autocast op: inputs are cast to the weight dtype, so with fp32
        # weights under autocast the experts run in fp32.
        w = 4 if (p.autocast and tr.base_trainable and p.param == 4) else c
        slot = w * (2 * i + i + h)  # gate_up output, act output, down output
        if full:
            slot += w * (h + i)  # gathered input, down input (product)
        inner.add("experts.per_slot_x_k", slot * k)
        if mlp.shared_intermediate_size:
            _mlp_dense(
                inner,
                "shared_expert",
                mlp.shared_intermediate_size,
                True,
                mlp.activation,
                "ffn_down_shexp",
                tr,
                c,
                autocast,
            )
            if "ffn_gate_inp_shexp" in tensors:
                inner.add("shared_expert.gate", c * (h + 1))
    else:
        inter = mlp.intermediate_size
        down = "ffn_down"
        _mlp_dense(inner, "mlp", inter, mlp.gated, mlp.activation, down, tr, c, autocast)
    if "post_ffw_norm" in tensors:
        _norm(norm_terms, "post_ffw_norm", "gemma", h, c, weight_trainable=tr.base_trainable)
    if spec.residual_dropout > 0:  # after the attention and the MLP output projections
        norm_terms.add("resid_dropout.masks", 2 * DROPOUT_MASK_BYTES * h)
    if spec.embedding_dropout > 0 and index == 0:
        norm_terms.add("embed_dropout.mask", DROPOUT_MASK_BYTES * h)

    tokens = batch * seq
    norm_div = tp if sequence_parallel else 1
    saved = tokens * norm_terms.total // norm_div + tokens * inner.total // tp
    # eager attention attends to every key (transformers masks, it does not skip)
    core = batch * seq * seq * s2.total // tp
    saved += core

    weight_casts = 0
    if autocast and tr.base_trainable:
        # routed experts run in their own dtype (grouped_mm), no 16-bit copies
        weight_casts = 2 * sum(t.numel for t in own if t.kind == "linear" and not t.routed) // tp
    elif autocast and tr.lora:
        # 16-bit copies of the fp32 lora_A/lora_B weights (autocast cache, saved by matmuls)
        weight_casts = (
            2
            * tr.lora_rank
            * sum(
                t.experts * (t.shape[0] + t.shape[1])
                for t in own
                if t.kind == "linear" and t.name in tr.lora and not t.routed
            )
            // tp
        )
    workspace = _backward_workspace(spec, layer, tokens, c, r) // tp
    if tr.quantized_base:  # MatMul4Bit.backward: dequantize_4bit(B) of the largest linear
        workspace += c * max((t.numel for t in own if t.kind == "linear"), default=0) // tp
    terms = {k: v for k, v in {**norm_terms.items, **inner.items}.items()}
    for k, v in s2.items.items():
        terms[f"{k}·s"] = v
    return LayerActivations(
        saved=saved,
        weight_casts=weight_casts,
        attention_core=core,
        input=tokens * r * h // norm_div,
        backward_workspace=workspace,
        terms=terms,
    )


def _backward_workspace(spec: ModelSpec, layer: LayerSpec, tokens: int, c: int, r: int) -> int:
    """Transient gradients while one layer runs backward (largest single moment).

    In the MLP backward, the gradient of the down-projection input and the two gradients
    of the gate/up outputs exist together with the residual-stream gradient.
    """
    mlp = layer.mlp
    inter = mlp.intermediate_size
    if mlp.kind == "moe":
        inter = max(mlp.intermediate_size * mlp.experts_per_token, mlp.shared_intermediate_size)
    return tokens * (3 * c * inter + 2 * r * spec.hidden_size)


def head_activations(
    spec: ModelSpec,
    *,
    batch: int,
    seq: int,
    training: Training,
    tp: int = 1,
) -> HeadActivations:
    """Bytes of the final norm, lm_head input and the HF causal-LM loss for the micro-batch.

    transformers' ``ForCausalLMLoss`` upcasts the logits to fp32 before ``cross_entropy``;
    with a vocab-parallel lm_head (Megatron) the logits split over ``tp``.
    """
    tr = training
    p = tr.precision
    c = p.compute
    r = p.residual
    autocast = p.autocast
    if not tr.base_trainable:
        r = 4 if p.name == "fp32" else 2
    h = spec.hidden_size
    v = spec.vocab_size
    style = spec.traits.norm
    terms = _Terms()
    out_bytes = _norm(terms, "output_norm", style, h, r, weight_trainable=tr.base_trainable)
    if style == "rms" and autocast and tr.base_trainable:
        out_bytes = 4
    head_trainable = tr.base_trainable
    if head_trainable:
        if autocast and out_bytes != c:
            terms.add("lm_head.input_cast", c * h)
        else:
            terms.add("lm_head.input", out_bytes * h)
    tokens = batch * seq
    head_dim = spec.layers[0].attention.head_dim if spec.layers else 0
    softcap = c * v // tp if spec.traits.softcapping else 0  # final_logit_softcapping: tanh saved
    saved = tokens * (terms.total + softcap)
    saved += tokens * head_dim * r  # rotary cos/sin (computed once, saved by the first layer)
    saved += tokens * 16  # input_ids (int64, also the labels) + shifted labels
    logits = tokens * v // tp
    return HeadActivations(
        saved=saved,
        weight_casts=2 * v * h // tp if (autocast and tr.base_trainable) else 0,
        forward_logits=logits * (c + (4 if c != 4 else 0) + 4) + tokens * softcap,
        backward_logits=logits * 12,
        grad_logits=logits * c,
    )
