"""Input change -> number (issue 16) in Debian Chromium: the panel is updated in place
(site/morph.js) to exactly present/'s HTML for the new result, nodes that stay the same are
kept (an opened assumptions list stays open), the features still follow each result, and
the performance panel's chart-drawing row is a measured figure."""

from __future__ import annotations

import json
import re

from playwright.sync_api import expect

from engine.api import call
from present.render import render
from tests.browser.conftest import PARSED

READY = "html[data-engine=ready]"
BODY = "#result-body"
TOTAL = '#result-body [data-role="total"]'
ENGINE_START_MS = 90_000
# the panel's HTML with the assumptions list closed, as present/ writes it
CLOSED_HTML = """(e) => {
    const c = e.cloneNode(true);
    c.querySelector("details.assumptions")?.removeAttribute("open");
    return c.innerHTML;
}"""


def set_context(page, tokens: int) -> None:
    before = page.locator(TOTAL).get_attribute("data-bytes") if page.locator(TOTAL).count() else ""
    page.fill("#f-context", str(tokens))
    expect(page.locator(TOTAL)).not_to_have_attribute("data-bytes", before)
    expect(page.locator(BODY)).to_have_attribute("data-state", "live")


def test_a_new_figure_updates_the_panel_in_place_to_present_html(browser, server):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(server + "/")
    page.wait_for_selector(READY, timeout=ENGINE_START_MS)
    page.wait_for_selector("html[data-features=ready]")
    model = json.loads(page.locator("#initial-state").text_content())["request"]["model"]
    # the baked figure's nodes are updated too (the template's line break is dropped)
    page.evaluate("document.querySelector('#result-body [data-role=total]').__kept = true")
    set_context(page, 5000)
    page.locator(f"{BODY} details.assumptions summary").click()
    for tokens in (6000, 7168, 9000):
        set_context(page, tokens)
        result = call("infer", {"model": model, "context": tokens})
        view = render(result, state="live")
        # the same DOM as a fresh parse of present/'s HTML, but the open list stays open
        panel = page.locator(BODY).evaluate(CLOSED_HTML)
        assert panel == page.evaluate(PARSED, view["panel_html"] + view["chart_html"])
        assert page.locator(TOTAL).get_attribute("data-bytes") == str(result["total_bytes"])
    assert page.evaluate("document.querySelector('#result-body [data-role=total]').__kept === true")
    expect(page.locator(f"{BODY} details.assumptions")).to_have_attribute("open", "")
    # the features still follow the figure: the share link and the history
    expect(page.locator("#share-url")).to_have_value(re.compile("context=9000"))
    # a structural change (a pasted config's error panel, then a figure again) still shows it
    page.fill("#f-context", "-5")
    expect(page.locator(BODY)).to_have_attribute("data-state", "error")
    set_context(page, 4096)
    view = render(call("infer", {"model": model, "context": 4096}), state="live")
    html = page.locator(BODY).evaluate("e => e.innerHTML")
    assert html == page.evaluate(PARSED, view["panel_html"] + view["chart_html"])
    # the performance panel's chart-drawing row is measured (the frame after each figure)
    page.locator("#perf summary").click()
    drawn = page.locator('#perf [data-metric="chart_median_ms"]')
    expect(drawn).not_to_have_attribute("data-value", "")
    assert float(drawn.get_attribute("data-value")) > 0
    assert not errors, errors
    context.close()
