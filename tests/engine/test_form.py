"""The form schema (engine.form): one description of every setting, which the workload
dataclasses, the CLI's options and the page's JSON all agree with."""

import argparse
import json
from dataclasses import fields

import pytest

from engine import workload
from engine.api import call
from engine.cli import build_parser
from engine.form import (
    INFERENCE_FIELDS,
    MODE_ALIASES,
    PAGE_KEYS,
    TRAINING_FIELDS,
    Kind,
    Mode,
    page_fields,
    page_schema,
    page_schema_json,
    parse_mode,
)
from engine.workload import InferenceWorkload, TrainingWorkload

SCHEMAS = [(InferenceWorkload, INFERENCE_FIELDS), (TrainingWorkload, TRAINING_FIELDS)]
CHOICES = {
    "kv_dtype": workload.KV_DTYPES,
    "runtime": workload.RUNTIMES,
    "method": workload.METHODS,
    "precision": workload.PRECISIONS,
    "optimizer": workload.OPTIMIZERS,
    "grad_checkpointing": workload.RECOMPUTE,
    "attention": workload.ATTENTION,
    "offload": workload.OFFLOAD,
    "lora_targets": workload.LORA_TARGETS,
}


@pytest.mark.parametrize(("cls", "schema"), SCHEMAS)
def test_every_workload_field_is_in_the_schema_once(cls, schema):
    names = [f.name for f in schema if not f.request_only]
    assert sorted(names) == sorted(f.name for f in fields(cls))
    assert len(names) == len(set(names))


@pytest.mark.parametrize(("cls", "schema"), SCHEMAS)
def test_defaults_are_the_workload_defaults(cls, schema):
    engine_defaults = cls()
    for f in schema:
        if not f.request_only:
            assert f.default == getattr(engine_defaults, f.name), f.name


@pytest.mark.parametrize(("cls", "schema"), SCHEMAS)
def test_choices_and_bounds_are_what_the_parser_accepts(cls, schema):
    parse = (
        workload.inference_from_dict if cls is InferenceWorkload else workload.training_from_dict
    )
    for f in schema:
        if f.name in CHOICES:
            assert f.choice_values == CHOICES[f.name]
        if f.kind is Kind.INT and not f.request_only:
            assert (f.minimum, f.maximum) == workload.INT_RANGES[f.name]
            for bad in (f.minimum - 1, f.maximum + 1):
                with pytest.raises(workload.InvalidWorkload) as err:
                    parse({f.name: bad})
                assert err.value.field == f.name


def test_every_other_start_value_says_why():
    for f in INFERENCE_FIELDS + TRAINING_FIELDS:
        for other in (f.page_default, f.cli_default):
            if other is not None:
                assert other.value != f.default and other.reason, f.name
    page = {p.key: p for p in page_fields()}
    # the page's training defaults, deliberately not the engine's
    assert page["method"].default == "lora" and "LoRA" in page["method"].reason
    assert page["optimizer"].default == page["grad_checkpointing"].default == "auto"


def _options(parser: argparse.ArgumentParser, command: str) -> dict[str, argparse.Action]:
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return {a.option_strings[-1]: a for a in sub.choices[command]._actions if a.option_strings}


@pytest.mark.parametrize(
    ("command", "schema"),
    [
        ("infer", INFERENCE_FIELDS),
        ("fit", INFERENCE_FIELDS),
        ("train", TRAINING_FIELDS),
        ("fit-train", TRAINING_FIELDS),
    ],
)
def test_cli_options_are_the_schema(command, schema):
    options = _options(build_parser(), command)
    # --help, --json and fit's --top shape the output; every other option is a field
    assert set(options) - {"--help", "--json", "--top"} == {f.flag for f in schema}
    for f in schema:
        action = options[f.flag]
        assert action.dest == f.name and action.help == f.help
        if f.kind is Kind.BOOL:
            assert action.default is f.default
        elif f.kind is Kind.LIST:
            assert action.default == ",".join(f.cli_value)
        else:
            assert action.default == f.cli_value
            assert action.type is {Kind.INT: int, Kind.FLOAT: float}.get(f.kind)


def test_page_fields_follow_the_link_order_and_merge_shared_keys():
    page = page_fields()
    assert tuple(p.key for p in page) == PAGE_KEYS
    by_key = {p.key: p for p in page}
    assert set(by_key["tp"].modes) == set(Mode)
    assert by_key["tbatch"].name == "batch" and by_key["batch"].modes == (Mode.INFER,)
    assert by_key["gpu_memory_utilization"].runtimes == ("vllm",)
    assert by_key["lora_rank"].methods == ("lora", "qlora")


def test_page_schema_is_json_with_the_runtime_auto_picks():
    schema = json.loads(page_schema_json())
    assert schema == json.loads(json.dumps(page_schema()))
    assert schema["runtime_for_weights"]["q4_k_m"] == "llamacpp"
    assert schema["runtime_for_weights"]["bf16"] == "transformers"
    assert [m["id"] for m in schema["modes"]] == ["infer", "train", "finetune"]
    fields_by_key = {f["key"]: f for f in schema["fields"]}
    assert fields_by_key["lora_targets"]["default"] == list(workload.LORA_TARGETS)


def test_the_engine_auto_runtime_is_the_page_one():
    picks = page_schema()["runtime_for_weights"]
    for weights in ("q4_k_m", "bf16", "q8_0", "nf4"):
        result = call("infer", {"model": "llama-3.1-8b", "weights": weights})
        assert result["request"]["runtime"] == picks[weights]


def test_mode_words():
    assert [m.op for m in Mode] == ["infer", "train", "train"]
    assert call("infer", {"model": "llama-3.1-8b"})["mode"] == Mode.INFER.result
    assert call("train", {"model": "llama-3.1-8b"})["mode"] == Mode.TRAIN.result
    assert Mode.TRAIN.fixed == {"method": "full"}
    for word, mode in MODE_ALIASES.items():
        assert parse_mode(word) is mode
    assert parse_mode("infer") is Mode.INFER
    assert parse_mode("FineTune") is Mode.FINETUNE
    assert parse_mode("train", "lora") is Mode.FINETUNE  # links from before fine-tuning mode
    assert parse_mode("train", "full") is Mode.TRAIN
    assert parse_mode("bogus") is Mode.INFER


def test_the_auto_runtime_is_the_first_runtime_that_loads_the_format():
    """The form switches to a format's first runtime when the current one cannot load it;
    a link without a runtime gets auto_runtime: the two rules must agree."""
    from engine.quant import list_formats

    for fmt in list_formats():
        assert workload.auto_runtime(fmt.id) == fmt.runtimes[0], fmt.id
