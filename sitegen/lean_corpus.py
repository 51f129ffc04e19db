"""The requests the lean wasm is cut to: what the page can ask the worker, broadly.

sitegen/lean_wasm.py runs them through the engine inside an instrumented runtime and keeps
only the wasm functions they reach (scripts/pyodide_lean.mjs). A request outside what this
corpus exercised still gets its answer: the worker restarts on the full wasm
(site/worker.js), a second or two once. So the corpus aims wide, not deep: every op, every
form field's choices and edges, every catalog model, pasted configs (well-formed, broken,
non-ASCII), both languages, exports, and the bad requests an old page or a hand-edited link
can send.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from engine.api import call
from engine.catalog import list_models, load_config
from engine.form import INFERENCE_FIELDS, TRAINING_FIELDS, Field, Kind
from engine.formats import list_formats
from engine.gpus import list_gpus
from engine.workload import METHODS, RUNTIMES

CORPUS_SCHEMA = 1
MODEL_SAMPLE = 200  # models at most that the per-model requests are made for (122 in the catalog)
LANGS = (None, "zh", "zh-CN", "en", "xx-🙂")
EXPORT_KINDS = ("json", "csv", "markdown")
# strings no form writes but a link or a pasted config can carry: ASCII, CJK, astral
ODD_TEXT = ("", " ", "x" * 300, "名字", "模型🚀", "\u00e9\u0301", "a\u0000b", "\ud7ff", "🙂" * 40)
ODD_NUMBERS = (
    0,
    -1,
    1.5,
    10**30,
    -(10**30),
    1e308,
    -1e-308,
    "12",
    "1e3",
    "abc",
    None,
    True,
    [],
    {},
)
JUNK_CONFIGS: tuple[Any, ...] = (
    {},
    [],
    "",
    "{",
    '{"model_type": "llama", "hidden_size": }',
    "not json at all 模型",
    '{"model_type": "\\ud83d\\ude00"}',
    {"model_type": "😀"},
    {"model_type": "llama"},
    {"model_type": "llama", "hidden_size": "x", "num_hidden_layers": 2},
    {"model_type": "llama", "hidden_size": 10**30, "num_attention_heads": 3},
    {"model_type": "llama", "hidden_size": -64, "num_attention_heads": 4},
    {"model_type": "llama", "hidden_size": 64.5, "num_attention_heads": 4},
    {"model_type": "mistral", "_name_or_path": "名字/模型🚀", "hidden_size": 64},
    {"model_type": "gpt2", "n_embd": 64, "n_layer": 2, "n_head": 4, "vocab_size": 100},
    {"architectures": ["LlamaForCausalLM"], "hidden_size": 64},
    {"model_type": "llama", "nested": {"a": [1, 2, {"b": None}]}, "hidden_size": [64]},
)


def _field_values(field: Field) -> Iterator[Any]:
    """Each choice, the edges of a range, and values a form never sends."""
    yield field.default
    yield from (c.value for c in field.choices)
    if field.kind in (Kind.INT, Kind.FLOAT):
        for bound in (field.minimum, field.maximum):
            if bound is not None:
                yield bound
                yield bound - 1 if field.kind is Kind.INT else bound * 0.5
                yield bound + 1 if field.kind is Kind.INT else bound * 2
    elif field.kind is Kind.BOOL:
        yield from (True, False, "yes")
    elif field.kind is Kind.LIST:
        yield ",".join(c.value for c in field.choices)
        yield [c.value for c in field.choices[:2]]
    yield from ODD_NUMBERS[:8]
    yield from ODD_TEXT[:5]
    if isinstance(field.default, str) and field.default:  # a typo: "did you mean ..."
        yield field.default[:-1] + "x"
        yield field.default + "9"


def _model_requests(slug: str) -> Iterator[tuple[str, dict[str, Any]]]:
    yield "params", {"model": slug}
    yield "infer", {"model": slug}
    yield "infer", {"model": slug, "weights": "q4_k_m", "runtime": "llamacpp", "context": 32768}
    yield "infer", {"model": slug, "weights": "fp8", "runtime": "vllm", "batch": 8}
    for runtime in RUNTIMES:  # with a GPU, as the page asks (the runtime sizes its budget)
        for gpu in ("rtx-4090", "h100-sxm-80gb"):
            yield "infer", {"model": slug, "runtime": runtime, "gpu": gpu, "context": 40960}
    for method in METHODS:
        yield "train", {"model": slug, "method": method}
        yield "train", {"model": slug, "method": method, "gpu": "rtx-4090", "batch": 4}


def _page_args(fields: tuple[Field, ...], **fixed: Any) -> dict[str, Any]:
    """Every field the form has for ``fixed`` (its runtime or method) at its default, as the
    page sends a request."""
    runtime, method = fixed.get("runtime"), fixed.get("method")
    args = {
        f.name: f.default
        for f in fields
        if f.page
        and f.default is not None
        and not (f.runtimes and runtime not in f.runtimes)
        and not (f.methods and method not in f.methods)
    }
    return {**args, **fixed}


def presets() -> list[dict[str, Any]]:
    return list(call("presets"))


def corpus(default_model: str) -> list[dict[str, Any]]:
    """The protocol requests, numbered, and marks for the export pass (``export: true``)."""
    out: list[tuple[str, dict[str, Any], str | None]] = []
    for op in ("version", "models", "gpus", "formats", "presets", "no_such_op"):
        out.append((op, {}, None))
    every = [entry.slug for entry in list_models()]
    # the architectures matter, not how many models: a large catalog is sampled evenly (so
    # its build does not run thousands of requests more)
    slugs = every[:: max(1, -(-len(every) // MODEL_SAMPLE))]
    if default_model in every and default_model not in slugs:
        slugs.append(default_model)
    for slug in slugs:
        out += [(op, args, None) for op, args in _model_requests(slug)]
    for slug in slugs[:: max(1, len(slugs) // 6)]:
        out.append(("fit", {"model": slug, "weights": "q4_k_m", "runtime": "llamacpp"}, None))
        out.append(("fit", {"model": slug, "mode": "training", "method": "qlora"}, None))
    base = {"model": default_model}
    for runtime in RUNTIMES:
        on = {**base, "runtime": runtime, "gpu": "rtx-4090"}
        for field in INFERENCE_FIELDS:
            if field.runtimes and runtime not in field.runtimes:
                continue
            out += [("infer", {**on, field.name: v}, None) for v in _field_values(field)]
    for slug in slugs[:: max(1, len(slugs) // 4)]:  # whole forms, as the page sends them
        for runtime in RUNTIMES:
            weights = {"llamacpp": "q4_k_m", "vllm": "fp8"}.get(runtime, "bf16")
            args = _page_args(
                INFERENCE_FIELDS, model=slug, runtime=runtime, gpu="rtx-4090", weights=weights
            )
            out += [("infer", args, None), ("fit", {**args, "mode": "inference"}, None)]
        for method in METHODS:
            args = _page_args(TRAINING_FIELDS, model=slug, method=method, gpu="rtx-4090")
            out += [("train", args, None), ("fit", {**args, "mode": "training"}, None)]
    for preset in presets():  # each preset as the page sends it
        op = "infer" if preset["mode"] == "inference" else "train"
        out.append((op, {"model": preset["model"], **preset["args"]}, None))
    for method in METHODS:
        for field in TRAINING_FIELDS:
            args = {**base, "method": method}
            out += [("train", {**args, field.name: v}, None) for v in _field_values(field)]
    for fmt in (f.id for f in list_formats()):
        for runtime in RUNTIMES:
            out.append(("infer", {**base, "weights": fmt, "runtime": runtime}, None))
    for gpu in list_gpus():
        out.append(("infer", {**base, "gpu": gpu.slug, "context": 131072}, None))
    for slug in slugs:  # a pasted config: the dict, and the text the page sends
        config = load_config(slug)
        out.append(("infer", {"config": config}, None))
        out.append(("train", {"config": json.dumps(config), "method": "lora"}, None))
    for junk in JUNK_CONFIGS:
        out += [("infer", {"config": junk}, None), ("infer", {"config": json.dumps(junk)}, None)]
    for slug in slugs[::5]:  # typos of names: the suggestions
        out += [("infer", {"model": slug[:-1]}, None), ("infer", {"model": slug + "x"}, None)]
    for typo in ("q9_x", "q4_k", "bf61", "fp88", "awq", "rtx-409", "h100", "a100-80"):
        out += [("infer", {**base, "weights": typo}, None), ("infer", {**base, "gpu": typo}, None)]
    for text in ODD_TEXT:
        out += [("infer", {"model": text}, None), ("infer", {**base, "gpu": text}, None)]
        out.append(("infer", {**base, "weights": text}, None))
    for lang in LANGS:
        for op, args in _model_requests(default_model):
            out.append((op, args, lang))
        out.append(("infer", {**base, "context": 0}, lang))
        out.append(("infer", {"config": {"model_type": "😀"}}, lang))
        out.append(("fit", {**base, "weights": "q4_k_m"}, lang))
    requests: list[dict[str, Any]] = []
    for i, (op, args, lang) in enumerate(out, start=1):
        req: dict[str, Any] = {"v": 1, "id": i, "op": op, "args": args}
        if lang is not None:
            req["lang"] = lang
        requests.append(req)
    # malformed requests: an old page, a hand-made message
    requests += [
        {"v": 1, "id": len(requests) + 1, "op": "infer", "args": "not a dict"},
        {"v": 99, "id": len(requests) + 2, "op": "infer", "args": {}},
        {"id": "x", "op": None},
    ]
    return requests


def document(default_model: str, preload: tuple[str, ...], self_test: dict[str, Any]) -> str:
    """The corpus as scripts/pyodide_lean.mjs reads it: the worker's start-up (its preloads
    and self-test) and then the requests; every third reply with a result is exported."""
    return json.dumps(
        {
            "schema": CORPUS_SCHEMA,
            "preload": list(preload),
            "self_test": self_test,
            "requests": corpus(default_model),
            "export_kinds": list(EXPORT_KINDS),
        },
        ensure_ascii=False,
    )
