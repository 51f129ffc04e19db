"""A local ``.gguf`` file (CLI only: reads files): its header, read in growing chunks as the
plan reads a Hub file, gives the same result as a Hub lookup of that file."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from ..messages import msg
from . import gguf as gg
from .errors import HubBadFile
from .resolve import finish_gguf

_SPLIT = re.compile(r"^(?P<stem>.+)-(?P<i>\d{5})-of-(?P<n>\d{5})\.gguf$")


def _header(path: Path) -> gg.GgufHeader:
    size = 2 * 1024 * 1024
    try:
        with path.open("rb") as fh:
            while True:
                fh.seek(0)
                data = fh.read(size)
                try:
                    return gg.parse_gguf_header(data, file=path.name)
                except gg.NeedMore as more:
                    if len(data) < size:
                        raise HubBadFile(
                            msg("the GGUF header of {file} is truncated", file=path.name)
                        ) from None
                    size = min(max(more.needed, 2 * size), gg.MAX_HEADER_BYTES)
    except OSError as exc:
        raise HubBadFile(
            msg("cannot read {path}: {detail}", path=str(path), detail=str(exc))
        ) from None


def local_gguf(path: Path) -> dict[str, Any]:
    """Resolve a local GGUF file (all parts of a split file, found beside it)."""
    m = _SPLIT.match(path.name)
    parts = [path]
    if m:
        n = int(m["n"])
        parts = [path.with_name(f"{m['stem']}-{i:05d}-of-{n:05d}.gguf") for i in range(1, n + 1)]
    headers = [_header(p) for p in parts]
    sizes = {p.name: p.stat().st_size for p in parts}
    result = finish_gguf(path.name, [p.name for p in parts], headers, sizes)
    return {
        "kind": "model",
        "label": path.name,
        "ref": None,
        "endpoint": None,
        "commit": None,
        "read": [],
        **result,
    }
