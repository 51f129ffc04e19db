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
from functools import cache
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
from .errors import InvalidWorkload
from .gpus import fit_details, get_gpu
from .lora import adapted_tensor_names, lora_params_by_layer
from .messages import msg
from .model import ModelSpec, Tensor
from .result import Estimate
from .units import ceil_div, format_gib
from .workload import (
    ATTENTION,
    METHODS,
    OFFLOAD,
    OPTIMIZERS,
    RECOMPUTE,
    TrainingWorkload,
    choice_error,
)
from .workload import (
    PRECISIONS as PRECISION_NAMES,
)


@cache
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
        for q in quantize_tensors(spec, fmt):
            frozen_bytes[q.tensor] = q.nbytes

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
    layer0 = peak["layer_terms"]
    details: dict[str, object] = {
        "peak_phase": peak["phase"],
        "sizes": peak["sizes"],
        "phases": peak["phases"],
        "tracked_peak_bytes": sum(peak["components"].values()) - overhead,
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
    if work.gpu is not None:
        gpu = get_gpu(work.gpu)
        need = max(gpu_bytes)
        details["fit"] = fit_details(gpu, need, gpu.usable_bytes)
        if need > gpu.usable_bytes:
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
    tp = work.tp
    full = work.method == "full"

    # --- persistent bytes (before data-parallel sharding) ----------------------------------
    weights = 0
    for p in params:
        if p.tensor in frozen_bytes:
            weights += ceil_div(frozen_bytes[p.tensor] * p.numel, max(p.tensor.numel, 1))
        else:
            weights += p.numel * plan.param_width
    trainable: list[_Param] = []
    grads_by_layer: dict[int | None, int] = {}
    adapters = 0
    if full:
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
    grads_full = sum(grads_by_layer.values())
    states = sum(_optimizer_state_bytes(p, opt, plan.state_width) for p in trainable)
    master = sum(p.numel for p in trainable) * plan.master_width
    opt_temp = _optimizer_temporaries(trainable, opt, plan.state_width, plan.param_width)

    # --- ZeRO sharding over the data-parallel group ----------------------------------------
    def shard(nbytes: int, stage: int) -> int:
        return ceil_div(nbytes, dp) if zero >= stage else nbytes

    states_gpu = shard(states, 1)
    master_gpu = shard(master, 1)
    opt_temp = shard(opt_temp, 1)
    grad_div = dp if zero >= 2 else 1
    weights_gpu = shard(weights, 3)
    host = 0
    if work.offload in ("optimizer", "optimizer+params"):
        # states, master weights and the fp32 gradient partition live on the host
        host += states_gpu + master_gpu + ceil_div(sum(p.numel for p in trainable) * 4, dp)
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

    # --- activations -----------------------------------------------------------------------
    by_layer = layer_tensors(spec)
    acts: list[LayerActivations] = [
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
    ]
    head: HeadActivations | None = None
    if last:
        head = head_activations(spec, batch=work.batch, seq=work.seq, training=training, tp=tp)
    mode = work.grad_checkpointing

    def stored(a: LayerActivations) -> int:
        if mode == "full":
            return a.input
        core = a.attention_core if mode == "selective" else 0
        return a.saved - core + a.weight_casts

    def live(a: LayerActivations) -> int:
        return a.saved + a.weight_casts

    stored_all = sum(stored(a) for a in acts)
    others = (in_flight - 1) * stored_all  # other micro-batches in flight (1F1B)
    head_saved = head.saved if head else 0
    head_casts = head.weight_casts if head else 0
    autocast_cache = sum(a.weight_casts for a in acts) if mode == "full" else 0
    mask = 0
    if effective_attention(spec, work.attention) == "eager" and first:
        # the additive [batch, 1, seq, seq] causal mask, in the residual dtype, during forward
        mask = work.batch * work.seq * work.seq * training.precision.residual
    tokens = work.batch * work.seq

    # gradients outside the layers: lm_head/final norm appear at the start of backward; the
    # embedding's only at its end (a tied embedding's first one comes from lm_head)
    g_embed = 0
    if full:
        g_embed = sum(
            p.numel * plan.grad_width
            for p in params
            if p.tensor.name == "pos_embd"
            or (p.tensor.name == "token_embd" and not (spec.tie_word_embeddings and last))
        )
    g_head = sum(v for k, v in grads_by_layer.items() if k is None) - g_embed
    g_layers = [grads_by_layer.get(i, 0) for i in layers]
    grads_all = ceil_div(grads_full, grad_div)
    grads_present = grads_all if work.pp > 1 else 0  # accumulated over earlier micro-batches

    base = {
        "weights": weights_gpu,
        "adapters": adapters,
        "master_weights": master_gpu,
        "optimizer": states_gpu,
    }
    phases: dict[str, dict[str, int]] = {}

    def phase(name: str, **parts: int) -> None:
        comp = dict(base)
        for key in ("activations", "logits", "gradients", "temporaries"):
            comp[key] = max(parts.get(key, 0), 0)
        phases[name] = comp

    phase(
        "forward",
        activations=others + stored_all + head_saved,
        logits=head.forward_logits if head else 0,
        gradients=grads_present,
        temporaries=gather + mask + autocast_cache + head_casts,
    )
    if head:
        phase(
            "loss_backward",
            activations=others + stored_all + head_saved,
            logits=head.backward_logits,
            gradients=grads_present,
            temporaries=gather + head_casts,
        )
        g_head_gpu = ceil_div(g_head, grad_div)
        dx = tokens * spec.hidden_size * training.precision.compute // tp
        unsharded = g_head if grad_div > 1 else 0  # ZeRO-2/3: full gradient before reducing
        if full and training.precision.autocast:
            # lm_head's matmul backward yields a 16-bit weight gradient (with the logits
            # gradient and its input gradient alive); then the cast's backward makes the
            # fp32 one while the 16-bit one still exists
            grad16 = 2 * spec.vocab_size * spec.hidden_size // tp
            phase(
                "lm_head_backward",
                activations=others + stored_all + head_saved,
                logits=head.grad_logits,
                gradients=grads_present,
                temporaries=gather + head_casts + grad16 + dx,
            )
            phase(
                "lm_head_grad_cast",
                activations=others + stored_all + head_saved,
                gradients=max(grads_present, g_head_gpu),
                temporaries=gather + grad16 + unsharded + dx,
            )
        else:
            phase(
                "lm_head_backward",
                activations=others + stored_all + head_saved,
                logits=head.grad_logits,
                gradients=max(grads_present, g_head_gpu),
                temporaries=gather + head_casts + unsharded + dx,
            )
    # decoder layers, last to first
    below = stored_all
    grads_after = ceil_div(g_head, grad_div)
    best: dict[str, int] | None = None
    for a, g in zip(reversed(acts), reversed(g_layers), strict=True):
        below -= stored(a)
        # the layer's activations are freed while its own gradients are produced, so the
        # peak of its backward holds its activations and the gradients of the layers above
        comp = {
            "activations": others + below + live(a),
            "gradients": max(grads_present, grads_after),
            "temporaries": gather + a.backward_workspace + (g if grad_div > 1 else 0),
        }
        grads_after += ceil_div(g, grad_div)
        if best is None or sum(comp.values()) > sum(best.values()):
            best = comp
    if best is not None:
        phase("layers_backward", **best)
    embed_transient = 0
    if first and full and spec.tie_word_embeddings and work.pp == 1:
        # A tied weight gets two gradients: autograd buffers lm_head's until the embedding
        # backward has built its dense [vocab, hidden] one, then sums them out of place, so
        # three vocab × hidden gradients exist at once (measured with MemTracker).
        embed_transient = 2 * ceil_div(spec.vocab_size * spec.hidden_size * plan.grad_width, tp)
    phase(
        "backward_end",
        activations=others,
        gradients=grads_all,
        temporaries=embed_transient,
    )
    phase("optimizer_step", gradients=grads_all, temporaries=opt_temp)

    peak_name = max(phases, key=lambda n: sum(phases[n].values()))
    layer_terms = acts[0].terms if acts else {}
    sizes = {
        "gradients": grads_all,
        "activations": others + stored_all + head_saved,
        "logits": max(head.forward_logits, head.backward_logits) if head else 0,
        "optimizer_step_temporaries": opt_temp,
        "autocast_weight_copies": sum(a.weight_casts for a in acts) + head_casts,
    }
    return {
        "sizes": sizes,
        "components": phases[peak_name],
        "phase": peak_name,
        "phases": {n: sum(c.values()) for n, c in phases.items()},
        "host": host,
        "layer_terms": layer_terms,
    }


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
    a.append(
        msg(
            "overhead: CUDA context + cuBLAS workspace (runtimes.json); allocator fragmentation "
            "is not modelled"
        )
    )
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
