"""The calculator shows the engine's training solver (issue 12): for a chosen GPU, the
longest sequence and the largest micro-batch that fit, as `vram fit-train` reports them."""

from __future__ import annotations

from playwright.sync_api import expect

from engine.api import call
from engine.units import format_tokens

READY = "html[data-engine=ready]"


def test_recommendation_shows_longest_sequence_and_micro_batch(browser, server):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.goto(server + "/?mode=finetune&method=qlora&model=llama-3.2-1b&gpu=rtx-4090")
    page.wait_for_selector(READY, timeout=90_000)
    page.click("#recommend summary")
    expect(page.locator("#recommend")).to_have_attribute("data-state", "ready", timeout=30_000)
    solved = call(
        "fit", {"mode": "training", "model": "llama-3.2-1b", "method": "qlora", "gpu": "rtx-4090"}
    )["gpu"]
    assert solved["max_seq_len"] > 2048 and solved["max_micro_batch"] >= 1
    expect(page.locator("#recommend-chosen")).to_contain_text(
        f"Longest sequence {format_tokens(solved['max_seq_len'])} tokens, "
        f"largest micro-batch {solved['max_micro_batch']}."
    )
    context.close()
