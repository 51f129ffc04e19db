"""The engine's start-up memory snapshot, made at build time under Node.

A cold start in the browser spends about a second running Python's own start-up (some 200
modules) on freshly compiled, not yet optimised wasm. Pyodide can restore a memory image
instead (``_loadSnapshot``, a private API tied to the exact runtime build). The image is
made here with the runtime the site ships, the sourceless stdlib and the engine wheel, and
shipped gzip-compressed (31 MB of wasm memory -> about 5 MB). The worker falls back to a
normal start whenever the image is absent or cannot be restored.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import shutil
import subprocess
import time
from pathlib import Path

from sitegen.config import CACHE_DIR, PYODIDE_PKG, ROOT, BuildError

SNAPSHOT_SCRIPT = ROOT / "scripts" / "pyodide_snapshot.mjs"


def snapshot_key(stdlib_zip: bytes, wheel: bytes, modules: tuple[str, ...], version: str) -> str:
    """Hash of everything the image depends on, so a rebuild reuses identical bytes."""
    digest = hashlib.sha256()
    for part in (SNAPSHOT_SCRIPT.read_bytes(), version.encode(), stdlib_zip, wheel):
        digest.update(hashlib.sha256(part).digest())
    digest.update(",".join(modules).encode())
    return digest.hexdigest()[:16]


def engine_snapshot(
    stdlib_zip: bytes,
    wheel: bytes,
    modules: tuple[str, ...],
    version: str,
    *,
    pkg: Path = PYODIDE_PKG,
) -> bytes | None:
    """Return the gzip-compressed image, or None when it cannot be made here (no Node, or
    VRAM_NO_SNAPSHOT set): the site then starts Pyodide the normal way."""
    node = shutil.which("node")
    if os.environ.get("VRAM_NO_SNAPSHOT") or node is None or not (pkg / "pyodide.mjs").is_file():
        return None
    cached = CACHE_DIR / f"snapshot-{snapshot_key(stdlib_zip, wheel, modules, version)}.bin.gz"
    if cached.is_file():
        return cached.read_bytes()
    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    tmp = CACHE_DIR / f".snapshot.{os.getpid()}"
    tmp.mkdir(exist_ok=True)
    try:
        (tmp / "stdlib.zip").write_bytes(stdlib_zip)
        (tmp / "engine.whl").write_bytes(wheel)
        proc = subprocess.run(
            [
                node,
                str(SNAPSHOT_SCRIPT),
                str(tmp / "stdlib.zip"),
                str(tmp / "engine.whl"),
                ",".join(modules),
                str(tmp / "snapshot.bin"),
            ],
            capture_output=True,
            timeout=600,
        )
        if proc.returncode != 0:
            raise BuildError(f"making the start-up snapshot failed: {proc.stderr.decode()[-500:]}")
        # mtime=0: the gzip header holds no build time
        blob = gzip.compress((tmp / "snapshot.bin").read_bytes(), compresslevel=9, mtime=0)
        (tmp / "snapshot.gz").write_bytes(blob)
        (tmp / "snapshot.gz").replace(cached)
        for stale in CACHE_DIR.glob("snapshot-*.bin.gz"):  # other inputs, unused for a day
            if stale != cached and time.time() - stale.stat().st_mtime > 86400:
                stale.unlink(missing_ok=True)
        return blob
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
