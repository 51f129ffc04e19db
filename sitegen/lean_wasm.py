"""The lean wasm a first visit downloads instead of the full one (scripts/pyodide_lean.mjs).

Restored from the start-up snapshot, the engine reaches about one wasm function in seven;
the rest (the compiler, import machinery, C modules it never imports) is replaced by
``unreachable``, 0.95 MB less brotli (scripts/pyodide_lean.mjs). The lean wasm keeps the
full one's table, exports, globals and data segments, so the same image restores into
either; a request that reaches a removed function traps and the worker starts again on the
full wasm (site/worker.js).
It depends on the image (the engine's code), the data, the catalog and the corpus
(sitegen/lean_corpus.py), so it is cached by all of them and shipped beside the snapshot.
VRAM_NO_LEAN_WASM=1 ships none (the worker then downloads the full wasm).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import time
from collections.abc import Mapping
from pathlib import Path

from sitegen.config import CACHE_DIR, ENGINE_PRELOAD, ROOT, SELF_TEST, BuildError
from sitegen.lean_corpus import document
from sitegen.pyodide_trim import BINARYEN
from sitegen.snapshot import data_segments, empty_zip

LEAN_SCRIPT = ROOT / "scripts" / "pyodide_lean.mjs"


def lean_wasm(
    pkg: Path,
    image: bytes,
    data: bytes,
    stdlib_zip: bytes,
    catalog: Mapping[str, bytes],
    default_model: str,
) -> bytes | None:
    """The lean wasm for ``pkg``'s (trimmed) wasm and ``image`` (decoded), or None where it
    cannot be made here (no Node or binaryen, or VRAM_NO_LEAN_WASM set). ``catalog``: the
    model files and index, by site path (sitegen/modeldata.py)."""
    node = shutil.which("node")
    if os.environ.get("VRAM_NO_LEAN_WASM") or node is None or not BINARYEN.is_file():
        return None
    corpus = document(default_model, ENGINE_PRELOAD, SELF_TEST).encode()
    wasm = (pkg / "pyodide.asm.wasm").read_bytes()
    digest = hashlib.sha256()
    parts = [LEAN_SCRIPT.read_bytes(), BINARYEN.read_bytes(), wasm, image, data, stdlib_zip, corpus]
    parts += [p.encode() + b"\0" + blob for p, blob in sorted(catalog.items())]
    for part in parts:
        digest.update(hashlib.sha256(part).digest())
    cached = CACHE_DIR / f"lean-{digest.hexdigest()[:16]}.wasm"
    if cached.is_file():
        os.utime(cached)
        return cached.read_bytes()
    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    work = CACHE_DIR / f".lean.{os.getpid()}"
    shutil.rmtree(work, ignore_errors=True)
    (work / "catalog" / "models").mkdir(parents=True)
    try:
        (work / "image.bin").write_bytes(image)
        (work / "data.zip").write_bytes(data)
        (work / "stdlib.zip").write_bytes(stdlib_zip)
        (work / "empty.zip").write_bytes(empty_zip())  # what the image is restored with
        (work / "corpus.json").write_bytes(corpus)
        for path, blob in catalog.items():
            name = path.rsplit("/", 1)[-1]
            target = "models/" + name if "/models/" in path else "index.json"
            (work / "catalog" / target).write_bytes(blob)
        proc = subprocess.run(
            [node, str(LEAN_SCRIPT), str(pkg), str(work)], capture_output=True, timeout=900
        )
        if proc.returncode != 0:
            said = proc.stderr.decode()[-300:] + proc.stdout.decode()[-300:]
            raise BuildError(f"making the lean wasm failed: {said}")
        lean = (work / "lean.wasm").read_bytes()
        if data_segments(lean) != data_segments(wasm):  # the image is XOR'd with them
            raise BuildError("the lean wasm's data segments differ from the full wasm's")
        (work / "hits.json").replace(cached.with_suffix(".json"))  # tests read the phases
        (work / "lean.wasm").replace(cached)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    for stale in CACHE_DIR.glob("lean-*"):  # other inputs, unused for a day
        if stale.stem != cached.stem and time.time() - stale.stat().st_mtime > 86400:
            stale.unlink(missing_ok=True)
    return lean


def lean_hits(lean: bytes) -> dict[str, object] | None:
    """What each phase of the corpus run reached, for the lean wasm ``lean`` as cached."""
    for path in CACHE_DIR.glob("lean-*.wasm"):
        if path.stat().st_size == len(lean) and path.read_bytes() == lean:
            return json.loads(path.with_suffix(".json").read_text(encoding="utf-8"))
    return None
