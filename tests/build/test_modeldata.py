"""The catalog for the browser (issue 16, sitegen/modeldata.py): the site's wheel carries the
default model only, every model is its own content-hashed file, and the engine reads the
catalog through the index and each fetched file (engine.catalog.use_index) with the same
figures as the package data."""

from __future__ import annotations

import io
import json
import re
import shutil
import zipfile
from pathlib import Path

import pytest

from engine import catalog
from engine.api import call
from engine.errors import ConfigError
from sitegen.modeldata import model_data
from sitegen.snapshot import data_zip
from sitegen.wheel import build_wheel, content_hash
from tests.catalog_support import SLUGS, figures, package_source_after  # noqa: F401

ROOT = Path(__file__).resolve().parent.parent.parent


def test_the_wheel_carries_the_default_model_only() -> None:
    data = model_data()
    assert data.default == "llama-3.1-8b"
    _, wheel = build_wheel(version="0", models=(data.default,))
    names = zipfile.ZipFile(io.BytesIO(wheel)).namelist()
    models = {n.split("/")[3] for n in names if n.startswith("engine/data/models/")}
    assert models == {"llama-3.1-8b"}
    assert any(n.startswith("engine/data/gpus") for n in names)  # other data stays
    rest = zipfile.ZipFile(io.BytesIO(data_zip(wheel))).namelist()
    assert {n.split("/")[3] for n in rest if n.startswith("engine/data/models/")} == models
    _, everything = build_wheel(version="0")  # tools: every model, as before
    assert len(everything) > len(wheel)


def test_each_model_is_one_content_hashed_file_named_in_the_index() -> None:
    data = model_data()
    index = json.loads(data.files[data.index_url.lstrip("/")])
    assert data.index_url == f"/assets/catalog.{content_hash(data.files[data.index_url[1:]])}.json"
    assert index["schema"] == catalog.INDEX_SCHEMA and index["dir"] == "/assets/models/"
    assert sorted(index["models"]) == [e.slug for e in catalog.list_models()]
    for slug, (digest, *_fields) in index["models"].items():
        blob = data.files[f"assets/models/{slug}.{digest}.json"]
        assert content_hash(blob) == digest
        doc = json.loads(blob)
        assert doc["config"] == catalog.load_config(slug)
        assert doc["meta"]["slug"] == slug
    assert len(data.files) == len(index["models"]) + 1


def test_the_browser_index_names_every_model_and_fetches_the_rest(tmp_path: Path) -> None:
    """engine.catalog.use_index: the wheel holds the default model, the index lists every
    model, a model's file is handed over when fetched; until then a clear sentence."""
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


def test_model_files_and_the_index_are_served_immutable() -> None:
    """Their names change with their bytes: a year's cache (sitegen/headers.py rules, which
    netlify.toml and deploy/nginx.conf are generated from); /models/ pages stay no-cache."""
    from sitegen.headers import IMMUTABLE, header_for

    data = model_data()
    for path in (data.index_url, *(f"/{p}" for p in data.files if p.startswith("assets/models/"))):
        assert header_for(path)["Cache-Control"] == IMMUTABLE, path
    assert header_for("/models/llama-3.1-8b/")["Cache-Control"] != IMMUTABLE


def test_the_page_worker_and_service_worker_name_one_models_cache() -> None:
    site = ROOT / "site"
    (name,) = re.findall(r'MODELS_CACHE = "([^"]+)"', (site / "protocol.js").read_text())
    assert "const MODELS = `${APP}-models`" in (site / "sw.js").read_text()
    assert 'const APP = "vram-insight"' in (site / "sw.js").read_text()
    assert name == "vram-insight-models"
