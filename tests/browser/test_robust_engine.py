"""The in-browser engine is never silently dead (issue 13): a runtime that cannot be
downloaded, a start that never ends, a worker killed mid-session and a hostile share link
each end in ``data-engine="error"`` (or a clean error beside the field), a message, and a
Retry that starts a fresh worker and keeps the form."""

from __future__ import annotations

import base64

from playwright.sync_api import expect

from engine.api import call

READY = "html[data-engine=ready]"
ERROR = "html[data-engine=error]"
TOTAL = '#result-body [data-role="total"]'
ENGINE_START_MS = 90_000


def engine_total(op: str, args: dict) -> str:
    return str(call(op, args)["total_bytes"])


def short_timeouts(page, **timeouts: int) -> None:
    pairs = ", ".join(f"{k}: {v}" for k, v in timeouts.items())
    page.add_init_script(f"window.__vramEngineTimeouts = {{ {pairs} }};")


def retry_keeps_the_form(page) -> None:
    """Change the form while the engine is down, then Retry: the new worker computes it."""
    page.fill("#f-context", "3000")
    page.click("#engine-retry")
    page.wait_for_selector(READY, timeout=ENGINE_START_MS)
    expect(page.locator("#f-context")).to_have_value("3000")
    args = {"model": "llama-3.2-1b", "weights": "bf16", "context": 3000, "batch": 1}
    expect(page.locator(TOTAL)).to_have_attribute(
        "data-bytes", engine_total("infer", args), timeout=30_000
    )


def test_blocked_runtime_download_is_reported_at_once_and_retry_recovers(page, server):
    page.route("**/*.wasm", lambda route: route.abort())  # the lean wasm and the full one
    page.goto(f"{server}/?model=llama-3.2-1b&context=2048")
    page.wait_for_selector(ERROR, timeout=30_000)  # not minutes of "Loading…"
    expect(page.locator("#engine-message")).to_contain_text("pyodide.asm.wasm")
    page.unroute("**/*.wasm")
    retry_keeps_the_form(page)


def test_missing_standard_library_is_reported_not_ready(page, server):
    page.route("**/python_stdlib*.zip", lambda route: route.fulfill(status=404, body="gone"))
    page.goto(f"{server}/?model=llama-3.2-1b&context=2048")
    page.wait_for_selector(ERROR, timeout=ENGINE_START_MS)
    expect(page.locator("#engine-message")).to_contain_text("standard library")
    page.unroute("**/python_stdlib*.zip")
    retry_keeps_the_form(page)


def test_a_start_that_never_ends_times_out(page, server):
    short_timeouts(page, start=4000)
    held = []
    page.route("**/pyodide.asm.mjs", lambda route: held.append(route))  # never answered
    page.goto(f"{server}/?model=llama-3.2-1b&context=2048")
    page.wait_for_selector(ERROR, timeout=20_000)
    expect(page.locator("#engine-message")).to_contain_text("did not start")
    expect(page.locator("#engine-retry")).to_be_visible()


def test_worker_killed_mid_session_is_detected_and_retried(page, server):
    short_timeouts(page, request=3000)
    page.goto(f"{server}/?model=llama-3.2-1b&context=2048")
    page.wait_for_selector(READY, timeout=ENGINE_START_MS)
    page.evaluate("window.__vramEngine.worker.terminate()")
    page.fill("#f-context", "2500")
    page.wait_for_selector(ERROR, timeout=15_000)
    expect(page.locator("#engine-retry")).to_be_visible()
    # nothing is left "computing…" with an old figure
    expect(page.locator("#result-body")).not_to_have_attribute("data-state", "pending")
    retry_keeps_the_form(page)


def test_hostile_share_link_is_a_clean_error_and_the_engine_lives_on(page, server):
    cfg = base64.urlsafe_b64encode(b"[" * 4000).decode().rstrip("=")
    page.goto(f"{server}/?model=custom&cfg={cfg}")
    page.wait_for_selector(READY, timeout=ENGINE_START_MS)
    error = page.locator('[data-error-for="config"]')
    expect(error).to_be_visible(timeout=30_000)
    expect(error).to_contain_text("64")
    # the same engine still answers
    page.select_option("#f-model", "llama-3.2-1b")
    args = {"model": "llama-3.2-1b", "weights": "bf16", "context": 4096, "batch": 1}
    expect(page.locator(TOTAL)).to_have_attribute(
        "data-bytes", engine_total("infer", args), timeout=30_000
    )
    expect(page.locator("html")).to_have_attribute("data-engine", "ready")
