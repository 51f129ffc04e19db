"""Per-layer sliding-window sizes (None = full attention), one rule per family."""

from __future__ import annotations

from .fields import Config


def qwen_windows(c: Config, n: int) -> list[int | None]:
    """Qwen2/Qwen3: sliding on layers >= max_window_layers when use_sliding_window."""
    use = c.bool("use_sliding_window")
    window = c.opt_int("sliding_window") if use else None
    types = c.layer_types(n)
    if types is None:
        mwl = c.int("max_window_layers", minimum=0)
        types = [
            "sliding_attention" if window is not None and i >= mwl else "full_attention"
            for i in range(n)
        ]
    return [window if t == "sliding_attention" else None for t in types]


def pattern_windows(c: Config, n: int, *, pattern: int) -> list[int | None]:
    """Gemma2/3 and gpt-oss: layer_types, else every pattern-th layer is global."""
    window = c.opt_int("sliding_window")
    types = c.layer_types(n)
    if types is None:
        types = ["sliding_attention" if (i + 1) % pattern else "full_attention" for i in range(n)]
    return [window if t == "sliding_attention" else None for t in types]


def uniform_windows(c: Config, n: int) -> list[int | None]:
    """Mistral/Mixtral/Phi-3/Starcoder2: one sliding_window (or none) for every layer."""
    window = c.opt_int("sliding_window")
    return [window] * n


def qwen2_moe_windows(c: Config, n: int) -> list[int | None]:
    use = c.bool("use_sliding_window")
    window = c.opt_int("sliding_window", minimum=0) if use else None
    types = c.layer_types(n)
    if types is None:
        mwl = c.int("max_window_layers", minimum=0)
        types = [
            "sliding_attention" if (i + 1) % 2 and i < mwl and use else "full_attention"
            for i in range(n)
        ]
    return [window or None if tt == "sliding_attention" else None for tt in types]
