"""The calculator's form is the engine's form schema (engine/form.py): the page embeds it,
renders its controls from it, and a share link gets the same defaults the form would
(issue 13: a GGUF format and no runtime runs in llama.cpp); old mode words still open."""

from __future__ import annotations

import json

from playwright.sync_api import expect

from engine.api import call
from engine.form import page_schema
from engine.workload import INT_RANGES

READY = "html[data-engine=ready]"
TOTAL = '#result-body [data-role="total"]'
ENGINE_START_MS = 90_000


def test_a_gguf_link_without_runtime_computes_in_llamacpp(watched, server):
    page = watched
    page.goto(f"{server}/?weights=q4_k_m&context=8192")
    # the form shows the runtime before the engine has started
    expect(page.locator("#f-runtime")).to_have_value("llamacpp")
    page.wait_for_selector(READY, timeout=ENGINE_START_MS)
    expect(page.locator("#result-body")).to_have_attribute("data-state", "live", timeout=30_000)
    expect(page.locator("#f-runtime")).to_have_value("llamacpp")
    assert page.locator('.field-error:not([hidden])').count() == 0
    model = json.loads(page.locator("#initial-state").text_content())["request"]["model"]
    want = call("infer", {"model": model, "weights": "q4_k_m", "context": 8192})
    assert want["request"]["runtime"] == "llamacpp"
    assert page.locator(TOTAL).get_attribute("data-bytes") == str(want["total_bytes"])
    # the page's own link for it names the runtime, as before
    page.locator("#f-context").dispatch_event("change")
    expect(page).to_have_url(f"{server}/?weights=q4_k_m&context=8192&runtime=llamacpp")
    assert watched.watched_errors == []


def test_the_page_embeds_the_schema_and_renders_its_controls_from_it(page, server):
    page.goto(server + "/")
    assert json.loads(page.locator("#form-schema").text_content()) == json.loads(
        json.dumps(page_schema())
    )
    lo, hi = INT_RANGES["context"]
    expect(page.locator("#f-context")).to_have_attribute("min", str(lo))
    expect(page.locator("#f-context")).to_have_attribute("max", str(hi))
    kv = page.locator("#f-kv option").evaluate_all("os => os.map((o) => o.value)")
    fields = {f["key"]: f for f in page_schema()["fields"]}
    assert kv == fields["kv_dtype"]["choices"]
    # the page's own training start values (written in the schema, with the reason)
    expect(page.locator("#f-method")).to_have_value("lora")
    expect(page.locator("#f-optimizer")).to_have_value("auto")


def test_old_mode_words_in_a_link_still_open_the_right_mode(page, server):
    page.goto(f"{server}/?mode=training&method=qlora&lora_rank=8")
    expect(page.locator('input[name="mode"][value="finetune"]')).to_be_checked()
    expect(page.locator("#f-method")).to_have_value("qlora")
    expect(page.locator("#f-rank")).to_have_value("8")
    page.goto(f"{server}/?mode=inference&context=8192")
    expect(page.locator('input[name="mode"][value="infer"]')).to_be_checked()
    expect(page.locator("#f-context")).to_have_value("8192")
