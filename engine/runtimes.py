"""Cited runtime constants (``engine/data/runtimes.json``): overheads, block sizes, padding.

Kept apart from the formulas so that every number a runtime imposes (vLLM's 16-token KV
blocks, llama.cpp's 256-cell context padding, CUDA context size...) is data with its source.
"""

from __future__ import annotations

import json
from importlib import resources
from typing import Any

from .memo import cached


@cached
def runtime_constants() -> dict[str, Any]:
    """Return the parsed ``runtimes.json`` (cached; treat as read-only)."""
    text = resources.files("engine").joinpath("data/runtimes.json").read_text("utf-8")
    return json.loads(text)


def constant(runtime: str, name: str) -> int:
    """Return the integer ``value`` of ``runtimes.json[runtime][name]``."""
    return int(runtime_constants()[runtime][name]["value"])
