"""A pure-Python GGUF header reader: metadata key/values and tensor infos, never tensor data.

Layout (ggml ``docs/gguf.md``; gguf-py ``gguf_reader.py``), little-endian: magic "GGUF",
uint32 version (2 or 3), uint64 tensor count, uint64 KV count, the KVs (string key, uint32
value type, value), then per tensor: name, uint32 n_dims, n_dims × uint64 ne, uint32
ggml type, uint64 data offset. Strings are uint64 length + UTF-8 bytes.

The reader is bounded: it works on the bytes it was given and raises ``NeedMore`` when the
header runs past them (the plan then asks for a larger range, up to ``MAX_HEADER_BYTES``).
Long arrays (the tokenizer's vocabulary, merges) are skipped and kept as their length only.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from math import prod
from typing import Any

from ..ggml import GgmlType, get_ggml_type
from ..messages import msg
from .errors import HubBadFile

# The tokenizer of a 262k-token vocabulary (Gemma 3) takes ~6 MB of header; 32 MiB is the
# most ever read from one file.
MAX_HEADER_BYTES = 32 * 1024 * 1024
MAX_COUNT = 10_000_000
KEEP_ARRAY = 256  # arrays longer than this keep their length only

_SCALARS: dict[int, tuple[str, int]] = {
    0: ("<B", 1),
    1: ("<b", 1),
    2: ("<H", 2),
    3: ("<h", 2),
    4: ("<I", 4),
    5: ("<i", 4),
    6: ("<f", 4),
    7: ("<?", 1),
    10: ("<Q", 8),
    11: ("<q", 8),
    12: ("<d", 8),
}
_STRING, _ARRAY = 8, 9


class NeedMore(Exception):
    """The header continues past the bytes given: at least ``needed`` bytes are required."""

    def __init__(self, needed: int) -> None:
        super().__init__(needed)
        self.needed = needed


@dataclass(frozen=True)
class GgufArray:
    """A long array kept as its element type and length (e.g. tokenizer.ggml.tokens)."""

    type: int
    length: int


@dataclass(frozen=True)
class GgufTensorInfo:
    name: str
    shape: tuple[int, ...]  # ggml order: ne[0] (row length) first
    ggml_type: int

    @property
    def type_name(self) -> str:
        try:
            return GgmlType(self.ggml_type).name
        except ValueError:
            return f"type {self.ggml_type}"

    def nbytes(self) -> int:
        """Exact bytes: rows × ``ggml_row_size(type, ne[0])``."""
        try:
            traits = get_ggml_type(GgmlType(self.ggml_type))
        except ValueError:
            raise HubBadFile(
                msg(
                    "GGUF tensor {name} has ggml type {type}, which this engine does not know",
                    name=self.name,
                    type=self.ggml_type,
                )
            ) from None
        ne0 = self.shape[0] if self.shape else 1
        try:
            return prod(self.shape[1:]) * traits.row_bytes(ne0)
        except ValueError as exc:
            raise HubBadFile(
                msg("GGUF tensor {name}: {detail}", name=self.name, detail=str(exc))
            ) from None


@dataclass(frozen=True)
class GgufHeader:
    version: int
    metadata: dict[str, Any]
    tensors: tuple[GgufTensorInfo, ...]
    header_bytes: int  # bytes the header took (before alignment padding)

    @property
    def architecture(self) -> str:
        return str(self.metadata.get("general.architecture", ""))

    def weights_bytes(self) -> int:
        return sum(t.nbytes() for t in self.tensors)

    def parameters(self) -> int:
        return sum(prod(t.shape) for t in self.tensors)


class _Cursor:
    def __init__(self, data: bytes, file: str) -> None:
        self.data = memoryview(data)
        self.pos = 0
        self.file = file

    def take(self, n: int) -> memoryview:
        end = self.pos + n
        if end > len(self.data):
            if end > MAX_HEADER_BYTES:
                raise HubBadFile(
                    msg(
                        "the GGUF header of {file} is over {limit:,} bytes; it is not read",
                        file=self.file,
                        limit=MAX_HEADER_BYTES,
                    )
                )
            raise NeedMore(end)
        out = self.data[self.pos : end]
        self.pos = end
        return out

    def scalar(self, vtype: int) -> Any:
        fmt, size = _SCALARS[vtype]
        return struct.unpack(fmt, self.take(size))[0]

    def count(self, what: str, limit: int = MAX_COUNT) -> int:
        n = self.scalar(10)
        if n > limit:
            raise HubBadFile(
                msg(
                    "the GGUF header of {file} is malformed: {what} is {n:,}",
                    file=self.file,
                    what=what,
                    n=n,
                )
            )
        return n

    def string(self) -> str:
        n = self.count("a string length", MAX_HEADER_BYTES)
        return bytes(self.take(n)).decode("utf-8", "replace")

    def value(self, vtype: int) -> Any:
        if vtype in _SCALARS:
            return self.scalar(vtype)
        if vtype == _STRING:
            return self.string()
        if vtype == _ARRAY:
            etype = self.scalar(4)
            n = self.count("an array length")
            if etype in _SCALARS and n > KEEP_ARRAY:
                self.take(n * _SCALARS[etype][1])
                return GgufArray(etype, n)
            if etype not in _SCALARS and etype not in (_STRING, _ARRAY):
                raise HubBadFile(
                    msg("the GGUF header of {file} has value type {t}", file=self.file, t=etype)
                )
            items = [self.value(etype) for _ in range(n)]
            return GgufArray(etype, n) if n > KEEP_ARRAY else items
        raise HubBadFile(
            msg("the GGUF header of {file} has value type {t}", file=self.file, t=vtype)
        )


def parse_gguf_header(data: bytes, *, file: str = "") -> GgufHeader:
    """Parse a GGUF header from the first bytes of a file; ``NeedMore`` if they are short."""
    cur = _Cursor(data, file)
    magic = bytes(cur.take(4))
    if magic != b"GGUF":
        raise HubBadFile(msg("{file} is not a GGUF file (its first bytes are not GGUF)", file=file))
    version = cur.scalar(4)
    if version not in (2, 3):
        swapped = int.from_bytes(version.to_bytes(4, "little"), "big")
        why = (
            msg("it is big-endian; only little-endian GGUF files are read")
            if swapped in (2, 3)
            else msg("GGUF version {v} (versions 2 and 3 are read)", v=version)
        )
        raise HubBadFile(msg("{file} cannot be read: {why}", file=file, why=why))
    n_tensors = cur.count("the tensor count")
    n_kv = cur.count("the key/value count")
    meta: dict[str, Any] = {}
    for _ in range(n_kv):
        key = cur.string()
        meta[key] = cur.value(cur.scalar(4))
    tensors = []
    for _ in range(n_tensors):
        name = cur.string()
        n_dims = cur.scalar(4)
        if n_dims > 8:
            raise HubBadFile(
                msg(
                    "GGUF tensor {name} in {file} has {n} dimensions",
                    name=name,
                    file=file,
                    n=n_dims,
                )
            )
        shape = tuple(cur.scalar(10) for _ in range(n_dims))
        ttype = cur.scalar(4)
        cur.scalar(10)  # data offset: not needed
        tensors.append(GgufTensorInfo(name, shape, ttype))
    return GgufHeader(version, meta, tuple(tensors), cur.pos)
