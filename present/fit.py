"""The engine's fit verdict for a result, in the shape the chart, the panel and the
exports display. Nothing here decides: ``details.fit`` (``engine.gpus.fit_details``) is
the engine's decision, attached to every inference and training result that names a GPU.
"""

from __future__ import annotations

from typing import Any


def gpu_fit(result: dict[str, Any]) -> dict[str, Any] | None:
    """Return the engine's ``details.fit`` plus ``need_bytes`` and ``num_gpus``, or None
    when the result names no GPU.

    ``need_bytes`` (the most-loaded GPU) is read back from the verdict itself
    (budget − headroom + shortfall), so it is the figure the engine judged.
    """
    fit = (result.get("details") or {}).get("fit")
    if not isinstance(fit, dict) or "fits" not in fit:
        return None
    budget = int(fit["budget_bytes"])
    return {
        **fit,
        "gpu_name": str(fit.get("gpu_name") or fit["gpu"]),
        "need_bytes": budget - int(fit["headroom_bytes"]) + int(fit["shortfall_bytes"]),
        "num_gpus": max(1, len(result.get("gpu_bytes") or [])),
    }
