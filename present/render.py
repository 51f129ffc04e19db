"""One call that turns a schema-1 result into everything the page shows and exports.

The worker calls ``render_json`` right after ``engine.api.handle``; the build calls
``render`` for precomputed pages. Both get the same bytes for the same result.
"""

from __future__ import annotations

import json
from typing import Any

from .chart import capacity_bar_svg, capacity_summary_html, donut_svg, legend_html
from .export import to_csv, to_json, to_markdown
from .fit import gpu_fit


def render(result: dict[str, Any]) -> dict[str, str]:
    """Return the donut, its legend, the capacity bar and verdict (when a GPU was chosen)
    and the three exports."""
    fit = gpu_fit(result)
    capacity = summary = ""
    if fit is not None:
        kwargs = {
            "gpu_name": fit["gpu_name"],
            "budget_bytes": fit["budget_bytes"],
            "num_gpus": fit["num_gpus"],
        }
        capacity = capacity_bar_svg(fit["need_bytes"], fit["usable_bytes"], **kwargs)
        summary = capacity_summary_html(fit["need_bytes"], fit["usable_bytes"], **kwargs)
    model = (result.get("model") or {}).get("name", "")
    many = len(result.get("gpu_bytes") or []) > 1
    return {
        "donut_svg": donut_svg(
            result["components"],
            title=f"{model} memory by component",
            caption="per GPU" if many else "total",
        ),
        "legend_html": legend_html(result["components"]),
        "capacity_svg": capacity,
        "capacity_html": summary,
        "json": to_json(result),
        "csv": to_csv(result),
        "markdown": to_markdown(result),
    }


def render_json(result_json: str) -> str:
    """``render`` over JSON strings, for the worker (no PyProxy objects cross over)."""
    return json.dumps(render(json.loads(result_json)), sort_keys=True)
