"""engine.arch: config.json -> ModelSpec, checked against transformers to the parameter.

Exact expected counts come from transformers 5.24.0 (``AutoModelForCausalLM.from_config`` on
the meta device, ``model.num_parameters()``), recorded by tools/reference/params.py in
reference/params.json. Where the model's publisher states a figure it is quoted in the
comment next to the exact count.
"""

from __future__ import annotations

import hashlib
import json
from functools import cache
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.arch import SUPPORTED_MODEL_TYPES, parse_config, parse_quantization
from engine.errors import ConfigError, UnsupportedArchitecture
from reference import CONFIGS, PARAMS

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = CONFIGS
CATALOG = ROOT / "engine" / "data" / "models"
REFERENCE = PARAMS


def fixture(name: str) -> dict:
    return json.loads((FIXTURES / f"{name}.json").read_text())


@cache
def spec_of(name: str):
    return parse_config(fixture(name), name=name)


# --- (a) exact totals of real models -------------------------------------------------------

# (fixture, transformers total, published figure and its source)
PUBLISHED = [
    # HF model page meta-llama/Llama-3.1-8B: "8.03B params"; issue #2 quotes 8,030,261,248
    ("llama-3.1-8b", 8_030_261_248),
    # Llama 2 paper (Touvron et al. 2023), Table 1: 7B; HF page "6.74B params"
    ("llama-2-7b", 6_738_415_616),
    # HF page codellama/CodeLlama-34b-hf: "33.7B params" (vocab 32016)
    ("codellama-34b", 33_744_232_448),
    # Llama 3.2 model card: 1.23B; tied embeddings
    ("llama-3.2-1b-instruct", 1_235_814_400),
    # Llama 3.2 model card: 3.21B; tied embeddings
    ("llama-3.2-3b-instruct", 3_212_749_824),
    # TinyLlama model card: 1.1B
    ("tinyllama-1.1b-chat-v1.0", 1_100_048_384),
    # SmolLM2 model card: 135M
    ("smollm2-135m", 134_515_008),
    # Mistral 7B announcement: 7.3B; issue #2 quotes 7,241,732,096
    ("mistral-7b-v0.1", 7_241_732_096),
    # Mistral "Mixtral of experts" blog: 46.7B total, 12.9B active per token
    ("mixtral-8x7b-v0.1", 46_702_792_704),
    # Qwen2 model card: 0.49B
    ("qwen2-0.5b", 494_032_768),
    # Qwen1.5-MoE-A2.7B blog: 14.3B total, 2.7B activated
    ("qwen1.5-moe-a2.7b-chat", 14_315_784_192),
    # Qwen3-8B model card: "Number of Parameters: 8.2B"
    ("qwen3-8b", 8_190_735_360),
    # Qwen3-30B-A3B model card: 30.5B total, 3.3B activated
    ("qwen3-30b-a3b", 30_532_122_624),
    # Gemma paper (2024), 2B model; HF page "2.51B params"
    ("gemma-2b", 2_506_172_416),
    # HF page google/gemma-2-2b: "2.61B params"
    ("gemma-2-2b", 2_614_341_888),
    # HF page google/gemma-2-9b: "9.24B params"
    ("gemma-2-9b", 9_241_705_984),
    # HF page google/gemma-2-27b: "27.2B params"
    ("gemma-2-27b", 27_227_128_320),
    # keras-hub gemma3_presets.py "gemma3_instruct_1b": params 999885952 (same count)
    ("gemma-3-1b-it", 999_885_952),
    # Gemma 3 model card: 4.3B (text 3.88B + SigLIP vision tower + projector)
    ("gemma-3-4b-it", 4_300_079_472),
    # Phi-2 model card: 2.7B
    ("phi-2", 2_779_683_840),
    # Phi-3.5-mini model card: 3.8B
    ("phi-3.5-mini-instruct", 3_821_079_552),
    # Phi-4-mini model card: 3.8B (tied embeddings, vocab 200064)
    ("phi-4-mini-instruct", 3_836_021_760),
    # GPT-2 model card: 124M; issue #2 quotes 124,439,808
    ("gpt2", 124_439_808),
    # GPT-2 medium model card: 355M
    ("gpt2-medium", 354_823_168),
    # RedPajama-INCITE-3B model card: 2.8B
    ("redpajama-incite-3b-v1", 2_775_864_320),
    # Falcon-7B model card: 7B
    ("falcon-7b-instruct", 6_921_720_704),
    # StarCoder2 paper (Lozhkov et al. 2024): 7B
    ("starcoder2-7b", 7_173_923_840),
    # OLMo 2 model card: 7B / 13B / 32B
    ("olmo-2-1124-7b", 7_298_617_344),
    ("olmo-2-1124-13b", 13_716_198_400),
    ("olmo-2-0325-32b", 32_234_279_936),
    # DeepSeek-V2 paper (2024): V2-Lite 15.7B total, 2.4B activated (2.66B with the embedding)
    ("deepseek-v2-lite", 15_706_484_224),
    # DeepSeek-V3 technical report: 671B total, 37B activated (MTP module not instantiated)
    ("deepseek-v3", 671_026_404_352),
    # OpenAI gpt-oss model card, Table 1: gpt-oss-20b 20.91B total
    ("gpt-oss-20b", 20_914_757_184),
]
# Qwen3-Next-80B-A3B model card: "80B in total and 3B activated" (MTP layer not built)
PUBLISHED += [("qwen3-next-80b-a3b-instruct", 79_674_391_296)]
# Falcon-H1 model card: 0.5B
PUBLISHED += [("falcon-h1-0.5b", 521_411_104)]
# Jamba 1.5 model card: Mini 52B total, 12B active
PUBLISHED += [("jamba-1.5-mini", 51_570_323_328)]
# LFM2.5-2.6B: 2.6B (tied embeddings)
PUBLISHED += [("lfm2.5-2.6b", 2_697_198_592)]
# Qwen3.5 model cards: 9B; 35B-A3B (3B active); transformers builds no MTP layer
PUBLISHED += [("qwen3.5-9b", 9_409_813_744), ("qwen3.5-35b-a3b", 35_107_181_936)]
# Granite 4.0 H Tiny model card: 7B total, 1B active
PUBLISHED += [("granite-4.0-h-tiny", 6_939_037_248)]
# Nemotron 3 Nano model card: "31.6B total parameters, approximately 3.6B active"
PUBLISHED += [("nemotron-3-nano-30b-a3b", 31_577_937_344)]
# 2025-26 model_types (arch.modern/towers/dsa/variants); MTP layers are not built by
# transformers. Llama 4 model card: Scout 109B total, 17B active
PUBLISHED += [("llama-4-scout-17b-16e-instruct", 108_641_793_536)]
# Qwen3-VL model cards: 8B; 30B-A3B (31B total, 3B active)
PUBLISHED += [("qwen3-vl-8b-instruct", 8_767_123_696)]
PUBLISHED += [("qwen3-vl-30b-a3b-instruct", 31_070_754_032)]
# MiniMax-M2 model card: 230B total, 10B active
PUBLISHED += [("minimax-m2.5", 228_689_748_992)]
# GLM-4.5 model card: GLM-4.5-Air 106B total, 12B active
PUBLISHED += [("glm-4.5-air", 106_852_245_504)]
# DeepSeek-V3.2: 671B + the indexers (685B on disk with the MTP module)
PUBLISHED += [("deepseek-v3.2", 671_877_929_216)]
# GLM-5 model card: 744B total, 40B active
PUBLISHED += [("glm-5", 743_911_199_232)]
# MiMo-V2-Flash model card: 309B total, 15B active
PUBLISHED += [("mimo-v2-flash", 308_778_768_832)]
# Aya 23 model card: 8B; SmolLM3: 3B; Seed-OSS: 36B; Granite 3.1: 2.5B; ERNIE 4.5: 0.3B
PUBLISHED += [("aya-23-8b", 8_028_033_024), ("smollm3-3b", 3_075_098_624)]
PUBLISHED += [("seed-oss-36b", 36_151_104_512), ("granite-3.1-2b-base", 2_533_525_504)]
PUBLISHED += [("ernie-4.5-0.3b-base", 360_748_032)]
# Kimi K2.5 model card: 1T total, 32B active (MoonViT tower included)
PUBLISHED += [("kimi-k2.5", 1_026_879_353_328)]
# Qwen2.5-VL-7B-Instruct model card: 8.29B
PUBLISHED += [("qwen2.5-vl-7b-instruct", 8_292_166_656)]
# FLUX.2-dev text encoder (Mistral Small 3.2 24B with a tied head, as its file leaves it)
PUBLISHED += [("flux.2-dev-text-encoder", 23_340_272_640)]
# Olmo 3.1 32B Instruct card: 32B; EXAONE 4.0 32B card: 32.0B (arch.postnorm)
PUBLISHED += [("olmo-3.1-32b-instruct", 32_233_522_176), ("exaone-4.0-32b", 32_003_216_384)]


@pytest.mark.parametrize(("name", "total"), PUBLISHED, ids=[p[0] for p in PUBLISHED])
def test_total_params_match_transformers(name: str, total: int) -> None:
    assert spec_of(name).total_params == total


def test_published_list_covers_every_model_type() -> None:
    covered = {spec_of(name).model_type for name, _ in PUBLISHED}
    # gemma3_text is covered by gemma-3-1b-it; gemma3 by gemma-3-4b-it
    assert covered == set(SUPPORTED_MODEL_TYPES)
    assert len(PUBLISHED) >= 25


def test_active_params_per_token() -> None:
    # Mixtral blog: 12.9B active; Qwen3-30B-A3B card: 3.3B; DeepSeek-V3 report: 37B
    assert spec_of("mixtral-8x7b-v0.1").active_params_per_token == 12_879_925_248
    assert spec_of("qwen3-30b-a3b").active_params_per_token == 3_353_032_704
    assert spec_of("deepseek-v3").active_params_per_token == 37_552_282_624
    # gpt-oss card: 3.61B active, which leaves out the 0.58B input embedding (a lookup, not a
    # matmul); counting every parameter a token touches gives 3.61B + 0.58B.
    gpt_oss = spec_of("gpt-oss-20b")
    assert gpt_oss.active_params_per_token == 4_187_440_704
    assert gpt_oss.active_params_per_token - gpt_oss.embedding_params == 3_608_307_264


def test_embedding_and_lm_head_split() -> None:
    llama = spec_of("llama-3.1-8b")
    assert llama.embedding_params == llama.lm_head_params == 128256 * 4096
    assert not llama.tie_word_embeddings
    small = spec_of("llama-3.2-1b-instruct")
    assert small.tie_word_embeddings and small.lm_head_params == 0
    assert not any(t.name == "output" for t in small.tensors)
    # GPT-2 counts its learned position table as embedding: (50257 + 1024) * 768
    assert spec_of("gpt2").embedding_params == (50257 + 1024) * 768
    # Phi-2's lm_head has a bias
    assert spec_of("phi-2").lm_head_params == 51200 * 2560 + 51200


# --- (b) every reference entry, exactly --------------------------------------------------


@cache
def reference() -> dict:
    return json.loads(REFERENCE.read_text())


def _config_path(key: str) -> Path:
    kind, name = key.split("/", 1)
    if kind == "catalog":
        return CATALOG / name / "config.json"
    if kind == "variant":
        return FIXTURES / "variants" / f"{name}.json"
    return FIXTURES / f"{name}.json"


def _fresh_entries() -> list[str]:
    """Reference entries whose config file still exists with the same bytes."""
    keys = []
    for key, entry in sorted(reference()["models"].items()):
        path = _config_path(key)
        if path.exists() and hashlib.sha256(path.read_bytes()).hexdigest() == entry.get(
            "config_sha256"
        ):
            keys.append(key)
    return keys


def test_reference_is_from_transformers() -> None:
    ref = reference()
    assert ref["transformers"].startswith("5.") and ref["torch"]
    assert len(ref["models"]) >= 60


@pytest.mark.parametrize("key", _fresh_entries())
def test_matches_transformers_reference(key: str) -> None:
    entry = reference()["models"][key]
    spec = parse_config(json.loads(_config_path(key).read_text()), name=key)
    assert spec.model_type == entry["model_type"]
    assert spec.total_params == entry["total"]
    assert spec.embedding_params == entry["embedding"]
    assert spec.lm_head_params == entry["lm_head"]
    assert spec.tie_word_embeddings == entry["tied"]
    assert list(spec.per_layer_params) == entry["per_layer"]
    assert [layer.attention.window for layer in spec.layers] == entry["windows"]
    assert [layer.attention.kv_elems_per_token for layer in spec.layers] == entry["kv_elems"]
    if "active" in entry:
        assert spec.active_params_per_token == entry["active"]
    else:
        assert not spec.is_moe


def test_reference_covers_every_config() -> None:
    """Fails when a config was added or edited after tools/reference/params.py last ran.

    Configs the reference transformers cannot instantiate are listed under "unloadable"
    (with their error) rather than silently skipped."""
    fresh = set(_fresh_entries())
    for key, entry in reference().get("unloadable", {}).items():
        path = _config_path(key)
        if (
            path.exists()
            and hashlib.sha256(path.read_bytes()).hexdigest() == entry["config_sha256"]
        ):
            fresh.add(key)
    paths = {f"fixture/{p.stem}" for p in FIXTURES.glob("*.json")}
    paths |= {f"variant/{p.stem}" for p in (FIXTURES / "variants").glob("*.json")}
    paths |= {f"catalog/{p.parent.name}" for p in CATALOG.glob("*/config.json")}
    stale = sorted(paths - fresh)
    assert not stale, (
        f"no up-to-date transformers reference for {stale}; run "
        "/work/refenv/bin/python tools/reference/params.py"
    )


# --- layout details ------------------------------------------------------------------------


def test_gqa_kv_elements() -> None:
    # Llama-3.1-8B: 8 KV heads x (128 + 128) per layer, 32 layers -> 65,536 elements/token,
    # i.e. 1 GiB of f16 KV at n_ctx 8192 (llama.cpp's "KV self size = 1024.00 MiB")
    spec = spec_of("llama-3.1-8b")
    assert {layer.attention.kv_elems_per_token for layer in spec.layers} == {2048}
    assert spec.kv_elems_per_token() * 8192 * 2 == 1024 * 2**20


def test_mla_kv_elements() -> None:
    # DeepSeek-V3: kv_lora_rank 512 + qk_rope_head_dim 64 cached per layer (vLLM MLA)
    spec = spec_of("deepseek-v3")
    attn = spec.layers[0].attention
    assert attn.kind == "mla" and attn.kv_elems_per_token == 576
    assert (attn.q_lora_rank, attn.kv_lora_rank, attn.qk_nope_head_dim) == (1536, 512, 128)
    assert [layer.mlp.kind for layer in spec.layers[:4]] == ["dense"] * 3 + ["moe"]
    assert spec.layers[3].mlp.shared_intermediate_size == 2048
    # V2-Lite has no query compression (q_lora_rank null): a plain q projection
    lite = spec_of("deepseek-v2-lite")
    assert lite.layers[0].attention.q_lora_rank == 0
    assert any(t.name == "attn_q" for t in lite.tensors)


def test_sliding_windows() -> None:
    # Mistral-7B-v0.1: every layer a 4096-token window
    assert {x.attention.window for x in spec_of("mistral-7b-v0.1").layers} == {4096}
    # Gemma 2: alternating local (4096) / global, local first
    g2 = [x.attention.window for x in spec_of("gemma-2-9b").layers]
    assert g2[:4] == [4096, None, 4096, None]
    # Gemma 3: 5 local (1024) per global layer
    g3 = [x.attention.window for x in spec_of("gemma-3-4b-it").layers]
    assert g3[:6] == [1024] * 5 + [None] and g3.count(None) == 34 // 6
    # gpt-oss: layer_types, 128-token window
    oss = [x.attention.window for x in spec_of("gpt-oss-20b").layers]
    assert oss[:2] == [128, None]
    # Qwen2.5/Qwen3 ship use_sliding_window false: all global
    assert {x.attention.window for x in spec_of("qwen3-8b").layers} == {None}


def test_tensor_names_and_shapes() -> None:
    spec = spec_of("qwen3-30b-a3b")
    layer0 = {t.name: t for t in spec.tensors if t.layer == 0}
    assert layer0["attn_q"].shape == (32 * 128, 2048)
    assert layer0["attn_k"].shape == (4 * 128, 2048)
    assert layer0["attn_q_norm"].shape == (128,)
    assert layer0["ffn_gate_inp"].shape == (128, 2048)
    exps = layer0["ffn_down_exps"]
    assert (exps.shape, exps.experts, exps.routed) == ((2048, 768), 128, True)
    assert spec.layers[0].mlp.experts_per_token == 8
    # Qwen2 biases on q/k/v only
    q2 = {t.name for t in spec_of("qwen2-0.5b").tensors if t.layer == 0}
    assert {"attn_q.bias", "attn_k.bias", "attn_v.bias"} <= q2 and "attn_output.bias" not in q2
    # gpt-oss: attention sinks, router bias, expert biases
    oss = {t.name for t in spec_of("gpt-oss-20b").tensors if t.layer == 0}
    assert {"attn_sinks", "ffn_gate_inp.bias", "ffn_down_exps.bias"} <= oss
    # Phi-3 fuses qkv and gate/up
    phi3 = {t.name for t in spec_of("phi-3.5-mini-instruct").tensors if t.layer == 0}
    assert {"attn_qkv", "ffn_gate_up"} <= phi3
    for t in spec_of("gemma-3-4b-it").tensors:
        assert t.kind in ("embedding", "linear", "norm", "bias", "other")
        assert all(d > 0 for d in t.shape)


def test_dtype_and_checkpoint_quant() -> None:
    assert spec_of("llama-3.1-8b").dtype == "bfloat16"
    assert spec_of("gpt2").dtype == "float32"  # no torch_dtype: a float32 checkpoint
    assert spec_of("gpt-oss-20b").dtype == "bfloat16"
    assert spec_of("gpt-oss-20b").checkpoint_quant == "mxfp4"
    assert spec_of("deepseek-v3").checkpoint_quant == "fp8-block128"  # weight_block_size [128, 128]
    assert spec_of("qwen3-32b-fp8").checkpoint_quant == "fp8-block128"
    assert spec_of("llama-3.1-8b").checkpoint_quant is None
    # an FP8 checkpoint has the same logical parameters as the bf16 one
    assert spec_of("qwen3-30b-a3b-fp8").total_params == spec_of("qwen3-30b-a3b").total_params


@pytest.mark.parametrize(
    ("qc", "expected"),
    [
        (
            {"quant_method": "gptq", "bits": 4, "group_size": 128, "desc_act": False},
            "gptq-4bit-g128",
        ),
        ({"quant_method": "gptq", "bits": 8, "group_size": -1}, "gptq-8bit"),
        ({"quant_method": "awq", "bits": 4, "group_size": 128, "version": "gemm"}, "awq-4bit-g128"),
        (
            {"quant_method": "bitsandbytes", "load_in_4bit": True, "bnb_4bit_quant_type": "nf4"},
            "nf4",
        ),
        (
            {
                "quant_method": "bitsandbytes",
                "load_in_4bit": True,
                "bnb_4bit_quant_type": "nf4",
                "bnb_4bit_use_double_quant": True,
            },
            "nf4-dq",
        ),
        ({"quant_method": "bitsandbytes", "load_in_8bit": True}, "int8"),
        ({"quant_method": "fp8", "weight_block_size": [128, 128]}, "fp8-block128"),
        ({"quant_method": "mxfp4"}, "mxfp4"),
    ],
)
def test_parse_quantization(qc: dict, expected: str) -> None:
    assert parse_quantization({"quantization_config": qc}) == expected


def test_defaults_follow_transformers_config_classes() -> None:
    # Gemma ties embeddings unless told otherwise; Llama does not
    gemma = fixture("gemma-2b")
    assert "tie_word_embeddings" not in gemma
    assert parse_config(gemma).tie_word_embeddings
    # Gemma 3 multimodal text_config omits vocab_size and heads: Gemma3TextConfig defaults
    g3 = spec_of("gemma-3-4b-it")
    assert g3.vocab_size == 262208 and g3.layers[0].attention.num_kv_heads == 4


# --- (c) errors ------------------------------------------------------------------------------


def test_unknown_model_type_lists_supported() -> None:
    with pytest.raises(UnsupportedArchitecture) as err:
        parse_config({"model_type": "mamba", "hidden_size": 768})
    assert "'mamba'" in err.value.message
    assert all(t in err.value.message for t in SUPPORTED_MODEL_TYPES)
    assert err.value.field == "model_type"


def test_legacy_model_type_gets_a_hint() -> None:
    with pytest.raises(UnsupportedArchitecture, match="falcon"):
        parse_config({"model_type": "RefinedWebModel", "hidden_size": 4544})


@pytest.mark.parametrize(
    ("drop", "field"),
    [
        ("hidden_size", "hidden_size"),
        ("num_hidden_layers", "num_hidden_layers"),
        ("num_attention_heads", "num_attention_heads"),
        ("vocab_size", "vocab_size"),
        ("intermediate_size", "intermediate_size"),
    ],
)
def test_missing_field_names_it(drop: str, field: str) -> None:
    raw = fixture("llama-3.1-8b")
    del raw[drop]
    with pytest.raises(ConfigError) as err:
        parse_config(raw)
    assert err.value.field == field
    assert repr(field) in err.value.message and "'llama'" in err.value.message


def test_missing_moe_field() -> None:
    raw = fixture("deepseek-v2-lite")
    del raw["num_experts_per_tok"]
    with pytest.raises(ConfigError) as err:
        parse_config(raw)
    assert err.value.field == "num_experts_per_tok"


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("hidden_size", "4096"),
        ("num_hidden_layers", 32.5),
        ("num_attention_heads", True),
        ("vocab_size", 0),
        ("intermediate_size", -1),
        ("num_key_value_heads", 7),  # 32 heads are not a multiple of 7
        ("tie_word_embeddings", "yes"),
        ("torch_dtype", 16),
        ("quantization_config", "fp8"),
    ],
)
def test_bad_values_raise_config_error(key: str, value: object) -> None:
    raw = fixture("llama-3.1-8b")
    raw[key] = value
    with pytest.raises(ConfigError) as err:
        parse_config(raw)
    assert err.value.field in (key, "num_key_value_heads")


@pytest.mark.parametrize("raw", [None, [], "config.json", 3, {"hidden_size": 1}, {"model_type": 3}])
def test_malformed_input(raw: object) -> None:
    with pytest.raises(ConfigError):
        parse_config(raw)  # type: ignore[arg-type]


def test_bad_layer_types() -> None:
    raw = fixture("gpt-oss-20b")
    raw["layer_types"] = raw["layer_types"][:-1]
    with pytest.raises(ConfigError) as err:
        parse_config(raw)
    assert err.value.field == "layer_types"


def test_too_many_experts_per_token() -> None:
    raw = fixture("mixtral-8x7b-v0.1")
    raw["num_experts_per_tok"] = 9
    with pytest.raises(ConfigError, match="num_experts_per_tok"):
        parse_config(raw)


# --- properties ------------------------------------------------------------------------------


def _all_configs() -> list[Path]:
    return sorted(CATALOG.glob("*/config.json")) + sorted(FIXTURES.glob("*.json"))


@pytest.mark.parametrize("path", _all_configs(), ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_every_config_parses(path: Path) -> None:
    spec = parse_config(json.loads(path.read_text()), name=path.parent.name)
    assert spec.total_params > 0 and spec.num_layers == len(spec.layers) > 0
    assert all(n > 0 for n in spec.per_layer_params)
    assert 0 < spec.active_params_per_token <= spec.total_params
    assert spec.embedding_params > 0 and spec.lm_head_params >= 0
    assert spec.kv_elems_per_token() > 0
    parts = spec.embedding_params + spec.lm_head_params + sum(spec.per_layer_params)
    assert parts <= spec.total_params
    for layer in spec.layers:
        assert layer.attention.window is None or layer.attention.window > 0
        if layer.mlp.kind == "moe":
            assert 0 < layer.mlp.experts_per_token <= layer.mlp.num_experts


@settings(max_examples=60, deadline=None)
@given(path=st.sampled_from(_all_configs()), extra_vocab=st.integers(1, 5000))
def test_tying_and_vocab_move_counts_by_whole_rows(path: Path, extra_vocab: int) -> None:
    """Untying adds exactly one vocab x hidden matrix; each extra token adds one row to the
    embedding and, when untied, one to the output (plus its bias where the head has one)."""
    raw = json.loads(path.read_text())
    text = raw.get("text_config", raw)  # a multimodal wrapper's language model
    base = parse_config(raw)
    untied = parse_config({**raw, "tie_word_embeddings": False})
    tied = parse_config({**raw, "tie_word_embeddings": True})
    assert untied.total_params - tied.total_params == base.vocab_size * base.hidden_size
    grown_text = {**text, "vocab_size": base.vocab_size + extra_vocab}
    grown_raw = {**raw, "text_config": grown_text} if text is not raw else grown_text
    grown = parse_config(grown_raw)
    head_rows = 0 if base.tie_word_embeddings else base.hidden_size
    head_bias = 1 if any(t.name == "output.bias" for t in base.tensors) else 0
    per_token = base.hidden_size + head_rows + head_bias
    assert grown.total_params - base.total_params == extra_vocab * per_token


@settings(max_examples=200, deadline=None)
@given(
    hidden=st.integers(1, 64).map(lambda x: x * 64),
    heads_kv=st.sampled_from([(8, 8), (8, 2), (16, 4), (32, 8), (4, 1)]),
    layers=st.integers(1, 40),
    inter=st.integers(1, 20000),
    vocab=st.integers(1, 300_000),
    tied=st.booleans(),
)
def test_llama_closed_form(hidden, heads_kv, layers, inter, vocab, tied) -> None:
    """A Llama-layout model: embedding + L x (2 norms, q/k/v/o, gate/up/down) + final norm."""
    heads, kv = heads_kv
    head_dim = hidden // heads
    raw = {
        "model_type": "llama",
        "hidden_size": hidden,
        "num_attention_heads": heads,
        "num_key_value_heads": kv,
        "num_hidden_layers": layers,
        "intermediate_size": inter,
        "vocab_size": vocab,
        "tie_word_embeddings": tied,
    }
    per_layer = 2 * hidden + 2 * hidden * heads * head_dim + 2 * hidden * kv * head_dim
    per_layer += 3 * hidden * inter
    expected = vocab * hidden * (1 if tied else 2) + layers * per_layer + hidden
    spec = parse_config(raw)
    assert spec.total_params == expected
    assert spec.per_layer_params == (per_layer,) * layers


def test_multimodal_wrapper_points_at_text_config() -> None:
    raw = {"model_type": "llava", "text_config": fixture("llama-2-7b")}
    with pytest.raises(UnsupportedArchitecture, match="text_config"):
        parse_config(raw)
    assert parse_config(raw["text_config"]).total_params == 6_738_415_616


# --- traits ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("llama-3.1-8b", {"norm": "rms", "gguf_arch": "llama", "sdpa": True}),
        ("gemma-2-2b", {"norm": "gemma", "softcapping": True, "sdpa": False}),
        ("gemma-3-4b-it", {"norm": "gemma", "fp32_weight_norm": True}),
        ("olmo-2-1124-7b", {"norm": "rms", "fp32_weight_norm": True}),
        ("phi-2", {"norm": "layer", "parallel_residual": True, "cat_rope": True}),
        ("gpt2", {"norm": "layer", "softmax_in_compute_dtype": True}),
        ("gpt-oss-20b", {"sdpa": False, "softmax_in_compute_dtype": True}),
        ("deepseek-v3", {"fp32_router": True, "peft_fused_experts": True, "cat_rope": True}),
        ("qwen3-30b-a3b", {"peft_fused_experts": True, "fp32_router": False}),
    ],
)
def test_traits_come_from_the_handler_table(name: str, expected: dict[str, object]) -> None:
    """Model-type behaviour is data on the spec, set once by arch.handlers.HANDLERS."""
    from engine.arch.handlers import HANDLERS

    spec = spec_of(name)
    assert spec.traits == HANDLERS[spec.model_type].traits
    for key, value in expected.items():
        assert getattr(spec.traits, key) == value, key


def test_gguf_arch_defaults_to_the_model_type() -> None:
    assert spec_of("mixtral-8x7b-v0.1").gguf_arch == "llama"
    assert spec_of("qwen3-8b").gguf_arch == "qwen3"
