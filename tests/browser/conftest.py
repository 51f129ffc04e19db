"""Browser fixtures: the built site served on a free local port with the production headers
(CSP included), and Debian's Chromium launched headless by pytest-playwright."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from sitegen.config import ROOT
from sitegen.serve import ThreadingServer, make_handler

ARTIFACTS = ROOT / "test-artifacts"
_CONTROLLED = """async () => {
    await navigator.serviceWorker.ready;
    if (!navigator.serviceWorker.controller) {
        await new Promise((r) =>
            navigator.serviceWorker.addEventListener("controllerchange", r, { once: true }));
    }
}"""


def wait_until_controlled(page) -> None:
    """Wait until the service worker controls ``page`` (it registers after the engine start)."""
    page.evaluate(_CONTROLLED)


CHROMIUM = "/usr/bin/chromium"
# page.evaluate: HTML as the browser serialises it once parsed (to compare with what
# CPython's present/ wrote)
PARSED = """(h) => {
    const t = document.createElement("template");
    t.innerHTML = h;
    return t.innerHTML;
}"""


def pytest_collection_modifyitems(items):
    for item in items:
        if "tests/browser/" in str(item.fspath).replace("\\", "/"):
            item.add_marker(pytest.mark.browser)


@contextlib.contextmanager
def serving(handler: type) -> Iterator[str]:
    """Serve with ``handler`` on a free port of 127.0.0.1 until the block ends."""
    httpd = ThreadingServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()


# GETs of the full pyodide.asm.wasm from `server`: a first visit downloads the lean wasm
# (sitegen/lean_wasm.py), and the full one only when a request reaches a function the lean
# one lacks, which no browser test may do unless it says so (@pytest.mark.full_wasm)
FULL_WASM_GETS: list[str] = []


def recording(handler: type) -> type:
    """``handler``, noting each GET of the full wasm in FULL_WASM_GETS."""

    class Recording(handler):  # type: ignore[misc, valid-type]
        def send_head(self):
            if self.command == "GET" and self.path.split("?")[0].endswith("/pyodide.asm.wasm"):
                FULL_WASM_GETS.append(self.path)
            return super().send_head()

    return Recording


@pytest.fixture(scope="session")
def server(site_dir: Path) -> Iterator[str]:
    with serving(recording(make_handler(site_dir))) as url:
        yield url


@pytest.fixture
def full_wasm_gets() -> list[str]:
    """The paths of the full wasm's GETs from ``server`` so far (this conftest's own list:
    importing the module by another name would give another)."""
    return FULL_WASM_GETS


@pytest.fixture(autouse=True)
def lean_wasm_suffices(request: pytest.FixtureRequest) -> Iterator[None]:
    """What a browser test does is answered on the lean wasm: were a request to reach a
    function it lacks, the worker would start again on the full one (a second or two, and
    2.5 MB) and the corpus (sitegen/lean_corpus.py) should have covered it."""
    before = len(FULL_WASM_GETS)
    yield
    if request.node.get_closest_marker("full_wasm") is None:
        assert FULL_WASM_GETS[before:] == [], (
            "the worker downloaded the full wasm: a request reached a function the lean "
            "wasm lacks; add such requests to sitegen/lean_corpus.py"
        )


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    if not Path(CHROMIUM).exists():
        # fail, never skip: a suite that silently drops its browser tests would look green
        pytest.fail(f"{CHROMIUM} missing: `apt-get install -y chromium` (./dev test does it)")
    return {
        **browser_type_launch_args,
        "executable_path": CHROMIUM,
        "args": [
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
        ],
    }


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS


@pytest.fixture
def watched(page, server):
    """The page plus lists of console errors and requests to other hosts."""
    errors: list[str] = []
    foreign: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(f"uncaught: {e}"))
    page.on(
        "request",
        lambda r: (
            foreign.append(r.url) if not r.url.startswith((server, "data:", "blob:")) else None
        ),
    )
    page.watched_errors = errors
    page.watched_foreign = foreign
    return page
