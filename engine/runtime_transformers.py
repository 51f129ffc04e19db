"""transformers ``generate()``: the whole prompt in one forward pass, logits of the last token.

Activations: the transient peak of one layer over ``batch × context`` tokens (one prefill),
four hidden-sized tensors alive plus RoPE cos/sin and int64 position ids (measured with a
tensor-tracking dispatch mode, see tests/engine/test_inference.py). Logits: the last
position's plus an fp32 copy, ``batch × vocab × (dtype + 4)``. Overhead: device context
and BLAS workspace only.

``attn_implementation`` (transformers ``TRANSFORMERS_VERSION``, the pinned reference venv):
``sdpa`` (the default) and ``flash_attention_2`` run fused kernels that keep no score
matrix; ``flex_attention`` keeps a block mask of a few bytes per 128 × 128 tile;
``eager`` (models/llama/modeling_llama.py ``eager_attention_forward``) materializes
``batch × heads × q × kv`` scores in the model dtype, their fp32 softmax and its cast back
(dtype + 4 + dtype bytes per score, one layer at a time) and reads a float
``batch × 1 × q × kv`` mask in the model dtype (masking_utils.py ``eager_mask``) that
lives for the whole forward pass. ``attention_scores_bytes`` is the one rule, for
inference here and for training.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from .cuda_alloc import allocator_bytes, applies_to
from .memo import per_spec_cache
from .messages import msg
from .runtime_base import (
    Budget,
    GpuBytes,
    Inputs,
    Placement,
    Transients,
    max_transient_per_token,
    place_layers,
    usable_budget,
)
from .units import ceil_div, format_gib

if TYPE_CHECKING:
    from .gpus import GpuSpec
    from .model import ModelSpec
    from .workload import InferenceWorkload

TRANSFORMERS_VERSION = "5.25.0"


@per_spec_cache
def _stage_weight_sizes(
    spec: ModelSpec, weights: str, tp: int, stages: tuple[range, ...]
) -> tuple[tuple[int, ...], ...]:
    """The bytes of each weight tensor on one TP rank of each pipeline stage, in load order
    (one allocation per tensor of the spec; the first stage holds the embedding, the last
    the final norm and lm_head, and a tied lm_head's own copy when pp > 1)."""
    from .inference import _tp_divisor
    from .quant import quantize_tensors

    out: list[list[int]] = [[] for _ in stages]
    last = len(stages) - 1
    for q in quantize_tensors(spec, weights, runtime="transformers"):
        t = q.tensor
        share = ceil_div(
            int(q.nbytes), tp if t.name in ("token_embd", "output") else _tp_divisor(t, spec, tp)
        )
        if t.layer is not None:
            where = [i for i, r in enumerate(stages) if t.layer in r][:1] or [last]
        elif t.name in ("token_embd", "pos_embd"):
            where = [0]
            if t.name == "token_embd" and spec.tie_word_embeddings and last > 0:
                where.append(last)
        else:
            where = [last]
        for i in where:
            out[i].append(share)
    return tuple(tuple(sizes) for sizes in out)


def attention_scores_bytes(
    spec: ModelSpec,
    implementation: str,
    *,
    batch: int,
    q_tokens: int,
    kv_tokens: int,
    dtype_bytes: int,
    tp: int = 1,
) -> tuple[int, int]:
    """Return (per-layer score bytes at one layer's peak, mask bytes alive all pass) that
    ``implementation`` materializes for ``q_tokens`` queries over ``kv_tokens`` keys.

    The path is the one training takes (``activations.effective_attention``: eager where
    the model has no SDPA path, e.g. Gemma 2 and gpt-oss). Eager: the scores in the dtype,
    their fp32 softmax and its cast, and one float mask per mask kind (full, sliding);
    SDPA: no scores, but a sliding window it cannot skip (``kv_tokens >= window``,
    masking_utils.py ``_ignore_causal_mask_sdpa``) costs a bool mask and the float copy
    SDPA converts it to; flash_attention_2 and flex_attention: neither.
    """
    from .activations import effective_attention

    impl = implementation
    if impl == "sdpa":
        impl = effective_attention(spec, "sdpa")
    attn = [layer.attention for layer in spec.layers if layer.attention.kind != "recurrent"]
    if not attn:
        return 0, 0
    cells = batch * q_tokens * kv_tokens
    windows = [a.window for a in attn if a.window]
    if impl == "eager":
        heads = max(-(-a.num_heads // tp) for a in attn)
        kinds = (1 if len(windows) < len(attn) else 0) + (1 if windows else 0)
        return cells * heads * (dtype_bytes + 4 + dtype_bytes), kinds * cells * dtype_bytes
    if impl == "sdpa" and windows and kv_tokens >= min(windows):
        return 0, cells * (1 + dtype_bytes)
    return 0, 0


class Transformers:
    """Hugging Face transformers, eager ``generate()`` with sdpa attention."""

    name = "transformers"
    vocab_padding = 1
    partial_offload = False

    def check(self, spec: ModelSpec, work: InferenceWorkload) -> None:
        return None

    def activation_bytes(self, weights_format: str) -> int:
        return 4 if weights_format == "fp32" else 2

    def gpu_limits(self, gpu: GpuSpec | None) -> tuple[int, int]:
        return (0, 0)

    def gpu_key(self, gpu: GpuSpec | None, work: InferenceWorkload) -> tuple[int, ...]:
        return (int(applies_to(gpu)),)  # the caching allocator's component, or none (Apple)

    def transients(self, inp: Inputs) -> Transients:
        spec, work, act = inp.spec, inp.work, inp.act_bytes
        tokens = work.batch * work.context
        per_token = max_transient_per_token(spec, work.tp, 4, True)
        windows = any(layer.attention.window for layer in spec.layers)
        impl = work.attn_implementation
        if impl == "sdpa":
            from .activations import effective_attention

            impl = effective_attention(spec, "sdpa")  # eager where there is no SDPA path
        scores, mask = attention_scores_bytes(
            spec,
            impl,
            batch=work.batch,
            q_tokens=work.context,
            kv_tokens=work.context,
            dtype_bytes=act,
            tp=work.tp,
        )
        attention_note = (
            msg(
                "transformers generate(): the {tokens:,}-token prompt is prefilled in one "
                "forward pass with sdpa attention (no score matrix kept); int64 position "
                "ids add 8 bytes per token",
                tokens=tokens,
            )
            if impl == "sdpa" and not scores and not mask
            else msg(
                "transformers generate(): the {tokens:,}-token prompt is prefilled in one "
                "forward pass with attn_implementation={impl}{scores}; int64 position ids "
                "add 8 bytes per token",
                tokens=tokens,
                impl=impl,
                scores=msg(
                    " (eager keeps one layer's scores, their fp32 softmax and its cast: "
                    "{scores}, and a float mask of {mask})",
                    scores=format_gib(scores),
                    mask=format_gib(mask),
                )
                if scores
                else msg(
                    " (no score matrix kept; the sliding-window mask and SDPA's float copy "
                    "of it: {mask})",
                    mask=format_gib(mask),
                )
                if mask
                else msg(" (no score matrix kept)"),
            )
        )
        return Transients(
            activations=tokens * (per_token * act + 8) + scores + mask,
            logits=work.batch * spec.vocab_size * (act + 4),
            overhead=inp.overhead,
            details={"transformers_version": TRANSFORMERS_VERSION} if impl != "sdpa" else {},
            assumptions=(
                attention_note,
                msg(
                    "logits are kept for the last position only (logits_to_keep=1) plus an "
                    "fp32 copy"
                ),
                *(
                    [
                        msg(
                            "sliding-window layers hold min(context, window) tokens once "
                            "decoding runs; right after a prefill longer than the window they "
                            "still hold the whole prompt until the first decode step"
                        )
                    ]
                    if windows
                    else []
                ),
                msg("overhead: {overhead}", overhead=inp.overhead_text),
            ),
        )

    def place(self, inp: Inputs, peak: Transients) -> Placement:
        """Every layer on a GPU, plus what PyTorch's caching allocator reserves on each:
        the weights simulated tensor by tensor, the allowance on the bytes ``generate()``
        frees and allocates again (activations, logits, and the DynamicCache, which
        ``torch.cat`` re-allocates every decode step)."""
        placed = place_layers(inp, peak)
        if not applies_to(inp.gpu):
            return placed  # PyTorch's MPS allocator, not the CUDA one (not modelled)
        expandable = inp.work.expandable_segments
        sizes = _stage_weight_sizes(inp.spec, inp.work.weights, inp.work.tp, inp.stages)
        stages = []
        extras = []
        for stage, gpu in zip(sizes, placed.stages, strict=True):
            churn = gpu.kv_cache + gpu.activations + gpu.logits
            extra = allocator_bytes(stage, churn, expandable, kv_cache=gpu.kv_cache > 0)
            stages.append(replace(gpu, allocator=extra.total))
            extras.append(extra)
        worst = max(range(len(stages)), key=lambda i: stages[i].total)
        return replace(
            placed,
            stages=tuple(stages),
            assumptions=(*placed.assumptions, extras[worst].note()),
            details={"cuda_allocator": extras[worst].details()},
        )

    def budget(self, gpu: GpuSpec, work: InferenceWorkload, worst: GpuBytes) -> Budget:
        return usable_budget(gpu)

    def gpu_warnings(self, gpu: GpuSpec) -> tuple[str, ...]:
        return ()


RUNTIME = Transformers()
