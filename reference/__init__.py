"""Measured reference data and the rule for comparing the engine with it.

``reference/*.json`` are what PyTorch, transformers and peft really allocate, measured by
``tools/reference/`` (dev-only, needs torch). Two readers share them: the engine's tests
(tests/engine) and the site's /accuracy/ page (sitegen/accuracy.py). The folder sits at the
top level so that neither reaches into the other (the engine tests do not import the site
builder, the build does not read tests/), and outside ``engine/`` so that 460 KB the engine
never reads at run time stay out of its wheel and out of the browser's download.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

REFERENCE_DIR = Path(__file__).resolve().parent
PARAMS = REFERENCE_DIR / "params.json"
KV_CACHE = REFERENCE_DIR / "kv_cache.json"
TRAINING = REFERENCE_DIR / "training.json"
# The real config.json files measured besides the catalog's (configs/SOURCES.md), and
# variants of them with one flag flipped to reach code paths no published config uses.
CONFIGS = REFERENCE_DIR / "configs"


def comparable_training_bytes(
    components: Mapping[str, int], details: Mapping[str, Any], settings: Mapping[str, Any]
) -> int:
    """Return the engine's training peak in bytes as MemTracker counts it.

    ``details["tracked_peak_bytes"]`` is the sum of the components at the peak minus the
    runtime overhead (CUDA context, cuBLAS workspace), which the tracker cannot see. The
    reference's SGD runs with momentum 0 (HF Trainer's ``optim="sgd"``) and so keeps no
    optimizer state, while the engine's SGD keeps a momentum buffer: it is taken off too.
    """
    tracked = int(details["tracked_peak_bytes"])
    optimizer = settings.get("optimizer_settings") or {}
    if settings.get("optimizer") == "sgd" and optimizer.get("momentum", 0) == 0:
        tracked -= int(components["optimizer"])
    return tracked
