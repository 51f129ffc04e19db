"""Every tests/**/test_*.py file is collected by a plain ``pytest`` run.

pytest's default ``norecursedirs`` contains ``build``, which once skipped all of
tests/build/ silently; this test fails whenever a test file goes uncollected again.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def collected_files(root: Path, *args: str) -> set[str]:
    """Test files (posix paths relative to ``root``) a ``pytest --collect-only`` run collects."""
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider", *args],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return {line.split("::", 1)[0] for line in proc.stdout.splitlines() if "::" in line}


def uncollected(root: Path, tests_dir: str = "tests", *args: str) -> list[str]:
    """The test files under ``root/tests_dir`` that a collect-only run misses."""
    on_disk = {p.relative_to(root).as_posix() for p in (root / tests_dir).rglob("test_*.py")}
    return sorted(on_disk - collected_files(root, *args))


def test_every_test_file_is_collected() -> None:
    assert uncollected(ROOT) == []


def test_the_check_sees_a_skipped_folder(tmp_path: Path) -> None:
    """The check fails on the bug it guards against: pytest's defaults skip ``build/``."""
    for folder in ("tests", "tests/build"):
        (tmp_path / folder).mkdir(exist_ok=True)
        (tmp_path / folder / "test_one.py").write_text("def test_one():\n    pass\n")
    (tmp_path / "pytest.ini").write_text("[pytest]\ntestpaths = tests\n")
    assert uncollected(tmp_path) == ["tests/build/test_one.py"]
