"""compressed-tensors checkpoints (engine.compressed_tensors): where the config is read, how
modules are matched, and the bytes every compressed linear stores.

References:

* compressed-tensors 0.18.0 (vllm-project/compressed-tensors ac8e2ba): ``utils/match.py``
  (``match_name``: ``re.match``; ``match_targets`` order), ``compressors/pack_quantized``
  (``weight_packed`` int32 ``ceil(in × bits / 32)`` per row, ``weight_shape``, zero points
  packed along dim 0), ``compressors/nvfp4`` / ``mxfp4``, ``lifecycle/initialize.py``
  (scale shapes).
* Kimi K2.5 (moonshotai/Kimi-K2.5): ``quantization_config`` inside ``text_config``,
  propagated to the top by ``KimiK25Config.__init__`` ("Propagate quantization config from
  text model"); the published checkpoint is 595 GB (64 shards).
* The header cross-check writes a safetensors file the way ``safetensors`` lays it out
  (tests/hub/files.py, checked with ``safe_open``) with the tensor names and shapes a
  compressed-tensors checkpoint carries, and reads it back with the engine's Hub header
  reader (``engine.hub.safetensors``), which counts what a file stores.
"""

from __future__ import annotations

import json
from math import ceil
from pathlib import Path

import pytest

from engine import compressed_tensors as ct
from engine import quant
from engine.arch import parse_config
from engine.arch.quantization import find_quantization_config, parse_quantization
from engine.catalog import load_model
from engine.errors import InvalidWorkload, UnknownQuantFormat
from engine.hub import safetensors as st
from tests.hub.files import check_safetensors, write_safetensors

W4A16_G32 = {
    "targets": ["Linear"],
    "weights": {
        "num_bits": 4,
        "type": "int",
        "strategy": "group",
        "group_size": 32,
        "symmetric": True,
        "dynamic": False,
    },
}
KIMI_IGNORE = [
    "lm_head",
    "re:.*self_attn.*",
    "re:.*shared_experts.*",
    "re:.*mlp\\.(gate|up|gate_up|down)_proj.*",
]


def _ct(groups: dict, ignore: list, fmt: str = "pack-quantized") -> dict:
    return {
        "quant_method": "compressed-tensors",
        "format": fmt,
        "config_groups": groups,
        "ignore": ignore,
        "quantization_status": "compressed",
    }


# --------------------------------------------------------------------------- Kimi K2.5


def test_kimi_k25_reads_the_text_config_quantization():
    spec = load_model("kimi-k2.5")
    assert spec.checkpoint_quant == "ct-int4-g32-a16"
    assert spec.checkpoint_scheme is not None
    assert spec.checkpoint_scheme.where == "text_config.quantization_config"
    # routed experts: int32 codes (8 per word), a bf16 scale per 32 inputs, int64[2] shape;
    # attention, shared experts, the dense layer, lm_head, embeddings and the tower: bf16
    expected = 0
    for t in spec.tensors:
        if t.routed and t.kind == "linear":
            o, i = t.shape
            expected += t.experts * (o * i // 8 * 4 + o * (i // 32) * 2 + 2 * 8)
        else:
            expected += t.numel * 2
    got = quant.weights_bytes(spec, "auto")
    assert got == expected == 595_148_653_536  # 554.28 GiB; the Hub repo holds ~595 GB
    assert quant.weights_bytes(spec, "auto", runtime="vllm") == got
    storages = {q.tensor.name: q.storage for q in quant.quantize_tensors(spec, "auto")}
    assert storages["ffn_down_exps"] == "ct-int4-g32-a16"
    assert storages["attn_q_b"] == storages["ffn_up_shexp"] == storages["output"] == "bf16"


def test_top_level_wins_then_text_config_then_compression_config():
    q = _ct({"group_0": W4A16_G32}, ["lm_head"])
    assert find_quantization_config({"text_config": {"quantization_config": q}}) == (
        q,
        "text_config.quantization_config",
    )
    assert find_quantization_config({"compression_config": q})[1] == "compression_config"
    top = {"quant_method": "fp8"}
    assert (
        find_quantization_config(
            {"quantization_config": top, "text_config": {"quantization_config": q}}
        )[0]
        is top
    )
    assert find_quantization_config({"model_type": "llama"}) == (None, "")


# --------------------------------------------------------------------------- matching


def test_match_name_is_re_match_or_exact():
    assert ct.match_name("vision_tower.blocks.0.wqkv", "re:vision_tower.*")
    assert not ct.match_name("model.vision_tower.blocks.0.wqkv", "re:vision_tower.*")
    assert ct.match_name("model.layers.1.mlp.gate", "re:.*mlp.gate$")
    assert not ct.match_name("model.layers.1.mlp.gate_proj", "re:.*mlp.gate$")
    assert ct.match_name("lm_head", "lm_head")
    assert not ct.match_name("language_model.lm_head", "lm_head")


def test_targets_exact_before_regex_before_class_and_later_groups_replace():
    w8 = {
        "targets": ["re:.*down_proj"],
        "weights": {"num_bits": 8, "type": "int", "strategy": "channel"},
    }
    exact = {
        "targets": ["model.layers.0.mlp.down_proj"],
        "weights": {"num_bits": 4, "type": "int", "group_size": 128},
    }
    scheme = ct.parse_scheme(_ct({"a": W4A16_G32, "b": w8, "c": exact}, [], "mixed-precision"))
    match = ct.Matcher(scheme)
    assert match("model.layers.0.mlp.down_proj", "Linear").name == "c"
    assert match("model.layers.1.mlp.down_proj", "Linear").name == "b"
    assert match("model.layers.1.mlp.up_proj", "Linear").name == "a"
    assert match("model.layers.1.mlp.up_proj", "TopkRouter") is None
    same = {"targets": ["Linear"], "weights": {"num_bits": 8, "type": "int"}}
    later = ct.parse_scheme(_ct({"a": W4A16_G32, "z": same}, []))
    assert ct.Matcher(later)("x", "Linear").name == "z"
    ignored = ct.parse_scheme(_ct({"a": W4A16_G32}, ["re:.*up_proj", "Embedding"]))
    assert ct.Matcher(ignored)("model.layers.1.mlp.up_proj", "Linear") is None
    assert ct.Matcher(ignored)("model.embed_tokens", "Embedding") is None


# --------------------------------------------------------------------------- layouts


def _layout(group: dict, fmt: str, o: int = 256, i: int = 512) -> dict:
    scheme = ct.parse_scheme(_ct({"g": group}, [], fmt))
    return {n: (d, s) for n, d, s in ct.stored_tensors(scheme.groups[0], o, i)}


def test_pack_quantized_asymmetric_packs_zero_points_along_the_output_dim():
    group = {
        "targets": ["Linear"],
        "weights": {"num_bits": 4, "type": "int", "group_size": 128, "symmetric": False},
    }
    assert _layout(group, "pack-quantized") == {
        "weight_packed": ("I32", (256, 64)),
        "weight_shape": ("I64", (2,)),
        "weight_scale": ("BF16", (256, 4)),
        "weight_zero_point": ("I32", (32, 4)),
    }
    # 3-bit codes pack densely: ceil(512 * 3 / 32) words per row
    group["weights"]["num_bits"] = 3
    assert _layout(group, "pack-quantized")["weight_packed"] == ("I32", (256, 48))


def test_float_and_fp4_layouts():
    fp8_block = {
        "targets": ["Linear"],
        "weights": {
            "num_bits": 8,
            "type": "float",
            "strategy": "block",
            "block_structure": [128, 128],
        },
        "input_activations": {
            "num_bits": 8,
            "type": "float",
            "strategy": "group",
            "group_size": 128,
            "dynamic": True,
        },
    }
    assert _layout(fp8_block, "float-quantized", 300, 512) == {
        "weight": ("F8_E4M3", (300, 512)),
        "weight_scale": ("BF16", (3, 4)),
    }
    w8a8 = {
        "targets": ["Linear"],
        "weights": {"num_bits": 8, "type": "int", "strategy": "channel"},
        "input_activations": {"num_bits": 8, "type": "int", "strategy": "tensor", "dynamic": False},
    }
    assert _layout(w8a8, "int-quantized") == {
        "weight": ("I8", (256, 512)),
        "weight_scale": ("BF16", (256, 1)),
        "input_scale": ("BF16", (1,)),
    }
    nvfp4 = {
        "targets": ["Linear"],
        "weights": {"num_bits": 4, "type": "float", "strategy": "tensor_group", "group_size": 16},
        "input_activations": {
            "num_bits": 4,
            "type": "float",
            "strategy": "tensor_group",
            "group_size": 16,
            "dynamic": "local",
        },
    }
    assert _layout(nvfp4, "nvfp4-pack-quantized") == {
        "weight_packed": ("U8", (256, 256)),
        "weight_scale": ("F8_E4M3", (256, 32)),
        "weight_global_scale": ("F32", (1,)),
        "input_global_scale": ("F32", (1,)),
    }
    mxfp4 = {
        "targets": ["Linear"],
        "weights": {"num_bits": 4, "type": "float", "group_size": 32, "scale_dtype": "torch.uint8"},
    }
    assert _layout(mxfp4, "mxfp4-pack-quantized") == {
        "weight_packed": ("U8", (256, 256)),
        "weight_scale": ("U8", (256, 16)),
    }
    assert _layout(mxfp4, "mixed-precision") == _layout(mxfp4, "mxfp4-pack-quantized")


# --------------------------------------------------------------------------- header check

TINY = {
    "model_type": "llama",
    "hidden_size": 256,
    "intermediate_size": 512,
    "num_attention_heads": 4,
    "num_key_value_heads": 2,
    "num_hidden_layers": 2,
    "vocab_size": 1024,
    "max_position_embeddings": 2048,
    "torch_dtype": "bfloat16",
    "rms_norm_eps": 1e-5,
    "tie_word_embeddings": False,
}
_LLAMA = {
    "attn_q": "self_attn.q_proj",
    "attn_k": "self_attn.k_proj",
    "attn_v": "self_attn.v_proj",
    "attn_output": "self_attn.o_proj",
    "ffn_gate": "mlp.gate_proj",
    "ffn_up": "mlp.up_proj",
    "ffn_down": "mlp.down_proj",
    "attn_norm": "input_layernorm",
    "ffn_norm": "post_attention_layernorm",
}


def _checkpoint_tensors(spec, quantized) -> list[tuple[str, str, tuple[int, ...]]]:
    """Every tensor a W4A16 asymmetric group-128 checkpoint of ``spec`` holds, with the
    shapes compressed-tensors' PackedQuantizationCompressor writes (independent of the
    engine's layout code)."""
    out = []
    for t in spec.tensors:
        if t.layer is None:
            name = {
                "token_embd": "model.embed_tokens",
                "output": "lm_head",
                "output_norm": "model.norm",
            }[t.name]
        else:
            name = f"model.layers.{t.layer}.{_LLAMA[t.name]}"
        if t.kind == "linear" and quantized(name):
            o, i = t.shape
            out += [
                (f"{name}.weight_packed", "I32", (o, i // 8)),
                (f"{name}.weight_shape", "I64", (2,)),
                (f"{name}.weight_scale", "BF16", (o, ceil(i / 128))),
                (f"{name}.weight_zero_point", "I32", (o // 8, ceil(i / 128))),
            ]
        else:
            out.append((f"{name}.weight", "BF16", t.shape))
    return out


@pytest.mark.parametrize("ignore", [["lm_head"], ["lm_head", "re:.*self_attn.*"]])
def test_estimate_equals_the_safetensors_header(tmp_path: Path, ignore):
    group = {
        "targets": ["Linear"],
        "weights": {"num_bits": 4, "type": "int", "group_size": 128, "symmetric": False},
    }
    config = {**TINY, "quantization_config": _ct({"group_0": group}, ignore)}
    spec = parse_config(config)
    assert spec.checkpoint_quant == "ct-int4asym-g128-a16"

    def quantized(name: str) -> bool:
        return name.startswith("model.layers.") and not (
            "re:.*self_attn.*" in ignore and ".self_attn." in name
        )

    path = tmp_path / "model.safetensors"
    tensors = _checkpoint_tensors(spec, quantized)
    write_safetensors(path, tensors)
    assert len(check_safetensors(path)) == len(tensors)
    data = path.read_bytes()
    header = st.parse_header(data[8 : 8 + st.header_length(data[:8])])
    stored = st.summarize(st.stored_tensors(header, config["quantization_config"]))
    assert quant.weights_bytes(spec, "auto") == stored.weights_bytes
    # the Hub reader unpacks the int32 codes and leaves scales, shapes, zero points out
    assert stored.parameters == spec.total_params


# --------------------------------------------------------------------------- format ids


def test_format_ids_name_the_scheme_and_size_a_generic_checkpoint():
    fmt = quant.get_format("ct-int4-g128-a16")
    assert fmt.family == "compressed-tensors" and float(fmt.bits_per_weight) == 4.125
    assert "pack-quantized" in fmt.label
    spec = load_model("llama-3.1-8b")
    generic = quant.weights_bytes(spec, "ct-int4-g128-a16")
    linears = [t for t in spec.tensors if t.kind == "linear" and t.layer is not None]
    expected = sum(t.numel * 2 for t in spec.tensors) + sum(
        t.shape[0] * t.shape[1] // 8 * 4 + t.shape[0] * t.shape[1] // 128 * 2 + 16 - t.numel * 2
        for t in linears
    )
    assert generic == expected
    assert quant.get_format("ct-fp4-tg16-afp4").label.endswith("(nvfp4-pack-quantized)")
    with pytest.raises(InvalidWorkload, match="several config groups"):
        quant.weights_bytes(spec, "ct-int4-g32-a16+mixed")
    with pytest.raises(UnknownQuantFormat):
        quant.get_format("ct-int9-g32-a16")


def test_unmodelled_compressed_tensors_layouts_say_so_on_auto():
    q = _ct({"group_0": W4A16_G32}, [], "sparse-24-bitmask")
    assert parse_quantization({**TINY, "quantization_config": q}) == "compressed-tensors"
    spec = parse_config({**TINY, "quantization_config": q})
    with pytest.raises(UnknownQuantFormat, match="does not model"):
        quant.weights_bytes(spec, "auto")
    assert quant.weights_bytes(spec, "bf16") == sum(t.numel * 2 for t in spec.tensors)
    kv_only = {
        "quant_method": "compressed-tensors",
        "format": "dense",
        "config_groups": {},
        "kv_cache_scheme": {"num_bits": 8, "type": "float"},
    }
    assert parse_quantization({**TINY, "quantization_config": kv_only}) is None


def test_describe_for_runtimes():
    d = ct.describe(load_model("kimi-k2.5").checkpoint_scheme)
    assert d["groups"][0]["weights"] == {
        "num_bits": 4,
        "type": "int",
        "strategy": "group",
        "group_size": 32,
        "block_structure": None,
        "symmetric": True,
        "actorder_group": False,
    }
    assert d["groups"][0]["format"] == "pack-quantized"


TINY_DSV3 = {
    "model_type": "deepseek_v3",
    "hidden_size": 256,
    "intermediate_size": 512,
    "moe_intermediate_size": 128,
    "n_routed_experts": 4,
    "n_shared_experts": 1,
    "num_experts_per_tok": 2,
    "first_k_dense_replace": 1,
    "num_hidden_layers": 2,
    "num_attention_heads": 4,
    "num_key_value_heads": 4,
    "q_lora_rank": 64,
    "kv_lora_rank": 32,
    "qk_nope_head_dim": 32,
    "qk_rope_head_dim": 16,
    "v_head_dim": 32,
    "vocab_size": 1024,
    "max_position_embeddings": 2048,
    "torch_dtype": "bfloat16",
    "n_group": 1,
    "topk_group": 1,
}
# the module names DeepseekV3ForCausalLM's state dict uses (transformers modeling_deepseek_v3)
_DSV3 = {
    "attn_q_a": "self_attn.q_a_proj",
    "attn_q_a_norm": "self_attn.q_a_layernorm",
    "attn_q_b": "self_attn.q_b_proj",
    "attn_kv_a_mqa": "self_attn.kv_a_proj_with_mqa",
    "attn_kv_a_norm": "self_attn.kv_a_layernorm",
    "attn_kv_b": "self_attn.kv_b_proj",
    "attn_output": "self_attn.o_proj",
    "attn_norm": "input_layernorm",
    "ffn_norm": "post_attention_layernorm",
    "ffn_gate": "mlp.gate_proj",
    "ffn_up": "mlp.up_proj",
    "ffn_down": "mlp.down_proj",
    "ffn_gate_inp": "mlp.gate",
    "ffn_gate_shexp": "mlp.shared_experts.gate_proj",
    "ffn_up_shexp": "mlp.shared_experts.up_proj",
    "ffn_down_shexp": "mlp.shared_experts.down_proj",
}


def test_kimi_style_moe_checkpoint_equals_its_header(tmp_path: Path):
    """Kimi K2's config (routed experts int4 g32; attention, shared experts, the dense
    layer and lm_head ignored) on a small DeepSeek-V3 layout, written as the checkpoint
    names and shapes every expert's modules."""
    config = {
        **TINY_DSV3,
        "quantization_config": _ct({"group_0": W4A16_G32}, KIMI_IGNORE),
    }
    spec = parse_config(config)
    tensors = []
    for t in spec.tensors:
        if t.layer is None:
            name = {"token_embd": "model.embed_tokens", "output": "lm_head"}.get(
                t.name, "model.norm"
            )
            tensors.append((f"{name}.weight", "BF16", t.shape))
        elif t.routed:
            o, i = t.shape
            proj = t.name.split("_")[1]  # ffn_{gate,up,down}_exps
            for e in range(t.experts):
                base = f"model.layers.{t.layer}.mlp.experts.{e}.{proj}_proj"
                tensors += [
                    (f"{base}.weight_packed", "I32", (o, i // 8)),
                    (f"{base}.weight_scale", "BF16", (o, i // 32)),
                    (f"{base}.weight_shape", "I64", (2,)),
                ]
        else:
            tensors.append((f"model.layers.{t.layer}.{_DSV3[t.name]}.weight", "BF16", t.shape))
    path = tmp_path / "model.safetensors"
    write_safetensors(path, tensors)
    assert len(check_safetensors(path)) == len(tensors)
    data = path.read_bytes()
    header = st.parse_header(data[8 : 8 + st.header_length(data[:8])])
    stored = st.summarize(st.stored_tensors(header, config["quantization_config"]))
    assert quant.weights_bytes(spec, "auto") == stored.weights_bytes
    assert stored.parameters == spec.total_params


def test_hub_read_of_a_kimi_k25_layout_uses_the_text_config_scheme():
    """The Hub reader finds the quantization_config in text_config (as transformers' Kimi
    config and vLLM do): stored bytes equal the estimate and parameters match the config."""
    from engine.catalog import load_config
    from engine.hub.resolve import finish_safetensors

    config = json.loads(json.dumps(load_config("kimi-k2.5")))
    config["text_config"].update(
        {k: v for k, v in TINY_DSV3.items() if k not in ("model_type", "torch_dtype")}
    )
    # 8-bit codes: 4 per int32, so the reader must take the bits from text_config's config
    config["text_config"]["quantization_config"]["config_groups"]["group_0"]["weights"][
        "num_bits"
    ] = 8
    spec = parse_config(config)
    assert spec.checkpoint_quant == "ct-int8-g32-a16"
    header = {}
    for t in spec.tensors:
        if t.name.startswith("v.") or t.name.startswith("mm."):
            header[f"vision_tower.{t.name}"] = ("BF16", t.shape)
        elif t.layer is None:
            name = {"token_embd": "model.embed_tokens", "output": "lm_head"}.get(
                t.name, "model.norm"
            )
            header[f"language_model.{name}.weight"] = ("BF16", t.shape)
        elif t.routed:
            o, i = t.shape
            proj = t.name.split("_")[1]
            for e in range(t.experts):
                base = f"language_model.model.layers.{t.layer}.mlp.experts.{e}.{proj}_proj"
                header[f"{base}.weight_packed"] = ("I32", (o, i // 4))
                header[f"{base}.weight_scale"] = ("BF16", (o, i // 32))
                header[f"{base}.weight_shape"] = ("I64", (2,))
        else:
            name = f"language_model.model.layers.{t.layer}.{_DSV3[t.name]}.weight"
            header[name] = ("BF16", t.shape)
    out = finish_safetensors("kimi-tiny", config, {"model.safetensors": header})
    assert out["stored"]["weights_bytes"] == quant.weights_bytes(spec, "auto")
    assert out["check"]["matches"], out["check"]


def test_kimi_k25_current_ignore_list_gives_the_same_bytes():
    """The Hub's config.json now lists ``re:.*lm_head.*``, ``re:vision_tower.*`` and
    ``re:mm_projector.*`` instead of the catalog copy's exact ``lm_head``: same bytes."""
    from engine.catalog import load_config

    config = json.loads(json.dumps(load_config("kimi-k2.5")))
    config["text_config"]["quantization_config"]["ignore"] = [
        "re:.*self_attn.*",
        "re:.*shared_experts.*",
        "re:.*mlp\\.(gate|up|gate_up|down)_proj.*",
        "re:.*lm_head.*",
        "re:vision_tower.*",
        "re:mm_projector.*",
    ]
    assert quant.weights_bytes(parse_config(config), "auto") == 595_148_653_536
