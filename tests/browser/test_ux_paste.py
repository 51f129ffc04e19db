"""Pasting a config (issue 15): before anything is pasted the panel invites, with no JSON
error; a pasted config is named from the config itself, not "custom config"."""

from __future__ import annotations

import json

import pytest
from playwright.sync_api import expect

from engine.catalog import load_config

READY = "html[data-engine=ready]"


@pytest.fixture(scope="module")
def calc(browser, server):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.goto(server + "/")
    page.wait_for_selector(READY, timeout=90_000)
    yield page
    context.close()


def test_no_json_error_before_anything_is_pasted_then_the_configs_own_name(calc):
    page = calc
    page.select_option("#f-model", "custom")
    expect(page.locator('#result-body [data-role="pending"]')).to_contain_text("Paste a model")
    expect(page.locator('[data-error-for="config"]')).to_be_hidden()
    assert "JSON" not in page.locator("#result-body").inner_text()
    config = {k: v for k, v in load_config("qwen3-0.6b").items() if k != "_name_or_path"}
    page.fill("#f-config", json.dumps(config))
    expect(page.locator('#result-body [data-role="total"]')).to_be_visible()
    expect(page.locator("#result-meta")).to_contain_text("Qwen3ForCausalLM")
    page.fill("#f-config", json.dumps({**config, "_name_or_path": "me/my-model"}))
    expect(page.locator("#result-meta")).to_contain_text("me/my-model")
    page.fill("#f-config", "")
    expect(page.locator('#result-body [data-role="pending"]')).to_contain_text("Paste a model")
    expect(page.locator('[data-error-for="config"]')).to_be_hidden()


def test_a_link_may_spell_the_kv_dtype_as_llama_cpp_does(browser, server):
    from engine.api import call

    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.goto(server + "/?model=qwen3-0.6b&weights=q4_k_m&runtime=llamacpp&kv_dtype=f16")
    page.wait_for_selector(READY, timeout=90_000)
    expect(page.locator("#f-kv")).to_have_value("fp16")  # the form's name for it
    args = {"model": "qwen3-0.6b", "weights": "q4_k_m", "runtime": "llamacpp", "kv_dtype": "fp16"}
    expect(page.locator('#result-body [data-role="total"]')).to_have_attribute(
        "data-bytes", str(call("infer", args)["total_bytes"])
    )
    context.close()
