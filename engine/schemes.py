"""How the non-GGUF schemes store each tensor: floats, FP8, bitsandbytes, GPTQ/AWQ, MXFP4.

Per-tensor rules follow the real tools:

* **bitsandbytes** (LLM.int8, nf4/fp4 ± double quant) quantizes what transformers'
  ``replace_with_bnb_linear`` converts: ``nn.Linear`` layers except lm_head and tied weights.
  In transformers 5.x routed experts are 3-D parameters, not ``nn.Linear``, so they stay
  16-bit there; vLLM's bitsandbytes MoE method quantizes them.
* **GPTQ / AWQ** quantize every linear layer of the decoder blocks (incl. experts); embeddings,
  lm_head, norms, biases and routers stay 16-bit.
* **FP8** (E4M3) quantizes linear layers with a per-tensor scale (vLLM ``--quantization fp8``)
  or with 128x128 block scales (DeepSeek-V3 checkpoints).
* **MXFP4** stores routed experts as 32-element E2M1 blocks + one E8M0 scale (4.25 bits), the
  rest 16-bit, as gpt-oss is published.
* **compressed-tensors** checkpoints store what their ``quantization_config`` targets and does
  not ignore, per module name, in the layout of its format (``compressed_tensors.py``).

Each function returns one ``QuantizedTensor`` per spec tensor, in spec order.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from . import compressed_tensors as ct
from .errors import InvalidWorkload
from .formats import QuantizedTensor
from .ggml import GgmlType, get_ggml_type
from .messages import msg
from .model import TOWERS, ModelSpec, Tensor
from .units import ceil_div

FLOAT_BYTES = {"fp32": 4, "fp16": 2, "bf16": 2}


def half_dtype(spec: ModelSpec) -> str:
    """The 16-bit dtype that unquantized tensors keep: the checkpoint's if it is 16-bit,
    else bf16."""
    return "fp16" if spec.dtype in ("float16", "fp16", "half") else "bf16"


def float_tensor(t: Tensor, dtype: str) -> QuantizedTensor:
    """``t`` stored unquantized in ``dtype`` ("fp32", "fp16", "bf16")."""
    return QuantizedTensor(t, dtype, t.numel * FLOAT_BYTES[dtype])


def _is_router(t: Tensor) -> bool:
    return t.name.startswith("ffn_gate_inp")


def _is_quantizable_linear(t: Tensor) -> bool:
    """A 2-D weight of a linear layer inside the decoder (not the lm_head or a router)."""
    return t.kind == "linear" and len(t.shape) == 2 and t.name != "output" and not _is_router(t)


def _each_linear(
    spec: ModelSpec, quantize: Callable[[Tensor], QuantizedTensor | None]
) -> tuple[QuantizedTensor, ...]:
    """``quantize`` every decoder linear layer (None keeps it 16-bit); the rest stay 16-bit."""
    half = half_dtype(spec)
    out = []
    for t in spec.tensors:
        q = quantize(t) if _is_quantizable_linear(t) else None
        out.append(q if q is not None else float_tensor(t, half))
    return tuple(out)


def quantize_float(spec: ModelSpec, dtype: str) -> tuple[QuantizedTensor, ...]:
    """Every tensor in one float dtype (transformers and vLLM load floats as they are)."""
    return tuple(float_tensor(t, dtype) for t in spec.tensors)


def quantize_fp8(spec: ModelSpec, row: dict[str, Any], runtime: str) -> tuple[QuantizedTensor, ...]:
    """FP8 E4M3 linear layers with fp32 scales: per tensor (vLLM ``--quantization fp8``) or
    per 128x128 block (block checkpoints; transformers' FineGrainedFP8Config)."""
    # transformers quantizes to FP8 only through FineGrainedFP8Config, whose default
    # weight_block_size is (128, 128); vLLM's online `--quantization fp8` is per-tensor
    block = row["scale"] == "block" or runtime == "transformers"

    def fp8(t: Tensor) -> QuantizedTensor:
        n_out, n_in = t.shape
        if block:
            bo, bi = row.get("block_shape", (128, 128))
            scales = ceil_div(n_out, bo) * ceil_div(n_in, bi)
            storage = f"fp8-e4m3+fp32-scale-{bo}x{bi}"
        else:
            scales = 1
            storage = "fp8-e4m3+fp32-scale"
        return QuantizedTensor(t, storage, t.experts * (n_out * n_in + 4 * scales))

    return _each_linear(spec, fp8)


def _bnb_converts(t: Tensor, spec: ModelSpec, runtime: str) -> bool:
    if t.name == "ffn_gate_inp_shexp":
        # Qwen2-MoE shared_expert_gate: an nn.Linear(hidden, 1) in transformers (converted);
        # vLLM builds it as a plain torch Linear outside its quantized layers
        return runtime == "transformers"
    if not _is_quantizable_linear(t):
        return False
    if spec.tie_word_embeddings and t.name == "token_embd":
        return False
    # transformers 5.x: routed experts are nn.Parameter stacks, not nn.Linear
    # (e.g. MixtralExperts.gate_up_proj), so replace_with_bnb_linear leaves them alone.
    return not (t.experts > 1 and runtime == "transformers")


def quantize_bnb(spec: ModelSpec, row: dict[str, Any], runtime: str) -> tuple[QuantizedTensor, ...]:
    """bitsandbytes: LLM.int8 (int8 + fp32 row scales) or nf4/fp4 blocks (± double quant)
    on the linear layers the runtime converts."""
    half = half_dtype(spec)
    cfg = row["bnb"]
    out = []
    for t in spec.tensors:
        if not _bnb_converts(t, spec, runtime):
            out.append(float_tensor(t, half))
            continue
        n_out, n_in = t.shape
        n = n_out * n_in
        if cfg["kind"] == "int8":
            # Int8Params: CB int8 (out, in) + SCB float32 (out,)
            nbytes = n + 4 * n_out
            storage = "int8+fp32-row-scale"
        else:
            blocks = ceil_div(n, cfg["blocksize"])
            nbytes = (n + 1) // 2  # packed uint8, two 4-bit codes per byte
            nbytes += 16 * 4  # the 16-entry float32 code table (QuantState.code)
            if cfg["double_quant"]:
                # uint8 absmax per block + float32 absmax per 256 blocks + 256-entry float32
                # code copy + float32 offset (quantize_blockwise(blocksize=256))
                nbytes += blocks + 4 * ceil_div(blocks, 256) + 256 * 4 + 4
                storage = f"{cfg['quant_type']}-dq"
            else:
                nbytes += 4 * blocks  # float32 absmax per block
                storage = cfg["quant_type"]
        out.append(QuantizedTensor(t, storage, t.experts * nbytes))
    return tuple(out)


def quantize_gptq(spec: ModelSpec, row: dict[str, Any]) -> tuple[QuantizedTensor, ...]:
    """GPTQ/AWQ packed ints, fp16 scales and packed zeros per group (+ g_idx for GPTQ) on
    every decoder linear layer whose shape the kernels take; the rest 16-bit."""
    cfg = row["gptq"]
    bits, group = cfg["bits"], cfg["group"]
    pack = 32 // bits if 32 % bits == 0 else 32  # 3-bit packs 32 weights into 3 int32
    storage = f"{cfg['method']}-int{bits}" + (f"-g{group}" if group else "")

    def packed(t: Tensor) -> QuantizedTensor | None:
        n_out, n_in = t.shape
        g = group or n_in
        if n_in % g or n_in % pack or n_out % pack:
            return None  # kernels need whole groups and packs
        groups = n_in // g
        nbytes = n_in * n_out * bits // 8  # qweight (int32, packed)
        nbytes += groups * n_out * bits // 8  # qzeros (int32, packed)
        nbytes += groups * n_out * 2  # scales (fp16)
        if cfg["g_idx"]:
            nbytes += n_in * 4  # g_idx (int32)
        return QuantizedTensor(t, storage, t.experts * nbytes)

    return _each_linear(spec, packed)


def quantize_mxfp4(spec: ModelSpec) -> tuple[QuantizedTensor, ...]:
    """MXFP4 routed experts (gpt-oss as published), everything else 16-bit."""
    half = half_dtype(spec)
    mx = get_ggml_type(GgmlType.MXFP4)
    if not any(t.routed and t.kind == "linear" for t in spec.tensors):
        raise InvalidWorkload(
            msg(
                "mxfp4 applies to routed MoE expert weights and {model} has "
                "none; pick fp8, nf4 or a GGUF type for a dense model",
                model=spec.name or spec.model_type,
            ),
            field="weights",
        )
    out = []
    for t in spec.tensors:
        if (
            t.routed
            and t.kind == "linear"
            and len(t.shape) == 2
            and t.shape[1] % mx.block_size == 0
        ):
            n_out, n_in = t.shape
            # *_blocks uint8 (out, in/32, 16) + *_scales uint8 (out, in/32)
            out.append(QuantizedTensor(t, "mxfp4", t.experts * n_out * mx.row_bytes(n_in)))
        else:
            out.append(float_tensor(t, half))
    return tuple(out)


def _ct_class(t: Tensor, spec: ModelSpec) -> str:
    """The torch class of a spec tensor's module, as compressed-tensors matches it."""
    if t.kind == "embedding":
        return "Embedding"
    if t.kind != "linear" or len(t.shape) != 2 or t.name.startswith(TOWERS):
        return ""  # norms, biases, convolutions and the vision/audio towers stay 16-bit
    if t.name == "ffn_gate_inp" and spec.traits.fp32_router:
        return "TopkRouter"  # DeepseekV3TopkRouter & co. hold a Parameter, not an nn.Linear
    if t.experts > 1 and spec.model_type == "gpt_oss":
        return "GptOssExperts"  # fused expert Parameters
    return "Linear"


def quantize_compressed_tensors(
    spec: ModelSpec, scheme: ct.CtScheme
) -> tuple[QuantizedTensor, ...]:
    """Each tensor as a compressed-tensors checkpoint stores it: the modules its config
    targets and does not ignore in their format's layout (every expert on its own), the rest
    in the checkpoint's 16-bit dtype."""
    half = half_dtype(spec)
    match = ct.Matcher(scheme)
    out = []
    for t in spec.tensors:
        cls = _ct_class(t, spec)
        if not cls:
            out.append(float_tensor(t, half))
            continue
        name = ct.module_name(spec.model_type, t.name, t.layer)
        n_out, n_in = t.shape
        one = t.numel // t.experts * FLOAT_BYTES[half]
        # every expert is its own module: count how many each group (None: 16-bit) takes
        counts: dict[ct.CtGroup | None, int] = {}
        if "{e}" in name:
            head, _, tail = name.partition("{e}")
            for e in range(t.experts):
                g = match(f"{head}{e}{tail}", cls)
                counts[g] = counts.get(g, 0) + 1
        else:
            counts[match(name, cls)] = t.experts
        nbytes = sum(
            n * (one if g is None else ct.linear_bytes(g, n_out, n_in, half))
            for g, n in counts.items()
        )
        kinds = {half if g is None else "ct-" + ct.group_id(g) for g in counts}
        storage = kinds.pop() if len(kinds) == 1 else "ct-mixed"
        out.append(QuantizedTensor(t, storage, nbytes))
    return tuple(out)
