"""Figures that explain themselves (issue 15): a total that does not move, and a quantized
format that leaves most weights 16-bit, say why beside the figure."""

from __future__ import annotations

import json

from engine.api import handle
from present.render import panel_html


def _call(op: str, args: dict, lang: str = "en") -> dict:
    reply = json.loads(handle(json.dumps({"v": 1, "id": 1, "op": op, "args": args, "lang": lang})))
    assert reply["ok"], reply
    return reply["result"]


def test_full_fine_tune_says_why_micro_batch_does_not_move_the_total():
    one = _call("train", {"model": "llama-3.1-8b", "batch": 1})
    two = _call("train", {"model": "llama-3.1-8b", "batch": 2})
    assert one["total_bytes"] == two["total_bytes"]  # the case the note explains
    [note] = one["details"]["notes"]
    assert "optimizer step's peak" in note and "micro-batch" in note and "GiB lower" in note
    panel = panel_html(one)
    assert 'data-role="notes"' in panel
    # beside the total: before the component table, not inside the closed assumptions
    assert panel.index('data-role="notes"') < panel.index('class="components"')


def test_no_note_when_activations_set_the_peak():
    lora = _call("train", {"model": "llama-3.1-8b", "method": "lora"})
    assert "notes" not in lora["details"]
    assert 'data-role="notes"' not in panel_html(lora)


def test_mixtral_int8_names_what_stays_16_bit_and_why():
    int8 = _call("infer", {"model": "mixtral-8x7b", "weights": "int8"})
    bf16 = _call("infer", {"model": "mixtral-8x7b", "weights": "bf16"})
    assert int8["components"]["weights"] < bf16["components"]["weights"]
    [warning] = [w for w in int8["warnings"] if "unquantized" in w]
    assert "INT8" in warning and "experts" in warning and "bf16" in warning
    assert "84.49 GiB of 85.74 GiB" in warning


def test_formats_that_quantize_most_weights_say_nothing():
    for args in (
        {"model": "mixtral-8x7b", "weights": "gptq-4bit-g128", "runtime": "vllm"},
        {"model": "llama-3.1-8b", "weights": "int8"},
        {"model": "llama-3.1-8b", "weights": "q4_k_m", "runtime": "llamacpp"},
    ):
        assert not [w for w in _call("infer", args)["warnings"] if "unquantized" in w], args


def test_qlora_on_moe_says_the_experts_stay_16_bit():
    result = _call("train", {"model": "mixtral-8x7b", "method": "qlora"})
    assert any("unquantized" in w and "experts" in w for w in result["warnings"])


def test_the_notes_are_translated():
    zh = _call("train", {"model": "llama-3.1-8b"}, lang="zh")
    assert "优化器步骤的峰值" in zh["details"]["notes"][0]
    mix = _call("infer", {"model": "mixtral-8x7b", "weights": "int8"}, lang="zh")
    assert any("未被量化" in w and "专家" in w for w in mix["warnings"])


def test_a_pasted_config_is_named_from_the_config():
    from engine.api import config_name

    assert config_name({"_name_or_path": "meta-llama/Llama-3.1-8B"}) == "meta-llama/Llama-3.1-8B"
    assert config_name({"_name_or_path": "/home/me/ckpt/my-llama/"}) == "my-llama"
    assert config_name({"architectures": ["MistralForCausalLM"]}) == "MistralForCausalLM"
    assert config_name({"model_type": "qwen2"}) == "qwen2 model"
    assert config_name({}) == "custom model"
    from engine.catalog import load_config

    config = {k: v for k, v in load_config("llama-3.1-8b").items() if k != "_name_or_path"}
    result = _call("infer", {"config": json.dumps(config)})
    assert result["model"]["name"] == "LlamaForCausalLM"


def test_exports_and_schema_show_only_settings_that_apply():
    from engine.form import applicable_request, page_schema
    from present.export import to_markdown

    full = _call("train", {"model": "llama-3.1-8b"})
    assert "lora_rank" in full["request"] and "lora_rank" not in applicable_request(full)
    assert "lora rank" not in to_markdown(full) and "optimizer" in to_markdown(full)
    lora = _call("train", {"model": "llama-3.1-8b", "method": "lora"})
    assert "lora rank" in to_markdown(lora) and "double quant" not in to_markdown(lora)
    infer = _call("infer", {"model": "llama-3.1-8b"})
    md = to_markdown(infer)
    assert "kv dtype" in md and "gpu memory utilization" not in md  # vLLM's only
    applies = page_schema()["applies"]
    assert "kv_dtype" in applies["inference"] and "kv_dtype" not in applies["training"]
    assert applies["training"]["lora_rank"]["methods"] == ["lora", "qlora"]


def test_a_full_fine_tune_that_does_not_fit_is_not_told_to_shrink_the_micro_batch():
    full = _call("train", {"model": "llama-3.1-8b", "gpu": "rtx-4090"})
    [warning] = [w for w in full["warnings"] if "per GPU but" in w]
    assert "optimizer step sets this peak" in warning and "micro-batch" not in warning
    lora = _call("train", {"model": "llama-3.1-70b", "method": "lora", "gpu": "rtx-4090"})
    assert any("smaller micro-batch" in w for w in lora["warnings"])  # activations do count
    zh = _call("train", {"model": "llama-3.1-8b", "gpu": "rtx-4090"}, lang="zh")
    assert any("优化器步骤决定" in w for w in zh["warnings"])
