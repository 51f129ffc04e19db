"""The results panel in Debian Chromium: one fit verdict (the engine's) in the panel and the
chart, and a figure on screen always belongs to the inputs on screen: a link or an input the
engine rejects leaves no stale number behind, and the GPU recommendation does not rank GPUs
for inputs it cannot compute (issues 13 and 14)."""

from __future__ import annotations

import json

import pytest
from playwright.sync_api import expect

from engine.api import call
from present.render import render
from tests.browser.conftest import PARSED

READY = "html[data-engine=ready]"
BODY = "#result-body"
ENGINE_START_MS = 90_000


@pytest.fixture(scope="module")
def calc(browser, server):
    """One calculator page for the module (the engine starts once), console errors kept."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.errors = []
    page.on("pageerror", lambda e: page.errors.append(f"uncaught: {e}"))
    page.goto(server + "/")
    page.wait_for_selector(READY, timeout=ENGINE_START_MS)
    page.wait_for_selector("html[data-features=ready]")
    yield page
    context.close()


def open_link(page, query: str) -> None:
    """Follow a share link in the running calculator (as the history or a preset does)."""
    page.evaluate(
        """(q) => {
            history.pushState(null, "", "/" + q);
            dispatchEvent(new PopStateEvent("popstate"));
        }""",
        query,
    )


def default_model(page) -> str:
    return json.loads(page.locator("#initial-state").text_content())["request"]["model"]


def test_vllm_panel_and_chart_say_the_engines_one_verdict(page, server):
    # the link: the page's own rule once said "fits, headroom 1.76 GiB" here while
    # the chart under it said "does not fit, 0.60 GiB short" (vLLM's 0.9 budget ignored)
    # (0.9 was vLLM's default then; vLLM 0.33 sizes the KV pool as the engine did)
    page.goto(
        server + "/?runtime=vllm&context=40960&gpu=rtx-4090&gpu_memory_utilization=0.9"
        "&vllm_version=0.33"
    )
    page.wait_for_selector(READY, timeout=ENGINE_START_MS)
    args = {
        "model": default_model(page),
        "runtime": "vllm",
        "context": 40960,
        "gpu": "rtx-4090",
        "gpu_memory_utilization": 0.9,
        "vllm_version": "0.33",
    }
    result = call("infer", args)
    fit = result["details"]["fit"]
    assert fit["fits"] is False
    expect(page.locator(BODY)).to_have_attribute("data-state", "live")
    line = page.locator(f'{BODY} [data-role="fit"]')
    expect(line).to_have_attribute("data-fits", "false")
    expect(line.locator('[data-role="shortfall"]')).to_have_attribute(
        "data-bytes", str(fit["shortfall_bytes"])
    )
    expect(line.locator('[data-role="budget"]')).to_have_attribute(
        "data-bytes", str(fit["budget_bytes"])
    )
    expect(line).not_to_contain_text("headroom")
    bar = page.locator("#chart-capacity svg.capacity")
    expect(bar).to_have_attribute("data-fits", "false")
    expect(bar).to_have_attribute("data-shortfall-bytes", str(fit["shortfall_bytes"]))
    # the whole live panel is present/'s HTML for this result, as CPython renders it
    view = render(result, state="live")
    panel = page.locator(BODY).evaluate("e => e.innerHTML")
    assert panel == page.evaluate(PARSED, view["panel_html"] + view["chart_html"])


BAD_LINKS = [
    ("?context=-5", "context"),
    ("?context=1e999", "context"),
    ("?model=no-such-model", "model"),
    ("?weights=q4_k_m&runtime=transformers", "weights"),
]


@pytest.mark.parametrize(("query", "field"), BAD_LINKS)
def test_a_bad_link_shows_what_is_wrong_and_no_figure(calc, query, field):
    page = calc
    open_link(page, "?model=qwen3-0.6b&context=8192")
    expect(page.locator(BODY)).to_have_attribute("data-state", "live")
    expect(page.locator(f'{BODY} [data-role="total"]')).to_be_visible()
    open_link(page, query)
    expect(page.locator(BODY)).to_have_attribute("data-state", "error")
    error = page.locator(f'[data-error-for="{field}"]')
    if field != "weights":  # the weights/runtime clash may be reported beside either field
        expect(error).to_be_visible()
    problem = page.locator(f'{BODY} [data-role="problem"]')
    expect(problem).to_be_visible()
    assert problem.text_content().strip()
    # no stale figure: nothing with bytes in the panel, and the line under it is not "computing"
    expect(page.locator(f"{BODY} [data-bytes]")).to_have_count(0)
    expect(page.locator("#chart")).to_have_count(0)
    expect(page.locator("#result-meta")).not_to_contain_text("computing")
    for button in page.locator("[data-export]").all():
        expect(button).to_be_disabled()
    assert page.errors == []


def test_a_bad_link_opened_first_never_shows_the_baked_figure(page, server):
    page.goto(server + "/?context=-5")
    # before and after the engine answers: the baked total (other inputs) is not on screen
    expect(page.locator(f'{BODY} [data-role="total"]')).to_have_count(0)
    page.wait_for_selector(READY, timeout=ENGINE_START_MS)
    expect(page.locator(BODY)).to_have_attribute("data-state", "error")
    expect(page.locator(f"{BODY} [data-bytes]")).to_have_count(0)
    expect(page.locator('[data-error-for="context"]')).to_be_visible()
    expect(page.locator("#result-meta")).not_to_contain_text("computing")


def test_a_link_with_a_gguf_format_and_no_runtime_gets_the_runtime_the_form_would_pick(calc):
    page = calc
    open_link(page, "?model=qwen3-0.6b&weights=q4_k_m")
    expect(page.locator("#f-runtime")).to_have_value("llamacpp")
    want = call("infer", {"model": "qwen3-0.6b", "weights": "q4_k_m", "runtime": "llamacpp"})
    expect(page.locator(f'{BODY} [data-role="total"]')).to_have_attribute(
        "data-bytes", str(want["total_bytes"])
    )


def test_recommendation_does_not_rank_gpus_for_inputs_with_a_problem(calc):
    page = calc
    open_link(page, "?model=qwen3-0.6b")
    expect(page.locator(BODY)).to_have_attribute("data-state", "live")
    page.locator("#recommend summary").click()
    expect(page.locator("#recommend")).to_have_attribute("data-state", "ready")
    expect(page.locator("#recommend-table tbody tr").first).to_be_visible()
    open_link(page, "?model=qwen3-0.6b&context=-5")
    expect(page.locator(BODY)).to_have_attribute("data-state", "error")
    expect(page.locator("#recommend")).to_have_attribute("data-state", "problem")
    expect(page.locator("#recommend-table tr")).to_have_count(0)
    expect(page.locator("#recommend-status")).not_to_contain_text("No GPU")
    # a good input again: the recommendation comes back
    open_link(page, "?model=qwen3-0.6b&context=8192")
    expect(page.locator("#recommend")).to_have_attribute("data-state", "ready")
    page.locator("#recommend summary").click()  # close it for the other tests


def test_an_engine_that_stops_leaves_no_figure_and_blames_no_field(page, server):
    page.add_init_script("window.__vramEngineTimeouts = { request: 3000 };")
    page.goto(server + "/?model=llama-3.2-1b&context=2048")
    page.wait_for_selector(READY, timeout=ENGINE_START_MS)
    expect(page.locator(BODY)).to_have_attribute("data-state", "live")
    page.evaluate("window.__vramEngine.worker.terminate()")
    page.fill("#f-context", "2500")
    page.wait_for_selector("html[data-engine=error]", timeout=15_000)
    expect(page.locator(BODY)).to_have_attribute("data-state", "error")
    expect(page.locator(f"{BODY} [data-bytes]")).to_have_count(0)
    expect(page.locator(f'{BODY} [data-role="problem"]')).to_be_visible()
    expect(page.locator(".field-error:visible")).to_have_count(0)


def test_the_page_reads_presents_one_label_table(calc):
    from present.labels import COMPONENT_LABELS

    page = calc
    baked = page.evaluate(
        "JSON.parse(document.getElementById('initial-state').textContent).component_labels"
    )
    assert baked == COMPONENT_LABELS  # what compare.js labels its rows with (results.js)
    open_link(page, "?model=qwen3-0.6b&mode=finetune&method=lora")
    expect(page.locator(BODY)).to_have_attribute("data-state", "live")
    row = page.locator(f'{BODY} tr[data-component="adapters"] th')
    expect(row).to_have_text(COMPONENT_LABELS["adapters"])
    legend = page.locator('#chart-legend li[data-component="adapters"] .legend-label')
    expect(legend).to_have_text(COMPONENT_LABELS["adapters"])
