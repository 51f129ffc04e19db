"""The form schema: every workload setting once, for the CLI, the templates and the page.

``engine.workload`` owns what is *valid* (the choice tuples, ``INT_RANGES``, the dataclass
defaults); this module says how each setting is *asked for*: its kind, label and help
message ids, the modes, runtimes and methods it applies to, its URL key, and where the
page or the CLI start from another value than the engine's default, with the reason.
``vram``'s argparse options are built from ``INFERENCE_FIELDS``/``TRAINING_FIELDS``, the
calculator template renders its controls from them, and the page reads ``page_schema()``
from a JSON blob the build embeds (``python -m engine.form`` prints it).

Mode words are defined here once (``Mode``): ``infer``, ``train`` and ``finetune`` are
the form's and the URL's words and name the ops and CLI commands (fine-tuning runs the
``train`` op). Schema-1 results and presets spell the two op kinds ``inference`` and
``training`` (``Mode.result``); those JSON values are frozen by schema 1, so the words are
mapped at that edge and ``MODE_ALIASES`` accepts them (and older spellings) in links and
stored history.
"""

from __future__ import annotations

import json
from dataclasses import MISSING, dataclass, fields, replace
from enum import StrEnum
from typing import Any

from .workload import (
    ATTENTION,
    ATTN_IMPLEMENTATIONS,
    FLASH_ATTN,
    INT_RANGES,
    KV_DTYPES,
    LORA_TARGETS,
    METHOD_DEFAULTS,
    METHODS,
    OFFLOAD,
    OPTIMIZERS,
    PRECISIONS,
    RECOMPUTE,
    RUNTIMES,
    SPLIT_MODES,
    UTILIZATION_RANGE,
    VLLM_VERSIONS,
    InferenceWorkload,
    TrainingWorkload,
    auto_runtime,
)


def gettext_noop(text: str) -> str:
    """Mark ``text`` as a message id of the page catalog (``locale/``) without translating
    it: templates pass it to ``_()`` when they render the label."""
    return text


N_ = gettext_noop


class Kind(StrEnum):
    """How a setting is typed: the argparse ``type``, the HTML control, the URL parsing."""

    INT = "int"
    FLOAT = "float"
    CHOICE = "choice"  # one of ``Field.choices``
    BOOL = "bool"
    TEXT = "text"  # a free string the engine checks (a format id, a GPU slug)
    LIST = "list"  # several of ``Field.choices``; comma-separated on the CLI and in URLs


class Mode(StrEnum):
    """The calculator's modes. ``train`` is full-parameter training; ``finetune`` is full,
    LoRA or QLoRA fine-tuning; both run the ``train`` op."""

    INFER = "infer"
    TRAIN = "train"
    FINETUNE = "finetune"

    @property
    def op(self) -> str:
        """The ``engine.api`` op (and ``vram`` command) that computes this mode."""
        return "infer" if self is Mode.INFER else "train"

    @property
    def result(self) -> str:
        """The schema-1 ``mode`` of this mode's results and presets (frozen by schema 1)."""
        return "inference" if self is Mode.INFER else "training"

    @property
    def label(self) -> str:
        """Message id (page catalog) of the mode's name on the form."""
        return {
            Mode.INFER: N_("Inference"),
            Mode.TRAIN: N_("Training"),
            Mode.FINETUNE: N_("Fine-tuning"),
        }[self]

    @property
    def fixed(self) -> dict[str, str]:
        """Request values this mode implies: training mode is always full-parameter."""
        return {"method": "full"} if self is Mode.TRAIN else {}


# Other words accepted for a mode in links and stored history: the schema-1 result words
# and spelled-out forms. "training" maps to the training mode; a link from before the
# fine-tuning mode (mode=train&method=lora) is fine-tuning (``parse_mode``).
MODE_ALIASES: dict[str, Mode] = {
    "inference": Mode.INFER,
    "training": Mode.TRAIN,
    "fine-tuning": Mode.FINETUNE,
    "finetuning": Mode.FINETUNE,
}
DEFAULT_MODE = Mode.INFER


def parse_mode(word: object, method: object = None) -> Mode:
    """Return the mode a link or stored entry names (any spelling); unknown → inference.

    ``method`` is the link's method when it has one: ``train`` with a method other than
    full is what the fine-tuning mode now shows."""
    text = str(word).strip().lower()
    mode = MODE_ALIASES.get(text)
    if mode is None:
        try:
            mode = Mode(text)
        except ValueError:
            return DEFAULT_MODE
    if mode is Mode.TRAIN and method not in (None, "full"):
        return Mode.FINETUNE
    return mode


@dataclass(frozen=True)
class Choice:
    value: str | int
    label: str  # message id (page catalog); the value itself where it is the usual word


@dataclass(frozen=True)
class Default:
    """A starting value other than the engine's, and why it differs."""

    value: Any
    reason: str


@dataclass(frozen=True)
class Field:
    """One setting of a workload (or of a request, ``request_only``)."""

    name: str  # the request key (``engine.api`` args) and workload field
    kind: Kind
    label: str  # message id: the form's label
    help: str  # the CLI's --help text
    default: Any  # the engine's default: the workload dataclass field's default
    modes: tuple[Mode, ...]
    key: str = ""  # URL query key and form control name; "" = ``name``
    choices: tuple[Choice, ...] = ()
    minimum: int | float | None = None
    maximum: int | float | None = None
    min_exclusive: bool = False  # the value must be above ``minimum``
    step: int | float | None = None
    runtimes: tuple[str, ...] = ()  # applies only with these runtimes (empty = all)
    methods: tuple[str, ...] = ()  # applies only with these training methods (empty = all)
    # message id: the label of the page's "auto" option (the method decides), or of an
    # empty number box (default None: the runtime decides)
    auto: str = ""
    page: bool = True  # the calculator form has a control for it
    page_default: Default | None = None  # the page starts from another value
    cli_default: Default | None = None  # the CLI starts from another value
    cli_const: str | None = None  # value of the bare flag (``nargs="?"``)
    request_only: bool = False  # a request key the API turns into workload fields

    @property
    def url_key(self) -> str:
        return self.key or self.name

    @property
    def flag(self) -> str:
        """The CLI option; a bool that defaults to on is switched off (``--no-…``)."""
        name = self.name.replace("_", "-")
        return f"--no-{name}" if self.kind is Kind.BOOL and self.default is True else f"--{name}"

    @property
    def page_value(self) -> Any:
        return self.page_default.value if self.page_default else self.default

    @property
    def cli_value(self) -> Any:
        return self.cli_default.value if self.cli_default else self.default

    @property
    def choice_values(self) -> tuple[str | int, ...]:
        return tuple(c.value for c in self.choices)


_AUTO_METHOD = Default(
    "auto",
    "the method's usual setting (engine.workload.METHOD_DEFAULTS): paged 8-bit AdamW and "
    "full recomputation for QLoRA, as peft runs it; the plain default otherwise",
)
_AUTO_RUNTIME = Default(
    "auto",
    "the runtime that loads the weight format (engine.workload.auto_runtime): llama.cpp "
    "for GGUF types, transformers otherwise",
)
_ALL_GPUS = Default(None, "--gpus may set it (split as the runtime splits a model)")


def _default(cls: type, name: str) -> Any:
    for f in fields(cls):
        if f.name == name:
            if f.default is not MISSING:
                return f.default
            return f.default_factory()  # type: ignore[misc]
    raise KeyError(name)


def _choices(values: tuple[str, ...], labels: dict[str, str] | None = None) -> tuple[Choice, ...]:
    labels = labels or {}
    return tuple(Choice(v, labels.get(v, v)) for v in values)


def _int_field(
    cls: type, name: str, label: str, help: str, modes: tuple[Mode, ...], **kw: Any
) -> Field:
    """A whole-number field with its range from ``workload.INT_RANGES``."""
    lo, hi = INT_RANGES[name]
    return Field(
        name,
        Kind.INT,
        label,
        help,
        _default(cls, name),
        modes,
        minimum=lo,
        maximum=hi,
        step=1,
        **kw,
    )


_I = (Mode.INFER,)
_T = (Mode.TRAIN, Mode.FINETUNE)
_FT = (Mode.FINETUNE,)
_INF = InferenceWorkload
_TRN = TrainingWorkload

# In the order of ``vram infer --help``.
INFERENCE_FIELDS: tuple[Field, ...] = (
    Field(
        "weights",
        Kind.TEXT,
        N_("Weights"),
        "weight format: bf16, fp16, fp8, int8, nf4, q4_k_m, gptq-4bit-g128, "
        "auto (= as published)… see 'vram formats' (default: bf16)",
        _default(_INF, "weights"),
        _I,
    ),
    Field(
        "kv_dtype",
        Kind.CHOICE,
        N_("KV cache dtype"),
        "KV-cache dtype: auto (16-bit), fp32, fp16, bf16, fp8, q8_0, q5_1, q5_0, iq4_nl, "
        "q4_1, q4_0; llama.cpp's and vLLM's names work too (f16, fp8_e4m3 ...) (default: auto)",
        _default(_INF, "kv_dtype"),
        _I,
        choices=_choices(KV_DTYPES),
    ),
    _int_field(
        _INF,
        "context",
        N_("Context (tokens)"),
        "tokens per sequence, prompt + generated (default: 4096)",
        _I,
    ),
    _int_field(_INF, "batch", N_("Concurrent sequences"), "concurrent sequences (default: 1)", _I),
    Field(
        "runtime",
        Kind.CHOICE,
        N_("Runtime"),
        "transformers | vllm | llamacpp | auto (default: auto = llamacpp for GGUF "
        "formats such as q4_k_m, else transformers)",
        _default(_INF, "runtime"),
        _I,
        choices=_choices(
            RUNTIMES,
            {"transformers": "Transformers (PyTorch)", "vllm": "vLLM", "llamacpp": "llama.cpp"},
        ),
        cli_default=_AUTO_RUNTIME,
        # the form has no "auto" option: a link without a runtime gets auto_runtime(weights)
        # (page_schema's runtime_for_weights), as picking those weights in the form does
    ),
    Field(
        "gpu",
        Kind.TEXT,
        N_("GPU"),
        "GPU slug to check the fit against ('vram gpus')",
        _default(_INF, "gpu"),
        _I,
    ),
    Field(
        "gpus",
        Kind.INT,
        N_("GPUs in total"),
        "number of GPUs; sets --tp (--pp for llamacpp, which splits by layers) "
        "when --tp/--pp are not given (default: 1)",
        None,
        _I,
        minimum=1,
        maximum=INT_RANGES["gpus"][1],
        step=1,
        page=False,
        request_only=True,
    ),
    _int_field(
        _INF,
        "tp",
        N_("Tensor parallel"),
        "tensor-parallel degree (default: 1)",
        _I,
        cli_default=_ALL_GPUS,
    ),
    _int_field(
        _INF,
        "pp",
        N_("Pipeline parallel"),
        "pipeline-parallel stages (default: 1)",
        _I,
        cli_default=_ALL_GPUS,
    ),
    Field(
        "gpu_memory_utilization",
        Kind.FLOAT,
        N_("vLLM memory fraction"),
        "vLLM --gpu-memory-utilization: fraction of GPU memory vLLM may fill (default: "
        "vLLM 0.34's, 1.0 on NVIDIA/AMD with the extensible KV cache, else 0.92; 0.33: 0.92)",
        _default(_INF, "gpu_memory_utilization"),
        _I,
        minimum=UTILIZATION_RANGE[0],
        maximum=UTILIZATION_RANGE[1],
        min_exclusive=True,
        step=0.01,
        runtimes=("vllm",),
        auto=N_("vLLM's default for the GPU"),
    ),
    _int_field(
        _INF,
        "n_gpu_layers",
        N_("Layers on the GPU"),
        "llama.cpp: layers on the GPU (default: all)",
        _I,
        runtimes=("llamacpp",),
        auto=N_("All layers"),
    ),
    _int_field(
        _INF,
        "ubatch",
        N_("Micro-batch (n_ubatch)"),
        "llama.cpp: physical micro-batch n_ubatch (default: 512)",
        _I,
        runtimes=("llamacpp",),
    ),
    # Runtime settings of issue 12 (engine/README.md "Runtime buffers" cites each default).
    _int_field(
        _INF,
        "n_batch",
        N_("Logical batch (n_batch)"),
        "llama.cpp: logical batch -b; n_ubatch is capped by it (default: 2048)",
        _I,
        runtimes=("llamacpp",),
    ),
    Field(
        "flash_attn",
        Kind.CHOICE,
        N_("Flash attention"),
        "llama.cpp -fa: auto | on | off; off keeps an f32 n_ctx × n_ubatch × heads score "
        "matrix (default: auto = on where the GPU supports it)",
        _default(_INF, "flash_attn"),
        _I,
        choices=_choices(FLASH_ATTN),
        runtimes=("llamacpp",),
    ),
    Field(
        "kv_offload",
        Kind.BOOL,
        N_("KV cache on the GPU"),
        "llama.cpp --no-kv-offload: KV cache and attention in CPU RAM",
        _default(_INF, "kv_offload"),
        _I,
        runtimes=("llamacpp",),
    ),
    _int_field(
        _INF,
        "n_cpu_moe",
        N_("Layers with experts on the CPU"),
        "llama.cpp --n-cpu-moe: expert weights of the first N layers in CPU RAM "
        "(-ot exps=CPU / --cpu-moe: all layers) (default: 0)",
        _I,
        runtimes=("llamacpp",),
    ),
    Field(
        "split_mode",
        Kind.CHOICE,
        N_("Split mode"),
        "llama.cpp -sm across --pp GPUs: layer (whole layers per GPU) | row (weight rows "
        "split over all GPUs) (default: layer)",
        _default(_INF, "split_mode"),
        _I,
        choices=_choices(SPLIT_MODES),
        runtimes=("llamacpp",),
    ),
    _int_field(
        _INF,
        "max_num_batched_tokens",
        N_("Max batched tokens"),
        "vLLM --max-num-batched-tokens (default: vLLM's for the GPU: 8192 on >= 70 GiB "
        "non-A100 GPUs, else 2048; max_model_len without chunked prefill)",
        _I,
        runtimes=("vllm",),
        auto=N_("vLLM's default for the GPU"),
    ),
    _int_field(
        _INF,
        "max_num_seqs",
        N_("Max sequences"),
        "vLLM --max-num-seqs: sampler warm-up rows (default: 1024 on >= 70 GiB non-A100 "
        "GPUs, else 256)",
        _I,
        runtimes=("vllm",),
        auto=N_("vLLM's default for the GPU"),
    ),
    Field(
        "chunked_prefill",
        Kind.BOOL,
        N_("Chunked prefill"),
        "vLLM --no-enable-chunked-prefill: one step takes a whole max_model_len prompt",
        _default(_INF, "chunked_prefill"),
        _I,
        runtimes=("vllm",),
    ),
    Field(
        "enforce_eager",
        Kind.BOOL,
        N_("Enforce eager"),
        "vLLM --enforce-eager: no CUDA graphs (saves their memory)",
        _default(_INF, "enforce_eager"),
        _I,
        runtimes=("vllm",),
    ),
    Field(
        "vllm_version",
        Kind.CHOICE,
        N_("vLLM release"),
        "vLLM release line whose memory rules apply: 0.34 (current: extensible KV cache, "
        "64-token blocks) | 0.33 (KV cache sized from the profiling estimate, 16-token "
        "blocks) (default: 0.34)",
        _default(_INF, "vllm_version"),
        _I,
        choices=_choices(
            VLLM_VERSIONS, {"0.34": N_("0.34 (current)"), "0.33": N_("0.33 (previous)")}
        ),
        runtimes=("vllm",),
    ),
    Field(
        "attn_implementation",
        Kind.CHOICE,
        N_("Attention implementation"),
        "transformers attn_implementation: sdpa | eager | flash_attention_2 | "
        "flex_attention; eager keeps the score matrix (default: sdpa)",
        _default(_INF, "attn_implementation"),
        _I,
        choices=_choices(ATTN_IMPLEMENTATIONS),
        runtimes=("transformers",),
    ),
    Field(
        "expandable_segments",
        Kind.BOOL,
        N_("Expandable segments"),
        "PyTorch PYTORCH_CUDA_ALLOC_CONF=expandable_segments:True: the caching allocator "
        "grows one segment in pages, no fragmentation allowance (default: off)",
        _default(_INF, "expandable_segments"),
        _I,
        runtimes=("transformers",),
    ),
)

# In the order of ``vram train --help``.
TRAINING_FIELDS: tuple[Field, ...] = (
    Field(
        "method",
        Kind.CHOICE,
        N_("Method"),
        "full | lora | qlora (default: full)",
        _default(_TRN, "method"),
        _FT,  # the training mode is full-parameter (Mode.fixed)
        choices=_choices(
            METHODS,
            {"full": N_("Full fine-tuning"), "lora": "LoRA", "qlora": N_("QLoRA (4-bit base)")},
        ),
        page_default=Default(
            "lora",
            "the fine-tuning mode opens on LoRA, the usual way to fine-tune on one GPU; "
            "full-parameter runs have their own mode (training), which sends method=full",
        ),
    ),
    _int_field(_TRN, "seq", N_("Sequence length"), "tokens per sample (default: 2048)", _T),
    _int_field(
        _TRN,
        "batch",
        N_("Micro-batch per GPU"),
        "micro-batch per GPU (default: 1)",
        _T,
        key="tbatch",  # one URL/form key per control: "batch" is the inference batch
    ),
    Field(
        "precision",
        Kind.CHOICE,
        N_("Precision"),
        "bf16 (weights, grads, AdamW states all bf16) | amp-bf16 (fp32 weights, "
        "grads and states, bf16 autocast) | amp-fp16 | fp32 (default: amp-bf16)",
        _default(_TRN, "precision"),
        _T,
        choices=_choices(
            PRECISIONS,
            {
                "amp-bf16": N_("Mixed bf16 (fp32 master)"),
                "bf16": N_("Pure bf16"),
                "amp-fp16": N_("Mixed fp16"),
            },
        ),
    ),
    Field(
        "optimizer",
        Kind.CHOICE,
        N_("Optimizer"),
        "adamw | adamw-8bit | paged-adamw-8bit | adafactor | sgd | lion | auto "
        "(default: auto = paged-adamw-8bit for qlora, else adamw)",
        _default(_TRN, "optimizer"),
        _T,
        choices=_choices(OPTIMIZERS),
        auto=N_("Method default (QLoRA: paged 8-bit AdamW)"),
        page_default=_AUTO_METHOD,
        cli_default=_AUTO_METHOD,
    ),
    Field(
        "grad_checkpointing",
        Kind.CHOICE,
        N_("Activation recomputation"),
        "none | selective | full | auto; the bare flag means full "
        "(default: auto = full for qlora, as peft's prepare_model_for_kbit_training"
        " does, else none)",
        _default(_TRN, "grad_checkpointing"),
        _T,
        choices=_choices(
            RECOMPUTE,
            {
                "none": N_("None"),
                "selective": N_("Selective"),
                "full": N_("Full (gradient checkpointing)"),
            },
        ),
        auto=N_("Method default (QLoRA: full)"),
        page_default=_AUTO_METHOD,
        cli_default=_AUTO_METHOD,
        cli_const="full",
    ),
    Field(
        "attention",
        Kind.CHOICE,
        N_("Attention kernel"),
        "sdpa | flash | eager (default: sdpa)",
        _default(_TRN, "attention"),
        _T,
        choices=_choices(
            ATTENTION, {"sdpa": "SDPA", "flash": "FlashAttention", "eager": N_("Eager")}
        ),
    ),
    _int_field(_TRN, "zero", N_("ZeRO stage"), "ZeRO stage 0-3; 3 = FSDP (default: 0)", _T),
    _int_field(_TRN, "gpus", N_("GPUs in total"), "GPUs in total (default: 1)", _T),
    _int_field(_TRN, "tp", N_("Tensor parallel"), "tensor-parallel degree (default: 1)", _T),
    _int_field(_TRN, "pp", N_("Pipeline parallel"), "pipeline stages (default: 1)", _T),
    Field(
        "sequence_parallel",
        Kind.BOOL,
        N_("Sequence parallel"),
        "Megatron sequence parallel",
        _default(_TRN, "sequence_parallel"),
        _T,
    ),
    Field(
        "offload",
        Kind.CHOICE,
        N_("CPU offload"),
        "none | optimizer | optimizer+params (CPU offload; default: none)",
        _default(_TRN, "offload"),
        _T,
        choices=_choices(
            OFFLOAD,
            {
                "none": N_("None"),
                "optimizer": N_("Optimizer states"),
                "optimizer+params": N_("Optimizer states and parameters"),
            },
        ),
    ),
    _int_field(
        _TRN,
        "lora_rank",
        N_("LoRA rank"),
        "LoRA rank r (default: 16)",
        _FT,
        methods=("lora", "qlora"),
    ),
    _int_field(
        _TRN,
        "lora_alpha",
        N_("LoRA alpha"),
        "LoRA alpha (default: 32)",
        _FT,
        methods=("lora", "qlora"),
    ),
    Field(
        "lora_targets",
        Kind.LIST,
        N_("LoRA targets"),
        "comma-separated modules (default: q,k,v,o,gate,up,down)",
        _default(_TRN, "lora_targets"),
        _FT,
        choices=_choices(LORA_TARGETS),
        methods=("lora", "qlora"),
    ),
    Field(
        "double_quant",
        Kind.BOOL,
        N_("Double quantization"),
        "QLoRA: disable bitsandbytes double quantization",
        _default(_TRN, "double_quant"),
        _FT,
        methods=("qlora",),
    ),
    Field(
        "gpu",
        Kind.TEXT,
        N_("GPU"),
        "GPU slug to check the fit against",
        _default(_TRN, "gpu"),
        _T,
    ),
    Field(
        "expandable_segments",
        Kind.BOOL,
        N_("Expandable segments"),
        "PyTorch PYTORCH_CUDA_ALLOC_CONF=expandable_segments:True: the caching allocator "
        "grows one segment in pages, no fragmentation allowance (default: off)",
        _default(_TRN, "expandable_segments"),
        _T,
    ),
)

# The page's URL and form keys in their link order (links list only what differs from
# the defaults, in this order, so they stay short and stable).
PAGE_KEYS: tuple[str, ...] = (
    "weights", "kv_dtype", "context", "batch", "runtime", "gpu", "tp", "pp", "method", "seq",
    "tbatch", "precision", "optimizer", "grad_checkpointing", "attention", "zero", "gpus",
    "offload", "lora_rank", "lora_alpha", "lora_targets", "gpu_memory_utilization",
    "flash_attn", "n_cpu_moe", "max_num_batched_tokens", "max_num_seqs", "attn_implementation",
    "vllm_version", "n_gpu_layers", "ubatch", "n_batch", "kv_offload", "split_mode",
    "chunked_prefill", "enforce_eager", "expandable_segments", "sequence_parallel",
    "double_quant",
)  # fmt: skip


def fields_for(mode: Mode) -> tuple[Field, ...]:
    """The settings of a mode's op, in CLI order."""
    return INFERENCE_FIELDS if mode is Mode.INFER else TRAINING_FIELDS


@dataclass(frozen=True)
class PageField:
    """One control of the calculator form: the fields of every mode that share its key."""

    key: str
    name: str
    kind: Kind
    label: str
    default: Any
    modes: tuple[Mode, ...]
    choices: tuple[Choice, ...] = ()
    minimum: int | float | None = None
    maximum: int | float | None = None
    min_exclusive: bool = False
    step: int | float | None = None
    runtimes: tuple[str, ...] = ()
    methods: tuple[str, ...] = ()
    auto: str = ""
    reason: str = ""  # why ``default`` is not the engine's default


def page_fields() -> tuple[PageField, ...]:
    """The calculator's controls in ``PAGE_KEYS`` order; a key shared by modes (tp, pp,
    gpu) is one control that applies to all of them. A runtime restriction binds only in
    the modes that choose a runtime (training runs in PyTorch), so a shared key may carry
    one there (expandable_segments: transformers in inference, every training run)."""
    merged: dict[str, PageField] = {}
    runtime_modes = next(f.modes for f in INFERENCE_FIELDS if f.name == "runtime")
    for f in INFERENCE_FIELDS + TRAINING_FIELDS:
        if not f.page:
            continue
        default = f.page_value
        if isinstance(default, tuple):
            default = list(default)
        seen = merged.get(f.url_key)
        if seen is not None:
            if (seen.kind, seen.default, seen.name) != (f.kind, default, f.name):
                raise ValueError(f"form key {f.url_key!r} differs between modes")
            if seen.runtimes != f.runtimes and any(
                m in runtime_modes for m in (f.modes if seen.runtimes else seen.modes)
            ):
                raise ValueError(f"form key {f.url_key!r} applies to other runtimes by mode")
            merged[f.url_key] = replace(
                seen, modes=seen.modes + f.modes, runtimes=seen.runtimes or f.runtimes
            )
            continue
        merged[f.url_key] = PageField(
            key=f.url_key,
            name=f.name,
            kind=f.kind,
            label=f.label,
            default=default,
            modes=f.modes,
            choices=f.choices,
            minimum=f.minimum,
            maximum=f.maximum,
            min_exclusive=f.min_exclusive,
            step=f.step,
            runtimes=f.runtimes,
            methods=f.methods,
            auto=f.auto if f.page_value in ("auto", None) else "",
            reason=f.page_default.reason if f.page_default else "",
        )
    if set(merged) != set(PAGE_KEYS):
        raise ValueError(
            f"PAGE_KEYS and the page fields differ: {sorted(set(merged) ^ set(PAGE_KEYS))}"
        )
    return tuple(merged[k] for k in PAGE_KEYS)


def page_schema() -> dict[str, Any]:
    """The JSON the page reads (embedded by the build as ``#form-schema``): modes and
    their aliases, the form's fields, and the runtime "auto" picks for each weight format."""
    from .quant import list_formats

    return {
        "modes": [{"id": m.value, "op": m.op, "result": m.result, "fixed": m.fixed} for m in Mode],
        "mode_aliases": {k: v.value for k, v in MODE_ALIASES.items()},
        "default_mode": DEFAULT_MODE.value,
        "method_defaults": METHOD_DEFAULTS,
        "fields": [
            {
                "key": f.key,
                "name": f.name,
                "kind": f.kind.value,
                "default": f.default,
                "modes": [m.value for m in f.modes],
                "choices": [c.value for c in f.choices],
                "min": f.minimum,
                "max": f.maximum,
                "min_exclusive": f.min_exclusive,
                "runtimes": list(f.runtimes),
                "methods": list(f.methods),
            }
            for f in page_fields()
        ],
        "runtime_for_weights": {fmt.id: auto_runtime(fmt.id) for fmt in list_formats()},
        "applies": request_applies(),
        # how runtimes spell a value (llama.cpp's f16, vLLM's fp8_e4m3): a link may use them
        "aliases": {"kv_dtype": _kv_aliases()},
    }


def _kv_aliases() -> dict[str, str]:
    from .kv import kv_dtype_aliases  # the quant_formats.json kv_dtypes table

    return dict(sorted(kv_dtype_aliases().items()))


def request_applies() -> dict[str, dict[str, dict[str, list[str]]]]:
    """Which settings of a result's ``request`` apply to it, per result mode: {mode:
    {request key: {"methods": [...], "runtimes": [...]}}} (empty list = all). Compare,
    print and the Markdown export show a setting only where it applies (no LoRA rank for
    a full fine-tune, no KV dtype for training)."""
    out: dict[str, dict[str, dict[str, list[str]]]] = {}
    for f in INFERENCE_FIELDS + TRAINING_FIELDS:
        for mode in f.modes:
            out.setdefault(mode.result, {})[f.name] = {
                "methods": list(f.methods),
                "runtimes": list(f.runtimes),
            }
    return out


def applicable_request(result: dict[str, Any]) -> dict[str, Any]:
    """The settings of ``result["request"]`` that apply to its mode, method and runtime
    (``request_applies``); keys no field describes are kept."""
    request = result.get("request") or {}
    rules = request_applies().get(str(result.get("mode")), {})
    method, runtime = request.get("method"), request.get("runtime")

    def applies(key: str) -> bool:
        rule = rules.get(key)
        if rule is None:
            # a setting of the other op (kv_dtype in training) is dropped; unknown keys stay
            return not any(f.name == key for f in INFERENCE_FIELDS + TRAINING_FIELDS)
        return (not rule["methods"] or method in rule["methods"]) and (
            not rule["runtimes"] or runtime in rule["runtimes"]
        )

    return {k: v for k, v in request.items() if applies(k)}


def page_schema_json() -> str:
    """``page_schema()`` as compact, key-sorted JSON (reproducible builds)."""
    return json.dumps(page_schema(), sort_keys=True, separators=(",", ":"))


if __name__ == "__main__":
    print(page_schema_json())
