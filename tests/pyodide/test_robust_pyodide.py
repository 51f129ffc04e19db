"""Hostile input inside Pyodide (issue 13): 4,000 nested brackets, oversized dimensions and
numbers get the same clean error reply as in CPython; the runtime survives and answers the
next request (a recursion in json.loads used to kill the worker for good)."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from engine.api import handle
from engine.catalog import load_config
from sitegen.config import PYODIDE_PKG

pytestmark = pytest.mark.pyodide

HERE = Path(__file__).resolve().parent


def hostile_requests() -> list[str]:
    """Request texts (written by hand: CPython's json.dumps itself recurses too deep)."""
    huge_layers = {**load_config("llama-3.2-1b"), "num_hidden_layers": 10**12}
    huge_hidden = {**load_config("llama-3.2-1b"), "hidden_size": 1e308}
    bad_dtype = {**load_config("llama-3.2-1b"), "torch_dtype": "float7"}
    deep = "[" * 4000 + "0" + "]" * 4000
    texts = [
        json.dumps({"v": 1, "id": 0, "op": "params", "args": {"config": "[" * 4000}}),
        '{"v":1,"id":1,"op":"params","args":{"config":' + deep + "}}",
        json.dumps({"v": 1, "id": 2, "op": "params", "args": {"config": huge_layers}}),
        json.dumps({"v": 1, "id": 3, "op": "infer", "args": {"config": json.dumps(huge_hidden)}}),
        json.dumps({"v": 1, "id": 4, "op": "infer", "args": {"config": bad_dtype}}),
        json.dumps(
            {"v": 1, "id": 5, "op": "infer", "args": {"model": "llama-3.2-1b", "context": 10**30}}
        ),
        # still alive
        json.dumps(
            {"v": 1, "id": 6, "op": "infer", "args": {"model": "llama-3.2-1b", "context": 2048}}
        ),
    ]
    return texts


def test_hostile_input_is_a_clean_error_in_pyodide_too(site_dir, tmp_path):
    node = shutil.which("node")
    assert node is not None, "needs node (./dev test installs Pyodide with npm)"
    assert (PYODIDE_PKG / "pyodide.mjs").is_file(), "run `npm ci` (./dev test does)"
    (wheel,) = sorted((site_dir / "wheels").rglob("*.whl"))
    texts = hostile_requests()
    path = tmp_path / "requests.json"
    path.write_text("[" + ",".join(texts) + "]", encoding="utf-8")
    out = subprocess.run(
        [node, str(HERE / "run_engine.mjs"), str(wheel), str(path)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    replies = [json.loads(r) for r in json.loads(out.stdout)["replies"]]
    assert len(replies) == len(texts)
    for i, (text, got) in enumerate(zip(texts[:-1], replies[:-1], strict=True)):
        assert got["ok"] is False and got["error"]["type"] != "internal", i
        assert got["error"]["field"], i
        assert got == json.loads(handle(text)), i
    assert replies[-1]["ok"] is True
