"""Phone and first screen (issue 15): at 320, 390 and 768 px, light and dark, the answer
(total and fit line) stays in view while the form scrolls and no input hides under it; the
header is one row; mode labels do not wrap. Install action, offline index pages.
Screenshots of each width and theme go to test-artifacts/ (gitignored)."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import wait_until_controlled

READY = "html[data-engine=ready]"
TOTAL = '#result-body [data-role="total"]'
DOCK = '[data-role="dock"]'
SIZES = {320: 740, 390: 844, 768: 1024}


def _in_view(page, selector: str) -> bool:
    return page.locator(selector).first.evaluate(
        """(e) => { const r = e.getBoundingClientRect();
                    return r.height > 0 && r.top >= 0 && r.bottom <= innerHeight; }"""
    )


@pytest.mark.parametrize("scheme", ["light", "dark"])
@pytest.mark.parametrize("width", list(SIZES))
def test_the_answer_stays_in_view_on_small_screens(browser, server, artifacts, width, scheme):
    context = browser.new_context(
        viewport={"width": width, "height": SIZES[width]}, color_scheme=scheme
    )
    page = context.new_page()
    page.goto(server + "/?model=qwen3-8b&context=32768")
    page.wait_for_selector(READY, timeout=90_000)
    expect(page.locator(TOTAL)).to_be_visible()
    page.screenshot(path=str(artifacts / f"ux-{width}-{scheme}-first.png"))
    # the header is one row: no item sits below the first one's line
    tops = page.locator(".site-header > *:visible").evaluate_all(
        "els => els.map((e) => e.getBoundingClientRect().top)"
    )
    assert max(tops) - min(tops) < 24, tops
    # nothing makes the page scroll sideways; the menu button is on screen
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    # the section links are behind the menu, one tap away
    menu = page.locator(".menu-toggle")
    expect(menu).to_be_visible()
    assert _in_view(page, ".menu-toggle")
    box = page.locator(".menu-toggle").bounding_box()
    assert box["x"] + box["width"] <= width, box
    expect(page.locator("#site-nav a").first).to_be_hidden()
    menu.click()
    expect(page.locator('#site-nav a[href="/models/"]')).to_be_visible()
    page.keyboard.press("Escape")
    expect(page.locator("#site-nav a").first).to_be_hidden()
    # mode labels on one line each
    for label in page.locator("fieldset.modes label").all():
        box = label.bounding_box()
        assert box and box["height"] < 32, (label.inner_text(), box)
    # after load and after scrolling to the Context field: the total is in view
    assert _in_view(page, TOTAL) or _in_view(page, f"{DOCK} .total")
    page.locator("#f-context").scroll_into_view_if_needed()
    page.locator("#f-context").focus()
    answer = TOTAL if _in_view(page, TOTAL) else f"{DOCK} .total"
    assert _in_view(page, answer), answer
    if answer != TOTAL:  # the dock: the fit line too, and the field is not under it
        dock = page.locator(DOCK).bounding_box()
        field = page.locator("#f-context").bounding_box()
        assert field["y"] + field["height"] <= dock["y"] + 1, (field, dock)
        assert page.locator(DOCK).inner_text().strip()
    page.screenshot(path=str(artifacts / f"ux-{width}-{scheme}-context.png"))
    context.close()


def test_the_dock_mirrors_the_panel_and_a_tap_shows_the_breakdown(browser, server):
    context = browser.new_context(viewport={"width": 390, "height": 844})
    page = context.new_page()
    page.goto(server + "/?model=qwen3-8b&gpu=rtx-4090")
    page.wait_for_selector(READY, timeout=90_000)
    dock = page.locator(DOCK)
    expect(dock).to_be_visible()
    assert dock.locator(".total").inner_text() == page.locator(TOTAL).inner_text()
    assert dock.locator("[data-role]").count() == 0  # a copy, never a second role element
    expect(dock.locator(".capacity")).to_have_attribute("data-fits", "true")
    before = page.locator(TOTAL).inner_text()
    page.fill("#f-context", "131072")
    expect(page.locator(TOTAL)).not_to_have_text(before)  # the new figure is on screen
    expect(dock.locator(".total")).to_have_text(page.locator(TOTAL).inner_text())
    dock.click()
    expect(dock).to_be_hidden()  # the panel's own total is in view now
    assert _in_view(page, TOTAL)
    context.close()


def test_install_button_follows_the_browser_prompt(browser, server):
    context = browser.new_context(viewport={"width": 390, "height": 844})
    page = context.new_page()
    page.goto(server + "/")
    button = page.locator("#install-app")
    expect(button).to_be_hidden()
    page.evaluate(
        """() => {
            const e = new Event("beforeinstallprompt", { cancelable: true });
            window.prompted = 0;
            e.prompt = () => { window.prompted += 1; };
            e.userChoice = Promise.resolve({ outcome: "accepted" });
            dispatchEvent(e);
        }"""
    )
    expect(button).to_be_visible()
    button.click()
    expect(button).to_be_hidden()
    assert page.evaluate("window.prompted") == 1
    context.close()


def test_ios_gets_a_how_to_instead(browser, server):
    context = browser.new_context(
        viewport={"width": 390, "height": 844},
        user_agent="Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 "
        "(KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1",
    )
    page = context.new_page()
    page.goto(server + "/")
    expect(page.locator("#install-app")).to_be_visible()
    page.click("#install-app")
    expect(page.locator("#install-howto")).to_contain_text("Add to Home Screen")
    context.close()


def test_index_pages_are_offline_after_the_first_visit(browser, server):
    context = browser.new_context()
    page = context.new_page()
    page.goto(server + "/")
    page.wait_for_selector(READY, timeout=90_000)
    wait_until_controlled(page)
    context.set_offline(True)
    try:
        for path, heading in (
            ("/models/", "h1"), ("/gpus/", "h1"), ("/methodology/", "h1"), ("/accuracy/", "h1"),
        ):
            page.goto(server + path)
            expect(page.locator(heading).first).to_be_visible()
            assert "offline" not in page.url
            assert page.locator("main").inner_text().strip()
        # a page never visited: the offline page, with its language switch
        page.goto(server + "/models/llama-3.1-8b/")
        expect(page.locator(".lang-switch")).to_have_count(1)
    finally:
        context.set_offline(False)
    context.close()


def test_wide_screens_keep_the_links_and_no_menu(browser, server):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.goto(server + "/gpus/")
    expect(page.locator(".menu-toggle")).to_be_hidden()
    expect(page.locator('#site-nav a[href="/models/"]')).to_be_visible()
    context.close()
