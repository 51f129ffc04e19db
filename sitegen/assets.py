"""Static assets: content-hashed JS/CSS, the engine wheel and bytecode, vendored Pyodide."""

from __future__ import annotations

import base64
import gzip
import hashlib
import json
import os
import re
import shutil
import subprocess
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from sitegen.catalog import page_catalog_modules
from sitegen.config import (
    CACHE_DIR,
    COMPILE_SCRIPT,
    ENGINE_DIR,
    ENGINE_PRELOAD,
    PYODIDE_FILES,
    PYODIDE_PKG,
    SELF_TEST,
    SITE_DIR,
    BuildError,
)
from sitegen.headers import hub_endpoint
from sitegen.i18n import LANGUAGES, localized_url
from sitegen.icons import ICON_SVG, icon_png
from sitegen.lean_wasm import lean_wasm
from sitegen.modeldata import model_data
from sitegen.pyodide_trim import LOCK_FILE, minimal_lock, runtime_label, trimmed_pyodide
from sitegen.snapshot import data_zip, empty_zip, encode_image, engine_snapshot, link_trace
from sitegen.wheel import build_wheel, content_hash

# Pyodide files the precache lists otherwise (the wasm: lean or full) or not at all
FETCHED_ON_DEMAND = ("python_stdlib.zip", "pyodide.asm.wasm")
_IMPORT_RE = re.compile(r"""(["'])\./([a-z0-9_\-]+\.js)\1""")
# Served precompressed (nginx gzip_static and brotli_static: name.gz and name.br beside
# name): text, the wasm and the start-up snapshot (.bin, 31 MB of wasm memory); zips are
# compressed already, images barely compress.
PRECOMPRESS = (".js", ".mjs", ".css", ".json", ".wasm", ".svg", ".webmanifest", ".bin")
PRECOMPRESS_MIN = 1024  # nginx's gzip_min_length: smaller files go as they are
# Brotli at its best (quality 11, 16 MiB window: what browsers decode): a fifth to a half
# smaller than gzip -9 on the wasm and the snapshot, but some 30 s per 10 MB, so a large
# file's .br is cached under CACHE_DIR by content and made once. VRAM_BROTLI_QUALITY=5
# makes a build that changes the engine (a new snapshot) a minute faster, its .br larger.
BROTLI_QUALITY = 11
BROTLI_LGWIN = 24
_CACHE_MIN = 64 * 1024  # smaller files are compressed on every build (milliseconds)
# One small file per catalog model (~2 kB, fetched on demand): the server's on-the-fly
# gzip serves them well, and thousands of them at quality 11 would cost half a minute a
# build at 3,000 models; public/ keeps one file per model.
NOT_PRECOMPRESSED = ("assets/models/",)


@dataclass(frozen=True)
class Assets:
    """Built static files: ``files`` maps output path -> bytes; ``copies`` maps output
    path -> source path (large vendored files, copied without reading into memory)."""

    urls: Mapping[str, str]  # logical name ("app.js", "wheel", "pyodide/") -> URL
    files: Mapping[str, bytes]
    copies: Mapping[str, Path]
    pyodide_version: str
    precache: tuple[str, ...]
    runtime: str = ""  # the runtime's directory under pyodide/ (the service worker's cache)


def _rewrite_import(match: re.Match[str], done: Mapping[str, tuple[str, str]]) -> str:
    quote, name = match.group(1), match.group(2)
    return f"{quote}./{done[name][0] if name in done else name}{quote}"


def hash_modules(sources: Mapping[str, str]) -> dict[str, tuple[str, str]]:
    """Return {name: (hashed name, rewritten text)} for JS modules importing each other by
    ``"./name.js"``; leaves are hashed first so importers embed their hashed names."""
    deps = {n: {m for _, m in _IMPORT_RE.findall(t) if m in sources} for n, t in sources.items()}
    done: dict[str, tuple[str, str]] = {}
    while len(done) < len(sources):
        ready = sorted(n for n in sources if n not in done and deps[n] <= done.keys())
        if not ready:
            cycle = sorted(set(sources) - done.keys())
            raise BuildError(f"import cycle among site modules: {', '.join(cycle)}")
        for name in ready:
            text = _IMPORT_RE.sub(lambda m: _rewrite_import(m, done), sources[name])
            stem, ext = name.rsplit(".", 1)
            done[name] = (f"{stem}.{content_hash(text.encode())}.{ext}", text)
    return done


def engine_sources(engine_dir: Path = ENGINE_DIR) -> dict[str, str]:
    """Return {"engine/x.py": source} for every module of the engine and of present/."""
    packages = (engine_dir, engine_dir.parent / "present")  # both ship in the wheel
    return {
        p.relative_to(engine_dir.parent).as_posix(): p.read_text(encoding="utf-8")
        for pkg in packages
        for p in sorted(pkg.rglob("*.py"), key=lambda p: p.as_posix())
        if "__pycache__" not in p.parts
    }


@dataclass(frozen=True)
class Bytecode:
    """Bytecode made by the shipped Pyodide: a sourceless stdlib zip and the engine's .pyc."""

    stdlib_zip: bytes | None
    pycs: Mapping[str, bytes]
    note: str = ""  # why there is none (no node, no npm ci...)


class BytecodeJob:
    """Compile the stdlib and the engine to .pyc under Node + Pyodide, in the background.

    Started before ``compute`` so the two overlap; results are cached under
    node_modules/.cache keyed by the exact inputs, so a rebuild reuses identical bytes.
    """

    def __init__(self, pkg: Path = PYODIDE_PKG, engine_dir: Path = ENGINE_DIR) -> None:
        self.proc: subprocess.Popen[bytes] | None = None
        self.note = ""
        node = shutil.which("node")
        if os.environ.get("VRAM_NO_PYC") or node is None or not (pkg / "pyodide.mjs").is_file():
            self.note = "bytecode disabled (VRAM_NO_PYC) or node/pyodide missing"
            self.stdlib_path = self.engine_path = None
            return
        script = COMPILE_SCRIPT.read_bytes()
        version = pyodide_version(pkg).encode()
        stdlib = (pkg / "python_stdlib.zip").read_bytes()
        self.sources = engine_sources(engine_dir)
        src_json = json.dumps(self.sources, sort_keys=True).encode()
        k_std = hashlib.sha256(script + version + stdlib).hexdigest()[:16]
        k_eng = hashlib.sha256(script + version + src_json).hexdigest()[:16]
        self.stdlib_path = CACHE_DIR / f"stdlib-{k_std}.zip"
        self.engine_path = CACHE_DIR / f"engine-{k_eng}.json"
        if self.stdlib_path.is_file() and self.engine_path.is_file():
            return
        CACHE_DIR.mkdir(parents=True, exist_ok=True)
        self.tmp = f".{os.getpid()}.tmp"  # concurrent builds never share a temporary file
        src_file = CACHE_DIR / f"sources-{k_eng}{self.tmp}"
        src_file.write_bytes(src_json)
        have_stdlib = self.stdlib_path.is_file()
        stdlib_in = "-" if have_stdlib else str(pkg / "python_stdlib.zip")
        self.proc = subprocess.Popen(
            [
                node,
                str(COMPILE_SCRIPT),
                stdlib_in,
                str(self.stdlib_path) + self.tmp,
                str(src_file),
                str(self.engine_path) + self.tmp,
                *([str(self.stdlib_path)] if have_stdlib else []),
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        self.src_file = src_file

    def cancel(self) -> None:
        """Stop the Node process (the build failed before needing it)."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.communicate()
            for leftover in CACHE_DIR.glob(f"*{self.tmp}"):
                leftover.unlink(missing_ok=True)

    def result(self) -> Bytecode:
        if self.stdlib_path is None or self.engine_path is None:
            return Bytecode(None, {}, self.note)
        if self.proc is not None:
            _, err = self.proc.communicate(timeout=600)
            self.src_file.unlink(missing_ok=True)
            if self.proc.returncode != 0:
                raise BuildError(f"compiling bytecode under Pyodide failed: {err.decode()[-500:]}")
            for path in (self.stdlib_path, self.engine_path):
                tmp = path.with_name(path.name + self.tmp)
                if tmp.exists():
                    tmp.replace(path)
        pycs = json.loads(self.engine_path.read_text(encoding="utf-8"))
        stdlib = self.stdlib_path.read_bytes()
        for stale in CACHE_DIR.glob("engine-*.json"):  # old engine versions, unused for a day
            if stale != self.engine_path and time.time() - stale.stat().st_mtime > 86400:
                stale.unlink(missing_ok=True)
        return Bytecode(stdlib, {k: base64.b64decode(v) for k, v in sorted(pycs.items())})


def gzipped(data: bytes) -> bytes:
    """Level 9, no name or time in the header: the same bytes give the same file."""
    return gzip.compress(data, compresslevel=9, mtime=0)


def _brotli_quality() -> int:
    return int(os.environ.get("VRAM_BROTLI_QUALITY", BROTLI_QUALITY))


def brotlied(data: bytes) -> bytes:
    """Brotli at quality 11: deterministic, so the same bytes give the same file."""
    import brotli  # the site extra (requirements/site.lock): only a build needs it

    return brotli.compress(data, quality=_brotli_quality(), lgwin=BROTLI_LGWIN)


_CODECS = {".gz": gzipped, ".br": brotlied}


def compressed(data: bytes, suffix: str) -> bytes:
    """``data`` gzip- (".gz") or brotli- (".br") compressed; a large file's result is cached
    by content (the 9.6 MB wasm and the snapshot would otherwise cost a minute a build)."""
    codec = _CODECS[suffix]
    if len(data) < _CACHE_MIN:
        return codec(data)
    tag = f"q{_brotli_quality()}w{BROTLI_LGWIN}" if suffix == ".br" else "9"
    cached = CACHE_DIR / f"{suffix[1:]}{tag}-{hashlib.sha256(data).hexdigest()[:16]}{suffix}"
    if cached.is_file():
        cached.touch()  # in use: kept by the clean-up below
        return cached.read_bytes()
    blob = codec(data)
    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    tmp = cached.with_name(f"{cached.name}.{os.getpid()}.tmp")
    tmp.write_bytes(blob)
    tmp.replace(cached)
    for stale in CACHE_DIR.glob(f"{suffix[1:]}*{suffix}"):  # old snapshots' (MBs), a day unused
        stat = stale.stat()
        if stat.st_size > 2**20 and time.time() - stat.st_mtime > 86400:
            stale.unlink(missing_ok=True)
    return blob


def precompressed(files: Mapping[str, bytes], copies: Mapping[str, Path]) -> dict[str, bytes]:
    """``path.gz`` and ``path.br`` for every file worth compressing (nginx's gzip_static and
    brotli_static send one to a client that accepts it, with ``Content-Encoding``), each only
    where it is smaller than the file."""
    out: dict[str, bytes] = {}
    big = {p: s for p, s in copies.items() if s.stat().st_size >= PRECOMPRESS_MIN}
    for path, data in [*files.items(), *((p, s.read_bytes()) for p, s in big.items())]:
        if not path.endswith(PRECOMPRESS) or len(data) < PRECOMPRESS_MIN:
            continue
        if path.startswith(NOT_PRECOMPRESSED):
            continue
        for suffix in _CODECS:
            blob = compressed(data, suffix)
            if len(blob) < len(data):
                out[path + suffix] = blob
    return out


def pyodide_version(pkg: Path = PYODIDE_PKG) -> str:
    try:
        return json.loads((pkg / "package.json").read_text(encoding="utf-8"))["version"]
    except FileNotFoundError:
        raise BuildError(f"Pyodide is not installed ({pkg} missing): run `npm ci` first") from None


def build_assets(
    engine_version: str,
    protocol: int,
    *,
    pkg: Path = PYODIDE_PKG,
    bytecode: Bytecode | None = None,
) -> Assets:
    """Return hashed JS/CSS, the engine wheel, icons and the vendored Pyodide runtime.

    With ``bytecode`` the worker loads a sourceless stdlib zip and a wheel with .pyc, made
    by the same Pyodide build, so the browser compiles nothing at start-up.
    """
    bytecode = bytecode or Bytecode(None, {})
    pkg = trimmed_pyodide(pkg)  # a wasm that exports only what the glue uses
    files: dict[str, bytes] = {}
    copies: dict[str, Path] = {}
    urls: dict[str, str] = {}
    pv = pyodide_version(pkg)
    runtime = runtime_label(pkg, pv)  # a trimmed wasm gets its own URLs (served immutable)
    pyodide_dir = f"pyodide/{runtime}/"
    for name in PYODIDE_FILES:
        if not (pkg / name).is_file():
            raise BuildError(f"Pyodide {pv}: {name} missing from {pkg}; run `npm ci`")
        if name == LOCK_FILE:
            files[pyodide_dir + name] = minimal_lock(pkg)
        else:
            copies[pyodide_dir + name] = pkg / name
    urls["pyodide/"] = "/" + pyodide_dir
    urls["stdlib"] = f"/{pyodide_dir}python_stdlib.zip"
    if bytecode.stdlib_zip is not None:
        stdlib_path = f"{pyodide_dir}python_stdlib.pyc.{content_hash(bytecode.stdlib_zip)}.zip"
        files[stdlib_path] = bytecode.stdlib_zip
        urls["stdlib"] = "/" + stdlib_path

    catalog = model_data()  # one file per model and the index (the wheel: the default model)
    files |= catalog.files
    urls["catalog_index"] = catalog.index_url
    wheel_name, wheel = build_wheel(
        version=engine_version, extra=bytecode.pycs, models=(catalog.default,)
    )
    wheel_path = f"wheels/{content_hash(wheel)}/{wheel_name}"
    files[wheel_path] = wheel
    urls["wheel"] = "/" + wheel_path
    urls["snapshot"] = ""
    urls["snapshot_stdlib"] = ""
    urls["snapshot_data"] = ""
    urls["lean_wasm"] = ""
    if bytecode.stdlib_zip is not None:
        image = engine_snapshot(bytecode.stdlib_zip, wheel, ENGINE_PRELOAD, runtime, pkg=pkg)
        if image is not None:
            # the image reads no stdlib: it is restored with an empty zip (the full one is
            # fetched only when an import needs it, see site/worker.js)
            files[f"{pyodide_dir}python_stdlib.empty.zip"] = empty_zip()
            urls["snapshot_stdlib"] = f"/{pyodide_dir}python_stdlib.empty.zip"
            # ... and with the wheel's data files only: its code is in the image
            data = data_zip(wheel)
            data_path = f"wheels/{content_hash(wheel)}/engine-data.{content_hash(data)}.zip"
            files[data_path] = data
            urls["snapshot_data"] = "/" + data_path
            # beside the wheel it holds (the service worker's per-version cache, not the
            # runtime cache that outlives site versions); served raw as far as the worker
            # can tell: the server sends its .br (or .gz) beside it with Content-Encoding and
            # the browser inflates it natively, brotli being a third smaller than gzip here
            snapshot_path = (
                f"wheels/{content_hash(wheel)}/engine-snapshot.{content_hash(image)}.bin"
            )
            # (its wasm static data less the wasm's data segments: site/snapshot-image.js)
            wasm = (pkg / "pyodide.asm.wasm").read_bytes()
            raw = gzip.decompress(image)
            files[snapshot_path] = encode_image(raw, wasm)
            link_trace(image, compressed(files[snapshot_path], ".gz"))
            urls["snapshot"] = "/" + snapshot_path
            # the wasm a first visit downloads: only what the engine reaches once restored
            # (sitegen/lean_wasm.py); the full one is fetched if a request needs more
            lean = lean_wasm(pkg, raw, data, bytecode.stdlib_zip, catalog.files, catalog.default)
            if lean is not None:
                lean_path = f"wheels/{content_hash(wheel)}/pyodide-lean.{content_hash(lean)}.wasm"
                files[lean_path] = lean
                urls["lean_wasm"] = "/" + lean_path

    config = {
        "ENGINE_VERSION": engine_version,
        "PROTOCOL": protocol,
        "PYODIDE_INDEX_URL": urls["pyodide/"],
        "PYODIDE_VERSION": pv,
        "ENGINE_PRELOAD": list(ENGINE_PRELOAD),
        "SELF_TEST": SELF_TEST,
        "CATALOG_INDEX_URL": urls["catalog_index"],
        "SNAPSHOT_URL": urls["snapshot"],
        "LEAN_WASM_URL": urls["lean_wasm"],
        "SNAPSHOT_STDLIB_URL": urls["snapshot_stdlib"],
        "SNAPSHOT_DATA_URL": urls["snapshot_data"],
        "STDLIB_URL": urls["stdlib"],
        "WHEEL_URL": urls["wheel"],
        "HUB_ENDPOINT": hub_endpoint(),  # Hub lookups (HF_ENDPOINT at build time; the CSP names it)
        # Web Vitals beacon (site/perf.js): off unless the build names an endpoint.
        "ANALYTICS_URL": os.environ.get("VRAM_ANALYTICS_URL", ""),
    }
    config_js = (
        "// Generated by build.py: where the worker finds the runtime and the engine.\n"
        + "".join(f"export const {k} = {json.dumps(v)};\n" for k, v in sorted(config.items()))
    )
    sources = {p.name: p.read_text(encoding="utf-8") for p in sorted(SITE_DIR.glob("*.js"))}
    sources.pop("sw.js", None)  # the service worker keeps a stable URL; see render_sw
    sources["config.js"] = config_js
    sources |= page_catalog_modules()  # messages-<lang>.js from locale/ (site/i18n.js)
    for name, (hashed, text) in sorted(hash_modules(sources).items()):
        files[f"assets/{hashed}"] = text.encode()
        urls[name] = f"/assets/{hashed}"
    for css in sorted(SITE_DIR.glob("*.css")):
        blob = css.read_bytes()
        path = f"assets/{css.stem}.{content_hash(blob)}.css"
        files[path] = blob
        urls[css.name] = "/" + path

    for size in (192, 512):
        files[f"icons/icon-{size}.png"] = icon_png(size, maskable=False)
        files[f"icons/maskable-{size}.png"] = icon_png(size, maskable=True)
    files["icons/apple-touch-icon.png"] = icon_png(180, maskable=True)
    files["icons/icon.svg"] = ICON_SVG.encode()
    files["favicon.ico"] = icon_png(32, maskable=False)  # PNG-in-.ico is accepted by browsers
    files |= precompressed(files, copies)

    precache = sorted(
        [
            "/",
            # the small index pages, readable offline after the first visit (issue 15);
            # the rest of the site is cached as it is visited (network-first)
            "/models/",
            "/gpus/",
            "/methodology/",
            "/accuracy/",
            *(localized_url("/offline.html", prefix) for _, _, prefix in LANGUAGES),
            "/version.json",
            "/manifest.webmanifest",
            "/icons/icon.svg",
            "/icons/icon-192.png",
            urls["catalog_index"],
        ]
        + [u for n, u in urls.items() if n.endswith((".js", ".css"))]
        # with the image, the full stdlib and the wheel are a fallback fetched on demand:
        # precaching them would add their 5.4 MB to every first visit
        + (
            [urls["snapshot"], urls["snapshot_stdlib"], urls["snapshot_data"]]
            if urls["snapshot"]
            else [urls["wheel"], urls["stdlib"]]
        )
        # the runtime less the full stdlib and the wasm, and the wasm a start downloads: the
        # lean one where there is one (the full wasm and stdlib are fallbacks fetched on demand)
        + [f"/{pyodide_dir}{name}" for name in PYODIDE_FILES if name not in FETCHED_ON_DEMAND]
        + [urls["lean_wasm"] or f"/{pyodide_dir}pyodide.asm.wasm"]
    )
    return Assets(
        urls=urls,
        files=files,
        copies=copies,
        pyodide_version=pv,
        precache=tuple(precache),
        runtime=runtime,
    )


def site_version(
    engine_version: str, files: Mapping[str, bytes], copies: Mapping[str, Path], build_time: str
) -> str:
    """Return the site version: the engine version and a digest of every byte the service
    worker may serve, with the build time left out (it is printed in every page's footer).

    A rebuild with no source change therefore keeps its version (no cache refill, no "new
    version" banner); any change of a page, asset or vendored directory gives a new one."""
    digest = hashlib.sha256()
    stamps = (build_time.encode(), build_time[:10].encode())
    for path in sorted(files):
        data = files[path]
        for stamp in stamps:
            data = data.replace(stamp, b"")
        digest.update(path.encode() + b"\0" + hashlib.sha256(data).digest())
    for path in sorted(copies):
        digest.update(path.encode())  # vendored files are versioned by their directory
    return f"{engine_version}-{digest.hexdigest()[:10]}"
