"""A new deployment while a page is open: the service worker notices it, the page offers
"new version — reload", old caches are removed, and the page keeps working throughout.
Same protocol: the new worker activates at once. New protocol: it waits for the reload."""

from __future__ import annotations

import json
import shutil
import threading

import pytest
from playwright.sync_api import expect

from sitegen.serve import ThreadingServer, make_handler
from tests.browser.conftest import wait_until_controlled

READY = "html[data-engine=ready]"


def deploy(site_dir, target, *, version: str, protocol: int | None = None):
    """A copy of the built site whose service worker says it is another version."""
    shutil.copytree(site_dir, target)
    sw = (target / "sw.js").read_text(encoding="utf-8")
    old = sw.split('const VERSION = "', 1)[1].split('"', 1)[0]
    sw = sw.replace(f'const VERSION = "{old}"', f'const VERSION = "{version}"')
    info = json.loads((target / "version.json").read_text(encoding="utf-8"))
    info["version"] = version
    if protocol is not None:
        sw = sw.replace(f"const PROTOCOL = {info['protocol']};", f"const PROTOCOL = {protocol};")
        info["protocol"] = protocol
    (target / "sw.js").write_text(sw, encoding="utf-8")
    (target / "version.json").write_text(json.dumps(info), encoding="utf-8")


@pytest.fixture
def switchable(site_dir, tmp_path):
    """Serve tmp/current, a symlink that the test re-points to deploy a new version."""
    current = tmp_path / "current"
    current.symlink_to(site_dir, target_is_directory=True)
    httpd = ThreadingServer(("127.0.0.1", 0), make_handler(current))
    threading.Thread(target=httpd.serve_forever, daemon=True).start()

    def switch(target):
        current.unlink()
        current.symlink_to(target, target_is_directory=True)

    yield f"http://127.0.0.1:{httpd.server_address[1]}", switch
    httpd.shutdown()
    httpd.server_close()


@pytest.mark.parametrize("protocol_change", [False, True], ids=["same-protocol", "new-protocol"])
def test_new_version_is_offered_and_old_caches_go(
    context, site_dir, tmp_path, switchable, protocol_change
):
    base, switch = switchable
    page = context.new_page()
    page.goto(base + "/")
    page.wait_for_selector(READY, timeout=90_000)
    wait_until_controlled(page)
    deploy(site_dir, tmp_path / "v2", version="9.9.9-test", protocol=2 if protocol_change else None)
    switch(tmp_path / "v2")
    page.evaluate("navigator.serviceWorker.getRegistration().then((r) => r.update())")
    expect(page.locator("#update-banner")).to_be_visible(timeout=60_000)
    # the open page still computes with the engine it has
    page.fill("#f-context", "8192")
    expect(page.locator("#result-body")).to_have_attribute("data-state", "live")
    # the old page is READY too: wait for the reload itself, not just for a ready engine. Not
    # expect_navigation: leaving the context field commits it to the URL (pushState), which
    # counts as a navigation; "load" fires only for the new document.
    with page.expect_event("load", timeout=60_000):
        page.click("#update-reload")
    page.wait_for_selector(READY, timeout=90_000)
    page.wait_for_function(
        """async () => {
            const names = await caches.keys();
            const shells = names.filter((n) => n.startsWith("vram-insight-shell-"));
            return shells.length === 1 && shells[0].endsWith("9.9.9-test");
        }""",
        timeout=30_000,
    )
    expect(page.locator("#update-banner")).to_be_hidden()
