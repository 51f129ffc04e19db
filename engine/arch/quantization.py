"""The pre-quantized checkpoint format named by ``quantization_config``.

Where the config sits: transformers reads ``config.quantization_config``
(``quantizers/auto.py`` ``get_hf_quantizer``, 5.x); a composite config whose language model
carries it in ``text_config`` has it propagated to the top by its config class (Kimi K2.5's
``KimiK25Config.__init__``: "Propagate quantization config from text model"), and vLLM's
``ModelConfig._verify_quantization`` falls back to ``text_config`` the same way. vLLM also
reads compressed-tensors' older key ``compression_config``. So: the top level first, then
``text_config``; ``quantization_config`` before ``compression_config``.
"""

from __future__ import annotations

from typing import Any

from ..compressed_tensors import CtScheme, format_id, parse_scheme
from ..errors import ConfigError
from ..messages import msg


def find_quantization_config(raw: dict[str, Any]) -> tuple[Any, str]:
    """Return (the checkpoint's quantization config, the key path it was read from);
    (None, "") when the checkpoint is not pre-quantized."""
    text = raw.get("text_config")
    places: list[tuple[dict[str, Any], str]] = [(raw, "")]
    if isinstance(text, dict):
        places.append((text, "text_config."))
    for where, prefix in places:
        for key in ("quantization_config", "compression_config"):
            if where.get(key) is not None:
                return where[key], prefix + key
    return None, ""


def _config(raw: dict[str, Any]) -> tuple[dict[str, Any] | None, str]:
    q, where = find_quantization_config(raw)
    if q is None:
        return None, ""
    if not isinstance(q, dict):
        raise ConfigError(
            msg("'quantization_config' must be an object; got {value!r}.", value=q),
            field="quantization_config",
        )
    return q, where


def _is_compressed_tensors(q: dict[str, Any]) -> bool:
    return str(q.get("quant_method", "")).lower() == "compressed-tensors"


def parse_checkpoint_scheme(raw: dict[str, Any]) -> CtScheme | None:
    """The parsed compressed-tensors scheme of the checkpoint (None for other methods, and
    for a compressed-tensors config the engine does not model: ``weights=auto`` then says
    so, any explicit format still works)."""
    q, where = _config(raw)
    if q is None or not _is_compressed_tensors(q):
        return None
    try:
        return parse_scheme(q, where)
    except ConfigError:
        return None


def parse_quantization(raw: dict[str, Any]) -> str | None:
    """Return the pre-quantized checkpoint format id ("fp8", "mxfp4", "gptq-4bit-g128",
    "ct-int4-g32-a16"...) named by ``quantization_config``, or None for an unquantized
    checkpoint."""
    q, _ = _config(raw)
    if q is None:
        return None
    method = str(q.get("quant_method", "")).lower()
    if method in ("fp8", "fbgemm_fp8", "finegrained_fp8"):
        # DeepSeek-V3/R1 store one fp32 scale per 128x128 weight block, not per tensor
        if list(q.get("weight_block_size") or []) == [128, 128]:
            return "fp8-block128"
        return "fp8"
    if method == "mxfp4":
        return "mxfp4"
    if method in ("gptq", "awq"):
        bits = q.get("bits", q.get("w_bit", 4))
        group = q.get("group_size", q.get("q_group_size", 128))
        suffix = f"-g{group}" if isinstance(group, int) and group > 0 else ""
        return f"{method}-{bits}bit{suffix}"
    if method == "bitsandbytes":
        if q.get("load_in_4bit"):
            kind = str(q.get("bnb_4bit_quant_type", "fp4")).lower()
            return f"{kind}-dq" if q.get("bnb_4bit_use_double_quant") else kind
        if q.get("load_in_8bit"):
            return "int8"
        return "bitsandbytes"
    if method == "compressed-tensors":
        scheme = parse_checkpoint_scheme(raw)
        if scheme is None:
            return "compressed-tensors"  # a layout the engine does not model (sparse...)
        ids = format_id(scheme)
        return None if ids == "ct-dense" else ids
    return method or "unknown"
