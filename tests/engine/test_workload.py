"""Workload validation: every bad value is named, none is clamped."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from engine.errors import InvalidWorkload
from engine.workload import (
    InferenceWorkload,
    TrainingWorkload,
    inference_from_dict,
    training_from_dict,
)


def test_defaults_round_trip():
    assert inference_from_dict({}) == InferenceWorkload()
    assert training_from_dict({}) == TrainingWorkload()


@pytest.mark.parametrize(
    ("raw", "field", "fragment"),
    [
        ({"context": 0}, "context", "at least 1"),
        ({"context": -5}, "context", "at least 1"),
        ({"context": 10**9}, "context", "at most"),
        ({"context": 1.5}, "context", "whole number"),
        ({"context": "lots"}, "context", "whole number"),
        ({"context": float("nan")}, "context", "finite"),
        ({"batch": True}, "batch", "whole number"),
        ({"runtime": "tgi"}, "runtime", "one of"),
        ({"kv_dtype": "int3"}, "kv_dtype", "one of"),
        ({"gpu_memory_utilization": 1.5}, "gpu_memory_utilization", "fraction"),
        ({"gpu_memory_utilization": 0}, "gpu_memory_utilization", "fraction"),
        ({"contxt": 4}, "contxt", "unknown setting"),
        ({"weights": ""}, "weights", "format name"),
    ],
)
def test_inference_rejects(raw, field, fragment):
    with pytest.raises(InvalidWorkload) as info:
        inference_from_dict(raw)
    assert info.value.field == field
    assert fragment in info.value.message


@pytest.mark.parametrize(
    ("raw", "field"),
    [
        ({"gpus": 6, "tp": 4}, "gpus"),
        ({"zero": 4}, "zero"),
        ({"lora_targets": "q,x"}, "lora_targets"),
        ({"lora_targets": []}, "lora_targets"),
        ({"method": "dora"}, "method"),
        ({"sequence_parallel": "yes"}, "sequence_parallel"),
        ({"seq": 0}, "seq"),
    ],
)
def test_training_rejects(raw, field):
    with pytest.raises(InvalidWorkload) as info:
        training_from_dict(raw)
    assert info.value.field == field


def test_training_parses_targets_and_dp():
    work = training_from_dict({"lora_targets": "q, v,q", "gpus": 8, "tp": 2})
    assert work.lora_targets == ("q", "v")
    assert work.dp == 4


@given(st.integers(min_value=1, max_value=10 * 1024 * 1024), st.integers(1, 65536))
def test_valid_sizes_are_kept_exactly(context, batch):
    work = inference_from_dict({"context": context, "batch": batch})
    assert (work.context, work.batch) == (context, batch)


def test_auto_runtime_follows_the_weight_format():
    from engine.errors import UnknownQuantFormat
    from engine.workload import auto_runtime

    assert auto_runtime("q4_k_m") == auto_runtime("Q4_K_M") == "llamacpp"
    assert auto_runtime("bf16") == auto_runtime("auto") == InferenceWorkload.runtime
    assert auto_runtime(None) == InferenceWorkload.runtime  # the parser names the bad value
    with pytest.raises(UnknownQuantFormat):
        auto_runtime("q4_k_zz")
