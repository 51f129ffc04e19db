"""The pre-quantized checkpoint format named by ``quantization_config``."""

from __future__ import annotations

from typing import Any

from ..errors import ConfigError
from ..messages import msg


def parse_quantization(raw: dict[str, Any]) -> str | None:
    """Return the pre-quantized checkpoint format id ("fp8", "mxfp4", "gptq-4bit-g128"...)
    named by ``quantization_config``, or None for an unquantized checkpoint."""
    q = raw.get("quantization_config")
    if q is None:
        return None
    if not isinstance(q, dict):
        raise ConfigError(
            msg("'quantization_config' must be an object; got {value!r}.", value=q),
            field="quantization_config",
        )
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
        fmt = str(q.get("format", ""))
        if fmt.startswith("float-quantized"):
            return "fp8"
        if fmt == "int-quantized":
            return "int8"
        return "compressed-tensors"
    return method or "unknown"
