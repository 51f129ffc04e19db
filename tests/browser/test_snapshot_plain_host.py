"""A static host that sends files only as they are on disk (no precompressed ``.br``/``.gz``
for ``name``, as a CDN without content negotiation for binary types may): the worker and the
service worker cut the 31 MB start-up snapshot off after its headers and inflate the gzip
file beside it instead, so the engine still starts from the snapshot without the raw image
crossing the wire."""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import expect

from engine.api import call
from sitegen.serve import make_handler
from tests.browser.conftest import serving, wait_until_controlled

READY = "html[data-engine=ready]"
TOTAL = '#result-body [data-role="total"]'
CHUNK = 64 * 1024


@pytest.fixture(scope="module")
def plain_host(site_dir: Path) -> Iterator[tuple[str, Counter]]:
    sent: Counter = Counter()
    lock = threading.Lock()

    class PlainHost(make_handler(site_dir)):
        def send_head(self):
            del self.headers["Accept-Encoding"]  # never the precompressed file
            return super().send_head()

        def copyfile(self, source, outputfile):
            # the snapshot goes out slowly (about 13 MB/s), so a client that stops reading
            # after the headers leaves most of it unsent
            path = self.path.split("?", 1)[0]
            slow = path.endswith(".bin")
            try:
                while chunk := source.read(CHUNK):
                    outputfile.write(chunk)
                    with lock:
                        sent[path] += len(chunk)
                    if slow:
                        time.sleep(0.005)
            except (BrokenPipeError, ConnectionResetError):
                pass

    with serving(PlainHost) as url:
        yield url, sent


def test_snapshot_from_a_host_without_precompressed_files(page, plain_host, site_dir):
    url, sent = plain_host
    page.goto(f"{url}/?model=llama-3.1-8b&context=3000")
    page.wait_for_selector(READY, timeout=90_000)
    assert page.evaluate("window.__vramTimings.worker.snapshot") == "loaded"
    args = {"model": "llama-3.1-8b", "weights": "bf16", "context": 3000, "batch": 1}
    total = str(call("infer", args)["total_bytes"])
    expect(page.locator(TOTAL)).to_have_attribute("data-bytes", total)

    (image,) = site_dir.glob("wheels/*/engine-snapshot.*.bin")
    path = "/" + image.relative_to(site_dir).as_posix()
    # the raw image was abandoned after its headers (the worker's and the service worker's
    # requests together), and the .gz beside it went out instead
    assert sent[path] < image.stat().st_size // 4, sent[path]
    assert sent[path + ".gz"] > 0

    # the service worker cached the inflated image under the image's own URL
    wait_until_controlled(page)
    cached = page.evaluate(
        """async (path) => {
             const r = await caches.match(path);
             return r ? (await r.arrayBuffer()).byteLength : -1;
           }""",
        path,
    )
    assert cached == image.stat().st_size
