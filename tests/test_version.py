"""The project version is written once, in engine/__init__.py.

pyproject.toml reads it (``[tool.setuptools.dynamic]``), the API, CLI, wheel and site take
it from the engine, package.json (private, never published) has none, and the image tag in
the deploy docs is checked against it here.
"""

from __future__ import annotations

import json
import re
import subprocess
import tomllib
import warnings
from pathlib import Path

import yaml

from engine import __version__
from engine.api import call

ROOT = Path(__file__).resolve().parent.parent
# Where the version may appear besides engine/__init__.py: the docs' image tag (checked
# below) and test data whose output embeds it.
ALLOWED = {"engine/__init__.py", "README.md", "Dockerfile", "deploy/k8s.yaml"}
ALLOWED_UNDER = ("tests/golden/", "tests/js/")


def test_the_version_is_a_release_number() -> None:
    assert re.fullmatch(r"\d+\.\d+\.\d+", __version__), __version__


def test_pyproject_reads_it_from_the_engine() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert "version" not in project["project"]
    assert "version" in project["project"]["dynamic"]
    assert project["tool"]["setuptools"]["dynamic"]["version"] == {"attr": "engine.__version__"}
    from setuptools.config.pyprojecttoml import read_configuration

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # setuptools calls [tool.setuptools] "beta"
        assert read_configuration(ROOT / "pyproject.toml")["project"]["version"] == __version__


def test_the_api_reports_it() -> None:
    assert call("version", {})["engine_version"] == __version__


def test_npm_has_no_version_of_its_own() -> None:
    assert "version" not in json.loads((ROOT / "package.json").read_text())
    lock = json.loads((ROOT / "package-lock.json").read_text())
    assert "version" not in lock and "version" not in lock["packages"][""]


def test_the_image_tag_is_the_version() -> None:
    docs = list(yaml.safe_load_all((ROOT / "deploy" / "k8s.yaml").read_text()))
    (deployment,) = [d for d in docs if d["kind"] == "Deployment"]
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    assert container["image"] == f"vram-insight:{__version__}"
    for doc in ("README.md", "Dockerfile"):
        assert f"docker build -t vram-insight:{__version__} ." in (ROOT / doc).read_text()


def test_no_other_file_writes_the_version() -> None:
    tracked = subprocess.run(
        ["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.splitlines()
    literal = re.compile(r"(?<![\d.])" + re.escape(__version__) + r"(?![\d.])")
    found = [
        path
        for path in tracked
        if path not in ALLOWED
        and not path.startswith(ALLOWED_UNDER)
        and (ROOT / path).is_file()
        and literal.search((ROOT / path).read_text(encoding="utf-8", errors="replace"))
    ]
    assert found == []
