"""The start-up snapshot the build ships: made from the shipped stdlib and wheel only, the
same bytes every time, and named in the worker's config and the service worker's precache."""

from __future__ import annotations

import gzip
import json
import shutil
import subprocess
from pathlib import Path

from sitegen.config import ENGINE_PRELOAD, PYODIDE_PKG
from sitegen.headers import IMMUTABLE, header_for
from sitegen.snapshot import SNAPSHOT_SCRIPT, WARMUP, encode_image, trace_modules

NODE = shutil.which("node")


def shipped(site_dir: Path) -> tuple[Path, Path, Path]:
    # ./dev test runs npm ci, so node and Pyodide are there and the build made a snapshot
    assert NODE is not None and (PYODIDE_PKG / "pyodide.mjs").is_file()
    (image,) = sorted((site_dir / "wheels").rglob("engine-snapshot.*.bin.gz"))
    (wheel,) = sorted((site_dir / "wheels").rglob("*.whl"))
    (stdlib,) = sorted((site_dir / "pyodide").rglob("python_stdlib.pyc.*.zip"))
    return image, wheel, stdlib


def make(stdlib: Path, wheel: Path, out: Path) -> bytes:
    """The image made again with the runtime the site ships (the stdlib's directory)."""
    warmup = out.with_suffix(".json")
    warmup.write_text(json.dumps(WARMUP), encoding="utf-8")
    modules = ",".join(ENGINE_PRELOAD)
    trace = [str(out.with_suffix(".txt")), str(warmup), ",".join(trace_modules())]
    trace.append(str(stdlib.parent))  # the runtime the site ships: the image needs its wasm
    proc = subprocess.run(
        [NODE, str(SNAPSHOT_SCRIPT), str(stdlib), str(wheel), modules, str(out), *trace],
        capture_output=True,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr.decode()[-2000:]
    return out.read_bytes()


def test_snapshot_is_reproducible_from_the_shipped_stdlib_and_wheel(site_dir, tmp_path):
    image, wheel, stdlib = shipped(site_dir)
    first = make(stdlib, wheel, tmp_path / "a.bin")
    second = make(stdlib, wheel, tmp_path / "b.bin")
    assert first == second  # no clock, entropy or hash seed leaks into the image
    # shipped less the wasm's data segments (site/snapshot-image.js puts them back)
    wasm = (stdlib.parent / "pyodide.asm.wasm").read_bytes()
    assert gzip.decompress(image.read_bytes()) == encode_image(first, wasm)
    assert encode_image(encode_image(first, wasm), wasm) == first
    assert first[:4] != b"\0\0\0\0" and len(first) > 16 * 2**20  # a whole wasm memory


def test_worker_config_and_precache_name_the_snapshot(site_dir):
    image, wheel, _ = shipped(site_dir)
    # the raw .bin: the server sends its .br or .gz, the browser inflates it
    url = "/" + image.relative_to(site_dir).as_posix().removesuffix(".gz")
    assert image.parent == wheel.parent  # versioned with the engine, not with the runtime
    (config,) = sorted((site_dir / "assets").glob("config.*.js"))
    assert f'export const SNAPSHOT_URL = "{url}";' in config.read_text()
    assert f'"{url}"' in (site_dir / "sw.js").read_text()
    assert header_for(url)["Cache-Control"] == IMMUTABLE
