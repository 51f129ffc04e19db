"""What the reader read → a resolved model: the config the catalog parser takes, the
weights as stored, and the cross-check of the two parameter counts.

One code path: a Hub config goes through ``arch.parse_config`` exactly as a catalog or
pasted config does; a GGUF header is first mapped back to the Hugging Face config fields
llama.cpp's ``convert_hf_to_gguf.py`` wrote it from (``gguf_to_config``).
"""

from __future__ import annotations

import re
from math import prod
from typing import Any

from ..arch import parse_config
from ..arch.handlers import HANDLERS
from ..arch.quantization import find_quantization_config
from ..errors import UnsupportedArchitecture
from ..messages import msg
from . import safetensors as st
from .errors import HubBadFile
from .gguf import GgufArray, GgufHeader

# gguf general.architecture → HF model_type (convert_hf_to_gguf.py's model classes)
GGUF_ARCHES: dict[str, str] = {
    "llama": "llama",
    "qwen2": "qwen2",
    "qwen3": "qwen3",
    "qwen2moe": "qwen2_moe",
    "qwen3moe": "qwen3_moe",
    "gemma": "gemma",
    "gemma2": "gemma2",
    "gemma3": "gemma3_text",
    "phi3": "phi3",
    "starcoder2": "starcoder2",
    "olmo2": "olmo2",
}

# HF config field ← gguf key suffix (after "{arch}."), as convert_hf_to_gguf writes them
_GGUF_FIELDS: tuple[tuple[str, str], ...] = (
    ("num_hidden_layers", "block_count"),
    ("hidden_size", "embedding_length"),
    ("intermediate_size", "feed_forward_length"),
    ("num_attention_heads", "attention.head_count"),
    ("num_key_value_heads", "attention.head_count_kv"),
    ("max_position_embeddings", "context_length"),
    ("rope_theta", "rope.freq_base"),
    ("rms_norm_eps", "attention.layer_norm_rms_epsilon"),
    ("head_dim", "attention.key_length"),
    ("sliding_window", "attention.sliding_window"),
    ("moe_intermediate_size", "expert_feed_forward_length"),
    ("shared_expert_intermediate_size", "expert_shared_feed_forward_length"),
    ("num_experts_per_tok", "expert_used_count"),
    ("final_logit_softcapping", "final_logit_softcapping"),
    ("attn_logit_softcapping", "attn_logit_softcapping"),
)

# parameters the config does not describe, by tensor name (for the cross-check's reason)
_EXTRA_GROUPS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("a multi-token-prediction (MTP) layer", re.compile(r"(^|\.)mtp[._]|\.mtp\b|nextn")),
    (
        "a vision tower",
        re.compile(r"vision|visual|image_newline|multi_modal_projector|mm_proj|vit\."),
    ),
    ("an audio tower", re.compile(r"audio|speech")),
)


def _scalar(v: Any) -> Any:
    """A per-layer array (e.g. head_count_kv of a hybrid model) → its largest value."""
    if isinstance(v, list) and v and all(isinstance(x, (int, float)) for x in v):
        return max(v)
    return v


def gguf_to_config(header: GgufHeader, tensors: list[Any], *, file: str) -> dict[str, Any]:
    """Return the Hugging Face config.json fields a GGUF file was converted from."""
    meta = header.metadata
    arch = header.architecture
    model_type = GGUF_ARCHES.get(arch)
    if model_type is None:
        raise UnsupportedArchitecture(
            msg(
                "{file} is a GGUF of architecture {arch!r}, which this calculator does not "
                "read from GGUF; supported GGUF architectures: {known}. Look up the original "
                "(safetensors) repo instead",
                file=file,
                arch=arch or "?",
                known=", ".join(GGUF_ARCHES),
            ),
            field="model",
        )
    cfg: dict[str, Any] = {"model_type": model_type, "torch_dtype": "bfloat16"}
    for hf, key in _GGUF_FIELDS:
        v = _scalar(meta.get(f"{arch}.{key}"))
        if v is not None and not isinstance(v, GgufArray):
            cfg[hf] = v
    n_exp = meta.get(f"{arch}.expert_count")
    names = {t.name: t for t in tensors}
    if isinstance(n_exp, int) and n_exp > 1:
        if model_type == "llama":
            cfg["model_type"] = "mixtral"
            cfg["num_local_experts"] = n_exp
        else:
            cfg["num_experts"] = n_exp
        if "moe_intermediate_size" not in cfg and "intermediate_size" in cfg:
            cfg["moe_intermediate_size"] = cfg["intermediate_size"]
    embd = names.get("token_embd.weight")
    vocab = meta.get(f"{arch}.vocab_size")
    if not isinstance(vocab, int):
        tokens = meta.get("tokenizer.ggml.tokens")
        vocab = tokens.length if isinstance(tokens, GgufArray) else len(tokens or [])
    if embd is not None and len(embd.shape) == 2:
        vocab = embd.shape[1]  # the embedding's rows are the padded vocabulary
    if not vocab:
        raise HubBadFile(msg("{file} gives no vocabulary size", file=file))
    cfg["vocab_size"] = vocab
    cfg["tie_word_embeddings"] = "output.weight" not in names
    if "blk.0.attn_q.bias" in names:
        cfg["attention_bias"] = True
    if model_type == "gemma3_text" and "sliding_window" in cfg:
        cfg.setdefault("sliding_window_pattern", 6)
    name = meta.get("general.name")
    cfg["_name_or_path"] = str(name) if isinstance(name, str) else file
    return cfg


def _parse(config: dict[str, Any], label: str) -> tuple[Any, dict[str, Any], list[str]]:
    """parse_config, falling back to a multimodal config's text_config (named in notes)."""
    notes: list[str] = []
    cfg = dict(config)
    cfg["_name_or_path"] = label
    if cfg.get("model_type") not in HANDLERS:
        text = cfg.get("text_config")
        if isinstance(text, dict) and text.get("model_type") in HANDLERS:
            notes.append(
                msg(
                    "model_type {mt!r} is not modelled; its language model (text_config, "
                    "{tt!r}) is sized alone: the vision/audio tower is not counted",
                    mt=cfg.get("model_type"),
                    tt=text.get("model_type"),
                )
            )
            cfg = {**text, "_name_or_path": label}
            if "quantization_config" in config and "quantization_config" not in cfg:
                cfg["quantization_config"] = config["quantization_config"]
    return parse_config(cfg, name=label), cfg, notes


def _extra_params(names_params: list[tuple[str, int]], num_layers: int) -> dict[str, int]:
    layer = re.compile(r"layers\.(\d+)\.")
    out: dict[str, int] = {}
    for name, n in names_params:
        m = layer.search(name)
        for label, pat in _EXTRA_GROUPS:
            if pat.search(name):
                out[label] = out.get(label, 0) + n
                break
        else:
            if m and int(m.group(1)) >= num_layers:
                key = "a multi-token-prediction (MTP) layer"
                out[key] = out.get(key, 0) + n
    return out


def _check(config_total: int, stored: int, extras: dict[str, int]) -> dict[str, Any]:
    """Config parameters vs the checkpoint's, and why they differ when they do."""
    diff = stored - config_total
    reason: str | None = None
    if diff:
        named = [k for k, v in extras.items() if v]
        if named and sum(extras[k] for k in named) == diff:
            reason = msg(
                "the checkpoint also stores {what} ({n:,} parameters) that the estimate does "
                "not load",
                what=", ".join(named),
                n=diff,
            )
        elif diff > 0:
            reason = msg(
                "the checkpoint stores {n:,} more parameters than its config.json describes",
                n=diff,
            )
        else:
            reason = msg(
                "the checkpoint stores {n:,} fewer parameters than its config.json describes "
                "(e.g. tied or omitted tensors)",
                n=-diff,
            )
    return {
        "config_parameters": config_total,
        "stored_parameters": stored,
        "difference": diff,
        "matches": diff == 0,
        "reason": reason,
    }


def finish_safetensors(
    label: str, config: dict[str, Any], shards: dict[str, dict[str, tuple[str, tuple[int, ...]]]]
) -> dict[str, Any]:
    spec, cfg, notes = _parse(config, label)
    # where transformers/vLLM read it: top level, then text_config (arch.quantization)
    quant = find_quantization_config(cfg)[0] or find_quantization_config(config)[0]
    tensors: list[st.StoredTensor] = []
    for f in sorted(shards):
        tensors.extend(st.stored_tensors(shards[f], quant if isinstance(quant, dict) else None))
    out: dict[str, Any] = {"format": "safetensors" if shards else "config", "config": cfg}
    out.update({"weights": "auto", "runtime": None, "notes": notes})
    out["files"] = sorted(["config.json", *shards])
    if shards:
        summary = st.summarize(tensors)
        out["stored"] = summary.to_dict()
        extras = _extra_params([(t.name, t.params) for t in tensors], spec.num_layers)
        out["check"] = _check(spec.total_params, summary.parameters, extras)
    else:
        out["stored"] = None
        out["check"] = None
        notes.append(msg("the repo has no safetensors weights; sizes follow config.json alone"))
    return out


def finish_gguf(
    label: str, parts: list[str], headers: list[GgufHeader], siblings: dict[str, int | None]
) -> dict[str, Any]:
    from ..formats import gguf_file_types
    from ..gguf import GGUF_FILE_KEY

    first = headers[0]
    tensors = [t for h in headers for t in h.tensors]
    cfg = gguf_to_config(first, tensors, file=parts[0])
    spec, cfg, notes = _parse(cfg, label)
    by: dict[str, dict[str, int]] = {}
    for t in tensors:
        row = by.setdefault(t.type_name, {"tensors": 0, "bytes": 0, "parameters": 0})
        row["tensors"] += 1
        row["bytes"] += t.nbytes()
        row["parameters"] += prod(t.shape)
    total = sum(r["bytes"] for r in by.values())
    params = sum(r["parameters"] for r in by.values())
    ftype = first.metadata.get("general.file_type")
    weights = "auto"
    for fid, ft in gguf_file_types().items():
        if isinstance(ftype, int) and int(ft.ftype) == ftype:
            weights = fid
            break
    else:
        notes.append(
            msg(
                "general.file_type {ft} names no llama-quantize preset; the estimate uses the "
                "file's own tensor types",
                ft=ftype,
            )
        )
    preset = _preset_check(spec, weights, tensors, total)
    if preset and preset["tensors_differing"]:
        notes.append(
            msg(
                "{n} tensors of this file have other types than llama-quantize's {id} preset "
                "writes (a dynamic mix): the estimate uses the file's own types, {stored:,} "
                "bytes of weights; the {id} preset would write {est:,} bytes",
                n=preset["tensors_differing"],
                id=weights,
                stored=total,
                est=preset["weights_bytes"],
            )
        )
    # the file's own per-tensor types travel with the config into the estimate
    # (engine.gguf.with_gguf_file): llama.cpp runs these bytes, not the preset's
    types = {t.name: t.type_name for t in tensors}
    cfg[GGUF_FILE_KEY] = {"weights": weights, "tensor_types": types}
    return {
        "preset": preset,
        "format": "gguf",
        "config": cfg,
        "weights": weights,
        "runtime": "llamacpp",
        "notes": notes,
        "files": parts,
        "file_bytes": sum(siblings.get(p) or 0 for p in parts) or None,
        "stored": {
            "weights_bytes": total,
            "parameters": params,
            "tensors": len(tensors),
            "by_dtype": dict(sorted(by.items())),
        },
        "tensor_types": types,
        "check": _check(spec.total_params, params, {}),
        "gguf": {
            "architecture": first.architecture,
            "version": first.version,
            "file_type": ftype,
            "split_count": len(parts),
        },
    }


def _preset_check(spec: Any, fid: str, tensors: list[Any], stored: int) -> dict[str, Any] | None:
    """How the file's tensor types compare with the preset the estimate uses."""
    if fid == "auto":
        return None
    from ..quant import gguf_tensor_types, weights_bytes

    want = gguf_tensor_types(spec, fid)
    have = {t.name: t.type_name for t in tensors}
    differing = sorted(n for n, ty in have.items() if n in want and want[n] != ty)
    return {
        "id": fid,
        "weights_bytes": weights_bytes(spec, fid, runtime="llamacpp"),
        "stored_weights_bytes": stored,
        "tensors_differing": len(differing),
        "differing": differing[:50],
    }
