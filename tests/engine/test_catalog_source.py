"""engine.catalog reads through a CatalogSource: the package data by default, a folder, or
the JSON a browser worker fetched per model (MappingSource). Every source gives the same
figures as the package data."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from engine import catalog
from engine.api import call
from engine.errors import ConfigError

ROOT = Path(__file__).resolve().parent.parent.parent
SLUGS = ("llama-3.1-8b", "mixtral-8x7b", "qwen3-0.6b")


@pytest.fixture(autouse=True)
def package_source_after() -> Iterator[None]:
    yield
    catalog.set_source(None)


def figures() -> dict[str, object]:
    return {
        slug: (
            call("params", {"model": slug})["total"],
            call("infer", {"model": slug, "weights": "q4_k_m", "context": 8192})["total_bytes"],
        )
        for slug in SLUGS
    }


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


def test_the_browser_index_names_every_model_and_fetches_the_rest(tmp_path: Path) -> None:
    """engine.catalog.use_index: the wheel holds the default model, the index lists every
    model, a model's file is handed over when fetched; until then a clear sentence."""
    import shutil

    from sitegen.modeldata import model_data

    data = model_data()
    expected = figures()
    listed = call("models")
    shutil.copytree(ROOT / "engine/data/models/llama-3.1-8b", tmp_path / "llama-3.1-8b")
    catalog.set_source(catalog.TreeSource(tmp_path))  # what the wheel carries
    catalog.use_index(data.files[data.index_url.lstrip("/")].decode())
    assert catalog.model_to_fetch("llama-3.1-8b") is None  # in the wheel
    assert catalog.model_to_fetch("not-a-model") is None
    url = catalog.model_to_fetch("Mixtral 8x7B")  # any name the catalog resolves
    assert url is not None and re.fullmatch(r"/assets/models/mixtral-8x7b\.[0-9a-f]{10}\.json", url)
    with pytest.raises(ConfigError, match="not saved on this device") as err:
        call("params", {"model": "mixtral-8x7b"})
    assert err.value.field == "model"
    for slug in SLUGS:
        if (url := catalog.model_to_fetch(slug)) is not None:
            catalog.add_model(slug, data.files[url.lstrip("/")].decode())
            assert catalog.model_to_fetch(slug) is None
    assert figures() == expected
    # listing: the index's fields for every model, the whole meta.json once fetched
    rows = {m["slug"]: m for m in call("models")}
    assert [m["slug"] for m in listed] == list(rows)
    for before in listed:
        row = rows[before["slug"]]
        if before["slug"] in SLUGS:
            assert row == before
        else:
            assert row == {**before, "source": "", "notes": ""}
