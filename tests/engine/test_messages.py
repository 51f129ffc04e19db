"""Engine messages in Chinese: the zh catalog covers every template, keeps its placeholders,
and ``handle`` answers a request with ``"lang": "zh"`` in Chinese (English otherwise)."""

from __future__ import annotations

import ast
import copy
import json
import pickle
import re
import string
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import engine
from engine import errors
from engine.api import handle
from engine.messages import (
    LANGS,
    Message,
    load_catalog,
    localize,
    msg,
    normalize_lang,
    render,
    translator,
)

ENGINE = Path(engine.__file__).resolve().parent
CJK = re.compile(r"[\u4e00-\u9fff]")


def _calls(names: set[str]) -> list[tuple[str, ast.Call]]:
    """Every call of a function named in ``names`` across engine/**/*.py, with its place."""
    found = []
    for path in sorted(ENGINE.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            call = isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
            if call and node.func.id in names:
                found.append((f"{path.relative_to(ENGINE.parent)}:{node.lineno}", node))
    return found


def _templates() -> dict[str, str]:
    """English template -> first place it is used (every ``msg`` call takes a literal)."""
    out: dict[str, str] = {}
    for where, call in _calls({"msg"}):
        first = call.args[0] if call.args else None
        assert isinstance(first, ast.Constant) and isinstance(first.value, str), where
        out.setdefault(first.value, where)
    return out


def _fields(template: str) -> set[tuple[str, str | None, str]]:
    """The placeholders of a format template: (name, conversion, format spec)."""
    parsed = string.Formatter().parse(template)
    return {(name, conv, spec or "") for _, name, spec, conv in parsed if name is not None}


def _error_classes() -> set[str]:
    seen, todo = {"EngineError"}, [errors.EngineError]
    while todo:
        for sub in todo.pop().__subclasses__():
            seen.add(sub.__name__)
            todo.append(sub)
    return seen


def _reply(op: str, args: dict, **extra) -> dict:
    return json.loads(handle(json.dumps({"v": 1, "id": 1, "op": op, "args": args, **extra})))


# ---------------------------------------------------------------- the catalog


def test_every_template_has_a_translation_and_no_entry_is_stale():
    from sitegen.catalog import engine_msgids

    used = _templates()
    zh = load_catalog("zh")
    assert len(used) >= 140  # about 100 error sites plus the warnings and assumptions
    fix = (
        "python -m sitegen.catalog update --keep-unused, translate the new msgstr in "
        "locale/zh/LC_MESSAGES/messages.po, then python -m sitegen.catalog compile"
    )
    assert sorted(set(used) - set(zh)) == [], f"untranslated: {fix}"
    assert sorted(set(zh) - engine_msgids()) == [], "stale: python -m sitegen.catalog compile"
    assert set(used) <= engine_msgids()  # Babel's extraction finds what the AST finds


def test_the_compiled_catalog_is_current():
    """engine/data/locale/<lang>.json is compiled from the .po, never edited by hand."""
    from sitegen.catalog import ENGINE_CATALOGS, stale_engine_catalogs

    assert tuple(lang for lang in LANGS if lang != "en") == ENGINE_CATALOGS
    assert stale_engine_catalogs() == [], "run: python -m sitegen.catalog compile"
    assert not (ENGINE / "data" / "messages_zh.json").exists(), "the .po is the source"


def test_translations_keep_exactly_the_placeholders():
    for en, zh in load_catalog("zh").items():
        assert zh.strip(), en
        if "{" in en:
            assert _fields(zh) == _fields(en), en
        else:  # present/'s words: %(name)s placeholders
            assert sorted(re.findall(r"%\(\w+\)s", zh)) == sorted(re.findall(r"%\(\w+\)s", en))


def test_translator_looks_up_the_same_catalog():
    assert translator("zh-CN")("LoRA rank") == "LoRA 秩"
    assert translator("en")("LoRA rank") == "LoRA rank"
    assert translator("zh")("not a msgid") == "not a msgid"


def test_every_engine_error_is_raised_with_a_message_not_a_plain_string():
    """An f-string or literal would show in English on Chinese pages: use msg()."""
    for where, call in _calls(_error_classes()):
        first = call.args[0] if call.args else None
        plain = isinstance(first, ast.JoinedStr | ast.BinOp) or (
            isinstance(first, ast.Constant) and isinstance(first.value, str)
        )
        assert not plain, f"{where}: raise with msg(...)"


def test_catalog_file_is_package_data_with_sorted_keys():
    path = ENGINE / "data" / "locale" / "zh.json"
    raw = json.loads(path.read_text(encoding="utf-8"))
    assert raw["lang"] == "zh"
    assert list(raw["messages"]) == sorted(raw["messages"])


# ---------------------------------------------------------------- Message and render


def test_message_is_the_english_text_and_survives_copies():
    m = msg(
        "pp ({pp}) exceeds the model's {layers} layers; use at most {layers} pipeline stages",
        pp=40,
        layers=32,
    )
    text = "pp (40) exceeds the model's 32 layers; use at most 32 pipeline stages"
    assert isinstance(m, Message) and m == text and str(m) == text and type(str(m)) is str
    for twin in (copy.copy(m), copy.deepcopy(m), pickle.loads(pickle.dumps(m))):
        assert twin == text and twin.template == m.template and twin.params == m.params
    assert render(m, "zh") == "pp（40）超过了模型的 32 层；流水线阶段数最多为 32"
    assert render(m, "en") == text and render(m, "fr") == text


def test_nested_messages_translate_their_connecting_words():
    from engine.messages import or_list

    assert or_list(["transformers", "vllm", "llamacpp"]) == "transformers or vllm or llamacpp"
    assert render(or_list(["transformers", "vllm", "llamacpp"]), "zh") == (
        "transformers 或 vllm 或 llamacpp"
    )
    assert or_list(["vllm"]) == "vllm" and or_list([]) == ""
    assert render(errors.suggest("rtx-409", ["rtx-4090", "t4"]), "zh") == "您是不是要找：rtx-4090？"
    assert errors.suggest("zzz", ["rtx-4090"]) == ""


def test_missing_template_falls_back_to_english():
    m = msg("a sentence nobody translated: {x}", x=1)
    assert render(m, "zh") == "a sentence nobody translated: 1"
    assert localize({"w": [m, "plain"], "n": 3}, "zh") == {
        "w": ["a sentence nobody translated: 1", "plain"],
        "n": 3,
    }


@pytest.mark.parametrize(
    ("tag", "lang"),
    [
        ("zh", "zh"),
        ("zh-CN", "zh"),
        ("zh_Hans", "zh"),
        ("ZH", "zh"),
        ("en", "en"),
        ("en-US", "en"),
        ("de", "en"),
        ("", "en"),
        (None, "en"),
        (7, "en"),
    ],
)
def test_normalize_lang(tag, lang):
    assert normalize_lang(tag) == lang


# ---------------------------------------------------------------- through the protocol

ZH_ERRORS = [
    (
        "infer",
        {"model": "llama-3.1-8b", "context": 0},
        "context",
        "context must be at least 1 (tokens per sequence), got 0",
        "context 至少为 1（每个序列的 token 数），当前为 0",
    ),
    (
        "infer",
        {"model": "llama-3.1-8b", "gpus": 3, "tp": 2},
        "gpus",
        "gpus (3) must equal tp × pp (2 × 1)",
        "gpus（3）必须等于 tp × pp（2 × 1）",
    ),
    (
        "infer",
        {"model": "llama-3.1-8b", "weights": "nf4", "runtime": "llamacpp"},
        "weights",
        "weights 'nf4' (NF4 (bitsandbytes, blocksize 64)) does not run on llamacpp: use runtime "
        "transformers or vllm, or pick a GGUF type such as q4_k_m for llamacpp",
        "权重格式 'nf4'（NF4 (bitsandbytes, blocksize 64)）无法在 llamacpp 上运行：请使用 "
        "transformers 或 vllm 运行时，或为 llamacpp 选择 q4_k_m 等 GGUF 类型",
    ),
    (
        "infer",
        {"model": "llama-3.1-8"},
        "model",
        "unknown model 'llama-3.1-8': not a catalog slug, Hugging Face repo id or model name. "
        "Did you mean: llama-3.1-8b, llama-3-8b, llama-3.1-70b? Pick one from the model list, "
        "or paste the model's config.json.",
        "未知模型 'llama-3.1-8'：它不是目录中的 slug、Hugging Face 仓库 ID 或模型名称。"
        "您是不是要找：llama-3.1-8b, llama-3-8b, llama-3.1-70b？请从模型列表中选择，"
        "或粘贴该模型的 config.json。",
    ),
    (
        "params",
        {"config": '{"a" 1}'},
        "config",
        "config is not valid JSON: Expecting ':' delimiter at line 1 column 6",
        "config 不是有效的 JSON：第 1 行第 6 列，Expecting ':' delimiter",
    ),
    (
        "train",
        {"model": "llama-3.1-8b", "method": "qlora", "precision": "fp32"},
        "precision",
        "QLoRA computes in 16-bit (bitsandbytes 4-bit matmul with a bf16/fp16 compute dtype); "
        "choose precision bf16, amp-bf16 or amp-fp16",
        "QLoRA 以 16 位精度计算（bitsandbytes 4 位矩阵乘法，计算类型为 bf16/fp16）；"
        "请将 precision 设为 bf16、amp-bf16 或 amp-fp16",
    ),
]


@pytest.mark.parametrize(("op", "args", "field", "en", "zh"), ZH_ERRORS)
def test_error_message_in_the_requested_language(op, args, field, en, zh):
    english = _reply(op, args)
    chinese = _reply(op, args, lang="zh")
    assert english["ok"] is False and chinese["ok"] is False
    assert english["error"]["message"] == en
    assert chinese["error"]["message"] == zh
    assert english["error"]["field"] == chinese["error"]["field"] == field
    assert english["error"]["type"] == chinese["error"]["type"]
    assert _reply(op, args, lang="fr")["error"]["message"] == en  # unknown lang: English


def test_protocol_errors_read_the_lang_too():
    reply = json.loads(handle(json.dumps({"v": 2, "id": 1, "op": "version", "lang": "zh"})))
    assert reply["error"]["message"] == (
        "不支持协议版本 2；此引擎使用 v1 协议——请刷新页面以获取匹配的应用"
    )


def test_result_warnings_and_assumptions_in_chinese_numbers_unchanged():
    args = {"model": "llama-3.1-8b", "context": 300_000, "gpu": "rtx-4090"}
    english = _reply("infer", args)["result"]
    chinese = _reply("infer", args, lang="zh")["result"]
    assert chinese["warnings"][0] == (
        "上下文长度 300,000 超过了模型的 max_position_embeddings（131,072）；"
        "不使用 RoPE 缩放时生成质量会下降"
    )
    assert english["warnings"][0] == (
        "context 300,000 exceeds the model's max_position_embeddings (131,072); "
        "quality degrades without RoPE scaling"
    )
    assert len(chinese["assumptions"]) == len(english["assumptions"])
    assert all(CJK.search(text) for text in chinese["warnings"] + chinese["assumptions"])
    for key in ("warnings", "assumptions"):
        del english[key], chinese[key]
    assert chinese == english


# ---------------------------------------------------------------- property

_VALUES = st.one_of(
    st.integers(-3, 2_000_000_000),
    st.floats(allow_nan=False, allow_infinity=False, width=32),
    st.booleans(),
    st.none(),
    st.sampled_from(
        [
            "",
            "x",
            "q4_k_m",
            "q9_x",
            "fp8",
            "nf4",
            "mxfp4",
            "auto",
            "vllm",
            "llamacpp",
            "transformers",
            "rtx-4090",
            "rtx-409",
            "m3-max-128gb",
            "lora",
            "qlora",
            "fp32",
            "eager",
            "selective",
            "q,zz",
            "optimizer+params",
        ]
    ),
    st.lists(st.sampled_from(["q", "k", "gate", "up", "zz"]), max_size=3),
)
_INFER_KEYS = [
    "weights",
    "kv_dtype",
    "context",
    "batch",
    "runtime",
    "gpu",
    "tp",
    "pp",
    "gpus",
    "n_gpu_layers",
    "ubatch",
    "gpu_memory_utilization",
    "bogus",
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
    "lora_targets",
    "double_quant",
    "gpu",
]


def _texts(result: dict) -> list[str]:
    gpu = result.get("gpu")
    extra = gpu.get("warnings", []) if isinstance(gpu, dict) else []
    return list(result.get("warnings", [])) + list(result.get("assumptions", [])) + list(extra)


@settings(max_examples=80, deadline=None)
@given(
    op=st.sampled_from(["infer", "train", "fit"]),
    model=st.sampled_from(["smollm2-135m", "qwen3-30b-a3b", "gemma-2-2b", "no-such-model"]),
    data=st.data(),
)
def test_any_reply_renders_in_both_languages(op, model, data):
    keys = _TRAIN_KEYS if op == "train" else _INFER_KEYS
    args = data.draw(st.dictionaries(st.sampled_from(keys), _VALUES, max_size=4))
    args["model"] = model
    english = _reply(op, args)
    chinese = _reply(op, args, lang="zh")
    assert english["ok"] == chinese["ok"]
    if not english["ok"]:
        assert chinese["error"]["type"] == english["error"]["type"] != "internal"
        assert chinese["error"]["field"] == english["error"]["field"]
        assert CJK.search(chinese["error"]["message"]), english["error"]["message"]
        return
    assert len(_texts(chinese["result"])) == len(_texts(english["result"]))
    assert all(CJK.search(text) for text in _texts(chinese["result"]))
