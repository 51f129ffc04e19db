"""The parsed ``data/quant_formats.json``: ggml block types, GGUF file types, other schemes
and KV-cache element types, each row with its source. Loaded once, on first use."""

from __future__ import annotations

import json
from importlib import resources
from typing import Any

from .memo import cached


@cached
def quant_data() -> dict[str, Any]:
    """Return the whole table (shared: treat as read-only)."""
    text = resources.files("engine").joinpath("data/quant_formats.json").read_text("utf-8")
    return json.loads(text)


def rows(section: str) -> list[dict[str, Any]]:
    """Return the rows of one section ("ggml_types", "gguf_file_types", "kv_dtypes"...)."""
    return quant_data()[section]["rows"]
