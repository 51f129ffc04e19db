"""ModelSpec.kind: the architecture tags the models index filters on, derived from the
spec (routed experts, recurrent layers, a vision/audio tower), never written by hand."""

from __future__ import annotations

from collections import Counter

import pytest

from engine.catalog import list_models, load_model
from engine.model import KINDS


@pytest.mark.parametrize(
    ("slug", "kind"),
    [
        ("llama-3.1-8b", ("dense",)),
        ("mixtral-8x7b", ("moe",)),
        ("qwen3-vl-8b-instruct", ("multimodal",)),
        ("qwen3-vl-30b-a3b-instruct", ("moe", "multimodal")),
        ("qwen3-next-80b-a3b-instruct", ("moe", "hybrid")),
        ("qwen3.5-9b", ("hybrid", "multimodal")),
        ("qwen3.5-35b-a3b", ("moe", "hybrid", "multimodal")),
    ],
)
def test_known_models(slug: str, kind: tuple[str, ...]) -> None:
    assert load_model(slug).kind == kind


def test_tags_follow_the_spec() -> None:
    """Multimodal exactly when the params summary has a language-model-only total; tags
    come in KINDS order and "dense" never combines."""
    from engine.api import params_summary

    counts: Counter[tuple[str, ...]] = Counter()
    for entry in list_models():
        spec = load_model(entry.slug)
        kind = spec.kind
        counts[kind] += 1
        assert list(kind) == sorted(kind, key=KINDS.index)
        assert kind == ("dense",) or "dense" not in kind
        assert ("multimodal" in kind) == ("text_total" in params_summary(spec))
        assert ("moe" in kind) == spec.is_moe
    assert counts[("dense",)] >= 80 and counts[("moe", "hybrid")] >= 4
