"""The engine wheel the browser installs in Pyodide (reproducible zip)."""

from __future__ import annotations

import base64
import hashlib
import io
import zipfile
from collections.abc import Iterable, Mapping
from pathlib import Path

from sitegen.config import DIST_NAME, ENGINE_DIR

_MODELS_PREFIX = "engine/data/models/"


def content_hash(data: bytes, n: int = 10) -> str:
    return hashlib.sha256(data).hexdigest()[:n]


def _model_slug(rel: str) -> str | None:
    """The catalog model a wheel path belongs to (engine/data/models/<slug>/...), else None."""
    if not rel.startswith(_MODELS_PREFIX):
        return None
    return rel.removeprefix(_MODELS_PREFIX).split("/", 1)[0]


def build_wheel(
    engine_dir: Path = ENGINE_DIR,
    *,
    version: str,
    extra: Mapping[str, bytes] | None = None,
    packages: tuple[Path, ...] | None = None,
    models: Iterable[str] | None = None,
) -> tuple[str, bytes]:
    """Return ``(filename, bytes)`` of a deterministic py3-none-any wheel of ``engine/`` and
    ``present/`` (the charts and exports the worker draws with the same code as the build).

    ``models``: the catalog models whose files the wheel carries (None: all, for tools that
    run the engine from the wheel). The site's wheel carries only its default model, so it
    does not grow with the catalog: the worker fetches every other model's file when a
    request names it (sitegen/modeldata.py).

    Entries are sorted, timestamps fixed at 1980-01-01, permissions 0644, so the same
    sources give the same bytes (and so the same hashed URL).
    """
    if packages is None:
        packages = (engine_dir, engine_dir.parent / "present")
    keep = None if models is None else set(models)
    files: list[tuple[str, bytes]] = []
    paths = [p for pkg in packages for p in pkg.rglob("*")]
    for path in sorted(paths, key=lambda p: p.relative_to(engine_dir.parent).as_posix()):
        rel = path.relative_to(engine_dir.parent).as_posix()
        if path.is_dir() or "__pycache__" in rel or path.suffix in (".pyc", ".pyo"):
            continue
        if keep is not None and _model_slug(rel) not in (None, *keep):
            continue
        if path.suffix not in (".py", ".json", ".typed", ".txt", ".md"):
            continue
        files.append((rel, path.read_bytes()))
    files += sorted((extra or {}).items())  # e.g. engine/__pycache__/*.pyc for Pyodide
    files.sort()
    dist_info = f"{DIST_NAME}-{version}.dist-info"
    metadata = (
        "Metadata-Version: 2.1\n"
        f"Name: vram-insight\nVersion: {version}\n"
        "Summary: Exact GPU-memory estimates for large language models\n"
        "Requires-Python: >=3.11\nLicense: MIT\n"
    ).encode()
    wheel_meta = (
        b"Wheel-Version: 1.0\nGenerator: vram-insight build.py\n"
        b"Root-Is-Purelib: true\nTag: py3-none-any\n"
    )
    files.append((f"{dist_info}/METADATA", metadata))
    files.append((f"{dist_info}/WHEEL", wheel_meta))
    top_level = "".join(f"{pkg.name}\n" for pkg in sorted(packages))
    files.append((f"{dist_info}/top_level.txt", top_level.encode()))
    record_lines = []
    for name, blob in files:
        digest = base64.urlsafe_b64encode(hashlib.sha256(blob).digest()).rstrip(b"=").decode()
        record_lines.append(f"{name},sha256={digest},{len(blob)}")
    record_lines.append(f"{dist_info}/RECORD,,")
    files.append((f"{dist_info}/RECORD", ("\n".join(record_lines) + "\n").encode()))
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, blob in files:
            info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
            info.external_attr = 0o644 << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info, blob, compresslevel=9)
    return f"{DIST_NAME}-{version}-py3-none-any.whl", buf.getvalue()
