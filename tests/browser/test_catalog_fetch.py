"""The catalog in the browser (issue 16): the wheel carries the default model only; choosing
another fetches its content-hashed file once (the service worker keeps it), a model chosen
before works offline, one never fetched says so beside the model field, and "Make all
models available offline" saves every model. Requests are counted at the server: a
dedicated worker's downloads are invisible to the page's network events."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import expect

from engine.api import call
from engine.catalog import list_models
from sitegen.serve import make_handler
from tests.browser.conftest import serving, wait_until_controlled

READY = "html[data-engine=ready]"
TOTAL = '#result-body [data-role="total"]'
ERROR = '[data-error-for="model"]'
ENGINE_START_MS = 90_000
MODEL_FILE = re.compile(r"^/assets/models/(.+)\.[0-9a-f]{10}\.json$")


@pytest.fixture
def counted(site_dir: Path) -> Iterator[tuple[str, list[str]]]:
    """The site served with a log of every path the server answered."""
    hits: list[str] = []

    class Counting(make_handler(site_dir)):  # type: ignore[misc, valid-type]
        def do_GET(self) -> None:
            hits.append(self.path.split("?", 1)[0])
            super().do_GET()

    with serving(Counting) as url:
        yield url, hits


def fetched(hits: list[str]) -> list[str]:
    """The model files the server sent, by slug."""
    return [m.group(1) for h in hits if (m := MODEL_FILE.match(h))]


def saved(page) -> list[str]:
    """The model files in the models cache (site/protocol.js MODELS_CACHE)."""
    return page.evaluate(
        """async () => (await (await caches.open("vram-insight-models")).keys())
            .map((r) => new URL(r.url).pathname).filter((p) => p.startsWith("/assets/models/"))"""
    )


def infer_total(model: str) -> str:
    args = {"model": model, "weights": "q4_k_m", "context": 8192, "runtime": "llamacpp"}
    return str(call("infer", args)["total_bytes"])


def choose(page, model: str) -> None:
    page.select_option("#f-model", model)


def open_calculator(page, url: str) -> None:
    page.goto(f"{url}/?weights=q4_k_m&context=8192&runtime=llamacpp")
    page.wait_for_selector(READY, timeout=ENGINE_START_MS)


def test_a_model_is_fetched_once_and_works_offline_after_a_visit(context, counted) -> None:
    url, hits = counted
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    open_calculator(page, url)
    wait_until_controlled(page)
    assert fetched(hits) == []  # the default model is in the wheel
    choose(page, "qwen3-8b")
    expect(page.locator(TOTAL)).to_have_attribute("data-bytes", infer_total("qwen3-8b"))
    choose(page, "llama-3.1-8b")
    expect(page.locator(TOTAL)).to_have_attribute("data-bytes", infer_total("llama-3.1-8b"))
    choose(page, "qwen3-8b")
    expect(page.locator(TOTAL)).to_have_attribute("data-bytes", infer_total("qwen3-8b"))
    page.reload()  # a new worker: its fetch is answered by the service worker's cache
    page.wait_for_selector(READY, timeout=ENGINE_START_MS)
    choose(page, "llama-3.1-8b")
    choose(page, "qwen3-8b")
    expect(page.locator(TOTAL)).to_have_attribute("data-bytes", infer_total("qwen3-8b"))
    assert fetched(hits) == ["qwen3-8b"]
    assert [MODEL_FILE.match(p).group(1) for p in saved(page)] == ["qwen3-8b"]
    context.set_offline(True)
    try:
        page.reload()
        page.wait_for_selector(READY, timeout=ENGINE_START_MS)
        choose(page, "llama-3.1-8b")
        choose(page, "qwen3-8b")
        expect(page.locator(TOTAL)).to_have_attribute("data-bytes", infer_total("qwen3-8b"))
        # never fetched: a sentence beside the field, no traceback
        choose(page, "mixtral-8x7b")
        expect(page.locator(ERROR)).to_contain_text("not saved on this device")
        assert "Traceback" not in page.locator(ERROR).text_content()
    finally:
        context.set_offline(False)
    # online again, the same choice fetches it
    choose(page, "llama-3.1-8b")
    choose(page, "mixtral-8x7b")
    expect(page.locator(TOTAL)).to_have_attribute("data-bytes", infer_total("mixtral-8x7b"))
    expect(page.locator(ERROR)).to_be_hidden()
    assert errors == []


RUNTIME_CACHED = """async () => {
    const paths = [];
    for (const name of await caches.keys()) {
        if (!name.includes("-pyodide-")) continue;
        for (const r of await (await caches.open(name)).keys()) paths.push(new URL(r.url).pathname);
    }
    return paths;
}"""


def test_all_models_can_be_saved_for_offline_use(context, counted) -> None:
    url, hits = counted
    page = context.new_page()
    open_calculator(page, url)
    wait_until_controlled(page)
    page.click("#offline summary")
    status = page.locator("#offline-status")
    expect(status).to_contain_text("0 of")
    page.click("#offline-all")
    page.wait_for_selector("html[data-offline-models=all]", timeout=60_000)
    total = len(list_models())
    expect(status).to_have_text(f"All {total} models are available offline.")
    assert len(saved(page)) == total
    assert len(set(fetched(hits))) == total and len(fetched(hits)) == total  # each once
    # ... and the full runtime, for a request beyond the lean wasm or the start-up image
    runtime = page.evaluate(RUNTIME_CACHED)
    assert any(p.endswith("/pyodide.asm.wasm") for p in runtime), runtime
    assert any("/python_stdlib.pyc." in p for p in runtime), runtime
    context.set_offline(True)
    try:
        page.reload()
        page.wait_for_selector(READY, timeout=ENGINE_START_MS)
        for model in ("mixtral-8x7b", "gemma-3-27b-it"):
            choose(page, model)
            expect(page.locator(TOTAL)).to_have_attribute("data-bytes", infer_total(model))
    finally:
        context.set_offline(False)
