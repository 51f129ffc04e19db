"""olmo3 and exaone4 (arch.postnorm): which layers slide, and the configs transformers cannot
build a pattern from. Totals and windows of the real configs and their variants are compared
with transformers 5.25.0 in test_arch (reference/params.json)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from engine.arch import parse_config
from engine.catalog import load_model
from engine.errors import ConfigError

FIXTURES = Path(__file__).resolve().parents[2] / "reference" / "configs"


def _exaone(**changes) -> dict:
    raw = json.loads((FIXTURES / "exaone-4.0-32b.json").read_text())
    raw.pop("layer_types")
    raw.update(changes)
    return raw


@pytest.mark.parametrize("slug", ["olmo-3.1-32b-instruct", "exaone-4.0-32b"])
def test_three_of_four_layers_slide(slug: str) -> None:
    windows = [layer.attention.window for layer in load_model(slug).layers]
    assert windows == [4096, 4096, 4096, None] * 16


def test_exaone4_without_layer_types_reads_an_int_pattern() -> None:
    spec = parse_config(_exaone(sliding_window_pattern=3), name="x")
    assert [layer.attention.window for layer in spec.layers][:6] == [4096, 4096, None] * 2


def test_exaone4_string_pattern_needs_layer_types() -> None:
    with pytest.raises(ConfigError, match="sliding_window_pattern"):
        parse_config(_exaone(), name="x")  # "LLLG" and no layer_types


def test_exaone4_without_a_window_slides_nowhere() -> None:
    spec = parse_config(_exaone(sliding_window=None), name="x")
    assert {layer.attention.window for layer in spec.layers} == {None}
