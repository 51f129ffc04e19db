"""Measure llama.cpp's buffer sizes on this machine's CPU; write reference/llamacpp_buffers.json.

llama.cpp logs every buffer it allocates ("CPU_Mapped model buffer size", "CPU KV buffer
size", "CPU output buffer size", "CPU compute buffer size"). The compute graph the CPU
backend reserves is the same worst-case graph a CUDA build reserves (``sched_reserve`` in
src/llama-context.cpp), so the CPU figures check the engine's compute-buffer rule.

Steps (see the docstring of ``main`` for the exact commands):

1. build llama.cpp on CPU from the ``llama-cpp-python`` sdist, which vendors it::

       pip download llama-cpp-python==0.3.36 --no-binary :all: --no-deps -d /tmp/lcpp
       tar xzf /tmp/lcpp/llama_cpp_python-0.3.36.tar.gz -C /tmp/lcpp
       cmake -S /tmp/lcpp/llama_cpp_python-0.3.36/vendor/llama.cpp -B /tmp/lcpp/build \\
           -DGGML_CUDA=OFF -DLLAMA_CURL=OFF -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_SERVER=OFF \\
           -DLLAMA_OPENSSL=OFF -DCMAKE_BUILD_TYPE=Release
       nice cmake --build /tmp/lcpp/build -j 2 --target llama-completion

2. ``python tools/reference/llamacpp.py --bin /tmp/lcpp/build/bin/llama-completion
   --gguf-py /tmp/lcpp/llama_cpp_python-0.3.36/vendor/llama.cpp/gguf-py``: writes small
   f16 GGUF models (random-free: zeros) from the HF-style configs in ``MODELS`` with the
   vendored gguf-py, runs ``llama-completion`` on each setting in ``RUNS`` and records
   the command lines and raw log lines. Needs numpy (the /work/refenv venv has it).
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "reference" / "llamacpp_buffers.json"

LLAMA_CPP_COMMIT = "0c1e57098"  # vendored by llama-cpp-python 0.3.36 (its CHANGELOG)

# HF-style configs (what the engine reads); the GGUF written from each has the same shapes.
MODELS: dict[str, dict] = {
    "tiny-llama": {
        "model_type": "llama",
        "architectures": ["LlamaForCausalLM"],
        "hidden_size": 512,
        "intermediate_size": 1408,
        "num_hidden_layers": 4,
        "num_attention_heads": 8,
        "num_key_value_heads": 2,
        "vocab_size": 32000,
        "max_position_embeddings": 8192,
        "rms_norm_eps": 1e-5,
        "rope_theta": 10000.0,
        "tie_word_embeddings": False,
        "torch_dtype": "float16",
    },
    "tiny-moe": {
        "model_type": "mixtral",
        "architectures": ["MixtralForCausalLM"],
        "hidden_size": 256,
        "intermediate_size": 512,
        "num_hidden_layers": 4,
        "num_attention_heads": 8,
        "num_key_value_heads": 4,
        "num_local_experts": 8,
        "num_experts_per_tok": 2,
        "vocab_size": 16000,
        "max_position_embeddings": 8192,
        "rms_norm_eps": 1e-5,
        "rope_theta": 10000.0,
        "tie_word_embeddings": False,
        "torch_dtype": "float16",
    },
}

# (model, extra llama-completion arguments)
RUNS: list[tuple[str, list[str]]] = [
    ("tiny-llama", ["-c", "4096", "-fa", "on"]),
    ("tiny-llama", ["-c", "4096", "-fa", "off"]),
    ("tiny-llama", ["-c", "1024", "-fa", "on"]),
    ("tiny-llama", ["-c", "1024", "-fa", "off"]),
    ("tiny-llama", ["-c", "4096", "-fa", "off", "-ub", "128"]),
    ("tiny-llama", ["-c", "4096", "-fa", "on", "-ub", "128"]),
    ("tiny-llama", ["-c", "4096", "-fa", "off", "-ub", "1024", "-b", "1024"]),
    ("tiny-llama", ["-c", "4096", "-fa", "on", "-ub", "2048", "-b", "2048"]),
    ("tiny-llama", ["-c", "4096", "-fa", "off", "-b", "256"]),
    ("tiny-llama", ["-c", "2048", "-fa", "off", "-nkvo"]),
    ("tiny-llama", ["-c", "300", "-fa", "off"]),
    ("tiny-llama", ["-c", "8192", "-fa", "on", "-ctk", "q8_0", "-ctv", "q8_0"]),
    ("tiny-moe", ["-c", "4096", "-fa", "on"]),
    ("tiny-moe", ["-c", "4096", "-fa", "off"]),
    ("tiny-moe", ["-c", "4096", "-fa", "on", "--cpu-moe"]),
]

BUFFER_LINE = re.compile(
    r"(?P<buffer>[\w.]+)\s+(?P<kind>model|KV|output|compute|RS)\s+buffer size\s*=\s*"
    r"(?P<mib>[\d.]+) MiB"
)


def write_gguf(name: str, cfg: dict, path: Path) -> None:
    """Write ``cfg`` as a llama-architecture f16 GGUF with zero weights and a byte vocab."""
    import gguf
    import numpy as np

    h, ff, layers = cfg["hidden_size"], cfg["intermediate_size"], cfg["num_hidden_layers"]
    heads, kv_heads, vocab = (
        cfg["num_attention_heads"],
        cfg["num_key_value_heads"],
        cfg["vocab_size"],
    )
    head_dim = h // heads
    experts = cfg.get("num_local_experts", 0)
    w = gguf.GGUFWriter(str(path), "llama")
    w.add_name(name)
    w.add_context_length(cfg["max_position_embeddings"])
    w.add_embedding_length(h)
    w.add_block_count(layers)
    w.add_feed_forward_length(ff)
    w.add_head_count(heads)
    w.add_head_count_kv(kv_heads)
    w.add_rope_dimension_count(head_dim)
    w.add_rope_freq_base(cfg["rope_theta"])
    w.add_layer_norm_rms_eps(cfg["rms_norm_eps"])
    w.add_file_type(gguf.LlamaFileType.MOSTLY_F16)
    if experts:
        w.add_expert_count(experts)
        w.add_expert_used_count(cfg["num_experts_per_tok"])
    tokens = [b"<unk>", b"<s>", b"</s>"]
    tokens += [f"<0x{i:02X}>".encode() for i in range(256)]
    tokens += [f"t{i}".encode() for i in range(vocab - len(tokens))]
    types = [gguf.TokenType.UNKNOWN, gguf.TokenType.CONTROL, gguf.TokenType.CONTROL]
    types += [gguf.TokenType.BYTE] * 256
    types += [gguf.TokenType.NORMAL] * (vocab - len(types))
    w.add_tokenizer_model("llama")
    w.add_token_list(tokens)
    w.add_token_scores([0.0] * vocab)
    w.add_token_types(types)
    w.add_bos_token_id(1)
    w.add_eos_token_id(2)
    w.add_unk_token_id(0)

    def t(tname: str, *shape: int, f32: bool = False) -> None:
        # numpy shape is the reverse of ggml's ne
        w.add_tensor(tname, np.zeros(tuple(reversed(shape)), np.float32 if f32 else np.float16))

    t("token_embd.weight", h, vocab)
    t("output_norm.weight", h, f32=True)
    t("output.weight", h, vocab)
    for i in range(layers):
        p = f"blk.{i}."
        t(p + "attn_norm.weight", h, f32=True)
        t(p + "attn_q.weight", h, heads * head_dim)
        t(p + "attn_k.weight", h, kv_heads * head_dim)
        t(p + "attn_v.weight", h, kv_heads * head_dim)
        t(p + "attn_output.weight", heads * head_dim, h)
        t(p + "ffn_norm.weight", h, f32=True)
        if experts:
            t(p + "ffn_gate_inp.weight", h, experts, f32=True)
            t(p + "ffn_gate_exps.weight", h, ff, experts)
            t(p + "ffn_up_exps.weight", h, ff, experts)
            t(p + "ffn_down_exps.weight", ff, h, experts)
        else:
            t(p + "ffn_gate.weight", h, ff)
            t(p + "ffn_up.weight", h, ff)
            t(p + "ffn_down.weight", ff, h)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


def engine_request(extra: list[str]) -> dict:
    """The engine's inference request (API args) for these llama-completion options."""
    flags = dict(zip(extra[::2], extra[1::2], strict=False))
    req: dict = {
        "runtime": "llamacpp",
        "weights": "f16",
        "context": int(flags.get("-c", 4096)),
        "flash_attn": flags.get("-fa", "auto"),
    }
    if "-ub" in flags:
        req["ubatch"] = int(flags["-ub"])
    if "-b" in flags:
        req["n_batch"] = int(flags["-b"])
    if "-ctk" in flags:
        req["kv_dtype"] = flags["-ctk"]
    if "-nkvo" in extra:
        req["kv_offload"] = False
    if "--cpu-moe" in extra:
        req["n_cpu_moe"] = 100_000
    return req


def run(binary: str, model: Path, extra: list[str]) -> dict:
    """Run llama-completion for one token and return its buffer lines."""
    argv = [binary, "-m", str(model), "-p", "hi", "-n", "1", "-t", "1", "--no-warmup"]
    argv += ["-no-cnv", "--temp", "0", "-lv", "4", *extra]
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=600, check=False)
    log = proc.stdout + proc.stderr
    lines = [ln.strip() for ln in log.splitlines() if BUFFER_LINE.search(ln)]
    lines += [
        ln.strip()
        for ln in log.splitlines()
        if re.search(r"n_ctx\s+=|n_ubatch\s+=|n_batch\s+=|flash_attn\s+=", ln)
    ]
    buffers: dict[str, float] = {}
    for ln in lines:
        m = BUFFER_LINE.search(ln)
        if m:
            key = f"{m['buffer']} {m['kind']}"
            buffers[key] = buffers.get(key, 0.0) + float(m["mib"])
    if proc.returncode != 0 and not buffers:
        sys.stderr.write(log[-3000:])
        raise SystemExit(f"llama-completion failed: {' '.join(argv)}")
    return {
        "args": extra,
        "request": engine_request(extra),
        "command": " ".join(["llama-completion", "-m", model.name, *argv[3:]]),
        "log_lines": lines,
        "buffers_mib": buffers,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--bin", required=True, help="path to llama-completion")
    ap.add_argument("--gguf-py", required=True, help="the vendored llama.cpp/gguf-py folder")
    ap.add_argument("--work", default="/tmp/lcpp/models")
    ap.add_argument("--out", default=str(OUT))
    args = ap.parse_args()
    sys.path.insert(0, args.gguf_py)
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    paths = {}
    for name, cfg in MODELS.items():
        paths[name] = work / f"{name}.gguf"
        write_gguf(name, cfg, paths[name])
    runs = []
    for name, extra in RUNS:
        result = run(args.bin, paths[name], extra)
        result["model"] = name
        runs.append(result)
        print(name, " ".join(extra), result["buffers_mib"], flush=True)
    Path(args.out).write_text(
        json.dumps(
            {
                "_about": "llama.cpp buffer sizes printed by a CPU build (llama-completion), "
                "written by tools/reference/llamacpp.py. Models are f16 GGUF files written "
                "from 'models' (HF-style configs the engine reads).",
                "llama_cpp_commit": LLAMA_CPP_COMMIT,
                "source": "llama-cpp-python 0.3.36 sdist (vendor/llama.cpp)",
                "models": MODELS,
                "runs": runs,
            },
            indent=1,
        )
        + "\n"
    )


if __name__ == "__main__":
    main()
