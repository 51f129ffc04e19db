"""LoRA adapter counts: exact against peft.

Expected values were counted with peft 0.21.2 on transformers 5.24.0 (``/work/refenv``):
``get_peft_model(AutoModelForCausalLM.from_config(cfg) on the meta device,
LoraConfig(r=rank, target_modules=[...]))`` and summing the numel of every ``lora_``
parameter, with the catalog's config.json for each model.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.catalog import load_model
from engine.errors import InvalidWorkload
from engine.lora import adapted_tensor_names, lora_params, lora_params_by_layer

ALL = ("q", "k", "v", "o", "gate", "up", "down")

# (slug, targets, rank, lora parameters peft creates)
PEFT_COUNTS = [
    # peft target_modules q_proj...down_proj
    ("llama-3.1-8b", ALL, 16, 41_943_040),
    ("llama-3.1-8b", ("q", "v"), 8, 3_407_872),
    ("qwen2.5-7b", ALL, 64, 161_480_704),
    ("mistral-7b-v0.1", ("q", "v"), 16, 6_815_744),
    ("gemma-2-2b", ALL, 16, 20_766_720),
    # fused qkv_proj / gate_up_proj: target_modules qkv_proj, o_proj, gate_up_proj, down_proj
    ("phi-3-mini-4k-instruct", ALL, 16, 25_165_824),
    # GPT-2 Conv1D: c_attn, attn.c_proj, c_fc, mlp.c_proj
    ("gpt2", ("q", "k", "v", "o", "up", "down"), 8, 1_179_648),
    # MoE, routed experts not adapted (fused 3-D parameters), shared experts adapted
    ("mixtral-8x7b", ALL, 16, 13_631_488),
    ("qwen1.5-moe-a2.7b", ALL, 8, 7_569_408),
    ("gpt-oss-20b", ALL, 8, 3_981_312),
    # peft converts gate/up/down to target_parameters on the fused experts (rank 2r on gate_up)
    ("qwen3-30b-a3b", ALL, 8, 497_418_240),
    # target_modules kv_a_proj_with_mqa, kv_b_proj, o_proj, gate_proj, up_proj, down_proj
    ("deepseek-v2-lite", ("k", "v", "o", "gate", "up", "down"), 8, 177_952_256),
]


@pytest.mark.parametrize(("slug", "targets", "rank", "expected"), PEFT_COUNTS)
def test_lora_params_match_peft(
    slug: str, targets: tuple[str, ...], rank: int, expected: int
) -> None:
    assert lora_params(load_model(slug), targets, rank) == expected


def test_llama_8b_by_hand() -> None:
    # Llama-3.1-8B, rank 16, per layer: q 16·(4096+4096), k and v 16·(4096+1024),
    # o 16·(4096+4096), gate/up/down 16·(4096+14336) → 1,310,720; × 32 layers.
    per_layer = 16 * (8192 + 5120 + 5120 + 8192 + 3 * 18432)
    assert per_layer == 1_310_720
    by_layer = lora_params_by_layer(load_model("llama-3.1-8b"), ALL, 16)
    assert set(by_layer) == set(range(32))
    assert all(v == per_layer for v in by_layer.values())


def test_deepseek_v2_lite_experts_by_hand() -> None:
    # 27 layers of MLA attention: kv_a 8·(2048+576), kv_b 8·(512+4096), o 8·(2048+2048);
    # 26 MoE layers: gate_up 2·8·64·(2048+2·1408), down 8·64·(1408+2048). The dense first
    # layer's MLP and the shared experts lose their adapters in peft's conversion.
    attn = 8 * (2048 + 576) + 8 * (512 + 4096) + 8 * (2048 + 2048)
    experts = 16 * 64 * (2048 + 2816) + 8 * 64 * (1408 + 2048)
    assert 27 * attn + 26 * experts == 177_952_256
    names = adapted_tensor_names(load_model("deepseek-v2-lite"), ("gate", "up", "down"))
    assert "ffn_gate_exps" in names and "ffn_gate_shexp" not in names and "ffn_gate" not in names


def test_fused_qkv_adapted_once() -> None:
    spec = load_model("phi-3-mini-4k-instruct")
    assert lora_params(spec, ("q",), 8) == lora_params(spec, ("q", "k", "v"), 8)
    # qkv_proj: 3072 → 3·3072
    assert lora_params(spec, ("q",), 8) == 32 * 8 * (3072 + 9216)


def test_mixtral_experts_not_adapted() -> None:
    spec = load_model("mixtral-8x7b")
    assert lora_params(spec, ("gate", "up", "down"), 16) == 0
    assert "ffn_gate_exps" not in adapted_tensor_names(spec, ALL)


@pytest.mark.parametrize(
    ("targets", "rank", "field"),
    [((), 8, "lora_targets"), (("qkv",), 8, "lora_targets"), (("q",), 0, "lora_rank")],
)
def test_bad_input(targets: tuple[str, ...], rank: int, field: str) -> None:
    with pytest.raises(InvalidWorkload) as err:
        lora_params(load_model("llama-3.2-1b"), targets, rank)
    assert err.value.field == field


def test_gate_without_up_on_fused_experts_is_rejected() -> None:
    with pytest.raises(InvalidWorkload, match="gate_up_proj"):
        lora_params(load_model("qwen3-30b-a3b"), ("q", "gate"), 8)


SLUGS = ["llama-3.2-1b", "qwen3-0.6b", "phi-2", "mixtral-8x7b", "gemma-2-2b", "deepseek-v2-lite"]


@settings(max_examples=40, deadline=None)
@given(
    slug=st.sampled_from(SLUGS),
    targets=st.sets(st.sampled_from(["q", "k", "v", "o", "down"]), min_size=1),
    rank=st.integers(1, 512),
)
def test_linear_in_rank_and_monotonic_in_targets(slug: str, targets: set[str], rank: int) -> None:
    spec = load_model(slug)
    n = lora_params(spec, sorted(targets), rank)
    assert n == rank * lora_params(spec, sorted(targets), 1)
    assert lora_params(spec, sorted(targets), rank + 1) >= n
    assert lora_params(spec, sorted(targets | {"o"}), rank) >= n
