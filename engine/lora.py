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
* MoE, as peft 0.21 on transformers 5.24 does it. transformers 5 stores routed experts as
  fused 3-D ``nn.Parameter``s (``gate_up_proj`` [experts, 2·inter, hidden], ``down_proj``),
  which ``target_modules`` cannot match. For the model types transformers maps to its
  ``qwen2_moe`` conversion pattern (deepseek_v2, deepseek_v3, qwen3_moe) peft converts the
  targets gate_proj/up_proj/down_proj to ``target_parameters``: each expert stack gets a
  ``ParamWrapper`` (``lora_A`` rank·experts × in, ``lora_B`` out × rank·experts), gate_up
  with rank doubled, and the dense/shared-expert MLPs lose those targets; gate without up
  (or up without gate) is rejected ("they are fused into gate_up_proj"). For mixtral,
  qwen2_moe and gpt_oss the experts are simply not adapted, while shared experts (``nn.Linear``
  gate_proj/up_proj/down_proj) are. (peft/utils/transformers_weight_conversion.py
  ``_convert_peft_config_moe``; checked by instantiating peft 0.21.2 on meta-device models.)

Routers (``ffn_gate_inp``), embeddings and lm_head are never targeted.
"""

from __future__ import annotations

from collections.abc import Iterable

from .errors import InvalidWorkload
from .messages import msg
from .model import ModelSpec
from .workload import LORA_TARGETS, check_lora_targets

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
_MLP_TARGETS = ("gate", "up", "down")


def _check(targets: Iterable[str], rank: int) -> tuple[str, ...]:
    chosen = tuple(dict.fromkeys(targets))
    if not chosen:
        raise InvalidWorkload(
            msg("lora_targets is empty; choose from {targets}", targets=", ".join(LORA_TARGETS)),
            field="lora_targets",
        )
    check_lora_targets(chosen)
    if isinstance(rank, bool) or not isinstance(rank, int) or rank < 1:
        raise InvalidWorkload(
            msg("{key} must be a whole number >= 1, got {value!r}", key="lora_rank", value=rank),
            field="lora_rank",
        )
    return chosen


def target_tensor_names(targets: Iterable[str]) -> frozenset[str]:
    """Return the GGUF tensor names of the ``nn.Linear`` modules peft wraps for ``targets``."""
    names: set[str] = set()
    for t in targets:
        names.update(_TARGET_TENSORS.get(t, ()))
    return frozenset(names)


def adapted_tensor_names(spec: ModelSpec, targets: Iterable[str]) -> frozenset[str]:
    """Return the tensor names that get an adapter in ``spec`` (expert stacks included)."""
    chosen = _check(targets, 1)
    names = set(target_tensor_names(chosen))
    mlp = [t for t in chosen if t in _MLP_TARGETS]
    if spec.traits.peft_fused_experts and spec.is_moe and mlp:  # fused expert params
        if ("gate" in mlp) != ("up" in mlp):
            raise InvalidWorkload(
                msg(
                    "peft cannot adapt only {target} of {model_type}'s experts: gate and up are "
                    "fused into one gate_up_proj parameter; target both gate and up, or neither",
                    target="gate" if "gate" in mlp else "up",
                    model_type=spec.model_type,
                ),
                field="lora_targets",
            )
        names -= {
            "ffn_gate",
            "ffn_up",
            "ffn_down",
            "ffn_gate_shexp",
            "ffn_up_shexp",
            "ffn_down_shexp",
            "ffn_gate_up",
        }
        if "gate" in mlp:
            names |= {"ffn_gate_exps", "ffn_up_exps"}
        if "down" in mlp:
            names.add("ffn_down_exps")
    return frozenset(names)


def lora_params_by_layer(
    spec: ModelSpec, targets: Iterable[str], rank: int
) -> dict[int | None, int]:
    """Return adapter parameters per layer index (``None`` for tensors outside layers)."""
    _check(targets, rank)
    names = adapted_tensor_names(spec, targets)
    counts: dict[int | None, int] = {}
    for t in spec.tensors:
        if t.kind != "linear" or t.name not in names:
            continue
        out_f, in_f = t.shape
        if t.name == "ffn_gate_exps":
            # one fused [experts, 2·inter, hidden] parameter, adapted at rank 2·r
            n = 2 * rank * t.experts * (2 * out_f + in_f)
        elif t.name == "ffn_up_exps":
            continue
        else:
            n = rank * t.experts * (in_f + out_f)
        counts[t.layer] = counts.get(t.layer, 0) + n
    return counts


def lora_params(spec: ModelSpec, targets: Iterable[str], rank: int) -> int:
    """Return the number of LoRA adapter parameters (lora_A + lora_B) peft creates."""
    return sum(lora_params_by_layer(spec, targets, rank).values())
