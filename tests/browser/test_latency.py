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


# the total of each change, as it is written ahead of the rest of the panel (site/results.js
# showFigure), then the state the panel is in at that moment
FIGURES_JS = """async (values) => {
  const input = document.getElementById("f-context");
  const body = document.getElementById("result-body");
  const seen = [];
  for (const v of values) {
    const before = body.querySelector('[data-role="total"]').dataset.bytes;
    const shown = new Promise((resolve) => {
      const obs = new MutationObserver(() => {
        const total = body.querySelector('[data-role="total"]');
        if (total && total.dataset.bytes !== before) {
          obs.disconnect();
          resolve([total.dataset.bytes, total.textContent, body.dataset.state]);
        }
      });
      obs.observe(body, { subtree: true, childList: true, attributes: true, characterData: true });
    });
    input.value = String(v);
    input.dispatchEvent(new Event("input", { bubbles: true }));
    seen.push(await shown);
    while (body.dataset.state !== "live") await new Promise((r) => setTimeout(r, 5));
  }
  return seen;
}"""


def test_ready_means_live_figures_and_the_total_comes_first(browser, server):
    page = browser.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(server + "/")
    baked = page.locator(TOTAL).get_attribute("data-bytes")
    page.wait_for_selector(READY, timeout=ENGINE_START_MS)
    # ready: the engine's own figures replaced the baked ones (the same) and are on screen
    expect(page.locator(BODY)).to_have_attribute("data-state", "live")
    model = json.loads(page.locator("#initial-state").text_content())["request"]["model"]
    view = render(call("infer", {"model": model}), state="live")
    html = page.locator(BODY).evaluate("e => e.innerHTML")
    assert html == page.evaluate(PARSED, view["panel_html"] + view["chart_html"])
    assert page.locator(TOTAL).get_attribute("data-bytes") == baked
    # each change's total is on screen, as present/ writes it, while the panel is still
    # pending (the worker sends it before drawing the view); then the whole view follows
    seen = page.evaluate(FIGURES_JS, [5000, 6144])
    for (shown, text, state), tokens in zip(seen, (5000, 6144), strict=True):
        result = call("infer", {"model": model, "context": tokens})
        assert shown == str(result["total_bytes"])
        assert f'data-role="total">{text}</span>' in render(result)["panel_html"]
        assert state == "pending"
    assert not errors, errors
    page.close()
