"""Reference parameter counts from transformers (dev-only; never imported by the engine).

Run in the reference venv (torch + transformers):

    /work/refenv/bin/python tools/reference/params.py
    /work/refenv/bin/python tools/reference/params.py --only catalog/qwen3-next-80b-a3b-instruct

For every config under engine/data/models/*/config.json, reference/configs/*.json and
reference/configs/variants/*.json it instantiates ``AutoModelForCausalLM.from_config``
on the meta device (no memory, no weights; a ``quantization_config`` is dropped so the logical
parameters are counted) and records, counting each parameter once (tied weights deduplicated,
as ``model.num_parameters()`` does):

* ``total``      - model.num_parameters()
* ``embedding``  - the input token embedding plus learned position embeddings
* ``lm_head``    - the output projection (weight + bias) when not tied to the embedding
* ``per_layer``  - parameters under each decoder layer of the language model
* ``other``      - the rest (final norm; a vision tower and projector for Gemma 3)
* ``tied``       - whether the output projection shares the embedding's weight
* ``kv_elems``   - per decoder layer, K/V elements cached per token (MLA: the latent)
* ``windows``    - per decoder layer, the sliding window its attention uses (None = global)
* ``active``     - for MoE: total minus the routed experts a token does not use
                   (each routed expert stack counts num_experts_per_tok / num_experts)

and writes reference/params.json (sorted keys) with the torch/transformers versions and
each config file's sha256, so a test can tell when a config changed after the reference ran.
Configs this transformers cannot instantiate are listed under ``unloadable`` with the error.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import sys
import warnings
from pathlib import Path

import torch
import transformers
from transformers import AutoConfig, AutoModelForCausalLM

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "reference" / "params.json"

# ModuleList prefixes of the language model's decoder layers, most specific first
LAYER_PREFIXES = (
    "model.language_model.layers.",
    "language_model.model.layers.",  # Llama4ForConditionalGeneration
    "model.layers.",
    "transformer.h.",
    "gpt_neox.layers.",
)
POSITION_NAMES = ("wpe.", "embed_positions.")
EXPERT_RE = re.compile(r"(^|\.)experts\.")
# vision-language wrappers not (or not only) in AutoModelForCausalLM's table: built with the
# class their config's ``architectures`` names, and their language model is counted alone
# as ``text_total`` (everything under the language model plus lm_head)
ARCHITECTURE_CLASS_TYPES = (
    "llama4", "mistral3", "qwen2_5_vl", "qwen3_vl", "qwen3_vl_moe", "kimi_k25",
)  # fmt: skip
ARCHITECTURE_CLASS_TYPES += ("qwen3_5", "qwen3_5_moe")  # Qwen3.5 wrappers (arch.hybrid)
# a remote-code ``architectures`` name -> the transformers class of the same model
ARCHITECTURE_ALIASES = {"KimiK25ForConditionalGeneration": "Kimi_K25ForConditionalGeneration"}


def config_paths() -> list[tuple[str, Path]]:
    found = []
    for path in sorted((ROOT / "engine" / "data" / "models").glob("*/config.json")):
        found.append((f"catalog/{path.parent.name}", path))
    fixtures = ROOT / "reference" / "configs"
    for path in sorted(fixtures.glob("*.json")):
        found.append((f"fixture/{path.stem}", path))
    # variants: real configs with a flag flipped, to reach code paths no real config uses
    for path in sorted((fixtures / "variants").glob("*.json")):
        found.append((f"variant/{path.stem}", path))
    return found


def load_config(raw: dict):
    args = {k: v for k, v in raw.items() if k != "model_type"}
    # a pre-quantized checkpoint's config: count the logical (unquantized) parameters
    args.pop("quantization_config", None)
    return AutoConfig.for_model(raw["model_type"], **args)


def count(raw: dict) -> dict:
    cfg = load_config(raw)
    with torch.device("meta"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if raw["model_type"] in ARCHITECTURE_CLASS_TYPES:
            name = raw["architectures"][0]
            model = getattr(transformers, ARCHITECTURE_ALIASES.get(name, name))._from_config(cfg)
        else:
            model = AutoModelForCausalLM.from_config(cfg)
    named = list(model.named_parameters())  # deduplicated: a tied weight appears once
    total = model.num_parameters()
    assert total == sum(p.numel() for _, p in named)

    prefix = next(p for p in LAYER_PREFIXES if any(n.startswith(p) for n, _ in named))
    text_cfg = cfg.get_text_config()
    n_layers = text_cfg.num_hidden_layers
    per_layer = [0] * n_layers
    for n, p in named:
        if n.startswith(prefix):
            per_layer[int(n[len(prefix) :].split(".", 1)[0])] += p.numel()

    in_emb = model.get_input_embeddings()
    emb_ids = {id(p) for p in in_emb.parameters()}
    embedding = sum(p.numel() for p in in_emb.parameters())
    embedding += sum(
        p.numel() for n, p in named if any(s in n for s in POSITION_NAMES) and id(p) not in emb_ids
    )
    out = model.get_output_embeddings()
    lm_head = sum(p.numel() for p in out.parameters() if id(p) not in emb_ids)
    tied = out.weight is in_emb.weight

    entry = {
        "model_type": raw["model_type"],
        "windows": layer_windows(model, text_cfg, prefix),
        "kv_elems": layer_kv_elems(model, prefix),
        "total": total,
        "embedding": embedding,
        "lm_head": lm_head,
        "tied": bool(tied),
        "per_layer": per_layer,
        "other": total - embedding - lm_head - sum(per_layer),
    }
    if raw["model_type"] in ARCHITECTURE_CLASS_TYPES:
        entry["text_total"] = sum(
            p.numel() for n, p in named if "language_model." in n or n.startswith("lm_head.")
        )
    n_exp = getattr(text_cfg, "num_experts", None) or getattr(text_cfg, "num_local_experts", None)
    top_k = getattr(text_cfg, "num_experts_per_tok", None)
    if n_exp and top_k:
        routed = sum(p.numel() for n, p in named if EXPERT_RE.search(n))
        assert routed % n_exp == 0
        entry["active"] = total - routed + routed // n_exp * top_k
    return entry


# these pass config.sliding_window to every layer's attention call instead of storing it
UNIFORM_WINDOW_TYPES = ("mistral", "mixtral", "phi3", "starcoder2")


def layer_windows(model, text_cfg, prefix: str) -> list:
    """Sliding-window length each decoder layer's attention uses (None = global)."""
    layers = model.get_submodule(prefix.rstrip("."))
    windows = []
    for layer in layers:
        if text_cfg.model_type == "llama4_text":  # chunked layers cache like a window
            kind = text_cfg.layer_types[len(windows)]
            windows.append(text_cfg.attention_chunk_size if kind == "chunked_attention" else None)
            continue
        if text_cfg.model_type in UNIFORM_WINDOW_TYPES:
            windows.append(getattr(text_cfg, "sliding_window", None))
            continue
        attn = getattr(layer, "self_attn", None) or getattr(layer, "attention", None)
        window = getattr(attn, "sliding_window", None) or None
        if getattr(attn, "is_sliding", True) is False:  # exaone4 stores it on global layers too
            window = None
        windows.append(window)
    return windows


def _out(module) -> int:
    """Output width of a Linear (weight (out, in)) or a GPT-2 Conv1D (weight (in, out))."""
    return module.nf if hasattr(module, "nf") else module.out_features


def _in(module) -> int:
    return module.nx if hasattr(module, "nx") else module.in_features


def layer_kv_elems(model, prefix: str) -> list[int]:
    """K/V elements each decoder layer caches per token, read off the projection shapes:
    k + v widths (separate or fused: fused width minus the query width, which is the output
    projection's input width); for MLA the compressed latent + rope key width."""
    kv = []
    for layer in model.get_submodule(prefix.rstrip(".")):
        attn = next(
            (
                getattr(layer, n)
                for n in ("self_attn", "attention", "self_attention", "attn", "mixer")
                if hasattr(layer, n)
            ),
            None,
        )
        if attn is None or (attn is getattr(layer, "mixer", None) and not hasattr(attn, "k_proj")):
            kv.append(0)  # a recurrent (Mamba, Gated DeltaNet) or MLP-only layer: no K/V
        elif hasattr(attn, "kv_a_proj_with_mqa"):
            # DSA (DeepSeek-V3.2, GLM-5): the indexer's key is cached beside the latent
            indexer = getattr(attn, "indexer", None)
            extra = indexer.wk.out_features if indexer is not None else 0
            kv.append(attn.kv_a_proj_with_mqa.out_features + extra)
        elif hasattr(attn, "k_proj"):
            kv.append(attn.k_proj.out_features + attn.v_proj.out_features)
        else:
            fused = next(
                getattr(attn, n)
                for n in ("qkv_proj", "query_key_value", "c_attn")
                if hasattr(attn, n)
            )
            out = next(getattr(attn, n) for n in ("o_proj", "dense", "c_proj") if hasattr(attn, n))
            kv.append(_out(fused) - _in(out))
    return kv


def dump(doc: dict) -> str:
    """JSON with sorted keys, one line per model entry (short diffs when one model changes)."""
    lines = ["{"]
    keys = sorted(doc)
    for n, key in enumerate(keys):
        comma = "," if n < len(keys) - 1 else ""
        value = doc[key]
        if isinstance(value, dict) and value:
            lines.append(f" {json.dumps(key)}: {{")
            items = sorted(value.items())
            for m, (name, entry) in enumerate(items):
                inner = "," if m < len(items) - 1 else ""
                lines.append(f"  {json.dumps(name)}: {json.dumps(entry, sort_keys=True)}{inner}")
            lines.append(f" }}{comma}")
        else:
            lines.append(f" {json.dumps(key)}: {json.dumps(value, sort_keys=True)}{comma}")
    lines.append("}")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--only",
        help="comma-separated keys (catalog/<slug>, fixture/<name>): measure just these and "
        "merge them into the existing file, each entry recording its transformers version",
    )
    args = parser.parse_args(argv)
    only = set(args.only.split(",")) if args.only else None
    results: dict[str, dict] = {}
    unloadable: dict[str, dict] = {}
    previous = json.loads(OUT.read_text()) if only and OUT.exists() else None
    if previous:
        results, unloadable = previous["models"], previous.get("unloadable", {})
    for key, path in config_paths():
        if only is not None and key not in only:
            continue
        unloadable.pop(key, None)
        data = path.read_bytes()
        raw = json.loads(data)
        try:
            results[key] = count(raw)
            results[key]["config_sha256"] = hashlib.sha256(data).hexdigest()
            if previous:  # a merged entry may be newer than the file's versions
                results[key]["transformers"] = transformers.__version__
        except Exception as exc:  # record and continue: one odd config must not stop the rest
            message = f"{type(exc).__name__}: {exc}"
            print(f"{key}: FAILED {message}", file=sys.stderr)
            unloadable[key] = {
                "config_sha256": hashlib.sha256(data).hexdigest(),
                "error": message.splitlines()[0][:300],
            }
            continue
        print(f"{key}: {results[key]['total']:,}")
    doc = {
        "generated_by": "tools/reference/params.py",
        "method": "AutoModelForCausalLM.from_config(cfg) on torch.device('meta'); "
        "model.num_parameters() (tied weights counted once)",
        "torch": previous["torch"] if previous else torch.__version__,
        "transformers": previous["transformers"] if previous else transformers.__version__,
        "models": results,
        # configs this transformers version cannot instantiate (no reference for them)
        "unloadable": unloadable,
    }
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(dump(doc))
    print(f"wrote {OUT.relative_to(ROOT)} ({len(results)} models)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
