"""Checkpoint files for the Hub fixture: safetensors and GGUF headers with real-model
shapes, tensor data left sparse (only headers are ever read).

safetensors: the header is laid out as the safetensors library writes it (8-byte length,
JSON with ``data_offsets``, padded to 8 bytes with spaces) and every file is checked by
``safetensors.safe_open``, which validates offsets against the file length. GGUF: written
by gguf-py's ``GGUFWriter`` (header, KVs, tensor infos; splits with ``split_max_tensors``),
then extended to its full size as a sparse file.
"""

from __future__ import annotations

import json
import os
from math import ceil, prod
from pathlib import Path
from typing import Any

from engine.hub.safetensors import DTYPE_BITS
from engine.model import ModelSpec

Tensors = list[tuple[str, str, tuple[int, ...]]]  # (name, safetensors dtype, shape)


def hf_name(t: Any, suffix: str = "weight") -> str:
    base = t.name.removesuffix(".bias")
    leaf = "bias" if t.name.endswith(".bias") else suffix
    if t.layer is None:
        return "lm_head.weight" if t.name == "output" else f"model.{base}.{leaf}"
    return f"model.layers.{t.layer}.{base}.{leaf}"


def spec_tensors(spec: ModelSpec, scheme: str = "bf16", *, float_dtype: str = "BF16") -> Tensors:
    """Every tensor of ``spec`` as a checkpoint of ``scheme`` stores it:
    bf16 | fp8 (block 128, weight_scale_inv) | awq (4-bit, g128) | mxfp4 (routed experts) |
    bnb4 (NF4 with absmax and quant_state)."""
    out: Tensors = []
    for t in spec.tensors:
        shape = (t.experts, *t.shape) if t.experts > 1 else t.shape
        quant = t.kind == "linear" and t.layer is not None and len(t.shape) == 2
        name = hf_name(t)
        if scheme == "fp8" and quant and "gate_inp" not in t.name:
            out.append((name, "F8_E4M3", shape))
            o, i = t.shape
            sshape = (ceil(o / 128), ceil(i / 128))
            out.append((hf_name(t, "weight_scale_inv"), "F32", (*shape[:-2], *sshape)))
        elif scheme == "awq" and quant:
            o, i = t.shape
            base = name.removesuffix(".weight")
            out.append((f"{base}.qweight", "I32", (*shape[:-2], i, o // 8)))
            out.append((f"{base}.qzeros", "I32", (*shape[:-2], i // 128, o // 8)))
            out.append((f"{base}.scales", "F16", (*shape[:-2], i // 128, o)))
        elif scheme == "mxfp4" and quant and t.routed:
            o, i = t.shape
            base = name.removesuffix(".weight")
            out.append((f"{base}_blocks", "U8", (*shape[:-2], o, i // 32, 16)))
            out.append((f"{base}_scales", "U8", (*shape[:-2], o, i // 32)))
        elif scheme == "bnb4" and quant:
            n = prod(shape)
            out.append((name, "U8", (n // 2, 1)))
            out.append((f"{name}.absmax", "F32", (n // 64,)))
            out.append((f"{name}.quant_map", "F32", (16,)))
            out.append((f"{name}.quant_state.bitsandbytes__nf4", "U8", (120,)))
        else:
            dtype = "F16" if scheme == "awq" else float_dtype
            out.append((name, dtype, shape))
    return out


def write_safetensors(path: Path, tensors: Tensors, *, length: int | None = None) -> int:
    """Write a safetensors file whose data is sparse; return its size. ``length``
    overrides the header-length field (for the oversized-header case)."""
    header: dict[str, Any] = {"__metadata__": {"format": "pt"}}
    offset = 0
    for name, dtype, shape in sorted(tensors, key=lambda r: (-DTYPE_BITS[r[1]], r[0])):
        n = prod(shape) * DTYPE_BITS[dtype] // 8
        header[name] = {"dtype": dtype, "shape": list(shape), "data_offsets": [offset, offset + n]}
        offset += n
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as fh:
        fh.write((len(text) if length is None else length).to_bytes(8, "little"))
        fh.write(text)
    size = 8 + len(text) + offset
    os.truncate(path, size)
    return size


def check_safetensors(path: Path) -> list[str]:
    """Open the file with the safetensors library (validates header and offsets)."""
    from safetensors import safe_open

    with safe_open(str(path), framework="numpy") as f:
        return list(f.keys())


def write_gguf(
    path: Path,
    arch: str,
    meta: dict[str, Any],
    tensors: list[tuple[str, tuple[int, ...], int]],
    *,
    split_max_tensors: int = 0,
) -> list[Path]:
    """Write a GGUF (``tensors``: name, ggml ``ne`` (row length first), ggml type id) with
    gguf-py; data sparse. Returns the files written (several for a split)."""
    import gguf
    import numpy as np

    from engine.ggml import GgmlType, get_ggml_type

    path.parent.mkdir(parents=True, exist_ok=True)
    w = gguf.GGUFWriter(path, arch, split_max_tensors=split_max_tensors)
    for key, value in meta.items():
        if isinstance(value, bool):
            w.add_bool(key, value)
        elif isinstance(value, int):
            w.add_uint32(key, value)
        elif isinstance(value, float):
            w.add_float32(key, value)
        elif isinstance(value, str):
            w.add_string(key, value)
        else:
            w.add_array(key, list(value))
    for name, ne, ttype in tensors:
        traits = get_ggml_type(GgmlType(ttype))
        nbytes = prod(ne[1:]) * traits.row_bytes(ne[0])
        w.add_tensor_info(
            name,
            tuple(reversed(ne)),
            np.dtype(np.float32),
            nbytes,
            gguf.GGMLQuantizationType(ttype),
        )
    w.write_header_to_file(path)
    w.write_kv_data_to_file()
    w.write_ti_data_to_file()
    files = [Path(p) for p in w.print_plan()] if hasattr(w, "print_plan") else [path]
    sizes = [sum(ti.nbytes for ti in part.values()) for part in w.tensors]
    w.close()
    out = []
    for f, data in zip(files, sizes, strict=True):
        size = f.stat().st_size
        size += -size % 32 + data  # GGUF data section: aligned to general.alignment (32)
        os.truncate(f, size)
        out.append(f)
    return out


# HF config field → gguf key suffix (engine.hub.resolve reads them back)
def gguf_model(
    spec: ModelSpec, config: dict[str, Any], ft_id: str, *, name: str, overrides: dict | None = None
) -> tuple[str, dict[str, Any], list[tuple[str, tuple[int, ...], int]]]:
    """(arch, metadata, tensors) of the GGUF llama-quantize writes for ``spec`` as file type
    ``ft_id``; ``overrides`` {tensor name: ggml type} makes a dynamic mix."""
    from engine.formats import gguf_file_types
    from engine.gguf import gguf_plan, gguf_types
    from engine.hub.resolve import _GGUF_FIELDS

    ft = gguf_file_types()[ft_id]
    # llama.cpp's LLM_ARCH names (llama-arch.cpp); spec.gguf_arch falls back to model_type
    arch = {"qwen3_moe": "qwen3moe", "qwen2_moe": "qwen2moe", "gemma3_text": "gemma3"}.get(
        spec.gguf_arch, spec.gguf_arch
    )
    att = spec.layers[0].attention
    meta: dict[str, Any] = {"general.name": name, "general.file_type": int(ft.ftype)}
    values = {
        **config,
        "num_hidden_layers": spec.num_layers,
        "head_dim": att.head_dim,
        "num_key_value_heads": att.num_kv_heads,
    }
    for hf, key in _GGUF_FIELDS:
        v = values.get(hf)
        if isinstance(v, (int, float)) and not isinstance(v, bool):
            meta[f"{arch}.{key}"] = v
    if att.v_head_dim:
        meta[f"{arch}.attention.value_length"] = att.v_head_dim
    experts = max((layer.mlp.num_experts for layer in spec.layers), default=0)
    if experts > 1:
        meta[f"{arch}.expert_count"] = experts
    meta["tokenizer.ggml.model"] = "gpt2"
    meta["tokenizer.ggml.tokens"] = [f"t{i}" for i in range(spec.vocab_size)]
    types = gguf_types(spec, ft)
    types.update(overrides or {})
    tensors = []
    for e in gguf_plan(spec).entries:
        t = e.tensor
        if len(t.shape) == 1:
            ne = (e.ne0,) if t.experts == 1 else (e.ne0, t.experts)
        elif t.experts > 1:
            ne = (e.ne0, e.rows // t.experts, t.experts)
        else:
            ne = (e.ne0, e.rows)
        tensors.append((e.gname, ne, int(types[e.gname])))
    return arch, meta, tensors
