"""plan_pages / render_page without touching the disk: one page per model and per GPU,
every context key present (StrictUndefined would fail otherwise), the numbers in the
plan equal what the engine answers."""

from __future__ import annotations

import json

import pytest

from engine.api import call
from sitegen.assets import Assets, build_assets, hash_modules
from sitegen.compute import SiteFacts, compute, gpu_usable_bytes, load_engine_data
from sitegen.config import ROOT, BuildError
from sitegen.headers import header_for, render_netlify_toml
from sitegen.pages import PAGES, Page, plan_pages
from sitegen.render import make_env, render_page


@pytest.fixture(scope="module")
def planned() -> tuple[SiteFacts, Assets, list[Page]]:
    data = load_engine_data()
    facts = compute(data)
    assets = build_assets(data.version["engine_version"], data.version["protocol"])
    return facts, assets, plan_pages(facts, assets, "<p>m</p>")


def test_one_page_per_model_and_gpu(planned):
    _, _, pages = planned
    urls = [p.url for p in pages]
    assert len(urls) == len(set(urls)), "two pages share a URL"
    for model in call("models"):
        assert f"/models/{model['slug']}/" in urls
    for gpu in call("gpus"):
        assert f"/gpus/{gpu['slug']}/" in urls
    for url in ("/", "/models/", "/gpus/", "/methodology/", "/accuracy/", "/404.html"):
        assert url in urls
    # page paths are what write_site will create, relative and under public/
    for page in pages:
        assert not page.path.startswith("/") and ".." not in page.path
        assert page.path.endswith(".html")


def test_the_page_table(planned):
    """Each row of PAGES: an existing template, a URL and file of its own, and (for the
    rows made per item) exactly one page per item, in table order."""
    _, _, pages = planned
    english = [p for p in pages if p.context["page"]["lang"] == "en"]
    assert [p.template for p in english][:3] == ["calculator.html", "models.html", "gpus.html"]
    assert len({k.url for k in PAGES}) == len(PAGES)
    per_item = {"model.html": len(call("models")), "gpu.html": len(call("gpus"))}
    for kind in PAGES:
        assert (ROOT / "templates" / kind.template).is_file(), kind.template
        assert kind.title and kind.description
        made = [p for p in english if p.template == kind.template]
        assert len(made) == per_item.get(kind.template, 1), kind.url
    assert PAGES[0].path("/") == "index.html"
    assert PAGES[0].path("/models/x/") == "models/x/index.html"
    assert PAGES[0].path("/404.html") == "404.html"


def test_plan_is_pure_and_deterministic(planned):
    facts, assets, pages = planned
    again = plan_pages(facts, assets, "<p>m</p>")
    assert [(p.path, p.template) for p in again] == [(p.path, p.template) for p in pages]
    env = make_env()
    first = next(p for p in pages if p.template == "model.html")
    assert render_page(env, first) == render_page(env, first)


def test_calculator_default_is_the_engine_answer(planned):
    _, _, pages = planned
    home = next(p for p in pages if p.url == "/")
    request = dict(home.context["request"])
    reply = json.loads(call_json("infer", request))
    assert reply["ok"]
    assert home.context["result"] == reply["result"]


def call_json(op: str, args: dict) -> str:
    from engine.api import handle

    return handle(json.dumps({"v": 1, "id": 1, "op": op, "args": args}))


def test_model_table_cells_match_the_engine(planned):
    facts, _, _ = planned
    m = next(m for m in facts.models if m.slug == "llama-3.1-8b")
    row = next(r for r in m.rows if r.fmt == "bf16")
    for cell in row.cells:
        result = call(
            "infer",
            {
                "model": m.slug,
                "weights": "bf16",
                "context": cell.context,
                "batch": 1,
                "runtime": row.runtime,
            },
        )
        assert cell.total_bytes == result["total_bytes"]
    # Llama-3.1-8B bf16 weights: 8,030,261,248 params x 2 bytes (transformers
    # num_parameters() for meta-llama/Llama-3.1-8B, untied embeddings)
    assert row.weights_bytes == 8_030_261_248 * 2


def test_missing_context_key_fails_the_render(planned):
    _, _, pages = planned
    page = next(p for p in pages if p.template == "gpu.html")
    broken = Page(
        page.path, page.url, page.template, {k: v for k, v in page.context.items() if k != "specs"}
    )
    with pytest.raises(BuildError, match=r"while rendering /gpus/.*specs"):
        render_page(make_env(), broken)


def test_models_that_do_not_fit_list_no_gpu(planned):
    facts, _, _ = planned
    gpus = {g["slug"]: g for g in facts.data.gpus}
    for m in facts.models:
        for row in m.rows:
            for cell in row.cells:
                for slug in cell.fits:
                    assert cell.total_bytes <= gpu_usable_bytes(gpus[slug])


def test_hash_modules_rewrites_imports_and_detects_cycles():
    out = hash_modules({"a.js": 'import { x } from "./b.js";\n', "b.js": "export const x = 1;\n"})
    b_name = out["b.js"][0]
    assert b_name.startswith("b.") and b_name.endswith(".js")
    assert f'"./{b_name}"' in out["a.js"][1]
    with pytest.raises(BuildError, match="cycle"):
        hash_modules({"a.js": 'import "./b.js";', "b.js": 'import "./a.js";'})


def test_header_rules():
    wasm = header_for("/pyodide/314.0.7/pyodide.asm.wasm")
    assert wasm["Content-Type"] == "application/wasm"
    assert "immutable" in wasm["Cache-Control"]
    assert header_for("/sw.js")["Cache-Control"] == "no-cache"
    assert header_for("/models/llama-3.1-8b/")["Cache-Control"] == "no-cache"
    csp = header_for("/")["Content-Security-Policy"]
    assert "script-src 'self' 'wasm-unsafe-eval'" in csp and "unsafe-inline" not in csp


def test_netlify_toml_is_generated_from_build_py():
    assert (ROOT / "netlify.toml").read_text(encoding="utf-8") == render_netlify_toml()
