"""Build the VRAM Insight static site into ``public/``.

    python build.py            # build into public/
    python build.py --strict   # any warning (the build's own or Python's) fails the build
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
import warnings
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from sitegen.assets import BytecodeJob, build_assets
from sitegen.compute import compute, load_engine_data, validate
from sitegen.config import PUBLIC, ROOT, BuildError
from sitegen.headers import render_netlify_toml
from sitegen.pages import plan_pages
from sitegen.render import render_methodology, render_site
from sitegen.serve import serve
from sitegen.write import write_site

# Each step lives in sitegen/, one module per job: config, compute (load, validate, compute),
# wheel, icons, assets, pages (plan), render, write, headers, serve; import a name from the
# module that defines it. This file is the pipeline and its command line only.


@dataclass
class BuildReport:
    out_dir: Path
    files: int
    warnings: tuple[str, ...] = ()
    sizes: dict[str, int] = field(default_factory=dict)


def build(out_dir: Path = PUBLIC, *, strict: bool = False) -> BuildReport:
    """Run the whole pipeline; return what was written.

    Warnings are the build's own (``validate``, ``SiteFacts.warnings``) and any Python
    warning raised while it runs (a deprecated template or library call, say). With
    ``strict`` the first step that warns stops the build, before anything is written.
    """
    sys.path.insert(0, str(ROOT)) if str(ROOT) not in sys.path else None
    found: list[str] = []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("default")

        def check(new: Iterable[str] = ()) -> None:
            found.extend(new)
            found.extend(
                f"{w.category.__name__}: {w.message} ({w.filename}:{w.lineno})" for w in caught
            )
            caught.clear()
            if strict and found:
                more = f" (and {len(found) - 1} more)" if len(found) > 1 else ""
                raise BuildError(f"warning in --strict mode: {found[0]}{more}")

        bytecode = BytecodeJob()  # runs under Node while the engine computes
        try:
            data = load_engine_data()  # load
            check(validate(data))  # validate
            facts = compute(data)  # compute
            check(facts.warnings)
        except BaseException:
            bytecode.cancel()
            raise
        assets = build_assets(
            data.version["engine_version"], data.version["protocol"], bytecode=bytecode.result()
        )
        pages = plan_pages(facts, assets, render_methodology())  # plan
        files = render_site(facts, assets, pages)  # render
        check()
    write_site(out_dir, files, assets.copies)  # write
    sizes = {p: len(b) for p, b in files.items() if p.endswith(".html")}
    return BuildReport(out_dir, len(files) + len(assets.copies), tuple(found), sizes)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "command", nargs="?", default="build", choices=("build", "serve", "netlify-toml")
    )
    parser.add_argument(
        "--strict", action="store_true", help="fail on any warning, before writing a file"
    )
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
    try:
        sys.exit(main())
    except KeyboardInterrupt:  # Ctrl-C during the build: stop quietly, as serving does
        sys.exit(130)
