"""Refactors keep every figure: the CLI's output and the figures on every built page.

The golden files were captured before the single-source refactor, held it byte-identical,
and were re-captured once after it, when the runtime, catalog and GPU work changed figures
on purpose (see the commit); ``python tests/golden/golden.py capture PUBLIC`` rewrites them.
A change here must be intended.
"""

from __future__ import annotations

import json

import pytest
from golden import CLI_FILE, SITE_FILE, capture_site, digest, run_cli

CLI = json.loads(CLI_FILE.read_text())


@pytest.mark.parametrize("command", sorted(CLI))
def test_cli_output_unchanged(command: str) -> None:
    assert digest(run_cli(command.split(" "))) == CLI[command], (
        f"output changed: python tests/golden/golden.py show {command!r}"
    )


def test_golden_covers_every_catalog_model() -> None:
    from engine.catalog import list_models

    for model in list_models():
        assert f"infer {model.slug} --json" in CLI


def test_site_figures_unchanged(site_dir) -> None:
    expected = json.loads(SITE_FILE.read_text())
    actual = capture_site(site_dir)
    assert sorted(actual) == sorted(expected), "pages added or removed"
    changed = [page for page in expected if actual[page] != expected[page]]
    assert not changed, f"figures changed on {len(changed)} pages, first: {changed[:5]}"
