"""The Pyodide the site ships: the npm package with a trimmed pyodide.asm.wasm and glue.

The site loads no Pyodide package and no side module, so the main module need not export its
C API for dynamic linking; scripts/pyodide_trim.mjs (binaryen, an npm devDependency) keeps
the exports the JS glue uses and drops the code nothing else reaches (0.26 MB less brotli on
a first visit), and the glue's assignments of the others (0.06 MB). The result is a copy of
the package directory under CACHE_DIR, keyed by the inputs, so the start-up snapshot is made
with the very wasm that restores it (function pointers in the image are table indices; its
data segments are what the image is XOR'd with). Without binaryen (or Node) the stock
package is shipped; VRAM_NO_WASM_TRIM=1 does the same.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import time
from pathlib import Path

from sitegen.config import CACHE_DIR, PYODIDE_PKG, ROOT, BuildError

TRIM_SCRIPT = ROOT / "scripts" / "pyodide_trim.mjs"
LOCK_FILE = "pyodide-lock.json"
BINARYEN = ROOT / "node_modules" / "binaryen" / "package.json"


def trim_key(pkg: Path) -> str:
    """Hash of what the trimmed wasm depends on: the package's glue and wasm, the script and
    binaryen's version."""
    digest = hashlib.sha256()
    for path in (pkg / "pyodide.asm.wasm", pkg / "pyodide.asm.mjs", pkg / "pyodide.mjs"):
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    digest.update(hashlib.sha256(TRIM_SCRIPT.read_bytes()).digest())
    digest.update(BINARYEN.read_bytes())
    return digest.hexdigest()[:16]


def trimmed_pyodide(pkg: Path = PYODIDE_PKG) -> Path:
    """The directory to ship and snapshot Pyodide from: ``pkg``'s files with the trimmed
    wasm and glue (made once, then cached), or ``pkg`` itself where binaryen or Node is missing."""
    node = shutil.which("node")
    if (
        os.environ.get("VRAM_NO_WASM_TRIM")
        or node is None
        or not BINARYEN.is_file()
        or not (pkg / "pyodide.asm.wasm").is_file()
    ):
        return pkg
    out = CACHE_DIR / f"pyodide-{trim_key(pkg)}"
    if (out / "pyodide.asm.wasm").is_file():
        os.utime(out)  # in use: kept by the clean-up below
        return out
    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    tmp = CACHE_DIR / f".pyodide-trim.{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    try:
        shutil.copytree(pkg, tmp, ignore=shutil.ignore_patterns("pyodide.asm.*"))
        proc = subprocess.run(
            [node, str(TRIM_SCRIPT), str(pkg), str(tmp)],  # writes the wasm and its glue
            capture_output=True,
            timeout=600,
        )
        if proc.returncode != 0:
            raise BuildError(f"trimming pyodide.asm.wasm failed: {proc.stderr.decode()[-500:]}")
        try:
            tmp.replace(out)
        except OSError:  # another build made it meanwhile
            if not (out / "pyodide.asm.wasm").is_file():
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    for stale in CACHE_DIR.glob("pyodide-*"):  # other Pyodide or binaryen versions, a day unused
        if stale != out and time.time() - stale.stat().st_mtime > 86400:
            shutil.rmtree(stale, ignore_errors=True)
    return out


def runtime_label(pkg: Path, version: str) -> str:
    """The runtime directory's name under pyodide/: the Pyodide version, and for a trimmed
    wasm the hash of it and its glue too, since /pyodide/ is served immutable and cached by
    URL (a returning visitor must not restore a new image with a wasm cached before)."""
    if pkg.resolve() == PYODIDE_PKG.resolve():
        return version
    digest = hashlib.sha256()
    for name in ("pyodide.asm.wasm", "pyodide.asm.mjs"):
        digest.update(hashlib.sha256((pkg / name).read_bytes()).digest())
    return f"{version}-{digest.hexdigest()[:10]}"


def minimal_lock(pkg: Path = PYODIDE_PKG) -> bytes:
    """Pyodide's lock file as the site ships it: its ``info`` (loadPyodide checks the ABI) and
    no packages, the site loading none (119 kB, 21 kB brotli, fetched on every first visit).
    The start-up snapshot is made with the same (sitegen/snapshot.py hands it to
    scripts/pyodide_snapshot.mjs)."""
    info = json.loads((pkg / LOCK_FILE).read_text(encoding="utf-8"))["info"]
    return json.dumps({"info": info, "packages": {}}, separators=(",", ":")).encode()
