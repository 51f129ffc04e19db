"""Byte units. The engine computes in integer bytes and shows binary GiB (2**30 bytes).

GiB is chosen once, here: runtimes (PyTorch, vLLM, llama.cpp) and nvidia-smi report
binary units, so the figures we show line up with what users see in their logs.
"""

from __future__ import annotations

from fractions import Fraction

KIB = 1024
MIB = 1024**2
GIB = 1024**3


def bytes_to_gib(n_bytes: int | float | Fraction) -> float:
    """Return ``n_bytes`` in GiB (2**30 bytes)."""
    return float(n_bytes) / GIB


def bytes_to_mib(n_bytes: int | float | Fraction) -> float:
    """Return ``n_bytes`` in MiB (2**20 bytes)."""
    return float(n_bytes) / MIB


def format_gib(n_bytes: int, digits: int = 2) -> str:
    """Return a human label such as ``'14.96 GiB'``; small values fall back to MiB."""
    if n_bytes < 0:
        raise ValueError(f"byte count must be >= 0, got {n_bytes}")
    if n_bytes < GIB // 10 and n_bytes != 0:
        return f"{bytes_to_mib(n_bytes):.{digits}f} MiB"
    return f"{bytes_to_gib(n_bytes):.{digits}f} GiB"


def format_tokens(n_tokens: int) -> str:
    """Return a token count as the exact figure with thousands separators (``'131,072'``).

    One rule for the CLI, the pages and site/format.js (which mirrors it): the exact count
    is what runtimes take (``--ctx-size``, ``max_model_len``), where "128k" reads as
    128,000 and 131,072 alike.
    """
    return f"{int(n_tokens):,}"


def ceil_div(a: int, b: int) -> int:
    """Integer ceiling of ``a / b`` for non-negative ``a`` and positive ``b``."""
    return -(-a // b)


def bits_to_bytes(n_bits: int | Fraction) -> int:
    """Round a bit count up to whole bytes (storage is byte-addressed)."""
    return ceil_div(int(Fraction(n_bits).__ceil__()), 8)
