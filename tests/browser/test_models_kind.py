"""The models index's architecture filter offers the engine's tags (ModelSpec.kind) with
translatable labels, and a tag matches every model that has it among others."""

from __future__ import annotations

from playwright.sync_api import expect

from engine.catalog import list_models, load_model


def test_kind_filter_matches_any_tag(page, server):
    page.goto(server + "/models/")
    kind = page.locator("#mi-kind")
    expect(kind.locator("option")).to_have_count(5)  # "—" and the four tags
    expect(kind.locator('option[value="hybrid"]')).to_have_text("Hybrid (recurrent layers)")
    kind.select_option("hybrid")
    hybrid = sorted(e.slug for e in list_models() if "hybrid" in load_model(e.slug).kind)
    assert "qwen3-next-80b-a3b-instruct" in hybrid and "qwen3.5-9b" in hybrid
    rows = page.locator("#models-table tbody tr:visible")
    expect(rows).to_have_count(len(hybrid))
    shown = rows.evaluate_all("rows => rows.map((r) => r.dataset.slug)")
    assert sorted(shown) == hybrid
    kind.select_option("dense")
    row = 'tr:visible[data-slug="{}"]'
    table = page.locator("#models-table tbody")
    expect(table.locator(row.format("qwen3-vl-8b-instruct"))).to_have_count(0)
    expect(table.locator(row.format("llama-3.1-8b"))).to_have_count(1)
