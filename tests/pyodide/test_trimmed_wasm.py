"""The site ships a trimmed pyodide.asm.wasm (sitegen/pyodide_trim.py: only the exports the JS
glue uses) under its own URL, and that runtime started the normal way (the worker's fallback
when no image can be restored) imports the stdlib's C modules built into the main module and
answers as CPython does."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from sitegen.assets import pyodide_version
from sitegen.config import PYODIDE_PKG
from sitegen.pyodide_trim import BINARYEN, runtime_label, trimmed_pyodide
from tests.pyodide.test_parity import browser_reply

pytestmark = pytest.mark.pyodide

HERE = Path(__file__).resolve().parent
# C modules linked into the main module (no side module): their init functions and methods
# are reached through the inittab and the function table, not through exports
BUILTIN_C = [
    "_json",
    "_decimal",
    "zlib",
    "_sha2",
    "_md5",
    "unicodedata",
    "math",
    "cmath",
    "_struct",
    "binascii",
    "_random",
    "_bisect",
    "_heapq",
    "array",
    "_datetime",
    "pyexpat",
    "_csv",
    "_statistics",
    "_contextvars",
    "_pickle",
    "itertools",
]


def shipped_runtime(site_dir: Path) -> Path:
    (wasm,) = sorted((site_dir / "pyodide").rglob("pyodide.asm.wasm"))
    return wasm.parent


def test_the_site_ships_the_trimmed_wasm_under_its_own_url(site_dir):
    # ./dev test runs npm ci, which installs binaryen (a devDependency)
    assert BINARYEN.is_file(), "run `npm ci` (./dev test does)"
    runtime = shipped_runtime(site_dir)
    stock = (PYODIDE_PKG / "pyodide.asm.wasm").read_bytes()
    shipped = (runtime / "pyodide.asm.wasm").read_bytes()
    assert shipped == (trimmed_pyodide() / "pyodide.asm.wasm").read_bytes()
    assert len(shipped) < len(stock) * 0.95
    # a new directory: /pyodide/ is immutable, a returning visitor holds the stock wasm
    assert runtime.name.startswith(pyodide_version() + "-")
    # the glue less its assignments of the dropped exports; the loader as it is
    glue = (runtime / "pyodide.asm.mjs").read_bytes()
    assert glue == (trimmed_pyodide() / "pyodide.asm.mjs").read_bytes()
    assert len(glue) < (PYODIDE_PKG / "pyodide.asm.mjs").stat().st_size * 0.8
    assert (runtime / "pyodide.mjs").read_bytes() == (PYODIDE_PKG / "pyodide.mjs").read_bytes()


def run(args: list[str]) -> str:
    node = shutil.which("node")
    assert node is not None, "needs node (./dev test installs Pyodide with npm)"
    out = subprocess.run([node, *args], capture_output=True, text=True, timeout=300, check=False)
    assert out.returncode == 0, out.stderr[-2000:]
    return out.stdout


def test_trimmed_runtime_imports_the_builtin_c_modules(site_dir):
    (stdlib,) = sorted(shipped_runtime(site_dir).glob("python_stdlib.pyc.*.zip"))  # the full one
    got = json.loads(run([str(HERE / "import_modules.mjs"), str(stdlib), ",".join(BUILTIN_C)]))
    assert got == dict.fromkeys(BUILTIN_C, "ok")


def test_trimmed_runtime_answers_as_cpython(site_dir, tmp_path):
    (stdlib,) = sorted(shipped_runtime(site_dir).glob("python_stdlib.pyc.*.zip"))
    (wheel,) = sorted((site_dir / "wheels").rglob("*.whl"))
    reqs = [
        {"v": 1, "id": 1, "op": "version", "args": {}},
        {"v": 1, "id": 2, "op": "infer", "args": {"model": "llama-3.1-8b"}},
        {"v": 1, "id": 3, "op": "train", "args": {"model": "llama-3.1-8b"}},
        {"v": 1, "id": 4, "op": "fit", "args": {"model": "llama-3.1-8b"}},
        {"v": 1, "id": 5, "op": "infer", "args": {"model": "llama-3.1-8b"}, "lang": "zh"},
    ]
    path = tmp_path / "requests.json"
    path.write_text(json.dumps(reqs), encoding="utf-8")
    # the site's runtime started the normal way with the full stdlib: the worker's fallback
    answer = json.loads(run([str(HERE / "run_engine.mjs"), str(wheel), str(path), str(stdlib)]))
    for req, got in zip(reqs, answer["replies"], strict=True):
        assert got == browser_reply(req), f"request {req['id']} ({req['op']}) differs"


def test_without_binaryen_or_when_asked_the_stock_runtime_ships(monkeypatch, tmp_path):
    monkeypatch.setenv("VRAM_NO_WASM_TRIM", "1")
    assert trimmed_pyodide() == PYODIDE_PKG
    monkeypatch.delenv("VRAM_NO_WASM_TRIM")
    monkeypatch.setattr("sitegen.pyodide_trim.BINARYEN", tmp_path / "absent" / "package.json")
    assert trimmed_pyodide() == PYODIDE_PKG
    assert runtime_label(PYODIDE_PKG, pyodide_version()) == pyodide_version()
