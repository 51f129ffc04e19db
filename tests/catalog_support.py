"""What the catalog-source tests share: the figures every source must give the same as the
package data, and putting the package source back after each test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from engine import catalog
from engine.api import call

SLUGS = ("llama-3.1-8b", "mixtral-8x7b", "qwen3-0.6b")


@pytest.fixture(autouse=True)
def package_source_after() -> Iterator[None]:
    """Autouse in every module that imports it."""
    yield
    catalog.set_source(None)


def figures() -> dict[str, object]:
    """Parameters and one llama.cpp total of each of SLUGS, as the current source gives them."""
    return {
        slug: (
            call("params", {"model": slug})["total"],
            call("infer", {"model": slug, "weights": "q4_k_m", "context": 8192})["total_bytes"],
        )
        for slug in SLUGS
    }
