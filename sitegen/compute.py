"""Load, validate and compute: every figure on the site, from ``engine.api.call``."""

from __future__ import annotations

import concurrent.futures
import datetime as dt
import functools
import hashlib
import json
import multiprocessing
import os
import pickle
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sitegen import accuracy as sitegen_accuracy
from sitegen.accuracy import AccuracySection
from sitegen.config import (
    CACHE_DIR,
    COMMON_FORMATS,
    CONTEXT_LADDER,
    DEFAULT_INFER_ARGS,
    DEFAULT_MODEL_PREFERENCE,
    DEFAULT_TRAIN_ARGS,
    MATRIX_FORMATS,
    REFERENCE_DIR,
    ROOT,
    TABLE_CONTEXTS,
    TRAIN_METHODS,
    BuildError,
)
from sitegen.i18n import Text

FACTS_CACHE_DIR = CACHE_DIR / "facts"


def present_render(result: Mapping[str, Any]) -> dict[str, str]:
    """Return present.render.render(result): the view (panel, chart) of a baked result."""
    from present.render import render

    return render(dict(result))


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
        # the message itself (an engine.messages.Message), so /zh/ pages can render it in Chinese
        return None, {**exc.to_dict(), "message": exc.message}
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
    """Return the GPU's physical memory in bytes (``GpuSpec.memory_bytes``, op ``gpus``)."""
    return int(gpu["memory_bytes"])


def gpu_usable_bytes(gpu: Mapping[str, Any]) -> int:
    """Return the bytes a runtime can allocate (``GpuSpec.usable_bytes``, op ``gpus``)."""
    return int(gpu["usable_bytes"])


def fits_on(gpu: Mapping[str, Any], need_bytes: int, runtime: str | None = None) -> bool:
    """The engine's verdict: does ``need_bytes`` fit one GPU of this kind under ``runtime``?

    ``engine.verdict`` decides (the rule behind every result's ``details.fit``): the budget
    is the usable bytes, or vLLM's default share of them.
    """
    return need_bytes <= _fit_limit(str(gpu["slug"]), runtime)


@functools.cache
def _fit_limit(slug: str, runtime: str | None) -> int:
    """The most bytes one GPU holds under ``runtime``: ``fit_verdict``'s limit, asked once
    per (GPU, runtime), since a build asks millions of times (GPUs x models x contexts)."""
    from engine.gpus import get_gpu
    from engine.verdict import budget_bytes, fit_verdict

    spec = get_gpu(slug)
    budget = budget_bytes(spec, _budget_workload(runtime))
    verdict = fit_verdict(spec, (budget,), budget_bytes=budget)
    assert verdict.fits and not fit_verdict(spec, (budget + 1,), budget_bytes=budget).fits
    return int(verdict.budget_bytes)


@functools.cache
def _budget_workload(runtime: str | None) -> Any:
    """The workload whose runtime sets the budget (only vLLM's differs); None: usable bytes."""
    if runtime != "vllm":
        return None
    from engine.workload import InferenceWorkload

    return InferenceWorkload(runtime="vllm")


def gpu_name(gpu: Mapping[str, Any]) -> str:
    """The GPU's display name (``GpuSpec.name``)."""
    return str(gpu["name"])


def model_name(model: Mapping[str, Any]) -> str:
    """The model's display name (``CatalogEntry.display_name``, op ``models``)."""
    return str(model["display_name"])


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
                g["slug"] for g in gpus_by_size if total is not None and fits_on(g, total, runtime)
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
        kv_dtype_note=Text("16-bit KV cache (kv_dtype auto), batch 1"),
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
    fits = []
    for facts in models:
        for row in facts.rows:
            best = None
            for ctx, total in row.ladder:
                if fits_on(gpu, total, row.runtime):
                    best = (ctx, total)
            fits.append(
                GpuFit(facts.slug, row.fmt, best[0] if best else None, best[1] if best else None)
            )
    return tuple(fits)


def load_accuracy(memo: Memo, reference_dir: Path = REFERENCE_DIR) -> tuple[AccuracySection, ...]:
    """Return the /accuracy/ sections: reference/*.json beside the engine (sitegen)."""
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


@functools.cache
def _code_key() -> str:
    """Hash of what a model's figures depend on besides its own data: the engine's code and
    tables (not the catalog), this module and the build's config."""
    digest = hashlib.sha256()
    for path in sorted((ROOT / "engine").rglob("*")):
        rel = path.relative_to(ROOT).as_posix()
        if path.is_file() and path.suffix in (".py", ".json") and "/data/models/" not in rel:
            digest.update(rel.encode() + b"\0" + path.read_bytes() + b"\0")
    for path in (Path(__file__), ROOT / "sitegen" / "config.py"):
        digest.update(path.read_bytes())
    return digest.hexdigest()


def _facts_cache_path(
    model: Mapping[str, Any], data: EngineData, formats: tuple[tuple[str, str], ...]
) -> Path | None:
    """Where a model's computed facts are kept between builds (a warm build reads them
    instead of asking the engine again), keyed by everything they depend on."""
    from engine.catalog import load_config

    if os.environ.get("VRAM_NO_FACTS_CACHE"):
        return None
    try:
        config = load_config(str(model["slug"]))
    except Exception:
        return None
    key = json.dumps(
        [_code_key(), model, config, data.gpus, data.formats, formats], sort_keys=True
    )
    return FACTS_CACHE_DIR / f"{hashlib.sha256(key.encode()).hexdigest()[:32]}.pickle"


def _compute_one(
    job: tuple[Mapping[str, Any], EngineData, tuple[tuple[str, str], ...]],
) -> ModelFacts:
    model, data, formats = job
    cached = _facts_cache_path(model, data, formats)
    if cached is not None and cached.is_file():
        try:
            facts = pickle.loads(cached.read_bytes())
            if isinstance(facts, ModelFacts) and facts.slug == model["slug"]:
                return facts
        except Exception:  # a damaged or stale cache file: compute again
            pass
    try:
        facts = compute_model(Memo(), model, data, formats)
        if cached is not None:
            cached.parent.mkdir(parents=True, exist_ok=True)
            tmp = cached.with_suffix(f".{os.getpid()}.tmp")
            tmp.write_bytes(pickle.dumps(facts, protocol=pickle.HIGHEST_PROTOCOL))
            tmp.replace(cached)
        return facts
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
