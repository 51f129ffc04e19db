"""ggml tensor types: the type ids (``GgmlType``) and their block layouts (``ggml_types``).

A ggml type stores ``block_size`` weights in a block whose bytes are the sum of its struct
members (``ggml-common.h`` ``block_*``; ggml.c ``type_traits``; gguf-py
``GGML_QUANT_SIZES``). Bits per weight are derived from that, never typed in. The rows live
in ``data/quant_formats.json`` (section ``ggml_types``) with their sources.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum
from fractions import Fraction

from .errors import UnknownQuantFormat, suggest
from .memo import cached
from .messages import msg
from .quant_data import rows


class GgmlType(IntEnum):
    """``enum ggml_type``. Values must match ggml/include/ggml.h (ggml-org/ggml d99724f,
    lines 390-433) and the ``id`` of each row in data/quant_formats.json (a test checks
    both against gguf-py). Retired ids are never reused."""

    F32 = 0
    F16 = 1
    Q4_0 = 2
    Q4_1 = 3
    # 4 (Q4_2), 5 (Q4_3): removed upstream
    Q5_0 = 6
    Q5_1 = 7
    Q8_0 = 8
    Q8_1 = 9
    Q2_K = 10
    Q3_K = 11
    Q4_K = 12
    Q5_K = 13
    Q6_K = 14
    Q8_K = 15
    IQ2_XXS = 16
    IQ2_XS = 17
    IQ3_XXS = 18
    IQ1_S = 19
    IQ4_NL = 20
    IQ3_S = 21
    IQ2_S = 22
    IQ4_XS = 23
    # 24-28 (I8, I16, I32, I64, F64): integer and f64 tensors, never weight formats here
    IQ1_M = 29
    BF16 = 30
    # 31-33 (Q4_0_4_4, Q4_0_4_8, Q4_0_8_8): removed upstream (repacked at load time now)
    TQ1_0 = 34
    TQ2_0 = 35
    # 36-38 (IQ4_NL_4_4, IQ4_NL_4_8, IQ4_NL_8_8): removed upstream
    MXFP4 = 39
    NVFP4 = 40
    Q1_0 = 41
    Q2_0 = 42


@dataclass(frozen=True)
class GgmlTypeTraits:
    """One ggml type's block (ggml.c ``type_traits``): ``block_size`` weights stored in the
    sum of ``parts`` bytes."""

    name: str
    type_id: int  # must match enum ggml_type (ggml.h), i.e. GgmlType[name]
    block_size: int
    parts: tuple[tuple[str, int], ...]  # (struct member, bytes)
    bytes_per_block: int  # sum of parts, computed by the loader (ggml_types)
    source: str

    @property
    def ggml_type(self) -> GgmlType:
        return GgmlType(self.type_id)

    @property
    def bits_per_weight(self) -> Fraction:
        return Fraction(8 * self.bytes_per_block, self.block_size)

    def row_bytes(self, ne0: int) -> int:
        """Bytes of one row of ``ne0`` weights (ggml_row_size); ``ne0`` must fill whole blocks."""
        if ne0 % self.block_size:
            raise ValueError(
                f"row size {ne0} is not a multiple of {self.name} block size {self.block_size}"
            )
        return ne0 // self.block_size * self.bytes_per_block


@cached
def ggml_types() -> dict[str, GgmlTypeTraits]:
    """Return the ggml block-type table keyed by upper-case name ("Q4_K")."""
    table = {}
    for row in rows("ggml_types"):
        table[row["name"]] = GgmlTypeTraits(
            name=row["name"],
            type_id=row["id"],
            block_size=row["block_size"],
            parts=tuple((p, n) for p, n in row["parts"]),
            bytes_per_block=sum(n for _, n in row["parts"]),
            source=row["source"],
        )
    return table


def get_ggml_type(name: str | GgmlType) -> GgmlTypeTraits:
    """Return a ggml type's block by name (case-insensitive: "q4_k", "Q4_K") or enum member."""
    table = ggml_types()
    key = name.name if isinstance(name, GgmlType) else name.upper()
    if key not in table:
        raise UnknownQuantFormat(
            msg(
                "unknown ggml type {name!r}; known types: {known}.{hint}",
                name=name,
                known=", ".join(table),
                hint=suggest(name, list(table)),
            ),
            field="weights",
        )
    return table[key]


@cached(maxsize=64)
def block_size(t: GgmlType) -> int:
    """``ggml_blck_size``: weights per block of type ``t``."""
    return get_ggml_type(t).block_size


@cached(maxsize=64)
def type_name(t: GgmlType) -> str:
    """``ggml_type_name`` in upper case ("Q4_K"): the storage name results carry."""
    return t.name


@cached(maxsize=16384)
def row_bytes(t: GgmlType, ne0: int) -> int:
    """``ggml_row_size``: bytes of one row of ``ne0`` weights of type ``t``."""
    return get_ggml_type(t).row_bytes(ne0)
