"""The repos the Hub fixture serves, built once per test session into a directory.

Every catalog model is served under its real repo id and under ``hub-test/<slug>`` (a name
the catalog does not know, so the CLI goes to the Hub for it) with its verbatim config.json
and safetensors headers of its real shapes. Further repos cover each checkpoint scheme,
GGUF layouts and every error case; ``CASES`` names them for the tests.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from engine.catalog import list_models, load_config, load_model

from .files import gguf_model, hf_name, spec_tensors, write_gguf, write_safetensors
from .server import HubFixture, Repo

SHARD_TENSORS = 400  # tensors per shard: the larger catalog models get an index and shards

# repo id -> what it is (tests use these names)
CASES = {
    "fp8": "hub-test/Qwen3-8B-FP8",
    "awq": "hub-test/Qwen2.5-7B-Instruct-AWQ",
    "bnb4": "hub-test/Llama-3.1-8B-bnb-4bit",
    "mxfp4": "hub-test/gpt-oss-20b",
    "mtp": "hub-test/DeepSeek-V3-with-MTP",
    "vision": "hub-test/Llava-Llama-3.2-1B",
    "gguf_many": "hub-test/Llama-3.2-1B-Instruct-GGUF",
    "gguf_one": "hub-test/Llama-3.2-1B-Q4_K_M-GGUF",
    "gguf_split": "hub-test/Qwen3-30B-A3B-GGUF",
    "gguf_gemma": "hub-test/gemma-2-2b-it-GGUF",
    "lora": "hub-test/llama-3.2-1b-lora",
    "dataset": "hub-test/not-a-model",
    "gated": "hub-test/Llama-3.2-1B-gated",
    "rate_limited": "hub-test/rate-limited",
    "evil_redirect": "hub-test/evil-redirect",
    "oversized": "hub-test/oversized-header",
    "malformed": "hub-test/malformed-header",
    "unsupported": "hub-test/fancy-new-arch",
    "bad_gguf": "hub-test/big-endian-GGUF",
}


def _json_file(path: Path, data: Any) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2))
    return path


def _json_and_file(folder: Path, name: str, data: Any, other: str) -> Repo:
    """A repo of ``name`` (``data`` as JSON, written now) and ``other``, already in ``folder``."""
    return Repo(files={name: _json_file(folder / name, data), other: folder / other})


def _checkpoint(root: Path, config: dict, tensors: list) -> dict[str, Path]:
    """config.json + safetensors (sharded with an index above SHARD_TENSORS tensors)."""
    files = {"config.json": _json_file(root / "config.json", config)}
    chunks = [tensors[i : i + SHARD_TENSORS] for i in range(0, len(tensors), SHARD_TENSORS)]
    if len(chunks) == 1:
        write_safetensors(root / "model.safetensors", tensors)
        files["model.safetensors"] = root / "model.safetensors"
        return files
    wmap = {}
    for i, chunk in enumerate(chunks, 1):
        name = f"model-{i:05d}-of-{len(chunks):05d}.safetensors"
        write_safetensors(root / name, chunk)
        files[name] = root / name
        wmap.update({t[0]: name for t in chunk})
    index = {"metadata": {"total_size": 0}, "weight_map": wmap}
    files["model.safetensors.index.json"] = _json_file(root / "model.safetensors.index.json", index)
    return files


def _scheme(config: dict) -> str:
    q = config.get("quantization_config") or {}
    return {"fp8": "fp8", "mxfp4": "mxfp4"}.get(str(q.get("quant_method", "")), "bf16")


def _summary(tensors: list, params_of) -> dict[str, Any]:
    by: dict[str, int] = {}
    for name, dtype, shape in tensors:
        by[dtype] = by.get(dtype, 0) + params_of(name, dtype, shape)
    return {"parameters": by, "total": sum(by.values())}


def build(root: Path, hub: HubFixture) -> None:
    """Write every repo's files under ``root`` and register them with ``hub``."""
    from engine.hub.safetensors import stored_tensors

    def st_summary(config: dict, tensors: list) -> dict[str, Any]:
        header = {n: (d, s) for n, d, s in tensors}
        rows = stored_tensors(header, config.get("quantization_config"))
        by: dict[str, int] = {}
        for t in rows:
            by[t.dtype] = by.get(t.dtype, 0) + t.params
        return {"safetensors": {"parameters": by, "total": sum(by.values())}}

    for entry in list_models():
        config = load_config(entry.slug)
        try:
            spec = load_model(entry.slug)
        except Exception as exc:  # a broken catalog model fails one test, not the fixture
            hub.skipped[entry.slug] = f"{type(exc).__name__}: {exc}"
            continue
        tensors = spec_tensors(spec, _scheme(config))
        files = _checkpoint(root / "catalog" / entry.slug, config, tensors)
        info = st_summary(config, tensors)
        hub.add(entry.hf_repo, Repo(files=files, info=info))
        hub.add(f"hub-test/{entry.slug}", Repo(files=files, info=info))

    def variant(case: str, slug: str, scheme: str, quant: dict | None, extra: list | None = None):
        config = load_config(slug)
        if quant:
            config["quantization_config"] = quant
        tensors = spec_tensors(load_model(slug), scheme) + (extra or [])
        files = _checkpoint(root / case, config, tensors)
        return hub.add(CASES[case], Repo(files=files, info=st_summary(config, tensors)))

    variant(
        "fp8",
        "qwen3-8b",
        "fp8",
        {
            "quant_method": "fp8",
            "fmt": "e4m3",
            "activation_scheme": "dynamic",
            "weight_block_size": [128, 128],
        },
    )
    variant(
        "awq",
        "qwen2.5-7b",
        "awq",
        {
            "quant_method": "awq",
            "bits": 4,
            "group_size": 128,
            "zero_point": True,
            "version": "gemm",
        },
    )
    variant(
        "bnb4",
        "llama-3.1-8b",
        "bnb4",
        {
            "quant_method": "bitsandbytes",
            "load_in_4bit": True,
            "bnb_4bit_quant_type": "nf4",
            "bnb_4bit_compute_dtype": "bfloat16",
        },
    )
    variant("mxfp4", "gpt-oss-20b", "mxfp4", None)
    # DeepSeek-V3's checkpoint stores layer 61, the MTP module, beyond num_hidden_layers
    ds = load_model("deepseek-v3")
    last = [t for t in ds.tensors if t.layer == ds.num_layers - 1]
    mtp = []
    for t in last:
        name = hf_name(t).replace(f"layers.{t.layer}.", f"layers.{ds.num_layers}.")
        shape = (t.experts, *t.shape) if t.experts > 1 else t.shape
        mtp.append((name, "BF16", shape))
    mtp.append((f"model.layers.{ds.num_layers}.eh_proj.weight", "BF16", (7168, 14336)))
    variant("mtp", "deepseek-v3", "fp8", None, mtp)
    # a multimodal wrapper whose model_type is not modelled: its text_config is sized
    text = load_config("llama-3.2-1b")
    llava = {
        "model_type": "llava",
        "architectures": ["LlavaForConditionalGeneration"],
        "text_config": text,
        "vision_config": {"model_type": "clip_vision_model"},
    }
    vis = [
        ("vision_tower.vision_model.encoder.layers.0.mlp.fc1.weight", "BF16", (4096, 1024)),
        ("multi_modal_projector.linear_1.weight", "BF16", (2048, 1024)),
    ]
    tensors = spec_tensors(load_model("llama-3.2-1b"), "bf16") + vis
    hub.add(CASES["vision"], Repo(files=_checkpoint(root / "vision", llava, tensors)))

    # GGUF repos (gguf-py writes them; data sparse)
    l1 = load_model("llama-3.2-1b")
    c1 = load_config("llama-3.2-1b")
    many: dict[str, Path] = {"README.md": _json_file(root / "gguf_many" / "README.md", "")}
    for ft, split in (("q4_k_m", 0), ("q8_0", 0), ("q6_k", 60)):
        arch, meta, tensors = gguf_model(l1, c1, ft, name="Llama 3.2 1B Instruct")
        name = f"Llama-3.2-1B-Instruct-{ft.upper()}.gguf"
        for f in write_gguf(
            root / "gguf_many" / name, arch, meta, tensors, split_max_tensors=split
        ):
            many[f.name] = f
    hub.add(CASES["gguf_many"], Repo(files=many))
    arch, meta, tensors = gguf_model(l1, c1, "q4_k_m", name="Llama 3.2 1B")
    one = write_gguf(root / "gguf_one" / "llama-3.2-1b-q4_k_m.gguf", arch, meta, tensors)
    hub.add(CASES["gguf_one"], Repo(files={f.name: f for f in one}))
    q3 = load_model("qwen3-30b-a3b")
    # a dynamic mix: attention V and the first layer's experts at Q8_0, as no preset writes
    over = {
        "blk.0.ffn_down_exps.weight": 8,
        "blk.0.ffn_up_exps.weight": 8,
        "blk.5.attn_v.weight": 8,
    }
    arch, meta, tensors = gguf_model(
        q3, load_config("qwen3-30b-a3b"), "q4_k_m", name="Qwen3 30B A3B", overrides=over
    )
    parts = write_gguf(
        root / "gguf_split" / "Qwen3-30B-A3B-UD-Q4_K_XL.gguf",
        arch,
        meta,
        tensors,
        split_max_tensors=200,
    )
    hub.add(CASES["gguf_split"], Repo(files={f"UD-Q4_K_XL/{f.name}": f for f in parts}))
    g2 = load_model("gemma-2-2b")
    arch, meta, tensors = gguf_model(g2, load_config("gemma-2-2b"), "q8_0", name="Gemma 2 2B")
    gem = write_gguf(root / "gguf_gemma" / "gemma-2-2b-it-Q8_0.gguf", arch, meta, tensors)
    hub.add(CASES["gguf_gemma"], Repo(files={f.name: f for f in gem}))

    # not a whole model
    adapter = {
        "base_model_name_or_path": "meta-llama/Llama-3.2-1B",
        "peft_type": "LORA",
        "r": 16,
        "lora_alpha": 32,
        "target_modules": ["q_proj", "v_proj"],
    }
    lora = root / "lora"
    write_safetensors(
        lora / "adapter_model.safetensors",
        [("base_model.model.layers.0.q_proj.lora_A.weight", "F32", (16, 2048))],
    )
    hub.add(
        CASES["lora"],
        _json_and_file(lora, "adapter_config.json", adapter, "adapter_model.safetensors"),
    )
    ds_dir = root / "dataset"
    (ds_dir).mkdir(parents=True, exist_ok=True)
    (ds_dir / "data.csv").write_text("a,b\n1,2\n")
    hub.add(CASES["dataset"], _json_and_file(ds_dir, "README.md", "x", "data.csv"))

    # access and transport errors
    small = _checkpoint(root / "gated", c1, spec_tensors(l1))
    hub.add(CASES["gated"], Repo(files=small, gated=True))
    hub.add(CASES["rate_limited"], Repo(files=small, rate_limited=True))
    hub.add(CASES["evil_redirect"], Repo(files=small, redirect_to=hub.foreign_origin))

    # bad files
    bad = root / "oversized"
    write_safetensors(bad / "model.safetensors", spec_tensors(l1), length=100 * 1024 * 1024)
    hub.add(CASES["oversized"], _json_and_file(bad, "config.json", c1, "model.safetensors"))
    mal = root / "malformed"
    mal.mkdir(parents=True, exist_ok=True)
    (mal / "model.safetensors").write_bytes((20).to_bytes(8, "little") + b'{"a": {"dtype": "BF1')
    hub.add(CASES["malformed"], _json_and_file(mal, "config.json", c1, "model.safetensors"))
    un = {**c1, "model_type": "fancy_new_arch"}
    hub.add(
        CASES["unsupported"],
        Repo(files={"config.json": _json_file(root / "un" / "config.json", un)}),
    )
    be = root / "bad_gguf"
    be.mkdir(parents=True, exist_ok=True)
    (be / "model-BE.gguf").write_bytes(b"GGUF" + (3).to_bytes(4, "big") + bytes(64))
    hub.add(CASES["bad_gguf"], Repo(files={"model-BE.gguf": be / "model-BE.gguf"}))


def start_fixture(root: Path) -> HubFixture:
    """Build the repos under ``root`` and start the servers."""
    hub = HubFixture()
    build(root, hub)
    return hub.start()
