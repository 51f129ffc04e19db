"""The catalog scales: a synthetic catalog of 1,000 models (the real configs, varied, from
bench/catalog.py) builds, no page passes the page limit, the models index links to pages per
family instead of listing every model, GPU pages rank the top models per size class, and the
JSON index and API hold every model."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench.catalog import build_catalog, make_catalog
from sitegen.config import PAGE_LIMIT_BYTES
from sitegen.pages import FAMILY_PAGE_SIZE, GPU_TOP_PER_CLASS, INDEX_ALL_MODELS

MODELS = 1000


@pytest.fixture(scope="module")
def big_site(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[str]]:
    work = tmp_path_factory.mktemp("catalog")
    slugs = make_catalog(work / "models", MODELS)
    _, report = build_catalog(work / "models", work / "public")
    assert not report.warnings
    return work / "public", slugs


@pytest.mark.slow
def test_no_page_passes_the_limit(big_site: tuple[Path, list[str]]) -> None:
    public, _ = big_site
    pages = list(public.rglob("*.html"))
    assert len(pages) > 2 * MODELS
    largest = max(pages, key=lambda p: p.stat().st_size)
    assert largest.stat().st_size <= PAGE_LIMIT_BYTES, largest
    # the pages a catalog used to grow stay far below it
    for page in ("models/index.html", "zh/models/index.html", "index.html"):
        assert (public / page).stat().st_size < PAGE_LIMIT_BYTES * 0.75, page


@pytest.mark.slow
def test_index_links_families_and_filters_the_json(big_site: tuple[Path, list[str]]) -> None:
    public, slugs = big_site
    assert len(slugs) > INDEX_ALL_MODELS
    index = (public / "models/index.html").read_text(encoding="utf-8")
    assert 'data-index="/api/v1/models.json"' in index and "data-partial" in index
    assert "models-index" in index  # the filter module
    families = sorted({p.parent for p in public.glob("models/family/*/index.html")})
    assert len(families) > 10
    listed = 0
    for family in public.glob("models/family/**/index.html"):
        html = family.read_text(encoding="utf-8")
        rows = html.count('<tr data-slug="')
        assert 0 < rows <= FAMILY_PAGE_SIZE
        listed += rows
        assert (
            f'href="/models/family/{family.relative_to(public / "models/family").parts[0]}/"'
            in index
        )
    assert listed == MODELS  # every model on exactly one family page
    data = json.loads((public / "api/v1/models.json").read_text(encoding="utf-8"))
    assert sorted(m["slug"] for m in data["models"]) == sorted(slugs)
    assert all((public / "api/v1/models" / f"{s}.json").is_file() for s in slugs)


@pytest.mark.slow
def test_gpu_pages_rank_the_top_models_per_class(big_site: tuple[Path, list[str]]) -> None:
    public, _ = big_site
    html = (public / "gpus/h200-141gb/index.html").read_text(encoding="utf-8")
    assert 'id="fit-table"' not in html and 'href="/api/v1/gpus/h200-141gb.json"' in html
    assert html.count('<th scope="row"><a href="/models/') <= 5 * GPU_TOP_PER_CLASS
    fits = json.loads((public / "api/v1/gpus/h200-141gb.json").read_text(encoding="utf-8"))["fits"]
    assert len(fits) > 5 * GPU_TOP_PER_CLASS


@pytest.mark.slow
def test_the_wheel_does_not_grow_and_each_model_is_its_own_hashed_file(
    big_site: tuple[Path, list[str]], site_dir: Path
) -> None:
    """The engine wheel (and the snapshot's data zip) at 1,000 models is the very file of
    the real catalog's build: it carries the default model only. Every model is one
    content-hashed JSON file under /assets/models/, listed in the catalog index."""
    from sitegen.wheel import content_hash

    public, slugs = big_site
    small = sorted(p.relative_to(site_dir) for p in (site_dir / "wheels").rglob("*.*"))
    large = sorted(p.relative_to(public) for p in (public / "wheels").rglob("*.*"))
    wheel = [p for p in large if p.suffix == ".whl"]
    assert len(wheel) == 1 and wheel[0] in small  # same bytes, same hashed folder
    data = [p for p in large if p.name.startswith("engine-data.")]
    assert all(p in small for p in data)
    (index_path,) = public.glob("assets/catalog.*.json")
    index = json.loads(index_path.read_text(encoding="utf-8"))
    assert index_path.name == f"catalog.{content_hash(index_path.read_bytes())}.json"
    assert sorted(index["models"]) == sorted(slugs)
    sizes = []
    for slug, (digest, *_fields) in index["models"].items():
        path = public / "assets/models" / f"{slug}.{digest}.json"
        blob = path.read_bytes()
        assert content_hash(blob) == digest
        assert json.loads(blob)["slug"] == slug
        sizes.append(len(blob))
    assert len(list((public / "assets/models").glob("*.json"))) == MODELS
    assert sum(sizes) / MODELS < 4 * 1024  # a small constant per model
