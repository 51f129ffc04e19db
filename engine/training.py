"""Training and fine-tuning memory per GPU: full training, LoRA and QLoRA.

``estimate_training(spec, work)`` follows one steady-state training step (optimizer states
already exist) through its phases and reports the bytes on each GPU at the step's peak:

1. forward, ending in the loss: stored activations + logits buffers;
2. start of backward (loss → logits gradient): the fp32 loss buffers peak;
3. lm_head backward: logits gradient + the lm_head weight gradient;
4. decoder layers backward, last to first: activations are freed and gradients appear,
   so the peak is at the first or the last layer;
5. optimizer step: all gradients + the step's temporaries.

Persistent on every phase: weights, fp32 master weights (ZeRO mixed precision), optimizer
states, LoRA adapters. The components of the result are those of the peak phase (the other
phases' totals are in ``details["phases"]``).

Precisions (issue #2): ``bf16`` trains a bf16 model as PyTorch does (weights, gradients and
optimizer states bf16); ``amp-bf16``/``amp-fp16`` keep fp32 weights, gradients and states and
autocast the matmuls; ``fp32`` is fp32 throughout. With ZeRO (stage ≥ 1) mixed precision
follows the ZeRO paper (Rajbhandari et al. 2020, §3.1): 16-bit weights and gradients, fp32
master weights and optimizer states, so 2 + 2 + 12 bytes per parameter for Adam.

Sharding: ZeRO-1 shards optimizer states and master weights over the data-parallel group,
ZeRO-2 also gradients, ZeRO-3/FSDP also parameters (plus the gathered unit being computed
and the prefetched next one). TP (Megatron) divides linear and embedding weights and the
activations inside attention/MLP by ``tp``; PP gives each stage its layers (first stage:
embedding, last: final norm, lm_head and logits) and, with the 1F1B schedule, stage ``i``
holds activations of ``pp - i`` micro-batches. CPU offload moves optimizer states (and master
weights; with ``optimizer+params`` also ZeRO-3's parameter shards) to host RAM.

Activations: ``engine.activations`` (Korthikanti et al. 2022 method, terms of the
transformers implementations). Optimizer layouts: ``engine/data/optimizers.json``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from importlib.resources import files
from typing import Any

from .activations import (
    PRECISIONS,
    HeadActivations,
    LayerActivations,
    Training,
    effective_attention,
    head_activations,
    layer_activations,
    layer_tensors,
)
from .cuda_alloc import AllocatorBytes, allocator_bytes
from .errors import InvalidWorkload
from .explain import optimizer_step_note, weights_kept_note
from .gpus import get_gpu
from .lora import adapted_tensor_names, lora_params_by_layer
from .memo import cached
from .messages import msg
from .model import ModelSpec, Tensor
from .result import Estimate
from .units import ceil_div, format_gib
from .verdict import fit_details
from .workload import (
    ATTENTION,
    METHODS,
    OFFLOAD,
    OPTIMIZERS,
    RECOMPUTE,
    TrainingWorkload,
    check_gpu_split,
    choice_error,
)
from .workload import (
    PRECISIONS as PRECISION_NAMES,
)


@cached
def _data(name: str) -> dict[str, Any]:
    return json.loads(files("engine").joinpath("data", name).read_text(encoding="utf-8"))


def optimizer_table() -> dict[str, dict[str, Any]]:
    """Return the optimizer rows of ``engine/data/optimizers.json`` (with their sources)."""
    return _data("optimizers.json")["optimizers"]


def _constant(key: str) -> int:
    return int(_data("training.json")[key]["value"])


# ---------------------------------------------------------------------------------------
# Validation


def _validate(spec: ModelSpec, work: TrainingWorkload) -> None:
    checks = (
        ("method", work.method, METHODS),
        ("precision", work.precision, PRECISION_NAMES),
        ("optimizer", work.optimizer, OPTIMIZERS),
        ("grad_checkpointing", work.grad_checkpointing, RECOMPUTE),
        ("attention", work.attention, ATTENTION),
        ("offload", work.offload, OFFLOAD),
    )
    for name, value, allowed in checks:
        if value not in allowed:
            raise choice_error(name, value, tuple(allowed))
    for name in ("seq", "batch", "gpus", "tp", "pp", "lora_rank"):
        value = getattr(work, name)
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise InvalidWorkload(
                msg("{key} must be a whole number >= 1, got {value!r}", key=name, value=value),
                field=name,
            )
    if work.zero not in (0, 1, 2, 3):
        raise InvalidWorkload(
            msg("zero must be 0, 1, 2 or 3, got {value!r}", value=work.zero), field="zero"
        )
    check_gpu_split(work)
    if work.pp > spec.num_layers:
        raise InvalidWorkload(
            msg(
                "pp ({pp}) exceeds the model's {layers} layers; "
                "each pipeline stage needs at least one layer",
                pp=work.pp,
                layers=spec.num_layers,
            ),
            field="pp",
        )
    heads = min((layer.attention.num_heads for layer in spec.layers), default=1)
    if heads % work.tp:
        raise InvalidWorkload(
            msg(
                "tp ({tp}) must divide the number of attention heads ({heads}); "
                "pick a tp that is a divisor of it",
                tp=work.tp,
                heads=heads,
            ),
            field="tp",
        )
    if work.offload == "optimizer+params" and work.zero != 3:
        raise InvalidWorkload(
            msg(
                "offload=optimizer+params needs zero=3 (parameters can only be offloaded when "
                "they are sharded); got zero={zero}",
                zero=work.zero,
            ),
            field="offload",
        )
    if work.method == "qlora" and work.precision == "fp32":
        raise InvalidWorkload(
            msg(
                "QLoRA computes in 16-bit (bitsandbytes 4-bit matmul with a bf16/fp16 compute "
                "dtype); choose precision bf16, amp-bf16 or amp-fp16"
            ),
            field="precision",
        )


# ---------------------------------------------------------------------------------------
# Parameter placement


def _stage_bounds(num_layers: int, pp: int) -> list[tuple[int, int]]:
    """Contiguous, as-even-as-possible layer ranges per pipeline stage."""
    return [(s * num_layers // pp, (s + 1) * num_layers // pp) for s in range(pp)]


def _tp_share(t: Tensor, tp: int) -> int:
    """Elements of ``t`` on one tensor-parallel rank (linear/embedding split, norms whole)."""
    if tp == 1:
        return t.numel
    if t.kind in ("linear", "embedding") or (t.kind == "bias" and not t.name.endswith("norm.bias")):
        return ceil_div(t.numel, tp)
    return t.numel


def _stage_of(t: Tensor, bounds: list[tuple[int, int]], tied: bool) -> tuple[int, ...]:
    last = len(bounds) - 1
    if t.layer is not None:
        for s, (lo, hi) in enumerate(bounds):
            if lo <= t.layer < hi:
                return (s,)
        return (last,)
    if t.name in ("token_embd", "pos_embd"):
        # Megatron keeps a copy of a tied embedding on the last stage for the lm_head
        return (0, last) if (tied and t.name == "token_embd" and last > 0) else (0,)
    return (last,)


@dataclass(frozen=True)
class _Param:
    """One parameter tensor's share on a GPU of a stage."""

    tensor: Tensor
    numel: int  # after TP
    trainable: bool


def _optimizer_state_bytes(p: _Param, opt: dict[str, Any], state_width: int) -> int:
    """Persistent optimizer bytes for one (TP-sharded) parameter tensor."""
    n = p.numel
    kind = opt["state_dtype"]
    states = opt["states"]
    if kind == "uint8-blockwise":
        if n < opt["min_8bit_size"]:
            return states * 4 * n
        return states * (n + 4 * ceil_div(n, opt["block_size"]))
    width = 4 if kind == "fp32" else state_width
    if opt.get("factored") and len(p.tensor.shape) >= 2:
        cols = p.tensor.shape[-1] * p.tensor.experts
        rows = max(p.numel // p.tensor.shape[-1], 1)
        return states * width * (rows + cols)
    return states * width * n


def _optimizer_temporaries(
    params: list[_Param], opt: dict[str, Any], state_width: int, param_width: int
) -> int:
    rule = opt["temporaries"]
    if rule == "foreach-sqrt":
        return state_width * sum(p.numel for p in params)
    if rule == "adafactor-largest":
        largest = max((p.numel for p in params), default=0)
        return largest * (8 + (8 if param_width != 4 else 0))
    return 0


# ---------------------------------------------------------------------------------------
# The estimate


@dataclass(frozen=True)
class _Plan:
    """Byte widths and sharding rules for a workload."""

    method: str
    param_width: int  # trainable weight storage (full) / frozen base (lora)
    grad_width: int
    master_width: int  # 0 when the weights themselves are the fp32 copy
    state_width: int
    activations: str  # precision used for the activation count
    adapter_width: int = 4


def _plan(work: TrainingWorkload) -> _Plan:
    p = PRECISIONS[work.precision]
    if work.method == "full":
        if p.autocast and work.zero >= 1:
            # ZeRO mixed precision: 16-bit module, fp32 master + states in the optimizer
            return _Plan("full", 2, 2, 4, 4, "bf16")
        return _Plan("full", p.param, p.param, 0, p.param, work.precision)
    base = 4 if work.precision == "fp32" else 2
    # peft keeps adapters in fp32 (autocast_adapter_dtype=True upcasts bf16/fp16 adapters)
    return _Plan(work.method, base, 4, 0, 4, work.precision)


def estimate_training(spec: ModelSpec, work: TrainingWorkload) -> Estimate:
    """Return the per-GPU bytes of one training step of ``spec`` under ``work``."""
    _validate(spec, work)
    plan = _plan(work)
    opt = optimizer_table()[work.optimizer]
    tp, pp, dp = work.tp, work.pp, work.dp
    zero = work.zero
    tied = spec.tie_word_embeddings
    bounds = _stage_bounds(spec.num_layers, pp)

    # --- what is trained ---------------------------------------------------------------
    lora_names: frozenset[str] = frozenset()
    lora_by_layer: dict[int | None, int] = {}
    if work.method != "full":
        lora_names = adapted_tensor_names(spec, work.lora_targets)
        lora_by_layer = lora_params_by_layer(spec, work.lora_targets, work.lora_rank)
        if not lora_by_layer:
            raise InvalidWorkload(
                msg(
                    "none of the LoRA targets {targets} exists in {model_type} "
                    "(routed experts cannot be targeted); add q, k, v or o",
                    targets=", ".join(work.lora_targets),
                    model_type=spec.model_type,
                ),
                field="lora_targets",
            )

    frozen_bytes: dict[Tensor, int] = {}
    if work.method == "qlora":
        from .quant import quantize_tensors

        fmt = "nf4-dq" if work.double_quant else "nf4"
        # peft's prepare_model_for_kbit_training (peft 0.21.2, utils/other.py) casts every
        # 16-bit parameter that is not Params4bit to fp32: embeddings, norms, the LM head
        for q in quantize_tensors(spec, fmt):
            upcast = q.storage in ("bf16", "fp16")
            frozen_bytes[q.tensor] = q.nbytes * 2 if upcast else q.nbytes

    # --- per-stage parameter shares ------------------------------------------------------
    stage_params: list[list[_Param]] = [[] for _ in range(pp)]
    for t in spec.tensors:
        share = _tp_share(t, tp)
        for s in _stage_of(t, bounds, tied):
            stage_params[s].append(_Param(t, share, work.method == "full"))

    prec = PRECISIONS[plan.activations]
    training = Training(
        precision=prec,
        base_trainable=work.method == "full",
        lora=lora_names if work.method != "full" else frozenset(),
        lora_rank=work.lora_rank if work.method != "full" else 0,
        adapter_bytes=plan.adapter_width,
        quantized_base=work.method == "qlora",
    )

    # device context + BLAS workspace: the inference estimate's constants
    # (engine/data/runtimes.json), taken GPU-independent (the largest, Hopper, workspace)
    # so that fit can share one GPU-count curve between GPU kinds
    from .inference import gpu_dependence

    overhead = gpu_dependence("transformers", None)[0]
    prefetch = _constant("zero3_prefetch_layers")
    stages: list[dict[str, Any]] = []
    for s, (lo, hi) in enumerate(bounds):
        stages.append(
            _stage_estimate(
                spec,
                work,
                plan,
                opt,
                training,
                stage_params[s],
                frozen_bytes,
                lora_by_layer,
                range(lo, hi),
                first=s == 0,
                last=s == pp - 1,
                in_flight=pp - s,
                dp=dp,
                zero=zero,
                prefetch=prefetch,
            )
        )

    gpu_bytes: list[int] = []
    host = 0  # all GPUs together
    for st in stages:
        st["components"]["overhead"] = overhead
        total = sum(st["components"].values())
        gpu_bytes.extend([total] * (dp * tp))
        host += st["host"] * dp * tp
    worst = max(range(pp), key=lambda i: sum(stages[i]["components"].values()))
    peak = stages[worst]

    assumptions, warnings = _notes(spec, work, plan, opt)
    if work.method == "qlora":  # bitsandbytes skips transformers' MoE expert stacks
        base = "nf4-dq" if work.double_quant else "nf4"
        kept = weights_kept_note(spec, base, "transformers")
        warnings = (*warnings, kept) if kept is not None else warnings
    layer0 = peak["layer_terms"]
    allocator: AllocatorBytes = peak["allocator"]
    assumptions = (*assumptions, allocator.note())
    details: dict[str, object] = {
        "peak_phase": peak["phase"],
        "sizes": peak["sizes"],
        "phases": peak["phases"],
        # the exact tensor bytes, as MemTracker counts them (reference/training.json)
        "tracked_peak_bytes": sum(peak["components"].values()) - overhead - allocator.total,
        "cuda_allocator": allocator.details(),
        "stage": worst,
        "dp": dp,
        "params": spec.total_params,
        "trainable_params": (
            spec.total_params if work.method == "full" else sum(lora_by_layer.values())
        ),
        "activation_bytes_per_token_layer0": layer0,
        "optimizer": opt["label"],
        "optimizer_source": opt["source"],
    }
    step_note = optimizer_step_note(details)
    if step_note is not None:  # shown beside the total: why the micro-batch does not move it
        details["notes"] = [step_note]
    if work.gpu is not None:
        gpu = get_gpu(work.gpu)
        need = max(gpu_bytes)
        details["fit"] = fit_details(gpu, need, gpu.usable_bytes)
        if need > gpu.usable_bytes and step_note is not None:
            # the optimizer step sets the peak: activation savings would not lower it
            warnings = (
                *warnings,
                msg(
                    "needs {need} per GPU but the {gpu} offers {offer}: the optimizer step "
                    "sets this peak, so use LoRA/QLoRA, an 8-bit optimizer, ZeRO sharding, "
                    "optimizer offload or more GPUs",
                    need=format_gib(need),
                    gpu=gpu.name,
                    offer=format_gib(gpu.usable_bytes),
                ),
            )
        elif need > gpu.usable_bytes:
            warnings = (
                *warnings,
                msg(
                    "needs {need} per GPU but the {gpu} offers {offer}: use gradient "
                    "checkpointing, a smaller micro-batch, LoRA/QLoRA, an 8-bit optimizer, "
                    "ZeRO sharding or more GPUs",
                    need=format_gib(need),
                    gpu=gpu.name,
                    offer=format_gib(gpu.usable_bytes),
                ),
            )
    return Estimate(
        mode="training",
        components=dict(peak["components"]),
        gpu_bytes=tuple(gpu_bytes),
        assumptions=assumptions,
        warnings=warnings,
        host_bytes=host,
        details=details,
    )


# ---------------------------------------------------------------------------------------
# One pipeline stage through the step: what persists, what the forward pass saves, the
# gradients, then one function per phase. ``_stage_estimate`` puts them together.


@dataclass(frozen=True)
class _Persistent:
    """Bytes that live through the whole step on one TP rank, before data-parallel sharding."""

    weights: int
    adapters: int
    trainable: tuple[_Param, ...]
    grads_by_layer: dict[int | None, int]  # gradient bytes per layer (None: outside layers)
    states: int  # optimizer states
    master: int  # fp32 master weights
    opt_temp: int  # the optimizer step's temporaries


def _persistent(
    work: TrainingWorkload,
    plan: _Plan,
    opt: dict[str, Any],
    params: list[_Param],
    frozen_bytes: dict[Tensor, int],
    lora_by_layer: dict[int | None, int],
    layers: range,
) -> _Persistent:
    """Weights, adapters, optimizer states and master weights of the stage's parameters."""
    tp = work.tp
    weights = 0
    for p in params:
        if p.tensor in frozen_bytes:
            weights += ceil_div(frozen_bytes[p.tensor] * p.numel, max(p.tensor.numel, 1))
        else:
            weights += p.numel * plan.param_width
    trainable: list[_Param] = []
    grads_by_layer: dict[int | None, int] = {}
    adapters = 0
    if work.method == "full":
        trainable = params
        for p in params:
            grads_by_layer[p.tensor.layer] = (
                grads_by_layer.get(p.tensor.layer, 0) + p.numel * plan.grad_width
            )
    else:
        for layer, n in lora_by_layer.items():
            if layer is None or layer in layers:
                n_tp = ceil_div(n, tp)
                adapters += n_tp * plan.adapter_width
                grads_by_layer[layer] = grads_by_layer.get(layer, 0) + n_tp * plan.grad_width
                # adapters as two-dimensional tensors for the optimizer rules (A and B)
                shape = (work.lora_rank, max(n_tp // work.lora_rank, 1))
                trainable.append(_Param(Tensor("lora", shape, "linear", layer), n_tp, True))
    return _Persistent(
        weights=weights,
        adapters=adapters,
        trainable=tuple(trainable),
        grads_by_layer=grads_by_layer,
        states=sum(_optimizer_state_bytes(p, opt, plan.state_width) for p in trainable),
        master=sum(p.numel for p in trainable) * plan.master_width,
        opt_temp=_optimizer_temporaries(trainable, opt, plan.state_width, plan.param_width),
    )


@dataclass(frozen=True)
class _Resident:
    """The persistent bytes on one GPU after ZeRO sharding and CPU offload."""

    weights: int
    adapters: int
    master: int
    states: int
    opt_temp: int
    grad_div: int  # gradients are sharded this many ways (ZeRO-2/3)
    gather: int  # ZeRO-3: parameters gathered while a unit computes
    host: int  # offloaded to CPU RAM

    def base(self) -> dict[str, int]:
        """The components present in every phase."""
        return {
            "weights": self.weights,
            "adapters": self.adapters,
            "master_weights": self.master,
            "optimizer": self.states,
        }


def _resident(
    persistent: _Persistent,
    params: list[_Param],
    work: TrainingWorkload,
    training: Training,
    *,
    dp: int,
    zero: int,
    prefetch: int,
) -> _Resident:
    """Shard the persistent bytes over the data-parallel group and move offloaded ones."""

    def shard(nbytes: int, stage: int) -> int:
        return ceil_div(nbytes, dp) if zero >= stage else nbytes

    states_gpu = shard(persistent.states, 1)
    master_gpu = shard(persistent.master, 1)
    opt_temp = shard(persistent.opt_temp, 1)
    weights_gpu = shard(persistent.weights, 3)
    host = 0
    if work.offload in ("optimizer", "optimizer+params"):
        # states, master weights and the fp32 gradient partition live on the host
        trainable_numel = sum(p.numel for p in persistent.trainable)
        host += states_gpu + master_gpu + ceil_div(trainable_numel * 4, dp)
        states_gpu = master_gpu = opt_temp = 0
    gather = 0
    if zero == 3:
        per_unit: dict[int | None, int] = {}
        for p in params:
            per_unit[p.tensor.layer] = per_unit.get(p.tensor.layer, 0) + p.numel
        # the root unit (embedding, final norm, lm_head) stays gathered while the layer being
        # computed and the prefetched next one are gathered too
        root = per_unit.pop(None, 0)
        unit = max(per_unit.values(), default=0)
        gather = (prefetch * unit + root) * training.precision.compute
    if work.offload == "optimizer+params":
        host += weights_gpu
        weights_gpu = 0
    return _Resident(
        weights=weights_gpu,
        adapters=persistent.adapters,
        master=master_gpu,
        states=states_gpu,
        opt_temp=opt_temp,
        grad_div=dp if zero >= 2 else 1,
        gather=gather,
        host=host,
    )


@dataclass(frozen=True)
class _Saved:
    """What the stage's forward pass keeps for backward, per layer and at the head."""

    acts: tuple[LayerActivations, ...]
    stored: tuple[int, ...]  # per layer, after gradient checkpointing
    head: HeadActivations | None  # last stage only
    others: int  # stored activations of the other micro-batches in flight (1F1B)
    mask: int  # eager attention's causal mask (first stage)
    autocast_cache: int  # 16-bit weight copies kept while recomputing (full checkpointing)

    @property
    def stored_all(self) -> int:
        return sum(self.stored)

    @property
    def head_saved(self) -> int:
        return self.head.saved if self.head else 0

    @property
    def head_casts(self) -> int:
        return self.head.weight_casts if self.head else 0

    @property
    def total(self) -> int:
        """Everything saved when the forward pass ends."""
        return self.others + self.stored_all + self.head_saved


def _saved(
    spec: ModelSpec,
    work: TrainingWorkload,
    training: Training,
    layers: range,
    *,
    first: bool,
    last: bool,
    in_flight: int,
) -> _Saved:
    """The activations of the stage's layers and head, as checkpointing leaves them."""
    tp = work.tp
    by_layer = layer_tensors(spec)
    acts = tuple(
        layer_activations(
            spec,
            i,
            batch=work.batch,
            seq=work.seq,
            training=training,
            attention=work.attention,
            tp=tp,
            sequence_parallel=work.sequence_parallel,
            tensors_of_layer=by_layer[i],
        )
        for i in layers
    )
    head: HeadActivations | None = None
    if last:
        head = head_activations(spec, batch=work.batch, seq=work.seq, training=training, tp=tp)
    mode = work.grad_checkpointing

    def stored(a: LayerActivations) -> int:
        if mode == "full":
            return a.input
        core = a.attention_core if mode == "selective" else 0
        return a.saved - core + a.weight_casts

    stored_per_layer = tuple(stored(a) for a in acts)
    mask = 0
    if effective_attention(spec, work.attention) == "eager" and first:
        # the additive [batch, 1, seq, seq] causal mask, in the residual dtype, during forward
        mask = work.batch * work.seq * work.seq * training.precision.residual
    return _Saved(
        acts=acts,
        stored=stored_per_layer,
        head=head,
        others=(in_flight - 1) * sum(stored_per_layer),
        mask=mask,
        autocast_cache=sum(a.weight_casts for a in acts) if mode == "full" else 0,
    )


@dataclass(frozen=True)
class _Grads:
    """Gradient bytes of the stage: outside the layers, per layer, and in total."""

    head: int  # lm_head and final norm (unsharded), produced at the start of backward
    layers: tuple[int, ...]  # per layer (unsharded)
    total: int  # all of the stage's gradients on one GPU (after ZeRO-2/3 sharding)
    present: int  # accumulated over earlier micro-batches when the forward pass starts


def _grads(
    spec: ModelSpec,
    work: TrainingWorkload,
    plan: _Plan,
    params: list[_Param],
    persistent: _Persistent,
    grad_div: int,
    layers: range,
    *,
    last: bool,
) -> _Grads:
    """Split the stage's gradients by when backward produces them."""
    by_layer = persistent.grads_by_layer
    # gradients outside the layers: lm_head/final norm appear at the start of backward; the
    # embedding's only at its end (a tied embedding's first one comes from lm_head)
    g_embed = 0
    if work.method == "full":
        g_embed = sum(
            p.numel * plan.grad_width
            for p in params
            if p.tensor.name == "pos_embd"
            or (p.tensor.name == "token_embd" and not (spec.tie_word_embeddings and last))
        )
    total = ceil_div(sum(by_layer.values()), grad_div)
    return _Grads(
        head=sum(v for k, v in by_layer.items() if k is None) - g_embed,
        layers=tuple(by_layer.get(i, 0) for i in layers),
        total=total,
        present=total if work.pp > 1 else 0,
    )


# The phases of a step, in order. Each returns the transient parts (activations, logits,
# gradients, temporaries) on one GPU at that phase's peak; the resident bytes come on top.
_Parts = dict[str, int]


def _forward_phase(saved: _Saved, grads: _Grads, res: _Resident) -> _Parts:
    """End of the forward pass: every saved activation and the logits buffers."""
    return {
        "activations": saved.total,
        "logits": saved.head.forward_logits if saved.head else 0,
        "gradients": grads.present,
        "temporaries": res.gather + saved.mask + saved.autocast_cache + saved.head_casts,
    }


def _head_backward_phases(
    spec: ModelSpec,
    work: TrainingWorkload,
    training: Training,
    head: HeadActivations,
    saved: _Saved,
    grads: _Grads,
    res: _Resident,
) -> dict[str, _Parts]:
    """Loss → logits gradient, then lm_head's backward (and, under autocast, the cast of
    its 16-bit weight gradient to fp32)."""
    phases: dict[str, _Parts] = {
        "loss_backward": {
            "activations": saved.total,
            "logits": head.backward_logits,
            "gradients": grads.present,
            "temporaries": res.gather + saved.head_casts,
        }
    }
    g_head_gpu = ceil_div(grads.head, res.grad_div)
    dx = work.batch * work.seq * spec.hidden_size * training.precision.compute // work.tp
    unsharded = grads.head if res.grad_div > 1 else 0  # ZeRO-2/3: full gradient first
    if work.method == "full" and training.precision.autocast:
        # lm_head's matmul backward yields a 16-bit weight gradient (with the logits
        # gradient and its input gradient alive); then the cast's backward makes the
        # fp32 one while the 16-bit one still exists
        grad16 = 2 * spec.vocab_size * spec.hidden_size // work.tp
        phases["lm_head_backward"] = {
            "activations": saved.total,
            "logits": head.grad_logits,
            "gradients": grads.present,
            "temporaries": res.gather + saved.head_casts + grad16 + dx,
        }
        phases["lm_head_grad_cast"] = {
            "activations": saved.total,
            "gradients": max(grads.present, g_head_gpu),
            "temporaries": res.gather + grad16 + unsharded + dx,
        }
    else:
        phases["lm_head_backward"] = {
            "activations": saved.total,
            "logits": head.grad_logits,
            "gradients": max(grads.present, g_head_gpu),
            "temporaries": res.gather + saved.head_casts + unsharded + dx,
        }
    return phases


def _layers_backward_phase(saved: _Saved, grads: _Grads, res: _Resident) -> _Parts | None:
    """Decoder layers, last to first: the peak over the layers' backward passes."""
    below = saved.stored_all
    grads_after = ceil_div(grads.head, res.grad_div)
    best: _Parts | None = None
    for a, stored, g in zip(
        reversed(saved.acts), reversed(saved.stored), reversed(grads.layers), strict=True
    ):
        below -= stored
        # the layer's activations are freed while its own gradients are produced, so the
        # peak of its backward holds its activations and the gradients of the layers above
        parts = {
            "activations": saved.others + below + a.saved + a.weight_casts,
            "gradients": max(grads.present, grads_after),
            "temporaries": res.gather + a.backward_workspace + (g if res.grad_div > 1 else 0),
        }
        grads_after += ceil_div(g, res.grad_div)
        if best is None or sum(parts.values()) > sum(best.values()):
            best = parts
    return best


def _backward_end_phase(
    spec: ModelSpec,
    work: TrainingWorkload,
    plan: _Plan,
    saved: _Saved,
    grads: _Grads,
    *,
    first: bool,
) -> _Parts:
    """End of backward: every gradient exists; a tied embedding's two gradients are summed."""
    embed_transient = 0
    if first and work.method == "full" and spec.tie_word_embeddings and work.pp == 1:
        # A tied weight gets two gradients: autograd buffers lm_head's until the embedding
        # backward has built its dense [vocab, hidden] one, then sums them out of place, so
        # three vocab × hidden gradients exist at once (measured with MemTracker).
        vocab_grad = spec.vocab_size * spec.hidden_size * plan.grad_width
        embed_transient = 2 * ceil_div(vocab_grad, work.tp)
    return {
        "activations": saved.others,
        "gradients": grads.total,
        "temporaries": embed_transient,
    }


def _optimizer_phase(grads: _Grads, res: _Resident) -> _Parts:
    """The optimizer step: all gradients and the step's temporaries."""
    return {"gradients": grads.total, "temporaries": res.opt_temp}


def _stage_estimate(
    spec: ModelSpec,
    work: TrainingWorkload,
    plan: _Plan,
    opt: dict[str, Any],
    training: Training,
    params: list[_Param],
    frozen_bytes: dict[Tensor, int],
    lora_by_layer: dict[int | None, int],
    layers: range,
    *,
    first: bool,
    last: bool,
    in_flight: int,
    dp: int,
    zero: int,
    prefetch: int,
) -> dict[str, Any]:
    """One stage's GPU through the phases of a step; its components are the peak phase's."""
    persistent = _persistent(work, plan, opt, params, frozen_bytes, lora_by_layer, layers)
    res = _resident(persistent, params, work, training, dp=dp, zero=zero, prefetch=prefetch)
    saved = _saved(spec, work, training, layers, first=first, last=last, in_flight=in_flight)
    grads = _grads(spec, work, plan, params, persistent, res.grad_div, layers, last=last)

    parts: dict[str, _Parts] = {"forward": _forward_phase(saved, grads, res)}
    if saved.head:
        parts.update(_head_backward_phases(spec, work, training, saved.head, saved, grads, res))
    layers_peak = _layers_backward_phase(saved, grads, res)
    if layers_peak is not None:
        parts["layers_backward"] = layers_peak
    parts["backward_end"] = _backward_end_phase(spec, work, plan, saved, grads, first=first)
    parts["optimizer_step"] = _optimizer_phase(grads, res)

    phases: dict[str, dict[str, int]] = {}
    for name, p in parts.items():
        comp = res.base()
        for key in ("activations", "logits", "gradients", "temporaries"):
            comp[key] = max(p.get(key, 0), 0)
        phases[name] = comp

    # the peak phase is the one with the most tensor bytes (the allocated peak, as
    # max_memory_allocated and MemTracker see it); PyTorch's caching allocator reserves
    # more (engine.cuda_alloc): the weights' segments as loaded, and the allowance on the
    # sequence-shaped tensors the step frees and allocates again (gradients and the
    # optimizer's temporaries have the parameters' shapes and find their own blocks again)
    peak_name = max(phases, key=lambda n: sum(phases[n].values()))
    exact_totals = {n: sum(c.values()) for n, c in phases.items()}
    sizes = _weight_allocations(params, frozen_bytes, plan.param_width, dp=dp, zero=zero)
    if work.offload == "optimizer+params":
        sizes = ()
    peak_comp = phases[peak_name]
    allocator = allocator_bytes(
        sizes, peak_comp["activations"] + peak_comp["logits"], work.expandable_segments
    )
    peak_comp["allocator"] = allocator.total
    head = saved.head
    sizes = {
        "gradients": grads.total,
        "activations": saved.total,
        "logits": max(head.forward_logits, head.backward_logits) if head else 0,
        "optimizer_step_temporaries": res.opt_temp,
        "autocast_weight_copies": sum(a.weight_casts for a in saved.acts) + saved.head_casts,
    }
    return {
        "sizes": sizes,
        "components": phases[peak_name],
        "phase": peak_name,
        "phases": exact_totals,
        "host": res.host,
        "layer_terms": saved.acts[0].terms if saved.acts else {},
        "allocator": allocator,
    }


def _weight_allocations(
    params: list[_Param], frozen_bytes: dict[Tensor, int], width: int, *, dp: int, zero: int
) -> tuple[int, ...]:
    """The stage's weight allocations on one GPU in load order: one per parameter tensor
    (QLoRA: its quantized bytes), or under ZeRO-3 one flat shard per layer unit."""
    sizes: list[int] = []
    for p in params:
        if p.tensor in frozen_bytes:
            sizes.append(ceil_div(frozen_bytes[p.tensor] * p.numel, max(p.tensor.numel, 1)))
        else:
            sizes.append(p.numel * width)
    if zero < 3:
        return tuple(sizes)
    units: dict[int | None, int] = {}
    for p, n in zip(params, sizes, strict=True):
        units[p.tensor.layer] = units.get(p.tensor.layer, 0) + n
    return tuple(ceil_div(n, dp) for n in units.values())


def _notes(
    spec: ModelSpec, work: TrainingWorkload, plan: _Plan, opt: dict[str, Any]
) -> tuple[tuple[str, ...], tuple[str, ...]]:
    a: list[str] = []
    w: list[str] = []
    if work.method == "full":
        a.append(
            msg(
                "full fine-tune, {precision}: weights {param} B, gradients {grad} B, "
                "master weights {master} B per parameter",
                precision=work.precision,
                param=plan.param_width,
                grad=plan.grad_width,
                master=plan.master_width,
            )
        )
    else:
        base: str = "bf16" if plan.param_width == 2 else "fp32"
        if work.method == "qlora":
            base = msg("nf4 + double quant") if work.double_quant else "nf4"
            a.append(
                msg(
                    "peft prepare_model_for_kbit_training: embeddings, norms and the LM head "
                    "upcast to fp32"
                )
            )
        a.append(
            msg(
                "{method}: frozen {base} base, rank-{rank} adapters on {targets} in fp32 "
                "(peft autocast_adapter_dtype=True)",
                method=work.method,
                base=base,
                rank=work.lora_rank,
                targets=", ".join(work.lora_targets),
            )
        )
    a.append(msg("optimizer: {label}", label=opt["label"]))
    a.append(
        msg(
            "micro-batch {batch} × {seq} tokens, {attention} attention, "
            "gradient checkpointing {recompute}",
            batch=work.batch,
            seq=work.seq,
            attention=work.attention,
            recompute=work.grad_checkpointing,
        )
    )
    a.append(msg("logits upcast to fp32 for the loss, as transformers' ForCausalLMLoss does"))
    a.append(
        msg(
            "components are the bytes at the step's peak (details.peak_phase); gradients exist "
            "only from backward to the optimizer step (zero_grad(set_to_none=True)), "
            "details.sizes has each item's full size"
        )
    )
    if work.gpus > 1:
        a.append(
            msg(
                "{gpus} GPUs: dp {dp} × tp {tp} × pp {pp}, ZeRO stage {zero}",
                gpus=work.gpus,
                dp=work.dp,
                tp=work.tp,
                pp=work.pp,
                zero=work.zero,
            )
        )
    if work.offload != "none":
        a.append(msg("offload {what} to CPU RAM (host_bytes)", what=work.offload))
    a.append(msg("overhead: CUDA context + cuBLAS workspace (runtimes.json)"))
    if work.seq > spec.max_position_embeddings:
        w.append(
            msg(
                "seq {seq:,} exceeds the model's max_position_embeddings ({max:,})",
                seq=work.seq,
                max=spec.max_position_embeddings,
            )
        )
    if effective_attention(spec, work.attention) != work.attention:
        w.append(
            msg(
                "{model_type} has no SDPA attention in transformers (_supports_sdpa = "
                "False); counted with eager attention, whose scores grow with seq²",
                model_type=spec.model_type,
            )
        )
    if work.optimizer == "paged-adamw-8bit":
        w.append(msg("paged optimizer states can move to host RAM under memory pressure"))
    if work.grad_checkpointing == "selective" and work.attention != "eager":
        w.append(
            msg(
                "selective recomputation only drops eager attention scores; with sdpa/flash it "
                "saves nothing"
            )
        )
    return tuple(a), tuple(w)
