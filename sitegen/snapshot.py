"""The engine's start-up memory snapshot, made at build time under Node.

A cold start in the browser spends about a second running Python's own start-up (some 200
modules) on freshly compiled, not yet optimised wasm. Pyodide can restore a memory image
instead (``_loadSnapshot``, a private API tied to the exact runtime build). The image is
made here with the runtime the site ships, the sourceless stdlib and the engine wheel, its
free heap memory zeroed. It holds every stdlib module the engine imports, its first requests
already answered (WARMUP: lazy imports and caches warm), and no longer reads the stdlib zip:
the browser restores it with an empty zip, so a first visit downloads no stdlib at all, and
the worker mounts the full zip only when an import needs it. The worker falls back to a
normal start whenever the image is absent or cannot be restored.

On the wire (31 MB of wasm memory): the image's first 3.8 MB are the wasm's static data,
which the wasm itself carries, so they ship XOR'd with its data segments (encode_image;
site/snapshot-image.js decodes with the wasm the worker downloads anyway), and the file is
served raw as far as the worker can tell: the server sends the build's .br (about 3.5 MB) or
.gz beside it with Content-Encoding, and the browser inflates it natively.
"""

from __future__ import annotations

import ast
import gzip
import hashlib
import io
import json
import os
import shutil
import subprocess
import sys
import time
import zipfile
from pathlib import Path

from sitegen.config import CACHE_DIR, PYODIDE_PKG, ROOT, SELF_TEST, BuildError
from sitegen.pyodide_trim import LOCK_FILE, minimal_lock

SNAPSHOT_SCRIPT = ROOT / "scripts" / "pyodide_snapshot.mjs"
# Not imported into the image: the command line (argparse and friends) and its Hub transport
# (urllib.request, http.client, email, ssl...: the worker fetches with hub-fetch.js), never
# run in a page; a page that did import one mounts the full stdlib zip first.
NOT_TRACED = ("engine.__main__", "engine.cli", "engine.hub.transport_urllib")


def trace_modules(root: Path = ROOT) -> tuple[str, ...]:
    """Every engine/present module but the CLI, and every stdlib module they import anywhere
    (also inside a function: difflib for a misspelt model name): imported into the image, so
    the worker needs the full stdlib zip only for what Pyodide itself imports lazily."""
    names: set[str] = set()
    for pkg in ("engine", "present"):
        for path in sorted((root / pkg).rglob("*.py")):
            parts = path.relative_to(root).with_suffix("").parts
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            if "__pycache__" in parts or name in NOT_TRACED:
                continue
            names.add(name)
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                found = [a.name for a in node.names] if isinstance(node, ast.Import) else []
                if isinstance(node, ast.ImportFrom) and node.module and not node.level:
                    found = [node.module]
                names.update(m for m in found if m.split(".")[0] in sys.stdlib_module_names)
    return tuple(sorted(names))


# The requests a page sends first, answered while the image is made so that their lazy
# imports and caches are in it; only the first (the worker's self-test) must succeed. Not
# warmed, as their caches cost every visit more bytes than they save the one request that
# needs them (measured under Node): `fit` (the GPU ranking a user opens: some 40 kB of the
# image for ~60 ms of a 100 ms request) and Chinese (its message catalog: ~30 kB for 3 ms).
WARMUP: tuple[dict[str, object], ...] = (
    {"v": 1, "id": 0, "op": "infer", "args": SELF_TEST},
    {"v": 1, "id": 0, "op": "train", "args": SELF_TEST, "must_pass": False},
    {"v": 1, "id": 0, "op": "infer", "args": {"model": "llama-3.1-8b"}, "must_pass": False},
    {"v": 1, "id": 0, "op": "train", "args": {"model": "llama-3.1-8b"}, "must_pass": False},
    {"v": 1, "id": 0, "op": "params", "args": {"model": "llama-3.1-8b"}, "must_pass": False},
)


def _leb(data: bytes, at: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        byte = data[at]
        at += 1
        value |= (byte & 0x7F) << shift
        shift += 7
        if byte < 0x80:
            return value, at


def data_segments(wasm: bytes) -> list[tuple[int, bytes]]:
    """The active data segments of a wasm module, (memory offset, bytes) each: what
    instantiation writes into memory, so what a memory image holds at those offsets unless
    start-up changed it (site/snapshot-image.js reads them the same way)."""
    out: list[tuple[int, bytes]] = []
    at = 8
    while at < len(wasm):
        size, body = _leb(wasm, at + 1)
        if wasm[at] == 11:
            count, p = _leb(wasm, body)
            for _ in range(count):
                flags, p = _leb(wasm, p)
                if flags == 1:
                    raise BuildError("pyodide.asm.wasm has a passive data segment")
                if flags == 2:
                    _, p = _leb(wasm, p)
                if wasm[p] != 0x41:
                    raise BuildError("a data segment of pyodide.asm.wasm is not at a constant")
                offset, p = _leb(wasm, p + 1)  # signed LEB128; offsets here are small
                if wasm[p] != 0x0B:
                    raise BuildError("a data segment offset of pyodide.asm.wasm is not constant")
                length, p = _leb(wasm, p + 1)
                out.append((offset, wasm[p : p + length]))
                p += length
            return out
        at = body + size
    return out


def encode_image(image: bytes, wasm: bytes) -> bytes:
    """The image as shipped: its wasm static data XOR'd with the data segments of the wasm
    it was made with. Start-up changes little there, so 3.8 MB that brotli squeezes to
    1.3 MB become nearly all zero (about 50 kB); the worker XORs them back
    (site/snapshot-image.js decodeImage, with the wasm it downloads anyway). The same
    operation decodes."""
    start = int.from_bytes(image[4:8], "little")  # Pyodide's header: its length
    segments = data_segments(wasm)
    end = start + max((o + len(d) for o, d in segments), default=0)
    if end > len(image):
        raise BuildError("the wasm's data segments do not fit in the snapshot")
    layout = bytearray(end - start)
    last = 0
    for offset, data in sorted(segments, key=lambda seg: seg[0]):
        if offset < last:  # the worker XORs each segment in turn: overlaps would differ
            raise BuildError("data segments of pyodide.asm.wasm overlap")
        layout[offset : offset + len(data)] = data
        last = offset + len(data)
    mixed = int.from_bytes(image[start:end], "little") ^ int.from_bytes(layout, "little")
    return image[:start] + mixed.to_bytes(end - start, "little") + image[end:]


def data_zip(wheel: bytes) -> bytes:
    """The wheel less its code (.py, .pyc, dist-info, .md): what a restored image still reads from
    disk (catalog, GPU and locale data). Every engine module is in the image already, so the
    worker unpacks this instead of the wheel: a fifth of its bytes and files."""
    buf = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(wheel)) as src, zipfile.ZipFile(buf, "w") as out:
        for info in sorted(src.infolist(), key=lambda i: i.filename):
            top = info.filename.split("/", 1)[0]
            # code, metadata and documentation (engine/README.md, 40 kB): read by nothing
            if info.filename.endswith((".py", ".pyc", ".md")) or top.endswith(".dist-info"):
                continue
            entry = zipfile.ZipInfo(info.filename, date_time=(1980, 1, 1, 0, 0, 0))
            entry.external_attr = info.external_attr
            out.writestr(entry, src.read(info), zipfile.ZIP_DEFLATED, compresslevel=9)
    return buf.getvalue()


def empty_zip() -> bytes:
    """The stdlib zip the image is restored with: Pyodide insists on one, the image reads none."""
    buf = io.BytesIO()
    zipfile.ZipFile(buf, "w").close()
    return buf.getvalue()


def read_trace(image: bytes) -> list[str]:
    """The stdlib modules an image holds (written beside it when it was made), given the
    image as cached or as shipped (its .bin.gz)."""
    path = _trace_path(image)
    return path.read_text(encoding="utf-8").split() if path.is_file() else []


def link_trace(cached: bytes, shipped: bytes) -> None:
    """Let ``read_trace`` know the image as shipped (its .gz, encode_image'd) too."""
    source, target = _trace_path(cached), _trace_path(shipped)
    if source.is_file() and not target.is_file():
        tmp = target.with_name(f"{target.name}.{os.getpid()}.tmp")
        shutil.copyfile(source, tmp)
        tmp.replace(target)


def _trace_path(image: bytes) -> Path:
    return CACHE_DIR / f"snapshot-trace-{hashlib.sha256(image).hexdigest()[:16]}.txt"


def snapshot_key(stdlib_zip: bytes, wheel: bytes, modules: tuple[str, ...], version: str) -> str:
    """Hash of everything the image depends on, so a rebuild reuses identical bytes."""
    digest = hashlib.sha256()
    warm = json.dumps([WARMUP, trace_modules()], sort_keys=True).encode()
    for part in (SNAPSHOT_SCRIPT.read_bytes(), version.encode(), stdlib_zip, wheel, warm):
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
    """Return the image gzip-compressed (as cached; decoded, not yet encode_image'd), or None
    when it cannot be made here (no Node, or VRAM_NO_SNAPSHOT set): the site then starts
    Pyodide the normal way. ``version`` names the runtime in ``pkg`` (sitegen/pyodide_trim.py
    runtime_label: the Pyodide version, and a trimmed wasm's hash), so it keys the cache."""
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
        (tmp / "warmup.json").write_text(json.dumps(WARMUP), encoding="utf-8")
        (tmp / LOCK_FILE).write_bytes(minimal_lock(pkg))  # the lock the site ships
        proc = subprocess.run(
            [
                node,
                str(SNAPSHOT_SCRIPT),
                str(tmp / "stdlib.zip"),
                str(tmp / "engine.whl"),
                ",".join(modules),
                str(tmp / "snapshot.bin"),
                str(tmp / "trace.txt"),
                str(tmp / "warmup.json"),
                ",".join(trace_modules()),
                str(pkg),  # the image is restored with this wasm (sitegen/pyodide_trim.py)
                str(tmp / LOCK_FILE),
            ],
            capture_output=True,
            timeout=600,
        )
        if proc.returncode != 0:
            raise BuildError(f"making the start-up snapshot failed: {proc.stderr.decode()[-500:]}")
        # mtime=0: the gzip header holds no build time
        blob = gzip.compress((tmp / "snapshot.bin").read_bytes(), compresslevel=9, mtime=0)
        (tmp / "snapshot.gz").write_bytes(blob)
        (tmp / "trace.txt").replace(_trace_path(blob))
        (tmp / "snapshot.gz").replace(cached)
        for stale in CACHE_DIR.glob("snapshot-*"):  # other inputs, unused for a day
            if (
                stale not in (cached, _trace_path(blob))
                and time.time() - stale.stat().st_mtime > 86400
            ):
                stale.unlink(missing_ok=True)
        return blob
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
