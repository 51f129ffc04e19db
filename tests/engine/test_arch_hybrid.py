"""Hybrid recurrent architectures (engine.arch.hybrid): exact parameter counts and the
per-sequence recurrent state each runtime allocates instead of a KV cache.

Parameter counts: transformers 5.25.0 on the meta device (reference/params.json, written by
tools/reference/params.py). State layouts: transformers measured (reference/kv_cache.json);
vLLM and llama.cpp from their sources as cited in engine/kv.py's docstring, written out here
by hand so a change in the engine's formula shows up.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

import pytest

from engine import arch, inference, kv
from engine.errors import ConfigError
from engine.workload import InferenceWorkload
from reference import CONFIGS, KV_CACHE, PARAMS

ROOT = Path(__file__).resolve().parents[2]
CATALOG = ROOT / "engine" / "data" / "models"


@cache
def catalog_spec(slug: str):
    raw = json.loads((CATALOG / slug / "config.json").read_text())
    return arch.parse_config(raw, name=slug)


def _state_layer_bytes(spec, runtime: str, *, context: int, batch: int = 1) -> tuple[int, ...]:
    """Every layer's cache bytes in the runtime's usual dtype (llama.cpp f16, else bf16)."""
    kv_dtype = "fp16" if runtime == "llamacpp" else "bf16"
    return kv.kv_layer_bytes(spec, context=context, batch=batch, kv_dtype=kv_dtype, runtime=runtime)


def _reference(key: str) -> dict:
    return json.loads(PARAMS.read_text())["models"][key]


# --- qwen3_next ---------------------------------------------------------------------------

QWEN3_NEXT = "qwen3-next-80b-a3b-instruct"


def test_qwen3_next_counts_equal_transformers() -> None:
    spec = catalog_spec(QWEN3_NEXT)
    ref = _reference(f"catalog/{QWEN3_NEXT}")
    assert ref["transformers"] == "5.25.0"
    assert spec.total_params == ref["total"] == 79_674_391_296
    assert list(spec.per_layer_params) == ref["per_layer"]
    assert spec.active_params_per_token == ref["active"]
    # the fixture copy is the same file
    assert (CONFIGS / f"{QWEN3_NEXT}.json").read_bytes() == (
        CATALOG / QWEN3_NEXT / "config.json"
    ).read_bytes()


def test_qwen3_next_layout() -> None:
    spec = catalog_spec(QWEN3_NEXT)
    full = [layer.index for layer in spec.layers if layer.state is None]
    assert full == list(range(3, 48, 4))  # every 4th layer attends
    assert kv.recurrent_summary(spec) == (36, 48)
    attn = spec.layers[3].attention
    assert (attn.num_kv_heads, attn.head_dim, attn.kv_elems_per_token) == (2, 256, 1024)
    st = spec.layers[0].state
    assert st is not None and st.kind == "gated_deltanet"
    # conv over q, k, v: 2 × 16 × 128 + 32 × 128; state [32 value heads, 128, 128]
    assert (st.conv_channels, st.conv_kernel, st.state_heads, st.state_head_elems) == (
        8192,
        4,
        32,
        128 * 128,
    )


# per sequence and layer, Qwen3-Next-80B-A3B (bf16 model)
QWEN3_NEXT_STATE = {
    # transformers: conv [8192, 4] bf16 + state [32, 128, 128] fp32 (measured layout)
    "transformers": 8192 * 4 * 2 + 32 * 128 * 128 * 4,
    # llama.cpp: n_embd_r = 3 × (4096 + 2 × 16 × 128), n_embd_s = 128 × 4096, both F32
    "llamacpp": 3 * 8192 * 4 + 128 * 4096 * 4,
}


@pytest.mark.parametrize("runtime", sorted(QWEN3_NEXT_STATE))
def test_qwen3_next_state_bytes(runtime: str) -> None:
    spec = catalog_spec(QWEN3_NEXT)
    layers = _state_layer_bytes(spec, runtime, context=4096, batch=3)
    assert layers[0] == 3 * QWEN3_NEXT_STATE[runtime]
    kv_cells = 4096 * 3 if runtime == "transformers" else 12288  # llama.cpp: pad256(ctx × seqs)
    assert layers[3] == kv_cells * 1024 * 2


def test_qwen3_next_vllm_pages() -> None:
    """vLLM: conv [3, 8192] + state [32, 128, 128], both bf16 = 1,097,728 B; the attention
    block grows to 16 × ceil(1,097,728 / (16 × 2,048)) = 544 tokens and each state is
    padded to one 544-token attention page (1,114,112 B)."""
    spec = catalog_spec(QWEN3_NEXT)
    st = spec.layers[0].state
    assert kv.state_page_bytes(spec, st, runtime="vllm", kv_dtype="bf16") == 1_097_728
    assert kv.vllm_block_tokens(spec, kv_dtype="bf16") == 544
    layers = kv.kv_layer_bytes(spec, context=1000, batch=2, kv_dtype="bf16", runtime="vllm")
    assert layers[0] == 2 * 544 * 2048
    assert layers[3] == 2 * 1088 * 2048  # ceil(1000 / 544) blocks of 544 tokens
    # fp8 K/V halves one token's page: the block doubles, the state page stays bf16-sized
    assert kv.vllm_block_tokens(spec, kv_dtype="fp8") == 1072
    # tp=2: one KV head and half the value heads / conv channels per rank
    assert kv.state_page_bytes(spec, st, runtime="vllm", kv_dtype="bf16", tp=2) == 548_864
    assert kv.vllm_block_tokens(spec, kv_dtype="bf16", tp=2) == 544


def test_qwen3_next_state_is_constant_in_context() -> None:
    spec = catalog_spec(QWEN3_NEXT)
    short = kv.kv_layer_bytes(spec, context=1024, runtime="transformers")
    long = kv.kv_layer_bytes(spec, context=65536, runtime="transformers")
    assert short[0] == long[0] and long[3] == 64 * short[3]


def test_qwen3_next_estimate_explains_the_cache() -> None:
    spec = catalog_spec(QWEN3_NEXT)
    est = inference.estimate_inference(
        spec, InferenceWorkload(weights="bf16", context=8192, batch=1, runtime="vllm")
    )
    notes = [a for a in est.assumptions if "keep no KV cache" in a]
    assert notes and notes[0].startswith("36 of 48 layers keep no KV cache: the 36 recurrent")
    assert any("544-token blocks" in a for a in est.assumptions)
    dense = inference.estimate_inference(
        catalog_spec("qwen3-30b-a3b"), InferenceWorkload(weights="bf16", context=8192)
    )
    assert not any("keep no KV cache" in a for a in dense.assumptions)


def test_qwen3_next_measured_state_matches() -> None:
    """The tiny qwen3_next case: per-layer conv/state shapes and dtypes as measured."""
    case = next(c for c in json.loads(KV_CACHE.read_text())["cases"] if c["family"] == "qwen3_next")
    spec = arch.parse_config(case["config"], name="qwen3_next")
    batch = case["batch"]
    for layer_spec, measured in zip(spec.layers, case["stages"]["decode"]["layers"], strict=True):
        st = layer_spec.state
        if st is None:
            assert measured["cache_class"] == "DynamicLayer"
            continue
        assert measured["conv_shapes"] == [[batch, st.conv_channels, st.conv_kernel]]
        assert measured["conv_dtype"] == "bfloat16" and measured["state_dtype"] == "float32"
        dk = case["config"]["linear_key_head_dim"]
        assert measured["state_shapes"] == [[batch, st.state_heads, dk, st.state_head_elems // dk]]


def test_qwen3_next_layer_types_checked() -> None:
    raw = json.loads((CATALOG / QWEN3_NEXT / "config.json").read_text())
    raw = {**raw, "num_hidden_layers": 2, "layer_types": ["linear_attention", "mamba"]}
    with pytest.raises(ConfigError, match="'mamba'"):
        arch.parse_config(raw)
    raw["layer_types"] = ["full_attention", "linear_attention"]
    spec = arch.parse_config(raw)
    assert [layer.state is None for layer in spec.layers] == [True, False]


# --- nemotron_h ---------------------------------------------------------------------------

NEMOTRON = "nemotron-3-nano-30b-a3b"


def test_nemotron_h_counts_equal_transformers() -> None:
    spec = catalog_spec(NEMOTRON)
    ref = _reference(f"catalog/{NEMOTRON}")
    assert ref["transformers"] == "5.25.0"
    assert spec.total_params == ref["total"] == 31_577_937_344
    assert list(spec.per_layer_params) == ref["per_layer"]
    assert spec.active_params_per_token == ref["active"]
    assert [layer.attention.kv_elems_per_token for layer in spec.layers] == ref["kv_elems"]


def test_nemotron_h_layout() -> None:
    spec = catalog_spec(NEMOTRON)
    kinds = [
        "M" if layer.state else "*" if layer.attention.kv_elems_per_token else
        "E" if layer.mlp.kind == "moe" else "-"
        for layer in spec.layers
    ]  # fmt: skip
    assert (
        "".join(kinds)
        == json.loads((CATALOG / NEMOTRON / "config.json").read_text())["hybrid_override_pattern"]
    )
    assert kv.recurrent_summary(spec) == (46, 52)
    st = spec.layers[0].state
    assert st is not None and st.kind == "mamba2"
    # conv over x, B, C: 64 × 64 + 2 × 8 × 128; state [64 heads, 64, 128]
    assert (st.conv_channels, st.conv_kernel, st.state_heads, st.state_head_elems) == (
        6144,
        4,
        64,
        64 * 128,
    )
    assert st.hf_fp32_state and st.vllm_fp32_state  # config: mamba_ssm_cache_dtype float32


NEMOTRON_STATE = {
    # transformers: conv [6144, 4] bf16 + state [64, 64, 128] fp32 (measured layout)
    "transformers": 6144 * 4 * 2 + 64 * 64 * 128 * 4,
    # llama.cpp: n_embd_r = 3 × (4096 + 2 × 8 × 128), n_embd_s = 128 × 4096, both F32
    "llamacpp": 3 * 6144 * 4 + 128 * 4096 * 4,
    # vLLM: conv [3, 6144] bf16 + state fp32 = 2,134,016 B, padded to one attention page
    # of 16 × ceil(2,134,016 / (16 × 1,024)) = 2,096 tokens × 1,024 B
    "vllm": 2096 * 1024,
}


@pytest.mark.parametrize("runtime", sorted(NEMOTRON_STATE))
def test_nemotron_h_state_bytes(runtime: str) -> None:
    spec = catalog_spec(NEMOTRON)
    layers = _state_layer_bytes(spec, runtime, context=4096, batch=2)
    assert layers[0] == 2 * NEMOTRON_STATE[runtime]
    assert layers[1] == 0  # an MoE layer keeps nothing
    if runtime == "vllm":
        st = spec.layers[0].state
        assert kv.state_page_bytes(spec, st, runtime="vllm", kv_dtype="bf16") == 2_134_016
        assert kv.vllm_block_tokens(spec, kv_dtype="bf16") == 2096
        assert layers[5] == 2 * 2 * 2096 * 1024  # ceil(4096 / 2096) = 2 blocks per sequence


def test_nemotron_h_vllm_tensor_parallel() -> None:
    """tp=2: 8 groups split evenly; tp=16 > 8 groups: vLLM replicates them up to 16."""
    spec = catalog_spec(NEMOTRON)
    st = spec.layers[0].state
    assert kv.state_elems_per_gpu(st, runtime="vllm", tp=2) == (3 * 3072, 32 * 64 * 128)
    conv, _ = kv.state_elems_per_gpu(st, runtime="vllm", tp=16)
    assert conv == 3 * ((4096 + 16 * 256) // 16)


def test_nemotron_h_state_dtype_follows_config() -> None:
    raw = json.loads((CATALOG / NEMOTRON / "config.json").read_text())
    spec = arch.parse_config({**raw, "mamba_ssm_cache_dtype": "bfloat16"})
    st = spec.layers[0].state
    assert not st.vllm_fp32_state
    assert kv.state_page_bytes(spec, st, runtime="vllm", kv_dtype="bf16") == (
        3 * 6144 * 2 + 64 * 64 * 128 * 2
    )


def test_nemotron_h_layer_kinds() -> None:
    raw = json.loads((CATALOG / NEMOTRON / "config.json").read_text())
    legacy = {k: v for k, v in raw.items() if k != "hybrid_override_pattern"}
    spec = arch.parse_config({**legacy, "layers_block_type": ["mamba", "attention", "mlp"]})
    assert spec.num_layers == 3 and spec.layers[0].state and spec.layers[1].state is None
    with pytest.raises(ConfigError, match="hybrid_override_pattern"):
        arch.parse_config({**raw, "hybrid_override_pattern": "MX*"})


@pytest.mark.parametrize("family", ["nemotron_h", "granitemoehybrid"])
def test_mamba2_measured_state_matches(family: str) -> None:
    case = next(c for c in json.loads(KV_CACHE.read_text())["cases"] if c["family"] == family)
    spec = arch.parse_config(case["config"], name=family)
    batch = case["batch"]
    for layer_spec, measured in zip(spec.layers, case["stages"]["decode"]["layers"], strict=True):
        st = layer_spec.state
        if st is None:
            continue
        assert measured["conv_shapes"] == [[batch, st.conv_channels, st.conv_kernel]]
        assert measured["state_dtype"] == "float32"
        head_dim = case["config"].get("mamba_head_dim", case["config"].get("mamba_d_head"))
        d_state = st.state_head_elems // head_dim
        assert measured["state_shapes"] == [[batch, st.state_heads, head_dim, d_state]]


# --- granitemoehybrid ---------------------------------------------------------------------

GRANITE = "granite-4.0-h-tiny"


def test_granitemoehybrid_counts_equal_transformers() -> None:
    spec = catalog_spec(GRANITE)
    ref = _reference(f"catalog/{GRANITE}")
    assert ref["transformers"] == "5.25.0"
    assert spec.total_params == ref["total"] == 6_939_037_248  # card: 7B
    assert list(spec.per_layer_params) == ref["per_layer"]
    assert spec.active_params_per_token == ref["active"]
    assert [layer.attention.kv_elems_per_token for layer in spec.layers] == ref["kv_elems"]
    assert kv.recurrent_summary(spec) == (36, 40)


GRANITE_STATE = {
    # conv over x, B, C: 3072 + 2 × 128 = 3,328 channels; state [48, 64, 128]
    "transformers": 3328 * 4 * 2 + 48 * 64 * 128 * 4,
    "llamacpp": 3 * 3328 * 4 + 128 * 3072 * 4,
    # vLLM: 806,400 B (all bf16), padded to 16 × ceil(806,400 / (16 × 2,048)) = 400 tokens
    "vllm": 400 * 2048,
}


@pytest.mark.parametrize("runtime", sorted(GRANITE_STATE))
def test_granitemoehybrid_state_bytes(runtime: str) -> None:
    spec = catalog_spec(GRANITE)
    layers = _state_layer_bytes(spec, runtime, context=2048)
    assert layers[0] == GRANITE_STATE[runtime]
    if runtime == "vllm":
        assert kv.vllm_block_tokens(spec, kv_dtype="bf16") == 400
        assert layers[5] == 6 * 400 * 2048  # ceil(2048 / 400) = 6 blocks of 400 tokens


# --- qwen3_5, qwen3_5_moe -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("slug", "total", "text_total"),
    [
        ("qwen3.5-9b", 9_409_813_744, 8_953_803_264),
        ("qwen3.5-35b-a3b", 35_107_181_936, 34_660_610_688),
    ],
)
def test_qwen3_5_counts_equal_transformers(slug: str, total: int, text_total: int) -> None:
    """Built as the architectures class (Qwen3_5[Moe]ForConditionalGeneration), ViT included;
    text_total is the language model with lm_head."""
    spec = catalog_spec(slug)
    ref = _reference(f"catalog/{slug}")
    assert ref["transformers"] == "5.25.0"
    assert spec.total_params == ref["total"] == total
    assert ref["text_total"] == text_total
    vision = sum(t.numel for t in spec.tensors if t.name.startswith(("v.", "mm.")))
    assert spec.total_params - vision == text_total
    assert list(spec.per_layer_params) == ref["per_layer"]
    assert [layer.attention.kv_elems_per_token for layer in spec.layers] == ref["kv_elems"]
    if "active" in ref:
        assert spec.active_params_per_token == ref["active"]


def test_qwen3_5_state_is_qwen3_next_layout() -> None:
    """Qwen3.5's Gated DeltaNet keeps the same per-sequence state as Qwen3-Next's in
    transformers (same heads and dims in the 35B-A3B): conv [8192, 4] bf16 + state
    [32, 128, 128] fp32; vLLM applies the config's mamba_ssm_dtype (float32) to the state:
    3 × 8192 × 2 + 32 × 128 × 128 × 4 = 2,146,304 B, so the block is 16 × ceil(2,146,304 /
    (16 × 2,048)) = 1,056 tokens."""
    spec = catalog_spec("qwen3.5-35b-a3b")
    assert kv.recurrent_summary(spec) == (30, 40)
    layers = kv.kv_layer_bytes(spec, context=4096, batch=1, runtime="transformers")
    assert layers[0] == QWEN3_NEXT_STATE["transformers"]
    assert layers[3] == 4096 * 2 * 256 * 2 * 2
    st = spec.layers[0].state
    assert st.vllm_fp32_state and not catalog_spec(QWEN3_NEXT).layers[0].state.vllm_fp32_state
    assert kv.state_page_bytes(spec, st, runtime="vllm", kv_dtype="bf16") == 2_146_304
    assert kv.vllm_block_tokens(spec, kv_dtype="bf16") == 1056


# --- lfm2 -----------------------------------------------------------------------------------


def test_lfm2_counts_equal_transformers() -> None:
    for key, total in (
        ("fixture/lfm2.5-2.6b", 2_697_198_592),
        ("variant/lfm2.5-2.6b-auto-ff", 2_068_359_552),  # 2/3 width rounded to 256, biases
    ):
        ref = _reference(key)
        kind, name = key.split("/")
        path = CONFIGS / ("variants/" if kind == "variant" else "") / f"{name}.json"
        spec = arch.parse_config(json.loads(path.read_text()), name=name)
        assert ref["transformers"] == "5.25.0"
        assert spec.total_params == ref["total"] == total
        assert list(spec.per_layer_params) == ref["per_layer"]
        assert [layer.attention.kv_elems_per_token for layer in spec.layers] == ref["kv_elems"]


def test_lfm2_short_conv_state() -> None:
    """A conv window over the hidden size, no SSM state: transformers [2048, 3] bf16;
    vLLM [2, 2048] bf16 = 8,192 B, padded to the 16-token attention page (16 × 8 KV heads
    × 64 × 2 × 2 B = 32,768 B); llama.cpp n_embd_r = 2048 × 2 in F32."""
    spec = arch.parse_config(json.loads((CONFIGS / "lfm2.5-2.6b.json").read_text()))
    assert kv.recurrent_summary(spec) == (22, 30)
    expected = {"transformers": 2048 * 3 * 2, "vllm": 32_768, "llamacpp": 2048 * 2 * 4}
    for runtime, per_seq in expected.items():
        layers = _state_layer_bytes(spec, runtime, context=100, batch=2)
        assert layers[0] == 2 * per_seq, runtime
    assert kv.vllm_block_tokens(spec, kv_dtype="bf16") == 16


# --- jamba ----------------------------------------------------------------------------------

JAMBA = "jamba-1.5-mini"


def test_jamba_counts_equal_transformers() -> None:
    spec = catalog_spec(JAMBA)
    ref = _reference(f"catalog/{JAMBA}")
    assert ref["transformers"] == "5.25.0"
    assert spec.total_params == ref["total"] == 51_570_323_328  # card: 52B total, 12B active
    assert list(spec.per_layer_params) == ref["per_layer"]
    assert spec.active_params_per_token == ref["active"]
    assert [layer.attention.kv_elems_per_token for layer in spec.layers] == ref["kv_elems"]
    assert kv.recurrent_summary(spec) == (28, 32)


JAMBA_STATE = {
    # Mamba-1, d_inner 8192: conv [8192, 4] bf16 + state [8192, 16] fp32 (measured layout)
    "transformers": 8192 * 4 * 2 + 8192 * 16 * 4,
    # n_embd_r = 3 × 8192, n_embd_s = 16 × 8192, F32
    "llamacpp": 3 * 8192 * 4 + 16 * 8192 * 4,
    # conv [3, 8192] + state [8192, 16], bf16 = 311,296 B, padded to 16 × ceil(311,296 /
    # (16 × 4,096)) = 80 tokens of the attention page
    "vllm": 80 * 4096,
}


@pytest.mark.parametrize("runtime", sorted(JAMBA_STATE))
def test_jamba_state_bytes(runtime: str) -> None:
    spec = catalog_spec(JAMBA)
    layers = _state_layer_bytes(spec, runtime, context=1024)
    assert layers[0] == JAMBA_STATE[runtime]
    if runtime == "vllm":
        st = spec.layers[0].state
        assert kv.state_page_bytes(spec, st, runtime="vllm", kv_dtype="bf16") == 311_296
        assert kv.state_elems_per_gpu(st, runtime="vllm", tp=2) == (3 * 4096, 4096 * 16)
        assert layers[4] == 13 * 80 * 4096  # ceil(1024 / 80) = 13 blocks


def test_notes_name_what_each_family_keeps() -> None:
    """Short-convolution layers keep a conv window only; vLLM's page padding is said even
    when the attention block stays at 16 tokens."""
    spec = arch.parse_config(json.loads((CONFIGS / "lfm2.5-2.6b.json").read_text()))
    notes = kv.recurrent_notes(spec, runtime="vllm", kv_dtype="bf16")
    assert notes[0].startswith("22 of 30 layers keep no KV cache: the 22 convolution layers")
    assert "16-token blocks" in notes[1]
    assert kv.recurrent_notes(catalog_spec("qwen3-30b-a3b"), runtime="vllm", kv_dtype="bf16") == ()
    nemotron = kv.recurrent_notes(catalog_spec(NEMOTRON), runtime="llamacpp", kv_dtype="fp16")
    assert nemotron == (
        "46 of 52 layers keep no KV cache: the 23 recurrent ones keep a fixed 47.62 MiB per "
        "sequence instead (conv window in fp32, SSM/delta state in fp32), whatever the context",
    )


# --- falcon_h1 ------------------------------------------------------------------------------


def test_falcon_h1_counts_equal_transformers() -> None:
    for key, total in (
        ("fixture/falcon-h1-0.5b", 521_411_104),
        ("variant/falcon-h1-0.5b-biases-norm", 521_872_768),  # biases + gated norm
    ):
        ref = _reference(key)
        kind, name = key.split("/")
        path = CONFIGS / ("variants/" if kind == "variant" else "") / f"{name}.json"
        spec = arch.parse_config(json.loads(path.read_text()), name=name)
        assert ref["transformers"] == "5.25.0"
        assert spec.total_params == ref["total"] == total
        assert list(spec.per_layer_params) == ref["per_layer"]
        assert [layer.attention.kv_elems_per_token for layer in spec.layers] == ref["kv_elems"]


FALCON_H1_STATE = {
    # conv over x, B, C: 1536 + 2 × 128 = 1,792 channels; state [24, 64, 128]
    "transformers": 1792 * 4 * 2 + 24 * 64 * 128 * 4,
    "llamacpp": 3 * 1792 * 4 + 128 * 1536 * 4,
    # 403,968 B (bf16) padded to 16 × ceil(403,968 / (16 × 512)) = 800 tokens × 512 B
    "vllm": 800 * 512,
}


@pytest.mark.parametrize("runtime", sorted(FALCON_H1_STATE))
def test_falcon_h1_keeps_kv_and_state_in_every_layer(runtime: str) -> None:
    spec = arch.parse_config(json.loads((CONFIGS / "falcon-h1-0.5b.json").read_text()))
    kv_dtype = "fp16" if runtime == "llamacpp" else "bf16"
    layers = kv.kv_layer_bytes(spec, context=1000, batch=1, kv_dtype=kv_dtype, runtime=runtime)
    slots = {"transformers": 1000, "llamacpp": 1024, "vllm": 1600}[runtime]
    assert set(layers) == {slots * 2 * 64 * 2 * 2 + FALCON_H1_STATE[runtime]}  # K+V, 2 B
    notes = kv.recurrent_notes(spec, runtime=runtime, kv_dtype=kv_dtype)
    assert notes[0].startswith("all 36 layers keep a KV cache and, beside it, a fixed")
