"""Paths and site-wide constants shared by the build steps, and the build error type."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from engine.form import INFERENCE_FIELDS, TRAINING_FIELDS, Mode, page_fields, page_schema
from engine.workload import METHODS

ROOT = Path(__file__).resolve().parent.parent
PUBLIC = ROOT / "public"
SITE_DIR = ROOT / "site"
TEMPLATES_DIR = ROOT / "templates"
CONTENT_DIR = ROOT / "content"
ENGINE_DIR = ROOT / "engine"
REFERENCE_DIR = ROOT / "reference"
PYODIDE_PKG = ROOT / "node_modules" / "pyodide"
CACHE_DIR = ROOT / "node_modules" / ".cache" / "vram-insight"
COMPILE_SCRIPT = ROOT / "scripts" / "pyodide_compile.mjs"

APP = "vram-insight"
SITE_NAME = "VRAM Insight"
SITE_URL = os.environ.get("SITE_URL", "https://vram-insight.netlify.app").rstrip("/")
DIST_NAME = "vram_insight"  # wheel distribution name (PEP 427 escaping of vram-insight)
PAGE_LIMIT_BYTES = 200 * 1024
# Runtime files the worker needs, copied verbatim from the npm package.
PYODIDE_FILES = (
    "pyodide.mjs",
    "pyodide.asm.mjs",
    "pyodide.asm.wasm",
    "python_stdlib.zip",
    "pyodide-lock.json",
)
# Modules the worker imports before it says "ready" (and the start-up snapshot holds).
ENGINE_PRELOAD = (
    "engine.api",
    "engine.catalog",
    "engine.quant",
    "engine.inference",
    "present.render",
)
# The worker's one calculation before "ready" (site/worker.js selfTest): a runtime without
# part of its standard library, or a broken wheel, fails here rather than on the first input.
SELF_TEST: dict[str, Any] = {
    "config": {
        "model_type": "llama",
        "hidden_size": 64,
        "intermediate_size": 128,
        "num_attention_heads": 4,
        "num_hidden_layers": 2,
        "vocab_size": 256,
    }
}

# Weight formats shown on model/GPU pages, in order, when the engine knows them.
COMMON_FORMATS = ("bf16", "fp8", "int8", "q8_0", "q6_k", "q5_k_m", "q4_k_m", "awq-4bit-g128", "nf4")
MATRIX_FORMATS = ("bf16", "fp8", "q8_0", "q4_k_m")  # context x format table, GPU pages
TABLE_CONTEXTS = (4096, 8192, 32768, 131072)
CONTEXT_LADDER = tuple(2**k for k in range(10, 24))  # 1k .. 8M tokens
TRAIN_METHODS = METHODS
DEFAULT_MODEL_PREFERENCE = ("llama-3.1-8b", "llama-3-8b", "qwen2.5-7b", "mistral-7b")
# The engine's defaults (engine.form) of the settings the baked pages name in each request.
DEFAULT_INFER_ARGS: dict[str, Any] = {
    f.name: f.default for f in INFERENCE_FIELDS if f.name in ("weights", "context", "batch")
}
DEFAULT_TRAIN_ARGS: dict[str, Any] = {
    f.name: f.default for f in TRAINING_FIELDS if f.name in ("seq", "batch")
}


def form_globals() -> dict[str, Any]:
    """The engine's form schema for the templates: ``form_fields`` (the calculator's
    controls by key: label msgid, kind, default, choices, bounds, modes) and
    ``form_modes`` and ``form_schema`` (the JSON the page reads from ``#form-schema``)."""
    return {
        "form_fields": {f.key: f for f in page_fields()},
        "form_modes": tuple(Mode),
        "form_schema": page_schema(),
    }


class BuildError(Exception):
    """A build step failed; ``main`` prints the one-line message and exits 1."""
