"""What the build adds for the calculator's features: the engine wheel carries present/ (the
worker draws charts and exports with it), the calculator page bakes present's chart for its
precomputed result byte for byte, the presets come from the engine, and no analytics
endpoint is configured unless the build is told one."""

from __future__ import annotations

import json
import re
import zipfile

from engine.api import call
from present.render import render


def test_wheel_ships_present_beside_the_engine(site_dir):
    (wheel,) = sorted((site_dir / "wheels").rglob("*.whl"))
    with zipfile.ZipFile(wheel) as zf:
        names = set(zf.namelist())
        dist = next(n.split("/")[0] for n in names if n.endswith(".dist-info/WHEEL"))
        top_level = zf.read(f"{dist}/top_level.txt").decode().split()
    for module in ("__init__", "chart", "export", "fit", "palette", "render"):
        assert f"present/{module}.py" in names
    assert top_level == ["engine", "present"]


def test_calculator_bakes_the_chart_present_draws(site_dir):
    html = (site_dir / "index.html").read_text(encoding="utf-8")
    state = re.search(
        r'<script type="application/json" id="initial-state">(.*?)</script>', html, re.S
    )
    result = json.loads(state.group(1))["result"]
    assert result == json.loads(json.dumps(call("infer", json.loads(state.group(1))["request"])))
    chart = render(result)
    # the exact strings the worker's op "render" returns for the same result
    assert chart["donut_svg"] in html
    assert chart["legend_html"] in html
    assert 'data-export="json"' in html and 'id="history-list"' in html


def test_presets_are_the_engines(site_dir):
    html = (site_dir / "index.html").read_text(encoding="utf-8")
    baked = re.search(
        r'<script type="application/json" id="presets-data">(.*?)</script>', html, re.S
    )
    presets = json.loads(baked.group(1))
    assert [p["id"] for p in presets] == [p["id"] for p in call("presets")]
    assert len(presets) >= 12


def test_no_analytics_endpoint_by_default(site_dir):
    (config,) = sorted((site_dir / "assets").glob("config.*.js"))
    assert 'export const ANALYTICS_URL = "";' in config.read_text(encoding="utf-8")
