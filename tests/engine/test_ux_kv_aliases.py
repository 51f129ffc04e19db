"""--kv-dtype and the page take KV dtypes as llama.cpp and vLLM spell them (issue 15);
every output shows the table's one name."""

from __future__ import annotations

import json

import pytest

from engine import kv
from engine.api import handle
from engine.cli import main
from engine.workload import KV_DTYPES, inference_from_dict

ALIASES = {
    # llama.cpp --cache-type-k/-v
    "f16": "fp16", "f32": "fp32", "bf16": "bf16", "q8_0": "q8_0", "q4_0": "q4_0",
    "q4_1": "q4_1", "q5_0": "q5_0", "q5_1": "q5_1", "iq4_nl": "iq4_nl",
    # vLLM --kv-cache-dtype
    "auto": "auto", "fp8": "fp8", "fp8_e4m3": "fp8", "fp8_e5m2": "fp8", "bfloat16": "bf16",
    # torch dtype names, any case
    "float16": "fp16", "Float32": "fp32", " F16 ": "fp16",
}


@pytest.mark.parametrize(("spelled", "canonical"), ALIASES.items())
def test_runtime_spellings_map_to_one_name(spelled, canonical):
    assert kv.canonical_kv_dtype(spelled) == canonical
    assert inference_from_dict({"kv_dtype": spelled}).kv_dtype == canonical


def test_every_alias_names_a_choice():
    assert set(kv.kv_dtype_aliases().values()) <= set(KV_DTYPES)


def test_llamacpp_cache_types_have_ggml_sizes():
    assert kv.kv_bytes_per_element("q5_0") == kv.kv_bytes_per_element("Q5_0")
    types = ("q8_0", "q5_1", "q5_0", "iq4_nl", "q4_1", "q4_0")
    sizes = {t: kv.kv_bytes_per_element(t) for t in types}
    assert sizes["q8_0"] > sizes["q5_1"] > sizes["q5_0"] > sizes["q4_1"] > sizes["q4_0"]
    assert sizes["iq4_nl"] == sizes["q4_0"]  # 18 bytes per 32, like Q4_0


def test_unknown_dtype_is_still_rejected():
    with pytest.raises(Exception, match="kv_dtype"):
        inference_from_dict({"kv_dtype": "f12"})


def test_cli_accepts_f16_and_prints_the_canonical_name(capsys):
    args = ["infer", "llama-3.1-8b", "--runtime", "llamacpp", "--weights", "q4_k_m"]
    assert main([*args, "--kv-dtype", "f16", "--json"]) == 0
    aliased = json.loads(capsys.readouterr().out)
    assert main([*args, "--kv-dtype", "fp16", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == aliased
    assert "f16" not in json.dumps(aliased).replace("fp16", "")


def _infer(args: dict) -> dict:
    return json.loads(handle(json.dumps({"v": 1, "id": 1, "op": "infer", "args": args})))


def test_vllm_fp8_spellings_through_the_worker_protocol():
    args = {"model": "llama-3.1-8b", "runtime": "vllm", "kv_dtype": "fp8_e4m3"}
    reply, plain = _infer(args), _infer({**args, "kv_dtype": "fp8"})
    assert reply["ok"], reply
    assert reply["result"]["request"]["kv_dtype"] == "fp8"
    assert reply["result"]["total_bytes"] == plain["result"]["total_bytes"]


def test_the_page_schema_carries_the_aliases():
    from engine.form import page_schema

    aliases = page_schema()["aliases"]["kv_dtype"]
    assert aliases["f16"] == "fp16" and aliases["fp8_e5m2"] == "fp8"
