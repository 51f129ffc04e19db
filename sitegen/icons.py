"""PNG and SVG app icons, drawn in code (no image files to keep in sync)."""

from __future__ import annotations

import struct
import zlib
from collections.abc import Iterable

from sitegen.config import BuildError


def png_bytes(width: int, height: int, rows: Iterable[bytes]) -> bytes:
    """Return an RGBA PNG from ``height`` rows of ``width * 4`` bytes (stdlib; deterministic)."""
    raw = b"".join(b"\x00" + row for row in rows)
    if len(raw) != height * (width * 4 + 1):
        raise BuildError(f"PNG rows do not make a {width}x{height} RGBA image")

    def chunk(kind: bytes, body: bytes) -> bytes:
        crc = struct.pack(">I", zlib.crc32(kind + body))
        return struct.pack(">I", len(body)) + kind + body + crc

    header = struct.pack(">IIBBBBB", width, height, 8, 6, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(raw, 9))
        + chunk(b"IEND", b"")
    )


def icon_png(size: int, *, maskable: bool) -> bytes:
    """Return the app icon: three memory bars on indigo (maskable: full-bleed, safe zone 80%).

    Drawn row by row as spans (rounded-corner square, then the bars), no pixel loop.
    """
    bg, clear = bytes((49, 46, 129, 255)), bytes(4)
    pale, accent = bytes((199, 210, 254, 255)), bytes((129, 230, 217, 255))
    inset = 0.2 if maskable else 0.12  # maskable icons keep content inside the 80% circle
    radius = 0.0 if maskable else size * 0.18
    lo, span = size * inset, size * (1 - 2 * inset)
    bars = ((0.0, 0.28, 0.45, pale), (0.36, 0.64, 0.7, pale), (0.72, 1.0, 1.0, accent))
    rows = []
    for y in range(size):
        cy = y + 0.5
        dy = max(radius - cy, cy - (size - radius), 0.0)
        cut = 0 if dy == 0 else round(radius - (max(radius**2 - dy**2, 0.0)) ** 0.5)
        row = [bg] * size
        fy = (cy - lo) / span
        for x0, x1, h, colour in bars:
            if 1 - h <= fy < 1:
                for x in range(round(lo + x0 * span), round(lo + x1 * span)):
                    row[x] = colour
        for x in range(cut):
            row[x] = row[size - 1 - x] = clear
        rows.append(b"".join(row))
    return png_bytes(size, size, rows)


ICON_SVG = (
    '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 64 64">'
    '<rect width="64" height="64" rx="12" fill="#312e81"/>'
    '<rect x="8" y="31" width="13" height="25" fill="#c7d2fe"/>'
    '<rect x="25" y="17" width="13" height="39" fill="#c7d2fe"/>'
    '<rect x="42" y="8" width="14" height="48" fill="#81e6d9"/></svg>\n'
)
