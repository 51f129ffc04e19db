"""Catalog metadata a models index filters on: family, licence, release date, size and kind.

Family, licence and release date come from each ``meta.json``; size and architecture kind
(dense / MoE / hybrid / multimodal) come from the parsed config, so they cannot disagree with
the figures. These tests keep every entry filterable and the catalog current (issue 11).
"""

from __future__ import annotations

import datetime
import json
from pathlib import Path

import pytest

from engine.catalog import list_models, load_model

REFERENCE = Path(__file__).resolve().parents[2] / "reference" / "params.json"
SLUGS = [e.slug for e in list_models()]


def test_catalog_is_current_and_large_enough() -> None:
    entries = list_models()
    assert len(entries) >= 120
    assert sum(e.release_date >= "2025" for e in entries) >= 50


@pytest.mark.parametrize("slug", SLUGS)
def test_filter_fields_are_usable(slug: str) -> None:
    entry = next(e for e in list_models() if e.slug == slug)
    assert entry.family.strip() == entry.family and entry.family
    assert entry.license.strip() == entry.license and entry.license
    assert entry.license.split(" ")[0] == entry.license.split(" ")[0].lower()  # an SPDX-like id
    parts = [int(p) for p in entry.release_date.split("-")]
    datetime.date(parts[0], parts[1], parts[2] if len(parts) > 2 else 1)  # a real date
    assert "2023" <= entry.release_date[:4] <= "2026" or entry.family in {"GPT-2", "Pythia"}
    assert entry.hf_repo.count("/") == 1
    assert entry.context_length > 0
    if not entry.verbatim:
        assert entry.notes, "a copy that is not verbatim says what differs"


@pytest.mark.parametrize("slug", SLUGS)
def test_size_and_kind_come_from_the_engine(slug: str) -> None:
    spec = load_model(slug)
    ref = json.loads(REFERENCE.read_text())["models"][f"catalog/{slug}"]
    assert spec.total_params == ref["total"]  # the size a filter shows is transformers' count
    assert spec.is_moe == ("active" in ref)
