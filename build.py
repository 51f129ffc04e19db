"""Build the VRAM Insight static site into ``public/``.

    python build.py            # build into public/
    python build.py --strict   # warnings (a model or format the engine rejects) fail the build
    python build.py serve      # build, then serve public/ on http://127.0.0.1:8000

The pipeline is load -> validate -> compute -> plan -> render -> write (MkDocs' order):
every number is computed and every page rendered in memory before anything touches disk,
so a bad model fails the build before a file lands in ``public/``. ``plan_pages`` and
``render_page`` are pure; only ``write_site`` writes. Output is deterministic: sorted
iteration, sorted JSON keys, fixed timestamps (``SOURCE_DATE_EPOCH``), content-hashed
asset names, so the same commit gives the same bytes.

Every figure comes from ``engine.api.call`` -- the same entry point the browser worker
(``engine.api.handle`` in Pyodide) and the CLI use -- so page, worker and CLI agree.
"""

from __future__ import annotations

import argparse
import base64
import concurrent.futures
import datetime as dt
import functools
import hashlib
import http.server
import io
import json
import multiprocessing
import os
import re
import shutil
import socketserver
import struct
import subprocess
import sys
import time
import zipfile
import zlib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, TypedDict

from sitegen import accuracy as sitegen_accuracy
from sitegen.accuracy import AccuracySection

ROOT = Path(__file__).resolve().parent
PUBLIC = ROOT / "public"
SITE_DIR = ROOT / "site"
TEMPLATES_DIR = ROOT / "templates"
CONTENT_DIR = ROOT / "content"
ENGINE_DIR = ROOT / "engine"
REFERENCE_DIR = ROOT / "tests" / "reference"
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

# Weight formats shown on model/GPU pages, in order, when the engine knows them.
COMMON_FORMATS = ("bf16", "fp8", "int8", "q8_0", "q6_k", "q5_k_m", "q4_k_m", "awq-4bit-g128", "nf4")
MATRIX_FORMATS = ("bf16", "fp8", "q8_0", "q4_k_m")  # context x format table, GPU pages
TABLE_CONTEXTS = (4096, 8192, 32768, 131072)
CONTEXT_LADDER = tuple(2**k for k in range(10, 24))  # 1k .. 8M tokens
TRAIN_METHODS = ("full", "lora", "qlora")
DEFAULT_MODEL_PREFERENCE = ("llama-3.1-8b", "llama-3-8b", "qwen2.5-7b", "mistral-7b")
DEFAULT_INFER_ARGS: dict[str, Any] = {"weights": "bf16", "context": 4096, "batch": 1}
DEFAULT_TRAIN_ARGS: dict[str, Any] = {"seq": 2048, "batch": 1}

# HTTP headers, one source for netlify.toml, `build.py serve`, the tests and nginx.conf.
CSP = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self' 'wasm-unsafe-eval'",
        "worker-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "manifest-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    )
)
SECURITY_HEADERS: dict[str, str] = {
    "Content-Security-Policy": CSP,
    "Cross-Origin-Opener-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=(), interest-cohort=()",
    "Referrer-Policy": "strict-origin-when-cross-origin",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
}
IMMUTABLE = "public, max-age=31536000, immutable"
NO_CACHE = "no-cache"
# (path pattern in Netlify syntax, headers) -- first match wins in `header_for`.
HEADER_RULES: tuple[tuple[str, dict[str, str]], ...] = (
    ("/*", SECURITY_HEADERS),
    ("/assets/*", {"Cache-Control": IMMUTABLE}),
    ("/wheels/*", {"Cache-Control": IMMUTABLE}),
    ("/pyodide/*", {"Cache-Control": IMMUTABLE}),
    ("/*.wasm", {"Content-Type": "application/wasm"}),
    ("/sw.js", {"Cache-Control": NO_CACHE, "Service-Worker-Allowed": "/"}),
    ("/*.html", {"Cache-Control": NO_CACHE}),
    ("/", {"Cache-Control": NO_CACHE}),
    # page sections hold only HTML (Netlify reads "/*/" as "/*", so name each section)
    ("/accuracy/*", {"Cache-Control": NO_CACHE}),
    ("/gpus/*", {"Cache-Control": NO_CACHE}),
    ("/methodology/*", {"Cache-Control": NO_CACHE}),
    ("/models/*", {"Cache-Control": NO_CACHE}),
    ("/version.json", {"Cache-Control": NO_CACHE}),
    ("/api/*", {"Cache-Control": NO_CACHE, "Access-Control-Allow-Origin": "*"}),
    ("/manifest.webmanifest", {"Content-Type": "application/manifest+json"}),
)
REDIRECTS: tuple[tuple[str, str, int], ...] = (("/api/health", "/api/health.json", 200),)
MIME_TYPES: dict[str, str] = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".mjs": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".json": "application/json",
    ".webmanifest": "application/manifest+json",
    ".wasm": "application/wasm",
    ".zip": "application/zip",
    ".whl": "application/zip",
    ".png": "image/png",
    ".svg": "image/svg+xml",
    ".xml": "application/xml",
    ".txt": "text/plain; charset=utf-8",
}


def present_render(result: Mapping[str, Any]) -> dict[str, str]:
    """Return present.render.render(result): the chart and exports of a baked result."""
    from present.render import render

    return render(dict(result))


class BuildError(Exception):
    """A build step failed; ``main`` prints the one-line message and exits 1."""


# ---------------------------------------------------------------------------- load


def engine_call(op: str, args: dict[str, Any] | None = None) -> Any:
    """Run one engine op in-process (the worker runs the same code through ``handle``)."""
    from engine.api import call

    return call(op, args or {})


def engine_try(op: str, args: dict[str, Any]) -> tuple[Any, dict[str, Any] | None]:
    """Return ``(result, None)`` or ``(None, error_dict)`` for input the engine rejects."""
    from engine.errors import EngineError

    try:
        return engine_call(op, args), None
    except EngineError as exc:
        return None, exc.to_dict()
    except ModuleNotFoundError as exc:  # an engine module not written yet: page says so
        if not (exc.name or "").startswith("engine."):
            raise
        return None, {
            "type": "unavailable",
            "message": f"not available yet ({exc.name})",
            "field": None,
        }


@dataclass(frozen=True)
class EngineData:
    version: dict[str, Any]
    models: tuple[dict[str, Any], ...]
    gpus: tuple[dict[str, Any], ...]
    formats: tuple[dict[str, Any], ...]
    presets: tuple[dict[str, Any], ...]


def load_engine_data() -> EngineData:
    """Return catalog, GPUs, formats and presets as the engine lists them (sorted by slug)."""

    def optional(op: str) -> tuple[dict[str, Any], ...]:
        try:
            return tuple(engine_call(op))
        except ImportError:
            return ()

    models = tuple(sorted(engine_call("models"), key=lambda m: m["slug"]))
    gpus = tuple(sorted(engine_call("gpus"), key=lambda g: g["slug"]))
    return EngineData(
        version=engine_call("version"),
        models=models,
        gpus=gpus,
        formats=tuple(engine_call("formats")),
        presets=optional("presets"),
    )


# ------------------------------------------------------------------------ validate


def validate(data: EngineData) -> list[str]:
    """Return warnings; raise BuildError for data no page could be built from."""
    warnings: list[str] = []
    if not data.models:
        raise BuildError("the engine catalog is empty: no model pages to build")
    slugs = [m["slug"] for m in data.models] + [g["slug"] for g in data.gpus]
    for slug in slugs:
        if not re.fullmatch(r"[a-z0-9][a-z0-9.\-]*", slug):
            raise BuildError(f"slug {slug!r} is not URL-safe (use a-z, 0-9, '.', '-')")
    for gpu in data.gpus:
        if gpu_capacity_bytes(gpu) <= 0:
            raise BuildError(f"GPU {gpu['slug']}: no memory capacity in its data")
    return warnings


def gpu_capacity_bytes(gpu: Mapping[str, Any]) -> int:
    """Return the GPU's memory in bytes, whatever the key the GPU table uses."""
    for key in ("memory_bytes", "vram_bytes", "mem_bytes", "capacity_bytes"):
        if isinstance(gpu.get(key), int):
            return int(gpu[key])
    if isinstance(gpu.get("memory_gib"), (int, float)):
        return int(gpu["memory_gib"] * 2**30)
    if isinstance(gpu.get("memory_gb"), (int, float)):
        return int(gpu["memory_gb"] * 10**9)
    return 0


def gpu_usable_bytes(gpu: Mapping[str, Any]) -> int:
    """Return the bytes a runtime can allocate (the driver reserves some; engine.gpus)."""
    usable = gpu.get("usable_bytes")
    return int(usable) if isinstance(usable, int) and usable > 0 else gpu_capacity_bytes(gpu)


def gpu_name(gpu: Mapping[str, Any]) -> str:
    return str(gpu.get("name") or gpu.get("display_name") or gpu["slug"])


def model_name(model: Mapping[str, Any]) -> str:
    return str(model.get("display_name") or model.get("name") or model["slug"])


# ------------------------------------------------------------------------- compute


class Memo:
    """Cache engine results by their exact request, so pages share computations."""

    def __init__(self) -> None:
        self._cache: dict[str, tuple[Any, dict[str, Any] | None]] = {}

    def __call__(self, op: str, args: dict[str, Any]) -> tuple[Any, dict[str, Any] | None]:
        key = json.dumps([op, args], sort_keys=True)
        if key not in self._cache:
            self._cache[key] = engine_try(op, args)
        return self._cache[key]


def infer_any_runtime(
    memo: Memo, args: dict[str, Any], runtimes: Iterable[str]
) -> tuple[Any, dict[str, Any] | None]:
    """Infer with the first of the format's runtimes that accepts it (GGUF: llama.cpp)."""
    first_error = None
    for runtime in runtimes:
        result, error = memo("infer", {**args, "runtime": runtime})
        if error is None:
            return result, None
        if error.get("field") not in ("runtime", "weights"):
            return None, error
        first_error = first_error or error
    return None, first_error


@dataclass(frozen=True)
class Cell:
    """One context x format cell of a model's memory table."""

    context: int
    total_bytes: int | None
    error: str | None
    fits: tuple[str, ...]  # GPU slugs (single GPU) that hold it, smallest first


@dataclass(frozen=True)
class FormatRow:
    fmt: str
    label: str
    runtime: str | None
    weights_bytes: int | None
    error: str | None
    cells: tuple[Cell, ...]
    ladder: tuple[tuple[int, int], ...]  # (context, total_bytes) for the GPU pages


@dataclass(frozen=True)
class ModelFacts:
    slug: str
    meta: Mapping[str, Any]
    params: Mapping[str, Any]
    kv_per_1k_bytes: int | None
    kv_dtype_note: str
    contexts: tuple[int, ...]
    rows: tuple[FormatRow, ...]
    training: tuple[tuple[str, Mapping[str, Any] | None, str | None], ...]
    default_request: Mapping[str, Any]
    default_result: Mapping[str, Any] | None


def pick_formats(formats: Iterable[Mapping[str, Any]]) -> tuple[tuple[str, str], ...]:
    """Return (id, label) of the formats shown on pages: COMMON_FORMATS the engine knows."""
    known = {str(f["id"]): str(f.get("label") or f["id"]) for f in formats}
    chosen = tuple((f, known[f]) for f in COMMON_FORMATS if f in known)
    return chosen or tuple(sorted(known.items()))[:6]


def format_runtimes(formats: Iterable[Mapping[str, Any]]) -> dict[str, tuple[str, ...]]:
    """Return each format's runtimes, preferred first (as the engine's format table lists)."""
    return {str(f["id"]): tuple(f.get("runtimes") or ("transformers",)) for f in formats}


def model_contexts(max_ctx: int | None) -> tuple[int, ...]:
    """Return the table's context lengths: TABLE_CONTEXTS up to the model's maximum."""
    limit = max_ctx if isinstance(max_ctx, int) and max_ctx > 0 else TABLE_CONTEXTS[-1]
    chosen = [c for c in TABLE_CONTEXTS if c <= limit]
    if limit not in chosen and limit <= 1 << 21 and (not chosen or limit > chosen[-1]):
        chosen.append(limit)
    return tuple(chosen) or (limit,)


def compute_model(
    memo: Memo, model: Mapping[str, Any], data: EngineData, formats: tuple[tuple[str, str], ...]
) -> ModelFacts:
    """Return every figure of one model page, computed by the engine."""
    slug = model["slug"]
    params, error = memo("params", {"model": slug})
    if error:
        raise BuildError(f"model {slug}: {error['message']}")
    contexts = model_contexts(params.get("max_position_embeddings"))
    max_ctx = params.get("max_position_embeddings") or contexts[-1]
    gpus_by_size = sorted(data.gpus, key=lambda g: (gpu_usable_bytes(g), g["slug"]))
    runtimes = format_runtimes(data.formats)
    rows = []
    for fid, label in formats:
        base = {"model": slug, "weights": fid, "batch": 1}
        first, err = infer_any_runtime(memo, {**base, "context": contexts[0]}, runtimes[fid])
        if err:
            rows.append(FormatRow(fid, label, None, None, err["message"], (), ()))
            continue
        runtime = first["request"]["runtime"]
        weights = first["components"]["weights"]
        if fid not in MATRIX_FORMATS:
            rows.append(FormatRow(fid, label, runtime, weights, None, (), ()))
            continue
        cells = []
        for ctx in contexts:
            res, err = memo("infer", {**base, "context": ctx, "runtime": runtime})
            total = res["total_bytes"] if res else None
            fits = tuple(
                g["slug"]
                for g in gpus_by_size
                if total is not None and total <= gpu_usable_bytes(g)
            )
            cells.append(Cell(ctx, total, err["message"] if err else None, fits))
        ladder = []
        for ctx in sorted({c for c in CONTEXT_LADDER if c <= max_ctx} | {max_ctx}):
            res, err = memo("infer", {**base, "context": ctx, "runtime": runtime})
            if res:
                ladder.append((ctx, res["total_bytes"]))
        rows.append(FormatRow(fid, label, runtime, weights, None, tuple(cells), tuple(ladder)))
    kv, err = memo("infer", {"model": slug, "weights": "bf16", "context": 1024, "batch": 1})
    kv_per_1k = kv["components"]["kv_cache"] if kv else None
    training = []
    for method in TRAIN_METHODS:
        res, err = memo("train", {"model": slug, "method": method, **DEFAULT_TRAIN_ARGS})
        training.append((method, res, err["message"] if err else None))
    request = {"model": slug, **DEFAULT_INFER_ARGS}
    default_result, _ = memo("infer", request)
    return ModelFacts(
        slug=slug,
        meta=model,
        params=params,
        kv_per_1k_bytes=kv_per_1k,
        kv_dtype_note="16-bit KV cache (kv_dtype auto), batch 1",
        contexts=contexts,
        rows=tuple(rows),
        training=tuple(training),
        default_request=request,
        default_result=default_result,
    )


@dataclass(frozen=True)
class GpuFit:
    model: str
    fmt: str
    max_context: int | None  # largest ladder context that fits; None = not even the smallest
    total_at_max: int | None


def compute_gpu_fits(gpu: Mapping[str, Any], models: Iterable[ModelFacts]) -> tuple[GpuFit, ...]:
    """Return, per model and format, the largest context (on the ladder) one GPU can hold."""
    capacity = gpu_usable_bytes(gpu)
    fits = []
    for facts in models:
        for row in facts.rows:
            best = None
            for ctx, total in row.ladder:
                if total <= capacity:
                    best = (ctx, total)
            fits.append(
                GpuFit(facts.slug, row.fmt, best[0] if best else None, best[1] if best else None)
            )
    return tuple(fits)


def load_accuracy(memo: Memo, reference_dir: Path = REFERENCE_DIR) -> tuple[AccuracySection, ...]:
    """Return the /accuracy/ sections: tests/reference/*.json beside the engine (sitegen)."""
    try:
        return sitegen_accuracy.load_accuracy(reference_dir, ask=memo, root=ROOT)
    except sitegen_accuracy.ReferenceDataError as exc:
        raise BuildError(str(exc)) from exc


@dataclass(frozen=True)
class SiteFacts:
    data: EngineData
    models: tuple[ModelFacts, ...]
    gpu_fits: Mapping[str, tuple[GpuFit, ...]]
    accuracy: tuple[AccuracySection, ...]
    default_request: Mapping[str, Any]
    default_result: Mapping[str, Any]
    build_time: str
    warnings: tuple[str, ...] = ()


def build_datetime() -> dt.datetime:
    """Return the build time: SOURCE_DATE_EPOCH when set (reproducible builds), else now."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    if epoch is not None:
        return dt.datetime.fromtimestamp(int(epoch), tz=dt.UTC)
    return dt.datetime.now(tz=dt.UTC).replace(microsecond=0)


def default_model_slug(models: Iterable[Mapping[str, Any]]) -> str:
    slugs = [m["slug"] for m in models]
    return next((s for s in DEFAULT_MODEL_PREFERENCE if s in slugs), slugs[0])


def _compute_one(
    job: tuple[Mapping[str, Any], EngineData, tuple[tuple[str, str], ...]],
) -> ModelFacts:
    model, data, formats = job
    try:
        return compute_model(Memo(), model, data, formats)
    except BuildError:
        raise
    except Exception as exc:
        raise BuildError(
            f"while computing /models/{model['slug']}/: {type(exc).__name__}: {exc}"
        ) from exc


def compute(data: EngineData, *, strict: bool = False, jobs: int | None = None) -> SiteFacts:
    """Compute every figure the pages show (all through the engine).

    Models are independent, so they are computed in ``jobs`` forked processes (default:
    one per CPU); results come back in catalog order, so the output does not depend on it.
    """
    memo = Memo()
    formats = pick_formats(data.formats)
    job_list = [(model, data, formats) for model in data.models]
    jobs = jobs or os.cpu_count() or 1
    if jobs > 1 and len(job_list) > 1 and "fork" in multiprocessing.get_all_start_methods():
        ctx = multiprocessing.get_context("fork")
        with concurrent.futures.ProcessPoolExecutor(jobs, mp_context=ctx) as pool:
            models = list(pool.map(_compute_one, job_list, chunksize=4))
    else:
        models = [_compute_one(job) for job in job_list]
    warnings = []
    for facts in models:
        for method, _, message in facts.training:
            if message and "not available" in message:
                warnings.append(f"model {facts.slug}, {method} training: {message}")
    if strict and warnings:
        raise BuildError(f"{len(warnings)} warnings in --strict mode; first: {warnings[0]}")
    slug = default_model_slug(data.models)
    request = {"model": slug, **DEFAULT_INFER_ARGS}
    result, error = memo("infer", request)
    if error:
        raise BuildError(f"default calculator state {request}: {error['message']}")
    return SiteFacts(
        data=data,
        models=tuple(models),
        gpu_fits={g["slug"]: compute_gpu_fits(g, models) for g in data.gpus},
        accuracy=load_accuracy(memo),
        default_request=request,
        default_result=result,
        build_time=build_datetime().strftime("%Y-%m-%dT%H:%M:%SZ"),
        warnings=tuple(warnings),
    )


# -------------------------------------------------------------------------- assets


def content_hash(data: bytes, n: int = 10) -> str:
    return hashlib.sha256(data).hexdigest()[:n]


def build_wheel(
    engine_dir: Path = ENGINE_DIR,
    *,
    version: str,
    extra: Mapping[str, bytes] | None = None,
    packages: tuple[Path, ...] | None = None,
) -> tuple[str, bytes]:
    """Return ``(filename, bytes)`` of a deterministic py3-none-any wheel of ``engine/`` and
    ``present/`` (the charts and exports the worker draws with the same code as the build).

    Entries are sorted, timestamps fixed at 1980-01-01, permissions 0644, so the same
    sources give the same bytes (and so the same hashed URL).
    """
    if packages is None:
        packages = (engine_dir, engine_dir.parent / "present")
    files: list[tuple[str, bytes]] = []
    paths = [p for pkg in packages for p in pkg.rglob("*")]
    for path in sorted(paths, key=lambda p: p.relative_to(engine_dir.parent).as_posix()):
        rel = path.relative_to(engine_dir.parent).as_posix()
        if path.is_dir() or "__pycache__" in rel or path.suffix in (".pyc", ".pyo"):
            continue
        if path.suffix not in (".py", ".json", ".typed", ".txt", ".md"):
            continue
        files.append((rel, path.read_bytes()))
    files += sorted((extra or {}).items())  # e.g. engine/__pycache__/*.pyc for Pyodide
    files.sort()
    dist_info = f"{DIST_NAME}-{version}.dist-info"
    metadata = (
        "Metadata-Version: 2.1\n"
        f"Name: vram-insight\nVersion: {version}\n"
        "Summary: Exact GPU-memory estimates for large language models\n"
        "Requires-Python: >=3.11\nLicense: MIT\n"
    ).encode()
    wheel_meta = (
        b"Wheel-Version: 1.0\nGenerator: vram-insight build.py\n"
        b"Root-Is-Purelib: true\nTag: py3-none-any\n"
    )
    files.append((f"{dist_info}/METADATA", metadata))
    files.append((f"{dist_info}/WHEEL", wheel_meta))
    top_level = "".join(f"{pkg.name}\n" for pkg in sorted(packages))
    files.append((f"{dist_info}/top_level.txt", top_level.encode()))
    record_lines = []
    for name, blob in files:
        digest = base64.urlsafe_b64encode(hashlib.sha256(blob).digest()).rstrip(b"=").decode()
        record_lines.append(f"{name},sha256={digest},{len(blob)}")
    record_lines.append(f"{dist_info}/RECORD,,")
    files.append((f"{dist_info}/RECORD", ("\n".join(record_lines) + "\n").encode()))
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, blob in files:
            info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
            info.external_attr = 0o644 << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info, blob, compresslevel=9)
    return f"{DIST_NAME}-{version}-py3-none-any.whl", buf.getvalue()


def png_bytes(width: int, height: int, rows: Iterable[bytes]) -> bytes:
    """Return an RGBA PNG from ``height`` rows of ``width * 4`` bytes (stdlib; deterministic)."""
    raw = b"".join(b"\x00" + row for row in rows)
    if len(raw) != height * (width * 4 + 1):
        raise BuildError(f"PNG rows do not make a {width}x{height} RGBA image")

    def chunk(kind: bytes, body: bytes) -> bytes:
        crc = struct.pack(">I", zlib.crc32(kind + body))
        return struct.pack(">I", len(body)) + kind + body + crc

    header = struct.pack(">IIBBBBB", width, height, 8, 6, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(raw, 9))
        + chunk(b"IEND", b"")
    )


def icon_png(size: int, *, maskable: bool) -> bytes:
    """Return the app icon: three memory bars on indigo (maskable: full-bleed, safe zone 80%).

    Drawn row by row as spans (rounded-corner square, then the bars), no pixel loop.
    """
    bg, clear = bytes((49, 46, 129, 255)), bytes(4)
    pale, accent = bytes((199, 210, 254, 255)), bytes((129, 230, 217, 255))
    inset = 0.2 if maskable else 0.12  # maskable icons keep content inside the 80% circle
    radius = 0.0 if maskable else size * 0.18
    lo, span = size * inset, size * (1 - 2 * inset)
    bars = ((0.0, 0.28, 0.45, pale), (0.36, 0.64, 0.7, pale), (0.72, 1.0, 1.0, accent))
    rows = []
    for y in range(size):
        cy = y + 0.5
        dy = max(radius - cy, cy - (size - radius), 0.0)
        cut = 0 if dy == 0 else round(radius - (max(radius**2 - dy**2, 0.0)) ** 0.5)
        row = [bg] * size
        fy = (cy - lo) / span
        for x0, x1, h, colour in bars:
            if 1 - h <= fy < 1:
                for x in range(round(lo + x0 * span), round(lo + x1 * span)):
                    row[x] = colour
        for x in range(cut):
            row[x] = row[size - 1 - x] = clear
        rows.append(b"".join(row))
    return png_bytes(size, size, rows)


ICON_SVG = (
    '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 64 64">'
    '<rect width="64" height="64" rx="12" fill="#312e81"/>'
    '<rect x="8" y="31" width="13" height="25" fill="#c7d2fe"/>'
    '<rect x="25" y="17" width="13" height="39" fill="#c7d2fe"/>'
    '<rect x="42" y="8" width="14" height="48" fill="#81e6d9"/></svg>\n'
)

_IMPORT_RE = re.compile(r"""(["'])\./([a-z0-9_\-]+\.js)\1""")


@dataclass(frozen=True)
class Assets:
    """Built static files: ``files`` maps output path -> bytes; ``copies`` maps output
    path -> source path (large vendored files, copied without reading into memory)."""

    urls: Mapping[str, str]  # logical name ("app.js", "wheel", "pyodide/") -> URL
    files: Mapping[str, bytes]
    copies: Mapping[str, Path]
    pyodide_version: str
    precache: tuple[str, ...]


def _rewrite_import(match: re.Match[str], done: Mapping[str, tuple[str, str]]) -> str:
    quote, name = match.group(1), match.group(2)
    return f"{quote}./{done[name][0] if name in done else name}{quote}"


def hash_modules(sources: Mapping[str, str]) -> dict[str, tuple[str, str]]:
    """Return {name: (hashed name, rewritten text)} for JS modules importing each other by
    ``"./name.js"``; leaves are hashed first so importers embed their hashed names."""
    deps = {n: {m for _, m in _IMPORT_RE.findall(t) if m in sources} for n, t in sources.items()}
    done: dict[str, tuple[str, str]] = {}
    while len(done) < len(sources):
        ready = sorted(n for n in sources if n not in done and deps[n] <= done.keys())
        if not ready:
            cycle = sorted(set(sources) - done.keys())
            raise BuildError(f"import cycle among site modules: {', '.join(cycle)}")
        for name in ready:
            text = _IMPORT_RE.sub(lambda m: _rewrite_import(m, done), sources[name])
            stem, ext = name.rsplit(".", 1)
            done[name] = (f"{stem}.{content_hash(text.encode())}.{ext}", text)
    return done


def engine_sources(engine_dir: Path = ENGINE_DIR) -> dict[str, str]:
    """Return {"engine/x.py": source} for every module of the engine and of present/."""
    packages = (engine_dir, engine_dir.parent / "present")  # both ship in the wheel
    return {
        p.relative_to(engine_dir.parent).as_posix(): p.read_text(encoding="utf-8")
        for pkg in packages
        for p in sorted(pkg.rglob("*.py"), key=lambda p: p.as_posix())
        if "__pycache__" not in p.parts
    }


@dataclass(frozen=True)
class Bytecode:
    """Bytecode made by the shipped Pyodide: a sourceless stdlib zip and the engine's .pyc."""

    stdlib_zip: bytes | None
    pycs: Mapping[str, bytes]
    note: str = ""  # why there is none (no node, no npm ci...)


class BytecodeJob:
    """Compile the stdlib and the engine to .pyc under Node + Pyodide, in the background.

    Started before ``compute`` so the two overlap; results are cached under
    node_modules/.cache keyed by the exact inputs, so a rebuild reuses identical bytes.
    """

    def __init__(self, pkg: Path = PYODIDE_PKG, engine_dir: Path = ENGINE_DIR) -> None:
        self.proc: subprocess.Popen[bytes] | None = None
        self.note = ""
        node = shutil.which("node")
        if os.environ.get("VRAM_NO_PYC") or node is None or not (pkg / "pyodide.mjs").is_file():
            self.note = "bytecode disabled (VRAM_NO_PYC) or node/pyodide missing"
            self.stdlib_path = self.engine_path = None
            return
        script = COMPILE_SCRIPT.read_bytes()
        version = pyodide_version(pkg).encode()
        stdlib = (pkg / "python_stdlib.zip").read_bytes()
        self.sources = engine_sources(engine_dir)
        src_json = json.dumps(self.sources, sort_keys=True).encode()
        k_std = hashlib.sha256(script + version + stdlib).hexdigest()[:16]
        k_eng = hashlib.sha256(script + version + src_json).hexdigest()[:16]
        self.stdlib_path = CACHE_DIR / f"stdlib-{k_std}.zip"
        self.engine_path = CACHE_DIR / f"engine-{k_eng}.json"
        if self.stdlib_path.is_file() and self.engine_path.is_file():
            return
        CACHE_DIR.mkdir(parents=True, exist_ok=True)
        self.tmp = f".{os.getpid()}.tmp"  # concurrent builds never share a temporary file
        src_file = CACHE_DIR / f"sources-{k_eng}{self.tmp}"
        src_file.write_bytes(src_json)
        have_stdlib = self.stdlib_path.is_file()
        stdlib_in = "-" if have_stdlib else str(pkg / "python_stdlib.zip")
        self.proc = subprocess.Popen(
            [
                node,
                str(COMPILE_SCRIPT),
                stdlib_in,
                str(self.stdlib_path) + self.tmp,
                str(src_file),
                str(self.engine_path) + self.tmp,
                *([str(self.stdlib_path)] if have_stdlib else []),
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        self.src_file = src_file

    def cancel(self) -> None:
        """Stop the Node process (the build failed before needing it)."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.communicate()
            for leftover in CACHE_DIR.glob(f"*{self.tmp}"):
                leftover.unlink(missing_ok=True)

    def result(self) -> Bytecode:
        if self.stdlib_path is None or self.engine_path is None:
            return Bytecode(None, {}, self.note)
        if self.proc is not None:
            _, err = self.proc.communicate(timeout=600)
            self.src_file.unlink(missing_ok=True)
            if self.proc.returncode != 0:
                raise BuildError(f"compiling bytecode under Pyodide failed: {err.decode()[-500:]}")
            for path in (self.stdlib_path, self.engine_path):
                tmp = path.with_name(path.name + self.tmp)
                if tmp.exists():
                    tmp.replace(path)
        pycs = json.loads(self.engine_path.read_text(encoding="utf-8"))
        stdlib = self.stdlib_path.read_bytes()
        for stale in CACHE_DIR.glob("engine-*.json"):  # old engine versions, unused for a day
            if stale != self.engine_path and time.time() - stale.stat().st_mtime > 86400:
                stale.unlink(missing_ok=True)
        return Bytecode(stdlib, {k: base64.b64decode(v) for k, v in sorted(pycs.items())})


def pyodide_version(pkg: Path = PYODIDE_PKG) -> str:
    try:
        return json.loads((pkg / "package.json").read_text(encoding="utf-8"))["version"]
    except FileNotFoundError:
        raise BuildError(f"Pyodide is not installed ({pkg} missing): run `npm ci` first") from None


def build_assets(
    engine_version: str,
    protocol: int,
    *,
    pkg: Path = PYODIDE_PKG,
    bytecode: Bytecode | None = None,
) -> Assets:
    """Return hashed JS/CSS, the engine wheel, icons and the vendored Pyodide runtime.

    With ``bytecode`` the worker loads a sourceless stdlib zip and a wheel with .pyc, made
    by the same Pyodide build, so the browser compiles nothing at start-up.
    """
    bytecode = bytecode or Bytecode(None, {})
    files: dict[str, bytes] = {}
    copies: dict[str, Path] = {}
    urls: dict[str, str] = {}
    pv = pyodide_version(pkg)
    pyodide_dir = f"pyodide/{pv}/"
    for name in PYODIDE_FILES:
        if not (pkg / name).is_file():
            raise BuildError(f"Pyodide {pv}: {name} missing from {pkg}; run `npm ci`")
        copies[pyodide_dir + name] = pkg / name
    urls["pyodide/"] = "/" + pyodide_dir
    urls["stdlib"] = f"/{pyodide_dir}python_stdlib.zip"
    if bytecode.stdlib_zip is not None:
        stdlib_path = f"{pyodide_dir}python_stdlib.pyc.{content_hash(bytecode.stdlib_zip)}.zip"
        files[stdlib_path] = bytecode.stdlib_zip
        urls["stdlib"] = "/" + stdlib_path

    wheel_name, wheel = build_wheel(version=engine_version, extra=bytecode.pycs)
    wheel_path = f"wheels/{content_hash(wheel)}/{wheel_name}"
    files[wheel_path] = wheel
    urls["wheel"] = "/" + wheel_path

    config = {
        "ENGINE_VERSION": engine_version,
        "PROTOCOL": protocol,
        "PYODIDE_INDEX_URL": urls["pyodide/"],
        "PYODIDE_VERSION": pv,
        "STDLIB_URL": urls["stdlib"],
        "WHEEL_URL": urls["wheel"],
        # Web Vitals beacon (site/perf.js): off unless the build names an endpoint.
        "ANALYTICS_URL": os.environ.get("VRAM_ANALYTICS_URL", ""),
    }
    config_js = (
        "// Generated by build.py: where the worker finds the runtime and the engine.\n"
        + "".join(f"export const {k} = {json.dumps(v)};\n" for k, v in sorted(config.items()))
    )
    sources = {p.name: p.read_text(encoding="utf-8") for p in sorted(SITE_DIR.glob("*.js"))}
    sources.pop("sw.js", None)  # the service worker keeps a stable URL; see render_sw
    sources["config.js"] = config_js
    for name, (hashed, text) in sorted(hash_modules(sources).items()):
        files[f"assets/{hashed}"] = text.encode()
        urls[name] = f"/assets/{hashed}"
    for css in sorted(SITE_DIR.glob("*.css")):
        blob = css.read_bytes()
        path = f"assets/{css.stem}.{content_hash(blob)}.css"
        files[path] = blob
        urls[css.name] = "/" + path

    for size in (192, 512):
        files[f"icons/icon-{size}.png"] = icon_png(size, maskable=False)
        files[f"icons/maskable-{size}.png"] = icon_png(size, maskable=True)
    files["icons/apple-touch-icon.png"] = icon_png(180, maskable=True)
    files["icons/icon.svg"] = ICON_SVG.encode()
    files["favicon.ico"] = icon_png(32, maskable=False)  # PNG-in-.ico is accepted by browsers

    precache = sorted(
        [
            "/",
            "/offline.html",
            "/version.json",
            "/manifest.webmanifest",
            "/icons/icon.svg",
            "/icons/icon-192.png",
        ]
        + [u for n, u in urls.items() if n.endswith((".js", ".css"))]
        + [urls["wheel"], urls["stdlib"]]
        + ["/" + p for p in copies if not p.endswith("python_stdlib.zip")]
    )
    return Assets(
        urls=urls, files=files, copies=copies, pyodide_version=pv, precache=tuple(precache)
    )


# --------------------------------------------------------------------------- plan


class BaseContext(TypedDict):
    """Every template: ``site`` (assets, versions, model/GPU lists) and ``page`` meta."""

    site: Mapping[str, Any]
    page: Mapping[str, Any]  # title, description, url, canonical, section


class CalculatorContext(BaseContext):
    request: Mapping[str, Any]  # the default engine request, baked into the page
    result: Mapping[str, Any]  # its engine result (schema 1), shown at first paint
    formats: list[dict[str, str]]
    all_formats: list[dict[str, str]]
    presets: list[Mapping[str, Any]]
    chart: Mapping[str, str]  # present.render.render(result): donut, legend, capacity, exports


class ModelsContext(BaseContext):
    models: list[dict[str, Any]]


class GpusContext(BaseContext):
    gpus: list[dict[str, Any]]


class ModelContext(BaseContext):
    m: ModelFacts
    name: str
    gpus: Mapping[str, Mapping[str, Any]]
    formats: Mapping[str, str]


class GpuContext(BaseContext):
    g: Mapping[str, Any]
    name: str
    capacity: int
    specs: list[dict[str, Any]]
    formats: Mapping[str, str]
    fits: list[dict[str, Any]]


class ContentContext(BaseContext):
    body: str  # trusted HTML rendered from content/*.md


class AccuracyContext(BaseContext):
    sections: list[AccuracySection]


@dataclass(frozen=True)
class Page:
    """One output HTML file: ``path`` relative to public/, ``url`` its canonical URL."""

    path: str
    url: str
    template: str
    context: Mapping[str, Any]


def _page_meta(url: str, title: str, description: str, section: str) -> dict[str, Any]:
    return {
        "url": url,
        "canonical": SITE_URL + url,
        "title": title,
        "description": description,
        "section": section,
    }


def site_context(facts: SiteFacts, assets: Assets) -> dict[str, Any]:
    data = facts.data
    return {
        "name": SITE_NAME,
        "url": SITE_URL,
        "assets": dict(assets.urls),
        "engine_version": data.version.get("engine_version"),
        "protocol": data.version.get("protocol"),
        "pyodide_version": assets.pyodide_version,
        "build_time": facts.build_time,
        "models": [{"slug": m["slug"], "name": model_name(m)} for m in data.models],
        "gpus": [
            {
                "slug": g["slug"],
                "name": gpu_name(g),
                "bytes": gpu_capacity_bytes(g),
                "usable": gpu_usable_bytes(g),
            }
            for g in data.gpus
        ],
    }


def plan_pages(facts: SiteFacts, assets: Assets, methodology_html: str = "") -> list[Page]:
    """Return every HTML page to render (pure: no disk, no engine calls)."""
    site = site_context(facts, assets)
    data = facts.data
    gpus = {g["slug"]: g for g in data.gpus}
    formats = dict(pick_formats(data.formats))
    pages = [
        Page(
            "index.html",
            "/",
            "calculator.html",
            CalculatorContext(
                site=site,
                page=_page_meta(
                    "/",
                    f"{SITE_NAME} — GPU memory calculator for LLMs",
                    "How much GPU memory does an LLM need? Exact inference, training, LoRA and "
                    "QLoRA memory for any Hugging Face config, computed in your browser.",
                    "calculator",
                ),
                request=facts.default_request,
                result=facts.default_result,
                formats=[{"id": f, "label": lbl} for f, lbl in formats.items()],
                all_formats=[_fmt_option(f) for f in data.formats],
                presets=list(data.presets),
                # the donut, legend and exports, drawn by the code the worker runs (present/)
                chart=present_render(facts.default_result),
            ),
        ),
        Page(
            "models/index.html",
            "/models/",
            "models.html",
            ModelsContext(
                site=site,
                page=_page_meta(
                    "/models/",
                    f"LLM memory requirements — all models · {SITE_NAME}",
                    f"Parameters, weight sizes and KV cache for {len(facts.models)} open LLMs.",
                    "models",
                ),
                models=[_model_summary(m) for m in facts.models],
            ),
        ),
        Page(
            "gpus/index.html",
            "/gpus/",
            "gpus.html",
            GpusContext(
                site=site,
                page=_page_meta(
                    "/gpus/",
                    f"GPUs for LLMs — memory, bandwidth, price · {SITE_NAME}",
                    f"Memory, bandwidth and price of {len(data.gpus)} GPUs, "
                    "with the models each runs.",
                    "gpus",
                ),
                gpus=[_gpu_summary(g, facts.gpu_fits[g["slug"]]) for g in data.gpus],
            ),
        ),
    ]
    for m in facts.models:
        name = model_name(m.meta)
        pages.append(
            Page(
                f"models/{m.slug}/index.html",
                f"/models/{m.slug}/",
                "model.html",
                ModelContext(
                    site=site,
                    page=_page_meta(
                        f"/models/{m.slug}/",
                        f"{name} GPU memory requirements · {SITE_NAME}",
                        f"How much VRAM {name} needs: weights at every quantization, KV cache per "
                        f"1k tokens, memory by context length, GPUs that fit, training and LoRA.",
                        "models",
                    ),
                    m=m,
                    name=name,
                    gpus=gpus,
                    formats=formats,
                ),
            )
        )
    models_by_slug = {m.slug: m for m in facts.models}
    matrix_formats = {f: label for f, label in formats.items() if f in MATRIX_FORMATS}
    for g in data.gpus:
        name = gpu_name(g)
        pages.append(
            Page(
                f"gpus/{g['slug']}/index.html",
                f"/gpus/{g['slug']}/",
                "gpu.html",
                GpuContext(
                    site=site,
                    page=_page_meta(
                        f"/gpus/{g['slug']}/",
                        f"Which LLMs fit on {name}? · {SITE_NAME}",
                        f"Every catalog model that runs on one {name}, at which quantization, and "
                        "the longest context it can serve.",
                        "gpus",
                    ),
                    g=g,
                    name=name,
                    capacity=gpu_capacity_bytes(g),
                    specs=_gpu_specs(g),
                    formats=matrix_formats,
                    fits=_gpu_fit_rows(facts.gpu_fits[g["slug"]], models_by_slug, matrix_formats),
                ),
            )
        )
    pages.append(
        Page(
            "methodology/index.html",
            "/methodology/",
            "content.html",
            ContentContext(
                site=site,
                page=_page_meta(
                    "/methodology/",
                    f"Methodology — how the memory is computed · {SITE_NAME}",
                    "Every formula behind the estimates, with its source.",
                    "methodology",
                ),
                body=methodology_html,
            ),
        )
    )
    pages.append(
        Page(
            "accuracy/index.html",
            "/accuracy/",
            "accuracy.html",
            AccuracyContext(
                site=site,
                page=_page_meta(
                    "/accuracy/",
                    f"Accuracy — engine vs measured memory · {SITE_NAME}",
                    "The engine's figures beside reference measurements, with the error of each.",
                    "accuracy",
                ),
                sections=list(facts.accuracy),
            ),
        )
    )
    pages.append(
        Page(
            "404.html",
            "/404.html",
            "404.html",
            BaseContext(
                site=site,
                page=_page_meta("/404.html", f"Not found · {SITE_NAME}", "Page not found.", ""),
            ),
        )
    )
    pages.append(
        Page(
            "offline.html",
            "/offline.html",
            "offline.html",
            BaseContext(
                site=site,
                page=_page_meta("/offline.html", f"Offline · {SITE_NAME}", "You are offline.", ""),
            ),
        )
    )
    return pages


def _fmt_option(fmt: Mapping[str, Any]) -> dict[str, str]:
    return {
        "id": str(fmt["id"]),
        "label": str(fmt.get("label") or fmt["id"]),
        "runtimes": " ".join(fmt.get("runtimes") or ()),
    }


def _model_summary(m: ModelFacts) -> dict[str, Any]:
    weights = {row.fmt: row.weights_bytes for row in m.rows}
    return {
        "slug": m.slug,
        "name": model_name(m.meta),
        "total": m.params.get("total"),
        "active": m.params.get("active_per_token"),
        "is_moe": m.params.get("is_moe"),
        "model_type": m.params.get("model_type"),
        "max_context": m.params.get("max_position_embeddings"),
        "kv_per_1k": m.kv_per_1k_bytes,
        "weights": weights,
    }


def _gpu_specs(g: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Return the GPU's spec rows: label, text, optional exact bytes and source."""
    rows: list[dict[str, Any]] = []

    def add(label: str, text: Any, *, nbytes: int | None = None, source: str = "") -> None:
        if text not in (None, "") or nbytes is not None:
            rows.append(
                {"label": label, "text": str(text or ""), "bytes": nbytes, "source": source}
            )

    add("Vendor · segment", f"{g.get('vendor', '?')} · {g.get('kind', '?')}")
    add(
        "Memory",
        g.get("memory_label"),
        nbytes=gpu_capacity_bytes(g),
        source=g.get("spec_source", ""),
    )
    usable = g.get("usable_bytes")
    if isinstance(usable, int):
        add(
            f"Usable by a process ({g.get('usable_basis', '')})",
            "",
            nbytes=usable,
            source=g.get("usable_source", ""),
        )
    if _bandwidth_gbs(g):
        add("Memory bandwidth", f"{_bandwidth_gbs(g):,} GB/s")
    for key, label in (("bf16_tflops", "BF16 dense"), ("fp8_tflops", "FP8 dense")):
        if g.get(key):
            add(label, f"{g[key]:g} TFLOPS")
    if g.get("tdp_w"):
        add("Board power", f"{g['tdp_w']} W")
    if g.get("price_usd"):
        add(
            "Price",
            f"${g['price_usd']:,} ({g.get('price_kind', '')}, {g.get('price_date', '')})",
            source=g.get("price_source", ""),
        )
    add("Data checked", g.get("checked"))
    add("Notes", g.get("notes"))
    return rows


def _gpu_summary(g: Mapping[str, Any], fits: Iterable[GpuFit]) -> dict[str, Any]:
    fitting_models = {f.model for f in fits if f.max_context}
    return {
        "slug": g["slug"],
        "name": gpu_name(g),
        "bytes": gpu_capacity_bytes(g),
        "price": g.get("price_usd"),
        "bandwidth": _bandwidth_gbs(g),
        "models_fit": len(fitting_models),
    }


def _bandwidth_gbs(g: Mapping[str, Any]) -> int | None:
    """Return memory bandwidth in GB/s (10**9 bytes/s, as datasheets quote it)."""
    value = g.get("bandwidth_bytes_per_s")
    return round(value / 10**9) if isinstance(value, (int, float)) else None


def _gpu_fit_rows(
    fits: Iterable[GpuFit], models: Mapping[str, ModelFacts], formats: Mapping[str, str]
) -> list[dict[str, Any]]:
    by_model: dict[str, dict[str, GpuFit]] = {}
    for f in fits:
        by_model.setdefault(f.model, {})[f.fmt] = f
    rows = []
    for slug in sorted(by_model):
        cells = by_model[slug]
        if not any(c.max_context for c in cells.values()):
            continue
        rows.append({"slug": slug, "name": model_name(models[slug].meta), "cells": cells})
    return rows


# -------------------------------------------------------------------------- render


def _filters() -> dict[str, Callable[..., Any]]:
    import markupsafe

    from engine.units import format_gib

    def gib(n: int | None) -> str:
        return "—" if n is None else format_gib(int(n))

    def human_count(n: int | None) -> str:
        if n is None:
            return "—"
        for unit, scale in (("T", 10**12), ("B", 10**9), ("M", 10**6), ("K", 10**3)):
            if n >= scale:
                return f"{n / scale:.2f}{unit}".replace(".00", "")
        return str(n)

    def tokens(n: int | None) -> str:
        if n is None:
            return "—"
        if n >= 1024 and n % 1024 == 0:
            return f"{n // 1024}k"
        return f"{n:,}"

    def to_json(value: Any) -> str:
        text = json.dumps(value, sort_keys=True, separators=(",", ":"), default=_json_default)
        # Safe inside <script type="application/json">: no tag can be closed from the data.
        text = text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
        return markupsafe.Markup(text)

    return {"gib": gib, "count": human_count, "tokens": tokens, "tojson_safe": to_json}


def _json_default(value: Any) -> Any:
    if hasattr(value, "__dataclass_fields__"):
        from dataclasses import asdict

        return asdict(value)
    raise TypeError(f"not JSON serializable: {type(value).__name__}")


def make_env(templates_dir: Path = TEMPLATES_DIR) -> Any:
    """Return the Jinja environment: StrictUndefined (a missing key fails), autoescape."""
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(templates_dir)),
        undefined=jinja2.StrictUndefined,
        autoescape=jinja2.select_autoescape(("html", "xml")),
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters.update(_filters())
    env.globals["component_names"] = _component_names()
    return env


@functools.cache
def _component_names() -> tuple[str, ...]:
    from engine.result import COMPONENT_NAMES

    return COMPONENT_NAMES


def render_page(env: Any, page: Page) -> str:
    """Return the page's HTML (pure); errors name the page."""
    try:
        return env.get_template(page.template).render(**page.context)
    except Exception as exc:
        raise BuildError(
            f"while rendering {page.url} ({page.template}): {type(exc).__name__}: {exc}"
        ) from exc


def render_methodology(content_dir: Path = CONTENT_DIR) -> str:
    import markdown

    path = content_dir / "methodology.md"
    if not path.is_file():
        return "<p>Methodology is being written.</p>"
    return markdown.markdown(
        path.read_text(encoding="utf-8"), extensions=["tables", "toc", "fenced_code", "attr_list"]
    )


def render_sw(version: str, protocol: int, pyodide_version: str, precache: Iterable[str]) -> str:
    """Return site/sw.js with the cache version, protocol and precache list filled in."""
    template = (SITE_DIR / "sw.js").read_text(encoding="utf-8")
    values = {
        "__VERSION__": json.dumps(version),
        "__PROTOCOL__": json.dumps(protocol),
        "__PYODIDE_VERSION__": json.dumps(pyodide_version),
        "__PRECACHE__": json.dumps(sorted(precache), indent=1),
    }
    for key, value in values.items():
        if key not in template:
            raise BuildError(f"site/sw.js lacks the {key} placeholder")
        template = template.replace(key, value)
    return template


def render_sitemap(pages: Iterable[Page], lastmod: str) -> str:
    urls = sorted(p.url for p in pages if p.url.endswith("/"))
    body = "".join(
        f"  <url><loc>{SITE_URL}{u}</loc><lastmod>{lastmod}</lastmod></url>\n" for u in urls
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">\n' + body + "</urlset>\n"
    )


def render_manifest() -> str:
    icons = [
        {"src": "/icons/icon-192.png", "sizes": "192x192", "type": "image/png", "purpose": "any"},
        {"src": "/icons/icon-512.png", "sizes": "512x512", "type": "image/png", "purpose": "any"},
        {
            "src": "/icons/maskable-192.png",
            "sizes": "192x192",
            "type": "image/png",
            "purpose": "maskable",
        },
        {
            "src": "/icons/maskable-512.png",
            "sizes": "512x512",
            "type": "image/png",
            "purpose": "maskable",
        },
        {"src": "/icons/icon.svg", "sizes": "any", "type": "image/svg+xml", "purpose": "any"},
    ]
    manifest = {
        "name": f"{SITE_NAME} — GPU memory calculator",
        "short_name": SITE_NAME,
        "description": "Exact GPU memory for LLM inference, training and fine-tuning, offline.",
        "id": "/",
        "start_url": "/",
        "scope": "/",
        "display": "standalone",
        "background_color": "#ffffff",
        "theme_color": "#312e81",
        "icons": icons,
        "categories": ["developer", "utilities"],
    }
    return json.dumps(manifest, indent=2, sort_keys=True) + "\n"


def header_for(url_path: str) -> dict[str, str]:
    """Return the response headers for a path (HEADER_RULES, later rules add/override)."""
    headers: dict[str, str] = {}
    for pattern, values in HEADER_RULES:
        regex = "^" + re.escape(pattern).replace(r"\*", ".*") + "$"
        if re.match(regex, url_path):
            headers.update(values)
    return headers


def render_netlify_toml() -> str:
    """Return netlify.toml (checked in; `build.py` verifies it is current)."""
    lines = [
        "# Generated from HEADER_RULES / REDIRECTS in build.py (python build.py netlify-toml).",
        "[build]",
        '  command = "pip install .[site] && npm ci && python build.py --strict"',
        '  publish = "public"',
        "",
        "[build.environment]",
        '  PYTHON_VERSION = "3.12"',
        '  NODE_VERSION = "20"',
        "",
    ]
    for src, dst, status in REDIRECTS:
        lines += [
            "[[redirects]]",
            f'  from = "{src}"',
            f'  to = "{dst}"',
            f"  status = {status}",
            "",
        ]
    for pattern, values in HEADER_RULES:
        lines += ["[[headers]]", f'  for = "{pattern}"', "  [headers.values]"]
        lines += [f'    {k} = "{v}"' for k, v in values.items()]
        lines.append("")
    return "\n".join(lines)


def render_site(facts: SiteFacts, assets: Assets) -> dict[str, bytes]:
    """Return every generated file (path -> bytes) except the vendored copies."""
    env = make_env()
    pages = plan_pages(facts, assets, render_methodology())
    out: dict[str, bytes] = dict(assets.files)
    for page in pages:
        html = render_page(env, page)
        size = len(html.encode())
        if size > PAGE_LIMIT_BYTES:
            raise BuildError(
                f"{page.url} is {size:,} bytes, over the {PAGE_LIMIT_BYTES:,} byte limit"
            )
        out[page.path] = html.encode()
    version = facts.data.version
    date = facts.build_time[:10]
    out["sitemap.xml"] = render_sitemap(pages, date).encode()
    out["robots.txt"] = f"User-agent: *\nAllow: /\nSitemap: {SITE_URL}/sitemap.xml\n".encode()
    out["manifest.webmanifest"] = render_manifest().encode()
    # The cache version covers every byte the service worker may serve.
    digest = hashlib.sha256()
    for path in sorted(out):
        digest.update(path.encode() + b"\0" + hashlib.sha256(out[path]).digest())
    for path in sorted(assets.copies):
        digest.update(path.encode())  # vendored files are versioned by their directory
    site_version = f"{version['engine_version']}-{digest.hexdigest()[:10]}"
    version_info = {
        "version": site_version,
        "engine_version": version["engine_version"],
        "protocol": version["protocol"],
        "schema": version.get("schema"),
        "pyodide_version": assets.pyodide_version,
        "build_time": facts.build_time,
        "models": len(facts.models),
        "gpus": len(facts.data.gpus),
    }
    out["version.json"] = (json.dumps(version_info, indent=2, sort_keys=True) + "\n").encode()
    health = {
        "status": "ok",
        **{k: version_info[k] for k in ("version", "engine_version", "build_time", "protocol")},
    }
    out["api/health.json"] = (json.dumps(health, indent=2, sort_keys=True) + "\n").encode()
    out["sw.js"] = render_sw(
        site_version, version["protocol"], assets.pyodide_version, assets.precache
    ).encode()
    return out


# --------------------------------------------------------------------------- write


def write_site(out_dir: Path, files: Mapping[str, bytes], copies: Mapping[str, Path]) -> None:
    """Empty ``out_dir`` and write every file (the only step that touches disk)."""
    if out_dir.exists():
        shutil.rmtree(out_dir)
    out_dir.mkdir(parents=True)
    for rel in sorted(files):
        target = out_dir / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(files[rel])
    for rel in sorted(copies):
        target = out_dir / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(copies[rel], target)


@dataclass
class BuildReport:
    out_dir: Path
    files: int
    warnings: tuple[str, ...] = ()
    sizes: dict[str, int] = field(default_factory=dict)


def build(out_dir: Path = PUBLIC, *, strict: bool = False) -> BuildReport:
    """Run the whole pipeline; return what was written."""
    sys.path.insert(0, str(ROOT)) if str(ROOT) not in sys.path else None
    bytecode = BytecodeJob()  # runs under Node while the engine computes
    try:
        data = load_engine_data()  # load
        warnings = validate(data)  # validate
        facts = compute(data, strict=strict)  # compute
    except BaseException:
        bytecode.cancel()
        raise
    assets = build_assets(
        data.version["engine_version"], data.version["protocol"], bytecode=bytecode.result()
    )
    files = render_site(facts, assets)  # plan + render
    write_site(out_dir, files, assets.copies)  # write
    sizes = {p: len(b) for p, b in files.items() if p.endswith(".html")}
    return BuildReport(
        out_dir, len(files) + len(assets.copies), tuple(warnings) + facts.warnings, sizes
    )


# --------------------------------------------------------------------------- serve


def make_handler(root: Path) -> type[http.server.SimpleHTTPRequestHandler]:
    """Return a request handler serving ``root`` with the production headers and MIME types."""

    class Handler(http.server.SimpleHTTPRequestHandler):
        extensions_map: ClassVar[dict[str, str]] = {
            **http.server.SimpleHTTPRequestHandler.extensions_map,
            **MIME_TYPES,
        }

        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, directory=str(root), **kwargs)

        def translate_path(self, path: str) -> str:
            bare = path.split("?", 1)[0].split("#", 1)[0]
            for src, dst, _ in REDIRECTS:
                if bare == src:
                    path = dst
            return super().translate_path(path)

        def send_head(self) -> Any:
            target = Path(self.translate_path(self.path))
            if not target.exists() or (target.is_dir() and not (target / "index.html").exists()):
                body = (
                    (root / "404.html").read_bytes()
                    if (root / "404.html").exists()
                    else b"not found"
                )
                self.send_response(404)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                return io.BytesIO(body)
            return super().send_head()

        def end_headers(self) -> None:
            url_path = self.path.split("?", 1)[0]
            for key, value in header_for(url_path).items():
                if key != "Content-Type":
                    self.send_header(key, value)
            super().end_headers()

        def log_message(self, format: str, *args: Any) -> None:  # quiet
            if os.environ.get("SERVE_LOG"):
                super().log_message(format, *args)

    return Handler


class ThreadingServer(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True


def serve(root: Path = PUBLIC, host: str = "127.0.0.1", port: int = 8000) -> None:
    server = ThreadingServer((host, port), make_handler(root))
    print(f"serving {root} on http://{host}:{port}/ (Ctrl-C to stop)", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


# ---------------------------------------------------------------------------- main


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "command", nargs="?", default="build", choices=("build", "serve", "netlify-toml")
    )
    parser.add_argument("--strict", action="store_true", help="turn warnings into errors")
    parser.add_argument(
        "--out", type=Path, default=PUBLIC, help="output directory (default public/)"
    )
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--no-build", action="store_true", help="serve without rebuilding")
    args = parser.parse_args(argv)
    if args.command == "netlify-toml":
        sys.stdout.write(render_netlify_toml())
        return 0
    if not (args.command == "serve" and args.no_build):
        started = time.perf_counter()
        try:
            report = build(args.out, strict=args.strict)
        except Exception as exc:  # the one handler: a one-line message, exit 1
            print(f"build failed: {type(exc).__name__}: {exc}", file=sys.stderr)
            if os.environ.get("BUILD_TRACEBACK"):
                raise
            return 1
        for warning in report.warnings:
            print(f"warning: {warning}", file=sys.stderr)
        print(
            f"built {report.files} files into {args.out} in {time.perf_counter() - started:.2f} s",
            flush=True,
        )
    if args.command == "serve":
        serve(args.out, port=args.port)
    return 0


if __name__ == "__main__":
    sys.exit(main())
