"""The Chinese site (/zh/) in Debian Chromium: links the browser makes (share link, presets,
the URL state) stay under /zh/, the methodology is Chinese, the language picker leaves a
/zh/ page for its English twin, and offline navigations fall back to the Chinese page."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.browser.conftest import wait_until_controlled

READY = "html[data-engine=ready]"
FEATURES = "html[data-features=ready]"
ENGINE_START_MS = 90_000
HAN = re.compile(r"[\u4e00-\u9fff]")


def test_share_and_preset_links_stay_under_zh(page, server):
    page.goto(f"{server}/zh/?model=llama-3.2-1b")
    page.wait_for_selector(READY, timeout=ENGINE_START_MS)
    page.wait_for_selector(FEATURES)
    share = page.locator("#share-link")
    expect(share).to_have_attribute("href", re.compile(r"^/zh/\?.*model=llama-3\.2-1b"))
    expect(page.locator("#share-link")).to_have_text("本次计算的链接")  # the build's Chinese
    # a committed change rewrites the link and the URL, both still Chinese
    page.fill("#f-context", "8192")
    page.locator("#f-context").dispatch_event("change")
    expect(share).to_have_attribute("href", re.compile(r"^/zh/\?.*context=8192"))
    page.wait_for_url(re.compile(r"/zh/\?.*context=8192"))
    expect(page.locator("#share-url")).to_have_value(re.compile(rf"^{re.escape(server)}/zh/\?"))
    presets = page.locator("#preset-list a.preset")
    assert presets.count() >= 12
    hrefs = presets.evaluate_all("els => els.map((a) => a.getAttribute('href'))")
    assert all(h.startswith("/zh/?") for h in hrefs), hrefs
    presets.first.click()
    page.wait_for_url(re.compile(r"/zh/\?"))
    assert page.evaluate("location.pathname") == "/zh/"


def test_english_links_stay_english(page, server):
    page.goto(f"{server}/?model=llama-3.2-1b")
    page.wait_for_selector(FEATURES, timeout=ENGINE_START_MS)
    expect(page.locator("#share-link")).to_have_attribute("href", re.compile(r"^/\?"))
    hrefs = page.locator("#preset-list a.preset").evaluate_all(
        "els => els.map((a) => a.getAttribute('href'))"
    )
    assert hrefs and all(h.startswith("/?") for h in hrefs), hrefs


def test_zh_methodology_has_chinese_headings(page, server):
    page.goto(f"{server}/zh/methodology/")
    expect(page.locator("h1")).to_have_text("计算方法")
    expect(page.locator("h2#kv-cache")).to_have_text("KV 缓存")
    headings = page.locator("article h2").all_text_contents()
    assert len(headings) == 10 and all(HAN.search(h) for h in headings), headings
    links = page.locator("article a[href$='/accuracy/']")
    assert set(links.evaluate_all("els => els.map((a) => a.getAttribute('href'))")) == {
        "/zh/accuracy/"
    }


def test_language_picker_on_a_zh_page_opens_the_english_twin(page, server):
    page.goto(f"{server}/zh/?model=llama-3.2-1b")
    page.wait_for_selector(FEATURES, timeout=ENGINE_START_MS)
    label = page.locator('label[for="f-context"]')
    expect(label).to_have_text("上下文（token）")
    expect(page.locator("#lang-select")).to_have_value("zh-CN")
    page.select_option("#lang-select", "en")
    page.wait_for_url(f"{server}/?model=llama-3.2-1b")
    expect(label).to_have_text("Context (tokens)")
    assert page.evaluate("localStorage.getItem('vram-insight.lang')") == "en"
    # the stored choice does not turn a /zh/ page English: the URL names its language
    page.goto(f"{server}/zh/")
    page.wait_for_selector(FEATURES, timeout=ENGINE_START_MS)
    expect(label).to_have_text("上下文（token）")
    expect(page.locator("#lang-select")).to_have_value("zh-CN")


def test_offline_navigation_under_zh_gets_the_chinese_offline_page(context, server):
    page = context.new_page()
    page.goto(f"{server}/zh/")
    page.wait_for_selector(READY, timeout=ENGINE_START_MS)
    wait_until_controlled(page)
    context.set_offline(True)
    try:
        page.goto(f"{server}/zh/gpus/")  # never visited: the Chinese offline page
        expect(page.locator("h1")).to_have_text("你已离线")
        page.goto(f"{server}/gpus/rtx-4090/")  # /gpus/ itself is precached (issue 15)
        expect(page.locator("h1")).to_have_text("You are offline")
    finally:
        context.set_offline(False)


def test_result_line_and_engine_status_are_chinese(page, server):
    page.goto(f"{server}/zh/?model=llama-3.2-1b")
    page.wait_for_selector(READY, timeout=ENGINE_START_MS)
    expect(page.locator("#engine-message")).to_contain_text("已就绪")
    page.fill("#f-context", "8192")
    meta = page.locator("#result-meta")
    expect(meta).to_contain_text("8,192 上下文")  # the catalog's word order, as the build writes it
    expect(meta).to_contain_text("批大小 1")
    expect(meta).not_to_contain_text("context")


def test_presets_are_listed_in_chinese(page, server):
    page.goto(f"{server}/zh/")
    page.wait_for_selector(FEATURES)
    titles = page.locator("#preset-list a.preset strong")
    assert titles.count() >= 12
    texts = titles.all_text_contents() + page.locator(".preset-desc").all_text_contents()
    assert all(HAN.search(t) for t in texts), [t for t in texts if not HAN.search(t)]
