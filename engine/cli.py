"""The ``vram`` command: the engine from the shell, for scripts and CI.

Every subcommand goes through ``engine.api.call`` so the CLI's ``--json`` output is the
same schema-1 JSON the browser worker returns. Bad input prints one line on stderr and
exits with status 2.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from . import __version__
from .api import call
from .errors import ConfigError, EngineError
from .form import INFERENCE_FIELDS, TRAINING_FIELDS, Field, Kind, Mode
from .limits import text_limits
from .messages import msg
from .units import format_gib, format_tokens

EXIT_BAD_INPUT = 2


class _Parser(argparse.ArgumentParser):
    """argparse that reports usage errors as one line and exit code 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        command = self.prog.split()[-1]
        hint = "vram --help" if command == "vram" else f"vram {command} --help"
        sys.stderr.write(f"vram: error: {message} (see '{hint}')\n")
        raise SystemExit(EXIT_BAD_INPUT)


def _hub_args(model: str) -> dict[str, Any] | None:
    """A local .gguf, or a Hub repo id/URL that is not a catalog name: the config the Hub
    lookup resolved (engine.hub), with the lookup under "_hub"; else None."""
    from .catalog import resolve_model
    from .errors import UnknownModel
    from .hub.ref import looks_like_hub

    if model.endswith(".json"):
        return None
    is_url = model.startswith(("http://", "https://"))
    if model.endswith(".gguf") and not is_url and (Path(model).is_file() or model.count("/") < 2):
        if not Path(model).is_file():
            raise ConfigError(msg("no such GGUF file: {path}", path=model), field="config")
        from .hub.local import local_gguf

        hub = local_gguf(Path(model))
    else:
        from .hub.transport_urllib import hub_endpoint, lookup

        if not looks_like_hub(model, hub_endpoint()) or Path(model).exists():
            return None
        try:
            resolve_model(model)
            return None  # the catalog answers first
        except UnknownModel:
            pass
        hub = lookup(model)
    if hub["kind"] == "choose":
        from .hub.errors import HubChoice

        files = "; ".join(
            f"{f['file']} ({format_gib(f['size_bytes'])})" if f["size_bytes"] else f["file"]
            for f in hub["gguf_files"]
        )
        raise HubChoice(
            msg(
                "{repo} holds several GGUF files; name one, e.g. {repo}/{first}. Files: {files}",
                repo=hub["label"],
                first=hub["gguf_files"][0]["file"],
                files=files,
            ),
            files=hub["gguf_files"],
        )
    return {"config": hub["config"], "_hub": hub}


def _model_args(model: str) -> dict[str, Any]:
    """A catalog name, a path to a config.json (anything ending in .json or existing) or
    a .gguf, or a Hugging Face repo id/URL (engine.hub)."""
    hub = _hub_args(model)
    if hub is not None:
        return hub
    path = Path(model)
    if model.endswith(".json") or path.is_file():
        if not path.is_file():
            raise ConfigError(msg("no such config file: {path}", path=model), field="config")
        try:
            limit = text_limits()[0]
            with path.open("rb") as fh:  # one byte past the limit at most: never a weights file
                data = fh.read(limit + 1)
            text = data.decode("utf-8", "replace" if len(data) > limit else "strict")
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(
                msg("cannot read {path}: {detail}", path=model, detail=str(exc)), field="config"
            ) from None
        return {"config": text}
    return {"model": model}


def _add_model(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "model",
        help="catalog slug (see 'vram models'), Hugging Face repo id (org/name[@rev]) or link, "
        "or path to a config.json or .gguf",
    )
    p.add_argument("--json", action="store_true", help="print schema-1 JSON (integers in bytes)")


_ARG_TYPES: dict[Kind, type] = {Kind.INT: int, Kind.FLOAT: float}


def _add_fields(p: argparse.ArgumentParser, title: str, schema: tuple[Field, ...]) -> None:
    """Add one option per schema field (engine.form): flag, type, default and help."""
    g = p.add_argument_group(title)
    for f in schema:
        if f.kind is Kind.BOOL:
            action = "store_false" if f.default is True else "store_true"
            g.add_argument(f.flag, dest=f.name, action=action, help=f.help)
        elif f.cli_const is not None:
            g.add_argument(
                f.flag,
                dest=f.name,
                default=f.cli_value,
                nargs="?",
                const=f.cli_const,
                help=f.help,
            )
        else:
            default = f.cli_value
            if isinstance(default, tuple):  # a list setting is typed comma-separated
                default = ",".join(default)
            kind = _ARG_TYPES.get(f.kind)
            if kind is None:
                g.add_argument(f.flag, dest=f.name, default=default, help=f.help)
            else:
                g.add_argument(f.flag, dest=f.name, type=kind, default=default, help=f.help)


def _fields_request(ns: argparse.Namespace, schema: tuple[Field, ...]) -> dict[str, Any]:
    """The op arguments for the parsed options: every field, except an optional one
    (default None: gpu, --gpus/--tp/--pp of infer, --n-gpu-layers) left unset or empty."""
    req: dict[str, Any] = {}
    for f in schema:
        value = getattr(ns, f.name)
        if f.cli_value is None and (value is None or value == ""):
            continue
        req[f.name] = value
    return req


def _add_inference(p: argparse.ArgumentParser) -> None:
    _add_fields(p, "inference", INFERENCE_FIELDS)


def _inference_request(ns: argparse.Namespace) -> dict[str, Any]:
    # --gpus alone is split the way the runtime splits a model (engine.api._inference_args)
    return _fields_request(ns, INFERENCE_FIELDS)


def _add_training(p: argparse.ArgumentParser) -> None:
    _add_fields(p, "training", TRAINING_FIELDS)


def _training_request(ns: argparse.Namespace) -> dict[str, Any]:
    return _fields_request(ns, TRAINING_FIELDS)


def _top(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = -1
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be a whole number ≥ 0; got {text!r}")
    return value


def _add_top(p: argparse.ArgumentParser) -> None:
    # an output option, not a request field: the engine always ranks every option
    p.add_argument(
        "--top", type=_top, metavar="N", default=None,
        help="show the N cheapest configurations (default: 10; --json: all)",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="vram",
        description="GPU memory for LLM inference and training, "
        "in bytes (shown in GiB = 2^30 bytes).",
    )
    parser.add_argument("--version", action="version", version=f"vram {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    p = sub.add_parser("params", help="exact parameter counts")
    _add_model(p)
    p = sub.add_parser("infer", help="inference memory (weights, KV cache, buffers, overhead)")
    _add_model(p)
    _add_inference(p)
    p = sub.add_parser("train", help="training / fine-tuning memory (full, LoRA, QLoRA)")
    _add_model(p)
    _add_training(p)
    p = sub.add_parser("fit", help="largest context/batch that fit, and ranked GPU options")
    _add_model(p)
    _add_inference(p)
    _add_top(p)
    p = sub.add_parser("fit-train", help="fewest GPUs for a training run, ranked GPU options")
    _add_model(p)
    _add_training(p)
    _add_top(p)
    for name, text in (
        ("models", "list catalog models"),
        ("gpus", "list GPUs"),
        ("formats", "list weight formats"),
        ("presets", "list presets"),
    ):
        p = sub.add_parser(name, help=text)
        p.add_argument("--json", action="store_true", help="print JSON")
    return parser


def _print_estimate(result: dict[str, Any]) -> None:
    model = result["model"]
    print(f"{model['name']} — {result['mode']}  (GiB = 2^30 bytes)")
    for name, value in result["components"].items():
        if value:
            print(f"  {name:<16}{format_gib(value):>14}")
    print(f"  {'per GPU':<16}{format_gib(result['per_gpu_bytes']):>14}")
    if len(result["gpu_bytes"]) > 1:
        print(
            f"  {'all GPUs':<16}{format_gib(result['total_bytes']):>14}  "
            f"({len(result['gpu_bytes'])} GPUs)"
        )
    details = result.get("details") if isinstance(result.get("details"), dict) else {}
    for note in details.get("notes") or []:  # why the total is what it is (engine.explain)
        print(f"  note: {note}")
    if result.get("host_bytes"):
        print(f"  {'host RAM':<16}{format_gib(result['host_bytes']):>14}")
    if result.get("reserved_bytes"):
        print(
            f"  {'reserved':<16}{format_gib(result['reserved_bytes']):>14}  "
            "(runtime pre-allocation)"
        )
    fit = result.get("details", {}).get("fit") if isinstance(result.get("details"), dict) else None
    if isinstance(fit, dict) and "fits" in fit:
        gpu = fit.get("gpu_name") or fit.get("gpu", "GPU")
        usable = format_gib(fit["usable_bytes"])
        if fit["fits"]:
            print(f"  {gpu}: fits (usable {usable}, {format_gib(fit['headroom_bytes'])} free)")
        else:
            short = format_gib(fit.get("shortfall_bytes", 0))
            print(f"  {gpu}: does NOT fit (usable {usable}, {short} short)")
    for w in result.get("warnings", []):
        print(f"  warning: {w}")
    if result.get("assumptions"):
        print("  assumptions:")
        for a in result["assumptions"]:
            print(f"    - {a}")


def _fit_answer(result: dict[str, Any]) -> str:
    """The first line of ``vram fit``: the verdict, then what it means (issue 15)."""
    name = result["model"]["name"]
    gpu = result.get("gpu")
    options = result.get("options") or []
    cheapest = ""
    if options:
        o = options[0]
        price = f", ${o['price_usd']:,.0f}" if o.get("price_usd") else ""
        cheapest = f"cheapest that fits: {o['num_gpus']}× {o['name']}{price}"
    if not isinstance(gpu, dict):
        return f"{name}: {cheapest}" if cheapest else f"{name}: no listed GPU fits"
    on = f"{name} on {gpu.get('num_gpus', 1)}× {gpu.get('name', gpu.get('gpu'))}"
    if gpu.get("fits"):
        parts = []
        if gpu.get("max_context"):
            limit = gpu.get("context_limited_by")
            why = " (the model's limit)" if limit == "model" else ""
            parts.append(f"context up to {format_tokens(gpu['max_context'])} tokens{why}")
        if gpu.get("max_batch"):
            parts.append(f"batch up to {gpu['max_batch']:,} sequences")
        return f"{on}: fits" + (f" — {', '.join(parts)}" if parts else "")
    short = max(gpu.get("shortfall_bytes") or [0])
    need = max(gpu.get("need_bytes") or [0])
    text = (
        f"{on}: does NOT fit — needs {format_gib(need)} per GPU, "
        f"{format_gib(gpu['usable_bytes'])} usable, {format_gib(short)} short"
    )
    return f"{text}; {cheapest}" if cheapest else text


def _print_fit(result: dict[str, Any], top: int = 10) -> None:
    print(_fit_answer(result))
    print(f"  {result['mode']} fit details  (GiB = 2^30 bytes)")
    gpu = result.get("gpu")
    if isinstance(gpu, dict):
        count = gpu.get("num_gpus", 1)
        verdict = "fits" if gpu.get("fits") else "does NOT fit"
        print(f"  {count}× {gpu.get('name', gpu.get('gpu'))}: {verdict}")
        if gpu.get("fits") and "max_context" in gpu:
            print(
                f"    largest context   {gpu['max_context']:>10,} tokens "
                f"(limited by {gpu.get('context_limited_by', 'memory')})"
            )
        if gpu.get("fits") and "max_batch" in gpu:
            print(f"    largest batch     {gpu['max_batch']:>10,} sequences")
        if "max_seq_len" in gpu:  # fit-train: at the micro-batch / sequence as given
            print(f"    longest sequence  {gpu['max_seq_len']:>10,} tokens")
            print(f"    largest micro-batch {gpu['max_micro_batch']:>8,}")
        best = gpu.get("best_quant")
        if isinstance(best, dict):
            print(f"    best format       {best['format']:>10}")
        fewest = gpu.get("fewest_gpus")
        if isinstance(fewest, dict):
            fewest = fewest.get("num_gpus")
        if isinstance(fewest, int):
            print(f"    fewest GPUs       {fewest:>10}")
        elif isinstance(gpu.get("fewest_gpus_zero3"), int):
            print(f"    fewest GPUs       {gpu['fewest_gpus_zero3']:>10} (with ZeRO-3)")
        if gpu.get("decode_tokens_per_s"):
            print(f"    decode ≤          {gpu['decode_tokens_per_s']:>10.1f} tokens/s (roofline)")
    options = result.get("options") or []
    if options and top > 0:
        more = f" (top {top} of {len(options)}; --top N for more)" if len(options) > top else ""
        print(f"  cheapest configurations that fit{more}:")
        for o in options[:top]:
            price = f"${o['price_usd']:,.0f}" if o.get("price_usd") else "n/a"
            print(
                f"    {o['num_gpus']:>2}× {o['name']:<28} need {format_gib(o['need_bytes']):>10}"
                f"  {price:>9}"
            )
    for w in result.get("warnings", []):
        print(f"  warning: {w}")


def _print_params(result: dict[str, Any]) -> None:
    print(f"{result['name']} ({result['model_type']})")
    print(f"  total parameters      {result['total']:>20,}")
    print(f"  active per token      {result['active_per_token']:>20,}")
    print(f"  embedding             {result['embedding']:>20,}")
    lm = "tied to embedding" if result["tied_embeddings"] else f"{result['lm_head']:,}"
    print(f"  lm_head               {lm:>20}")
    print(f"  layers                {result['num_layers']:>20}")


_HUB_KEYS = (
    "label", "commit", "endpoint", "format", "files", "stored", "check", "preset", "notes", "read",
)


def _print_hub(hub: dict[str, Any]) -> None:
    """What a Hub lookup read: the stored weights and the parameter cross-check."""
    where = f"{hub['endpoint']} @ {hub['commit'][:12]}" if hub.get("commit") else "local file"
    print(f"  read from             {where:>20}")
    stored = hub.get("stored")
    if stored:
        kinds = ", ".join(stored["by_dtype"])
        print(f"  stored weights        {stored['weights_bytes']:>20,} bytes ({kinds})")
        print(f"  stored parameters     {stored['parameters']:>20,}")
    check = hub.get("check")
    if check and check.get("reason"):
        print(f"  note: {check['reason']}")
    for note in hub.get("notes") or []:
        print(f"  note: {note}")


def _print_list(command: str, rows: list[dict[str, Any]]) -> None:
    if command == "models":
        for r in rows:
            print(f"{r['slug']:<32} {r['display_name']:<36} {r.get('parameters_label', '')}")
    elif command == "gpus":
        for r in rows:
            print(f"{r['slug']:<28} {r['name']:<36} {format_gib(r['usable_bytes']):>12}")
    elif command == "formats":
        for r in rows:
            print(
                f"{r['id']:<20} {r.get('label', ''):<36} {r.get('bits_per_weight', ''):>8.3f} bpw"
            )
    else:
        for r in rows:
            print(f"{r['id']:<36} {r.get('title', '')}")


def run(argv: list[str]) -> int:
    """Run the CLI on ``argv``; return the exit status."""
    ns = build_parser().parse_args(argv)
    command = ns.command
    if command in ("models", "gpus", "formats", "presets"):
        rows = call(command)
        if ns.json:
            print(json.dumps(rows, indent=2, sort_keys=True))
        else:
            _print_list(command, rows)
        return 0
    args = _model_args(ns.model)
    hub = args.pop("_hub", None)
    if command == "params":
        result = call("params", args)
    elif command in ("infer", "fit"):
        req = _inference_request(ns)
        if hub and hub["format"] == "gguf" and not any(a.startswith("--weights") for a in argv):
            req["weights"] = hub["weights"]  # the file's own type (general.file_type)
        result = call(command, {**args, **req})
    elif command == "fit-train":
        result = call("fit", {**args, **_training_request(ns), "mode": Mode.TRAIN.result})
    else:
        result = call("train", {**args, **_training_request(ns)})
    if hub:
        result["hub"] = {k: hub.get(k) for k in _HUB_KEYS}
    if getattr(ns, "top", None) is not None and ns.json:
        result["options"] = (result.get("options") or [])[: ns.top]
    if ns.json:
        print(json.dumps(result, indent=2, sort_keys=True, allow_nan=False))
    elif command == "params":
        _print_params(result)
        if hub:
            _print_hub(hub)
    elif command in ("fit", "fit-train"):
        _print_fit(result, 10 if ns.top is None else ns.top)
    else:
        _print_estimate(result)
    return 0


def main(argv: list[str] | None = None) -> int:
    try:
        return run(sys.argv[1:] if argv is None else argv)
    except EngineError as exc:
        sys.stderr.write(f"vram: error: {exc.message}\n")
        return EXIT_BAD_INPUT
    except SystemExit as exc:  # argparse: --help/--version (0) or a usage error (2)
        return exc.code if isinstance(exc.code, int) else EXIT_BAD_INPUT
    except BrokenPipeError:
        return 0
    except Exception as exc:  # a bug, not bad input: one line, and a non-2 status
        sys.stderr.write(
            f"vram: internal error: {type(exc).__name__}: {exc} "
            "(please report it with the command you ran)\n"
        )
        return 1


if __name__ == "__main__":
    raise SystemExit(main())
