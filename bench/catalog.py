"""Catalog-scale benchmark: build the site from a synthetic catalog of N models (the real
catalog's configs, varied) and print the build time, the largest page, the size of public/
per model and the wheel's size.

    .venv/bin/python bench/catalog.py [--models 3000] [--builds 2] [--keep DIR]

The first build computes every model (cold: a private facts cache, unless --shared-cache);
later ones read the per-model facts cache (warm), as a rebuild after a content or template
edit does (an engine edit makes the next build cold again). Target (issue 16): 3,000 models
build in < 60 s warm, no page over the limit, public/ linear in models.
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

MODELS_DIR = ROOT / "engine" / "data" / "models"


def _vary(config: dict, i: int) -> dict:
    """A plausible sibling of a real config: a vocabulary larger by 128 x i (kept a multiple
    of 128, as real vocabularies are), so each synthetic model has its own figures."""
    config = copy.deepcopy(config)
    for holder in (config, config.get("text_config")):
        if isinstance(holder, dict) and isinstance(holder.get("vocab_size"), int):
            holder["vocab_size"] += 128 * i
            break
    return config


def make_catalog(dst: Path, n: int, src: Path = MODELS_DIR) -> list[str]:
    """Write ``n`` models into ``dst`` (``<slug>/meta.json`` + ``config.json``): every real
    model once, then varied copies of them in turn; return the slugs."""
    real = sorted(p for p in src.iterdir() if (p / "meta.json").is_file())
    slugs: list[str] = []
    for k in range(n):
        base = real[k % len(real)]
        i = k // len(real)
        meta = json.loads((base / "meta.json").read_text(encoding="utf-8"))
        config = json.loads((base / "config.json").read_text(encoding="utf-8"))
        if i:
            meta = {
                **meta,
                "slug": f"{meta['slug']}-s{i}",
                "display_name": f"{meta['display_name']} S{i}",
                "hf_repo": f"{meta['hf_repo']}-s{i}",
            }
            config = _vary(config, i)
        out = dst / meta["slug"]
        out.mkdir(parents=True, exist_ok=True)
        (out / "meta.json").write_text(json.dumps(meta, indent=1), encoding="utf-8")
        (out / "config.json").write_text(json.dumps(config, indent=1), encoding="utf-8")
        slugs.append(meta["slug"])
    return slugs


def build_catalog(models_dir: Path, out: Path) -> tuple[float, object]:
    """Build the site from the catalog in ``models_dir`` into ``out``; return (seconds,
    report)."""
    import build
    from engine import catalog

    catalog.set_source(catalog.TreeSource(models_dir))
    os.environ.setdefault("SOURCE_DATE_EPOCH", "1767225600")
    try:
        started = time.perf_counter()
        report = build.build(out)
        return time.perf_counter() - started, report
    finally:
        catalog.set_source(None)


def measure(out: Path) -> dict[str, int]:
    """Sizes: public/ in all, the largest HTML page, the wheel."""
    files = [p for p in out.rglob("*") if p.is_file()]
    pages = [p for p in files if p.suffix == ".html"]
    wheels = [p for p in files if p.suffix == ".whl"]
    per_model = ("models/", "zh/models/", "api/v1/models/")  # one page/file per model
    return {
        "public": sum(p.stat().st_size for p in files),
        "per_model": sum(
            p.stat().st_size for p in files if p.relative_to(out).as_posix().startswith(per_model)
        ),
        "largest_page": max(p.stat().st_size for p in pages),
        "wheel": max((p.stat().st_size for p in wheels), default=0),
        "files": len(files),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--models", type=int, default=3000)
    parser.add_argument("--builds", type=int, default=2, help="1 cold, then warm builds")
    parser.add_argument("--keep", type=Path, help="build into this folder and keep it")
    parser.add_argument(
        "--shared-cache",
        action="store_true",
        help="use the build's facts cache (the first build may then be warm too)",
    )
    args = parser.parse_args(argv)
    from sitegen import compute
    from sitegen.config import PAGE_LIMIT_BYTES

    work = Path(tempfile.mkdtemp(prefix="vram-catalog-"))
    if not args.shared_cache:
        compute.FACTS_CACHE_DIR = work / "facts"  # a cold first build, whatever ran before
    try:
        make_catalog(work / "models", args.models)
        out = args.keep or work / "public"
        times = []
        for _ in range(max(1, args.builds)):
            shutil.rmtree(out, ignore_errors=True)
            seconds, _report = build_catalog(work / "models", out)
            times.append(seconds)
        sizes = measure(out)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    warm = min(times[1:]) if len(times) > 1 else None
    print(f"catalog of {args.models} models, {sizes['files']} files")
    print(f"  build cold {times[0]:.1f} s" + (f", warm {warm:.1f} s" if warm else ""))
    if warm is not None:
        verdict = "met" if warm < 60 else "NOT met"
        print(f"  target: < 60 s warm at 3,000 models: {warm:.1f} s ({verdict})")
    print(
        f"  largest page {sizes['largest_page'] / 1024:.1f} KiB "
        f"(limit {PAGE_LIMIT_BYTES / 1024:.0f} KiB)"
    )
    print(
        f"  public/ {sizes['public'] / 2**20:.1f} MiB; per model "
        f"{sizes['per_model'] / args.models / 1024:.1f} KiB (its pages in each language and "
        f"its API file), the rest {(sizes['public'] - sizes['per_model']) / 2**20:.1f} MiB"
    )
    print(f"  wheel {sizes['wheel'] / 1024:.0f} KiB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
