"""Sentences that explain a total which looks wrong at first sight (issue 15).

Shown beside the figure, not in the closed assumptions: a full fine-tune whose total does
not move with the micro-batch (its peak is the optimizer step), and a quantized format that
leaves most of the weight bytes in 16-bit (Mixtral "INT8" at 85.74 GiB beside BF16 at
86.99 GiB). Both read facts the estimate already computed.
"""

from __future__ import annotations

from collections.abc import Iterable

from .formats import QuantizedTensor, get_format
from .memo import per_spec_cache
from .messages import Message, msg
from .model import ModelSpec
from .units import format_gib

# storage names of unquantized tensors: the float schemes' dtypes and ggml's float types
_FLOAT_STORAGE = {"fp32": "fp32", "fp16": "fp16", "bf16": "bf16", "F32": "fp32",
                  "F16": "fp16", "BF16": "bf16"}
_MOSTLY = 0.5  # say so when more than half of the weight bytes stay unquantized


def optimizer_step_note(details: dict[str, object]) -> Message | None:
    """Why the micro-batch and sequence length do not move a total that peaks at the
    optimizer step: activations are freed by then, so only the smaller forward/backward
    peak grows with them."""
    phases = details.get("phases")
    if details.get("peak_phase") != "optimizer_step" or not isinstance(phases, dict):
        return None
    step = phases.get("optimizer_step")
    others = [v for k, v in phases.items() if k != "optimizer_step" and isinstance(v, int)]
    if not isinstance(step, int) or not others:
        return None
    return msg(
        "This total is the optimizer step's peak (weights, gradients, optimizer states and "
        "the step's temporaries); forward/backward, where micro-batch and sequence length "
        "add activations, peaks {gap} lower, so they change the total only once they add "
        "more than that",
        gap=format_gib(step - max(others)),
    )


@per_spec_cache
def weights_kept_note(spec: ModelSpec, fmt_id: str, runtime: str) -> Message | None:
    """``unquantized_note`` of ``spec`` as ``runtime`` stores it in ``fmt_id``, once per
    model and format: it sums every tensor, which an estimate on a hot path need not redo."""
    from .quant import quantize_tensors

    tensors = quantize_tensors(spec, fmt_id, runtime=runtime)
    return unquantized_note(tensors, fmt_id, runtime=runtime)


def unquantized_note(
    tensors: Iterable[QuantizedTensor], fmt_id: str, *, runtime: str
) -> Message | None:
    """Say what stays 16-bit, and why, when a quantized format leaves most weight bytes
    unquantized (bitsandbytes under transformers skips MoE expert stacks)."""
    fmt = get_format(fmt_id)
    if fmt.family == "float":
        return None
    tensors = tuple(tensors)
    total = sum(q.nbytes for q in tensors)
    kept = [q for q in tensors if q.storage in _FLOAT_STORAGE]
    kept_bytes = sum(q.nbytes for q in kept)
    if not total or kept_bytes <= _MOSTLY * total:
        return None
    experts = sum(q.nbytes for q in kept if q.tensor.experts > 1)
    dtype = _FLOAT_STORAGE[max(kept, key=lambda q: q.nbytes).storage]
    if fmt.family == "bnb" and runtime == "transformers" and experts > _MOSTLY * kept_bytes:
        why = msg(
            "transformers holds MoE experts as stacked parameters, not nn.Linear layers, "
            "and bitsandbytes converts only nn.Linear, so the experts keep {dtype}; "
            "a GGUF type on llama.cpp or GPTQ/AWQ/FP8 on vLLM quantizes them",
            dtype=dtype,
        )
    else:
        why = msg(
            "{label} converts only the decoder's linear layers; embeddings, norms and "
            "layers its kernels do not take keep {dtype}",
            label=fmt.label,
            dtype=dtype,
        )
    return msg(
        "{label} leaves {share:.0%} of the weights ({kept} of {total}) unquantized: {why}",
        label=fmt.label,
        share=kept_bytes / total,
        kept=format_gib(kept_bytes),
        total=format_gib(total),
        why=why,
    )
