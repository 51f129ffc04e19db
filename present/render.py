"""One call that turns a schema-1 result into everything the page shows and exports.

The worker calls ``render_json`` right after ``engine.api.handle``; the build calls
``render`` for precomputed pages. Both get the same bytes for the same result.
"""

from __future__ import annotations

import json
from typing import Any

from .chart import capacity_bar_svg, donut_svg
from .export import to_csv, to_json, to_markdown


def render(result: dict[str, Any]) -> dict[str, str]:
    """Return the donut, the capacity bar (when a GPU was chosen) and the three exports."""
    fit = (result.get("details") or {}).get("fit")
    capacity = ""
    if isinstance(fit, dict) and fit.get("usable_bytes"):
        capacity = capacity_bar_svg(result["per_gpu_bytes"], int(fit["usable_bytes"]),
                                    gpu_name=str(fit.get("gpu_name") or fit.get("gpu") or "GPU"))
    model = (result.get("model") or {}).get("name", "")
    return {
        "donut_svg": donut_svg(result["components"], title=f"{model} memory by component"),
        "capacity_svg": capacity,
        "json": to_json(result),
        "csv": to_csv(result),
        "markdown": to_markdown(result),
    }


def render_json(result_json: str) -> str:
    """``render`` over JSON strings, for the worker (no PyProxy objects cross over)."""
    return json.dumps(render(json.loads(result_json)), sort_keys=True)
