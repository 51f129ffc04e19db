"""The calculator's everyday features (issue 4), end to end in Debian Chromium: the chart and
exports drawn by present/ in the worker (byte-identical with CPython), history and compare,
presets, share links, config files, dark mode, shortcuts, GPU recommendation, the
performance panel and the German/Chinese UI.

Most tests share one page (module scope) so the engine starts once; each test puts the
calculator into the state it needs through the UI or the URL."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from playwright.sync_api import expect

from engine.api import call
from present.export import export
from present.render import render

READY = "html[data-engine=ready]"
TOTAL = '#result-body [data-role="total"]'
ENGINE_START_MS = 90_000
ROOT = Path(__file__).resolve().parents[2]
LLAMA_1B = ROOT / "engine/data/models/llama-3.2-1b/config.json"


def total(op: str, args: dict) -> str:
    return str(call(op, args)["total_bytes"])


def slices(svg_owner) -> list[tuple[str, str]]:
    return svg_owner.locator(".slice").evaluate_all(
        "els => els.map((e) => [e.dataset.component, e.dataset.bytes])"
    )


def open_state(page, server, query: str) -> None:
    """Show a URL state in the already running calculator (no reload: the engine stays)."""
    page.evaluate(
        """(q) => {
            history.pushState(null, "", "/" + q);
            dispatchEvent(new PopStateEvent("popstate"));
        }""",
        query,
    )


@pytest.fixture(scope="module")
def calc(browser, server):
    """One calculator page for the module, engine started, history empty."""
    context = browser.new_context(viewport={"width": 1280, "height": 900}, accept_downloads=True)
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=server)
    page = context.new_page()
    page.errors = []
    page.on("console", lambda m: page.errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: page.errors.append(f"uncaught: {e}"))
    page.goto(server + "/")
    page.wait_for_selector(READY, timeout=ENGINE_START_MS)
    page.wait_for_selector("html[data-features=ready]")
    yield page
    context.close()


# ------------------------------------------------------------------ modes


def test_three_modes_each_with_its_own_fields(calc, server):
    page = calc
    open_state(page, server, "?model=qwen3-0.6b")
    page.check('input[name="mode"][value="train"]')
    base = {"model": "qwen3-0.6b", "seq": 2048, "batch": 1}
    expect(page.locator(TOTAL)).to_have_attribute(
        "data-bytes", total("train", {**base, "method": "full"})
    )
    for hidden in ("#f-weights", "#f-method", "#f-rank", "#f-alpha"):
        expect(page.locator(hidden)).to_be_hidden()
    expect(page.locator("#f-offload")).to_be_visible()
    page.check('input[name="mode"][value="finetune"]')
    expect(page.locator(TOTAL)).to_have_attribute(
        "data-bytes", total("train", {**base, "method": "lora"})
    )
    for shown in ("#f-method", "#f-rank", "#f-alpha", "#f-seq"):
        expect(page.locator(shown)).to_be_visible()
    page.select_option("#f-method", "qlora")
    page.uncheck('input[name="lora_targets"][value="gate"]')
    args = {**base, "method": "qlora", "lora_targets": ["q", "k", "v", "o", "up", "down"]}
    expect(page.locator(TOTAL)).to_have_attribute("data-bytes", total("train", args))
    assert "mode=finetune" in page.url and "method=qlora" in page.url
    page.select_option("#f-method", "full")
    expect(page.locator("#f-rank")).to_be_hidden()
    page.check('input[name="mode"][value="infer"]')
    expect(page.locator("#f-gmu")).to_be_hidden()
    page.select_option("#f-runtime", "vllm")
    expect(page.locator("#f-gmu")).to_be_visible()
    page.fill("#f-gmu", "0.5")
    args = {"model": "qwen3-0.6b", "runtime": "vllm", "gpu_memory_utilization": 0.5}
    expect(page.locator(TOTAL)).to_have_attribute("data-bytes", total("infer", args))


# ------------------------------------------------------------------ chart and exports


def test_baked_chart_is_the_python_chart(page, server):
    page.goto(server + "/")
    # before the engine is ready: the donut in the HTML is present.render of the baked result
    state = json.loads(page.locator("#initial-state").text_content())
    expected = render(call("infer", state["request"]))
    want = re.findall(r'data-component="(\w+)" data-bytes="(\d+)"', expected["donut_svg"])
    assert [tuple(s) for s in slices(page.locator("#chart-donut"))] == want
    paths = page.locator("#chart-donut path").evaluate_all(
        "els => els.map((e) => e.getAttribute('d'))"
    )
    assert paths == re.findall(r' d="([^"]+)"', expected["donut_svg"])
    assert page.locator("#chart-legend li").count() == len(want)


def test_without_javascript_the_chart_is_there_and_no_dead_controls(browser, server):
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    page.goto(server + "/")
    expect(page.locator(TOTAL)).to_be_visible()
    expect(page.locator("#chart-donut svg .slice").first).to_be_visible()
    expect(page.locator("#chart-legend li").first).to_be_visible()
    for panel in ("#presets", "#history", "#recommend", "#perf"):
        expect(page.locator(panel)).to_be_hidden()
    assert page.locator("#model-search").evaluate("e => getComputedStyle(e).visibility") == "hidden"
    context.close()


def test_live_chart_and_capacity_bar_come_from_present_in_the_worker(calc, server):
    page = calc
    open_state(
        page, server, "?model=llama-3.1-70b&weights=q4_k_m&runtime=llamacpp&gpu=rtx-4090&pp=2"
    )
    args = {
        "model": "llama-3.1-70b",
        "weights": "q4_k_m",
        "runtime": "llamacpp",
        "gpu": "rtx-4090",
        "pp": 2,
    }
    result = call("infer", args)
    expect(page.locator(TOTAL)).to_have_attribute("data-bytes", str(result["total_bytes"]))
    chart = page.locator("#chart")
    expect(chart).to_have_attribute("data-total", str(result["per_gpu_bytes"]))
    expect(chart).to_have_attribute("data-state", "live")
    components = [(k, str(v)) for k, v in result["components"].items() if v]
    assert sorted(map(tuple, slices(page.locator("#chart-donut")))) == sorted(components)
    bar = page.locator("#chart-capacity svg.capacity")
    fit = result["details"]["fit"]
    expect(bar).to_have_attribute("data-fits", "true")
    expect(bar).to_have_attribute("data-headroom-bytes", str(fit["headroom_bytes"]))
    expect(page.locator("#chart-capacity")).to_contain_text("2× GeForce RTX 4090")
    # the view the worker attaches to its reply is byte-identical to CPython's present.render
    live = page.evaluate(
        "(a) => window.__vramFeatures.client.request('infer', a).then((r) => r.view)", args
    )
    assert live == render(result, state="live")


def test_exports_download_present_output(calc, server):
    page = calc
    open_state(page, server, "?model=qwen3-8b&weights=q8_0&context=8192&runtime=llamacpp")
    result = call(
        "infer", {"model": "qwen3-8b", "weights": "q8_0", "context": 8192, "runtime": "llamacpp"}
    )
    expect(page.locator(TOTAL)).to_have_attribute("data-bytes", str(result["total_bytes"]))
    expect(page.locator("#chart")).to_have_attribute("data-total", str(result["per_gpu_bytes"]))
    # made by present/ in the worker when the button is clicked, not with every result
    expected = {kind: export(result, kind) for kind in ("json", "csv", "markdown")}
    for kind, suffix in (("json", ".json"), ("csv", ".csv"), ("markdown", ".md")):
        button = page.locator(f'[data-export="{kind}"]')
        expect(button).to_be_enabled()
        with page.expect_download() as info:
            button.click()
        download = info.value
        assert download.suggested_filename == f"vram-qwen3-8b-inference{suffix}"
        assert Path(download.path()).read_text(encoding="utf-8") == expected[kind], kind
    assert json.loads(expected["json"])["total_bytes"] == result["total_bytes"]


def test_print_stylesheet_makes_a_one_page_report(calc, server):
    page = calc
    page.emulate_media(media="print")
    try:
        for hidden in ("#calc", "#history", "#presets", ".result-actions", ".site-header"):
            expect(page.locator(hidden)).to_be_hidden()
        expect(page.locator("#chart")).to_be_visible()
        expect(page.locator("#print-settings")).to_contain_text("weights")
        pdf = page.pdf(format="A4")
    finally:
        page.emulate_media(media="screen")
    assert len(re.findall(rb"/Type\s*/Page[^s]", pdf)) == 1


# ------------------------------------------------------------------ history and compare


def test_every_calculation_is_saved_and_can_be_reopened_compared_and_deleted(calc, server):
    page = calc
    open_state(page, server, "?model=llama-3.2-1b")
    expect(page.locator(TOTAL)).to_have_attribute(
        "data-bytes", total("infer", {"model": "llama-3.2-1b"})
    )
    page.click("#history-clear")
    expect(page.locator("#history-list li")).to_have_count(0)
    page.select_option("#f-model", "mistral-7b-v0.1")
    a = total("infer", {"model": "mistral-7b-v0.1"})
    expect(page.locator(TOTAL)).to_have_attribute("data-bytes", a)
    page.select_option("#f-runtime", "llamacpp")
    expect(page.locator(TOTAL)).to_have_attribute(
        "data-bytes", total("infer", {"model": "mistral-7b-v0.1", "runtime": "llamacpp"})
    )
    page.select_option("#f-weights", "q4_k_m")
    b = total("infer", {"model": "mistral-7b-v0.1", "weights": "q4_k_m", "runtime": "llamacpp"})
    expect(page.locator(TOTAL)).to_have_attribute("data-bytes", b)
    items = page.locator("#history-list li")
    expect(items).to_have_count(3)
    expect(items.first).to_contain_text("Mistral 7B v0.1 · q4_k_m")
    expect(items.first.locator(".bytes")).to_have_attribute("data-bytes", b)
    assert items.first.locator("time").get_attribute("datetime").endswith("Z")
    # typing a number digit by digit is one more calculation, not five
    page.fill("#f-context", "")
    for digit in "16384":
        page.type("#f-context", digit)
    c = total(
        "infer",
        {"model": "mistral-7b-v0.1", "weights": "q4_k_m", "runtime": "llamacpp", "context": 16384},
    )
    expect(page.locator(TOTAL)).to_have_attribute("data-bytes", c)
    expect(items).to_have_count(4)
    expect(items.first.locator(".bytes")).to_have_attribute("data-bytes", c)
    # stored, versioned
    stored = page.evaluate("JSON.parse(localStorage.getItem('vram-insight.history'))")
    assert stored["schema"] == 1 and len(stored["entries"]) == 4
    # re-open the oldest entry (bf16, transformers): form, URL and figure come back
    items.nth(3).locator(".history-open").click()
    expect(page.locator("#f-weights")).to_have_value("bf16")
    expect(page.locator("#f-runtime")).to_have_value("transformers")
    expect(page.locator(TOTAL)).to_have_attribute("data-bytes", a)
    assert page.url.endswith("/?model=mistral-7b-v0.1")
    # compare it with the q4_k_m/llama.cpp entry
    expect(items).to_have_count(5)
    items.nth(0).locator(".compare-pick").check()
    items.nth(2).locator(".compare-pick").check()
    page.click("#compare-run")
    table = page.locator("#compare table")
    expect(table).to_be_visible()
    expect(table.locator('tr[data-row="request.weights"]')).to_have_attribute("data-diff", "true")
    expect(table.locator('tr[data-row="request.runtime"]')).to_have_attribute("data-diff", "true")
    expect(table.locator('tr[data-row="model"]')).to_have_attribute("data-diff", "false")
    expect(table.locator('tr[data-row="components.weights"]')).to_have_class(re.compile("diff"))
    cells = table.locator('tr[data-row="per_gpu_bytes"] td [data-bytes]')
    assert cells.evaluate_all("els => els.map((e) => e.dataset.bytes)") == [b, a]  # oldest first
    # delete one: list and storage shrink
    page.locator("#history-list li").first.locator(".history-delete").click()
    expect(page.locator("#history-list li")).to_have_count(4)
    assert (
        len(page.evaluate("JSON.parse(localStorage.getItem('vram-insight.history'))")["entries"])
        == 4
    )


def test_history_survives_a_reload_and_migrates_old_data(browser, server):
    context = browser.new_context()
    # schema 0 (pre-release): a bare array without ids
    old = [
        {
            "at": 1767225600000,
            "label": "old entry",
            "mode": "inference",
            "total_bytes": 123,
            "state": {"mode": "infer", "model": "llama-3.2-1b"},
        }
    ]
    context.add_init_script(
        f"if (!sessionStorage.getItem('seeded')) {{ sessionStorage.setItem('seeded', '1');"
        f" localStorage.setItem('vram-insight.history', {json.dumps(json.dumps(old))}); }}"
    )
    page = context.new_page()
    page.goto(server + "/")
    item = page.locator("#history-list li")
    expect(item).to_have_count(1)
    expect(item.first).to_contain_text("old entry")
    assert item.first.get_attribute("data-id")
    expect(item.first.locator(".bytes")).to_have_attribute("data-bytes", "123")
    page.wait_for_selector(READY, timeout=ENGINE_START_MS)
    expect(item).to_have_count(2)  # the page's own calculation joined it
    stored = page.evaluate("JSON.parse(localStorage.getItem('vram-insight.history'))")
    assert stored["schema"] == 1 and stored["entries"][1]["label"] == "old entry"
    page.reload()
    expect(page.locator("#history-list li")).to_have_count(2)
    context.close()


# ------------------------------------------------------------------ presets and sharing


def test_presets_are_one_click_away(calc, server):
    page = calc
    presets = call("presets")
    assert page.locator("#preset-list a.preset").count() == len(presets) >= 12
    for pid in (
        "llama-3.1-70b-q4km-32k-2x-rtx-4090",
        "qlora-mistral-7b-t4",
        "gemma-3-27b-128k",
        "full-ft-qwen3-0.6b-rtx-4090",
    ):
        preset = next(p for p in presets if p["id"] == pid)
        page.click(f'a.preset[data-preset="{pid}"]')
        op = "infer" if preset["mode"] == "inference" else "train"
        expected = total(op, {"model": preset["model"], **preset["args"]})
        expect(page.locator(TOTAL)).to_have_attribute("data-bytes", expected)
        expect(page.locator("#f-model")).to_have_value(preset["model"])


def test_share_link_reproduces_the_calculation(calc, server, browser):
    page = calc
    open_state(
        page, server, "?model=gemma-2-9b-it&weights=q6_k&runtime=llamacpp&context=8192&batch=2"
    )
    args = {
        "model": "gemma-2-9b-it",
        "weights": "q6_k",
        "runtime": "llamacpp",
        "context": 8192,
        "batch": 2,
    }
    expect(page.locator(TOTAL)).to_have_attribute("data-bytes", total("infer", args))
    page.click("#share-copy")
    expect(page.locator("#share-status")).to_have_text("Link copied")
    link = page.evaluate("navigator.clipboard.readText()")
    assert link == page.locator("#share-url").input_value()
    other = browser.new_page()
    other.goto(link)
    other.wait_for_selector(READY, timeout=ENGINE_START_MS)
    expect(other.locator(TOTAL)).to_have_attribute("data-bytes", total("infer", args))
    other.close()


def test_share_link_carries_a_pasted_config(calc, server, browser):
    page = calc
    config = LLAMA_1B.read_text()
    open_state(page, server, "?model=llama-3.1-8b")
    page.select_option("#f-model", "custom")
    page.fill("#f-config", config)
    expected = total("infer", {"config": config})
    expect(page.locator(TOTAL)).to_have_attribute("data-bytes", expected)
    link = page.locator("#share-url").input_value()
    assert "model=custom" in link and "cfg=" in link
    other = browser.new_page()
    other.goto(link)
    other.wait_for_selector(READY, timeout=ENGINE_START_MS)
    expect(other.locator(TOTAL)).to_have_attribute("data-bytes", expected)
    assert json.loads(other.locator("#f-config").input_value()) == json.loads(config)
    other.close()


def test_web_share_api_is_used_where_available(browser, server):
    context = browser.new_context()
    # Chromium on Linux has no navigator.share: stand in for the platform's share sheet
    context.add_init_script("navigator.share = async (data) => { window.__shared = data; };")
    page = context.new_page()
    page.goto(server + "/?model=qwen3-4b&context=8192")
    page.wait_for_selector("html[data-features=ready]")
    button = page.locator("#share-native")
    expect(button).to_be_visible()
    button.click()
    page.wait_for_function("window.__shared !== undefined")
    shared = page.evaluate("window.__shared")
    assert shared["url"] == f"{server}/?model=qwen3-4b&context=8192"
    assert shared["url"] == page.locator("#share-url").input_value()
    context.close()


# ------------------------------------------------------------------ config.json files


def test_config_file_upload_and_drop(calc, server, tmp_path):
    page = calc
    open_state(page, server, "?model=llama-3.1-8b")
    good = tmp_path / "config.json"
    good.write_text(LLAMA_1B.read_text())
    page.select_option("#f-model", "custom")
    page.set_input_files("#f-config-file", str(good))
    expected = total("infer", {"config": LLAMA_1B.read_text()})
    expect(page.locator(TOTAL)).to_have_attribute("data-bytes", expected)
    # an unsupported architecture: the engine's message, beside the config field
    page.evaluate(
        """(text) => {
        const dt = new DataTransfer();
        dt.items.add(new File([text], "config.json", { type: "application/json" }));
        const drop = new DragEvent("drop", { dataTransfer: dt, bubbles: true, cancelable: true });
        document.getElementById("calc").dispatchEvent(drop);
    }""",
        json.dumps({"model_type": "mamba", "hidden_size": 768}),
    )
    error = page.locator('[data-error-for="config"]')
    expect(error).to_contain_text("model_type 'mamba' is not supported")
    expect(page.locator('[data-error-for="model"]')).to_be_hidden()
    # malformed JSON: where it breaks
    page.fill("#f-config", '{"model_type": "llama",')
    expect(error).to_contain_text("not valid JSON")
    expect(page.locator("#f-config")).to_have_attribute("aria-invalid", "true")
    # no figure of the last good config stays on screen: the panel says what is wrong (issue 13)
    expect(page.locator("#result-body [data-bytes]")).to_have_count(0)
    expect(page.locator('#result-body [data-role="problem"]')).to_contain_text("not valid JSON")


# ------------------------------------------------------------------ recommendation and price


def test_gpu_recommendation_and_price_table(calc, server):
    page = calc
    open_state(
        page,
        server,
        "?model=llama-3.1-8b&weights=q4_k_m&runtime=llamacpp&context=8192&gpu=rtx-4090",
    )
    args = {
        "model": "llama-3.1-8b",
        "weights": "q4_k_m",
        "runtime": "llamacpp",
        "context": 8192,
        "gpu": "rtx-4090",
    }
    expect(page.locator(TOTAL)).to_have_attribute("data-bytes", total("infer", args))
    report = call("fit", args)
    page.click("#recommend summary")
    rows = page.locator("#recommend-table tbody tr")
    expect(rows).to_have_count(len(report["options"]))
    first = report["options"][0]
    expect(rows.first).to_have_attribute("data-gpu", first["gpu"])
    cell = rows.first.locator("td").nth(2).locator("[data-bytes]")  # headroom
    expect(cell).to_have_attribute("data-bytes", str(first["headroom_bytes"]))
    expect(page.locator("#recommend-chosen")).to_contain_text(
        f"largest batch {report['gpu']['max_batch']}"
    )
    # sort by price per GiB (engine figures), unknown prices last
    page.click('#recommend-table button[data-key="price_per_gib_usd"]')
    values = page.locator("#recommend-table tbody tr td:nth-child(8)").evaluate_all(
        "els => els.map((e) => e.dataset.value)"
    )
    known = [float(v) for v in values if v]
    assert known == sorted(known) and values[len(known) :] == [""] * (len(values) - len(known))
    expect(page.locator('#recommend-table th[aria-sort="ascending"]')).to_have_count(1)
    page.click('#recommend-table button[data-key="price_per_gib_usd"]')
    expect(page.locator('#recommend-table th[aria-sort="descending"]')).to_have_count(1)
    # one click puts an option into the calculator
    page.locator(f'#recommend-table tr[data-gpu="{first["gpu"]}"] .use-gpu').click()
    expect(page.locator("#f-gpu")).to_have_value(first["gpu"])
    used = {**args, "gpu": first["gpu"], "tp": first["tp"], "pp": first["pp"]}
    expect(page.locator(TOTAL)).to_have_attribute("data-bytes", total("infer", used))
    page.click("#recommend summary")  # close it again


# ------------------------------------------------------------------ keyboard, theme, perf


def test_keyboard_shortcuts(calc, server):
    page = calc
    open_state(page, server, "?model=llama-3.1-8b")
    expect(page.locator(TOTAL)).to_have_attribute(
        "data-bytes", total("infer", {"model": "llama-3.1-8b"})
    )
    page.locator("h1").click()
    page.keyboard.press("2")
    expect(page.locator('input[name="mode"][value="train"]')).to_be_checked()
    expect(page.locator("#f-seq")).to_be_visible()
    page.keyboard.press("1")
    expect(page.locator('input[name="mode"][value="infer"]')).to_be_checked()
    # not while typing: a "2" typed into the context field stays there
    page.fill("#f-context", "")
    page.type("#f-context", "2")
    expect(page.locator('input[name="mode"][value="infer"]')).to_be_checked()
    expect(page.locator("#f-context")).to_have_value("2")
    page.fill("#f-context", "4096")
    page.locator("h1").click()
    page.keyboard.press("?")
    dialog = page.locator("#shortcuts-dialog")
    expect(dialog).to_be_visible()
    expect(dialog.locator("kbd")).to_have_count(10)
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    page.keyboard.press("/")
    expect(page.locator("#model-search")).to_be_focused()
    page.keyboard.type("qwen3 8b")
    page.keyboard.press("Enter")
    expect(page.locator("#f-model")).to_have_value("qwen3-8b")
    expect(page.locator(TOTAL)).to_have_attribute(
        "data-bytes", total("infer", {"model": "qwen3-8b", "context": 4096})
    )
    page.locator("h1").click()
    page.keyboard.press("h")
    expect(page.locator("#history")).to_be_focused()
    page.keyboard.press("s")
    expect(page.locator("#share-status")).to_have_text("Link copied")
    assert "model=qwen3-8b" in page.evaluate("navigator.clipboard.readText()")


def test_dark_mode_follows_the_system_with_a_persisted_override(browser, server):
    context = browser.new_context(color_scheme="dark")
    page = context.new_page()
    page.goto(server + "/models/")
    bg = "getComputedStyle(document.body).backgroundColor"
    assert page.evaluate(bg) == "rgb(11, 16, 32)"
    toggle = page.locator("#theme-toggle")
    toggle.click()  # system -> light
    expect(page.locator("html")).to_have_attribute("data-theme", "light")
    assert page.evaluate(bg) == "rgb(255, 255, 255)"
    page.goto(server + "/gpus/")  # another page, same choice, applied before first paint
    assert page.evaluate("document.documentElement.dataset.theme") == "light"
    page.locator("#theme-toggle").click()  # light -> dark
    assert page.evaluate(bg) == "rgb(11, 16, 32)"
    page.locator("#theme-toggle").click()  # dark -> system (dark here)
    expect(page.locator("html")).not_to_have_attribute("data-theme", re.compile("."))
    assert page.evaluate("localStorage.getItem('vram-insight.theme')") is None
    context.close()


def test_performance_panel_and_no_beacon_by_default(calc, server):
    page = calc
    page.locator("h1").click()
    page.keyboard.press("p")
    panel = page.locator("#perf")
    expect(panel).to_have_attribute("open", "")
    assert float(panel.locator('[data-metric="engine_start_ms"]').get_attribute("data-value")) > 0
    assert int(panel.locator('[data-metric="calculations"]').get_attribute("data-value")) >= 5
    assert float(panel.locator('[data-metric="calc_median_ms"]').get_attribute("data-value")) > 0
    assert panel.locator('[data-metric="lcp_ms"]').get_attribute("data-value") != ""
    expect(panel).to_contain_text("Nothing is sent anywhere")
    assert page.evaluate("window.__vramPerf.endpoint") == ""
    page.keyboard.press("p")
    expect(panel).not_to_have_attribute("open", "")


def test_beacon_is_sent_only_when_the_build_names_an_endpoint(browser, server):
    context = browser.new_context(service_workers="block")  # so the route sees config.js
    page = context.new_page()
    beacons = []
    page.on("request", lambda r: beacons.append(r) if r.url.endswith("/beacon") else None)

    def configured(route):  # the config.js a build with VRAM_ANALYTICS_URL=/beacon writes
        body = route.fetch().text().replace('ANALYTICS_URL = ""', 'ANALYTICS_URL = "/beacon"')
        route.fulfill(body=body, content_type="text/javascript")

    hide = """() => { Object.defineProperty(document, "visibilityState", { value: "hidden" });
        document.dispatchEvent(new Event("visibilitychange")); }"""
    page.goto(server + "/")
    page.wait_for_selector("html[data-features=ready]")
    page.evaluate(hide)
    page.wait_for_timeout(300)
    assert beacons == []  # default build: nothing leaves the browser
    page.route("**/assets/config.*.js", configured)
    page.goto(server + "/?reload=1")
    page.wait_for_selector("html[data-features=ready]")
    assert page.evaluate("window.__vramPerf.endpoint") == "/beacon"
    with page.expect_request("**/beacon") as info:
        page.evaluate(hide)
    payload = json.loads(info.value.post_data)
    assert payload["v"] == 1 and "lcp_ms" in payload and "calc_median_ms" in payload
    assert not any(k in payload for k in ("model", "config", "request"))  # no inputs, no results
    context.close()


# ------------------------------------------------------------------ layout and accessibility


def test_every_control_has_a_label_and_the_page_fits_a_phone(browser, server):
    context = browser.new_context(viewport={"width": 360, "height": 740})
    page = context.new_page()
    page.goto(server + "/?mode=train&method=lora")
    page.wait_for_selector("html[data-features=ready]")
    unlabeled = page.evaluate("""() => [...document.querySelectorAll(
            "main input, main select, main textarea, main button")]
        .filter((e) => !(e.labels && e.labels.length) && !e.getAttribute("aria-label")
                       && !e.textContent.trim() && e.type !== "hidden")
        .map((e) => e.outerHTML.slice(0, 80))""")
    assert unlabeled == []
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0
    context.close()


CONTRAST = """() => {
    const rgb = (c) => (c.match(/[\\d.]+/g) || []).map(Number);
    const lum = ([r, g, b]) => {
        const f = (v) => (v <= 10.03 ? v / 255 / 12.92 : ((v / 255 + 0.055) / 1.055) ** 2.4);
        return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b);
    };
    const bg = (el) => {
        for (; el; el = el.parentElement) {
            const c = rgb(getComputedStyle(el).backgroundColor);
            if (c.length === 3 || c[3] > 0) return c.slice(0, 3);
        }
        return [255, 255, 255];
    };
    const worst = [];
    const sel = "main label, main legend, main p, main a, main button, main th, main td, main li," +
        " main .hint, main .status, main summary, main h1, main h2, .site-header a";
    for (const el of document.querySelectorAll(sel)) {
        if (!el.offsetParent || !el.textContent.trim() || el.disabled) continue;
        const a = lum(rgb(getComputedStyle(el).color)), b = lum(bg(el));
        const ratio = (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
        if (ratio < 4.5) worst.push(`${el.tagName}.${el.className} ${ratio.toFixed(2)}`);
    }
    return worst;
}"""


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_text_contrast_meets_wcag_aa(browser, server, scheme):
    context = browser.new_context(color_scheme=scheme)
    page = context.new_page()
    page.goto(server + "/?model=qwen3-8b&gpu=rtx-4090")
    page.wait_for_selector("html[data-features=ready]")
    assert page.evaluate(CONTRAST) == []
    context.close()


def test_german_and_chinese_ui_switchable_and_remembered(calc, server):
    page = calc
    context_label = page.locator('label[for="f-context"]')
    page.select_option("#lang-select", "de")
    expect(context_label).to_have_text("Kontext (Tokens)")
    expect(page.locator("html")).to_have_attribute("lang", "de")
    expect(page.locator("#history-title")).to_have_text("Verlauf")
    # text the modules write later is translated as it appears
    open_state(page, server, "?model=llama-3.2-1b&context=8192")
    expect(page.locator(TOTAL)).to_have_attribute(
        "data-bytes", total("infer", {"model": "llama-3.2-1b", "context": 8192})
    )
    expect(page.locator("#result-body .total-label")).to_have_text("Gesamt")
    expect(page.locator('#result-body tr[data-component="weights"] th')).to_have_text("Gewichte")
    expect(page.locator(".history-open").first).to_have_text("Öffnen")
    expect(page.locator("#model-search")).to_have_attribute("placeholder", "Modelle suchen …")
    page.reload()
    page.wait_for_selector(READY, timeout=ENGINE_START_MS)
    expect(context_label).to_have_text("Kontext (Tokens)")
    expect(page.locator("#engine-message")).to_contain_text("bereit")
    page.select_option("#lang-select", "zh-CN")
    expect(context_label).to_have_text("上下文（token）")
    expect(page.locator('input[name="mode"][value="finetune"]').locator("xpath=..")).to_have_text(
        " 微调"
    )
    # an engine message on screen is asked for again in the chosen language
    page.fill("#f-context", "0")
    error = page.locator('[data-error-for="context"]')
    expect(error).to_contain_text("至少")
    page.select_option("#lang-select", "en")
    expect(error).to_contain_text("context must be at least 1")
    page.fill("#f-context", "8192")
    expect(context_label).to_have_text("Context (tokens)")
    expect(page.locator("#result-body .total-label")).to_have_text("Total")
    assert page.evaluate("localStorage.getItem('vram-insight.lang')") == "en"


def test_no_console_errors_on_the_shared_page(calc):
    assert calc.errors == []
