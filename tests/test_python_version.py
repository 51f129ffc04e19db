"""One Python version for CI (``./dev test``), Docker and Netlify: ``.python-version``.

Every place that names a Python version derives it from that file or is checked against it
here, and the locks were compiled for it, so a bump is one edit plus the failures this shows.
"""

from __future__ import annotations

import re
import sys
import tomllib
from pathlib import Path

from sitegen.headers import BUILD_COMMAND, render_netlify_toml

ROOT = Path(__file__).resolve().parent.parent
PYTHON = (ROOT / ".python-version").read_text().strip()
LOCKS = ("requirements/test.lock", "requirements/site.lock")


def test_the_pin_is_major_minor() -> None:
    assert re.fullmatch(r"3\.\d+", PYTHON), PYTHON


def test_the_suite_runs_on_the_pinned_python() -> None:
    """CI runs ``./dev test``, whose venv is made from ``python<.python-version>``."""
    assert f"{sys.version_info.major}.{sys.version_info.minor}" == PYTHON


def test_docker_builds_on_the_pinned_python() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    images = re.findall(r"^FROM python:(\S+)", dockerfile, flags=re.M)
    assert images and all(tag.startswith(f"{PYTHON}-") for tag in images), images


def test_netlify_builds_on_the_pinned_python() -> None:
    toml = tomllib.loads((ROOT / "netlify.toml").read_text())
    assert toml["build"]["environment"]["PYTHON_VERSION"] == PYTHON
    assert (ROOT / "netlify.toml").read_text() == render_netlify_toml()


def test_pyproject_and_ruff_target_the_pinned_python() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert project["project"]["requires-python"] == f">={PYTHON}"
    assert project["tool"]["ruff"]["target-version"] == "py" + PYTHON.replace(".", "")


def test_the_locks_were_compiled_for_the_pinned_python() -> None:
    for lock in LOCKS:
        header = (ROOT / lock).read_text().splitlines()[1]
        assert f"--python-version {PYTHON}" in header, (lock, header)
        assert "--generate-hashes" in header, (lock, header)


def test_every_build_installs_from_the_lock() -> None:
    """Netlify, the Dockerfile and ./dev install locked, hash-checked packages only."""
    assert "requirements/site.lock" in BUILD_COMMAND and "--require-hashes" in BUILD_COMMAND
    assert f"RUN {BUILD_COMMAND}\n" in (ROOT / "Dockerfile").read_text()
    dev = (ROOT / "dev").read_text()
    assert "LOCK=requirements/test.lock" in dev and "--require-hashes" in dev
    assert "--no-deps -e ." in dev


def lock_names(lock: str) -> set[str]:
    text = (ROOT / lock).read_text()
    return {m.lower().replace("_", "-") for m in re.findall(r"^([A-Za-z0-9_.-]+)==", text, re.M)}


def test_the_locks_cover_the_extras() -> None:
    """A dependency added to pyproject.toml and not re-locked fails here (re-run the lock's
    header command)."""
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"][
        "optional-dependencies"
    ]
    for extra, lock in (("test", LOCKS[0]), ("site", LOCKS[1])):
        wanted = {re.split(r"[<>=!~;\[ ]", d, maxsplit=1)[0].lower() for d in extras[extra]}
        assert wanted <= lock_names(lock), (lock, wanted - lock_names(lock))
