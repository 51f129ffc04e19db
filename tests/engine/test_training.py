"""Training estimate: hand-derived byte counts, the reference measurements, invariants."""

from __future__ import annotations

import json
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine import activations
from engine.activations import PRECISIONS, Training, head_activations, layer_activations
from engine.arch import parse_config
from engine.catalog import load_config, load_model
from engine.errors import InvalidWorkload
from engine.quant import quantize_tensors, weights_bytes
from engine.result import COMPONENT_NAMES
from engine.training import estimate_training
from engine.units import ceil_div
from engine.workload import OPTIMIZERS, TrainingWorkload
from reference import TRAINING, comparable_training_bytes

REFERENCE = TRAINING
LLAMA_8B_PARAMS = 8_030_261_248  # transformers' count for meta-llama/Llama-3.1-8B (issue #2)
# device context 300 MiB + Hopper cuBLAS workspace 32 MiB (engine/data/runtimes.json)
CONTEXT = 300 * 2**20 + 32 * 2**20


def test_llama_8b_full_amp_adamw_16_bytes_per_param() -> None:
    # amp-bf16 + AdamW: fp32 weights (4) + fp32 gradients (4) + exp_avg, exp_avg_sq (8)
    # = 16 bytes/parameter = 128,484,179,968 bytes ("128.5 GB"); at the optimizer step the
    # foreach AdamW adds a state-sized sqrt(exp_avg_sq) copy (4 bytes/parameter).
    spec = load_model("llama-3.1-8b")
    assert spec.total_params == LLAMA_8B_PARAMS
    e = estimate_training(spec, TrainingWorkload(seq=2048, precision="amp-bf16"))
    c = e.components
    assert c["weights"] == 4 * LLAMA_8B_PARAMS
    assert c["optimizer"] == 8 * LLAMA_8B_PARAMS
    assert e.details["peak_phase"] == "optimizer_step"
    assert c["gradients"] == 4 * LLAMA_8B_PARAMS
    assert c["weights"] + c["gradients"] + c["optimizer"] == 128_484_179_968
    assert c["temporaries"] == 4 * LLAMA_8B_PARAMS
    assert c["master_weights"] == 0
    assert c["overhead"] == CONTEXT
    # plus the caching allocator's segments: every fp32 matrix is a multiple of 2 MiB and
    # at least 10 MiB (its own segment), the 65 fp32 norms (16 KiB) share one 2 MiB segment
    assert c["allocator"] == 2 * 2**20 - 65 * 16 * 2**10
    assert e.per_gpu_bytes == 20 * LLAMA_8B_PARAMS + CONTEXT + c["allocator"]


def test_llama_8b_pure_bf16_8_bytes_per_param() -> None:
    # bf16 as PyTorch trains it: weights, gradients and both AdamW states in bf16
    e = estimate_training(load_model("llama-3.1-8b"), TrainingWorkload(precision="bf16"))
    assert e.components["weights"] == 2 * LLAMA_8B_PARAMS
    assert e.components["optimizer"] == 4 * LLAMA_8B_PARAMS


def test_zero_stages_follow_the_zero_paper() -> None:
    # Rajbhandari et al. 2020 §3.1: 2Ψ fp16 params + 2Ψ fp16 grads + 12Ψ fp32 master/Adam;
    # ZeRO-1 shards the 12Ψ over N_d, ZeRO-2 also the gradients, ZeRO-3 also the params.
    spec = load_model("llama-3.1-8b")
    p = LLAMA_8B_PARAMS
    for zero in (1, 2, 3):
        e = estimate_training(spec, TrainingWorkload(zero=zero, gpus=8, precision="amp-bf16"))
        c = e.components
        assert c["master_weights"] == ceil_div(4 * p, 8)
        assert c["optimizer"] == ceil_div(8 * p, 8)
        assert c["weights"] == (ceil_div(2 * p, 8) if zero == 3 else 2 * p)
        assert len(e.gpu_bytes) == 8
    z2 = estimate_training(
        spec, TrainingWorkload(zero=2, gpus=8, precision="amp-bf16", grad_checkpointing="full")
    )
    assert z2.details["phases"]["optimizer_step"] >= ceil_div(2 * p, 8)


def test_adamw_8bit_blockwise_layout() -> None:
    # bitsandbytes: uint8 state + one fp32 absmax per 256 elements, two states; tensors with
    # fewer than 4096 elements (the 2048-wide norms of Llama-3.2-1B) keep two fp32 states.
    spec = load_model("llama-3.2-1b")
    expected = 0
    for t in spec.tensors:
        n = t.numel
        expected += 2 * 4 * n if n < 4096 else 2 * (n + 4 * math.ceil(n / 256))
    e = estimate_training(spec, TrainingWorkload(precision="bf16", optimizer="adamw-8bit"))
    assert e.components["optimizer"] == expected
    # the 128256 × 2048 embedding alone: 2 · (262,668,288 + 4 · 1,026,048)
    assert 2 * (262_668_288 + 4 * 1_026_048) == 533_544_960


def test_adafactor_factored_second_moment() -> None:
    # transformers Adafactor (beta1=None): rows + cols for matrices, full vector for norms
    spec = load_model("llama-3.2-1b")
    expected = sum(
        2 * (t.shape[0] + t.shape[1]) if len(t.shape) == 2 else 2 * t.numel for t in spec.tensors
    )
    e = estimate_training(spec, TrainingWorkload(precision="bf16", optimizer="adafactor"))
    assert e.components["optimizer"] == expected


def test_lora_components() -> None:
    spec = load_model("llama-3.1-8b")
    work = TrainingWorkload(method="lora", precision="bf16", lora_rank=16)
    e = estimate_training(spec, work)
    adapters = 41_943_040  # peft count, tests/engine/test_lora.py
    assert e.components["weights"] == 2 * LLAMA_8B_PARAMS  # frozen bf16 base
    assert e.components["adapters"] == 4 * adapters  # fp32 (peft autocast_adapter_dtype)
    assert e.components["optimizer"] == 8 * adapters
    assert e.details["trainable_params"] == adapters


def test_qlora_uses_nf4_weights() -> None:
    spec = load_model("llama-3.1-8b")
    for dq, fmt in ((True, "nf4-dq"), (False, "nf4")):
        e = estimate_training(
            spec, TrainingWorkload(method="qlora", precision="bf16", double_quant=dq)
        )
        # peft's prepare_model_for_kbit_training upcasts what bitsandbytes left in 16 bits
        # (embedding, norms, lm_head) to fp32: those tensors count twice their nf4-format bytes
        upcast = sum(q.nbytes for q in quantize_tensors(spec, fmt) if q.storage == "bf16")
        assert e.components["weights"] == weights_bytes(spec, fmt) + upcast
    # 4.5 bits/weight for the linears + embedding and lm_head in fp32: < 55% of bf16
    assert e.components["weights"] < 0.55 * 2 * LLAMA_8B_PARAMS


def test_offload_moves_optimizer_to_host() -> None:
    spec = load_model("llama-3.1-8b")
    e = estimate_training(spec, TrainingWorkload(zero=2, gpus=4, offload="optimizer"))
    assert e.components["optimizer"] == 0 and e.components["master_weights"] == 0
    assert e.host_bytes >= 12 * LLAMA_8B_PARAMS


# The sizes of the tiny models measured with real CPU forwards below.
_TINY = {
    "hidden_size": 64,
    "intermediate_size": 176,
    "num_attention_heads": 4,
    "num_key_value_heads": 2,
    "head_dim": 16,
    "num_hidden_layers": 2,
    "vocab_size": 96,
    "max_position_embeddings": 256,
}


def test_tiny_llama_layer_saved_bytes_match_autograd() -> None:
    # A real CPU forward of transformers 5.24 / torch 2.13 (LlamaForCausalLM, hidden 64,
    # intermediate 176, 4 heads, 2 KV heads, head_dim 16, batch 2 × seq 24), counting the
    # distinct storages autograd saves in decoder layer 1 with saved_tensors_hooks:
    raw = {
        "model_type": "llama",
        **_TINY,
        "tie_word_embeddings": False,
        "torch_dtype": "bfloat16",
    }
    spec = parse_config(raw)
    measured = {
        ("amp-bf16", "sdpa"): 259_200,  # incl. 92,160 B of autocast bf16 weight copies
        ("amp-bf16", "eager"): 292_224,
        ("bf16", "sdpa"): 136_320,
        ("bf16", "eager"): 169_344,
        ("fp32", "sdpa"): 246_912,
        ("fp32", "eager"): 276_864,
    }
    for (precision, attention), expected in measured.items():
        a = layer_activations(
            spec, 1, batch=2, seq=24, training=Training(PRECISIONS[precision]), attention=attention
        )
        assert a.saved + a.weight_casts == expected, (precision, attention)
    # LoRA (peft 0.21, r=8, frozen bf16 base, fp32 adapters): all 7 modules / q+v only
    all7 = frozenset(
        {"attn_q", "attn_k", "attn_v", "attn_output", "ffn_gate", "ffn_up", "ffn_down"}
    )
    for targets, expected in ((all7, 213_120), (frozenset({"attn_q", "attn_v"}), 122_496)):
        tr = Training(PRECISIONS["bf16"], base_trainable=False, lora=targets, lora_rank=8)
        a = layer_activations(spec, 1, batch=2, seq=24, training=tr, attention="sdpa")
        assert a.saved == expected
    # the same under bf16 autocast (bf16 base): 16-bit input copies and adapter weight casts
    for targets, expected in ((all7, 172_672), (frozenset({"attn_q", "attn_v"}), 112_256)):
        tr = Training(PRECISIONS["amp-bf16"], base_trainable=False, lora=targets, lora_rank=8)
        a = layer_activations(spec, 1, batch=2, seq=24, training=tr, attention="sdpa")
        assert a.saved + a.weight_casts == expected
    # final norm + lm_head input cast (amp): 12288 + 192 + 12288 + 6144 B saved there
    head = head_activations(spec, batch=2, seq=24, training=Training(PRECISIONS["amp-bf16"]))
    assert head.weight_casts == 2 * 96 * 64


def test_phi3_two_layers_match_memtracker() -> None:
    # Phi-3-mini's config.json cut to 2 layers, bf16, SDPA, SGD (momentum 0), batch 1 × 256:
    # tools/reference/train_mem.py measure() gives the same bytes on real CPU tensors and
    # under FakeTensorMode: forward peak 1,016,307,088 B, backward peak 1,695,611,272 B.
    # (Phi-3's fused qkv output stays alive through V, and q built by torch.cat forces a copy
    # of the attention output for o_proj: both are in the count.)
    raw = load_config("phi-3-mini-4k-instruct")
    raw["num_hidden_layers"] = 2
    work = TrainingWorkload(batch=1, seq=256, precision="bf16", optimizer="sgd")
    e = estimate_training(parse_config(raw), work)
    momentum = e.components["optimizer"]  # the reference runs without momentum
    phases = e.details["phases"]
    backward = max(v for k, v in phases.items() if k not in ("forward", "optimizer_step"))
    assert phases["forward"] - momentum == pytest.approx(1_016_307_088, rel=0.001)
    assert backward - momentum == pytest.approx(1_695_611_272, rel=0.001)


def test_gemma2_eager_layer_saved_bytes() -> None:
    # tiny Gemma 2 (hidden 64, 4 heads / 2 KV heads of 16, intermediate 176, soft-capping),
    # bf16, eager, batch 2 × seq 24: 241,408 B measured, of which 1,024 B are the
    # (1 + weight) fp32 vectors of the four norms (per layer, not per token).
    raw = {
        "model_type": "gemma2",
        **_TINY,
        "sliding_window": 4096,
        "attn_logit_softcapping": 50.0,
        "final_logit_softcapping": 30.0,
        "query_pre_attn_scalar": 16,
        "torch_dtype": "bfloat16",
    }
    a = layer_activations(
        parse_config(raw),
        1,
        batch=2,
        seq=24,
        training=Training(PRECISIONS["bf16"]),
        attention="sdpa",  # Gemma 2 has no SDPA path: counted as eager
    )
    assert a.saved == 241_408 - 1_024


# ----------------------------------------------------------------------------------------
# The reference: PyTorch's MemTracker under FakeTensorMode (tools/reference/train_mem.py)


def _workload(settings_: dict) -> TrainingWorkload:
    kw = {
        "seq": settings_["seq"],
        "batch": settings_["batch"],
        "precision": settings_["precision"],
        "optimizer": settings_["optimizer"],
        "grad_checkpointing": "full" if settings_["grad_checkpointing"] else "none",
        "attention": settings_["attention"],
        "method": settings_["method"],
    }
    if settings_["method"] != "full":
        kw["lora_rank"] = settings_["lora_rank"]
        kw["lora_targets"] = tuple(settings_["lora_targets"])
    return TrainingWorkload(**kw)


def _tracked(e, settings_: dict) -> int:
    """Engine bytes comparable with MemTracker: no CUDA context; SGD without momentum.

    The rule (reference/__init__.py) is shared with the /accuracy/ page, so both compare alike.
    """
    return comparable_training_bytes(e.components, e.details, settings_)


def _reference_cases() -> list[dict]:
    if not REFERENCE.exists():
        return []
    return json.loads(REFERENCE.read_text())["cases"]


@pytest.mark.parametrize("case", _reference_cases(), ids=lambda c: c["id"])
def test_matches_reference_peak(case: dict) -> None:
    spec = parse_config(case["config"])
    e = estimate_training(spec, _workload(case["settings"]))
    tracked = _tracked(e, case["settings"])
    assert tracked == pytest.approx(case["peak_bytes"], rel=0.05), case["id"]
    # every phase, not only the peak
    phases = e.details["phases"]
    ours = {
        "forward": phases["forward"],
        "backward": max(v for k, v in phases.items() if k not in ("forward", "optimizer_step")),
        "optimizer_step": phases["optimizer_step"],
    }
    shift = e.details["tracked_peak_bytes"] - tracked
    for name, value in ours.items():
        ref = case["phases"][name]["peak"]["total"]
        assert value - shift == pytest.approx(ref, rel=0.05), (case["id"], name)


def test_reference_file_present() -> None:
    # committed output of tools/reference/train_mem.py: the comparisons above read it
    assert REFERENCE.exists()
    assert len(_reference_cases()) >= 10


# Extra cases measured by running tools/reference/train_mem.py's measure() (MemTracker,
# real CPU tensors for these tiny MoE models; FakeTensorMode cannot run data-dependent
# expert routing) with the configs below: peak bytes of one steady-state step.
TINY_MOE = {
    "tiny-mixtral": {
        "model_type": "mixtral",
        "hidden_size": 256,
        "intermediate_size": 512,
        "num_hidden_layers": 2,
        "num_attention_heads": 8,
        "num_key_value_heads": 2,
        "num_local_experts": 4,
        "num_experts_per_tok": 2,
        "vocab_size": 2048,
        "max_position_embeddings": 4096,
        "tie_word_embeddings": False,
        "sliding_window": None,
    },
    "tiny-qwen2-moe": {
        "model_type": "qwen2_moe",
        "hidden_size": 256,
        "intermediate_size": 512,
        "moe_intermediate_size": 128,
        "shared_expert_intermediate_size": 384,
        "num_hidden_layers": 2,
        "num_attention_heads": 8,
        "num_key_value_heads": 2,
        "num_experts": 8,
        "num_experts_per_tok": 2,
        "vocab_size": 2048,
        "max_position_embeddings": 4096,
        "tie_word_embeddings": False,
        "decoder_sparse_step": 1,
        "mlp_only_layers": [],
        "use_sliding_window": False,
    },
}
MOE_MEASURED = [
    ("tiny-mixtral", "amp-bf16", 98_694_396),
    ("tiny-mixtral", "bf16", 56_956_668),
    ("tiny-qwen2-moe", "bf16", 48_459_092),
]


@pytest.mark.parametrize(("model", "precision", "peak"), MOE_MEASURED)
def test_moe_matches_measured_peak(model: str, precision: str, peak: int) -> None:
    # batch 2 × seq 256, AdamW (foreach, weight_decay 0.01), SDPA
    spec = parse_config(TINY_MOE[model])
    e = estimate_training(spec, TrainingWorkload(batch=2, seq=256, precision=precision))
    assert e.details["tracked_peak_bytes"] == pytest.approx(peak, rel=0.01)


# More architectures, measured the same way (tools/reference/train_mem.py ``measure()``,
# FakeTensorMode, catalog config.json, AdamW foreach with weight_decay 0.01, HF
# gradient checkpointing non-reentrant): (slug, batch, seq, precision, attention,
# checkpointing, LoRA r=16 targets, peak, forward-phase peak, backward-phase peak) in bytes.
MEASURED = [
    ("gpt2", 2, 1024, "bf16", "eager", False, (), 4_935_823_448, 4_730_003_560, 4_935_823_448),
    (
        "smollm2-135m",
        4,
        2048,
        "bf16",
        "sdpa",
        False,
        (),
        11_727_912_136,
        10_922_736_872,
        11_727_912_136,
    ),
    (
        "qwen3-0.6b",
        2,
        1024,
        "bf16",
        "eager",
        False,
        (),
        17_316_013_792,
        16_693_716_720,
        17_316_013_792,
    ),
    (
        "gemma-3-1b-it",
        1,
        2048,
        "amp-bf16",
        "sdpa",
        False,
        (),
        27_068_298_588,
        26_004_010_340,
        27_068_298_588,
    ),
    ("phi-2", 1, 1024, "bf16", "sdpa", False, (), 27_796_848_532, 22_082_748_324, 22_242_723_740),
    (
        "olmo-2-7b",
        1,
        1024,
        "bf16",
        "sdpa",
        True,
        (),
        72_986_183_564,
        45_130_766_236,
        58_397_337_492,
    ),
    (
        "starcoder2-7b",
        1,
        1024,
        "bf16",
        "sdpa",
        False,
        (),
        71_739_249_164,
        64_413_282_844,
        64_801_856_020,
    ),
    (
        "falcon-7b",
        1,
        1024,
        "bf16",
        "sdpa",
        False,
        (),
        69_217_216_268,
        55_632_775_964,
        56_555_651_092,
    ),
    (
        "mistral-7b-v0.1",
        1,
        2048,
        "bf16",
        "sdpa",
        False,
        (),
        72_417_339_020,
        57_336_202_908,
        57_950_652_052,
    ),
    (
        "qwen2.5-3b",
        2,
        1024,
        "bf16",
        "sdpa",
        True,
        ("q", "v"),
        10_269_418_568,
        9_655_510_104,
        10_269_418_568,
    ),
    (
        "llama-3.2-1b",
        1,
        1024,
        "bf16",
        "eager",
        False,
        (),
        14_108_353_360,
        13_845_693_272,
        14_108_353_360,
    ),
    (
        "llama-3.2-1b",
        2,
        1024,
        "fp32",
        "eager",
        False,
        (),
        29_307_224_912,
        28_256_584_544,
        29_307_224_912,
    ),
    (
        "llama-3.2-3b",
        4,
        2048,
        "bf16",
        "sdpa",
        True,
        (),
        33_496_354_304,
        31_395_139_104,
        33_496_354_304,
    ),
]
# The CPU reference takes paths a GPU does not: with dropout > 0 or an explicit mask, CPU
# SDPA falls back to the math kernel (materialised fp32 scores); CUDA flash/efficient
# attention does not. StarCoder2 (dropout 0.1) and Falcon (mask): only the peak compares.
CPU_ONLY_ATTENTION = {"starcoder2-7b", "falcon-7b"}


@pytest.mark.parametrize("row", MEASURED, ids=lambda r: f"{r[0]}-{r[3]}-{r[4]}")
def test_architectures_match_measured(row: tuple, monkeypatch: pytest.MonkeyPatch) -> None:
    slug, batch, seq, precision, attention, ckpt, targets, peak, fwd, bwd = row
    # torch's CPU dropout keeps its mask in the input dtype (CUDA: 1-byte bool)
    monkeypatch.setattr(activations, "DROPOUT_MASK_BYTES", 2 if precision == "bf16" else 4)
    work = TrainingWorkload(
        batch=batch,
        seq=seq,
        precision=precision,
        attention=attention,
        grad_checkpointing="full" if ckpt else "none",
        method="lora" if targets else "full",
        lora_targets=targets or TrainingWorkload().lora_targets,
    )
    e = estimate_training(load_model(slug), work)
    phases = e.details["phases"]  # per phase, without the CUDA context
    assert e.details["tracked_peak_bytes"] == pytest.approx(peak, rel=0.01)
    if slug in CPU_ONLY_ATTENTION:
        return  # only the peak (optimizer step) is comparable
    backward = max(v for k, v in phases.items() if k not in ("forward", "optimizer_step"))
    assert backward == pytest.approx(bwd, rel=0.01)
    assert phases["forward"] == pytest.approx(fwd, rel=0.02)


# ----------------------------------------------------------------------------------------
# Errors


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"pp": 40, "gpus": 40}, "pp"),
        ({"tp": 3, "gpus": 3}, "tp"),
        ({"offload": "optimizer+params", "zero": 2, "gpus": 2}, "offload"),
        ({"method": "qlora", "precision": "fp32"}, "precision"),
        ({"gpus": 3, "tp": 2}, "gpus"),
    ],
)
def test_invalid_workloads(kwargs: dict, field: str) -> None:
    with pytest.raises(InvalidWorkload) as err:
        estimate_training(load_model("llama-3.2-1b"), TrainingWorkload(**kwargs))
    assert err.value.field == field


def test_lora_on_routed_experts_only_is_rejected() -> None:
    with pytest.raises(InvalidWorkload) as err:
        estimate_training(
            load_model("mixtral-8x7b"), TrainingWorkload(method="lora", lora_targets=("gate",))
        )
    assert err.value.field == "lora_targets"


# ----------------------------------------------------------------------------------------
# Invariants

SLUGS = ["llama-3.2-1b", "qwen3-0.6b", "gemma-2-2b", "phi-2", "mixtral-8x7b", "deepseek-v2-lite"]
METHOD = st.sampled_from(["full", "lora", "qlora"])


def _work(**kw) -> TrainingWorkload:
    if kw.get("method") == "qlora" and kw.get("precision") == "fp32":
        kw["precision"] = "bf16"
    return TrainingWorkload(**kw)


@settings(max_examples=40, deadline=None)
@given(
    slug=st.sampled_from(SLUGS),
    method=METHOD,
    precision=st.sampled_from(["bf16", "amp-bf16", "amp-fp16", "fp32"]),
    optimizer=st.sampled_from(OPTIMIZERS),
    ckpt=st.sampled_from(["none", "selective", "full"]),
    attention=st.sampled_from(["sdpa", "flash", "eager"]),
    batch=st.integers(1, 8),
    seq=st.integers(1, 8192),
    zero=st.integers(0, 3),
    dp=st.sampled_from([1, 2, 8]),
)
def test_monotonic_in_batch_and_seq_and_never_negative(
    slug, method, precision, optimizer, ckpt, attention, batch, seq, zero, dp
) -> None:
    spec = load_model(slug)
    base = dict(
        method=method,
        precision=precision,
        optimizer=optimizer,
        grad_checkpointing=ckpt,
        attention=attention,
        zero=zero,
        gpus=dp,
    )
    e = estimate_training(spec, _work(batch=batch, seq=seq, **base))
    assert set(e.components) <= set(COMPONENT_NAMES)
    assert all(isinstance(v, int) and v >= 0 for v in e.components.values())
    assert e.per_gpu_bytes == sum(e.components.values()) == max(e.gpu_bytes)
    more_batch = estimate_training(spec, _work(batch=batch + 1, seq=seq, **base))
    more_seq = estimate_training(spec, _work(batch=batch, seq=seq + 512, **base))
    assert more_batch.per_gpu_bytes >= e.per_gpu_bytes
    assert more_seq.per_gpu_bytes >= e.per_gpu_bytes


@settings(max_examples=25, deadline=None)
@given(
    slug=st.sampled_from(SLUGS[:4]),
    method=st.sampled_from(["lora", "qlora"]),
    rank=st.integers(1, 256),
    seq=st.integers(1, 4096),
)
def test_monotonic_in_rank(slug, method, rank, seq) -> None:
    spec = load_model(slug)
    a = estimate_training(spec, _work(method=method, lora_rank=rank, seq=seq, precision="bf16"))
    b = estimate_training(spec, _work(method=method, lora_rank=rank * 2, seq=seq, precision="bf16"))
    assert b.per_gpu_bytes >= a.per_gpu_bytes


@settings(max_examples=20, deadline=None)
@given(
    slug=st.sampled_from(SLUGS), seq=st.integers(128, 4096), ckpt=st.sampled_from(["none", "full"])
)
def test_zero3_per_gpu_decreases_with_more_gpus(slug, seq, ckpt) -> None:
    spec = load_model(slug)
    totals = [
        estimate_training(
            spec, TrainingWorkload(zero=3, gpus=n, seq=seq, grad_checkpointing=ckpt)
        ).per_gpu_bytes
        for n in (1, 2, 4, 8, 64)
    ]
    assert totals == sorted(totals, reverse=True)
    assert totals[0] > totals[-1]


@pytest.mark.parametrize("slug", SLUGS)
@pytest.mark.parametrize("precision", ["bf16", "amp-bf16", "fp32"])
def test_training_at_least_inference_weights(slug: str, precision: str) -> None:
    spec = load_model(slug)
    dtype = "fp32" if precision == "fp32" else "bf16"
    e = estimate_training(spec, TrainingWorkload(precision=precision))
    assert e.per_gpu_bytes >= weights_bytes(spec, dtype)
    assert e.components["weights"] >= weights_bytes(spec, dtype)


def test_pipeline_stages_listed_per_gpu() -> None:
    spec = load_model("llama-3.1-8b")
    e = estimate_training(spec, TrainingWorkload(tp=2, pp=4, gpus=16, zero=1))
    assert len(e.gpu_bytes) == 16
    assert e.per_gpu_bytes == max(e.gpu_bytes)
    single = estimate_training(spec, TrainingWorkload(zero=1, gpus=2))
    assert e.components["weights"] < single.components["weights"]


def test_phases_follow_the_step_in_order() -> None:
    """One function per phase (engine.training): forward, loss and lm_head backward (with
    the fp32 cast of its gradient under autocast), the layers, the end of backward and the
    optimizer step; a stage without the head skips the head's phases."""
    spec = load_model("smollm2-135m")
    amp = estimate_training(spec, TrainingWorkload(seq=512, precision="amp-bf16"))
    assert list(amp.details["phases"]) == [
        "forward",
        "loss_backward",
        "lm_head_backward",
        "lm_head_grad_cast",
        "layers_backward",
        "backward_end",
        "optimizer_step",
    ]
    lora = estimate_training(spec, TrainingWorkload(seq=512, method="lora"))
    assert "lm_head_grad_cast" not in lora.details["phases"]
    assert amp.details["peak_phase"] in amp.details["phases"]
    peak = amp.details["phases"][amp.details["peak_phase"]]
    assert peak == max(amp.details["phases"].values())
    assert peak == amp.details["tracked_peak_bytes"]
