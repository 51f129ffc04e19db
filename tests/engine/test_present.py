"""present/: the whole on-screen result (panel, fit line, chart) and the exports, from the
engine's result and the engine's fit verdict; exact bytes survive, output is deterministic,
labels come from one table and input is escaped."""

import csv
import io
import json
import re
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from engine.api import call, handle
from present.chart import capacity_bar_svg, donut_svg, legend_html
from present.export import export, to_csv, to_markdown
from present.fit import gpu_fit
from present.labels import COMPONENT_LABELS, label_of
from present.render import chart_html, handle_json, panel_html, render

MODELS = Path(__file__).resolve().parents[2] / "engine/data/models"
RESULT = {
    "mode": "inference",
    "model": {"name": "Test-8B"},
    "request": {"context": 8192, "weights": "q4_k_m"},
    "components": {
        "weights": 4_920_000_000,
        "kv_cache": 1_073_741_824,
        "overhead": 0,
        "activations": 300_000_000,
    },
    "per_gpu_bytes": 6_293_741_824,
    "total_bytes": 6_293_741_824,
    "gpu_bytes": [6_293_741_824],
    "host_bytes": 0,
    "warnings": ["a warning"],
    "assumptions": ["an assumption"],
    "details": {
        "fit": {
            "gpu": "rtx-4090",
            "gpu_name": "RTX 4090",
            "fits": True,
            "usable_bytes": 25_386_352_640,
            "budget_bytes": 25_386_352_640,
            "headroom_bytes": 19_092_610_816,
            "shortfall_bytes": 0,
        }
    },
}


def test_donut_has_one_slice_per_nonzero_component_with_exact_bytes():
    svg = donut_svg(RESULT["components"])
    slices = re.findall(r'data-component="(\w+)" data-bytes="(\d+)"', svg)
    assert slices == [
        ("weights", "4920000000"),
        ("kv_cache", "1073741824"),
        ("activations", "300000000"),
    ]
    assert 'class="donut-total" data-bytes="6293741824"' in svg


def test_render_is_deterministic_and_includes_capacity_bar():
    first, second = render(RESULT), render(RESULT)
    assert first == second
    assert 'data-fits="true"' in first["capacity_svg"]
    assert 'data-headroom-bytes="19092610816"' in first["capacity_svg"]
    assert first["capacity_svg"] in first["chart_html"]


def test_capacity_bar_draws_the_verdict_it_is_given():
    fit = {
        "gpu_name": "RTX 4090",
        "fits": False,
        "need_bytes": 30 * 2**30,
        "usable_bytes": 24 * 2**30,
        "budget_bytes": 24 * 2**30,
        "headroom_bytes": 0,
        "shortfall_bytes": 6 * 2**30,
        "num_gpus": 1,
    }
    svg = capacity_bar_svg(fit)
    assert 'data-fits="false"' in svg and "6.00 GiB over" in svg


def test_csv_rows_carry_exact_bytes():
    rows = list(csv.DictReader(io.StringIO(to_csv(RESULT))))
    assert [r["component"] for r in rows] == ["weights", "kv_cache", "activations", "per_gpu"]
    assert rows[-1]["bytes"] == "6293741824" and rows[-1]["gib"] == "5.8615"


def test_markdown_lists_settings_table_and_notes():
    md = to_markdown(RESULT)
    assert "| KV cache | 1.00 | 1,073,741,824 |" in md
    assert "- context: `8192`" in md and "## Assumptions" in md
    # the GPU's display name, and the headroom the engine's fit reports
    assert "**RTX 4090**: fits, 17.78 GiB headroom per GPU (usable 23.64 GiB)." in md


def test_exports_are_made_on_demand_by_kind():
    assert export(RESULT, "csv") == to_csv(RESULT)
    assert export(RESULT, "markdown") == to_markdown(RESULT)
    assert json.loads(export(RESULT, "json"))["total_bytes"] == RESULT["total_bytes"]
    assert "json" not in render(RESULT)  # a view carries no export


@given(
    st.dictionaries(
        st.sampled_from(["weights", "kv_cache", "logits", "overhead"]),
        st.integers(min_value=0, max_value=2**44),
        min_size=1,
    )
)
def test_donut_never_emits_nan(components):
    svg = donut_svg(components)
    assert "nan" not in svg.lower() and "inf" not in svg.lower()


def test_legend_lists_each_component_with_exact_bytes_and_share():
    html = legend_html(RESULT["components"])
    rows = re.findall(
        r'<li data-component="(\w+)">.*?data-bytes="(\d+)".*?"legend-pct">([\d.]+)%', html
    )
    # 4_920_000_000 / 6_293_741_824 = 78.17 %; overhead (0) has no row
    assert rows == [
        ("weights", "4920000000", "78.2"),
        ("kv_cache", "1073741824", "17.1"),
        ("activations", "300000000", "4.8"),
    ]
    assert "4,920,000,000 B" in html
    assert "style=" not in html  # the site's CSP forbids inline styles


def vllm_over_budget() -> dict:
    # the case: under 0.9 x usable vLLM does not fit, although the need is below usable
    # (0.9 was the default then; vLLM 0.33 sizes the KV pool from the estimate, as the engine
    # did; 0.34's default 1.0 fits it)
    args = {"model": "llama-3.1-8b", "runtime": "vllm", "context": 40960, "gpu": "rtx-4090"}
    return call("infer", {**args, "gpu_memory_utilization": 0.9, "vllm_version": "0.33"})


def test_panel_and_chart_show_the_engines_one_verdict_with_the_vllm_budget():
    result = vllm_over_budget()
    fit = result["details"]["fit"]
    assert fit["fits"] is False and result["per_gpu_bytes"] < fit["usable_bytes"]
    view = render(result)
    line = re.search(r'<p class="capacity" data-role="fit"[^>]*>.*?</p>', view["panel_html"])
    assert 'data-fits="false"' in line.group(0)
    assert f'data-bytes="{fit["shortfall_bytes"]}" data-role="shortfall">0.60 GiB' in line.group(0)
    assert f'data-budget-bytes="{fit["budget_bytes"]}"' in view["capacity_svg"]
    assert 'data-fits="false"' in view["capacity_svg"]
    assert "does not fit, 0.60 GiB short per GPU" in to_markdown(result)


def test_capacity_bar_uses_the_vllm_budget_like_the_engine_fit():
    # vLLM on an L4: the engine's fit compares the need with 0.9 × usable (its budget)
    result = call("infer", {"model": "qwen2.5-7b", "runtime": "vllm", "gpu": "l4", "batch": 8})
    fit = result["details"]["fit"]
    out = render(result)
    assert f'data-headroom-bytes="{fit["headroom_bytes"]}"' in out["capacity_svg"]
    assert f'data-budget-bytes="{fit["budget_bytes"]}"' in out["capacity_svg"]
    assert 'data-fits="true"' in out["panel_html"] and "L4" in out["capacity_svg"]


def test_no_gpu_no_verdict():
    result = call("infer", {"model": "qwen3-0.6b"})
    assert gpu_fit(result) is None
    view = render(result)
    assert view["capacity_svg"] == "" and "data-fits" not in view["panel_html"]
    assert '<div id="chart-capacity" class="chart-capacity" hidden>' in view["chart_html"]


def test_training_result_carries_the_engines_verdict():
    result = call("train", {"model": "qwen3-0.6b", "method": "full", "gpu": "rtx-4090"})
    fit = result["details"]["fit"]
    out = render(result)
    assert gpu_fit(result)["need_bytes"] == max(result["gpu_bytes"])
    assert f'data-headroom-bytes="{fit["headroom_bytes"]}"' in out["capacity_svg"]
    assert "GeForce RTX 4090" in out["panel_html"]
    assert "GeForce RTX 4090" in to_markdown(result)


def test_one_label_per_component_in_the_table_the_legend_and_the_exports():
    result = call("train", {"model": "qwen3-0.6b", "method": "full", "gpu": "rtx-4090"})
    # every label at least once: the words the issue found differing on one screen included
    result["components"] = {name: 2**20 * (i + 1) for i, name in enumerate(COMPONENT_LABELS)}
    shown = list(COMPONENT_LABELS)
    view, table = render(result), to_csv(result)
    for name in shown:
        label = COMPONENT_LABELS[name]
        assert f'<th scope="row">{label}</th>' in view["panel_html"]
        assert f'<span class="legend-label">{label}</span>' in view["legend_html"]
        assert f"<title>{label}: " in view["donut_svg"]
        assert f"{name},{label}," in table
    assert label_of("temporaries") == "Temporary buffers"
    assert label_of("kv_cache", {"KV cache": "KV 缓存"}.get) == "KV 缓存"


def test_user_text_is_escaped_everywhere():
    hostile = '<img src=x onerror="alert(1)">'
    config = json.loads((MODELS / "qwen3-0.6b/config.json").read_text())
    result = call("infer", {"config": {**config, "_name_or_path": hostile}, "gpu": "rtx-4090"})
    assert result["model"]["name"] == hostile
    result["warnings"] = [hostile]
    view = render(result)
    for html in (view["panel_html"], view["chart_html"]):
        assert "<img" not in html
    assert "&lt;img src=x onerror=&quot;alert(1)&quot;&gt;" in view["chart_html"]


def test_worker_replies_carry_the_view_of_a_result_only():
    request = {"v": 1, "id": 7, "op": "infer", "args": {"model": "qwen3-0.6b", "gpu": "l4"}}
    reply = json.loads(handle_json(json.dumps(request)))
    view = reply["result"].pop("view")
    assert reply["ok"] and view == render(reply["result"], state="live")
    assert reply["result"] == json.loads(handle(json.dumps(request)))["result"]
    assert 'data-state="live"' in view["chart_html"]
    bad = {**request, "args": {"model": "qwen3-0.6b", "context": -5}}
    assert handle_json(json.dumps(bad)) == handle(json.dumps(bad))
    other = {**request, "op": "gpus", "args": {}}
    assert handle_json(json.dumps(other)) == handle(json.dumps(other))


def test_the_worker_gets_the_total_before_the_view_and_then_the_same_reply():
    from engine.units import format_gib
    from present.render import finish_json, start_json

    request = json.dumps({"v": 1, "id": 9, "op": "infer", "args": {"model": "qwen3-0.6b"}})
    figure = json.loads(start_json(request))
    reply = json.loads(finish_json())
    total = reply["result"]["total_bytes"]
    assert figure == {"id": 9, "bytes": total, "text": format_gib(total)}
    # the text the panel writes for the total, byte for byte
    assert f'data-role="total">{figure["text"]}</span>' in reply["result"]["view"]["panel_html"]
    assert json.dumps(reply) == json.dumps(json.loads(handle_json(request)))
    # no figure for an error or an op without a view; the reply follows as handle's
    for other in ({"op": "infer", "args": {"model": "qwen3-0.6b", "context": -5}},
                  {"op": "gpus", "args": {}}, {"op": "nope"}):
        text = json.dumps({"v": 1, "id": 3, **other})
        assert start_json(text) == ""
        assert finish_json() == handle(text)
    assert start_json("{not json") == ""
    assert finish_json() == handle("{not json")
    with pytest.raises(RuntimeError):
        finish_json()  # nothing started


def test_panel_keeps_every_figure_of_the_result():
    result = vllm_over_budget()
    panel = panel_html(result)
    for n in (result["total_bytes"], result["reserved_bytes"]):
        assert f'data-bytes="{n}"' in panel
    for name, value in result["components"].items():
        if value:
            assert f'<tr data-component="{name}">' in panel
    assert chart_html(result).startswith('<figure id="chart"')


def test_multi_gpu_capacity_counts_the_most_loaded_gpu():
    # llama.cpp splits 80 layers over two cards unevenly; the bar shows the fuller one
    result = call(
        "infer",
        {
            "model": "llama-3.1-70b",
            "weights": "q4_k_m",
            "kv_dtype": "q8_0",
            "context": 32768,
            "runtime": "llamacpp",
            "gpu": "rtx-4090",
            "pp": 2,
        },
    )
    out = render(result)
    need = max(result["gpu_bytes"])
    assert (
        f'data-bytes="{need}"' in out["capacity_svg"]
        and "2× GeForce RTX 4090" in out["capacity_svg"]
    )
    assert (
        f'data-headroom-bytes="{result["details"]["fit"]["headroom_bytes"]}"' in out["capacity_svg"]
    )


def test_output_does_not_depend_on_key_order():
    # the worker renders a result that went through JSON with sorted keys; the build renders
    # the engine's dict: both must give the same bytes (the parity of baked and live charts)
    result = call("infer", {"model": "llama-3.1-8b", "gpu": "rtx-4090"})
    shuffled = json.loads(json.dumps(result, sort_keys=True))
    assert list(shuffled["components"]) != list(result["components"])
    assert render(shuffled) == render(result)


def test_the_workers_view_speaks_the_request_language():
    request = {"v": 1, "id": 8, "op": "infer", "lang": "zh-CN", "args": {"model": "qwen3-0.6b"}}
    view = json.loads(handle_json(json.dumps(request)))["result"]["view"]
    assert '<span class="total-label">总计</span>' in view["panel_html"]
    assert "<summary>假设</summary>" in view["panel_html"]
    english = json.loads(handle_json(json.dumps({**request, "lang": "en"})))["result"]["view"]
    assert '<span class="total-label">Total</span>' in english["panel_html"]


def test_a_drawing_bug_is_an_error_reply_not_a_dead_worker(monkeypatch):
    import present.render

    def broken(*args, **kwargs):
        raise KeyError("per_gpu_bytes")

    monkeypatch.setattr(present.render, "render", broken)
    request = {"v": 1, "id": 9, "op": "infer", "args": {"model": "qwen3-0.6b"}}
    reply = json.loads(handle_json(json.dumps(request)))
    assert reply["ok"] is False and reply["id"] == 9
    assert reply["error"]["type"] == "internal" and "KeyError" in reply["error"]["message"]
