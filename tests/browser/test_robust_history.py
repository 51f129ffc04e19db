"""History is the user's data (issue 13): a malformed stored entry is set aside while the good
ones and every other feature keep working; holding ArrowUp on Context is one entry; a double
click on Delete deletes one entry; "Clear history" can be undone."""

from __future__ import annotations

import json

from playwright.sync_api import expect

from engine.api import call

READY = "html[data-engine=ready]"
TOTAL = '#result-body [data-role="total"]'
ENGINE_START_MS = 90_000
KEY = "vram-insight.history"
ITEMS = "#history-list li"


def total(op: str, args: dict) -> str:
    return str(call(op, args)["total_bytes"])


def good_entry(entry_id: str) -> dict:
    return {
        "id": entry_id,
        "at": 1767225600000,
        "label": f"kept {entry_id}",
        "mode": "inference",
        "state": {"mode": "infer", "model": "llama-3.2-1b"},
        "model": {"name": "Llama 3.2 1B"},
        "request": {},
        "total_bytes": 123,
        "per_gpu_bytes": 123,
        "gpu_count": 1,
        "components": {},
    }


def seed(context, value: str) -> None:
    """Put ``value`` under the history key once, before the first page of the context loads."""
    context.add_init_script(
        f"if (!sessionStorage.getItem('seeded')) {{ sessionStorage.setItem('seeded', '1');"
        f" localStorage.setItem('{KEY}', {json.dumps(value)}); }}"
    )


def open_page(context, server: str, query: str = "?model=llama-3.2-1b&context=2048"):
    page = context.new_page()
    page.errors = []
    page.on("pageerror", lambda e: page.errors.append(str(e)))
    page.goto(f"{server}/{query}")
    page.wait_for_selector(READY, timeout=ENGINE_START_MS)
    page.wait_for_selector("html[data-features=ready]")
    return page


def settle_empty(page) -> None:
    """Wait for the page's first calculation to be recorded, then clear the list."""
    expect(page.locator(ITEMS)).not_to_have_count(0, timeout=30_000)
    page.click("#history-clear")
    expect(page.locator(ITEMS)).to_have_count(0)


def test_a_null_entry_is_set_aside_and_every_feature_still_starts(browser, server):
    context = browser.new_context()
    stored = {"schema": 1, "entries": [None, good_entry("a"), {"id": 5}, good_entry("b")]}
    seed(context, json.dumps(stored))
    page = open_page(context, server)
    assert page.get_attribute("html", "data-features-failed") is None
    expect(page.locator(ITEMS).filter(has_text="kept a")).to_have_count(1)
    expect(page.locator(ITEMS).filter(has_text="kept b")).to_have_count(1)
    aside = page.evaluate(f"JSON.parse(localStorage.getItem('{KEY}.set-aside'))")
    assert [x["item"] for x in aside] == [None, {"id": 5}]
    # the other features are alive: presets listed, a preset applies, the share link is set
    expect(page.locator("#preset-list li").first).to_be_visible()
    assert page.locator("#share-url").input_value().startswith(server)
    assert page.errors == []
    context.close()


def test_unreadable_history_does_not_stop_the_page(browser, server):
    context = browser.new_context()
    seed(context, "{not json")
    page = open_page(context, server)
    assert page.get_attribute("html", "data-features-failed") is None
    expect(page.locator(ITEMS)).to_have_count(1, timeout=30_000)  # the page's own calculation
    aside = page.evaluate(f"JSON.parse(localStorage.getItem('{KEY}.set-aside'))")
    assert [x["item"] for x in aside] == ["{not json"]
    context.close()


def test_holding_arrow_up_on_context_stores_one_entry(browser, server):
    context = browser.new_context()
    page = open_page(context, server)
    expect(page.locator(ITEMS)).to_have_count(1, timeout=30_000)  # the page's calculation
    page.focus("#f-context")
    for _ in range(40):  # key repeat: one step per event, faster than the engine answers
        page.keyboard.press("ArrowUp")
    value = int(page.input_value("#f-context"))
    assert value > 2048
    args = {"model": "llama-3.2-1b", "weights": "bf16", "context": value, "batch": 1}
    expect(page.locator(TOTAL)).to_have_attribute("data-bytes", total("infer", args))
    page.wait_for_timeout(1000)  # past the settle time of the history
    expect(page.locator(ITEMS)).to_have_count(2)  # the first calculation, and one for the steps
    stored = page.evaluate(f"JSON.parse(localStorage.getItem('{KEY}'))")
    assert len(stored["entries"]) == 2 and int(stored["entries"][0]["state"]["context"]) == value
    assert int(stored["entries"][1]["state"]["context"]) == 2048
    context.close()


def test_double_click_on_delete_removes_one_entry_and_clear_can_be_undone(browser, server):
    context = browser.new_context()
    page = open_page(context, server)
    settle_empty(page)
    for model in ("qwen3-0.6b", "smollm2-135m", "gpt2"):
        page.select_option("#f-model", model)
        expect(page.locator(TOTAL)).to_have_attribute(
            "data-bytes", total("infer", {"model": model, "context": 2048}), timeout=30_000
        )
    expect(page.locator(ITEMS)).to_have_count(3)
    page.locator(ITEMS).first.locator(".history-delete").dblclick()
    expect(page.locator(ITEMS)).to_have_count(2)
    page.wait_for_timeout(500)
    assert len(page.evaluate(f"JSON.parse(localStorage.getItem('{KEY}'))")["entries"]) == 2
    # clear, then undo
    page.click("#history-clear")
    expect(page.locator(ITEMS)).to_have_count(0)
    page.click("#history-undo")
    expect(page.locator(ITEMS)).to_have_count(2)
    assert len(page.evaluate(f"JSON.parse(localStorage.getItem('{KEY}'))")["entries"]) == 2
    expect(page.locator("#history-undo")).to_have_count(0)
    context.close()
