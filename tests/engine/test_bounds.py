"""Bounds on what the engine accepts (issue 13): config text size and nesting are checked
before parsing, every config dimension and workload number has a physical range, and every
hostile input is an ``EngineError`` naming its field — in the CLI one stderr line, exit 2,
well within a second."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.api import call, handle
from engine.arch import parse_config
from engine.arch.fields import ALIASES
from engine.catalog import list_models, load_config
from engine.cli import main
from engine.errors import ConfigError, EngineError
from engine.limits import field_max, json_depth_exceeds, limits, text_limits

ROOT = Path(__file__).resolve().parents[2]

# canonical field -> the HF key the llama-3.1-8b config uses for it
LLAMA_KEYS = {
    "num_layers": "num_hidden_layers",
    "hidden_size": "hidden_size",
    "num_heads": "num_attention_heads",
    "num_kv_heads": "num_key_value_heads",
    "head_dim": "head_dim",
    "intermediate_size": "intermediate_size",
    "vocab_size": "vocab_size",
    "max_position_embeddings": "max_position_embeddings",
}
MOE_KEYS = {"num_experts": "num_local_experts", "experts_per_token": "num_experts_per_tok"}
HOSTILE = [10**8, 10**12, 10**30, 1e308, 2**63, 10**4000]


def _parse(slug: str, key: str, value: object) -> None:
    raw = load_config(slug)
    raw[key] = value
    parse_config(raw)


# ---------------------------------------------------------------- limits data


def test_every_limit_has_a_reason_and_every_field_is_known():
    table = limits()
    assert table["config_text"]["reason"] and table["default_field"]["reason"]
    for name, entry in table["fields"].items():
        assert name in ALIASES, name
        assert entry["max"] >= 1 and entry["reason"], name


def test_every_catalog_model_is_within_the_limits():
    for entry in list_models():
        text = json.dumps(load_config(entry.slug))
        assert not json_depth_exceeds(text, text_limits()[1]), entry.slug
        parse_config(load_config(entry.slug))  # no bound error


# ---------------------------------------------------------------- config dimensions


@pytest.mark.parametrize("value", HOSTILE)
@pytest.mark.parametrize(("name", "key"), sorted(LLAMA_KEYS.items()))
def test_oversized_dimension_names_field_value_and_range(name: str, key: str, value: object):
    with pytest.raises(ConfigError) as err:
        _parse("llama-3.1-8b", key, value)
    assert err.value.field == key
    message = err.value.message
    assert repr(key) in message and f"{field_max(name):,}" in message
    assert len(message) < 400  # a 4,000-digit value is shortened, not printed


@pytest.mark.parametrize(("name", "key"), sorted(MOE_KEYS.items()))
def test_oversized_moe_dimension(name: str, key: str):
    with pytest.raises(ConfigError) as err:
        _parse("mixtral-8x7b", key, field_max(name) + 1)
    assert err.value.field in (key, "num_experts_per_tok")


def test_the_maximum_itself_is_accepted_and_fast():
    raw = load_config("llama-3.1-8b")
    for name, key in LLAMA_KEYS.items():
        raw[key] = field_max(name)
    raw["head_dim"] = field_max("hidden_size") // field_max("num_heads")
    start = time.perf_counter()
    call("fit", {"config": raw, "context": 10 * 1024 * 1024})
    result = call("infer", {"config": raw, "context": 10 * 1024 * 1024, "batch": 65_536})
    assert time.perf_counter() - start < 5
    assert len(str(result["per_gpu_bytes"])) < 30  # a physical figure, not 53 digits


@given(
    key=st.sampled_from(sorted(LLAMA_KEYS.values())),
    value=st.one_of(
        st.integers(min_value=2**27, max_value=10**300),
        st.floats(min_value=2.0**27, allow_infinity=True),
        st.just(float("nan")),
        st.integers(max_value=0),
        st.text(max_size=8),
        st.none(),
        st.booleans(),
        st.lists(st.integers(), max_size=3),
    ),
)
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_property_hostile_dimension_is_a_config_error_with_its_field(key: str, value: object):
    if value is None and key in ("head_dim", "num_key_value_heads"):
        return  # null means "derive it" for these two (transformers does the same)
    with pytest.raises(ConfigError) as err:
        _parse("llama-3.1-8b", key, value)
    assert err.value.field in (key, "num_key_value_heads", "num_attention_heads")


@pytest.mark.parametrize("dtype", ["float7", "int4", "torch.bfloat16", ""])
def test_unknown_dtype_is_an_error_not_silent_16_bit(dtype: str):
    with pytest.raises(ConfigError) as err:
        _parse("llama-3.1-8b", "torch_dtype", dtype)
    assert err.value.field == "torch_dtype" and "bfloat16" in err.value.message


# ---------------------------------------------------------------- config text


def test_deep_nesting_is_refused_before_parsing():
    with pytest.raises(ConfigError) as err:
        call("params", {"config": "[" * 4000})
    assert err.value.field == "config" and "64" in err.value.message


def test_deep_request_is_an_error_reply_not_a_crash():
    for request in (
        json.dumps({"v": 1, "id": 7, "op": "params", "args": {"config": "[" * 4000}}),
        '{"v":1,"id":7,"op":"params","args":{"config":' + "[" * 4000 + "}}",
        "[" * 100_000,
    ):
        reply = json.loads(handle(request))
        assert reply["ok"] is False and reply["error"]["type"] == "config_error"


def test_oversized_text_is_refused():
    text = json.dumps({"model_type": "llama", "pad": "x" * text_limits()[0]})
    with pytest.raises(ConfigError) as err:
        call("params", {"config": text})
    assert err.value.field == "config" and "1,048,576" in err.value.message


def test_huge_integer_literal_is_a_config_error():
    with pytest.raises(ConfigError) as err:
        call("params", {"config": '{"model_type": "llama", "hidden_size": ' + "9" * 5000 + "}"})
    assert err.value.field == "config"


def _depth(value: object) -> int:
    if isinstance(value, dict):
        return 1 + max((_depth(v) for v in value.values()), default=0)
    if isinstance(value, list):
        return 1 + max((_depth(v) for v in value), default=0)
    return 0


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(alphabet='[]{}"\\ab'),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=3), inner),
    max_leaves=30,
)


@given(value=JSON, limit=st.integers(min_value=0, max_value=8))
def test_property_depth_scan_matches_the_real_depth(value: object, limit: int):
    # brackets and quotes inside strings never count (they are escaped or quoted)
    assert json_depth_exceeds(json.dumps(value), limit) == (_depth(value) > limit)


# ---------------------------------------------------------------- workload numbers


@pytest.mark.parametrize(
    ("op", "key", "value"),
    [
        ("infer", "context", 10**4000),
        ("infer", "context", 10**30),
        ("infer", "batch", 10**12),
        ("infer", "context", 1e999),
        ("train", "seq", 10**4000),
        ("train", "batch", -(10**4000)),
    ],
)
def test_hostile_workload_number_names_its_field(op: str, key: str, value: object):
    with pytest.raises(EngineError) as err:
        call(op, {"model": "llama-3.1-8b", key: value})
    assert err.value.field == key and len(err.value.message) < 300


# ---------------------------------------------------------------- the CLI


def _hostile_cli_cases(tmp_path: Path) -> list[list[str]]:
    cases: list[list[str]] = []
    for key, value in (("num_hidden_layers", 10**12), ("hidden_size", 1e308)):
        raw = load_config("llama-3.1-8b")
        raw[key] = value
        path = tmp_path / f"{key}.json"
        path.write_text(json.dumps(raw))
        cases.append(["infer", str(path)])
    deep = tmp_path / "deep.json"
    deep.write_text("[" * 4000)
    big = tmp_path / "big.json"
    big.write_bytes(b" " * (text_limits()[0] + 10) + b"{}")
    cases += [["params", str(deep)], ["params", str(big)]]
    cases.append(["infer", "llama-3.1-8b", "--context", "9" * 4000])
    cases.append(["train", "llama-3.1-8b", "--seq", "9" * 4000])
    return cases


def test_cli_hostile_input_is_one_line_exit_2_within_a_second(tmp_path, capsys):
    for argv in _hostile_cli_cases(tmp_path):
        start = time.perf_counter()
        status = main(argv)
        elapsed = time.perf_counter() - start
        captured = capsys.readouterr()
        assert status == 2, (argv[:2], captured.err)
        assert captured.err.count("\n") == 1 and captured.err.startswith("vram: error: ")
        assert "internal error" not in captured.err
        assert elapsed < 1.0, (argv[:2], elapsed)


def test_cli_hostile_input_in_a_fresh_process(tmp_path):
    deep = tmp_path / "deep.json"
    deep.write_text("[" * 4000)
    start = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "engine", "params", str(deep)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
    )
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1
    assert time.perf_counter() - start < 10  # interpreter start-up included, generous for CI


# ---------------------------------------------------------------- the page's words


def _engine_templates() -> set[str]:
    """Every ``msg()`` template literal in engine/**/*.py."""
    import ast

    import engine

    found: set[str] = set()
    for path in Path(engine.__file__).resolve().parent.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "msg":
                first = node.args[0] if node.args else None
                if isinstance(first, ast.Constant) and isinstance(first.value, str):
                    found.add(first.value)
    return found


def test_every_shell_hint_has_page_wording_and_no_row_is_stale():
    from engine.errors import page_wording

    templates = _engine_templates()
    shell = {t for t in templates if "'vram " in t or "`vram " in t}
    assert shell, "the CLI's own hints exist"
    assert sorted(shell - set(page_wording())) == []  # a new shell hint needs page words
    assert sorted(set(page_wording()) - templates) == []  # a row whose template is gone
    for words in page_wording().values():
        assert "vram " not in words(name="x", hint="", known="", count=1, id="x")


@pytest.mark.parametrize(
    ("op", "args"),
    [
        ("infer", {"model": "llama-3.1-8"}),
        ("infer", {"model": "llama-3.1-8b", "weights": "q9_x"}),
        ("infer", {"model": "llama-3.1-8b", "gpu": "rtx-9999"}),
    ],
)
@pytest.mark.parametrize("lang", ["en", "zh"])
def test_page_errors_never_tell_the_user_to_run_a_shell_command(op, args, lang):
    reply = json.loads(handle(json.dumps({"v": 1, "id": 1, "op": op, "args": args, "lang": lang})))
    assert reply["ok"] is False
    assert "vram " not in reply["error"]["message"], reply["error"]["message"]
    with pytest.raises(EngineError) as err:  # the CLI keeps naming its command
        call(op, args)
    assert "vram " in err.value.message


# ---------------------------------------------------------------- any request


_ANY = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**40), max_value=10**40),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=6),
    st.lists(st.integers(), max_size=2),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
)
_INFER_KEYS = [
    "weights",
    "kv_dtype",
    "context",
    "batch",
    "runtime",
    "gpu",
    "gpus",
    "tp",
    "pp",
    "gpu_memory_utilization",
    "n_gpu_layers",
    "ubatch",
]
_TRAIN_KEYS = [
    "method",
    "seq",
    "batch",
    "precision",
    "optimizer",
    "grad_checkpointing",
    "attention",
    "zero",
    "gpus",
    "tp",
    "pp",
    "offload",
    "lora_rank",
    "lora_alpha",
    "lora_targets",
    "double_quant",
    "sequence_parallel",
]
_CONFIG_KEYS = sorted(
    {
        *LLAMA_KEYS.values(),
        "torch_dtype",
        "tie_word_embeddings",
        "model_type",
        "rope_scaling",
        "quantization_config",
        "sliding_window",
        "layer_types",
    }
)


@given(
    op=st.sampled_from(["infer", "train", "fit", "params"]),
    data=st.data(),
)
@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_property_no_request_is_an_internal_error(op: str, data):
    keys = _TRAIN_KEYS if op == "train" else _INFER_KEYS
    args = (
        data.draw(st.dictionaries(st.sampled_from(keys), _ANY, max_size=3))
        if op != "params"
        else {}
    )
    config = load_config("llama-3.2-1b")
    config.update(data.draw(st.dictionaries(st.sampled_from(_CONFIG_KEYS), _ANY, max_size=2)))
    args["config"] = config
    reply = json.loads(handle(json.dumps({"v": 1, "id": 1, "op": op, "args": args})))
    if not reply["ok"]:
        assert reply["error"]["type"] != "internal", (args, reply["error"]["message"])
