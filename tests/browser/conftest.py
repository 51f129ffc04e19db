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


@pytest.fixture(scope="session")
def server(site_dir: Path) -> Iterator[str]:
    with serving(make_handler(site_dir)) as url:
        yield url


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
