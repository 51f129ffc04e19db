"""The calculator's Hugging Face lookup in Chromium, against the local Hub fixture
(tests/hub/server.py): a site built with HF_ENDPOINT pointing at it and served with the CSP
that names it. A model the catalog does not know is looked up and gives the CLI's figures;
a repo of several GGUF files offers them to pick; errors go beside the field; a looked-up
model works offline after a reload and from its share link (IndexedDB cache)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import expect

from sitegen.config import ROOT
from sitegen.headers import make_csp
from sitegen.serve import make_handler
from tests.browser.conftest import serving, wait_until_controlled
from tests.conftest import build_into

READY = "html[data-engine=ready]"
TOTAL = '#result-body [data-role="total"]'
ERROR = '[data-error-for="model"]'
ENGINE_START_MS = 90_000
LOOKUP_MS = 30_000
REPO = "hub-test/qwen3-8b"  # the catalog's Qwen3 8B config under a name the catalog lacks
GGUF_REPO = "hub-test/Llama-3.2-1B-Instruct-GGUF"
WORKLOAD = ["--context", "16384", "--batch", "1"]


@pytest.fixture(scope="module")
def hub_site(hub_server, tmp_path_factory) -> Path:
    previous = os.environ.get("HF_ENDPOINT")
    os.environ["HF_ENDPOINT"] = hub_server.endpoint
    try:
        return build_into(tmp_path_factory.mktemp("hub-site") / "public")
    finally:
        if previous is None:
            del os.environ["HF_ENDPOINT"]
        else:
            os.environ["HF_ENDPOINT"] = previous


@pytest.fixture(scope="module")
def hub_url(hub_site: Path, hub_server) -> Iterator[str]:
    """The site served with production headers, the CSP built for the fixture's endpoint."""
    csp = make_csp(hub_server.endpoint)

    class Handler(make_handler(hub_site)):
        def send_header(self, keyword: str, value: str) -> None:
            if keyword == "Content-Security-Policy":
                value = csp
            super().send_header(keyword, value)

    with serving(Handler) as url:
        yield url


def cli_total(hub_server, tmp_path: Path, *args: str) -> str:
    """`vram infer ... --json` against the fixture: the CLI's total for the same repo."""
    env = {
        **os.environ,
        "HF_ENDPOINT": hub_server.endpoint,
        "XDG_CACHE_HOME": str(tmp_path / "cache"),
    }
    env.pop("HF_TOKEN", None)
    out = subprocess.run(
        [sys.executable, "-m", "engine.cli", "infer", *args, "--json"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return str(json.loads(out.stdout)["total_bytes"])


def open_page(page, url: str) -> None:
    page.goto(url)
    page.wait_for_selector(READY, timeout=ENGINE_START_MS)


def look_up(page, text: str) -> None:
    page.fill("#model-search", text)
    page.click("#hub-lookup")


def set_workload(page) -> None:
    page.fill("#f-context", "16384")
    page.fill("#f-batch", "1")


def test_lookup_gives_the_cli_figures_and_works_offline_and_from_its_link(
    context, hub_url, hub_server, tmp_path
):
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    open_page(page, hub_url)
    page.select_option("#f-weights", "bf16")
    set_workload(page)
    expect(page.locator("#hub-lookup")).to_be_hidden()
    look_up(page, REPO)
    expect(page.locator("#f-model")).to_have_value(REPO, timeout=LOOKUP_MS)
    want = cli_total(hub_server, tmp_path, REPO, "--weights", "bf16", *WORKLOAD)
    expect(page.locator(TOTAL)).to_have_attribute("data-bytes", want, timeout=LOOKUP_MS)
    # what was read and from where
    expect(page.locator("#hub-read")).to_contain_text(hub_server.endpoint)
    expect(page.locator("#hub-read")).to_contain_text("config.json")
    share = page.locator("#share-link").get_attribute("href")
    assert "model=hub-test%2Fqwen3-8b" in share
    # the token field never reaches the link
    page.click("#hub-token-box summary")
    page.fill("#hub-token", "hf_secret_value")
    page.fill("#f-context", "16385")
    page.fill("#f-context", "16384")
    assert "hf_secret" not in page.locator("#share-link").get_attribute("href")
    wait_until_controlled(page)
    context.set_offline(True)
    try:
        page.reload()
        page.wait_for_selector(READY, timeout=ENGINE_START_MS)
        expect(page.locator(TOTAL)).to_have_attribute("data-bytes", want, timeout=LOOKUP_MS)
        assert page.locator("#hub-token").input_value() == ""  # never stored
        fresh = context.new_page()
        open_page(fresh, hub_url + share)
        expect(fresh.locator("#f-model")).to_have_value(REPO)
        expect(fresh.locator(TOTAL)).to_have_attribute("data-bytes", want, timeout=LOOKUP_MS)
        # offline with nothing cached: said beside the field, the typed text kept
        look_up(fresh, "hub-test/llama-3.1-8b")
        expect(fresh.locator(ERROR)).to_contain_text("offline", timeout=LOOKUP_MS)
        assert fresh.locator("#model-search").input_value() == "hub-test/llama-3.1-8b"
    finally:
        context.set_offline(False)
    assert errors == []


def test_gguf_repo_lists_its_files_and_a_pick_gives_the_cli_figures(
    page, hub_url, hub_server, tmp_path
):
    open_page(page, hub_url)
    set_workload(page)
    look_up(page, GGUF_REPO)
    files = page.locator("#hub-files .hub-file")
    expect(files).to_have_count(3, timeout=LOOKUP_MS)
    expect(page.locator("#hub-files")).to_contain_text("GiB")
    name = files.first.get_attribute("data-file")
    files.first.click()
    label = f"{GGUF_REPO}/{name}"
    expect(page.locator("#f-model")).to_have_value(label, timeout=LOOKUP_MS)
    expect(page.locator("#f-runtime")).to_have_value("llamacpp")
    want = cli_total(hub_server, tmp_path, label, *WORKLOAD)
    expect(page.locator(TOTAL)).to_have_attribute("data-bytes", want, timeout=LOOKUP_MS)


@pytest.mark.parametrize(
    ("repo", "words"),
    [
        ("hub-test/Llama-3.2-1B-gated", "licence"),
        ("hub-test/no-such-model-here", "no model"),
        ("hub-test/llama-3.2-1b-lora", "meta-llama/Llama-3.2-1B"),
        ("hub-test/evil-redirect", "may not contact"),
        ("hub-test/rate-limited", "rate-limiting"),
        ("hub-test/oversized-header", "8,388,608 bytes"),
        ("hub-test/fancy-new-arch", "'fancy_new_arch' is not supported"),
        ("hub-test/not-a-model", "no config.json and no GGUF"),
    ],
)
def test_errors_go_beside_the_field_and_keep_the_input(page, hub_url, repo, words):
    open_page(page, hub_url)
    before = page.locator("#f-model").input_value()
    look_up(page, repo)
    expect(page.locator(ERROR)).to_contain_text(words, timeout=LOOKUP_MS)
    assert page.locator("#model-search").input_value() == repo
    assert page.locator("#f-model").input_value() == before


def test_a_catalog_repo_id_picks_the_catalog_entry(page, hub_url, hub_server):
    open_page(page, hub_url)
    seen = len(hub_server.requests)
    look_up(page, "Qwen/Qwen3-8B")
    expect(page.locator("#f-model")).to_have_value("qwen3-8b", timeout=LOOKUP_MS)
    assert len(hub_server.requests) == seen  # the catalog answered: nothing went to the Hub


def test_a_token_reads_a_gated_repo_and_is_sent_only_to_the_hub(page, hub_url, hub_server):
    from tests.hub.server import GOOD_TOKEN

    open_page(page, hub_url)
    page.click("#hub-token-box summary")
    page.fill("#hub-token", GOOD_TOKEN)
    seen = len(hub_server.requests)
    look_up(page, "hub-test/Llama-3.2-1B-gated")
    expect(page.locator("#f-model")).to_have_value("hub-test/Llama-3.2-1B-gated", timeout=LOOKUP_MS)
    expect(page.locator(TOTAL)).to_have_attribute("data-bytes", re.compile(r"^\d+$"))
    sent = hub_server.requests[seen:]
    hub = [r for r in sent if not r.get("cdn") and r["method"] == "GET"]
    auth = [{k.lower(): v for k, v in r["headers"].items()}.get("authorization") for r in hub]
    assert hub and set(auth) == {f"Bearer {GOOD_TOKEN}"}
    assert GOOD_TOKEN not in page.locator("#share-link").get_attribute("href")


def test_a_hub_link_is_looked_up_like_its_repo_id(page, hub_url, hub_server):
    open_page(page, hub_url)
    look_up(page, f"{hub_server.endpoint}/{REPO}/tree/main")
    expect(page.locator("#f-model")).to_have_value(REPO, timeout=LOOKUP_MS)
    expect(page.locator(TOTAL)).to_have_attribute("data-bytes", re.compile(r"^\d+$"))


def test_an_adapter_offers_its_base_model(page, hub_url):
    open_page(page, hub_url)
    look_up(page, "hub-test/llama-3.2-1b-lora")
    offer = page.locator("#hub-base")
    expect(offer).to_contain_text("meta-llama/Llama-3.2-1B", timeout=LOOKUP_MS)
    offer.click()  # the catalog knows the base model: no Hub request needed
    expect(page.locator("#f-model")).to_have_value("llama-3.2-1b", timeout=LOOKUP_MS)


def test_a_link_to_a_repo_of_several_gguf_files_offers_them(page, hub_url):
    page.goto(f"{hub_url}/?model={GGUF_REPO}")
    expect(page.locator("#hub-files .hub-file")).to_have_count(3, timeout=ENGINE_START_MS)
    expect(page.locator(ERROR)).to_contain_text("pick one")
