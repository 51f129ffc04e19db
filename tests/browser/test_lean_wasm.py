"""The lean wasm (sitegen/lean_wasm.py): a first visit downloads it instead of the full
pyodide.asm.wasm, and the worker starts again on the full one, with the same image, when it
traps: in the middle of a request (the request is answered, a second later) or during the
start (the page gets ready all the same). The test variants are leaner than the build's:
made from the full wasm with only what the corpus run's start phase reached, or half of it."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
from playwright.sync_api import expect

from engine.api import call
from sitegen.config import ROOT
from sitegen.lean_wasm import lean_hits

READY = "html[data-engine=ready]"
TOTAL = '#result-body [data-role="total"]'
ENGINE_START_MS = 90_000


def engine_total(args: dict) -> str:
    return str(call("infer", {"weights": "bf16", "batch": 1, **args})["total_bytes"])


@pytest.fixture(scope="module")
def variants(site_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, bytes]:
    """Lean wasms that lack what a page needs: after start-up ("start"), or to start ("half")."""
    (lean,) = sorted(site_dir.glob("wheels/*/pyodide-lean.*.wasm"))
    (full,) = sorted(site_dir.glob("pyodide/*/pyodide.asm.wasm"))
    hits = lean_hits(lean.read_bytes())
    assert hits is not None, "the build's corpus run (hits.json) is not in the cache"
    node = shutil.which("node")
    assert node is not None
    out: dict[str, bytes] = {}
    tmp = tmp_path_factory.mktemp("lean")
    for name, keep in (("start", hits["start"]), ("half", hits["start"][::2])):
        (tmp / f"{name}.json").write_text(json.dumps(keep))
        subprocess.run(
            [node, str(ROOT / "scripts/pyodide_lean.mjs"), "--stub", str(full),
             str(tmp / f"{name}.json"), str(tmp / f"{name}.wasm")],
            check=True,
            timeout=300,
        )
        out[name] = (tmp / f"{name}.wasm").read_bytes()
    return out


def serve_lean(page, wasm: bytes) -> None:
    page.route(
        "**/pyodide-lean.*.wasm",
        lambda route: route.fulfill(body=wasm, headers={"Content-Type": "application/wasm"}),
    )


def change_context_to(page, context: int) -> None:
    """Type a context; the engine's total for it comes on screen."""
    page.fill("#f-context", str(context))
    expect(page.locator(TOTAL)).to_have_attribute(
        "data-bytes", engine_total({"model": "llama-3.2-1b", "context": context}), timeout=30_000
    )


def warnings_of(page) -> list[str]:
    said: list[str] = []
    page.on("console", lambda m: said.append(m.text) if m.type == "warning" else None)
    return said


def test_a_first_visit_downloads_the_lean_wasm_only(page, server):
    wasm: list[str] = []
    page.on("request", lambda r: wasm.append(r.url) if ".wasm" in r.url else None)
    page.goto(f"{server}/?model=llama-3.2-1b&context=2048")
    page.wait_for_selector(READY, timeout=ENGINE_START_MS)
    expect(page.locator(TOTAL)).to_have_attribute(
        "data-bytes", engine_total({"model": "llama-3.2-1b", "context": 2048})
    )
    change_context_to(page, 3000)
    assert wasm and all("/pyodide-lean." in url for url in wasm), wasm


@pytest.mark.full_wasm
def test_a_request_beyond_the_lean_wasm_is_answered_on_the_full_one(
    page, server, variants, full_wasm_gets
):
    serve_lean(page, variants["start"])
    said = warnings_of(page)
    before = len(full_wasm_gets)
    page.goto(f"{server}/?model=llama-3.2-1b&context=2048")
    page.wait_for_selector(READY, timeout=ENGINE_START_MS)
    change_context_to(page, 3000)
    change_context_to(page, 5000)  # and the next on the full wasm, without a restart
    expect(page.locator("html")).to_have_attribute("data-engine", "ready")
    assert len(full_wasm_gets) == before + 1  # downloaded once
    assert sum("restarting on the full wasm" in s for s in said) == 1, said


@pytest.mark.full_wasm
def test_a_lean_wasm_that_cannot_start_gives_way_to_the_full_one(page, server, variants):
    serve_lean(page, variants["half"])
    said = warnings_of(page)
    page.goto(f"{server}/?model=llama-3.2-1b&context=2048")
    page.wait_for_selector(READY, timeout=ENGINE_START_MS)
    change_context_to(page, 3000)
    assert any("lean wasm did not start" in s for s in said), said
