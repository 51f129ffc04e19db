"""Parity: the same protocol requests through CPython's engine.api.handle and through the
engine wheel inside Pyodide (the browser's runtime, here under Node) give identical JSON."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from engine.api import handle
from sitegen.config import PYODIDE_PKG, ROOT

pytestmark = pytest.mark.pyodide

HERE = Path(__file__).resolve().parent


def requests() -> list[dict]:
    models = ["llama-3.1-8b", "qwen3-30b-a3b", "gemma-2-9b-it", "deepseek-v2-lite", "phi-2"]
    reqs: list[dict] = [
        {"op": "version", "args": {}},
        {"op": "models", "args": {}},
        {"op": "gpus", "args": {}},
        {"op": "formats", "args": {}},
        {"op": "presets", "args": {}},
    ]
    for slug in models:
        reqs.append({"op": "params", "args": {"model": slug}})
        for weights, runtime in (("bf16", "transformers"), ("q4_k_m", "llamacpp"), ("fp8", "vllm")):
            reqs.append(
                {
                    "op": "infer",
                    "args": {
                        "model": slug,
                        "weights": weights,
                        "runtime": runtime,
                        "context": 32768,
                        "batch": 2,
                        "gpu": "rtx-4090",
                    },
                }
            )
        for method in ("full", "lora", "qlora"):
            reqs.append({"op": "train", "args": {"model": slug, "method": method, "seq": 2048}})
        reqs.append(
            {
                "op": "fit",
                "args": {
                    "model": slug,
                    "weights": "q4_k_m",
                    "runtime": "llamacpp",
                    "gpu": "rtx-4090",
                },
            }
        )
    config = json.loads((ROOT / "engine/data/models/llama-3.2-1b/config.json").read_text())
    reqs += [
        {"op": "infer", "args": {"config": config, "context": 8192}},
        {
            "op": "infer",
            "args": {
                "config": json.dumps(config),
                "kv_dtype": "q8_0",
                "runtime": "llamacpp",
                "weights": "q8_0",
            },
        },
        # errors are data too, and must read the same
        {"op": "infer", "args": {"model": "llama-3.1-8b", "context": 0}},
        {"op": "infer", "args": {"model": "no-such-model"}},
        {"op": "infer", "args": {"model": "llama-3.1-8b", "weights": "q9_x"}},
        {"op": "infer", "args": {"config": {"model_type": "llama"}}},
        {"op": "no_such_op", "args": {}},
        # Chinese pages ask with lang "zh": messages come from engine/data/messages_zh.json
        {"op": "infer", "args": {"model": "llama-3.1-8b", "context": 0}, "lang": "zh"},
        {"op": "infer", "args": {"model": "llama-3.1-8b", "weights": "q9_x"}, "lang": "zh"},
        {
            "op": "infer",
            "args": {"model": "llama-3.1-8b", "context": 300000, "gpu": "rtx-4090"},
            "lang": "zh",
        },
    ]
    return [{"v": 1, "id": i, **r} for i, r in enumerate(reqs)]


def browser_reply(req: dict) -> str:
    """CPython's reply as the browser's engine gives it: op "models" lists every model from
    the catalog index, so where a config came from (source, notes) arrives with the model's
    own file; the wheel carries the default model whole."""
    reply = handle(json.dumps(req))
    if req["op"] != "models":
        return reply
    data = json.loads(reply)
    data["result"] = [
        m if m["slug"] == "llama-3.1-8b" else {**m, "source": "", "notes": ""}
        for m in data["result"]
    ]
    return json.dumps(data, sort_keys=True, separators=(",", ":"))


@pytest.mark.parametrize("start", ["normal", "snapshot", "lean"])
def test_cpython_and_pyodide_give_identical_json(site_dir, tmp_path, start):
    node = shutil.which("node")
    # ./dev test runs npm ci, so both are always there: their absence is a failure, not a skip
    assert node is not None, "the parity test needs node (./dev test installs Pyodide with npm)"
    assert (PYODIDE_PKG / "pyodide.mjs").is_file(), "run `npm ci` (./dev test does)"
    (wheel,) = sorted((site_dir / "wheels").rglob("*.whl"))
    restore: list[str] = []
    if start in ("snapshot", "lean"):  # the engine restored from the image the build ships
        (image,) = sorted((site_dir / "wheels").rglob("engine-snapshot.*.bin.gz"))
        (stdlib,) = sorted((site_dir / "pyodide").rglob("python_stdlib.pyc.*.zip"))
        if start == "lean":  # ... into the lean wasm a first visit downloads (lean_wasm.py),
            # as the worker does: the empty stdlib zip, the engine-data zip, a frozen heap
            (lean,) = sorted((site_dir / "wheels").rglob("pyodide-lean.*.wasm"))
            (wheel,) = sorted((site_dir / "wheels").rglob("engine-data.*.zip"))
            runtime = tmp_path / "runtime"
            shutil.copytree(stdlib.parent, runtime)
            shutil.copyfile(lean, runtime / "pyodide.asm.wasm")
            stdlib = runtime / "python_stdlib.empty.zip"
        restore = [str(stdlib), str(image)]
    reqs = requests()
    path = tmp_path / "requests.json"
    path.write_text(json.dumps(reqs), encoding="utf-8")
    out = subprocess.run(
        [node, str(HERE / "run_engine.mjs"), str(wheel), str(path), *restore],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    answer = json.loads(out.stdout)
    assert answer["python"].startswith("3.")
    expected = [browser_reply(r) for r in reqs]
    assert len(answer["replies"]) == len(expected)
    for req, got, want in zip(reqs, answer["replies"], expected, strict=True):
        if json.loads(want).get("error", {}).get("type") == "internal":
            # tracebacks name different file paths; type and message must still agree
            g, w = json.loads(got), json.loads(want)
            assert g["error"]["message"] == w["error"]["message"], req
            continue
        assert got == want, f"request {req['id']} ({req['op']} {req['args']}) differs"
        if req.get("lang") == "zh":  # the catalog travelled in the wheel: Chinese came back
            assert re.search("[\u4e00-\u9fff]", json.dumps(json.loads(got), ensure_ascii=False))
