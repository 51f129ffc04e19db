"""The lean wasm as the build ships it (sitegen/lean_wasm.py): its first section is still
dylink.0 (Emscripten's loader reads it first), and every indirect call goes through one
dispatcher per function type (scripts/pyodide_lean.mjs `dispatched`: V8 never inlines an
indirect call speculatively in CPython's eval loop, so it never deoptimises it on the first
input), while the full wasm calls indirectly from everywhere."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

from sitegen.config import ROOT

COUNT = """import { readFileSync } from "node:fs";
import binaryen from "%s";
const mod = binaryen.readBinary(readFileSync(process.argv[2]));
let dispatchers = 0;
for (let i = 0; i < mod.getNumFunctions(); i++) {
  const info = binaryen.getFunctionInfo(mod.getFunctionByIndex(i));
  const body = info.module === "" && binaryen.getExpressionId(info.body);
  if (body === binaryen.CallIndirectId) dispatchers++;
}
const calls = (mod.emitText().match(/\\(call_indirect /g) || []).length;
console.log(JSON.stringify({ dispatchers, calls }));
"""


def indirect_calls(wasm: Path, tmp_path: Path) -> dict[str, int]:
    node = shutil.which("node")
    assert node is not None
    script = tmp_path / "count.mjs"
    script.write_text(COUNT % (ROOT / "node_modules/binaryen/index.js").as_posix())
    out = subprocess.run(
        [node, "--max-old-space-size=4096", str(script), str(wasm)],
        capture_output=True, text=True, timeout=300, check=True,
    )
    return json.loads(out.stdout)


def test_indirect_calls_go_through_one_dispatcher_per_type(site_dir: Path, tmp_path: Path):
    (lean,) = sorted(site_dir.glob("wheels/*/pyodide-lean.*.wasm"))
    (full,) = sorted(site_dir.glob("pyodide/*/pyodide.asm.wasm"))
    assert lean.read_bytes()[8:19] == b"\x00\x10\x08dylink.0"  # custom section 0, first
    counted = indirect_calls(lean, tmp_path)
    assert counted["dispatchers"] == counted["calls"] >= 10, counted  # one call_indirect each
    before = indirect_calls(full, tmp_path)
    assert before["calls"] > 1000 > before["dispatchers"], before  # call sites everywhere
