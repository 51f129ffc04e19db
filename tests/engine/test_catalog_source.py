"""engine.catalog reads through a CatalogSource: the package data by default, a folder, or
the JSON a browser worker fetched per model (MappingSource). Every source gives the same
figures as the package data."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from engine import catalog
from engine.api import call
from engine.errors import ConfigError
from tests.catalog_support import SLUGS, figures, package_source_after  # noqa: F401

ROOT = Path(__file__).resolve().parent.parent.parent


def fetched(slug: str, *, config: bool = True) -> dict[str, object]:
    folder = ROOT / "engine" / "data" / "models" / slug
    data: dict[str, object] = {"meta": json.loads((folder / "meta.json").read_text())}
    if config:
        data["config"] = json.loads((folder / "config.json").read_text())
    return data


def test_a_folder_and_fetched_json_give_the_package_figures() -> None:
    expected = figures()
    catalog.set_source(catalog.TreeSource(ROOT / "engine" / "data" / "models"))
    assert figures() == expected
    catalog.set_source(catalog.MappingSource({s: fetched(s) for s in SLUGS}))
    assert [m["slug"] for m in call("models")] == sorted(SLUGS)
    assert figures() == expected


def test_the_worker_hands_configs_over_as_it_fetches_them() -> None:
    source = catalog.MappingSource({s: fetched(s, config=False) for s in SLUGS})
    catalog.set_source(source)
    assert catalog.resolve_model("meta-llama/Llama-3.1-8B") == "llama-3.1-8b"  # from meta alone
    with pytest.raises(ConfigError, match=r"llama-3\.1-8b/config\.json"):
        call("params", {"model": "llama-3.1-8b"})
    source.add_config("llama-3.1-8b", fetched("llama-3.1-8b")["config"])
    assert call("params", {"model": "llama-3.1-8b"})["total"] > 8 * 10**9

