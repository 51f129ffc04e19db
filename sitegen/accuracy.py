"""Accuracy page data: the engine beside the reference measurements and the naive formulas.

Build-time only: ``build.py`` and the tests import it; it is not part of the engine wheel.
It reads the reference files under ``reference/`` (written by ``tools/reference/``),
asks the engine for the same cases through its JSON ops, and adds what the rule-of-thumb
formulas used by other calculators would have said. Nothing here is a second engine: the
engine's numbers come from ``engine.api``; the naive formulas exist only to be compared.

The like-for-like rule for training (``reference.comparable_training_bytes``) is shared with
``tests/engine/test_training.py``, so the page and the engine tests compare the same quantity.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from reference import REFERENCE_DIR, comparable_training_bytes
from sitegen.i18n import Text, join_texts

ROOT = Path(__file__).resolve().parent.parent

# (op, args) -> (result, None) or (None, error dict {type, message, field}); build.py passes
# its memoizing engine caller, the default calls engine.api in-process.
Ask = Callable[[str, dict[str, Any]], tuple[Any, dict[str, Any] | None]]

# ----------------------------------------------------------------------- naive formulas
# What calculators that skip the architecture commonly use. Shown only for comparison.

# Kaplan et al. 2020, "Scaling Laws for Neural Language Models" (arXiv:2001.08361) §2.1:
# N ≈ 2 · d_model · n_layer · (2 · d_attn + d_ff) = 12 · n_layer · d_model² with
# d_attn = d_model and d_ff = 4 · d_model; plus the n_vocab · d_model embedding.
NAIVE_PARAMS_PER_LAYER_H2 = 12
# Mixed-precision Adam: 2 (fp16 weights) + 2 (fp16 gradients) + 12 (fp32 master weights,
# momentum, variance) bytes per parameter — Rajbhandari et al. 2020, "ZeRO" (arXiv:1910.02054)
# §3.1 ("16Ψ bytes").
NAIVE_TRAIN_BYTES_PER_PARAM = 16
# LoRA rule of thumb: the frozen base in 16 bits, the trainable adapters at 16 bytes each.
NAIVE_FROZEN_BYTES_PER_PARAM = 2
# Korthikanti et al. 2022, "Reducing Activation Recomputation in Large Transformer Models"
# (arXiv:2205.05198) §4.1 eq. (1): activations per layer = s·b·h·(34 + 5·a·s/h) bytes with
# 16-bit activations; 34·s·b·h is that without the attention-score term (what
# flash/memory-efficient attention removes). Checkpointing, logits and the loss are ignored.
NAIVE_ACTIVATION_BYTES_PER_SBH = 34


def naive_params(*, layers: int, hidden: int, vocab: int) -> int:
    """Return the classic parameter estimate 12·L·h² + V·h (a count, not bytes)."""
    return NAIVE_PARAMS_PER_LAYER_H2 * layers * hidden * hidden + vocab * hidden


def naive_kv_bytes(
    *, layers: int, hidden: int, tokens: int, batch: int, bytes_per_element: int
) -> int:
    """Return KV-cache bytes as 2 × layers × hidden × bytes × tokens × batch.

    K and V at ``hidden_size`` per token on every layer: right for multi-head attention,
    blind to grouped-query/multi-query heads, MLA latents and sliding windows.
    """
    return 2 * layers * hidden * bytes_per_element * tokens * batch


def naive_training_bytes(
    *,
    params: int,
    trainable_params: int,
    full: bool,
    batch: int,
    seq: int,
    hidden: int,
    layers: int,
) -> int:
    """Return training bytes as 16 B/parameter + 34·b·s·h·L activations.

    LoRA: 2 B per frozen base parameter + 16 B per trainable parameter. Precision, optimizer
    and gradient checkpointing are ignored, as the rule of thumb ignores them.
    """
    if full:
        states = NAIVE_TRAIN_BYTES_PER_PARAM * params
    else:
        states = (
            NAIVE_FROZEN_BYTES_PER_PARAM * params + NAIVE_TRAIN_BYTES_PER_PARAM * trainable_params
        )
    return states + NAIVE_ACTIVATION_BYTES_PER_SBH * batch * seq * hidden * layers


# ---------------------------------------------------------------- like-for-like rule


# ---------------------------------------------------------------------------- rows


@dataclass(frozen=True)
class AccuracyRow:
    """One case: the reference value, the engine's, the naive formula's (counts or bytes)."""

    case: str  # the case id in the reference file
    label: str
    detail: str
    reference: int
    engine: int | None
    naive: int | None
    error_pct: float | None  # (engine − reference) / reference × 100
    naive_error_pct: float | None
    note: str = ""

    @classmethod
    def from_values(
        cls,
        case: str,
        label: str,
        detail: str,
        *,
        reference: int,
        engine: int | None,
        naive: int | None,
        note: str = "",
    ) -> AccuracyRow:
        return cls(
            case,
            label,
            detail,
            reference,
            engine,
            naive,
            error_pct(engine, reference),
            error_pct(naive, reference),
            note,
        )

    @property
    def exact(self) -> bool:
        return self.engine is not None and self.engine == self.reference


def error_pct(value: int | None, reference: int) -> float | None:
    """Return (value − reference) / reference in percent (None when not computable)."""
    if value is None or reference == 0:
        return None
    return (value - reference) / reference * 100


@dataclass(frozen=True)
class AccuracySummary:
    cases: int
    exact: int
    failed: int  # cases the engine could not compute
    worst_engine_pct: float | None  # largest |error| in percent
    worst_engine_case: str
    worst_naive_pct: float | None
    worst_naive_case: str

    @classmethod
    def from_rows(cls, rows: Iterable[AccuracyRow]) -> AccuracySummary:
        rows = tuple(rows)
        engine = [(abs(r.error_pct), r.case) for r in rows if r.error_pct is not None]
        naive = [(abs(r.naive_error_pct), r.case) for r in rows if r.naive_error_pct is not None]
        worst_engine = max(engine, default=(None, ""))
        worst_naive = max(naive, default=(None, ""))
        return cls(
            cases=len(rows),
            exact=sum(r.exact for r in rows),
            failed=sum(r.engine is None for r in rows),
            worst_engine_pct=worst_engine[0],
            worst_engine_case=worst_engine[1],
            worst_naive_pct=worst_naive[0],
            worst_naive_case=worst_naive[1],
        )


@dataclass(frozen=True)
class AccuracySection:
    key: str  # "params" | "kv_cache" | "training" (the reference file's stem)
    title: str
    unit: str  # "params" (a count) | "bytes"
    rows: tuple[AccuracyRow, ...]
    summary: AccuracySummary
    source: str  # reference tool and versions
    naive_formula: str
    validation: str = ""  # how the reference itself was checked, from its file

    @classmethod
    def from_rows(
        cls,
        key: str,
        title: str,
        unit: str,
        rows: Iterable[AccuracyRow],
        *,
        source: str,
        naive_formula: str,
        validation: str = "",
    ) -> AccuracySection:
        rows = tuple(rows)
        summary = AccuracySummary.from_rows(rows)
        return cls(key, title, unit, rows, summary, source, naive_formula, validation)


class ReferenceDataError(ValueError):
    """A reference file is malformed; the message names the file."""


def ask_engine(op: str, args: dict[str, Any]) -> tuple[Any, dict[str, Any] | None]:
    """Return ``(result, None)``, or ``(None, error dict)`` when the engine rejects the input."""
    from engine.api import call
    from engine.errors import EngineError

    try:
        return call(op, args), None
    except EngineError as exc:
        return None, {**exc.to_dict(), "message": exc.message}  # a Message: translatable


def _versions(raw: Mapping[str, Any]) -> str:
    versions = raw.get("versions") or {}
    return ", ".join(
        f"{k} {versions[k]}" for k in ("torch", "transformers", "peft") if k in versions
    )


# ------------------------------------------------------------------ parameter counts


def _params_config_path(key: str, root: Path) -> Path | None:
    kind, _, name = key.partition("/")
    paths = {
        "catalog": root / "engine" / "data" / "models" / name / "config.json",
        "fixture": root / "reference" / "configs" / f"{name}.json",
        "variant": root / "reference" / "configs" / "variants" / f"{name}.json",
    }
    return paths.get(kind)


PARAMS_KIND = {
    "catalog": Text("catalog config"),
    "fixture": Text("test fixture"),
    "variant": Text("config variant (one flag flipped)"),
}


def read_params(raw: Mapping[str, Any], root: Path, ask: Ask) -> AccuracySection:
    """params.json: transformers' ``num_parameters()`` on the meta device, per config."""
    rows = []
    for key, ref in sorted(raw["models"].items()):
        kind, _, name = key.partition("/")
        path = _params_config_path(key, root)
        engine = naive = None
        note = ""
        if path is None or not path.is_file():
            note = Text("config file for %(key)s not found", key=key)
        else:
            data = path.read_bytes()
            result, error = ask("params", {"config": json.loads(data)})
            if error:
                note = error["message"]
            else:
                engine = result["total"]
                naive = naive_params(
                    layers=result["num_layers"],
                    hidden=result["hidden_size"],
                    vocab=result["vocab_size"],
                )
            if ref.get("config_sha256") not in (None, hashlib.sha256(data).hexdigest()):
                note = Text("config edited after the reference was measured")
        rows.append(
            AccuracyRow.from_values(
                key,
                name,
                PARAMS_KIND.get(kind, kind),
                reference=ref["total"],
                engine=engine,
                naive=naive,
                note=note,
            )
        )
    return AccuracySection.from_rows(
        "params",
        "Parameter count",
        "params",
        rows,
        source=(
            f"tools/reference/params.py: {raw.get('method', '')}; "
            f"torch {raw.get('torch', '?')}, transformers {raw.get('transformers', '?')}"
        ),
        naive_formula=Text(
            "%(n)s·L·h² + V·h (L layers, h hidden_size, V vocabulary; Kaplan et al. 2020, §2.1)",
            n=NAIVE_PARAMS_PER_LAYER_H2,
        ),
    )


# ------------------------------------------------------------------------- KV cache

DTYPE_BYTES = {"bfloat16": ("bf16", 2), "float16": ("fp16", 2), "float32": ("fp32", 4)}


def read_kv(raw: Mapping[str, Any], root: Path, ask: Ask) -> AccuracySection:
    """kv_cache.json: storage bytes of transformers' cache, one row per family (decode)."""
    rows = []
    for case in sorted(raw["cases"], key=lambda c: c["family"]):
        dtype, elem_bytes = DTYPE_BYTES[case["dtype"]]
        batch = case["batch"]
        args = {
            "config": case["config"],
            "weights": dtype,
            "kv_dtype": dtype,
            "batch": batch,
            "runtime": "transformers",
        }
        decode = case["stages"]["decode"]
        prefill = case["stages"]["prefill"]
        tokens = decode["context_tokens"]
        result, error = ask("infer", {**args, "context": tokens})
        engine = naive = None
        note = error["message"] if error else ""
        if result:
            engine = result["components"]["kv_cache"]
            naive = naive_kv_bytes(
                layers=result["model"]["num_layers"],
                hidden=result["model"]["hidden_size"],
                tokens=tokens,
                batch=batch,
                bytes_per_element=elem_bytes,
            )
            at_prefill, _ = ask("infer", {**args, "context": prefill["context_tokens"]})
            held = prefill["total_storage_bytes"]
            if at_prefill and at_prefill["components"]["kv_cache"] != held:
                note = Text(
                    "Right after the %(tokens)s-token prompt the cache holds %(held)s B: the "
                    "sliding layers' window view still pins the whole prompt until the first "
                    "decode step. The engine models the decode state.",
                    tokens=prefill["context_tokens"],
                    held=f"{held:,}",
                )
        source = Path(case["source_config"]).parent.name or Path(case["source_config"]).stem
        if source == "configs":
            source = Path(case["source_config"]).stem
        windows = sorted({w for w in case.get("windows", []) if w})
        detail = Text(
            "%(source)s layout, shrunk to %(layers)s layers; batch %(batch)s × %(tokens)s "
            "tokens, %(dtype)s",
            source=source,
            layers=len(decode["layers"]),
            batch=batch,
            tokens=tokens,
            dtype=case["dtype"],
        )
        if windows:
            detail = Text(
                "%(detail)s; sliding window %(windows)s",
                detail=detail,
                windows=", ".join(map(str, windows)),
            )
        rows.append(
            AccuracyRow.from_values(
                case["family"],
                case["family"],
                detail,
                reference=decode["total_storage_bytes"],
                engine=engine,
                naive=naive,
                note=note,
            )
        )
    return AccuracySection.from_rows(
        "kv_cache",
        "KV cache",
        "bytes",
        rows,
        source=f"{raw.get('tool', 'tools/reference/kv_cache.py')}; {_versions(raw)}",
        naive_formula=Text(
            "2 × layers × hidden_size × bytes per element × tokens × batch "
            "(K and V at hidden_size on every layer)"
        ),
    )


# ------------------------------------------------------------------------- training


def read_training(raw: Mapping[str, Any], root: Path, ask: Ask) -> AccuracySection:
    """training.json: peak bytes of one training step measured with PyTorch's MemTracker."""
    rows = []
    for case in raw["cases"]:
        settings = case["settings"]
        result, error = ask("train", {"config": case["config"], **case["workload"]})
        engine = naive = None
        if result:
            engine = comparable_training_bytes(result["components"], result["details"], settings)
            model = result["model"]
            naive = naive_training_bytes(
                params=model["total"],
                trainable_params=result["details"]["trainable_params"],
                full=settings["method"] == "full",
                batch=settings["batch"],
                seq=settings["seq"],
                hidden=model["hidden_size"],
                layers=model["num_layers"],
            )
        model_name, _, rest = str(case["id"]).partition("/")
        rows.append(
            AccuracyRow.from_values(
                case["id"],
                model_name,
                _training_detail(settings) or rest,
                reference=case["peak_bytes"],
                engine=engine,
                naive=naive,
                note=error["message"] if error else "",
            )
        )
    return AccuracySection.from_rows(
        "training",
        "Training step peak",
        "bytes",
        rows,
        source=(
            f"{raw.get('tool', 'tools/reference/train_mem.py')} (MemTracker under "
            f"FakeTensorMode, device {raw.get('device', '?')}); {_versions(raw)}"
        ),
        naive_formula=Text(
            "%(full)s B × parameters (LoRA: %(frozen)s B × parameters + %(full)s B × "
            "trainable) + %(act)s B × batch × seq × hidden × layers "
            "(Korthikanti et al. 2022, eq. 1 without the attention term)",
            full=NAIVE_TRAIN_BYTES_PER_PARAM,
            frozen=NAIVE_FROZEN_BYTES_PER_PARAM,
            act=NAIVE_ACTIVATION_BYTES_PER_SBH,
        ),
        validation=_training_validation(raw.get("validation") or ()),
    )


def _training_validation(records: Iterable[Mapping[str, Any]]) -> str:
    records = tuple(records)
    if not records:
        return ""
    same = sum(bool(r.get("identical")) for r in records)
    return Text(
        "%(same)s of %(total)s small cases gave identical bytes, phase by phase, with real "
        "CPU tensors and under FakeTensorMode",
        same=same,
        total=len(records),
    )


def _training_detail(settings: Mapping[str, Any]) -> str:
    parts: list[str] = [
        Text("batch %(batch)s × %(seq)s tokens", batch=settings["batch"], seq=settings["seq"]),
        str(settings["precision"]),
        str(settings["optimizer"]),
        str(settings["attention"]),
    ]
    if settings.get("grad_checkpointing"):
        parts.append(Text("checkpointing"))
    if settings.get("method") != "full":
        targets = "+".join(settings.get("lora_targets") or ())
        parts.append(
            Text("LoRA r=%(rank)s on %(targets)s", rank=settings.get("lora_rank"), targets=targets)
        )
    return join_texts(parts)


# --------------------------------------------------------- llama.cpp compute buffers


def read_llamacpp_buffers(raw: Mapping[str, Any], root: Path, ask: Ask) -> AccuracySection:
    """llamacpp_buffers.json: the compute buffer a CPU build of llama.cpp prints (issue 12).

    A CPU build reserves the same worst-case graph as a CUDA one in a single buffer: the
    engine's GPU compute buffer (activations + logits, with its copies of the graph inputs)
    plus the one CUDA_Host tensor never copied to the GPU, the token_embd rows of the
    micro-batch (n_embd × n_ubatch × 4 B). Runs the CPU cannot show (--cpu-moe, which
    only changes what a GPU build copies) are left out; --no-kv-offload is compared with
    the attention where a CPU build runs it, beside the rest."""
    rows = []
    for run in raw["runs"]:
        if "--cpu-moe" in run["args"]:
            continue
        config = raw["models"][run["model"]]
        request = {**run["request"], "kv_offload": True}
        result, error = ask("infer", {"config": config, **request})
        engine = naive = None
        if result:
            c, d = result["components"], result["details"]
            engine = c["activations"] + c["logits"] + config["hidden_size"] * d["n_ubatch"] * 4
            naive = config["vocab_size"] * d["n_ubatch"] * 4  # f32 logits of n_ubatch tokens
        rows.append(
            AccuracyRow.from_values(
                f"{run['model']} {' '.join(run['args'])}",
                run["model"],
                " ".join(run["args"]),
                reference=round(run["buffers_mib"]["CPU compute"] * 2**20),
                engine=engine,
                naive=naive,
                note=error["message"] if error else "",
            )
        )
    return AccuracySection.from_rows(
        "llamacpp_buffers",
        "llama.cpp compute buffers",
        "bytes",
        rows,
        source=(
            f"{raw.get('tool', 'tools/reference/llamacpp.py')}: llama-completion, CPU build of "
            f"ggml-org/llama.cpp {raw.get('llama_cpp_commit', '?')} ({raw.get('source', '')}); "
            "printed MiB with two decimals"
        ),
        naive_formula=Text("f32 logits: 4 B × n_vocab × n_ubatch"),
    )


# ----------------------------------------------------------------------------- load

# Readers for reference/<stem>.json, in page order; other files are ignored.
READERS: dict[str, Callable[[Mapping[str, Any], Path, Ask], AccuracySection]] = {
    "params": read_params,
    "kv_cache": read_kv,
    "training": read_training,
    "llamacpp_buffers": read_llamacpp_buffers,
}


def load_accuracy(
    reference_dir: Path = REFERENCE_DIR, *, ask: Ask = ask_engine, root: Path = ROOT
) -> tuple[AccuracySection, ...]:
    """Return one section per reference file present (none when the directory is absent).

    Raises ReferenceDataError (naming the file) when a file is malformed.
    """
    sections = []
    for stem, reader in READERS.items():
        path = reference_dir / f"{stem}.json"
        if not path.is_file():
            continue
        try:
            sections.append(reader(json.loads(path.read_text(encoding="utf-8")), root, ask))
        except (KeyError, TypeError, ValueError) as exc:
            raise ReferenceDataError(f"while reading {path}: {type(exc).__name__}: {exc}") from exc
    return tuple(sections)
