"""LoRA adapter shapes: which tensors peft wraps for a set of targets, and how many parameters.

peft's ``LoraLayer`` adds, for each targeted linear with ``in_features`` inputs and
``out_features`` outputs, ``lora_A`` (rank × in) and ``lora_B`` (out × rank), no bias by
default: ``rank · (in + out)`` parameters (peft/tuners/lora/layer.py, ``update_layer``).

Targets are the short names the CLI takes (q, k, v, o, gate, up, down), mapped to the module
names peft matches in the transformers implementation, which we express as GGUF tensor names:

* fused projections are one module for peft: ``attn_qkv`` (Phi-3 ``qkv_proj``, GPT-2
  ``c_attn``, GPT-NeoX/Falcon ``query_key_value``) is adapted once if any of q, k, v is
  targeted, ``ffn_gate_up`` (Phi-3 ``gate_up_proj``) once if gate or up is;
* non-gated MLPs (GPT-2 ``c_fc``/``c_proj``, NeoX ``dense_h_to_4h``...) map up/down;
* MLA (DeepSeek-V2/V3): q → ``q_proj`` or ``q_a_proj`` + ``q_b_proj``; k or v →
  ``kv_a_proj_with_mqa`` + ``kv_b_proj`` (keys and values share that path);
* MoE: shared experts are ``nn.Linear`` modules named gate_proj/up_proj/down_proj and are
  adapted like a dense MLP. Routed experts are **not**: transformers 5 stores every expert of
  Mixtral, Qwen2/3-MoE, DeepSeek-V2/V3 and gpt-oss as fused 3-D ``nn.Parameter``s
  (``gate_up_proj`` [experts, 2·inter, hidden], ``down_proj``), which peft's
  ``target_modules`` cannot match. ``include_experts=True`` counts them the way peft's
  ``target_parameters`` does (``ParamWrapper``: ``lora_A`` rank·experts × in, ``lora_B``
  out × rank·experts, i.e. ``rank · experts · (in + out)`` per 3-D parameter, with gate and
  up fused into one parameter).

Routers (``ffn_gate_inp``), embeddings and lm_head are never targeted.
"""

from __future__ import annotations

from collections.abc import Iterable

from .errors import InvalidWorkload
from .model import ModelSpec, Tensor
from .workload import LORA_TARGETS

# short target → GGUF tensor names that peft's matching module carries, per layout
_TARGET_TENSORS: dict[str, tuple[str, ...]] = {
    "q": ("attn_q", "attn_q_a", "attn_q_b", "attn_qkv"),
    "k": ("attn_k", "attn_kv_a_mqa", "attn_kv_b", "attn_qkv"),
    "v": ("attn_v", "attn_kv_a_mqa", "attn_kv_b", "attn_qkv"),
    "o": ("attn_output",),
    "gate": ("ffn_gate", "ffn_gate_shexp", "ffn_gate_up"),
    "up": ("ffn_up", "ffn_up_shexp", "ffn_gate_up"),
    "down": ("ffn_down", "ffn_down_shexp"),
}
_EXPERT_TENSORS: dict[str, tuple[str, ...]] = {
    "gate": ("ffn_gate_exps",),
    "up": ("ffn_up_exps",),
    "down": ("ffn_down_exps",),
}


def _check(targets: Iterable[str], rank: int) -> tuple[str, ...]:
    chosen = tuple(dict.fromkeys(targets))
    if not chosen:
        raise InvalidWorkload(
            f"lora_targets is empty; choose from {', '.join(LORA_TARGETS)}", field="lora_targets"
        )
    for t in chosen:
        if t not in _TARGET_TENSORS:
            raise InvalidWorkload(
                f"unknown LoRA target {t!r}; choose from {', '.join(LORA_TARGETS)}",
                field="lora_targets",
            )
    if isinstance(rank, bool) or not isinstance(rank, int) or rank < 1:
        raise InvalidWorkload(f"lora_rank must be a whole number >= 1, got {rank!r}", field="lora_rank")
    return chosen


def target_tensor_names(targets: Iterable[str]) -> frozenset[str]:
    """Return the GGUF tensor names peft wraps for the short ``targets`` (dense modules)."""
    names: set[str] = set()
    for t in targets:
        names.update(_TARGET_TENSORS.get(t, ()))
    return frozenset(names)


def lora_tensors(
    spec: ModelSpec, targets: Iterable[str], *, include_experts: bool = False
) -> tuple[Tensor, ...]:
    """Return the base tensors that get an adapter (fused experts once, as one parameter)."""
    chosen = _check(targets, 1)
    names = target_tensor_names(chosen)
    out = [t for t in spec.tensors if t.kind == "linear" and t.name in names]
    if include_experts:
        expert_names = {n for t in chosen for n in _EXPERT_TENSORS.get(t, ())}
        out.extend(t for t in spec.tensors if t.kind == "linear" and t.name in expert_names)
    return tuple(out)


def lora_params_by_layer(
    spec: ModelSpec, targets: Iterable[str], rank: int, *, include_experts: bool = False
) -> dict[int | None, int]:
    """Return adapter parameters per layer index (``None`` for tensors outside layers)."""
    chosen = _check(targets, rank)
    counts: dict[int | None, int] = {}
    fused_done: set[tuple[int | None, str]] = set()
    for t in lora_tensors(spec, chosen, include_experts=include_experts):
        out_f, in_f = t.shape
        if t.name in ("ffn_gate_exps", "ffn_up_exps"):
            # transformers 5 fuses gate and up into one [experts, 2·inter, hidden] parameter
            key = (t.layer, "gate_up_exps")
            if key in fused_done:
                continue
            fused_done.add(key)
            n = rank * t.experts * (2 * out_f + in_f)
        else:
            n = rank * t.experts * (in_f + out_f)
        counts[t.layer] = counts.get(t.layer, 0) + n
    return counts


def lora_params(
    spec: ModelSpec, targets: Iterable[str], rank: int, *, include_experts: bool = False
) -> int:
    """Return the number of LoRA adapter parameters (lora_A + lora_B) peft creates."""
    return sum(lora_params_by_layer(spec, targets, rank, include_experts=include_experts).values())
