"""Issue 12: every setting of the CLI has a control in the calculator (engine.form), with
the runtime's default, and a key shared by modes may be runtime-bound only where the mode
chooses a runtime."""

from __future__ import annotations

from dataclasses import replace

import pytest

from engine import form
from engine.form import INFERENCE_FIELDS, TRAINING_FIELDS, Kind, Mode, page_fields


def test_every_cli_setting_has_a_page_control():
    keys = {p.key for p in page_fields()}
    for f in INFERENCE_FIELDS + TRAINING_FIELDS:
        if f.request_only:  # infer's --gpus: the page asks for tp and pp
            continue
        assert f.page and f.url_key in keys, f.name


def test_switches_and_unset_numbers_start_from_the_engine_default():
    page = {p.key: p for p in page_fields()}
    assert page["kv_offload"].kind is Kind.BOOL and page["kv_offload"].default is True
    assert page["chunked_prefill"].default is True and page["double_quant"].default is True
    assert page["enforce_eager"].default is False and page["expandable_segments"].default is False
    assert page["n_gpu_layers"].default is None and page["n_gpu_layers"].auto == "All layers"
    assert page["ubatch"].default == 512 and page["n_batch"].default == 2048
    assert page["max_num_seqs"].auto and page["gpu_memory_utilization"].auto


def test_a_shared_key_is_runtime_bound_only_where_a_runtime_is_chosen():
    seg = {p.key: p for p in page_fields()}["expandable_segments"]
    assert set(seg.modes) == set(Mode) and seg.runtimes == ("transformers",)


def test_a_shared_key_bound_to_other_runtimes_in_inference_is_refused(monkeypatch):
    # two inference rows of one key for different runtimes cannot be one control
    rows = list(INFERENCE_FIELDS)
    seg = next(f for f in rows if f.name == "expandable_segments")
    rows.append(replace(seg, runtimes=("vllm",)))
    monkeypatch.setattr(form, "INFERENCE_FIELDS", tuple(rows))
    with pytest.raises(ValueError, match="other runtimes"):
        page_fields()
