"""Inference memory per GPU: weights + KV cache + activations + logits + runtime overhead.

``estimate_inference(spec, work)`` returns an ``Estimate`` whose ``components`` are the bytes
on the most-loaded GPU and whose ``gpu_bytes`` lists every GPU (``tp × pp`` of them).

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

from dataclasses import dataclass
from typing import Any

from . import kv
from .errors import InvalidWorkload
from .gpus import fit_details
from .memo import per_spec_cache
from .messages import msg
from .model import LayerSpec, ModelSpec, Tensor
from .result import Estimate
from .runtimes import runtime_constants
from .units import GIB, ceil_div, format_gib
from .workload import InferenceWorkload

_REPLICATED_LINEAR = ("ffn_gate_inp", "attn_kv_a_mqa", "attn_q_a")  # routers, MLA down-proj
_KV_PROJ = ("attn_k", "attn_v")


def resolve_weights_format(spec: ModelSpec, weights: str) -> str:
    """Return the quant format id for ``weights`` (``auto`` = the checkpoint's own format)."""
    if weights != "auto":
        return weights
    from . import quant

    return quant.resolve_auto(spec)


# --------------------------------------------------------------------------- weights


@dataclass(frozen=True)
class _WeightSplit:
    """Weight bytes of one TP rank: per layer, embedding, output head and the rest."""

    layers: tuple[int, ...]
    embedding: int  # token_embd (+ pos_embd) on one rank
    output: int  # lm_head on one rank (0 when tied)
    final: int  # final norm and other non-layer tensors
    embedding_full: int  # token_embd bytes unsplit (llama.cpp host copy / tied copy)
    total_unsplit: int  # whole model, one copy


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
def _weight_split(spec: ModelSpec, fmt: str, runtime: str, tp: int) -> _WeightSplit:
    from . import quant

    quantized = quant.quantize_tensors(spec, fmt, runtime=runtime)
    layers = [0] * spec.num_layers
    embedding = output = final = embedding_full = total = 0
    vocab_scale_num, vocab_scale_den = 1, 1
    if runtime == "vllm" and spec.vocab_size > 0:
        pad = int(runtime_constants()["vllm"]["vocab_padding"]["value"])
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
    return _WeightSplit(tuple(layers), embedding, output, final, embedding_full, total)


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


def _validate(spec: ModelSpec, work: InferenceWorkload) -> None:
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
    if work.runtime == "llamacpp" and work.tp > 1:
        raise InvalidWorkload(
            msg(
                "llama.cpp splits a model across GPUs by layers, not tensors (tp={tp}); "
                "use pp={tp} for {tp} GPUs",
                tp=work.tp,
            ),
            field="tp",
        )
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
    if work.runtime != "llamacpp" and work.n_gpu_layers is not None:
        raise InvalidWorkload(
            msg(
                "n_gpu_layers is a llama.cpp setting; {runtime} keeps every layer on the GPU",
                runtime=work.runtime,
            ),
            field="n_gpu_layers",
        )
    if work.runtime == "llamacpp" and work.n_gpu_layers is not None and work.pp > 1:
        raise InvalidWorkload(
            msg(
                "partial offload (n_gpu_layers) is modelled on one GPU; leave n_gpu_layers unset "
                "with pp > 1"
            ),
            field="n_gpu_layers",
        )
    split_layers(spec.num_layers, work.pp)


def _act_dtype_bytes(work: InferenceWorkload, fmt: str) -> int:
    if work.runtime == "llamacpp":
        return int(runtime_constants()["llamacpp"]["compute_dtype_bytes"]["value"])
    if work.runtime == "transformers" and fmt == "fp32":
        return 4
    return 2


def _layer_transient_per_token(layer: LayerSpec, hidden: int, tp: int, runtime: str) -> int:
    """Return the elements per token alive at one layer's peak on one TP rank.

    transformers (measured, see tests/engine/test_inference.py): four hidden-sized tensors
    (the embedding output the model keeps referenced, the residual, the post-attention sum and
    the normed MLP input), the MLP's ``act(gate)``, ``up`` and their product, and the RoPE
    cos/sin tables. vLLM and llama.cpp update the residual in place: two hidden-sized tensors.
    """
    att = layer.attention
    if att.kind == "mla":
        q = att.num_heads * (att.qk_nope_head_dim + att.qk_rope_head_dim)
        kv_width = att.num_heads * (att.qk_nope_head_dim + att.qk_rope_head_dim + att.v_head_dim)
        attn = ceil_div(q + kv_width + att.num_heads * att.v_head_dim, tp)
        rope = att.qk_rope_head_dim
    else:
        q = att.num_heads * att.head_dim
        kv_width = att.num_kv_heads * (att.head_dim + att.v_head_dim)
        attn = ceil_div(q, tp) + ceil_div(kv_width, min(tp, max(1, att.num_kv_heads)))
        attn += ceil_div(att.num_heads * att.v_head_dim, tp)
        rope = att.head_dim
    mlp = layer.mlp
    width = mlp.intermediate_size
    if mlp.kind == "moe":
        width = max(mlp.intermediate_size, mlp.shared_intermediate_size)
    mlp_elems = ceil_div(((2 if mlp.gated else 1) + 1) * width, tp)
    router = mlp.num_experts * 2 if mlp.kind == "moe" else 0  # fp32 router logits
    if runtime == "transformers":
        return 4 * hidden + max(attn, mlp_elems) + router + 2 * rope
    return 2 * hidden + max(attn, mlp_elems) + router


@per_spec_cache
def _max_transient_per_token(spec: ModelSpec, tp: int, runtime: str = "vllm") -> int:
    return max(
        (_layer_transient_per_token(layer, spec.hidden_size, tp, runtime) for layer in spec.layers),
        default=2 * spec.hidden_size,
    )


def vllm_profile_peak_bytes(
    spec: ModelSpec,
    *,
    max_num_batched_tokens: int,
    max_num_seqs: int,
    dtype_bytes: int = 2,
    tp: int = 1,
) -> tuple[int, int]:
    """Return (activation bytes, sampler logits bytes) of vLLM's profiling run on one rank.

    The profile runs one forward pass over ``max_num_batched_tokens`` tokens and the sampler
    over ``min(max_num_seqs, max_num_batched_tokens)`` rows of full-vocabulary logits.
    """
    activations = max_num_batched_tokens * _max_transient_per_token(spec, tp, "vllm") * dtype_bytes
    rows = min(max_num_seqs, max_num_batched_tokens)
    extra = int(runtime_constants()["vllm"]["sampler_bytes_per_logit"]["extra"])
    logits = rows * spec.vocab_size * (dtype_bytes + extra)
    return activations, logits


def _vllm_limits(gpu: Any) -> tuple[int, int]:
    """Return vllm serve's default (max_num_batched_tokens, max_num_seqs) for this GPU."""
    c = runtime_constants()["vllm"]
    large = (
        gpu is not None
        and gpu.vendor in ("nvidia", "amd")
        and gpu.usable_bytes >= 70 * GIB
        and "a100" not in gpu.slug
    )
    key = "large_gpu" if large else "default"
    return int(c["max_num_batched_tokens"][key]), int(c["max_num_seqs"][key])


@per_spec_cache  # by the GpuSpec's identity: a fit sweep asks for one GPU thousands of times
def _base_overhead(gpu: Any) -> tuple[int, str]:
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


def gpu_dependence(runtime: str, gpu: str | None) -> tuple[int, int, int]:
    """Return everything the estimate takes from the GPU, as a hashable key.

    ``(device overhead bytes, vLLM max_num_batched_tokens, vLLM max_num_seqs)``: two GPUs with
    the same key give the same components for the same workload (only the fit details
    differ), so a sweep can share one memory curve between them.
    """
    from .gpus import get_gpu

    spec_gpu = None if gpu is None else get_gpu(gpu)
    limits = _vllm_limits(spec_gpu) if runtime == "vllm" else (0, 0)
    return (_base_overhead(spec_gpu)[0], *limits)


# --------------------------------------------------------------------------- estimate


@dataclass(frozen=True)
class _Gpu:
    """One GPU's bytes by component."""

    weights: int = 0
    kv_cache: int = 0
    activations: int = 0
    logits: int = 0
    overhead: int = 0

    def components(self) -> dict[str, int]:
        return {
            "weights": self.weights,
            "kv_cache": self.kv_cache,
            "activations": self.activations,
            "logits": self.logits,
            "overhead": self.overhead,
        }

    @property
    def total(self) -> int:
        return self.weights + self.kv_cache + self.activations + self.logits + self.overhead


def estimate_inference(spec: ModelSpec, work: InferenceWorkload) -> Estimate:
    """Return the inference memory estimate (bytes per GPU) for ``spec`` under ``work``."""
    _validate(spec, work)
    gpu = None
    if work.gpu is not None:
        from .gpus import get_gpu

        gpu = get_gpu(work.gpu)
    fmt = resolve_weights_format(spec, work.weights)
    runtime = work.runtime
    kv_dtype = kv.resolve_kv_dtype(work.kv_dtype, runtime=runtime, weights=fmt)
    tp, pp = work.tp, work.pp
    split = _weight_split(spec, work.weights, runtime, tp)
    stages = split_layers(spec.num_layers, pp)
    act_bytes = _act_dtype_bytes(work, fmt)
    assumptions: list[str] = []
    warnings: list[str] = []
    details: dict[str, object] = {
        "weights_format": fmt,
        "kv_dtype": kv_dtype,
        "runtime": runtime,
        "tp": tp,
        "pp": pp,
    }

    max_nbt, max_seqs = _vllm_limits(gpu)
    kv_layers = kv.kv_layer_bytes(
        spec,
        context=work.context,
        batch=work.batch,
        kv_dtype=kv_dtype,
        runtime=runtime,
        tp=tp,
        ubatch=work.ubatch,
        max_num_batched_tokens=max_nbt,
    )
    base_overhead, overhead_text = _base_overhead(gpu)
    host_bytes = 0

    # ---- activations and logits on one rank
    if runtime == "transformers":
        tokens = work.batch * work.context
        activations = tokens * (_max_transient_per_token(spec, tp, runtime) * act_bytes + 8)
        logits = work.batch * spec.vocab_size * (act_bytes + 4)
        overhead = base_overhead
        assumptions += [
            msg(
                "transformers generate(): the {tokens:,}-token prompt is prefilled in one "
                "forward pass with sdpa attention (no score matrix kept); int64 position ids "
                "add 8 bytes per token",
                tokens=tokens,
            ),
            msg("logits are kept for the last position only (logits_to_keep=1) plus an fp32 copy"),
            *(
                [
                    msg(
                        "sliding-window layers hold min(context, window) tokens once decoding "
                        "runs; right after a prefill longer than the window they still hold the "
                        "whole prompt until the first decode step"
                    )
                ]
                if any(layer.attention.window for layer in spec.layers)
                else []
            ),
            msg("overhead: {overhead}", overhead=overhead_text),
        ]
    elif runtime == "vllm":
        activations, logits = vllm_profile_peak_bytes(
            spec,
            max_num_batched_tokens=max_nbt,
            max_num_seqs=max_seqs,
            dtype_bytes=act_bytes,
            tp=tp,
        )
        v = runtime_constants()["vllm"]
        extra = int(v["non_torch_bytes"]["value"]) + int(v["cuda_graph_bytes"]["value"])
        if tp > 1:
            extra += int(v["tp_comm_bytes"]["value"])
        overhead = base_overhead + extra
        details["max_num_batched_tokens"] = max_nbt
        details["max_num_seqs"] = max_seqs
        assumptions += [
            msg(
                "vLLM defaults for this GPU: max_num_batched_tokens={max_nbt}, "
                "max_num_seqs={max_seqs}; activations and sampler logits are the profiling "
                "peak vLLM sets aside",
                max_nbt=max_nbt,
                max_seqs=max_seqs,
            ),
            msg(
                "KV cache in 16-token paged blocks; sliding-window layers use window-sized "
                "pages (hybrid KV-cache manager, vLLM >= 0.10)"
            ),
            msg(
                "overhead: {overhead} + non-torch memory + CUDA graphs{tp_buffers}",
                overhead=overhead_text,
                tp_buffers=msg(" + tensor-parallel communication buffers") if tp > 1 else "",
            ),
        ]
    else:  # llamacpp
        ub = min(
            work.ubatch,
            kv.llamacpp_cells(spec, context=work.context, batch=work.batch, ubatch=work.ubatch)[0],
        )
        layer_peak = ub * _max_transient_per_token(spec, 1, runtime) * act_bytes
        logits = spec.vocab_size * ub * act_bytes
        head = logits + ub * spec.hidden_size * act_bytes
        activations = max(layer_peak, head) - logits
        overhead = base_overhead
        host_bytes += spec.vocab_size * work.batch * 4  # host output buffer (n_seq_max rows)
        assumptions += [
            msg(
                "llama.cpp allocates the KV cache for n_ctx = {n_ctx:,} tokens "
                "(padded to 256) up front",
                n_ctx=work.context * work.batch,
            ),
            msg(
                "compute buffer sized for n_ubatch={ubatch}: f32 logits n_vocab × n_ubatch plus "
                "the largest layer intermediates, flash attention on (-fa auto)",
                ubatch=ub,
            ),
            msg("token_embd stays in CPU RAM (llama.cpp never offloads the input layer)"),
            msg("overhead: {overhead}", overhead=overhead_text),
        ]
        if kv.uses_interleaved_swa(spec):
            assumptions.append(
                msg("sliding-window layers use llama.cpp's smaller SWA cache (no --swa-full)")
            )

    # ---- per-stage assembly
    per_stage: list[_Gpu] = []
    host_weights = 0
    host_kv = 0
    if runtime == "llamacpp":
        n_layers = spec.num_layers
        ngl = n_layers + 1 if work.n_gpu_layers is None else min(work.n_gpu_layers, n_layers + 1)
        host_weights += split.embedding  # token_embd on the CPU
        output_bytes = split.output if split.output else split.embedding_full  # tied: a copy
        for s, stage in enumerate(stages):
            last = s == len(stages) - 1
            if pp == 1:
                first_gpu_layer = n_layers - max(0, ngl - 1)
                gpu_layers = range(first_gpu_layer, n_layers) if ngl > 0 else range(0)
                cpu_layers = range(0, first_gpu_layer if ngl > 0 else n_layers)
                w = sum(split.layers[i] for i in gpu_layers)
                kv_gpu = sum(kv_layers[i] for i in gpu_layers)
                host_weights += sum(split.layers[i] for i in cpu_layers)
                host_kv += sum(kv_layers[i] for i in cpu_layers)
                if ngl > 0:
                    w += output_bytes + split.final
                else:
                    host_weights += output_bytes + split.final
            else:
                w = sum(split.layers[i] for i in stage)
                kv_gpu = sum(kv_layers[i] for i in stage)
                if last:
                    w += output_bytes + split.final
            output_on_gpu = last and (pp > 1 or ngl > 0)
            if last and not output_on_gpu:
                host_bytes += logits  # the output layer runs on the CPU: logits in RAM
            per_stage.append(
                _Gpu(
                    weights=w,
                    kv_cache=kv_gpu,
                    activations=activations,
                    logits=logits if output_on_gpu else 0,
                    overhead=overhead,
                )
            )
        if work.n_gpu_layers is not None and ngl <= n_layers:
            assumptions.append(
                msg(
                    "partial offload: {gpu_layers} of {layers} layers{output} on the GPU; "
                    "the rest, and their KV cache, in CPU RAM",
                    gpu_layers=max(0, ngl - 1),
                    layers=n_layers,
                    output=msg(" and the output layer") if ngl > 0 else "",
                )
            )
    else:
        tied_copy = 0
        if spec.tie_word_embeddings and not split.output and pp > 1:
            tied_copy = split.embedding  # the last stage loads its own lm_head copy
        for s, stage in enumerate(stages):
            first, last = s == 0, s == len(stages) - 1
            w = sum(split.layers[i] for i in stage)
            if first:
                w += split.embedding
            if last:
                w += split.output + split.final + tied_copy
            per_stage.append(
                _Gpu(
                    weights=w,
                    kv_cache=sum(kv_layers[i] for i in stage),
                    activations=activations,
                    logits=logits if last else 0,
                    overhead=overhead,
                )
            )

    gpu_totals = tuple(g.total for g in per_stage for _ in range(tp))
    worst = max(per_stage, key=lambda g: g.total)
    host_bytes += host_weights + host_kv
    details["kv_cache_total_bytes"] = sum(g.kv_cache for g in per_stage) * tp
    details["weights_total_bytes"] = split.total_unsplit
    details["host_weights_bytes"] = host_weights
    details["host_kv_cache_bytes"] = host_kv

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
        usable = gpu.usable_bytes
        budget = usable
        if runtime == "vllm":
            reserved = int(usable * work.gpu_memory_utilization)
            budget = reserved
            details["vllm_kv_pool_bytes"] = max(0, reserved - (worst.total - worst.kv_cache))
        need = max(gpu_totals)
        fits = need <= budget
        details["fit"] = fit_details(gpu, need, budget)
        if not fits:
            what = (
                f"gpu_memory_utilization={work.gpu_memory_utilization} × {format_gib(usable)}"
                if runtime == "vllm"
                else format_gib(usable)
            )
            warnings.append(
                msg(
                    "needs {need} per GPU but the {gpu} offers {offer}: use a smaller weights "
                    "format, a shorter context, fewer sequences or more GPUs",
                    need=format_gib(need),
                    gpu=gpu.name,
                    offer=what,
                )
            )
        if gpu.vendor == "apple":
            assumptions.append(
                msg(
                    "Apple GPU limited to the default wired limit ({limit}); raise it "
                    "with `sudo sysctl iogpu.wired_limit_mb=...`",
                    limit=format_gib(usable),
                )
            )
            if runtime == "vllm":
                warnings.append(msg("vLLM does not run on Apple GPUs; use llama.cpp"))

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
