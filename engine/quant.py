"""Weights in memory: which storage type each tensor gets on a runtime, and its exact bytes.

``quantize_tensors(spec, fmt, runtime=...)`` returns one ``QuantizedTensor`` per spec tensor
(the storage type the runtime uses and its exact bytes); ``weights_bytes`` is their sum.
This module checks the format against the runtime and picks the rules:

* GGUF file types and llama.cpp: ``gguf.py`` (convert + llama-quantize, whose mix rules
  mirror ``src/llama-quant.cpp`` in ``llama_quant.py``), block sizes from ``ggml.py``; a
  spec read from a GGUF file (``spec.gguf_file``) keeps that file's own per-tensor types
  when it runs as is (llamacpp, the format the file names): its bytes, not the preset's;
* every other scheme: ``schemes.py``;
* the catalog of formats, ids and aliases: ``formats.py`` (``get_format``, ``list_formats``,
  re-exported here as the engine's quant API).

Results are memoized by spec identity (``memo.per_spec_cache``): hashing a frozen ModelSpec
walks every tensor, which costs more than a lookup should.
"""

from __future__ import annotations

from .compressed_tensors import CtScheme, format_id, generic_scheme
from .errors import InvalidWorkload, UnknownQuantFormat
from .formats import (
    FLOAT_TO_GGUF,
    QuantFormat,
    QuantizedTensor,
    format_row,
    get_format,
    gguf_file_types,
    list_formats,
    normalize_format_id,
)
from .ggml import GgmlType
from .gguf import gguf_types, quantize_gguf
from .memo import per_spec_cache
from .messages import msg, or_list
from .model import ModelSpec
from .schemes import (
    quantize_bnb,
    quantize_compressed_tensors,
    quantize_float,
    quantize_fp8,
    quantize_gptq,
    quantize_mxfp4,
)
from .workload import RUNTIMES  # re-exported: the one list of runtimes

__all__ = [
    "RUNTIMES",
    "QuantFormat",
    "QuantizedTensor",
    "get_format",
    "gguf_tensor_types",
    "list_formats",
    "quantize_tensors",
    "resolve_auto",
    "weights_bytes",
]


# config.json dtypes the engine can size, and the float format each checkpoint is
_DTYPE_TO_FLOAT = {
    "bfloat16": "bf16",
    "bf16": "bf16",
    "float16": "fp16",
    "fp16": "fp16",
    "half": "fp16",
    "float32": "fp32",
    "fp32": "fp32",
    "float": "fp32",
}


def resolve_auto(spec: ModelSpec) -> str:
    """Return the format id of the checkpoint as published (``weights="auto"``)."""
    if spec.checkpoint_quant is None:
        return _DTYPE_TO_FLOAT.get(spec.dtype, "bf16")
    key = normalize_format_id(spec.checkpoint_quant)
    try:
        get_format(key)
    except UnknownQuantFormat:
        raise UnknownQuantFormat(
            msg(
                "the checkpoint of {model} is pre-quantized as {quant!r}, which the engine "
                "does not model; pass an explicit weights format (e.g. bf16, fp8, nf4, q4_k_m)",
                model=spec.name or spec.model_type,
                quant=spec.checkpoint_quant,
            ),
            field="weights",
        ) from None
    return key


def quantize_tensors(
    spec: ModelSpec, fmt_id: str, *, runtime: str = "transformers"
) -> tuple[QuantizedTensor, ...]:
    """Return each tensor of ``spec`` as ``runtime`` stores it in format ``fmt_id`` (bytes)."""
    if not isinstance(fmt_id, str) or not isinstance(runtime, str):
        raise InvalidWorkload(
            msg(
                "weights and runtime must be names, got {weights!r} and {runtime!r}",
                weights=fmt_id,
                runtime=runtime,
            ),
            field="weights",
        )
    return _quantize(spec, normalize_format_id(fmt_id), runtime)


def weights_bytes(spec: ModelSpec, fmt_id: str, *, runtime: str = "transformers") -> int:
    """Return the bytes of all weights of ``spec`` in format ``fmt_id`` on ``runtime``."""
    return sum(q.nbytes for q in quantize_tensors(spec, fmt_id, runtime=runtime))


def gguf_tensor_types(spec: ModelSpec, fmt_id: str) -> dict[str, str]:
    """Return {GGUF tensor name: ggml type name} as llama-quantize would write ``fmt_id``."""
    fmt = get_format(fmt_id)
    if fmt.family != "gguf":
        raise InvalidWorkload(msg("{id!r} is not a GGUF file type", id=fmt.id), field="weights")
    types = gguf_types(spec, gguf_file_types()[fmt.id])
    return {name: t.name for name, t in types.items()}


def _check_runtime_name(runtime: str) -> None:
    if runtime not in RUNTIMES:
        raise InvalidWorkload(
            msg(
                "runtime must be one of {runtimes}; got {value!r}",
                runtimes=", ".join(RUNTIMES),
                value=runtime,
            ),
            field="runtime",
        )


def _check_runtime(fmt: QuantFormat, runtime: str) -> None:
    _check_runtime_name(runtime)
    if runtime not in fmt.runtimes:
        if fmt.family == "gguf":
            fix = msg(
                "use runtime llamacpp (or vllm); transformers dequantizes GGUF to 16-bit "
                "on load, so pick bf16 there"
            )
        else:
            fix = msg(
                "use runtime {runtimes}, or pick a GGUF type such as q4_k_m for llamacpp",
                runtimes=or_list(fmt.runtimes),
            )
        raise InvalidWorkload(
            msg(
                "weights {id!r} ({label}) does not run on {runtime}: {fix}",
                id=fmt.id,
                label=fmt.label,
                runtime=runtime,
                fix=fix,
            ),
            field="weights",
        )


def _file_types(spec: ModelSpec, fmt_id: str, runtime: str) -> dict[str, GgmlType] | None:
    """The GGUF file's own tensor types, when ``spec`` was read from that file and the
    estimate runs it as is (llamacpp, the format its general.file_type names)."""
    gf = spec.gguf_file
    if gf is None or runtime != "llamacpp" or fmt_id != gf.weights:
        return None
    return {name: GgmlType[t] for name, t in gf.types if t in GgmlType.__members__}


@per_spec_cache(maxsize=1024)
def _quantize(spec: ModelSpec, fmt_id: str, runtime: str) -> tuple[QuantizedTensor, ...]:
    _check_runtime_name(runtime)
    stored = _file_types(spec, fmt_id, runtime)
    if fmt_id == "auto":
        fid = resolve_auto(spec)
        if runtime == "llamacpp":
            return _auto_gguf(spec, fid, stored)
        fmt = get_format(fid)
        if runtime not in fmt.runtimes:
            _check_runtime(fmt, runtime)
    else:
        fmt = get_format(fmt_id)
        _check_runtime(fmt, runtime)
    if fmt.family == "float":
        if runtime == "llamacpp":
            ft = gguf_file_types()[FLOAT_TO_GGUF[fmt.id]]
            return quantize_gguf(spec, ft, float_type=ft.default_type, file_types=stored)
        return quantize_float(spec, fmt.id)
    if fmt.family == "gguf":
        return quantize_gguf(spec, gguf_file_types()[fmt.id], file_types=stored)
    row = format_row(fmt)
    if fmt.family == "fp8":
        return quantize_fp8(spec, row, runtime)
    if fmt.family == "bnb":
        return quantize_bnb(spec, row, runtime)
    if fmt.family in ("gptq", "awq"):
        return quantize_gptq(spec, row)
    if fmt.family == "mxfp4":
        return quantize_mxfp4(spec)
    if fmt.family == "compressed-tensors":
        return quantize_compressed_tensors(spec, _ct_scheme(spec, fmt.id))
    raise AssertionError(f"unhandled family {fmt.family}")  # pragma: no cover


def _auto_gguf(
    spec: ModelSpec, fid: str, stored: dict[str, GgmlType] | None = None
) -> tuple[QuantizedTensor, ...]:
    """The published checkpoint converted with convert_hf_to_gguf.py: floats keep their
    dtype (FP8 is dequantized to BF16); MXFP4 experts stay MXFP4. ``stored``: a GGUF file's
    own types, which win."""
    fmt = get_format(fid)
    if fmt.family == "float":
        ft = gguf_file_types()[FLOAT_TO_GGUF[fmt.id]]
        return quantize_gguf(spec, ft, float_type=ft.default_type, file_types=stored)
    if fmt.family in ("fp8", "compressed-tensors"):  # convert_hf_to_gguf dequantizes both
        ft = gguf_file_types()["bf16"]
        return quantize_gguf(spec, ft, float_type=GgmlType.BF16, file_types=stored)
    if fmt.family == "mxfp4":
        ft = gguf_file_types()["bf16"]
        return quantize_gguf(
            spec, ft, float_type=GgmlType.BF16, expert_type=GgmlType.MXFP4, file_types=stored
        )
    raise InvalidWorkload(
        msg(
            "the checkpoint is {label}; llama.cpp runs GGUF files: pick a GGUF type such as "
            "q4_k_m or q8_0 for runtime llamacpp",
            label=fmt.label,
        ),
        field="weights",
    )


def _ct_scheme(spec: ModelSpec, fmt_id: str) -> CtScheme:
    """The checkpoint's own compressed-tensors scheme when ``fmt_id`` names it, else the
    scheme the id describes on its own (targets Linear, lm_head and routers ignored)."""
    own = spec.checkpoint_scheme
    if own is not None and format_id(own) == fmt_id:
        return own
    generic = generic_scheme(fmt_id)
    if generic is None:  # "+mixed": only the checkpoint itself says what each group holds
        raise InvalidWorkload(
            msg(
                "{id!r} names a compressed-tensors checkpoint with several config groups; "
                "use weights=auto with that checkpoint's config.json",
                id=fmt_id,
            ),
            field="weights",
        )
    return generic
