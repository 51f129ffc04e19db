"""transformers ``generate()``: the whole prompt in one forward pass, logits of the last token.

Activations: the transient peak of one layer over ``batch × context`` tokens (one prefill),
four hidden-sized tensors alive plus RoPE cos/sin and int64 position ids (measured with a
tensor-tracking dispatch mode, see tests/engine/test_inference.py). Logits: the last
position's plus an fp32 copy, ``batch × vocab × (dtype + 4)``. Overhead: device context
and BLAS workspace only.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

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

if TYPE_CHECKING:
    from .gpus import GpuSpec
    from .model import ModelSpec
    from .workload import InferenceWorkload


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

    def transients(self, inp: Inputs) -> Transients:
        spec, work, act = inp.spec, inp.work, inp.act_bytes
        tokens = work.batch * work.context
        per_token = max_transient_per_token(spec, work.tp, 4, True)
        windows = any(layer.attention.window for layer in spec.layers)
        return Transients(
            activations=tokens * (per_token * act + 8),
            logits=work.batch * spec.vocab_size * (act + 4),
            overhead=inp.overhead,
            assumptions=(
                msg(
                    "transformers generate(): the {tokens:,}-token prompt is prefilled in one "
                    "forward pass with sdpa attention (no score matrix kept); int64 position "
                    "ids add 8 bytes per token",
                    tokens=tokens,
                ),
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
        return place_layers(inp, peak)

    def budget(self, gpu: GpuSpec, work: InferenceWorkload, worst: GpuBytes) -> Budget:
        return usable_budget(gpu)

    def gpu_warnings(self, gpu: GpuSpec) -> tuple[str, ...]:
        return ()


RUNTIME = Transformers()
