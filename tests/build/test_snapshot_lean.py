"""What the start-up snapshot leaves out to be small on the wire (scripts/pyodide_snapshot.mjs):
docstrings, stale bytes in the standard streams' buffers, Pyodide's package table (the site
ships a lock file without packages). That the image still answers as CPython does is
tests/pyodide/test_parity.py's job."""

from __future__ import annotations

import gzip
import json
from pathlib import Path


def image_and_runtime(site_dir: Path) -> tuple[bytes, Path]:
    (image,) = sorted((site_dir / "wheels").rglob("engine-snapshot.*.bin.gz"))
    (stdlib,) = sorted((site_dir / "pyodide").rglob("python_stdlib.pyc.*.zip"))
    return gzip.decompress(image.read_bytes()), stdlib


def test_the_image_holds_no_docstrings(site_dir):
    image, _ = image_and_runtime(site_dir)
    # the json module's and JSONDecoder.decode's (the stdlib's .pyc keep theirs; the
    # engine's wheel has none to begin with)
    for doc in (b"JSON (JavaScript Object Notation)", b"Decode a JSON document"):
        assert doc not in image
    # the names and the code stay: a traceback reads the same
    assert b"handle_json" in image and b"engine/api.py" in image


def test_the_image_holds_no_stale_copy_of_the_stdlib_zip(site_dir):
    # the stdin buffer was malloc'd over 128 kB of the zip once: incompressible, meaningless
    image, stdlib = image_and_runtime(site_dir)
    data = stdlib.read_bytes()
    samples = [data[at : at + 64] for at in range(4096, len(data) - 64, 16384)]
    assert samples and not [at for at, s in enumerate(samples) if s in image]


def test_the_lock_file_lists_no_packages(site_dir):
    # the site loads no Pyodide package; loadPyodide reads the info (ABI check) and packages
    _, stdlib = image_and_runtime(site_dir)
    lock = json.loads((stdlib.parent / "pyodide-lock.json").read_text(encoding="utf-8"))
    assert lock["packages"] == {} and lock["info"]["abi_version"]
