"""Time the engine in CPython: one inference estimate, one training estimate, a full fit sweep.

The sweep solves the largest context for every GPU × every weight format (each format on
the first runtime that accepts it: GGUF types on llama.cpp, the rest on transformers).
Target: the sweep under 50 ms.

    .venv/bin/python bench/engine.py [--model qwen2.5-14b] [--repeat 5] [--profile] [--verify]
                                     [--no-pyodide]

A last line times the engine as the page runs it: the wheel inside Pyodide under Node (the
browser's runtime), one protocol request through present.render.handle_json, first (lazy
imports and caches) and steady (median), beside the same request in CPython.
"""

from __future__ import annotations

import argparse
import cProfile
import json
import pstats
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

# Run as a script, this file's folder leads sys.path and this module would shadow the
# `engine` package: put the repository root there instead.
_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE]
sys.path.insert(0, str(_HERE.parent))

from engine import fit, rank, solve  # noqa: E402
from engine.catalog import load_model  # noqa: E402
from engine.gpus import get_gpu, list_gpus  # noqa: E402
from engine.inference import estimate_inference  # noqa: E402
from engine.quant import list_formats  # noqa: E402
from engine.sweep import sweep_max_context  # noqa: E402
from engine.training import estimate_training  # noqa: E402
from engine.workload import InferenceWorkload, TrainingWorkload  # noqa: E402

SWEEP_TARGET_S = 0.050


def timed(fn: Callable[[], object], repeat: int) -> tuple[float, float, float]:
    """Return (first, median, best) wall seconds over ``repeat`` runs."""
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return times[0], statistics.median(times), min(times)


def formats_by_runtime() -> dict[str, list[str]]:
    groups: dict[str, list[str]] = {}
    for f in list_formats():
        runtimes = getattr(f, "runtimes", None) or ("transformers",)
        groups.setdefault(runtimes[0], []).append(f.id)
    return groups


def sweep(spec, work: InferenceWorkload) -> dict:
    out = {}
    for runtime, ids in formats_by_runtime().items():
        out.update(sweep_max_context(spec, replace(work, runtime=runtime), formats=ids))
    return out


PYODIDE_JS = """import { readFile } from "node:fs/promises";
import { loadPyodide } from "pyodide";
const [wheel, request, repeat] = process.argv.slice(2);
const py = await loadPyodide({ indexURL: "%(index)s" });
py.unpackArchive(new Uint8Array(await readFile(wheel)), "wheel");
const handle = py.pyimport("present.render").handle_json;
const times = [];
for (let i = 0; i < Number(repeat); i++) {
  const t0 = performance.now();
  const reply = JSON.parse(handle(request));
  times.push(performance.now() - t0);
  if (!reply.ok) throw new Error(JSON.stringify(reply.error));
}
process.stdout.write(JSON.stringify(times));
"""


def pyodide_request(model: str, repeat: int) -> tuple[float, float] | str:
    """(first, median) ms of one infer request in Pyodide under Node, or why not."""
    from sitegen.config import PYODIDE_PKG, ROOT
    from sitegen.wheel import build_wheel

    node = shutil.which("node")
    if node is None or not (PYODIDE_PKG / "pyodide.mjs").is_file():
        return "no node or Pyodide (npm ci)"
    request = {"v": 1, "id": 1, "op": "infer", "args": {"model": model, "gpu": "rtx-4090"}}
    with tempfile.TemporaryDirectory(dir=ROOT / "node_modules") as tmp:
        _, wheel = build_wheel(version="0.0.0", extra={})
        (Path(tmp) / "engine.whl").write_bytes(wheel)
        script = Path(tmp) / "bench.mjs"
        script.write_text(PYODIDE_JS % {"index": f"{PYODIDE_PKG}/"}, encoding="utf-8")
        args = [str(Path(tmp) / "engine.whl"), json.dumps(request), str(max(repeat, 20))]
        proc = subprocess.run(
            [node, str(script), *args], capture_output=True, text=True, timeout=300, check=False
        )
    if proc.returncode != 0:
        return f"failed: {proc.stderr.strip().splitlines()[-1:]}"
    times = json.loads(proc.stdout)
    return times[0], statistics.median(times[1:])


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", default="qwen2.5-14b", help="catalog slug (default qwen2.5-14b)")
    p.add_argument("--repeat", type=int, default=5, help="runs per measurement (default 5)")
    p.add_argument("--profile", action="store_true", help="print a cProfile of one sweep")
    p.add_argument(
        "--verify", action="store_true", help="re-solve every pair with max_context and compare"
    )
    p.add_argument("--no-pyodide", action="store_true", help="skip the Pyodide-under-Node line")
    ns = p.parse_args(argv)

    t0 = time.perf_counter()
    spec = load_model(ns.model)
    list_gpus()
    list_formats()
    load_s = time.perf_counter() - t0
    work = InferenceWorkload(weights="bf16", context=8192, batch=1)
    twork = TrainingWorkload(method="full", seq=2048, batch=1)

    print(
        f"engine bench: {ns.model} ({spec.total_params:,} parameters), Python "
        f"{sys.version.split()[0]}, {ns.repeat} runs, times first / median / best"
    )
    print(f"  load model + GPU and format tables     {load_s * 1e3:9.2f} ms")
    fit_work = replace(work, gpu="h100-sxm-80gb")
    train_fit = replace(twork, gpu="h100-sxm-80gb")
    rows = [
        ("inference estimate (bf16, 8k)", lambda: estimate_inference(spec, work), ns.repeat),
        ("training estimate (full, 2k)", lambda: estimate_training(spec, twork), ns.repeat),
        (
            "max_context on one GPU",
            lambda: solve.max_context(spec, fit_work, get_gpu("h100-sxm-80gb")),
            ns.repeat,
        ),
        ("recommend_gpus (bf16, 8k)", lambda: rank.recommend_gpus(spec, work), ns.repeat),
        ("fit_report (bf16, 8k, H100)", lambda: fit.fit_report(spec, fit_work), ns.repeat),
        ("fit_training (full, 2k, H100)", lambda: fit.fit_training(spec, train_fit), ns.repeat),
    ]
    for label, fn, repeat in rows:
        try:
            first, med, best = timed(fn, repeat)
        except Exception as exc:  # report and go on: the other timings still mean something
            print(f"  {label:<38} FAILED: {type(exc).__name__}: {exc}")
            continue
        print(f"  {label:<38} {first * 1e3:9.3f} / {med * 1e3:.3f} / {best * 1e3:.3f} ms")

    n_gpus = len(list_gpus())
    result: dict = {}

    def run_sweep() -> None:
        result.clear()
        result.update(sweep(spec, work))

    first, med, best = timed(run_sweep, ns.repeat)
    n_formats = len({fmt for fmt, _ in result})
    verdict = "OK" if med < SWEEP_TARGET_S else "over target"
    print(
        f"  {'fit sweep':<38} {first * 1e3:9.3f} / {med * 1e3:.3f} / {best * 1e3:.3f} ms  "
        f"[{n_gpus} GPUs × {n_formats} formats = {len(result)} solves; target "
        f"{SWEEP_TARGET_S * 1e3:.0f} ms: {verdict}; the first run quantizes every format]"
    )
    if ns.verify:
        t0 = time.perf_counter()
        wrong = 0
        runtime_of = {f: rt for rt, ids in formats_by_runtime().items() for f in ids}
        for (fmt, slug), tokens in result.items():
            trial = replace(work, weights=fmt, runtime=runtime_of[fmt])
            wrong += tokens != solve.max_context(spec, trial, get_gpu(slug))
        elapsed = time.perf_counter() - t0
        print(
            f"  {'same sweep, one search per pair':<38} {elapsed * 1e3:9.3f} ms  "
            f"[{wrong} of {len(result)} answers differ from the sweep]"
        )

    if not ns.no_pyodide:
        from present.render import handle_json

        req = json.dumps(
            {"v": 1, "id": 1, "op": "infer", "args": {"model": ns.model, "gpu": "rtx-4090"}}
        )
        first, med, _ = timed(lambda: handle_json(req), max(ns.repeat, 20))
        got = pyodide_request(ns.model, ns.repeat)
        label = "one infer request (handle_json)"
        if isinstance(got, str):
            print(f"  {label + ', Pyodide':<38} {got}")
        else:
            print(
                f"  {label + ', Pyodide':<38} {got[0]:9.3f} / {got[1]:.3f} ms "
                f"(first / steady median; CPython {first * 1e3:.3f} / {med * 1e3:.3f} ms; "
                "Pyodide under Node, normal start)"
            )

    if ns.profile:
        prof = cProfile.Profile()
        prof.enable()
        sweep(spec, work)
        prof.disable()
        pstats.Stats(prof).sort_stats("cumulative").print_stats(25)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
