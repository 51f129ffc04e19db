"""The GPU a result is measured against: the engine's fit verdict, in one shape."""

from __future__ import annotations

from typing import Any


def gpu_fit(result: dict[str, Any]) -> dict[str, Any] | None:
    """Return ``{gpu, gpu_name, usable_bytes, budget_bytes, need_bytes, num_gpus}`` or None.

    Inference results carry ``details.fit`` (the engine's own verdict, with vLLM's budget);
    a result without it but with ``request.gpu`` (training) is measured against that GPU's
    usable memory, the budget ``engine.fit.budget_bytes`` gives outside vLLM.
    """
    fit = (result.get("details") or {}).get("fit")
    request = result.get("request") or {}
    slug = fit.get("gpu") if isinstance(fit, dict) else request.get("gpu")
    if not slug:
        return None
    from engine.errors import EngineError
    from engine.fit import budget_bytes
    from engine.gpus import get_gpu

    try:
        spec = get_gpu(str(slug))
    except EngineError:
        spec = None
    if isinstance(fit, dict) and fit.get("usable_bytes"):
        usable = int(fit["usable_bytes"])
        budget = int(fit.get("budget_bytes") or usable)
    elif spec is not None:
        usable = budget = budget_bytes(spec)
    else:
        return None
    gpu_bytes = [int(b) for b in result.get("gpu_bytes") or []]
    need = max(gpu_bytes) if gpu_bytes else int(result["per_gpu_bytes"])
    name = (fit or {}).get("gpu_name") if isinstance(fit, dict) else None
    return {
        "gpu": str(slug),
        "gpu_name": str(name or (spec.name if spec is not None else slug)),
        "usable_bytes": usable,
        "budget_bytes": budget,
        "need_bytes": need,
        "num_gpus": max(1, len(gpu_bytes)),
    }
