"""``vram`` against the local Hub fixture (HF_ENDPOINT pointing at it): exact figures equal
the catalog path, GGUF weights equal the sum of tensor sizes, and every error is one
stderr line with exit 2."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from engine.catalog import list_models
from tests.hub.repos import CASES
from tests.hub.server import GOOD_TOKEN, NO_ACCESS_TOKEN

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture()
def vram(hub_server, tmp_path):
    def run(*args: str, token: str | None = None, offline: bool = False, cache: Path = tmp_path):
        env = {k: v for k, v in os.environ.items() if not k.startswith("HF_")}
        env.update(HF_ENDPOINT=hub_server.endpoint, XDG_CACHE_HOME=str(cache))
        if token:
            env["HF_TOKEN"] = token
        if offline:
            env["HF_HUB_OFFLINE"] = "1"
        proc = subprocess.run(
            [sys.executable, "-m", "engine", *args],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        return proc

    return run


def _json(proc) -> dict:
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def _error(proc) -> str:
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert proc.stdout == ""
    lines = proc.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("vram: error: "), proc.stderr
    return lines[0]


STRIP = ("name", "slug", "hf_repo")


def _same_model(a: dict, b: dict) -> None:
    assert {k: v for k, v in a.items() if k not in STRIP} == {
        k: v for k, v in b.items() if k not in STRIP
    }


@pytest.mark.parametrize("slug", ["qwen3-8b", "deepseek-v3", "gpt-oss-20b", "gemma-3-4b-it"])
def test_params_and_infer_equal_the_catalog(vram, slug):
    hub = _json(vram("params", f"hub-test/{slug}", "--json"))
    cat = _json(vram("params", slug, "--json"))
    hub_info = hub.pop("hub")
    _same_model(hub, cat)
    assert hub["name"] == f"hub-test/{slug}"
    assert hub_info["check"]["matches"], hub_info["check"]
    assert hub_info["format"] == "safetensors"
    args = ("--context", "8192", "--batch", "2")
    a = _json(vram("infer", f"hub-test/{slug}", *args, "--json"))
    b = _json(vram("infer", slug, *args, "--json"))
    a.pop("hub")
    _same_model(a.pop("model"), b.pop("model"))
    assert a == b


def test_every_catalog_model_reads_back_exactly(hub_server):
    """Every catalog config and safetensors header through the plan (in-process)."""
    from engine.hub.plan import HubReader
    from engine.hub.ref import parse_ref
    from engine.hub.transport_urllib import UrllibTransport, drive

    assert hub_server.skipped == {}
    t = UrllibTransport(hub_server.endpoint)
    for entry in list_models():
        r = drive(HubReader(parse_ref(entry.hf_repo), endpoint=hub_server.endpoint), t)
        assert r["check"]["matches"], (entry.slug, r["check"])
        assert r["stored"]["parameters"] == r["check"]["config_parameters"]


def test_stored_bytes_follow_the_scheme(vram):
    fp8 = _json(vram("params", CASES["fp8"], "--json"))["hub"]
    assert set(fp8["stored"]["by_dtype"]) == {"BF16", "F32", "F8_E4M3"}
    assert fp8["check"]["matches"]
    awq = _json(vram("params", CASES["awq"], "--json"))["hub"]
    assert awq["check"]["matches"], awq["check"]
    assert awq["stored"]["by_dtype"]["I32"]["parameters"] > 0
    bnb = _json(vram("params", CASES["bnb4"], "--json"))["hub"]
    assert bnb["check"]["matches"], bnb["check"]
    mx = _json(vram("params", CASES["mxfp4"], "--json"))["hub"]
    assert mx["check"]["matches"], mx["check"]
    assert "U8" in mx["stored"]["by_dtype"]


def test_cross_check_names_mtp_and_vision(vram):
    mtp = _json(vram("params", CASES["mtp"], "--json"))["hub"]["check"]
    assert mtp["difference"] > 0 and "multi-token-prediction" in mtp["reason"]
    vis = _json(vram("params", CASES["vision"], "--json"))["hub"]
    assert "vision tower" in vis["check"]["reason"]
    assert any("text_config" in n for n in vis["notes"])
    text = vram("params", CASES["mtp"])
    assert "note: the checkpoint also stores a multi-token-prediction (MTP) layer" in text.stdout


def test_gguf_weights_are_the_sum_of_tensor_sizes(vram, hub_server):
    import gguf

    out = _json(vram("infer", CASES["gguf_one"], "--json"))
    hub = out["hub"]
    path = hub_server.repos[CASES["gguf_one"]].files["llama-3.2-1b-q4_k_m.gguf"]
    reader = gguf.GGUFReader(path)
    assert hub["stored"]["weights_bytes"] == sum(int(t.n_bytes) for t in reader.tensors)
    assert out["request"]["weights"] == "q4_k_m" and out["request"]["runtime"] == "llamacpp"
    assert out["components"]["weights"] == hub["stored"]["weights_bytes"]
    assert hub["preset"]["tensors_differing"] == 0
    cat = _json(vram("params", "llama-3.2-1b", "--json"))
    assert _json(vram("params", CASES["gguf_one"], "--json"))["total"] == cat["total"]


def test_gguf_split_dynamic_mix_and_file_url(vram, hub_server):
    import gguf

    repo = hub_server.repos[CASES["gguf_split"]]
    first = sorted(repo.files)[0]
    url = f"{hub_server.endpoint}/{CASES['gguf_split']}/blob/main/{first}"
    hub = _json(vram("params", url, "--json"))["hub"]
    total = sum(int(t.n_bytes) for f in repo.files.values() for t in gguf.GGUFReader(f).tensors)
    assert len(repo.files) > 1 and hub["stored"]["weights_bytes"] == total
    assert hub["check"]["matches"]
    assert "Q8_0" in hub["stored"]["by_dtype"]  # the mix no preset predicts is read as stored
    out = _json(vram("infer", url, "--json"))
    assert out["hub"]["preset"]["tensors_differing"] == 3
    text = vram("params", url).stdout
    assert "3 tensors of this file have other types than llama-quantize's q4_k_m" in text


def test_gguf_repo_with_many_files_lists_them(vram):
    line = _error(vram("infer", CASES["gguf_many"]))
    assert "Q4_K_M.gguf" in line and "Q8_0.gguf" in line and "-00001-of-00003.gguf" in line
    chosen = f"{CASES['gguf_many']}/Llama-3.2-1B-Instruct-Q6_K-00001-of-00003.gguf"
    assert _json(vram("infer", chosen, "--json"))["request"]["weights"] == "q6_k"


def test_local_gguf_path(vram, hub_server):
    path = hub_server.repos[CASES["gguf_gemma"]].files["gemma-2-2b-it-Q8_0.gguf"]
    out = _json(vram("infer", str(path), "--json"))
    assert out["request"]["weights"] == "q8_0"
    assert out["model"]["model_type"] == "gemma2"
    assert out["model"]["total"] == _json(vram("params", "gemma-2-2b", "--json"))["total"]


def test_gated_with_token(vram):
    assert "accept its licence at" in _error(vram("params", CASES["gated"]))
    assert "has no access" in _error(vram("params", CASES["gated"], token=NO_ACCESS_TOKEN))
    assert _json(vram("params", CASES["gated"], "--json", token=GOOD_TOKEN))["total"] > 0


def test_token_goes_to_the_hub_not_the_cdn(vram, hub_server):
    hub_server.requests.clear()
    _json(vram("params", CASES["gated"], "--json", token=GOOD_TOKEN))
    hub_reqs = [r for r in hub_server.requests if not r["cdn"]]
    cdn_reqs = [r for r in hub_server.requests if r["cdn"]]
    assert hub_reqs and cdn_reqs
    assert all(r["headers"].get("Authorization") == f"Bearer {GOOD_TOKEN}" for r in hub_reqs)
    assert not any("Authorization" in r["headers"] for r in cdn_reqs)
    assert all(r["headers"].get("Range", "").startswith("bytes=0-") for r in cdn_reqs)


@pytest.mark.parametrize(
    ("name", "words"),
    [
        ("nobody/no-such-model", "no model nobody/no-such-model on"),
        (CASES["rate_limited"], "rate-limiting"),
        (CASES["evil_redirect"], "which is not the Hub"),
        (CASES["oversized"], "the limit is 8,388,608 bytes"),
        (CASES["malformed"], "safetensors header of model.safetensors is malformed"),
        (CASES["unsupported"], "'fancy_new_arch' is not supported; supported model_types:"),
        (CASES["bad_gguf"], "big-endian"),
        (CASES["dataset"], "has no config.json and no GGUF file"),
        (
            CASES["lora"],
            "LoRA adapter, not a whole model: its base model is meta-llama/Llama-3.2-1B",
        ),
        ("hub-test/qwen3-8b@v9.9", "has no revision 'v9.9'"),
        ("hub-test/qwen3-8b/nope.gguf", "has no file nope.gguf"),
        ("https://example.com/a/b", "not on 127.0.0.1"),
        ("https://huggingface.co/datasets/a/b", "the link is to a dataset"),
    ],
)
def test_errors_are_one_line(vram, name, words):
    line = _error(vram("params", name))
    assert words in line, line


def test_revision_and_offline_cache(vram, tmp_path):
    cache = tmp_path / "c"
    assert _error(vram("params", "hub-test/qwen3-8b@v1.0", offline=True, cache=cache))
    line = _error(vram("params", "hub-test/qwen3-8b", offline=True, cache=cache))
    assert "offline with nothing cached" in line
    online = _json(vram("params", "hub-test/qwen3-8b", "--json", cache=cache))
    again = _json(vram("params", "hub-test/qwen3-8b", "--json", offline=True, cache=cache))
    assert online == again


def test_no_network_uses_the_cache(vram, tmp_path, hub_server, monkeypatch):
    """With the endpoint unreachable (no HF_HUB_OFFLINE) the cached answers are used."""
    import urllib.error

    from engine.hub.transport_urllib import lookup

    cache = tmp_path / "c2"
    online = _json(vram("params", "hub-test/qwen3-4b", "--json", cache=cache))
    monkeypatch.setenv("HF_ENDPOINT", hub_server.endpoint)
    monkeypatch.setenv("XDG_CACHE_HOME", str(cache))
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)

    def down(*args, **kwargs):
        raise urllib.error.URLError("network is unreachable")

    monkeypatch.setattr("urllib.request.OpenerDirector.open", down)
    assert lookup("hub-test/qwen3-4b")["stored"] == online["hub"]["stored"]
    with pytest.raises(Exception, match="offline with nothing cached"):
        lookup("hub-test/qwen3-1.7b")


@pytest.mark.parametrize(
    "args",
    [
        ("train", "--method", "lora", "--seq", "1024"),
        ("fit", "--gpu", "rtx-4090"),
        ("fit-train", "--method", "qlora"),
    ],
)
def test_train_and_fit_equal_the_catalog(vram, args):
    command, *rest = args
    a = _json(vram(command, "hub-test/qwen3-0.6b", *rest, "--json"))
    b = _json(vram(command, "qwen3-0.6b", *rest, "--json"))
    a.pop("hub")
    _same_model(a.pop("model"), b.pop("model"))
    assert a == b


def test_gguf_dynamic_mix_estimate_uses_the_files_own_bytes(vram, hub_server):
    """A dynamic mix: the estimate's weights are the file's tensor sizes, exactly, and
    llama.cpp's placement per -ngl puts the file's own bytes on the GPU and the CPU."""
    import re

    import gguf

    repo = hub_server.repos[CASES["gguf_split"]]
    sizes = {
        t.name: int(t.n_bytes) for f in repo.files.values() for t in gguf.GGUFReader(f).tensors
    }
    first = sorted(repo.files)[0]
    url = f"{hub_server.endpoint}/{CASES['gguf_split']}/blob/main/{first}"
    out = _json(vram("infer", url, "--json"))
    assert out["request"]["weights"] == "q4_k_m"  # the preset stays the label
    total = sum(sizes.values())
    assert out["details"]["weights_total_bytes"] == total
    host = out["details"]["host_weights_bytes"]  # token_embd stays in CPU RAM
    assert (out["components"]["weights"], host) == (total - host, sizes["token_embd.weight"])
    assert out["hub"]["preset"]["weights_bytes"] != total

    n_layers = out["model"]["num_layers"]
    ngl = 10  # the last 9 layers and the output layer on the GPU
    layer = re.compile(r"^blk\.(\d+)\.")

    def on_gpu(name: str) -> bool:
        m = layer.match(name)
        return int(m[1]) >= n_layers - (ngl - 1) if m else name != "token_embd.weight"

    part = _json(vram("infer", url, "--n-gpu-layers", str(ngl), "--json"))
    gpu = sum(n for name, n in sizes.items() if on_gpu(name))
    host = sum(n for name, n in sizes.items() if not on_gpu(name))
    assert (part["components"]["weights"], part["details"]["host_weights_bytes"]) == (gpu, host)
    # an explicit other format is llama-quantize's preset again, not the file
    q8 = _json(vram("infer", url, "--weights", "q8_0", "--json"))
    assert q8["details"]["weights_total_bytes"] != total
