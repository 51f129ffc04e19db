"""The runtimes' own settings in the calculator (issue 12): llama.cpp's -ngl/-ub/-b/-sm/
--no-kv-offload, vLLM's chunked prefill and --enforce-eager, PyTorch's expandable segments,
sequence parallel and QLoRA's double quantization. Each runtime's group is closed by default,
shows only where it applies, and opens when a link sets one of its controls; the figure is
the engine's for the same options (as `vram infer … --ubatch N` computes it); a switch
round-trips through the URL and a reload, and one left at its default is not written."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlparse

import pytest
from playwright.sync_api import expect

from engine.api import call

READY = "html[data-engine=ready]"
TOTAL = '#result-body [data-role="total"]'
MODEL = "qwen3-0.6b"


def _total(op: str, args: dict) -> str:
    return str(call(op, {"model": MODEL, **args})["total_bytes"])


def _query(page) -> dict[str, list[str]]:
    return parse_qs(urlparse(page.url).query)


def _ready(page, url: str) -> None:
    page.goto(url)
    page.wait_for_selector(READY, timeout=90_000)
    expect(page.locator("#result-body")).to_have_attribute("data-state", "live", timeout=30_000)


def test_llamacpp_settings_change_the_figure_and_round_trip(watched, server):
    page = watched
    _ready(page, f"{server}/?model={MODEL}&weights=q4_k_m")
    group = page.locator('details[data-group="llamacpp"]')
    expect(group).to_be_visible()
    expect(group).not_to_have_attribute("open", "")
    expect(page.locator('details[data-group="vllm"]')).to_be_hidden()
    expect(page.locator('details[data-group="pytorch"]')).to_be_hidden()
    # the schema's defaults: all layers (empty, labelled), n_ubatch 512, KV on the GPU
    expect(page.locator("#f-ngl")).to_have_value("")
    expect(page.locator("#f-ngl")).to_have_attribute("placeholder", "All layers")
    expect(page.locator("#f-ubatch")).to_have_value("512")
    expect(page.locator("#f-kvoffload")).to_be_checked()
    group.locator("summary").click()
    page.fill("#f-ubatch", "256")
    page.locator("#f-ubatch").dispatch_event("change")
    expect(page.locator(TOTAL)).to_have_attribute(
        "data-bytes", _total("infer", {"weights": "q4_k_m", "ubatch": 256})
    )
    assert _query(page)["ubatch"] == ["256"]
    # an unchecked switch is false (the engine's --no-kv-offload), and the link says so
    page.uncheck("#f-kvoffload")
    want = _total("infer", {"weights": "q4_k_m", "ubatch": 256, "kv_offload": False})
    expect(page.locator(TOTAL)).to_have_attribute("data-bytes", want)
    assert _query(page)["kv_offload"] == ["false"]
    # a reload keeps both, and the group opens for them
    _ready(page, page.url)
    expect(page.locator('details[data-group="llamacpp"]')).to_have_attribute("open", "")
    expect(page.locator("#f-ubatch")).to_have_value("256")
    expect(page.locator("#f-kvoffload")).not_to_be_checked()
    expect(page.locator(TOTAL)).to_have_attribute("data-bytes", want)
    # back at the default: the link no longer names it
    page.check("#f-kvoffload")
    expect(page.locator(TOTAL)).to_have_attribute(
        "data-bytes", _total("infer", {"weights": "q4_k_m", "ubatch": 256})
    )
    assert "kv_offload" not in _query(page)
    assert page.locator(".field-error:not([hidden])").count() == 0
    assert page.watched_errors == []


def test_vllm_switch_round_trips_and_a_default_box_is_not_written(page, server):
    _ready(page, f"{server}/?model={MODEL}&runtime=vllm&gpu=rtx-4090")
    group = page.locator('details[data-group="vllm"]')
    expect(group).to_be_visible()
    expect(page.locator('details[data-group="llamacpp"]')).to_be_hidden()
    expect(page.locator("#f-chunked")).to_be_checked()
    expect(page.locator("#f-eager")).not_to_be_checked()
    # vLLM's unset numbers say who decides (the schema's `auto` label)
    for unset in ("#f-gmu", "#f-mnbt", "#f-mns"):
        expect(page.locator(unset)).to_have_attribute("placeholder", "vLLM's default for the GPU")
    group.locator("summary").click()
    page.check("#f-eager")
    base = {"runtime": "vllm", "gpu": "rtx-4090"}
    want = _total("infer", {**base, "enforce_eager": True})
    expect(page.locator(TOTAL)).to_have_attribute("data-bytes", want)
    query = _query(page)
    assert query["enforce_eager"] == ["true"]
    assert "chunked_prefill" not in query  # checked, as by default: not in the link
    page.reload()
    page.wait_for_selector(READY, timeout=90_000)
    expect(page.locator("#f-eager")).to_be_checked()
    expect(page.locator(TOTAL)).to_have_attribute("data-bytes", want)
    # the share link carries it too
    expect(page.locator("#share-link")).to_have_attribute("href", re.compile("enforce_eager=true"))
    page.uncheck("#f-eager")
    expect(page.locator(TOTAL)).to_have_attribute("data-bytes", _total("infer", base))
    assert "enforce_eager" not in _query(page)
    # history: back goes to the checked state again
    page.go_back()
    expect(page.locator("#f-eager")).to_be_checked()
    expect(page.locator(TOTAL)).to_have_attribute("data-bytes", want)


@pytest.mark.parametrize(
    ("mode", "args"),
    [("train", {"method": "full"}), ("finetune", {"method": "qlora"})],
)
def test_pytorch_settings_in_training_whatever_the_inference_runtime(page, server, mode, args):
    # the inference form chose vLLM: training still runs in PyTorch and shows its settings
    extra = "&method=qlora" if mode == "finetune" else ""
    _ready(page, f"{server}/?model={MODEL}&runtime=vllm&mode={mode}{extra}")
    group = page.locator('details[data-group="pytorch"]')
    expect(group).to_be_visible()
    group.locator("summary").click()
    page.check("#f-expseg")
    want = {**args, "expandable_segments": True}
    if mode == "finetune":
        expect(page.locator("#f-dq")).to_be_visible()
        page.uncheck("#f-dq")
        want["double_quant"] = False
        assert _query(page)["double_quant"] == ["false"]
    else:
        expect(page.locator("#f-dq")).to_be_hidden()  # QLoRA only
    expect(page.locator(TOTAL)).to_have_attribute("data-bytes", _total("train", want))
    assert _query(page)["expandable_segments"] == ["true"]
    _ready(page, page.url)
    expect(page.locator("#f-expseg")).to_be_checked()
    expect(page.locator(TOTAL)).to_have_attribute("data-bytes", _total("train", want))


def test_an_engine_error_opens_the_group_beside_its_field(page, server):
    _ready(page, f"{server}/?model={MODEL}&weights=q4_k_m")
    group = page.locator('details[data-group="llamacpp"]')
    expect(group).not_to_have_attribute("open", "")
    # a value the number box lets through but the engine refuses (above INT_RANGES)
    page.evaluate(
        """() => { const el = document.getElementById('f-ubatch'); el.value = '9999999';
                   el.dispatchEvent(new Event('input', { bubbles: true })); }"""
    )
    error = page.locator('[data-error-for="ubatch"]')
    expect(error).to_be_visible(timeout=30_000)
    expect(group).to_have_attribute("open", "")
    expect(page.locator("#f-ubatch")).to_have_attribute("aria-invalid", "true")


@pytest.mark.parametrize("width", [320, 390])
def test_the_groups_fit_a_phone(browser, server, artifacts, width):
    context = browser.new_context(viewport={"width": width, "height": 800})
    page = context.new_page()
    page.goto(f"{server}/?model={MODEL}&weights=q4_k_m&ubatch=256&kv_offload=false")
    group = page.locator('details[data-group="llamacpp"]')
    expect(group).to_have_attribute("open", "")
    group.scroll_into_view_if_needed()
    group.screenshot(path=str(artifacts / f"runtime-settings-{width}.png"))
    # nothing in the group runs past the screen's edge
    overflow = group.locator("input, select, label, summary, .hint").evaluate_all(
        "els => els.filter((e) => e.getBoundingClientRect().right > innerWidth + 0.5).length"
    )
    assert overflow == 0
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    context.close()
