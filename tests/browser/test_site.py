"""End to end in Debian Chromium: the calculator computes live in Pyodide, agrees with
CPython's engine byte for byte, keeps its state in the URL, works offline after one visit,
and every page type loads without console errors. Screenshots go to test-artifacts/."""

from __future__ import annotations

import gzip
import json
import re

import pytest
from playwright.sync_api import expect

from engine.api import call, handle
from tests.browser.conftest import wait_until_controlled

READY = "html[data-engine=ready]"
TOTAL = '#result-body [data-role="total"]'
ENGINE_START_MS = 90_000


def engine_total(op: str, args: dict) -> str:
    return str(call(op, args)["total_bytes"])


def open_calculator(page, server, query: str = ""):
    page.goto(f"{server}/{query}")
    page.wait_for_selector(READY, timeout=ENGINE_START_MS)


def test_first_paint_shows_the_baked_figure_then_the_engine_starts(watched, server):
    page = watched
    page.goto(server + "/")
    # before the engine is ready, the precomputed total is already on screen
    state = json.loads(page.locator("#initial-state").text_content())
    expected = engine_total("infer", state["request"])
    assert page.locator(TOTAL).get_attribute("data-bytes") == expected
    page.wait_for_selector(READY, timeout=ENGINE_START_MS)
    assert page.locator("html").get_attribute("data-engine") == "ready"
    assert watched.watched_errors == []
    assert watched.watched_foreign == []


def test_changing_inputs_shows_the_engine_numbers(watched, server):
    page = watched
    open_calculator(page, server)
    page.select_option("#f-model", "qwen3-8b")
    page.select_option("#f-weights", "q4_k_m")
    # a GGUF format switches the runtime to one that loads it (llama.cpp)
    expect(page.locator("#f-runtime")).to_have_value("llamacpp")
    page.fill("#f-context", "32768")
    args = {
        "model": "qwen3-8b",
        "weights": "q4_k_m",
        "kv_dtype": "auto",
        "context": 32768,
        "batch": 1,
        "runtime": "llamacpp",
        "tp": 1,
        "pp": 1,
    }
    expect(page.locator(TOTAL)).to_have_attribute("data-bytes", engine_total("infer", args))
    # every component shown is the engine's component, exactly
    result = call("infer", args)
    for name, value in result["components"].items():
        row = page.locator(f'#result-body tr[data-component="{name}"] [data-bytes]')
        if value:
            expect(row).to_have_attribute("data-bytes", str(value))
        else:
            expect(row).to_have_count(0)
    page.locator("#f-context").dispatch_event("change")
    expect(page).to_have_url(
        f"{server}/?model=qwen3-8b&weights=q4_k_m&context=32768&runtime=llamacpp"
    )
    assert watched.watched_errors == [] and watched.watched_foreign == []


def test_engine_starts_from_the_build_snapshot_in_the_early_worker(page, server):
    open_calculator(page, server, "?model=qwen2.5-7b&weights=q8_0&runtime=llamacpp&context=8192")
    assert page.evaluate("window.__vramTimings.worker.snapshot") == "loaded"
    # the worker engine-boot.js started while the page was parsed is the one in use
    assert page.evaluate("window.__vramEngineBoot") is None
    args = {"model": "qwen2.5-7b", "weights": "q8_0", "runtime": "llamacpp", "context": 8192}
    args["batch"] = 1
    expect(page.locator(TOTAL)).to_have_attribute("data-bytes", engine_total("infer", args))


@pytest.mark.full_wasm  # a normal start compiles Python: the lean wasm cannot
@pytest.mark.parametrize("failure", ["missing", "corrupt"])
def test_engine_starts_normally_without_a_usable_snapshot(watched, server, failure):
    page = watched
    if failure == "missing":
        page.route("**/engine-snapshot.*", lambda route: route.fulfill(status=404, body="gone"))
    else:  # valid gzip, but not a Pyodide memory image
        page.route(
            "**/engine-snapshot.*",
            lambda route: route.fulfill(
                status=200,
                body=gzip.compress(b"not a snapshot" * 64),
                content_type="application/gzip",
            ),
        )
    open_calculator(page, server, "?model=llama-3.2-1b&context=2048")
    assert page.evaluate("window.__vramTimings.worker.snapshot") == "none"
    page.fill("#f-context", "3000")
    args = {"model": "llama-3.2-1b", "weights": "bf16", "context": 3000, "batch": 1}
    expect(page.locator(TOTAL)).to_have_attribute("data-bytes", engine_total("infer", args))
    assert watched.watched_errors == []


def test_url_state_is_shareable_and_back_forward_work(page, server):
    query = "?model=llama-3.1-8b&weights=q8_0&runtime=llamacpp&context=8192&batch=4"
    open_calculator(page, server, query)
    args = {
        "model": "llama-3.1-8b",
        "weights": "q8_0",
        "runtime": "llamacpp",
        "context": 8192,
        "batch": 4,
    }
    expect(page.locator(TOTAL)).to_have_attribute("data-bytes", engine_total("infer", args))
    page.select_option("#f-weights", "q4_k_m")
    q4 = engine_total("infer", {**args, "weights": "q4_k_m"})
    expect(page.locator(TOTAL)).to_have_attribute("data-bytes", q4)
    page.go_back()
    expect(page.locator("#f-weights")).to_have_value("q8_0")
    expect(page.locator(TOTAL)).to_have_attribute("data-bytes", engine_total("infer", args))
    page.go_forward()
    expect(page.locator(TOTAL)).to_have_attribute("data-bytes", q4)


def test_input_typed_before_the_engine_is_ready_is_computed(page, server):
    page.goto(server + "/")
    engine_state = page.locator("html").get_attribute("data-engine")
    page.fill("#f-context", "65536")
    page.wait_for_selector(READY, timeout=ENGINE_START_MS)
    state = json.loads(page.locator("#initial-state").text_content())
    args = {**state["request"], "context": 65536}
    expect(page.locator(TOTAL)).to_have_attribute("data-bytes", engine_total("infer", args))
    assert engine_state == "loading"  # the input really was typed before the engine was up


def test_errors_are_shown_beside_the_field(page, server):
    open_calculator(page, server)
    page.fill("#f-context", "0")
    error = page.locator('[data-error-for="context"]')
    expect(error).to_be_visible()
    expect(error).to_contain_text("context must be at least 1")
    expect(page.locator("#f-context")).to_have_attribute("aria-invalid", "true")
    page.fill("#f-context", "4096")
    expect(error).to_be_hidden()


def test_errors_are_in_chinese_on_chinese_pages(page, server):
    page.goto(f"{server}/zh/")
    page.wait_for_selector(READY, timeout=ENGINE_START_MS)
    page.fill("#f-context", "0")
    request = {"v": 1, "id": 1, "op": "infer", "lang": "zh"}
    request["args"] = {"model": "llama-3.1-8b", "context": 0}
    expected = json.loads(handle(json.dumps(request)))["error"]["message"]
    assert re.search("[\u4e00-\u9fff]", expected)  # the engine's own Chinese text
    expect(page.locator('[data-error-for="context"]')).to_contain_text(expected)


def test_pasted_config_is_parsed_by_the_engine(page, server):
    open_calculator(page, server)
    page.select_option("#f-model", "custom")
    page.fill("#f-config", '{"model_type": "llama"')
    expect(page.locator('[data-error-for="config"]')).to_contain_text("not valid JSON")
    from sitegen.config import ROOT

    config = (ROOT / "engine/data/models/llama-3.2-1b/config.json").read_text()
    page.fill("#f-config", config)
    args = {"config": config, "weights": "bf16", "context": 4096, "batch": 1}
    expect(page.locator(TOTAL)).to_have_attribute("data-bytes", engine_total("infer", args))


def test_training_mode(page, server):
    open_calculator(page, server, "?mode=train&model=llama-3.2-1b&method=lora")
    args = {"model": "llama-3.2-1b", "method": "lora", "seq": 2048, "batch": 1}
    expect(page.locator(TOTAL)).to_have_attribute("data-bytes", engine_total("train", args))
    expect(page.locator("#f-weights")).to_be_hidden()
    expect(page.locator("#f-rank")).to_be_visible()


def test_gpu_capacity_line(page, server):
    open_calculator(page, server, "?model=llama-3.1-70b&gpu=rtx-4090")
    expect(page.locator('#result-body [data-role="fit"]')).to_have_attribute("data-fits", "false")


def test_offline_after_one_visit(context, server):
    page = context.new_page()
    open_calculator(page, server)
    wait_until_controlled(page)
    # the engine restored the build's start-up snapshot, online and then offline from the cache
    assert page.evaluate("window.__vramTimings.worker.snapshot") == "loaded"
    # a model is fetched once when first chosen (the wheel carries the default only), and
    # stays available offline (one never chosen: tests/browser/test_catalog_fetch.py)
    page.select_option("#f-model", "mistral-7b-v0.1")
    args = {"model": "mistral-7b-v0.1", "weights": "bf16", "context": 4096, "batch": 1}
    expect(page.locator(TOTAL)).to_have_attribute("data-bytes", engine_total("infer", args))
    context.set_offline(True)
    try:
        page.reload()
        page.wait_for_selector(READY, timeout=ENGINE_START_MS)
        assert page.evaluate("window.__vramTimings.worker.snapshot") == "loaded"
        page.select_option("#f-model", "mistral-7b-v0.1")
        page.fill("#f-context", "16384")
        args = {"model": "mistral-7b-v0.1", "weights": "bf16", "context": 16384, "batch": 1}
        expect(page.locator(TOTAL)).to_have_attribute("data-bytes", engine_total("infer", args))
        # a page never visited falls back to the offline page, not a browser error (the
        # index pages are precached since issue 15: a GPU's own page is not)
        page.goto(server + "/gpus/rtx-4090/")
        expect(page.locator("h1")).to_have_text("You are offline")
    finally:
        context.set_offline(False)


def test_model_page_shows_the_engine_numbers(watched, server):
    page = watched
    page.goto(f"{server}/models/llama-3.1-8b/")
    for context in (4096, 32768):
        args = {
            "model": "llama-3.1-8b",
            "weights": "q4_k_m",
            "runtime": "llamacpp",
            "context": context,
            "batch": 1,
        }
        cell = page.locator(
            f'#inference-table tr[data-format="q4_k_m"] td[data-context="{context}"] [data-bytes]'
        )
        expect(cell).to_have_attribute("data-bytes", engine_total("infer", args))
    page.click('[data-role="open-calculator"]')
    page.wait_for_selector(READY, timeout=ENGINE_START_MS)
    expect(page.locator("#f-model")).to_have_value("llama-3.1-8b")
    assert watched.watched_errors == []


PAGES = [
    "/",
    "/models/",
    "/models/qwen3-30b-a3b/",
    "/gpus/",
    "/gpus/h100-sxm-80gb/",
    "/methodology/",
    "/accuracy/",
]


@pytest.mark.parametrize("path", PAGES)
def test_no_console_errors(watched, server, path):
    page = watched
    page.goto(server + path)
    if path == "/":
        page.wait_for_selector(READY, timeout=ENGINE_START_MS)
    else:
        page.wait_for_load_state("load")
    assert page.locator("h1").count() == 1
    assert watched.watched_errors == []
    assert watched.watched_foreign == []


def test_404_page(page, server):
    response = page.goto(server + "/no/such/page/")
    assert response.status == 404
    expect(page.locator("h1")).to_have_text("Page not found")


def test_models_table_filters_and_sorts(page, server):
    page.goto(server + "/models/")
    page.fill("#model-filter", "qwen3")
    visible = page.locator("#models-table tbody tr:visible")
    expect(visible.first).to_contain_text("Qwen3")
    assert all("qwen3" in t.lower() for t in visible.all_inner_texts())
    page.fill("#model-filter", "")
    page.click('#models-table th:has-text("Parameters")')
    values = [
        int(v)
        for v in page.locator("#models-table tbody tr td:nth-child(3)").evaluate_all(
            "cells => cells.map((c) => c.dataset.value)"
        )
    ]
    assert values == sorted(values)


@pytest.mark.parametrize(
    ("name", "viewport"),
    [("mobile", {"width": 390, "height": 844}), ("desktop", {"width": 1366, "height": 900})],
)
def test_screenshots(browser, server, artifacts, name, viewport):
    context = browser.new_context(viewport=viewport, device_scale_factor=1)
    page = context.new_page()
    for label, path in (
        ("calculator", "/"),
        ("model", "/models/llama-3.1-8b/"),
        ("gpu", "/gpus/rtx-4090/"),
        ("models", "/models/"),
    ):
        page.goto(server + path)
        if path == "/":
            page.wait_for_selector(READY, timeout=ENGINE_START_MS)
        page.screenshot(path=str(artifacts / f"{label}-{name}.png"), full_page=True)
        # nothing overflows the viewport horizontally (tables scroll inside their box)
        overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0, f"{label} overflows by {overflow}px at {name}"
    context.close()
