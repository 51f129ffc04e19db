"""``build.py --strict`` fails on a warning, the build's own or Python's, before writing."""

from __future__ import annotations

import warnings
from pathlib import Path

import pytest

import build
from sitegen.config import BuildError


class Stop(Exception):
    """Raised by a stubbed step: the build went past the point under test."""


def warn_in_validate(monkeypatch: pytest.MonkeyPatch, *, python: bool = False) -> None:
    def validate(data: object) -> list[str]:
        if python:
            warnings.warn("an old call", DeprecationWarning, stacklevel=1)
            return []
        return ["model odd-1b: odd data"]

    monkeypatch.setattr(build, "validate", validate)


def test_strict_stops_at_a_build_warning(monkeypatch, tmp_path: Path) -> None:
    warn_in_validate(monkeypatch)
    with pytest.raises(BuildError, match=r"warning in --strict mode: model odd-1b: odd data$"):
        build.build(tmp_path / "out", strict=True)
    assert not (tmp_path / "out").exists()


def test_strict_stops_at_a_python_warning(monkeypatch, tmp_path: Path) -> None:
    warn_in_validate(monkeypatch, python=True)
    with pytest.raises(BuildError, match=r"--strict mode: DeprecationWarning: an old call \("):
        build.build(tmp_path / "out", strict=True)
    assert not (tmp_path / "out").exists()


def test_without_strict_the_build_goes_on(monkeypatch, tmp_path: Path) -> None:
    warn_in_validate(monkeypatch)

    def compute(data: object) -> None:
        raise Stop

    monkeypatch.setattr(build, "compute", compute)
    with pytest.raises(Stop):
        build.build(tmp_path / "out")


def test_the_command_line_fails_with_one_line(monkeypatch, tmp_path: Path, capsys) -> None:
    warn_in_validate(monkeypatch)
    assert build.main(["--strict", "--out", str(tmp_path / "out")]) == 1
    err = capsys.readouterr().err
    assert err == "build failed: BuildError: warning in --strict mode: model odd-1b: odd data\n"
    assert not (tmp_path / "out").exists()
