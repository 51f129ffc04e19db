"""Compare and print show only the settings that apply (issue 15): no LoRA rank for a full
fine-tune, no KV dtype for training; a row is highlighted only when applicable values
differ; two to four entries side by side, each with a stacked bar of its components."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from engine.api import call

READY = "html[data-engine=ready]"

CASES = [
    ("train", {"model": "qwen3-0.6b", "method": "full"}, {"mode": "train"}),
    ("train", {"model": "qwen3-0.6b", "method": "lora"}, {"mode": "finetune", "method": "lora"}),
    ("train", {"model": "qwen3-0.6b", "method": "lora", "lora_rank": 64},
     {"mode": "finetune", "method": "lora", "lora_rank": 64}),
    ("infer", {"model": "qwen3-0.6b"}, {"mode": "infer"}),
    ("infer", {"model": "qwen3-0.6b", "context": 8192}, {"mode": "infer", "context": 8192}),
]


def _entry(i: int, op: str, args: dict, state: dict) -> dict:
    r = call(op, args)
    return {
        "id": f"t{i}", "at": 1_700_000_000_000 + i * 60_000, "label": f"case {i}",
        "mode": r["mode"], "state": {"model": args["model"], **state}, "model": r["model"],
        "request": r["request"], "total_bytes": r["total_bytes"],
        "per_gpu_bytes": r["per_gpu_bytes"], "gpu_count": len(r["gpu_bytes"]),
        "components": r["components"],
    }


@pytest.fixture(scope="module")
def history_page(browser, server):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.goto(server + "/")
    entries = [_entry(i, *c) for i, c in enumerate(CASES)][::-1]  # newest first
    page.evaluate(
        "(d) => localStorage.setItem('vram-insight.history', JSON.stringify(d))",
        {"schema": 1, "entries": entries},
    )
    page.reload()
    page.wait_for_selector(READY, timeout=90_000)
    page.wait_for_selector("html[data-features=ready]")
    # the page's own calculation settles into history too: wait for it, so the list does
    # not redraw under the checkboxes the tests tick
    expect(page.locator("#history-list")).to_have_attribute(
        "data-count", str(len(CASES) + 1), timeout=10_000
    )
    yield page
    context.close()


def _compare(page, ids: list[str]):
    for box in page.locator("#history-list .compare-pick").all():
        box.set_checked(box.get_attribute("value") in ids)
    page.click("#compare-run")
    table = page.locator("#compare table")
    expect(table).to_be_visible()
    return table


def test_full_fine_tune_has_no_lora_rank_and_only_real_differences_highlight(history_page):
    table = _compare(history_page, ["t0", "t1"])  # full vs LoRA
    rank = table.locator('tr[data-row="request.lora_rank"]')
    expect(rank.locator("td").first).to_have_text("—")  # full: does not apply
    expect(rank).to_have_attribute("data-diff", "false")  # one value only: no difference
    expect(table.locator('tr[data-row="request.double_quant"]')).to_have_count(0)
    expect(table.locator('tr[data-row="request.method"]')).to_have_attribute("data-diff", "true")
    table = _compare(history_page, ["t1", "t2"])  # rank 16 vs 64
    expect(table.locator('tr[data-row="request.lora_rank"]')).to_have_attribute("data-diff", "true")
    expect(table.locator('tr[data-row="request.lora_alpha"]')).to_have_attribute(
        "data-diff", "false"
    )


def test_training_beside_inference_has_no_kv_dtype_difference(history_page):
    table = _compare(history_page, ["t0", "t3"])
    kv = table.locator('tr[data-row="request.kv_dtype"]')
    expect(kv).to_have_attribute("data-diff", "false")
    expect(kv.locator("td").first).to_have_text("—")  # training: no KV dtype
    # nothing highlighted that is "—" against a value
    for row in table.locator("tr.diff").all():
        cells = row.locator("td").all_inner_texts()
        assert sum(c != "—" for c in cells) >= 2, (row.get_attribute("data-row"), cells)


def test_up_to_four_entries_each_with_a_stacked_bar(history_page):
    table = _compare(history_page, ["t0", "t1", "t2", "t3", "t4"])
    expect(table.locator("thead th[data-id]")).to_have_count(4)
    bars = table.locator('tr[data-row="stack"] .stack')
    expect(bars).to_have_count(4)
    expect(bars.first.locator("span[data-component]").first).to_be_visible()
    widths = bars.evaluate_all("els => els.map((e) => e.getBoundingClientRect().width)")
    assert max(widths) > 0 and len({round(w) for w in widths}) > 1  # one scale for all
