"""llama.cpp buffers of issue 12 against llama.cpp's own logs.

Two kinds of reference: a published CUDA log (ggml-ci, Pythia-2.8B f16, -fa off) with every
buffer line, and the CPU measurements in reference/llamacpp_buffers.json (written by
tools/reference/llamacpp.py from a CPU build of the pinned commit): the CPU backend reserves
the same worst-case graph, so its one compute buffer holds what a CUDA build splits into
the GPU's compute buffer and the CUDA_Host one.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from engine.arch import parse_config as spec_from_config
from engine.catalog import load_model
from engine.inference import estimate_inference
from engine.runtime_llamacpp import LLAMA_CPP_COMMIT, effective_ubatch
from engine.workload import InferenceWorkload

MIB = 2**20
REF = Path(__file__).resolve().parents[2] / "reference" / "llamacpp_buffers.json"

# Pythia-2.8B as ggml-ci ran it (llama.cpp build 4713 a4f011e8d, Tesla V100, f16 GGUF,
# -ngl 99 -c 2048, n_ubatch 512, flash_attn = 0):
#   CUDA0 model buffer size = 5049.71 MiB, CPU_Mapped model buffer size = 245.62 MiB
#   CUDA0 KV buffer size = 640.00 MiB, CUDA_Host output buffer size = 0.19 MiB
#   CUDA0 compute buffer size = 162.00 MiB, CUDA_Host compute buffer size = 9.01 MiB
PYTHIA = {
    "model_type": "gpt_neox",
    "architectures": ["GPTNeoXForCausalLM"],
    "hidden_size": 2560,
    "intermediate_size": 10240,
    "num_hidden_layers": 32,
    "num_attention_heads": 32,
    "vocab_size": 50304,
    "max_position_embeddings": 2048,
    "rotary_pct": 0.25,
    "use_parallel_residual": True,
    "layer_norm_eps": 1e-5,
    "tie_word_embeddings": False,
    "torch_dtype": "float16",
    "hidden_act": "gelu",
}


def _mib(n: int) -> str:
    return f"{n / MIB:.2f}"


def _est(spec, **kw):
    return estimate_inference(spec, InferenceWorkload(runtime="llamacpp", **kw))


def test_pythia_fa_off_matches_every_published_buffer() -> None:
    est = _est(spec_from_config(PYTHIA), weights="f16", context=2048, flash_attn="off")
    c, d = est.components, est.details
    assert _mib(c["weights"]) == "5049.71"
    assert _mib(d["host_weights_bytes"]) == "245.62"
    assert _mib(c["kv_cache"]) == "640.00"
    assert _mib(c["activations"] + c["logits"]) == "162.00"  # KQ 128 MiB + mask + q/k/v
    assert _mib(d["host_compute_bytes"]) == "9.01"
    output = est.host_bytes - d["host_weights_bytes"] - d["host_compute_bytes"]
    assert _mib(output) == "0.19"
    assert d["llamacpp_commit"] == LLAMA_CPP_COMMIT


def test_defaults_are_flash_attention_on() -> None:
    spec = spec_from_config(PYTHIA)
    auto = _est(spec, weights="f16", context=2048)
    on = _est(spec, weights="f16", context=2048, flash_attn="on")
    assert auto.components == on.components and auto.details["kq_bytes"] == 0
    off = _est(spec, weights="f16", context=2048, flash_attn="off")
    assert off.details["kq_bytes"] == 2048 * 512 * 32 * 4


def test_n_batch_caps_n_ubatch() -> None:
    assert effective_ubatch(InferenceWorkload(ubatch=4096)) == 2048  # -b 2048 default
    assert effective_ubatch(InferenceWorkload(ubatch=4096, n_batch=8192)) == 4096
    assert effective_ubatch(InferenceWorkload(context=300)) == 300  # n_batch = min(n_ctx, b)
    spec = load_model("llama-3.1-8b")
    small = _est(spec, weights="q4_k_m", n_batch=256)
    assert small.components["logits"] == spec.vocab_size * 256 * 4


def test_no_kv_offload_moves_kv_and_attention_to_host() -> None:
    spec = load_model("llama-3.1-8b")
    on = _est(spec, weights="q4_k_m", context=8192, flash_attn="off")
    off = _est(spec, weights="q4_k_m", context=8192, flash_attn="off", kv_offload=False)
    assert off.components["kv_cache"] == 0
    assert off.details["host_kv_cache_bytes"] == on.components["kv_cache"]
    kq = on.details["kq_bytes"]
    assert off.details["host_compute_bytes"] == on.details["host_compute_bytes"] + kq
    assert off.components["activations"] < on.components["activations"]


def test_n_cpu_moe_keeps_experts_in_host_ram() -> None:
    spec = load_model("mixtral-8x7b")
    gpu = _est(spec, weights="q4_k_m")
    cpu = _est(spec, weights="q4_k_m", n_cpu_moe=100)  # --cpu-moe: every layer
    moved = gpu.components["weights"] - cpu.components["weights"]
    assert moved > 20 * 2**30  # Mixtral's experts are most of its 26 GiB
    assert cpu.details["host_weights_bytes"] - gpu.details["host_weights_bytes"] == moved
    # the GPU computes them (n_ubatch >= 32): one layer's experts are copied in
    copy = cpu.components["activations"] - gpu.components["activations"]
    assert copy == pytest.approx(moved / 32, rel=0.1)
    tiny = _est(spec, weights="q4_k_m", n_cpu_moe=100, ubatch=16)
    assert tiny.components["activations"] < cpu.components["activations"]
    dense = load_model("llama-3.1-8b")
    assert _est(dense, n_cpu_moe=8).components == _est(dense).components


def test_split_mode_row_spreads_weights_evenly() -> None:
    spec = load_model("llama-3.1-70b")
    layer = _est(spec, weights="q4_k_m", pp=2)
    row = _est(spec, weights="q4_k_m", pp=2, split_mode="row")
    assert row.gpu_bytes != layer.gpu_bytes
    # equal weight shares: the GPUs differ only by the logits of the output layer
    assert row.gpu_bytes[1] - row.gpu_bytes[0] == row.components["logits"]
    assert sum(row.gpu_bytes) == pytest.approx(sum(layer.gpu_bytes), abs=2)


def _runs():
    if not REF.exists():
        return []
    data = json.loads(REF.read_text())
    return [(data["models"][r["model"]], r) for r in data["runs"]]


@pytest.mark.parametrize(
    ("config", "run"),
    _runs(),
    ids=lambda x: " ".join(x["args"]) if isinstance(x, dict) and "args" in x else "",
)
def test_cpu_measurements(config: dict, run: dict) -> None:
    """KV and output buffers exactly; the CPU compute buffer within 2% (most runs within
    0.02 MiB; two runs print 1 MiB more, where ggml-alloc leaves a gap it cannot reuse).

    A CPU build holds in one buffer what a CUDA build splits in two: the GPU compute buffer
    (the engine's activations + logits, which include the copies of the graph inputs) and
    the CUDA_Host one, whose only tensor not copied to the GPU is the token_embd lookup of
    n_ubatch rows. So CPU compute = activations + logits + n_embd × n_ubatch × 4.
    """
    spec = spec_from_config(config)
    buffers = run["buffers_mib"]
    request = {k: v for k, v in run["request"].items() if k != "runtime"}
    est = _est(spec, **request)
    c, d = est.components, est.details
    # a CPU build maps every weight: the GPU's share plus what stays in host RAM
    assert _mib(c["weights"] + d["host_weights_bytes"]) == f"{buffers['CPU_Mapped model']:.2f}"
    if "-nkvo" not in run["args"]:
        assert _mib(c["kv_cache"]) == f"{buffers['CPU KV']:.2f}"
    else:
        assert _mib(d["host_kv_cache_bytes"]) == f"{buffers['CPU KV']:.2f}"
    output = est.host_bytes - d["host_weights_bytes"] - d["host_compute_bytes"]
    output -= d["host_kv_cache_bytes"]
    assert _mib(output) == f"{buffers['CPU output']:.2f}"
    if "--cpu-moe" in run["args"]:
        return  # a CPU build has no GPU to copy the experts to
    compute = cpu_equivalent(est, spec.hidden_size)
    if "-nkvo" in run["args"]:
        # a CPU build runs the attention where the rest runs: compare with it on the GPU
        full = _est(spec, **{**request, "kv_offload": True})
        compute = cpu_equivalent(full, spec.hidden_size)
    assert compute / MIB == pytest.approx(buffers["CPU compute"], rel=0.02)


def cpu_equivalent(est, hidden: int) -> int:
    """The compute buffer a CPU build prints for the engine's estimate."""
    c = est.components
    return c["activations"] + c["logits"] + hidden * est.details["n_ubatch"] * 4
