"""The vram command: JSON schema for scripts, one-line errors with exit code 2."""

import json

import pytest

from engine.cli import main


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_params_json_schema(capsys):
    code, out, err = run(capsys, "params", "llama-3.1-8b", "--json")
    assert code == 0, err
    data = json.loads(out)
    # Llama-3.1-8B: 8,030,261,248 parameters (transformers num_parameters, model card "8B")
    assert data["total"] == 8_030_261_248
    assert data["schema"] == 1
    assert len(data["per_layer"]) == 32
    assert data["embedding"] == 128_256 * 4096 and data["lm_head"] == 128_256 * 4096


def test_infer_json_components_are_integers_that_sum(capsys):
    code, out, err = run(
        capsys, "infer", "llama-3.1-8b", "--weights", "bf16", "--context", "8192", "--json"
    )
    assert code == 0, err
    data = json.loads(out)
    assert data["schema"] == 1
    assert all(isinstance(v, int) and v >= 0 for v in data["components"].values())
    assert sum(data["components"].values()) == data["per_gpu_bytes"]
    # KV cache: 32 layers × 8 KV heads × 128 dims × (K+V) × 2 bytes × 8192 tokens = 1 GiB
    assert data["components"]["kv_cache"] >= 2**30


def test_train_json(capsys):
    code, out, err = run(capsys, "train", "llama-3.2-1b", "--method", "lora", "--json")
    assert code == 0, err
    data = json.loads(out)
    assert data["components"]["adapters"] > 0
    # the peak is the start of backward, before any gradient exists: full size in details
    assert data["details"]["sizes"]["gradients"] > 0


def test_config_path(tmp_path, capsys):
    from engine.catalog import load_config

    path = tmp_path / "config.json"
    path.write_text(json.dumps(load_config("llama-3.1-8b")))
    code, out, _ = run(capsys, "params", str(path), "--json")
    assert code == 0 and json.loads(out)["total"] == 8_030_261_248


@pytest.mark.parametrize(
    ("argv", "fragment"),
    [
        (["infer", "llama-3.1-8", "--json"], "Did you mean"),
        (["infer", "llama-3.1-8b", "--context", "0"], "context must be at least 1"),
        (["infer", "llama-3.1-8b", "--context", "-4096"], "context must be at least 1"),
        (["infer", "llama-3.1-8b", "--context", "99999999999"], "context must be at most"),
        (["infer", "llama-3.1-8b", "--batch", "abc"], "invalid int value"),
        (["infer", "llama-3.1-8b", "--weights", "q4_k_z"], "q4_k"),
        (["infer", "llama-3.1-8b", "--gpu", "rtx-4091"], "rtx-4090"),
        (["infer", "no/such/config.json"], "no such config file"),
        (["train", "llama-3.1-8b", "--zero", "5"], "ZeRO"),
        (["train", "llama-3.1-8b", "--method", "dora"], "method must be one of"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(capsys, argv, fragment):
    code, out, err = run(capsys, *argv)
    assert code == 2
    assert out == ""
    assert err.count("\n") == 1 and err.startswith("vram: error:")
    assert fragment in err


def test_malformed_and_unsupported_configs(tmp_path, capsys):
    bad = tmp_path / "bad.json"
    bad.write_text('{"model_type": "llama", ')
    code, _, err = run(capsys, "params", str(bad))
    assert code == 2 and "not valid JSON" in err
    weird = tmp_path / "weird.json"
    weird.write_text('{"model_type": "rwkv7", "hidden_size": 8}')
    code, _, err = run(capsys, "params", str(weird))
    assert code == 2 and "rwkv7" in err and "llama" in err


def test_gguf_weights_pick_llamacpp_and_fit_prints_text(capsys):
    code, out, err = run(capsys, "infer", "llama-3-8b", "--weights", "q4_k_m", "--json")
    assert code == 0, err
    assert json.loads(out)["request"]["runtime"] == "llamacpp"
    code, out, err = run(capsys, "fit", "llama-3.1-8b", "--weights", "q4_k_m", "--gpu", "rtx-4090")
    assert code == 0, err
    assert "GeForce RTX 4090: fits" in out and "largest context" in out


def test_fit_train_reports_fewest_gpus(capsys):
    code, out, err = run(
        capsys, "fit-train", "llama-3.1-8b", "--gpu", "h100-sxm-80gb", "--zero", "3", "--json"
    )
    assert code == 0, err
    data = json.loads(out)
    assert data["mode"] == "training"
    # AdamW amp-bf16 needs ~150 GiB on one GPU: ZeRO-3 over 2 H100s is the fewest
    assert data["gpu"]["fits"] is False and data["gpu"]["fewest_gpus"] == 2


def test_gpus_split_follows_the_runtime(capsys):
    # llama.cpp splits layers across GPUs (pp); transformers/vLLM split tensors (tp)
    code, out, err = run(
        capsys, "infer", "llama-3.1-70b", "--weights", "q4_k_m", "--gpus", "2", "--json"
    )
    assert code == 0, err
    request = json.loads(out)["request"]
    assert (request["runtime"], request["tp"], request["pp"]) == ("llamacpp", 1, 2)
    code, out, err = run(capsys, "infer", "llama-3.1-70b", "--gpus", "4", "--json")
    assert code == 0, err
    assert (json.loads(out)["request"]["tp"], json.loads(out)["request"]["pp"]) == (4, 1)
    code, _, err = run(capsys, "infer", "llama-3.1-8b", "--gpus", "3", "--tp", "2")
    assert code == 2 and "gpus (3) must equal tp × pp" in err


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        ((), {"double_quant": True, "sequence_parallel": False, "grad_checkpointing": "full"}),
        (("--no-double-quant",), {"double_quant": False}),
        (("--sequence-parallel",), {"sequence_parallel": True}),
        (("--grad-checkpointing",), {"grad_checkpointing": "full"}),  # the bare flag
        (("--grad-checkpointing", "selective"), {"grad_checkpointing": "selective"}),
        (("--lora-targets", "q,v"), {"lora_targets": ["q", "v"]}),
    ],
)
def test_options_built_from_the_form_schema_keep_their_meaning(capsys, argv, expected):
    """Switches, the bare --grad-checkpointing and list options (engine.form → argparse)."""
    code, out, err = run(capsys, "train", "llama-3.1-8b", "--method", "qlora", *argv, "--json")
    assert code == 0, err
    request = json.loads(out)["request"]
    assert {k: request[k] for k in expected} == expected


def test_infer_sends_only_the_options_given_for_optional_settings(capsys):
    from engine.cli import _inference_request, build_parser

    ns = build_parser().parse_args(["infer", "llama-3.1-8b", "--gpu", ""])
    request = _inference_request(ns)
    assert not {"gpu", "gpus", "tp", "pp", "n_gpu_layers"} & set(request)
    assert request["runtime"] == "auto" and request["weights"] == "bf16"
