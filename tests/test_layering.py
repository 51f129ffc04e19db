"""Who may import or read whom: the engine stands alone, its tests do not go through the site
builder, the build does not read tests/, and the reference data (reference/) is shared by the
engine tests and the /accuracy/ page without entering the engine wheel."""

from __future__ import annotations

import ast
import io
import re
import zipfile
from pathlib import Path

from sitegen.wheel import build_wheel

ROOT = Path(__file__).resolve().parent.parent
# The gettext tooling (extract/compile) is the one site module the engine tests use: the
# engine's compiled catalogs come from it, and its staleness check lives with the engine.
ENGINE_TESTS_MAY_IMPORT = {"sitegen.catalog"}


def imports(path: Path) -> set[str]:
    """Top-level module names imported anywhere in ``path`` (``a.b`` for ``from a.b import``)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            found.add(node.module)
    return found


def test_the_engine_imports_only_itself_and_the_standard_library() -> None:
    for path in sorted((ROOT / "engine").rglob("*.py")):
        bad = {
            m
            for m in imports(path)
            if m.split(".")[0] in {"sitegen", "build", "reference", "present"}
        }
        assert not bad, (path.relative_to(ROOT).as_posix(), bad)


def test_engine_tests_do_not_import_the_site_builder() -> None:
    for path in sorted((ROOT / "tests" / "engine").glob("*.py")):
        bad = {
            m
            for m in imports(path)
            if m.split(".")[0] in {"sitegen", "build"} and m not in ENGINE_TESTS_MAY_IMPORT
        }
        assert not bad, (path.relative_to(ROOT).as_posix(), bad)


def test_the_build_does_not_read_tests() -> None:
    for path in [ROOT / "build.py", *sorted((ROOT / "sitegen").glob("*.py"))]:
        text = path.read_text(encoding="utf-8")
        assert not re.search(r"""["']tests["']|["']tests/""", text), path.relative_to(ROOT)


def test_reference_data_is_shared_and_outside_the_wheel() -> None:
    stems = sorted(p.name for p in (ROOT / "reference").glob("*.json"))
    assert stems == [
        "kv_cache.json", "llamacpp_buffers.json", "params.json", "training.json"
    ]
    assert len(list((ROOT / "reference" / "configs").glob("*.json"))) > 30
    assert not (ROOT / "tests" / "reference").exists()
    assert not (ROOT / "tests" / "fixtures").exists()
    _, wheel = build_wheel(version="0")
    names = zipfile.ZipFile(io.BytesIO(wheel)).namelist()
    assert names and not [n for n in names if n.startswith("reference/")]
