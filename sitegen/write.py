"""Write: the only step that touches disk."""

from __future__ import annotations

import shutil
from collections.abc import Mapping
from pathlib import Path


def write_site(out_dir: Path, files: Mapping[str, bytes], copies: Mapping[str, Path]) -> None:
    """Empty ``out_dir`` and write every file (the only step that touches disk)."""
    if out_dir.exists():
        shutil.rmtree(out_dir)
    out_dir.mkdir(parents=True)
    for rel in sorted(files):
        target = out_dir / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(files[rel])
    for rel in sorted(copies):
        target = out_dir / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(copies[rel], target)
