"""Per-model_type transformers config defaults (``data/arch_defaults.json``), loaded lazily."""

from __future__ import annotations

import json
from importlib import resources
from typing import Any

from ..memo import cached

# A default that the builder computes from other fields (e.g. head_dim = hidden // heads).
DERIVED = object()


@cached
def _table() -> dict[str, Any]:
    text = resources.files("engine").joinpath("data/arch_defaults.json").read_text("utf-8")
    return json.loads(text)


def _values(entry: dict[str, Any]) -> dict[str, Any]:
    return {**entry["values"], **dict.fromkeys(entry.get("derived", ()), DERIVED)}


def defaults_for(model_type: str) -> dict[str, Any]:
    """Return a fresh dict: canonical field -> value transformers uses when the key is absent."""
    table = _table()
    specific = table["model_types"].get(model_type)
    return {**_values(table["common"]), **(_values(specific) if specific else {})}


def siglip_defaults() -> dict[str, Any]:
    """Return a fresh dict of SigLIP vision-tower defaults (Gemma 3 multimodal configs)."""
    return _values(_table()["siglip_vision_model"])
