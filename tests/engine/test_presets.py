"""Presets (engine/presets.py, engine/data/presets.json): every one is a valid, runnable request."""

from __future__ import annotations

import pytest

from engine.errors import InvalidWorkload
from engine.presets import get_preset, list_presets
from engine.workload import InferenceWorkload, TrainingWorkload

PRESETS = list_presets()
IDS = [p.id for p in PRESETS]


def test_at_least_twelve_presets_with_unique_ids_and_both_modes():
    assert len(PRESETS) >= 12
    assert len(set(IDS)) == len(IDS)
    assert {p.mode for p in PRESETS} == {"inference", "training"}
    for p in PRESETS:
        assert p.title and p.description
        assert "model" not in p.args  # the model lives in its own field


@pytest.mark.parametrize("preset", PRESETS, ids=IDS)
def test_preset_validates_and_names_real_catalog_entries(preset):
    from engine.catalog import get_entry, list_models
    from engine.gpus import get_gpu

    work = preset.workload()
    assert isinstance(work, InferenceWorkload if preset.mode == "inference" else TrainingWorkload)
    assert preset.model in {m.slug for m in list_models()}, "an exact catalog slug"
    assert get_entry(preset.model).slug == preset.model
    assert work.gpu is not None, "every preset names the GPU it is about"
    get_gpu(work.gpu)  # raises UnknownGpu
    if preset.mode == "inference":
        from engine.quant import get_format

        get_format(work.weights)  # raises UnknownQuantFormat


@pytest.mark.parametrize("preset", PRESETS, ids=IDS)
def test_preset_estimates_through_the_api(preset):
    from engine.api import call

    result = call(preset.op, preset.request())
    assert result["per_gpu_bytes"] > 0
    assert result["total_bytes"] == sum(result["gpu_bytes"])
    assert sum(result["components"].values()) == result["per_gpu_bytes"]
    n = result["request"]["tp"] * result["request"]["pp"]
    if preset.mode == "training":
        n = result["request"]["gpus"]
    assert len(result["gpu_bytes"]) == n


@pytest.mark.parametrize("preset", PRESETS, ids=IDS)
def test_preset_fits_its_gpu(preset):
    # presets are working setups: each fits the GPU it names (vLLM: within its utilisation)
    from engine.api import call
    from engine.gpus import get_gpu
    from engine.verdict import budget_bytes

    work = preset.workload()
    result = call(preset.op, preset.request())
    budget = budget_bytes(get_gpu(work.gpu), work if preset.mode == "inference" else None)
    assert max(result["gpu_bytes"]) <= budget


def test_get_preset_and_unknown_id():
    assert get_preset(IDS[0]) is PRESETS[0]
    with pytest.raises(InvalidWorkload, match=r"unknown preset 'llama-3\.1-8b-rtx-4090'"):
        get_preset("llama-3.1-8b-rtx-4090")


def test_request_is_a_fresh_copy():
    p = PRESETS[0]
    req = p.request()
    req["context"] = 1
    assert p.request()["context"] != 1 or p.args.get("context") == 1
    assert req["model"] == p.model
