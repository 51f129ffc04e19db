"""The padding vLLM's MXFP4 MoE kernels add to gpt-oss-style expert stacks, per GPU family.

vLLM ``Mxfp4MoEMethod.create_weights`` (vllm/model_executor/layers/quantization/mxfp4.py,
vllm-project/vllm@007d5005) allocates ``w13`` as ``[E, 2·I', H'/2]`` uint8 + ``[E, 2·I',
H'/32]`` E8M0 scales + ``[E, 2·I']`` bf16 bias and ``w2`` as ``[E, H', I'/2]`` + ``[E, H',
I'/32]`` + ``[E, H']``, where ``I`` is the per-rank intermediate size and ``I'``/``H'`` are
rounded up for the backend ``get_mxfp4_backend`` picks with default environment variables:

* compute capability 10.x (Blackwell B200/GB200/B300, FlashInfer installed with vLLM):
  ``SM100_FI_MXFP4_BF16``: ``I`` and ``H`` to multiples of 256;
* 9.0 (Hopper, triton_kernels, vendored as ``vllm.third_party.triton_kernels``): ``I`` to a
  multiple of 64, ``H`` unchanged;
* any other CUDA GPU (Ampere 8.x, Ada 8.9, 12.x): Marlin: ``I`` to 128, ``H`` to 256.

AMD (``get_padding_alignment``) and GPUs without a compute capability are not padded.
"""

from __future__ import annotations

from dataclasses import dataclass

from .units import ceil_div

_BLOCK = 32  # MXFP4 elements per E8M0 scale


@dataclass(frozen=True)
class Mxfp4Padding:
    """The backend's name and the multiples it rounds (intermediate, hidden) up to."""

    backend: str
    intermediate: int
    hidden: int


def mxfp4_padding(compute_capability: str | None, vendor: str) -> Mxfp4Padding | None:
    """The padding vLLM's default MXFP4 MoE backend uses on this GPU, or None."""
    if vendor != "nvidia" or not compute_capability:
        return None
    major = compute_capability.split(".", 1)[0]
    if major == "10":
        return Mxfp4Padding("FlashInfer SM100 MXFP4 BF16", 256, 256)
    if compute_capability == "9.0":
        return Mxfp4Padding("triton_kernels", 64, 1)
    return Mxfp4Padding("Marlin", 128, 256)


def _round_up(n: int, m: int) -> int:
    return ceil_div(n, m) * m


def expert_stack_bytes(experts: int, intermediate: int, hidden: int) -> int:
    """Bytes of one layer's w13 + w2 MXFP4 stacks with their scales and bf16 biases."""
    w13 = experts * 2 * intermediate * (hidden // 2 + hidden // _BLOCK + 2)
    w2 = experts * hidden * (intermediate // 2 + intermediate // _BLOCK + 2)
    return w13 + w2


def padding_bytes(experts: int, intermediate: int, hidden: int, pad: Mxfp4Padding) -> int:
    """Bytes the padding adds to one layer's expert stacks on one rank (``intermediate`` is
    the per-rank size)."""
    i2 = _round_up(intermediate, pad.intermediate)
    h2 = _round_up(hidden, pad.hidden)
    return expert_stack_bytes(experts, i2, h2) - expert_stack_bytes(experts, intermediate, hidden)
