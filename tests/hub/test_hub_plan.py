"""The sans-IO parts: what a user types, the reader plan's requests and the worker's
session interface, driven by hand (no server) and against the fixture."""

from __future__ import annotations

import json
import struct

import pytest

from engine.hub.errors import HubBadFile, HubError
from engine.hub.gguf import NeedMore, parse_gguf_header
from engine.hub.plan import (
    HubReader,
    HubRequest,
    HubResponse,
    download_hosts,
    redirect_allowed,
)
from engine.hub.ref import HubRef, looks_like_hub, parse_ref
from engine.hub.safetensors import header_length, parse_header, stored_tensors, summarize


@pytest.mark.parametrize(
    ("text", "ref"),
    [
        ("Qwen/Qwen3-8B", HubRef("Qwen/Qwen3-8B")),
        ("Qwen/Qwen3-8B@v1.0", HubRef("Qwen/Qwen3-8B", "v1.0")),
        ("https://huggingface.co/Qwen/Qwen3-8B", HubRef("Qwen/Qwen3-8B")),
        ("https://huggingface.co/Qwen/Qwen3-8B/tree/main", HubRef("Qwen/Qwen3-8B")),
        (
            "https://hf.co/a/b-GGUF/blob/main/x-Q4_K_M.gguf",
            HubRef("a/b-GGUF", "main", "x-Q4_K_M.gguf"),
        ),
        (
            "https://huggingface.co/a/b/resolve/abc123/sub/x.gguf?download=true",
            HubRef("a/b", "abc123", "sub/x.gguf"),
        ),
        ("https://huggingface.co/a/b/tree/dev/sub", HubRef("a/b", "dev")),
        ("a/b/x.gguf", HubRef("a/b", "main", "x.gguf")),
        ("a/b@v1/d/x.gguf", HubRef("a/b", "v1", "d/x.gguf")),
        ("a/b@refs/pr/1", HubRef("a/b", "refs/pr/1")),
    ],
)
def test_parse_ref(text, ref):
    assert parse_ref(text) == ref


@pytest.mark.parametrize(
    "text", ["qwen", "a/b--c", "a/../b", "https://evil.example/a/b", "a/b@", "a/b@x..y"]
)
def test_parse_ref_refuses(text):
    with pytest.raises(HubError):
        parse_ref(text)


def test_looks_like_hub():
    assert looks_like_hub("org/name") and looks_like_hub("https://huggingface.co/a/b")
    assert not looks_like_hub("Qwen3 8B") and not looks_like_hub("qwen3-8b")


def test_redirect_hosts():
    ep = "https://huggingface.co"
    assert redirect_allowed(ep, "https://cas-bridge.xethub.hf.co/x")
    assert redirect_allowed(ep, "https://cdn-lfs-us-1.huggingface.co/x")
    assert not redirect_allowed(ep, "https://evil.example/x")
    assert not redirect_allowed(ep, "http://cdn-lfs.huggingface.co/x")  # no downgrade
    assert redirect_allowed("http://127.0.0.1:1", "http://127.0.0.1:2/x")
    assert not redirect_allowed("http://127.0.0.1:1", "http://localhost:2/x")
    assert download_hosts(ep) == (
        "https://huggingface.co",
        "https://*.huggingface.co",
        "https://*.hf.co",
    )


def _st(header: dict) -> bytes:
    text = json.dumps(header).encode()
    return len(text).to_bytes(8, "little") + text


def test_plan_by_hand():
    """Requests and responses written out: info → config → shard header in two reads."""
    r = HubReader(parse_ref("org/m"), endpoint="https://hub.test")
    (info,) = r.pending()
    assert info.url == "https://hub.test/api/models/org/m?blobs=true"
    sha = "a" * 40
    body = {
        "sha": sha,
        "siblings": [
            {"rfilename": "config.json"},
            {"rfilename": "model.safetensors", "size": 10**9},
        ],
    }
    r.feed("info", HubResponse(200, {}, json.dumps(body).encode()))
    (cfg,) = r.pending()
    assert cfg.url == f"https://hub.test/org/m/resolve/{sha}/config.json"
    config = {
        "model_type": "llama",
        "hidden_size": 64,
        "intermediate_size": 128,
        "num_hidden_layers": 1,
        "num_attention_heads": 4,
        "vocab_size": 100,
    }
    r.feed("config", HubResponse(200, {}, json.dumps(config).encode()))
    (shard,) = r.pending()
    assert shard.headers() == {"Range": "bytes=0-65535"}
    names = {
        "model.embed_tokens.weight": [100, 64],
        "model.layers.0.self_attn.q_proj.weight": [64, 64],
        "model.layers.0.self_attn.k_proj.weight": [64, 64],
        "model.layers.0.self_attn.v_proj.weight": [64, 64],
        "model.layers.0.self_attn.o_proj.weight": [64, 64],
        "model.layers.0.mlp.gate_proj.weight": [128, 64],
        "model.layers.0.mlp.up_proj.weight": [128, 64],
        "model.layers.0.mlp.down_proj.weight": [64, 128],
        "model.layers.0.input_layernorm.weight": [64],
        "model.layers.0.post_attention_layernorm.weight": [64],
        "model.norm.weight": [64],
        "lm_head.weight": [100, 64],
    }
    header = {n: {"dtype": "BF16", "shape": s, "data_offsets": [0, 0]} for n, s in names.items()}
    blob = _st({"__metadata__": {"pad": "x" * 70000}, **header})  # longer than the first read
    r.feed(shard.key, HubResponse(206, {}, blob[:65536]))
    (rest,) = r.pending()
    assert rest.headers() == {"Range": f"bytes=65536-{len(blob) - 1}"}
    r.feed(rest.key, HubResponse(206, {}, blob[65536:]))
    assert r.done
    out = r.result()
    assert out["check"]["matches"], out["check"]
    assert out["stored"]["weights_bytes"] == 2 * out["stored"]["parameters"]


@pytest.mark.parametrize(
    ("status", "headers", "kind"),
    [
        (401, {"X-Error-Code": "RepoNotFound"}, "hub_not_found"),
        (401, {"X-Error-Code": "GatedRepo"}, "hub_gated"),
        (403, {}, "hub_gated"),
        (404, {"X-Error-Code": "RevisionNotFound"}, "hub_not_found"),
        (429, {"Retry-After": "7"}, "hub_rate_limited"),
        (302, {}, "hub_bad_file"),
        (500, {}, "hub_error"),
    ],
)
def test_status_errors(status, headers, kind):
    r = HubReader(parse_ref("org/m"))
    with pytest.raises(HubError) as exc:
        r.feed("info", HubResponse(status, headers, b"{}"))
    assert exc.value.type_name == kind and exc.value.field == "model"


def test_safetensors_bounds_and_packing():
    with pytest.raises(HubBadFile, match="limit"):
        header_length((10**9).to_bytes(8, "little"), file="x")
    with pytest.raises(HubBadFile, match="unknown dtype"):
        parse_header(b'{"a": {"dtype": "Q9", "shape": [1]}}', file="x")
    h = parse_header(
        json.dumps(
            {
                "l.qweight": {"dtype": "I32", "shape": [4096, 512]},
                "l.scales": {"dtype": "F16", "shape": [32, 4096]},
                "l.qzeros": {"dtype": "I32", "shape": [32, 512]},
                "e.down_proj_blocks": {"dtype": "U8", "shape": [4, 2880, 90, 16]},
                "e.down_proj_scales": {"dtype": "U8", "shape": [4, 2880, 90]},
                "w.weight": {"dtype": "F8_E4M3", "shape": [256, 256]},
                "w.weight_scale_inv": {"dtype": "F32", "shape": [2, 2]},
            }
        ).encode()
    )
    s = summarize(stored_tensors(h, {"quant_method": "awq", "bits": 4}))
    assert s.parameters == 4096 * 4096 + 4 * 2880 * 2880 + 256 * 256
    assert s.weights_bytes == (
        4096 * 512 * 4 + 32 * 4096 * 2 + 32 * 512 * 4 + 4 * 2880 * 90 * 17 + 256 * 256 + 16
    )


def _gguf(version: int = 3) -> bytes:
    def s(x: str) -> bytes:
        return struct.pack("<Q", len(x)) + x.encode()

    kv = s("general.architecture") + struct.pack("<I", 8) + s("llama")
    ti = s("blk.0.attn_q.weight") + struct.pack("<IQQIQ", 2, 256, 4, 12, 0)  # Q4_K 256x4
    return b"GGUF" + struct.pack("<IQQ", version, 1, 1) + kv + ti


def test_gguf_header_reader():
    h = parse_gguf_header(_gguf())
    assert h.architecture == "llama"
    assert h.tensors[0].type_name == "Q4_K" and h.weights_bytes() == 4 * 144
    with pytest.raises(NeedMore):
        parse_gguf_header(_gguf()[:40])
    with pytest.raises(HubBadFile, match="version 7"):
        parse_gguf_header(_gguf(7))
    with pytest.raises(HubBadFile, match="not a GGUF"):
        parse_gguf_header(b"GGML" + bytes(20))


def test_worker_session_against_the_fixture(hub_server):
    """The worker's interface, driven as site/worker.js would (here with urllib)."""
    import urllib.request

    from engine.hub.session import hub_feed, hub_start

    def run(text: str) -> dict:
        args = {"input": text, "endpoint": hub_server.endpoint, "token": False}
        reply = json.loads(hub_start(json.dumps(args)))
        while reply["ok"] and not reply["done"]:
            sid = reply["session"]
            for req in reply["requests"]:
                try:
                    with urllib.request.urlopen(
                        urllib.request.Request(req["url"], headers=req["headers"])
                    ) as fh:
                        status, headers, body, url = fh.status, dict(fh.headers), fh.read(), fh.url
                except urllib.error.HTTPError as exc:
                    status, headers, body, url = exc.code, dict(exc.headers), exc.read(), req["url"]
                reply = json.loads(
                    hub_feed(sid, req["key"], status, json.dumps(headers), body, url)
                )
                if not reply["ok"] or reply["done"]:
                    break
        return reply

    ok = run("hub-test/Qwen2.5-7B-Instruct-AWQ")
    assert ok["done"] and ok["result"]["check"]["matches"]
    assert ok["result"]["config"]["quantization_config"]["quant_method"] == "awq"
    choose = run("hub-test/Llama-3.2-1B-Instruct-GGUF")["result"]
    assert choose["kind"] == "choose" and len(choose["gguf_files"]) == 3
    gated = run("hub-test/Llama-3.2-1B-gated")
    assert not gated["ok"] and gated["error"]["type"] == "hub_gated"
    assert gated["error"]["field"] == "model"
    lora = run("hub-test/llama-3.2-1b-lora")
    assert lora["error"]["base_model"] == "meta-llama/Llama-3.2-1B"


def test_cors_headers(hub_server):
    import urllib.request

    req = urllib.request.Request(
        f"{hub_server.endpoint}/hub-test/qwen3-8b/resolve/main/config.json",
        method="OPTIONS",
        headers={
            "Origin": "http://localhost:8000",
            "Access-Control-Request-Headers": "range,authorization",
        },
    )
    with urllib.request.urlopen(req) as fh:
        assert fh.status == 204
        assert fh.headers["Access-Control-Allow-Origin"] == "http://localhost:8000"
        assert "authorization" in fh.headers["Access-Control-Allow-Headers"]
    get = urllib.request.Request(
        f"{hub_server.endpoint}/hub-test/qwen3-8b/resolve/main/config.json",
        headers={"Range": "bytes=0-9"},
    )
    with urllib.request.urlopen(get) as fh:
        assert fh.status == 206 and fh.headers["Content-Range"].startswith("bytes 0-9/")
        assert "Content-Range" in fh.headers["Access-Control-Expose-Headers"]
        assert fh.headers["X-Repo-Commit"] and fh.headers["ETag"]


def test_fixture_safetensors_open_with_the_library(hub_server):
    from tests.hub.files import check_safetensors
    from tests.hub.repos import CASES

    for case in ("fp8", "awq", "mxfp4"):
        files = hub_server.repos[CASES[case]].files
        for name, path in files.items():
            if name.endswith(".safetensors"):
                assert check_safetensors(path)


def test_a_server_that_ignores_range():
    """200 with the whole file to every Range request: the plan keeps the file's start."""
    r = HubReader(parse_ref("org/m/x.gguf"))
    body = {"sha": "b" * 40, "siblings": [{"rfilename": "x.gguf", "size": 10**6}]}
    r.feed("info", HubResponse(200, {}, json.dumps(body).encode()))
    (req,) = r.pending()
    blob = _gguf() + bytes(10**6 - len(_gguf()))
    with pytest.raises(HubBadFile, match="no vocabulary size"):  # parsed: the toy has none
        r.feed(req.key, HubResponse(200, {}, blob))
    assert r.pending() == []


def test_a_file_that_ends_inside_its_header():
    r = HubReader(parse_ref("org/m/x.gguf"))
    body = {"sha": "b" * 40, "siblings": [{"rfilename": "x.gguf"}]}
    r.feed("info", HubResponse(200, {}, json.dumps(body).encode()))
    (req,) = r.pending()
    with pytest.raises(HubBadFile, match="truncated"):
        r.feed(req.key, HubResponse(200, {}, _gguf()[:30]))


def test_the_worker_side_imports_no_network_module():
    """engine.hub.session (what the worker imports) pulls in no urllib.request or socket."""
    import subprocess
    import sys

    code = (
        "import sys, engine.api, engine.hub.session, engine.hub.resolve; "
        "print(sorted(m for m in ('urllib.request', 'socket', 'http.client') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_pyodide_with_fetch_gives_the_cpython_result(hub_server, tmp_path):
    """The same session interface in Pyodide under Node, bytes fetched with fetch (as the
    worker does), gives the same results as CPython with urllib."""
    import shutil
    import subprocess
    from pathlib import Path

    from engine import __version__
    from engine.hub.session import hub_feed, hub_start
    from engine.hub.transport_urllib import UrllibTransport
    from sitegen.wheel import build_wheel

    node = shutil.which("node")
    root = Path(__file__).resolve().parents[2]
    # ./dev test always runs npm ci, so a missing runtime is a broken set-up, not a skip
    assert node is not None, "node is missing (Node >= 20 is a prerequisite)"
    assert (root / "node_modules" / "pyodide" / "pyodide.mjs").is_file(), "run npm ci"
    name, data = build_wheel(version=__version__)
    wheel = tmp_path / name
    wheel.write_bytes(data)
    inputs = [
        "hub-test/Qwen3-8B-FP8",
        "hub-test/Llama-3.2-1B-Q4_K_M-GGUF",
        "hub-test/Llama-3.2-1B-gated",
        "hub-test/Llama-3.2-1B-Instruct-GGUF",
    ]
    out = subprocess.run(
        [
            node,
            str(Path(__file__).with_name("run_hub_pyodide.mjs")),
            str(wheel),
            hub_server.endpoint,
            *inputs,
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        cwd=root,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    got = json.loads(out.stdout)
    transport = UrllibTransport(hub_server.endpoint)
    for text, reply in zip(inputs, got, strict=True):
        want = json.loads(hub_start(json.dumps({"input": text, "endpoint": hub_server.endpoint})))
        while want["ok"] and not want["done"]:
            for req in want["requests"]:
                h = req["headers"].get("Range", "")
                start, end = (int(x) for x in h[6:].split("-")) if h else (None, None)
                r = transport(HubRequest(req["key"], req["url"], start, end, req["max_bytes"]))
                want = json.loads(
                    hub_feed(
                        want["session"], req["key"], r.status, json.dumps(r.headers), r.body, r.url
                    )
                )
                if not want["ok"] or want["done"]:
                    break
        for r in (reply, want):
            r.pop("session", None)
            if r.get("result"):
                r["result"].pop("read", None)  # header names differ in case between clients
        assert reply == want, text
