"""Inference memory per GPU: weights + KV cache + activations + logits + runtime overhead.

``estimate_inference(spec, work)`` returns an ``Estimate`` whose ``components`` are the bytes
on the most-loaded GPU and whose ``gpu_bytes`` lists every GPU (``tp × pp`` of them).

This module does the steps every runtime shares (validation, weights per rank, KV cache per
layer, device overhead, warnings, the fit); what a runtime does differently (activations,
logits, its own overhead, where layers go, its memory budget) is a ``Runtime`` strategy
(``engine.runtime_base``) in one module per runtime, listed in ``RUNTIMES``.

Formulas (sources in ``engine/data/runtimes.json`` and ``engine/kv.py``):

* weights: per-tensor bytes from ``quant.quantize_tensors(spec, fmt, runtime=...)``.
  Tensor parallel: linear layers split ``1/tp`` (K/V projections ``1/min(tp, kv_heads)``,
  i.e. replicated heads when tp > kv heads; MLA's latent down-projections and MoE routers
  are replicated), embeddings and lm_head vocab-parallel (vLLM pads the vocab to a
  multiple of 64), norms replicated. Pipeline parallel: layers split across stages as
  vLLM's ``get_pp_indices`` does (the remainder goes to the stages before the last); the
  first stage holds the embedding, the last the final norm and lm_head (a tied lm_head is
  a second copy of the embedding when pp > 1). llama.cpp keeps ``token_embd`` in CPU RAM
  and, for a tied model, loads a copy of it as the output matrix on the GPU.
* kv_cache: ``engine.kv`` (paged 16-token blocks in vLLM, n_ctx padded to 256 in llama.cpp,
  sliding windows per runtime).
* activations: the transient peak of one layer while processing ``T`` tokens at once, per
  token ``(k·hidden + max(attention, MLP intermediates)) × bytes``: the MLP term is the
  gate/up output and the activated width (3 × intermediate for a gated MLP), the attention
  term q/k/v and the attention output (each split by tp). transformers keeps ``k = 4``
  hidden-sized tensors alive plus RoPE cos/sin and int64 position ids (measured with a
  tensor-tracking dispatch mode, see tests); vLLM and llama.cpp keep ``k = 2`` (in-place
  residual). ``T`` is the whole prompt for transformers (``batch × context``, one prefill),
  ``max_num_batched_tokens`` for vLLM (chunked prefill; its profiler reserves that peak),
  ``n_ubatch`` for llama.cpp (f32 intermediates). Attention runs in fused kernels
  (transformers' default sdpa, vLLM's FlashAttention, llama.cpp ``-fa auto``), so no
  context × context score matrix is counted.
* logits: transformers ``generate()`` keeps the last position's logits plus an fp32 copy
  (``batch × vocab × (dtype + 4)``); vLLM's sampler profile computes ``max_num_seqs`` rows
  of ``dtype + 12`` bytes (fp32 logits, probabilities and one more fp32 tensor); llama.cpp's
  compute buffer holds an f32 ``n_vocab × n_ubatch`` logits tensor (the worst-case graph
  has one output per token).
* overhead: CUDA context and cuBLAS workspace; vLLM adds non-torch memory, CUDA graphs and
  (tp > 1) communication buffers. vLLM's ``gpu_memory_utilization × usable`` pre-allocation
  is reported as ``reserved_bytes`` and never added to the need.
"""

from __future__ import annotations

from . import kv
from .errors import InvalidWorkload
from .explain import weights_kept_note
from .gpus import GpuSpec
from .memo import per_spec_cache
from .messages import msg
from .model import ModelSpec, Tensor
from .result import Estimate
from .runtime_base import Inputs, Runtime, WeightSplit
from .runtime_llamacpp import RUNTIME as LLAMACPP
from .runtime_transformers import RUNTIME as TRANSFORMERS
from .runtime_vllm import RUNTIME as VLLM
from .runtimes import runtime_constants
from .units import GIB, ceil_div, format_gib
from .verdict import fit_details
from .workload import InferenceWorkload, choice_error

# One strategy per runtime: a new runtime is a module with a ``Runtime`` and a row here.
RUNTIMES: dict[str, Runtime] = {r.name: r for r in (TRANSFORMERS, VLLM, LLAMACPP)}

_REPLICATED_LINEAR = ("ffn_gate_inp", "attn_kv_a_mqa", "attn_q_a")  # routers, MLA down-proj
_KV_PROJ = ("attn_k", "attn_v")


def runtime_of(name: str) -> Runtime:
    """Return the strategy of runtime ``name``."""
    rt = RUNTIMES.get(name)
    if rt is None:
        raise choice_error("runtime", name, tuple(RUNTIMES))
    return rt


def resolve_weights_format(spec: ModelSpec, weights: str) -> str:
    """Return the quant format id for ``weights`` (``auto`` = the checkpoint's own format)."""
    if weights != "auto":
        return weights
    from . import quant

    return quant.resolve_auto(spec)


# --------------------------------------------------------------------------- weights


def _tp_divisor(t: Tensor, spec: ModelSpec, tp: int) -> int:
    """Return how many ways tensor ``t`` is split across ``tp`` ranks (1 = replicated)."""
    if tp == 1 or t.kind in ("norm", "other"):
        return 1
    base = t.name.removesuffix(".bias")
    if base.startswith(_REPLICATED_LINEAR) or base.endswith("_norm"):
        return 1
    if base in _KV_PROJ and t.layer is not None:
        att = spec.layers[t.layer].attention
        if att.kind == "gqa" and att.num_kv_heads > 0:
            return min(tp, att.num_kv_heads)
    return tp


@per_spec_cache
def _weight_split(spec: ModelSpec, fmt: str, runtime: str, tp: int) -> WeightSplit:
    from . import quant

    quantized = quant.quantize_tensors(spec, fmt, runtime=runtime)
    layers = [0] * spec.num_layers
    embedding = output = final = embedding_full = total = 0
    vocab_scale_num, vocab_scale_den = 1, 1
    pad = runtime_of(runtime).vocab_padding
    if pad > 1 and spec.vocab_size > 0:
        vocab_scale_num, vocab_scale_den = ceil_div(spec.vocab_size, pad) * pad, spec.vocab_size
    for q in quantized:
        t: Tensor = q.tensor
        nbytes = int(q.nbytes)
        total += nbytes
        if t.name in ("token_embd", "output"):
            padded = ceil_div(nbytes * vocab_scale_num, vocab_scale_den)
            share = ceil_div(padded, tp)
            if t.name == "token_embd":
                embedding += share
                embedding_full += nbytes
            else:
                output += share
            continue
        share = ceil_div(nbytes, _tp_divisor(t, spec, tp))
        if t.layer is not None and 0 <= t.layer < spec.num_layers:
            layers[t.layer] += share
        elif t.name == "pos_embd":
            embedding += share
        else:
            final += share
    return WeightSplit(tuple(layers), embedding, output, final, embedding_full, total)


def weights_bytes(spec: ModelSpec, weights: str, *, runtime: str = "transformers") -> int:
    """Return the bytes of one full copy of the weights in format ``weights``."""
    return _weight_split(spec, weights, runtime, 1).total_unsplit


# --------------------------------------------------------------------------- helpers


def split_layers(num_layers: int, pp: int) -> tuple[range, ...]:
    """Return the layer range of each pipeline stage (vLLM ``get_pp_indices``)."""
    if pp > num_layers:
        raise InvalidWorkload(
            msg(
                "pp ({pp}) exceeds the model's {layers} layers; use at most {layers} "
                "pipeline stages",
                pp=pp,
                layers=num_layers,
            ),
            field="pp",
        )
    sizes = [num_layers // pp] * pp
    for i in range(2, num_layers % pp + 2):
        sizes[-i] += 1
    out, start = [], 0
    for size in sizes:
        out.append(range(start, start + size))
        start += size
    return tuple(out)


def _validate(spec: ModelSpec, work: InferenceWorkload, rt: Runtime) -> None:
    if work.tp < 1 or work.pp < 1 or work.context < 1 or work.batch < 1:
        raise InvalidWorkload(
            msg(
                "tp, pp, context and batch must each be at least 1 "
                "(got {tp}, {pp}, {context}, {batch})",
                tp=work.tp,
                pp=work.pp,
                context=work.context,
                batch=work.batch,
            ),
            field="tp",
        )
    rt.check(spec, work)
    if work.tp > 1:
        heads = {layer.attention.num_heads for layer in spec.layers}
        for h in sorted(heads):
            if h % work.tp:
                divisors = [d for d in range(1, h + 1) if h % d == 0 and d <= 64]
                raise InvalidWorkload(
                    msg(
                        "tp={tp} does not divide the {heads} attention heads; choose tp from "
                        "{divisors}",
                        tp=work.tp,
                        heads=h,
                        divisors=", ".join(map(str, divisors)),
                    ),
                    field="tp",
                )
        for layer in spec.layers:
            att = layer.attention
            kvh = att.num_kv_heads
            if att.kind == "gqa" and kvh and kvh % work.tp and work.tp % kvh:
                raise InvalidWorkload(
                    msg(
                        "tp={tp} neither divides nor is a multiple of the {kv_heads} KV heads; "
                        "choose a tp that divides the KV heads or a multiple of them",
                        tp=work.tp,
                        kv_heads=kvh,
                    ),
                    field="tp",
                )
    if not rt.partial_offload and work.n_gpu_layers is not None:
        raise InvalidWorkload(
            msg(
                "n_gpu_layers is a llama.cpp setting; {runtime} keeps every layer on the GPU",
                runtime=work.runtime,
            ),
            field="n_gpu_layers",
        )
    split_layers(spec.num_layers, work.pp)


@per_spec_cache  # by the GpuSpec's identity: a fit sweep asks for one GPU thousands of times
def _base_overhead(gpu: GpuSpec | None) -> tuple[int, str]:
    """Return (bytes, description) of the device context + BLAS workspace on one GPU."""
    c = runtime_constants()
    if gpu is not None and gpu.vendor == "apple":
        return int(c["metal_context_bytes"]["value"]), msg("no separate device context (Metal)")
    ws = c["cublas_workspace_bytes"]
    major = int(gpu.compute_capability.split(".")[0]) if gpu and gpu.compute_capability else None
    if gpu is None or (major is not None and major >= 9):
        workspace = int(ws["hopper_and_newer"])  # no GPU named: assume a current datacenter GPU
    elif major == 8 and gpu.memory_bytes >= 24 * GIB:
        workspace = int(ws["ampere_24gb_plus"])
    else:  # smaller or older NVIDIA cards; AMD (hipBLASLt) taken as the small default
        workspace = int(ws["other"])
    ctx = int(c["cuda_context_bytes"]["value"])
    return ctx + workspace, msg(
        "device context {context} + BLAS workspace {workspace}",
        context=format_gib(ctx),
        workspace=format_gib(workspace),
    )


def gpu_dependence(
    runtime: str, gpu: str | None, work: InferenceWorkload | None = None
) -> tuple[int, ...]:
    """Return everything the estimate takes from the GPU, as a hashable key.

    ``(device overhead bytes, *Runtime.gpu_key)`` (only the overhead without ``work``): two
    GPUs with the same key give the same components for the same workload (only the fit
    details differ), so a sweep can share one memory curve between them.
    """
    from .gpus import get_gpu

    spec_gpu = None if gpu is None else get_gpu(gpu)
    key = (_base_overhead(spec_gpu)[0],)
    if work is not None:
        key += runtime_of(runtime).gpu_key(spec_gpu, work)
    return key


# --------------------------------------------------------------------------- estimate


def estimate_inference(spec: ModelSpec, work: InferenceWorkload) -> Estimate:
    """Return the inference memory estimate (bytes per GPU) for ``spec`` under ``work``."""
    rt = runtime_of(work.runtime)
    _validate(spec, work, rt)
    gpu = None
    if work.gpu is not None:
        from .gpus import get_gpu

        gpu = get_gpu(work.gpu)
    fmt = resolve_weights_format(spec, work.weights)
    runtime = work.runtime
    kv_dtype = kv.resolve_kv_dtype(work.kv_dtype, runtime=runtime, weights=fmt)
    tp, pp = work.tp, work.pp
    limits = rt.gpu_limits(gpu)
    base_overhead, overhead_text = _base_overhead(gpu)
    kv_block = 0
    if runtime == "vllm":
        from .vllm_release import block_tokens

        release = block_tokens(work.vllm_version)
        kv_block = kv.vllm_kv_block(spec, kv_dtype=kv_dtype, tp=tp, release_block=release)
    inp = Inputs(
        spec=spec,
        work=work,
        gpu=gpu,
        split=_weight_split(spec, work.weights, runtime, tp),
        stages=split_layers(spec.num_layers, pp),
        kv_layers=kv.kv_layer_bytes(
            spec,
            context=work.context,
            batch=work.batch,
            kv_dtype=kv_dtype,
            runtime=runtime,
            tp=tp,
            ubatch=work.ubatch,
            max_num_batched_tokens=limits[0],  # read by vLLM only
            vllm_block=kv_block,
        ),
        act_bytes=rt.activation_bytes(fmt),
        overhead=base_overhead,
        overhead_text=overhead_text,
        limits=limits,
        kv_block=kv_block,
    )
    details: dict[str, object] = {
        "weights_format": fmt,
        "kv_dtype": kv_dtype,
        "runtime": runtime,
        "tp": tp,
        "pp": pp,
    }
    peak = rt.transients(inp)
    details.update(peak.details)
    placed = rt.place(inp, peak)
    details.update(placed.details)
    assumptions: list[str] = [*peak.assumptions, *placed.assumptions]
    assumptions.extend(kv.recurrent_notes(spec, runtime=runtime, kv_dtype=kv_dtype, tp=tp))
    warnings: list[str] = []
    kept = weights_kept_note(spec, fmt, runtime)
    if kept is not None:  # beside the figure: why "INT8" is nearly the BF16 size
        warnings.append(kept)

    per_stage = placed.stages
    gpu_totals = tuple(g.total for g in per_stage for _ in range(tp))
    worst = max(per_stage, key=lambda g: g.total)
    host_bytes = peak.host_bytes + placed.host_other + placed.host_weights + placed.host_kv
    details["kv_cache_total_bytes"] = sum(g.kv_cache for g in per_stage) * tp
    details["weights_total_bytes"] = inp.split.total_unsplit
    details["host_weights_bytes"] = placed.host_weights
    details["host_kv_cache_bytes"] = placed.host_kv

    # ---- warnings
    if work.context > spec.max_position_embeddings > 0:
        warnings.append(
            msg(
                "context {context:,} exceeds the model's max_position_embeddings "
                "({max:,}); quality degrades without RoPE scaling",
                context=work.context,
                max=spec.max_position_embeddings,
            )
        )
    if tp > 1 and any(
        layer.attention.kind == "gqa" and 0 < layer.attention.num_kv_heads < tp
        for layer in spec.layers
    ):
        warnings.append(
            msg(
                "tp={tp} exceeds the KV heads: each GPU keeps a replicated copy of one KV head",
                tp=tp,
            )
        )

    reserved = None
    if gpu is not None:
        budget = rt.budget(gpu, work, worst)
        reserved = budget.reserved_bytes
        details.update(budget.details)
        need = max(gpu_totals)
        details["fit"] = fit_details(gpu, need, budget.budget_bytes)
        if need > budget.budget_bytes:
            warnings.append(
                msg(
                    "needs {need} per GPU but the {gpu} offers {offer}: use a smaller weights "
                    "format, a shorter context, fewer sequences or more GPUs",
                    need=format_gib(need),
                    gpu=gpu.name,
                    offer=budget.offer,
                )
            )
        if gpu.vendor == "apple":
            assumptions.append(
                msg(
                    "Apple GPU limited to the default wired limit ({limit}); raise it "
                    "with `sudo sysctl iogpu.wired_limit_mb=...`",
                    limit=format_gib(gpu.usable_bytes),
                )
            )
        warnings.extend(rt.gpu_warnings(gpu))

    return Estimate(
        mode="inference",
        components=worst.components(),
        gpu_bytes=gpu_totals,
        assumptions=tuple(assumptions),
        warnings=tuple(warnings),
        host_bytes=host_bytes,
        reserved_bytes=reserved,
        details=details,
    )
