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
import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from sitegen.assets import (
    Assets,
    Bytecode,
    BytecodeJob,
    build_assets,
    engine_sources,
    hash_modules,
    pyodide_version,
)
from sitegen.compute import (
    Cell,
    EngineData,
    FormatRow,
    GpuFit,
    Memo,
    ModelFacts,
    SiteFacts,
    build_datetime,
    compute,
    compute_gpu_fits,
    compute_model,
    default_model_slug,
    engine_call,
    engine_try,
    format_runtimes,
    gpu_capacity_bytes,
    gpu_name,
    gpu_usable_bytes,
    infer_any_runtime,
    load_accuracy,
    load_engine_data,
    model_contexts,
    model_name,
    pick_formats,
    present_render,
    validate,
)
from sitegen.config import (
    APP,
    CACHE_DIR,
    COMMON_FORMATS,
    COMPILE_SCRIPT,
    CONTENT_DIR,
    CONTEXT_LADDER,
    DEFAULT_INFER_ARGS,
    DEFAULT_MODEL_PREFERENCE,
    DEFAULT_TRAIN_ARGS,
    DIST_NAME,
    ENGINE_DIR,
    MATRIX_FORMATS,
    PAGE_LIMIT_BYTES,
    PUBLIC,
    PYODIDE_FILES,
    PYODIDE_PKG,
    REFERENCE_DIR,
    ROOT,
    SITE_DIR,
    SITE_NAME,
    SITE_URL,
    TABLE_CONTEXTS,
    TEMPLATES_DIR,
    TRAIN_METHODS,
    BuildError,
)
from sitegen.headers import (
    CSP,
    HEADER_RULES,
    IMMUTABLE,
    MIME_TYPES,
    NO_CACHE,
    NOT_FOUND_PAGES,
    REDIRECTS,
    SECURITY_HEADERS,
    header_for,
    not_found_page,
    render_netlify_toml,
)
from sitegen.icons import ICON_SVG, icon_png, png_bytes
from sitegen.pages import (
    AccuracyContext,
    BaseContext,
    CalculatorContext,
    ContentContext,
    GpuContext,
    GpusContext,
    ModelContext,
    ModelsContext,
    Page,
    plan_pages,
    site_context,
)
from sitegen.render import (
    make_env,
    render_manifest,
    render_methodology,
    render_page,
    render_site,
    render_sitemap,
    render_sw,
)
from sitegen.serve import ThreadingServer, make_handler, serve
from sitegen.wheel import build_wheel, content_hash
from sitegen.write import write_site

# Each step lives in sitegen/, one module per job: config, compute (load, validate, compute),
# wheel, icons, assets, pages (plan), render, write, headers, serve. The names are re-exported
# here because deploy/, tests/ and bench/ import them from ``build``.
__all__ = [
    "APP",
    "CACHE_DIR",
    "COMMON_FORMATS",
    "COMPILE_SCRIPT",
    "CONTENT_DIR",
    "CONTEXT_LADDER",
    "CSP",
    "DEFAULT_INFER_ARGS",
    "DEFAULT_MODEL_PREFERENCE",
    "DEFAULT_TRAIN_ARGS",
    "DIST_NAME",
    "ENGINE_DIR",
    "HEADER_RULES",
    "ICON_SVG",
    "IMMUTABLE",
    "MATRIX_FORMATS",
    "MIME_TYPES",
    "NOT_FOUND_PAGES",
    "NO_CACHE",
    "PAGE_LIMIT_BYTES",
    "PUBLIC",
    "PYODIDE_FILES",
    "PYODIDE_PKG",
    "REDIRECTS",
    "REFERENCE_DIR",
    "ROOT",
    "SECURITY_HEADERS",
    "SITE_DIR",
    "SITE_NAME",
    "SITE_URL",
    "TABLE_CONTEXTS",
    "TEMPLATES_DIR",
    "TRAIN_METHODS",
    "AccuracyContext",
    "Assets",
    "BaseContext",
    "BuildError",
    "BuildReport",
    "Bytecode",
    "BytecodeJob",
    "CalculatorContext",
    "Cell",
    "ContentContext",
    "EngineData",
    "FormatRow",
    "GpuContext",
    "GpuFit",
    "GpusContext",
    "Memo",
    "ModelContext",
    "ModelFacts",
    "ModelsContext",
    "Page",
    "SiteFacts",
    "ThreadingServer",
    "build",
    "build_assets",
    "build_datetime",
    "build_wheel",
    "compute",
    "compute_gpu_fits",
    "compute_model",
    "content_hash",
    "default_model_slug",
    "engine_call",
    "engine_sources",
    "engine_try",
    "format_runtimes",
    "gpu_capacity_bytes",
    "gpu_name",
    "gpu_usable_bytes",
    "hash_modules",
    "header_for",
    "icon_png",
    "infer_any_runtime",
    "load_accuracy",
    "load_engine_data",
    "main",
    "make_env",
    "make_handler",
    "model_contexts",
    "model_name",
    "not_found_page",
    "pick_formats",
    "plan_pages",
    "png_bytes",
    "present_render",
    "pyodide_version",
    "render_manifest",
    "render_methodology",
    "render_netlify_toml",
    "render_page",
    "render_site",
    "render_sitemap",
    "render_sw",
    "serve",
    "site_context",
    "validate",
    "write_site",
]


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
    pages = plan_pages(facts, assets, render_methodology())  # plan
    files = render_site(facts, assets, pages)  # render
    write_site(out_dir, files, assets.copies)  # write
    sizes = {p: len(b) for p, b in files.items() if p.endswith(".html")}
    return BuildReport(
        out_dir, len(files) + len(assets.copies), tuple(warnings) + facts.warnings, sizes
    )


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
