"""Shared fixtures for the build and browser tests: one site build per test session."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

# A fixed build date makes two builds comparable byte for byte.
SOURCE_DATE_EPOCH = "1767225600"  # 2026-01-01T00:00:00Z


def build_into(out: Path) -> Path:
    import build

    previous = os.environ.get("SOURCE_DATE_EPOCH")
    os.environ["SOURCE_DATE_EPOCH"] = SOURCE_DATE_EPOCH
    try:
        build.build(out, strict=True)  # as netlify.toml and the Dockerfile build: no warning
    finally:
        if previous is None:
            del os.environ["SOURCE_DATE_EPOCH"]
        else:
            os.environ["SOURCE_DATE_EPOCH"] = previous
    return out


@pytest.fixture(scope="session")
def site_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The whole site, built once per session into a temporary directory."""
    return build_into(tmp_path_factory.mktemp("site") / "public")


@pytest.fixture(scope="session")
def build_site():
    """A function building the site into a given directory (fixed build date)."""
    return build_into


@pytest.fixture(scope="session")
def hub_server(tmp_path_factory: pytest.TempPathFactory):
    """A local server speaking the Hugging Face Hub protocol (tests/hub/server.py), serving
    the catalog's configs and the repos of tests/hub/repos.py; ``.endpoint`` is its URL."""
    from tests.hub.repos import start_fixture

    hub = start_fixture(tmp_path_factory.mktemp("hub"))
    yield hub
    hub.stop()


@pytest.fixture(scope="session")
def base_url() -> None:
    """No base URL (tests use ``server``); a module-level fixture replaces pytest-playwright's
    fallback, a session fixture defined as an instance method (PytestRemovedIn10Warning)."""
    return None
