"""JSON entry point shared by the browser worker, the CLI and the site build.

Protocol v1 (mirrored in site/protocol.js)::

    request  {"v": 1, "id": <int>, "op": <str>, "args": {...}, "lang": <str, optional>}
    reply    {"v": 1, "id": <int>, "ok": true,  "result": {...}}
             {"v": 1, "id": <int>, "ok": false, "error": {"type", "message", "field"}}

Ops: ``version``, ``models``, ``gpus``, ``formats``, ``presets``, ``params``, ``infer``,
``train``, ``fit``. Model-taking ops accept ``model`` (a catalog slug, HF repo id or
display name) or ``config`` (a config.json object, or its text).

Result schema 1 for ``infer``/``train`` (all sizes integer bytes)::

    {"schema": 1, "mode", "model": {...}, "request": {...normalised workload...},
     "total_bytes", "per_gpu_bytes", "gpu_bytes": [...], "host_bytes", "reserved_bytes",
     "components": {weights, adapters, kv_cache, activations, logits, gradients,
                    master_weights, optimizer, temporaries, overhead[, allocator]},
     "assumptions": [...], "warnings": [...], "details": {...}}

``allocator`` (PyTorch's CUDA caching allocator, ``engine.cuda_alloc``) is listed only where
the runtime allocates through it: transformers on a CUDA/ROCm GPU and every training job.

Input is bounded before it is parsed (``engine.limits``, ``data/limits.json``): a request
text over 1 MiB + 64 KiB or nested more than 68 levels, and a ``config`` text over 1 MiB or
nested more than 64, get a ``config_error`` reply instead of a recursion in ``json.loads``.
Error messages in replies are worded for the page (``errors.for_page``: never "run 'vram …'").

``lang`` ("zh", or a tag such as "zh-CN") renders ``error.message`` and the result's
prose (``warnings``, ``assumptions``) in that language (``engine.messages``); an absent or
unknown ``lang`` gives English.

``handle`` is the only place where exceptions become messages: ``EngineError`` maps
to its ``type``; anything else is ``"internal"`` (and re-raised to the console by the
worker's logging, never swallowed silently on the Python side: the traceback text is
included under ``error.trace``).
"""

from __future__ import annotations

import json
import traceback
from collections.abc import Callable
from dataclasses import fields, is_dataclass
from typing import Any

from . import __version__
from .errors import ConfigError, EngineError, InvalidWorkload
from .form import Mode
from .limits import check_json_text
from .memo import per_spec_cache
from .messages import localize, msg, normalize_lang
from .model import ModelSpec

PROTOCOL_VERSION = 1
SCHEMA_VERSION = 1

_MODEL_KEYS = ("model", "config")


_PLAIN = frozenset({str, int, float, bool, type(None)})  # JSON values as they are


def _jsonable(value: Any) -> Any:
    """Convert dataclasses, tuples and Fractions into plain JSON values."""
    # every reply walks its whole result: plain values, dicts and lists are tried first, by
    # exact type (is_dataclass on each leaf was a third of a page request's engine time)
    kind = type(value)
    if kind in _PLAIN:
        return value
    if kind is dict:
        return {k if type(k) is str else str(k): _jsonable(v) for k, v in value.items()}
    if kind is list or kind is tuple:
        return [_jsonable(v) for v in value]
    from fractions import Fraction

    if is_dataclass(value) and not isinstance(value, type):
        return {f.name: _jsonable(getattr(value, f.name)) for f in fields(value)}
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, Fraction):
        return float(value)
    return value


def config_name(config: dict[str, Any]) -> str:
    """A pasted config's name, from the config itself: ``_name_or_path`` (a local path's
    last part), else its architecture or model type; "custom model" only when it has none."""
    path = config.get("_name_or_path")
    if isinstance(path, str) and path.strip().strip("/\\"):
        path = path.strip().rstrip("/\\")
        return path if path.count("/") == 1 and not path.startswith(".") else (
            path.replace("\\", "/").rsplit("/", 1)[-1]
        )
    archs = config.get("architectures")
    if isinstance(archs, list) and archs and isinstance(archs[0], str) and archs[0].strip():
        return archs[0].strip()
    model_type = config.get("model_type")
    if isinstance(model_type, str) and model_type.strip():
        return f"{model_type.strip()} model"
    return "custom model"


def load_spec(args: dict[str, Any]) -> tuple[ModelSpec, dict[str, Any]]:
    """Return the model named by ``args`` (catalog slug or pasted config) and a summary."""
    from .arch import parse_config
    from .catalog import get_entry, load_model, resolve_model

    model = args.get("model")
    config = args.get("config")
    if model is not None and config is not None:
        raise InvalidWorkload(msg("give either model or config, not both"), field="config")
    if config is not None:
        if isinstance(config, str):
            check_json_text(config)  # size and depth, before json.loads can recurse
            try:
                config = json.loads(config)
            except ValueError as exc:  # JSONDecodeError, or an integer over 4,300 digits
                if not isinstance(exc, json.JSONDecodeError):
                    raise ConfigError(
                        msg("config is not valid JSON: {detail}", detail=str(exc)),
                        field="config",
                    ) from None
                raise ConfigError(
                    msg(
                        "config is not valid JSON: {detail} at line {line} column {column}",
                        detail=exc.msg,
                        line=exc.lineno,
                        column=exc.colno,
                    ),
                    field="config",
                ) from None
        if not isinstance(config, dict):
            raise ConfigError(
                msg("config must be a JSON object (the contents of config.json)"), field="config"
            )
        from .gguf import with_gguf_file

        spec = with_gguf_file(parse_config(config, name=config_name(config)), config)
        summary = {"slug": None, "name": spec.name or config_name(config)}
    else:
        if not isinstance(model, str) or not model.strip():
            raise InvalidWorkload(
                msg("choose a model (catalog slug) or paste a config.json"), field="model"
            )
        slug = resolve_model(model.strip())
        spec = load_model(slug)
        entry = get_entry(slug)
        summary = {"slug": slug, "name": entry.display_name, "hf_repo": entry.hf_repo}
    summary.update(params_summary(spec))
    return spec, summary


@per_spec_cache
def params_summary(spec: ModelSpec) -> dict[str, Any]:
    """Parameter counts (integers) in the CLI's documented ``params`` schema; a multimodal
    checkpoint adds ``text_total``, its language model alone (no vision/audio tower)."""
    summary = {
        "model_type": spec.model_type,
        "total": spec.total_params,
        "embedding": spec.embedding_params,
        "lm_head": spec.lm_head_params,
        "tied_embeddings": spec.tie_word_embeddings,
        "active_per_token": spec.active_params_per_token,
        "per_layer": list(spec.per_layer_params),
        "num_layers": spec.num_layers,
        "hidden_size": spec.hidden_size,
        "vocab_size": spec.vocab_size,
        "max_position_embeddings": spec.max_position_embeddings,
        "dtype": spec.dtype,
        "checkpoint_quant": spec.checkpoint_quant,
        "is_moe": spec.is_moe,
    }
    towers = spec.tower_params
    if towers:
        summary["text_total"] = spec.total_params - towers
    return summary


def _workload_args(args: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in args.items() if k not in _MODEL_KEYS}


def _whole(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _inference_args(args: dict[str, Any]) -> dict[str, Any]:
    """Workload args with ``runtime`` "auto" (or absent) resolved from the weight format
    (GGUF files run in llama.cpp, everything else in transformers), and ``gpus`` turned
    into tp/pp the way the runtime splits a model."""
    rest = _workload_args(args)
    if rest.get("runtime", "auto") == "auto":
        from .workload import InferenceWorkload, auto_runtime

        rest["runtime"] = auto_runtime(rest.get("weights", InferenceWorkload.weights))
    gpus = rest.pop("gpus", None)
    if gpus is not None:
        if isinstance(gpus, bool) or not isinstance(gpus, int) or gpus < 1:
            raise InvalidWorkload(
                msg("{key} must be a whole number >= 1, got {value!r}", key="gpus", value=gpus),
                field="gpus",
            )
        if "tp" not in rest and "pp" not in rest:
            # llama.cpp splits by layers (its default --split-mode layer); the others by tensors
            by_layers = rest["runtime"] == "llamacpp"
            rest["tp"], rest["pp"] = (1, gpus) if by_layers else (gpus, 1)
        elif _whole(rest.get("tp", 1)) and _whole(rest.get("pp", 1)) and (
            rest.get("tp", 1) * rest.get("pp", 1) != gpus
        ):  # a tp or pp that is no whole number is reported by the workload's own check
            raise InvalidWorkload(
                msg(
                    "gpus ({gpus}) must equal tp × pp ({tp} × {pp})",
                    gpus=gpus,
                    tp=rest.get("tp", 1),
                    pp=rest.get("pp", 1),
                ),
                field="gpus",
            )
    return rest


def op_version(args: dict[str, Any]) -> dict[str, Any]:
    return {"engine_version": __version__, "protocol": PROTOCOL_VERSION, "schema": SCHEMA_VERSION}


def op_models(args: dict[str, Any]) -> list[dict[str, Any]]:
    from .catalog import list_models

    return [_jsonable(entry) for entry in list_models()]


def op_gpus(args: dict[str, Any]) -> list[dict[str, Any]]:
    from .gpus import list_gpus

    return [_jsonable(gpu) for gpu in list_gpus()]


def op_formats(args: dict[str, Any]) -> list[dict[str, Any]]:
    from .quant import list_formats

    return [_jsonable(fmt) for fmt in list_formats()]


def op_presets(args: dict[str, Any]) -> list[dict[str, Any]]:
    from .presets import list_presets

    return [_jsonable(p) for p in list_presets()]


def op_params(args: dict[str, Any]) -> dict[str, Any]:
    _spec, summary = load_spec(args)
    return {"schema": SCHEMA_VERSION, **summary}


def _reply(mode: str, summary: dict[str, Any], work: Any, body: dict[str, Any]) -> dict:
    """Schema-1 envelope shared by infer, train and fit: model, normalised request, body."""
    return {
        "schema": SCHEMA_VERSION,
        "mode": mode,
        "model": summary,
        "request": _jsonable(work),
        **_jsonable(body),
    }


def op_infer(args: dict[str, Any]) -> dict[str, Any]:
    from .inference import estimate_inference
    from .workload import inference_from_dict

    work = inference_from_dict(_inference_args(args))
    spec, summary = load_spec(args)
    return _reply(Mode.INFER.result, summary, work, estimate_inference(spec, work).to_dict())


def op_train(args: dict[str, Any]) -> dict[str, Any]:
    from .training import estimate_training
    from .workload import training_from_dict

    work = training_from_dict(_workload_args(args))
    spec, summary = load_spec(args)
    return _reply(Mode.TRAIN.result, summary, work, estimate_training(spec, work).to_dict())


def op_fit(args: dict[str, Any]) -> dict[str, Any]:
    """Solved limits and ranked GPU options; ``mode: "training"`` fits a training run."""
    from .fit import fit_report, fit_training
    from .workload import inference_from_dict, training_from_dict

    mode = args.get("mode", Mode.INFER.result)
    if mode == Mode.TRAIN.result:
        rest = {k: v for k, v in _workload_args(args).items() if k != "mode"}
        twork = training_from_dict(rest)
        spec, summary = load_spec(args)
        return _reply(Mode.TRAIN.result, summary, twork, fit_training(spec, twork))
    if mode != Mode.INFER.result:
        raise InvalidWorkload(
            msg("mode must be inference or training, got {value!r}", value=mode), field="mode"
        )
    work = inference_from_dict({k: v for k, v in _inference_args(args).items() if k != "mode"})
    spec, summary = load_spec(args)
    return _reply(Mode.INFER.result, summary, work, fit_report(spec, work))


OPS: dict[str, Callable[[dict[str, Any]], Any]] = {
    "version": op_version,
    "models": op_models,
    "gpus": op_gpus,
    "formats": op_formats,
    "presets": op_presets,
    "params": op_params,
    "infer": op_infer,
    "train": op_train,
    "fit": op_fit,
}


def call(op: str, args: dict[str, Any] | None = None) -> Any:
    """Run one op in-process and return its result (raises ``EngineError`` on bad input)."""
    handler = OPS.get(op)
    if handler is None:
        raise EngineError(
            msg("unknown op {op!r}; known ops: {ops}", op=op, ops=", ".join(sorted(OPS))),
            field="op",
        )
    if args is None:
        args = {}
    if not isinstance(args, dict):
        raise EngineError(msg("args must be a JSON object"), field="args")
    return handler(args)


def handle(request_json: str) -> str:
    """Answer one protocol-v1 request (a JSON string) with a reply JSON string."""
    return encode_reply(reply_to(request_json))


def encode_reply(reply: dict[str, Any]) -> str:
    """The reply as the protocol sends it (the worker's view adds to the dict, then this)."""
    return json.dumps(reply, sort_keys=True, separators=(",", ":"), allow_nan=False)


def reply_to(request_json: str) -> dict[str, Any]:
    """``handle``'s reply before it is encoded (plain JSON values: ``_jsonable``)."""
    request_id: Any = None
    lang = "en"
    try:
        if isinstance(request_json, str):  # bounded before json.loads can recurse
            check_json_text(request_json, kind="request_text")
        try:
            request = json.loads(request_json)
        except (TypeError, ValueError) as exc:
            raise EngineError(
                msg("request is not valid JSON: {detail}", detail=str(exc)), field=None
            ) from None
        if not isinstance(request, dict):
            raise EngineError(msg("request must be a JSON object"), field=None)
        request_id = request.get("id")
        lang = normalize_lang(request.get("lang"))
        if request.get("v", PROTOCOL_VERSION) != PROTOCOL_VERSION:
            raise EngineError(
                msg(
                    "protocol version {got!r} is not supported; this engine speaks "
                    "v{v} — reload the page to get the matching app",
                    got=request.get("v"),
                    v=PROTOCOL_VERSION,
                ),
                field="v",
            )
        result = call(str(request.get("op")), request.get("args"))
        if lang != "en":
            result = localize(result, lang)
        reply: dict[str, Any] = {
            "v": PROTOCOL_VERSION,
            "id": request_id,
            "ok": True,
            "result": result,
        }
    except EngineError as exc:
        error = exc.to_dict(lang, page=True)  # the worker's reply: worded for the page
        reply = {"v": PROTOCOL_VERSION, "id": request_id, "ok": False, "error": error}
    except Exception as exc:  # the one place where unexpected errors become data
        reply = {
            "v": PROTOCOL_VERSION,
            "id": request_id,
            "ok": False,
            "error": {
                "type": "internal",
                "message": f"internal error: {type(exc).__name__}: {exc}",
                "field": None,
                "trace": traceback.format_exc(),
            },
        }
    return reply
