"""What the user asks for: validated inference and training workloads.

The CLI flags, the worker's JSON requests and the build all produce these through
``inference_from_dict`` / ``training_from_dict``, so validation lives in one place and
every bad value gets a message naming the field, the rule and the fix.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, fields
from typing import Any

from .errors import InvalidWorkload
from .kv import canonical_kv_dtype
from .messages import msg
from .vllm_release import releases as vllm_releases

RUNTIMES = ("transformers", "vllm", "llamacpp")
# canonical ids; runtimes' spellings (f16, fp8_e4m3 ...) map to them (kv.canonical_kv_dtype)
KV_DTYPES = (
    "auto", "fp32", "fp16", "bf16", "fp8", "q8_0", "q5_1", "q5_0", "iq4_nl", "q4_1", "q4_0",
)
METHODS = ("full", "lora", "qlora")
PRECISIONS = ("bf16", "amp-bf16", "amp-fp16", "fp32")
OPTIMIZERS = ("adamw", "adamw-8bit", "paged-adamw-8bit", "adafactor", "sgd", "lion")
RECOMPUTE = ("none", "selective", "full")
ATTENTION = ("sdpa", "flash", "eager")
OFFLOAD = ("none", "optimizer", "optimizer+params")
FLASH_ATTN = ("auto", "on", "off")  # llama.cpp -fa
SPLIT_MODES = ("layer", "row")  # llama.cpp -sm
ATTN_IMPLEMENTATIONS = ("sdpa", "eager", "flash_attention_2", "flex_attention")  # transformers
LORA_TARGETS = ("q", "k", "v", "o", "gate", "up", "down")

MAX_TOKENS = 10 * 1024 * 1024  # 10M tokens: above every released context length
MAX_BATCH = 65_536
MAX_GPUS = 4096

# The accepted range of every whole-number setting, inclusive: the parsers below check
# against it and engine.form gives it to the CLI and the page (min/max of each input).
INT_RANGES: dict[str, tuple[int, int]] = {
    "context": (1, MAX_TOKENS),
    "seq": (1, MAX_TOKENS),
    "batch": (1, MAX_BATCH),
    "tp": (1, MAX_GPUS),
    "pp": (1, MAX_GPUS),
    "gpus": (1, MAX_GPUS),
    "n_gpu_layers": (0, 100_000),
    "ubatch": (1, 65_536),
    "n_batch": (1, 1_048_576),
    "n_cpu_moe": (0, 100_000),
    "max_num_batched_tokens": (1, MAX_TOKENS),
    "max_num_seqs": (1, MAX_BATCH),
    "zero": (0, 3),
    "lora_rank": (1, 65_536),
    "lora_alpha": (1, 1_000_000),
}
# gpu_memory_utilization: a fraction in (0, 1] (0 excluded).
# vllm_version: the release lines of engine/data/vllm_releases.json, current first.
VLLM_VERSIONS = vllm_releases()
UTILIZATION_RANGE = (0.0, 1.0)


@dataclass(frozen=True)
class InferenceWorkload:
    weights: str = "bf16"  # quant format id (engine.quant), "auto" = checkpoint dtype
    kv_dtype: str = "auto"  # "auto" = the compute dtype (16-bit)
    context: int = 4096  # tokens per sequence (prompt + generated)
    batch: int = 1  # concurrent sequences
    runtime: str = "transformers"
    gpu: str | None = None  # GPU slug, for fit/headroom
    tp: int = 1  # tensor-parallel degree
    pp: int = 1  # pipeline-parallel degree
    gpu_memory_utilization: float | None = None  # vLLM's; None = its release's default
    n_gpu_layers: int | None = None  # llama.cpp: layers on the GPU (None = all)
    ubatch: int = 512  # llama.cpp n_ubatch (logits and compute buffers scale with it)
    n_batch: int = 2048  # llama.cpp -b: logical batch; n_ubatch = min(n_batch, n_ubatch)
    flash_attn: str = "auto"  # llama.cpp -fa: auto = on where the backend supports it
    kv_offload: bool = True  # llama.cpp: False = --no-kv-offload (KV and attention on the CPU)
    n_cpu_moe: int = 0  # llama.cpp --n-cpu-moe: expert weights of the first N layers on CPU
    split_mode: str = "layer"  # llama.cpp -sm: layer (whole layers per GPU) or row
    max_num_batched_tokens: int | None = None  # vLLM; None = vLLM's default for the GPU
    max_num_seqs: int | None = None  # vLLM; None = vLLM's default for the GPU
    chunked_prefill: bool = True  # vLLM --enable-chunked-prefill (on by default in V1)
    enforce_eager: bool = False  # vLLM --enforce-eager: no CUDA graphs
    vllm_version: str = "0.34"  # vLLM release line whose rules apply (engine.vllm_release)
    attn_implementation: str = "sdpa"  # transformers attn_implementation
    expandable_segments: bool = False  # PyTorch PYTORCH_CUDA_ALLOC_CONF (transformers)

    @property
    def num_gpus(self) -> int:
        return self.tp * self.pp


@dataclass(frozen=True)
class TrainingWorkload:
    method: str = "full"
    seq: int = 2048  # tokens per sample
    batch: int = 1  # micro-batch per GPU (data-parallel replica)
    precision: str = "amp-bf16"
    optimizer: str = "adamw"
    grad_checkpointing: str = "none"
    attention: str = "sdpa"
    zero: int = 0  # ZeRO stage 0..3 (3 = FSDP full shard)
    gpus: int = 1  # total GPUs = dp * tp * pp
    tp: int = 1
    pp: int = 1
    sequence_parallel: bool = False
    offload: str = "none"
    lora_rank: int = 16
    lora_alpha: int = 32
    lora_targets: tuple[str, ...] = LORA_TARGETS
    double_quant: bool = True  # QLoRA: bitsandbytes double quantization of the nf4 scales
    gpu: str | None = None
    expandable_segments: bool = False  # PyTorch PYTORCH_CUDA_ALLOC_CONF expandable_segments

    @property
    def dp(self) -> int:
        return self.gpus // (self.tp * self.pp)


def auto_runtime(weights: object) -> str:
    """Return the runtime that ``runtime: "auto"`` (the CLI's and the page's default) means
    for these weights: llamacpp for a GGUF type (only llama.cpp loads those files),
    otherwise the ``InferenceWorkload`` default, transformers. An unknown format raises
    ``UnknownQuantFormat``, as it would later anyway."""
    from .quant import get_format

    gguf = (
        isinstance(weights, str)
        and weights.lower() != "auto"
        and get_format(weights.lower()).family == "gguf"
    )
    return "llamacpp" if gguf else InferenceWorkload.runtime


def _not_whole(key: str, value: Any) -> InvalidWorkload:
    return InvalidWorkload(
        msg("{key} must be a whole number, got {value!r}", key=key, value=value), field=key
    )


def _int(raw: dict[str, Any], key: str, default: int, what: str) -> int:
    """Return ``raw[key]`` as a whole number in ``INT_RANGES[key]``; ``what`` (a message)
    names the unit."""
    lo, hi = INT_RANGES[key]
    value = raw.get(key, default)
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise _not_whole(key, value)
    try:
        as_float = float(value)
    except OverflowError:  # an integer past float range, e.g. a 4,000-digit --context
        from .limits import describe_number

        raise InvalidWorkload(
            msg(
                "{key} must be between {lo} and {hi:,} ({what}), got {value}",
                key=key,
                lo=lo,
                hi=hi,
                what=what,
                value=describe_number(value),
            ),
            field=key,
        ) from None
    except ValueError:
        raise _not_whole(key, value) from None
    if as_float != as_float or as_float in (float("inf"), float("-inf")):
        raise InvalidWorkload(
            msg("{key} must be a finite whole number, got {value!r}", key=key, value=value),
            field=key,
        )
    if as_float != int(as_float):
        raise _not_whole(key, value)
    number = int(as_float)
    if number < lo:
        raise InvalidWorkload(
            msg(
                "{key} must be at least {lo} ({what}), got {number}",
                key=key,
                lo=lo,
                what=what,
                number=number,
            ),
            field=key,
        )
    if number > hi:
        raise InvalidWorkload(
            msg(
                "{key} must be at most {hi:,} ({what}), got {number:,}",
                key=key,
                hi=hi,
                what=what,
                number=number,
            ),
            field=key,
        )
    return number


def choice_error(key: str, value: object, choices: tuple[str, ...]) -> InvalidWorkload:
    """The error for a value outside its choices: one sentence wherever a choice is checked."""
    return InvalidWorkload(
        msg(
            "{key} must be one of {choices}; got {value!r}",
            key=key,
            choices=", ".join(choices),
            value=value,
        ),
        field=key,
    )


def _choice(raw: dict[str, Any], key: str, default: str, choices: tuple[str, ...]) -> str:
    value = raw.get(key, default)
    if not isinstance(value, str) or value.lower() not in choices:
        raise choice_error(key, value, choices)
    return value.lower()


def _check_keys(raw: dict[str, Any], cls: type, extra: tuple[str, ...]) -> None:
    allowed = {f.name for f in fields(cls)} | set(extra)
    unknown = sorted(set(raw) - allowed)
    if unknown:
        raise InvalidWorkload(
            msg(
                "unknown setting {name!r}; known settings: {known}",
                name=unknown[0],
                known=", ".join(sorted(allowed)),
            ),
            field=unknown[0],
        )


def inference_from_dict(
    raw: dict[str, Any], *, extra_keys: tuple[str, ...] = ()
) -> InferenceWorkload:
    """Validate a JSON-like dict into an ``InferenceWorkload`` (unknown keys are errors)."""
    _check_keys(raw, InferenceWorkload, extra_keys)
    d = InferenceWorkload()
    util = raw.get("gpu_memory_utilization", d.gpu_memory_utilization)
    lo, hi = UTILIZATION_RANGE
    if util is not None and (
        isinstance(util, bool) or not isinstance(util, (int, float)) or not lo < util <= hi
    ):
        raise InvalidWorkload(
            msg("gpu_memory_utilization must be a fraction in (0, 1], got {value!r}", value=util),
            field="gpu_memory_utilization",
        )
    n_gpu_layers = raw.get("n_gpu_layers")
    if n_gpu_layers is not None:
        layers = msg("layers offloaded to the GPU")
        n_gpu_layers = _int(raw, "n_gpu_layers", 0, layers)
    gpu = raw.get("gpu")
    if gpu is not None and (not isinstance(gpu, str) or not gpu):
        raise InvalidWorkload(msg("gpu must be a GPU slug, got {value!r}", value=gpu), field="gpu")
    optional: dict[str, int | None] = {}
    for key, what in (
        ("max_num_batched_tokens", msg("vLLM tokens per step")),
        ("max_num_seqs", msg("vLLM sequences per step")),
    ):
        optional[key] = None if raw.get(key) is None else _int(raw, key, 0, what)
    for flag in ("kv_offload", "chunked_prefill", "enforce_eager"):
        if flag in raw and not isinstance(raw[flag], bool):
            raise InvalidWorkload(
                msg("{key} must be true or false, got {value!r}", key=flag, value=raw[flag]),
                field=flag,
            )
    weights = raw.get("weights", d.weights)
    if not isinstance(weights, str) or not weights:
        raise InvalidWorkload(
            msg("weights must be a format name, got {value!r}", value=weights), field="weights"
        )
    return InferenceWorkload(
        weights=weights.lower(),
        kv_dtype=_choice(
            {"kv_dtype": canonical_kv_dtype(raw.get("kv_dtype", d.kv_dtype))},
            "kv_dtype", d.kv_dtype, KV_DTYPES,
        ),
        context=_int(raw, "context", d.context, msg("tokens per sequence")),
        batch=_int(raw, "batch", d.batch, msg("concurrent sequences")),
        runtime=_choice(raw, "runtime", d.runtime, RUNTIMES),
        gpu=gpu,
        tp=_int(raw, "tp", d.tp, msg("tensor-parallel GPUs")),
        pp=_int(raw, "pp", d.pp, msg("pipeline stages")),
        gpu_memory_utilization=None if util is None else float(util),
        n_gpu_layers=n_gpu_layers,
        ubatch=_int(raw, "ubatch", d.ubatch, msg("llama.cpp micro-batch")),
        n_batch=_int(raw, "n_batch", d.n_batch, msg("llama.cpp logical batch")),
        flash_attn=_choice(raw, "flash_attn", d.flash_attn, FLASH_ATTN),
        kv_offload=bool(raw.get("kv_offload", d.kv_offload)),
        n_cpu_moe=_int(raw, "n_cpu_moe", d.n_cpu_moe, msg("layers with experts on the CPU")),
        split_mode=_choice(raw, "split_mode", d.split_mode, SPLIT_MODES),
        max_num_batched_tokens=optional["max_num_batched_tokens"],
        max_num_seqs=optional["max_num_seqs"],
        chunked_prefill=bool(raw.get("chunked_prefill", d.chunked_prefill)),
        enforce_eager=bool(raw.get("enforce_eager", d.enforce_eager)),
        attn_implementation=_choice(
            raw, "attn_implementation", d.attn_implementation, ATTN_IMPLEMENTATIONS
        ),
        vllm_version=_choice(raw, "vllm_version", d.vllm_version, VLLM_VERSIONS),
        expandable_segments=bool(raw.get("expandable_segments", d.expandable_segments)),
    )


# QLoRA as the paper and peft's prepare_model_for_kbit_training run it: gradient
# checkpointing on, paged 8-bit AdamW (Dettmers et al. 2023, §4; peft docs). "auto" picks
# these for qlora and the plain defaults otherwise; explicit values always win.
METHOD_DEFAULTS: dict[str, dict[str, str]] = {
    "full": {"optimizer": "adamw", "grad_checkpointing": "none"},
    "lora": {"optimizer": "adamw", "grad_checkpointing": "none"},
    "qlora": {"optimizer": "paged-adamw-8bit", "grad_checkpointing": "full"},
}


def check_lora_targets(targets: Iterable[str]) -> None:
    """Every target must be one of LORA_TARGETS (the first unknown one is named)."""
    for t in targets:
        if t not in LORA_TARGETS:
            raise InvalidWorkload(
                msg(
                    "unknown LoRA target {target!r}; choose from {targets}",
                    target=t,
                    targets=", ".join(LORA_TARGETS),
                ),
                field="lora_targets",
            )


def check_gpu_split(work: TrainingWorkload) -> None:
    """The GPUs must hold whole tp × pp model replicas (the rest is data parallelism)."""
    if work.gpus % (work.tp * work.pp):
        raise InvalidWorkload(
            msg(
                "gpus ({gpus}) must be a multiple of tp × pp ({tp} × {pp})",
                gpus=work.gpus,
                tp=work.tp,
                pp=work.pp,
            ),
            field="gpus",
        )


def training_from_dict(
    raw: dict[str, Any], *, extra_keys: tuple[str, ...] = ()
) -> TrainingWorkload:
    """Validate a JSON-like dict into a ``TrainingWorkload`` (unknown keys are errors).

    ``optimizer`` and ``grad_checkpointing`` accept "auto": the method's usual setting
    (``METHOD_DEFAULTS``).
    """
    _check_keys(raw, TrainingWorkload, extra_keys)
    d = TrainingWorkload()
    method = _choice(raw, "method", d.method, METHODS)
    raw = dict(raw)
    for key in ("optimizer", "grad_checkpointing"):
        if raw.get(key, "auto") == "auto":
            raw[key] = METHOD_DEFAULTS[method][key]
    targets = raw.get("lora_targets", d.lora_targets)
    if isinstance(targets, str):
        targets = [t.strip() for t in targets.split(",") if t.strip()]
    if not isinstance(targets, (list, tuple)) or not targets:
        raise InvalidWorkload(
            msg("lora_targets must list modules from {targets}", targets=", ".join(LORA_TARGETS)),
            field="lora_targets",
        )
    check_lora_targets(targets)
    for flag in ("sequence_parallel", "double_quant", "expandable_segments"):
        if flag in raw and not isinstance(raw[flag], bool):
            raise InvalidWorkload(
                msg("{key} must be true or false, got {value!r}", key=flag, value=raw[flag]),
                field=flag,
            )
    gpu = raw.get("gpu")
    if gpu is not None and (not isinstance(gpu, str) or not gpu):
        raise InvalidWorkload(msg("gpu must be a GPU slug, got {value!r}", value=gpu), field="gpu")
    work = TrainingWorkload(
        method=method,
        seq=_int(raw, "seq", d.seq, msg("tokens per sample")),
        batch=_int(raw, "batch", d.batch, msg("micro-batch per GPU")),
        precision=_choice(raw, "precision", d.precision, PRECISIONS),
        optimizer=_choice(raw, "optimizer", d.optimizer, OPTIMIZERS),
        grad_checkpointing=_choice(raw, "grad_checkpointing", d.grad_checkpointing, RECOMPUTE),
        attention=_choice(raw, "attention", d.attention, ATTENTION),
        zero=_int(raw, "zero", d.zero, msg("ZeRO stage")),
        gpus=_int(raw, "gpus", d.gpus, msg("GPUs in total")),
        tp=_int(raw, "tp", d.tp, msg("tensor-parallel GPUs")),
        pp=_int(raw, "pp", d.pp, msg("pipeline stages")),
        sequence_parallel=bool(raw.get("sequence_parallel", d.sequence_parallel)),
        offload=_choice(raw, "offload", d.offload, OFFLOAD),
        lora_rank=_int(raw, "lora_rank", d.lora_rank, msg("LoRA rank")),
        lora_alpha=_int(raw, "lora_alpha", d.lora_alpha, msg("LoRA alpha")),
        lora_targets=tuple(dict.fromkeys(targets)),
        double_quant=bool(raw.get("double_quant", d.double_quant)),
        gpu=gpu,
        expandable_segments=bool(raw.get("expandable_segments", d.expandable_segments)),
    )
    check_gpu_split(work)
    return work
