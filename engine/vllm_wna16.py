"""GPTQ and AWQ checkpoints as vLLM loads them: the kernel it picks per GPU and the bytes
that kernel's repacking leaves on the GPU.

Read from the vLLM wheels (``engine/data/vllm_releases.json`` names them), files under
``vllm/model_executor/``:

* ``layers/quantization/auto_gptq.py`` ``AutoGPTQConfig``/``AutoGPTQLinearMethod``: GPTQ
  must be symmetric 4- or 8-bit (``TYPE_MAP``); ``create_weights`` allocates ``qweight``,
  ``scales`` and ``qzeros`` only (no ``g_idx``); ``utils/gptq_utils.py``
  ``normalize_and_validate_gptq_desc_act`` refuses ``desc_act`` with groups;
  ``verify_marlin_supported`` refuses a GPU below compute capability 7.5 and a group size
  outside ``MARLIN_SUPPORTED_GROUP_SIZES`` (-1, 32, 64, 128).
* ``layers/quantization/auto_awq.py``: 4-bit only, ``get_min_capability`` 7.5; on CUDA the
  Marlin-family method, whose ``_convert_awq_to_standard_format`` unpacks each weight to
  int32 during load.
* ``kernels/linear/__init__.py`` ``_POSSIBLE_KERNELS``/``choose_mp_linear_kernel`` and
  ``layers/quantization/utils/humming/priority.py``: on CUDA Machete (9.0 only, groups
  -1/64/128, ``in % 64 = 0``, ``out % 128 = 0``), then Humming ahead of Marlin on 9.0
  (``humming-kernels`` is a requirement of the wheel), then Marlin (>= 7.5).
* ``kernels/linear/mixed_precision/marlin.py`` and ``utils/marlin_utils.py``
  ``marlin_padded_nk``: Marlin zero-pads each (fused) weight to ``n % 64, k % 128`` or
  ``n % 128, k % 64``, whichever is smaller, keeping k a multiple of the group; scales and
  AWQ zero points follow the padding; ``machete.py`` turns AWQ zero points into
  activation-dtype ``-scale·zero`` (``[groups, n]``).

Routed GPTQ experts (``FusedMoE``, ``AutoGPTQMoEMethod``) lose their ``g_idx`` and are
copied twice while converted during load. Routed AWQ (``auto_awq.py`` ``AutoAWQMoEMethod``)
and compressed-tensors W{n}A16 experts (``compressed_tensors_moe/
compressed_tensors_moe_wna16.py`` ``CompressedTensorsWNA16MoEMethod``) get the backend
``layers/fused_moe/oracle/int_wna16.py`` ``select_wna16_moe_backend`` picks: on CUDA
FlashInfer TRT-LLM (10.x, symmetric int4 with groups of 32 only), then Humming ahead of
Marlin on 9.0, then Marlin (>= 7.5). Marlin (``_process_weights_marlin``,
``_process_awq_weights_marlin``) keeps same-sized stacks with the intermediate size padded
by ``marlin_moe_padded_intermediate``; the other backends' layouts are not modelled
(checkpoint bytes).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from .memo import per_spec_cache
from .units import ceil_div

if TYPE_CHECKING:
    from .gpus import GpuSpec
    from .model import ModelSpec, Tensor
    from .quant import QuantizedTensor
    from .runtime_base import Inputs
    from .workload import InferenceWorkload

MARLIN_GROUPS = (0, 32, 64, 128)  # 0 = one group per column (-1 in vLLM)
MACHETE_GROUPS = (0, 64, 128)
GPTQ_BITS = (4, 8)
AWQ_BITS = (4,)
MIN_CAPABILITY = 75  # Marlin; AWQ's get_min_capability
# vLLM fuses these checkpoint linears into one parameter (qkv_proj, gate_up_proj)
_FUSED = {
    "attn_q": "qkv",
    "attn_k": "qkv",
    "attn_v": "qkv",
    "ffn_gate": "gate_up",
    "ffn_up": "gate_up",
}
_ROW_PARALLEL = ("attn_output", "ffn_down")
_STORAGE = re.compile(r"(gptq|awq)-int(\d)(?:-g(\d+))?")
_METHOD_NAMES = {"gptq": "GPTQ", "awq": "AWQ", "ct": "compressed-tensors"}


@dataclass(frozen=True)
class Wna16:
    """A GPTQ/AWQ/compressed-tensors W{4,8}A16 layout as vLLM reads it."""

    method: str  # "gptq" | "awq" | "ct"
    bits: int
    group: int  # 0 = one group per column
    zero_points: bool = False  # AWQ, asymmetric compressed-tensors


def wna16_of_storage(storage: str) -> Wna16 | None:
    """The layout of one quantized tensor from its storage name (``gptq-int4-g128``,
    ``awq-int4-g128``, ``ct-int4-g32-a16``, ``ct-int4asym-ch-a16``), or None."""
    m = _STORAGE.fullmatch(storage)
    if m is not None:
        method, bits, group = m.group(1), int(m.group(2)), int(m.group(3) or 0)
        return Wna16(method, bits, group, zero_points=method == "awq")
    if storage.startswith("ct-") and storage.endswith("-a16"):
        from .compressed_tensors import group_from_id

        g = group_from_id(storage)
        w = None if g is None else g.weights
        if w is None or w.type != "int" or w.strategy not in ("group", "channel"):
            return None
        group = w.group_size if w.strategy == "group" else 0
        return Wna16("ct", w.num_bits, group, zero_points=not w.symmetric)
    return None


@dataclass(frozen=True)
class Linear:
    """One fused linear on one rank: ``k`` inputs, ``n`` outputs, checkpoint bytes there."""

    layer: int
    fmt: Wna16
    k: int
    n: int
    checkpoint_bytes: int  # the engine's per-rank bytes of the checkpoint tensors
    g_idx_bytes: int  # of those, GPTQ's int32 g_idx (vLLM 0.33+ allocates none)


def capability(cc: str | None) -> int | None:
    """``"8.9"`` → 89 (vLLM's ``DeviceCapability.to_int``); None when unknown."""
    if not cc:
        return None
    major, _, minor = cc.partition(".")
    return int(major) * 10 + int(minor or 0)


def kernel(fmt: Wna16, gpu: GpuSpec | None, k: int, n: int) -> str:
    """The linear kernel ``choose_mp_linear_kernel`` picks for one layer (CUDA), or the
    method vLLM uses elsewhere."""
    if gpu is None or gpu.vendor != "nvidia":
        return "checkpoint"  # ROCm/XPU kernels: the checkpoint layout is kept (not modelled)
    cc = capability(gpu.compute_capability) or 0
    machete = fmt.bits in (4, 8) and fmt.group in MACHETE_GROUPS  # uint4/8(b8/b128)
    if cc == 90 and machete and k % 64 == 0 and n % 128 == 0:
        return "Machete"
    if cc == 90:
        return "Humming"
    if fmt.group in MARLIN_GROUPS and fmt.bits in ((4,) if fmt.zero_points else (4, 8)):
        return "Marlin"
    return "checkpoint"  # Conch, Exllama or Triton W4A16 on the checkpoint layout


def marlin_padded_nk(n: int, k: int, group: int) -> tuple[int, int]:
    """``marlin_utils.marlin_padded_nk``: the smaller of the two tile families."""
    g = group if group > 0 else 1

    def up(x: int, m: int) -> int:
        return ceil_div(x, m) * m

    candidates = ((up(n, 64), up(k, math.lcm(128, g))), (up(n, 128), up(k, math.lcm(64, g))))
    return min(candidates, key=lambda nk: (nk[0] * nk[1], nk[0] + nk[1]))


def loaded_bytes(lin: Linear, kern: str, *, zeros_kept: bool) -> int:
    """Bytes of one fused linear on one rank after ``process_weights_after_loading``."""
    fmt = lin.fmt
    b = fmt.bits
    if kern in ("checkpoint", "Humming"):
        # layout kept / Humming's own layout (not modelled); no g_idx either way
        return lin.checkpoint_bytes - lin.g_idx_bytes
    k, n = lin.k, lin.n
    groups = k // fmt.group if fmt.group else 1
    # symmetric GPTQ's loaded qzeros: kept unused (0.34) or freed (0.33); compressed-tensors
    # allocates none when symmetric
    unused = groups * n * b // 8 if fmt.method == "gptq" and zeros_kept else 0
    if kern == "Machete":
        if fmt.zero_points:
            zeros = groups * n * 2  # -scale·zero in the activation dtype
        else:
            zeros = groups * n * b // 8 if fmt.method == "gptq" else 0  # untouched
        return k * n * b // 8 + groups * n * 2 + zeros
    pn, pk = marlin_padded_nk(n, k, fmt.group)
    pgroups = pk // fmt.group if fmt.group else 1
    zeros = pgroups * pn * b // 8 if fmt.zero_points else unused  # marlin_zero_points
    return pk * pn * b // 8 + pgroups * pn * 2 + zeros


def load_transient_bytes(lin: Linear, kern: str) -> int:
    """The largest temporary while this layer is converted and repacked during load.

    AWQ's ``_convert_awq_to_standard_format`` holds two int32 copies of the unpacked
    weight and the repacked result (``8·k·n + k·n·b/8``); Marlin's repack writes a new
    padded weight and scales beside the loaded ones; Machete prepacks a same-sized weight.
    """
    fmt = lin.fmt
    b = fmt.bits
    if kern in ("checkpoint",):
        return 0
    k, n = lin.k, lin.n
    awq = 8 * k * n + k * n * b // 8 if fmt.method == "awq" and kern != "checkpoint" else 0
    if kern == "Marlin":
        pn, pk = marlin_padded_nk(n, k, fmt.group)
        pgroups = pk // fmt.group if fmt.group else 1
        padded = pk * pn * b // 8 if (pn, pk) != (n, k) else 0
        repack = padded + pk * pn * b // 8 + pgroups * pn * 2
    else:
        repack = k * n * b // 8
    return max(awq, repack)


def moe_kernel(fmt: Wna16, gpu: GpuSpec | None, hidden: int = 128, inter: int = 0) -> str:
    """The WNA16 MoE backend ``select_wna16_moe_backend`` picks for AWQ/compressed-tensors
    experts on one GPU (CUDA order: FlashInfer TRT-LLM, Marlin, Triton, Humming, with
    ``prioritize_humming`` moving Humming ahead of Marlin on 9.0).

    ``check_moe_marlin_supports_config`` (tile padding allowed) wants ``hidden % 128 = 0``
    and whole groups in the per-rank intermediate size; otherwise compressed-tensors falls
    to Triton and AWQ (which Triton refuses) to Humming."""
    if gpu is None or gpu.vendor != "nvidia":
        return "checkpoint"  # ROCm/XPU/CPU backends: not modelled
    cc = capability(gpu.compute_capability) or 0
    ct_int4_g32 = fmt.method == "ct" and (fmt.bits, fmt.group) == (4, 32) and not fmt.zero_points
    if cc // 10 == 10 and ct_int4_g32:  # TrtLlmMxint4ExpertsMonolithic: kInt4Static32, no zp
        return "FlashInfer TRT-LLM"
    if cc == 90:
        return "Humming"
    if cc < MIN_CAPABILITY:
        return "checkpoint"
    if hidden % 128 or (fmt.group and inter % fmt.group):
        return "Triton" if fmt.method == "ct" else "Humming"
    return "Marlin"


def marlin_moe_padded_intermediate(n: int, group: int) -> int:
    """``marlin_utils.marlin_moe_padded_intermediate``: the per-rank intermediate size
    rounded up to ``lcm(64, group)``."""
    return ceil_div(n, math.lcm(64, group or 1)) * math.lcm(64, group or 1)


def _moe_stack_bytes(fmt: Wna16, experts: int, hidden: int, inter: int) -> int:
    """Weights, scales and zero points of one layer's ``w13`` and ``w2`` stacks on one rank
    as vLLM allocates them (``AutoAWQMoEMethod``/``CompressedTensorsWNA16MoEMethod``
    ``create_weights``), for ``inter`` intermediate columns per rank."""
    b = fmt.bits

    def one(n: int, k: int) -> int:
        groups = k // fmt.group if fmt.group else 1
        if fmt.method == "awq":  # [k, n/8] int32, [G, n] scales, [G, n/8] int32 zeros
            return k * n * b // 8 + groups * n * 2 + groups * n * b // 8
        words = ceil_div(k * b, 32)  # compressed-tensors: N-first [n, k/8] int32
        zeros = ceil_div(n * b, 32) * 4 * groups if fmt.zero_points else 0
        return n * words * 4 + n * groups * 2 + zeros

    return experts * (one(2 * inter, hidden) + one(hidden, inter))


def expert_stacks(
    quantized: Iterable[QuantizedTensor],
    divisor: Callable[[Tensor], int],
    gpu: GpuSpec | None = None,
) -> tuple[dict[int, tuple[int, int]], set[str]]:
    """Per layer on one rank: (loaded − checkpoint bytes, load temporary) of the routed
    experts, and the MoE backends used for AWQ/compressed-tensors experts.

    GPTQ (``AutoGPTQMoEMethod``): no ``g_idx``; ``process_weights_after_loading`` makes
    transposed ``contiguous()`` copies of the whole ``w13``/``w2`` stacks before
    ``convert_to_wna16_moe_kernel_format`` writes the kernel's layout: about two more
    copies of one layer's experts during load.

    AWQ and compressed-tensors on Marlin: the intermediate size is padded to Marlin's tile
    (weights, scales and zero points grow with it); compressed-tensors' ``weight_shape``
    becomes two ``[E, 2]`` parameters in the model dtype. During load AWQ holds the padded
    copy (if any) and the repacked stacks beside the loaded ones; compressed-tensors also
    holds its K-first ``transpose(1, 2).contiguous()`` copy: ``S + P`` (AWQ) or ``2·S +
    P`` (compressed-tensors) more than the loaded stacks, ``P`` only when padded.
    """
    gptq: dict[int, tuple[int, int]] = {}
    other: dict[tuple[int, Wna16], dict[str, QuantizedTensor]] = {}
    for q in quantized:
        t = q.tensor
        if t.layer is None or t.experts <= 1 or len(t.shape) != 2:
            continue
        fmt = wna16_of_storage(q.storage)
        if fmt is None:
            continue
        d = divisor(t)
        if fmt.method != "gptq":
            other.setdefault((t.layer, fmt), {})[t.name] = q
            continue
        g_idx = ceil_div(t.experts * 4 * t.shape[1], d)
        old = gptq.get(t.layer, (0, 0))
        gptq[t.layer] = (old[0] + g_idx, old[1] + ceil_div(int(q.nbytes), d))
    out = {layer: (-g_idx, 2 * (stack - g_idx)) for layer, (g_idx, stack) in gptq.items()}
    kernels: set[str] = set()
    for (layer, fmt), members in other.items():
        down = members.get("ffn_down_exps")
        if down is None:
            kernels.add(moe_kernel(fmt, gpu))
            continue
        t = down.tensor
        tp = divisor(t)
        hidden, inter = t.shape[0], t.shape[1] // tp
        kern = moe_kernel(fmt, gpu, hidden, inter)
        kernels.add(kern)
        if kern != "Marlin":
            continue
        padded = marlin_moe_padded_intermediate(inter, fmt.group)
        loaded = _moe_stack_bytes(fmt, t.experts, hidden, padded)
        stack = _moe_stack_bytes(fmt, t.experts, hidden, inter)
        delta = loaded - stack
        if fmt.method == "ct":
            # weight_shape: int64[2] per expert and tensor in the checkpoint (the engine
            # splits it by TP); vLLM allocates w13/w2_weight_shape [E, 2] in the model dtype
            delta += 2 * t.experts * 2 * 2 - ceil_div(16 * t.experts * len(members), tp)
        grown = loaded if padded != inter else 0
        transient = (2 * stack if fmt.method == "ct" else stack) + grown
        old = out.get(layer, (0, 0))
        out[layer] = (old[0] + delta, max(old[1], transient))
    return out, kernels


def fused_linears(
    quantized: Iterable[QuantizedTensor], divisor: Callable[[Tensor], int], tp: int
) -> list[Linear]:
    """The GPTQ/AWQ linears of the checkpoint fused as vLLM fuses them, on one rank.

    ``divisor`` gives a tensor's TP split (k/v heads split by ``min(tp, Hkv)``)."""
    groups: dict[tuple[int, str, Wna16], list[QuantizedTensor]] = {}
    for q in quantized:
        t = q.tensor
        if t.layer is None or t.experts > 1 or len(t.shape) != 2:
            continue
        fmt = wna16_of_storage(q.storage)
        if fmt is None:
            continue
        groups.setdefault((t.layer, _FUSED.get(t.name, t.name), fmt), []).append(q)
    out = []
    for (layer, name, fmt), members in groups.items():
        k_full = members[0].tensor.shape[1]
        row = name in _ROW_PARALLEL
        k = k_full // tp if row else k_full
        splits = [tp if row else divisor(q.tensor) for q in members]
        pairs = list(zip(members, splits, strict=True))
        n = sum(q.tensor.shape[0] // (1 if row else d) for q, d in pairs)
        nbytes = sum(ceil_div(int(q.nbytes), d) for q, d in pairs)
        gptq = [d for q, d in pairs if q.storage.startswith("gptq-")]
        g_idx = sum(ceil_div(4 * k_full, d) for d in gptq)
        out.append(Linear(layer, fmt, k, n, nbytes, g_idx))
    return out


@dataclass(frozen=True)
class Plan:
    """What vLLM's GPTQ/AWQ loading does to one estimate's weights on one rank."""

    kernel: str
    layer_delta: dict[int, int]  # loaded − checkpoint bytes per layer
    load_transient: int  # the largest per-layer temporary during load
    note: str


def wna16_format(fmt_id: str) -> Wna16 | None:
    """The GPTQ/AWQ parameters of a format id, or None for any other format."""
    from .formats import format_row, get_format

    f = get_format(fmt_id)
    if f.family not in ("gptq", "awq"):
        return None
    cfg = format_row(f)["gptq"]
    return Wna16(str(cfg["method"]), int(cfg["bits"]), int(cfg["group"] or 0))


def _format_id(spec: ModelSpec, work: InferenceWorkload) -> str:
    from . import quant
    from .formats import normalize_format_id

    weights = work.weights
    return quant.resolve_auto(spec) if weights.lower() == "auto" else normalize_format_id(weights)


def vllm_quant_check(spec: ModelSpec, work: InferenceWorkload) -> None:
    """Refuse the weights formats and GPUs that vLLM's quantization methods refuse."""
    from .errors import InvalidWorkload
    from .formats import get_format
    from .gpus import get_gpu
    from .messages import msg
    from .vllm_release import version

    fmt_id = _format_id(spec, work)
    release = version(work.vllm_version)
    family = get_format(fmt_id).family
    if family in ("bnb", "gguf"):
        raise InvalidWorkload(
            msg(
                "vLLM {version} cannot load {what}: its quantization methods "
                "(vllm/model_executor/layers/quantization/__init__.py) have none; use {fix}",
                version=release,
                what=msg("bitsandbytes weights") if family == "bnb" else msg("GGUF files"),
                fix=msg("transformers, or a GPTQ, AWQ or FP8 checkpoint")
                if family == "bnb"
                else msg("llama.cpp"),
            ),
            field="weights",
        )
    fmt = wna16_format(fmt_id)
    if fmt is None and family != "compressed-tensors":
        return
    if fmt is not None and (
        fmt.bits not in (GPTQ_BITS if fmt.method == "gptq" else AWQ_BITS)
        or fmt.group not in MARLIN_GROUPS
    ):
        bits = GPTQ_BITS if fmt.method == "gptq" else AWQ_BITS
        raise InvalidWorkload(
            msg(
                "vLLM {version} loads {method} with {bits} bits and group sizes 32, 64, 128 "
                "or one per column only, not {fmt}",
                version=release,
                method=fmt.method.upper(),
                bits=" or ".join(str(b) for b in bits),
                fmt=fmt_id,
            ),
            field="weights",
        )
    gpu = get_gpu(work.gpu) if work.gpu else None
    cc = capability(gpu.compute_capability) if gpu is not None else None
    if gpu is not None and gpu.vendor == "nvidia" and cc is not None and cc < MIN_CAPABILITY:
        # AutoGPTQ's verify_marlin_supported; AutoAWQConfig and CompressedTensorsWNA16
        # get_min_capability 75 (compressed-tensors W8A8/FP8 schemes are not WNA16)
        if fmt is None and not _ct_wna16(spec, fmt_id):
            return
        raise InvalidWorkload(
            msg(
                "vLLM {version} runs {method} only on compute capability 7.5 or newer (Marlin); "
                "the {gpu} is {cc}",
                version=release,
                method=_METHOD_NAMES[fmt.method] if fmt is not None else "compressed-tensors",
                gpu=gpu.name,
                cc=gpu.compute_capability,
            ),
            field="gpu",
        )


def wna16_plan(inp: Inputs) -> Plan | None:
    """The GPTQ/AWQ kernel, per-layer byte changes and load temporary on one rank, or None
    when the weights are not GPTQ/AWQ."""
    gpu = inp.gpu
    return _plan(
        inp.spec,
        _format_id(inp.spec, inp.work),
        inp.work.tp,
        inp.work.vllm_version,
        None if gpu is None else gpu.slug,
    )


@per_spec_cache
def _plan(spec: ModelSpec, fmt_id: str, tp: int, line: str, gpu_slug: str | None) -> Plan | None:
    from . import quant
    from .formats import get_format
    from .gpus import get_gpu
    from .messages import msg
    from .units import format_gib
    from .vllm_release import gptq_unused_zeros_kept, version

    if get_format(fmt_id).family not in ("gptq", "awq", "compressed-tensors"):
        return None
    gpu = get_gpu(gpu_slug) if gpu_slug else None
    zeros_kept = gptq_unused_zeros_kept(line)

    def divisor(t: Tensor) -> int:
        if t.name in ("attn_k", "attn_v") and t.layer is not None:
            att = spec.layers[t.layer].attention
            if att.kind == "gqa" and att.num_kv_heads > 0:
                return min(tp, att.num_kv_heads)
        return tp

    quantized = quant.quantize_tensors(spec, fmt_id, runtime="vllm")
    linears = fused_linears(quantized, divisor, tp)
    experts, moe_kernels = expert_stacks(quantized, divisor, gpu)
    if not linears and not experts and not moe_kernels:
        return None
    delta: dict[int, int] = {layer: d for layer, (d, _) in experts.items() if d}
    transient = max((t for _, t in experts.values()), default=0)
    kernels: set[str] = set()
    for lin in linears:
        kern = kernel(lin.fmt, gpu, lin.k, lin.n)
        kernels.add(kern)
        delta[lin.layer] = delta.get(lin.layer, 0) + (
            loaded_bytes(lin, kern, zeros_kept=zeros_kept) - lin.checkpoint_bytes
        )
        transient = max(transient, load_transient_bytes(lin, kern))
    names = ", ".join(sorted(k for k in kernels if k != "checkpoint")) or msg(
        "the platform's WNA16 kernels (checkpoint layout)"
    )
    moe_names = ", ".join(sorted(k for k in moe_kernels if k != "checkpoint")) or msg(
        "the platform's WNA16 kernels (checkpoint layout)"
    )
    change = sum(delta.values())
    first = next((q for q in quantized if wna16_of_storage(q.storage) is not None), None)
    fmt0 = wna16_of_storage(first.storage) if first is not None else None
    method = _METHOD_NAMES[fmt0.method] if fmt0 is not None else fmt_id
    amount = format_gib(abs(change))
    cc = (
        msg(" (compute capability {cc})", cc=gpu.compute_capability)
        if gpu is not None and gpu.compute_capability
        else ""
    )
    sign = "" if amount.startswith("0.00") else "+" if change >= 0 else "−"
    if not linears:
        note = msg(
            "{method} on vLLM {version}: routed experts on the {kernels} MoE backend{cc}; "
            "repacked weights {sign}{change} against the checkpoint (Marlin pads the "
            "intermediate size to its tile; other backends' layouts are not modelled); up "
            "to {transient} more while a layer's experts are repacked during load",
            method=method,
            version=version(line),
            kernels=moe_names,
            cc=cc,
            sign=sign,
            change=amount,
            transient=format_gib(transient),
        )
        return Plan(f"{moe_names} (MoE)", delta, transient, note)
    note = msg(
        "{method} on vLLM {version}: {kernels} linear kernel{cc}; repacked weights "
        "{sign}{change} against the checkpoint (no g_idx, tile padding, zero points as the "
        "kernel keeps them); up to {transient} more while a layer is repacked during load",
        method=method,
        version=version(line),
        kernels=names,
        cc=cc,
        sign=sign,
        change=amount,
        transient=format_gib(transient),
    )
    if moe_kernels:
        note = msg(
            "{note}; routed experts on the {kernels} MoE backend (Marlin pads the "
            "intermediate size to its tile; other backends' layouts are not modelled)",
            note=note,
            kernels=moe_names,
        )
    return Plan(names, delta, transient, note)


def kernel_family(gpu: GpuSpec) -> int:
    """A number for the GPU facts vLLM's quantized kernels follow (the GPTQ/AWQ kernel
    and MXFP4 padding): compute capability as an int for NVIDIA, 0 otherwise."""
    return (capability(gpu.compute_capability) or 0) if gpu.vendor == "nvidia" else 0


def gpu_dependent_weights(runtime: str, fmt_id: str) -> bool:
    """Whether the weights' bytes depend on the GPU (vLLM's GPTQ/AWQ/compressed-tensors
    repacking and MXFP4 padding), so a sweep must not shift one GPU's curve to another by a
    constant."""
    from .formats import get_format

    family = get_format(fmt_id).family
    return runtime == "vllm" and family in ("gptq", "awq", "compressed-tensors", "mxfp4")


def _ct_wna16(spec: ModelSpec, fmt_id: str) -> bool:
    """Whether a compressed-tensors checkpoint stores any W{n}A16 integer linear."""
    from . import quant

    return any(
        wna16_of_storage(q.storage) is not None
        for q in quant.quantize_tensors(spec, fmt_id, runtime="vllm")
    )
