"""Charts and exports: exact bytes survive, output is deterministic."""

import csv
import io
import json
import re

from hypothesis import given
from hypothesis import strategies as st

from engine.api import call
from present.chart import capacity_bar_svg, donut_svg, legend_html
from present.export import to_csv, to_markdown
from present.render import render, render_json

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
            "headroom_bytes": 19_092_610_816,
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


def test_capacity_bar_reports_overflow():
    svg = capacity_bar_svg(30 * 2**30, 24 * 2**30, gpu_name="RTX 4090")
    assert 'data-fits="false"' in svg and "6.00 GiB over" in svg


def test_csv_rows_carry_exact_bytes():
    rows = list(csv.DictReader(io.StringIO(to_csv(RESULT))))
    assert [r["component"] for r in rows] == ["weights", "kv_cache", "activations", "per_gpu"]
    assert rows[-1]["bytes"] == "6293741824" and rows[-1]["gib"] == "5.8615"


def test_markdown_lists_settings_table_and_notes():
    md = to_markdown(RESULT)
    assert "| KV cache | 1.00 | 1,073,741,824 |" in md
    assert "- context: `8192`" in md and "## Assumptions" in md
    # the GPU's display name, and the headroom the engine's fit reports (usable - need)
    assert "**RTX 4090**: fits, 17.78 GiB headroom per GPU (usable 23.64 GiB)." in md


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


def test_capacity_bar_uses_the_vllm_budget_like_the_engine_fit():
    # vLLM on an L4: the engine's fit compares the need with 0.9 × usable (its budget)
    result = call("infer", {"model": "qwen2.5-7b", "runtime": "vllm", "gpu": "l4", "batch": 8})
    fit = result["details"]["fit"]
    out = render(result)
    assert f'data-headroom-bytes="{fit["headroom_bytes"]}"' in out["capacity_svg"]
    assert f'data-budget-bytes="{fit["budget_bytes"]}"' in out["capacity_svg"]
    assert 'data-fits="true"' in out["capacity_html"] and "L4" in out["capacity_svg"]


def test_training_result_is_measured_against_the_chosen_gpu():
    result = call("train", {"model": "qwen3-0.6b", "method": "full", "gpu": "rtx-4090"})
    out = render(result)
    need = result["per_gpu_bytes"]
    from engine.gpus import get_gpu

    usable = get_gpu("rtx-4090").usable_bytes
    assert f'data-headroom-bytes="{usable - need}"' in out["capacity_svg"]
    assert "GeForce RTX 4090" in out["capacity_html"]
    assert "GeForce RTX 4090" in out["markdown"]


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
    assert render_json(json.dumps(result)) == json.dumps(render(result), sort_keys=True)
