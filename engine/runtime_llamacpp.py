"""llama.cpp (``llama-server``/``llama-cli``): layers split across GPUs, partial offload.

llama.cpp splits a model by layers, never by tensors. ``token_embd`` stays in CPU RAM (the
input layer is never offloaded); a tied model loads a copy of it as the output matrix on the
GPU. ``n_gpu_layers`` keeps the last layers (and the output layer) on the GPU and the rest,
with their KV cache, in CPU RAM. The compute buffer is sized for ``n_ubatch`` tokens in f32:
the larger of one layer's intermediates and the ``n_vocab × n_ubatch`` logits (the
worst-case graph has one output per token) plus the last hidden states.

Rules follow ggml-org/llama.cpp at ``LLAMA_CPP_COMMIT`` (the commit llama-cpp-python 0.3.36
vendors, measured on CPU in reference/llamacpp_buffers.json):

* ``n_batch = min(n_ctx, -b)``, ``n_ubatch = min(n_batch, -ub)``; the worst-case graph is
  reserved for ``min(n_ctx_padded, n_ubatch)`` tokens (src/llama-context.cpp constructor
  and ``sched_reserve``).
* ``-fa off``: ``build_attn_mha`` (src/llama-graph.cpp) multiplies K by Q into an f32
  ``n_kv × n_tokens × n_head`` matrix (soft_max runs in place), for every attention layer
  with ``n_kv`` the cells of its cache; with flash attention the fused op keeps none.
* Graph inputs (token ids, positions, the f32 KQ mask ``n_kv × n_tokens``) and the
  ``token_embd`` lookup stay on the CPU backend: a CUDA build reports them as the
  ``CUDA_Host compute buffer`` (host RAM; ggml-backend.c assigns graph inputs to the last
  backend, the CPU).
* ``--no-kv-offload``: the KV cache lives in CPU RAM and "all nodes between the KV store
  and the attention output are run on the CPU" (``build_attn``), so the KQ matrix is host
  memory.
* ``--n-cpu-moe N`` / ``-ot exps=CPU``: the ``ffn_*_exps`` tensors of the first N layers
  stay in CPU RAM (common/arg.cpp, ``LLM_FFN_EXPS_REGEX``); with n_ubatch >= 32 the CUDA
  backend offloads their MUL_MAT_ID and copies one layer's experts into its compute
  buffer (ggml-cuda.cu ``offload_op``, ``GGML_OP_OFFLOAD_MIN_BATCH`` = 32).
* ``-sm row``: matrix weights are split by rows over every GPU (split buffer type,
  ``make_gpu_buft_list``); layers, their KV cache and compute buffers stay where ``-sm
  layer`` puts them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from . import kv
from .errors import InvalidWorkload
from .memo import per_spec_cache
from .messages import msg
from .runtime_base import (
    Budget,
    GpuBytes,
    Inputs,
    Placement,
    Transients,
    attention_elems_per_token,
    max_transient_per_token,
    usable_budget,
)
from .runtimes import constant, runtime_constants
from .units import ceil_div

if TYPE_CHECKING:
    from .gpus import GpuSpec
    from .model import ModelSpec
    from .workload import InferenceWorkload

LLAMA_CPP_COMMIT = "0c1e57098"  # ggml-org/llama.cpp, vendored by llama-cpp-python 0.3.36
_EXPS = ("ffn_gate_exps", "ffn_up_exps", "ffn_down_exps", "ffn_gate_up_exps")


def effective_ubatch(work: InferenceWorkload) -> int:
    """Tokens of the worst-case graph: ``min(n_ctx, n_batch, n_ubatch)`` (llama-context.cpp:
    ``n_batch = min(n_ctx, n_batch)``, ``n_ubatch = min(n_batch, n_ubatch)``)."""
    return max(1, min(work.context * work.batch, work.n_batch, work.ubatch))


def flash_attention_on(work: InferenceWorkload) -> bool:
    """``-fa auto`` resolves to on where the backend runs the fused op (CUDA, Metal, CPU)."""
    return work.flash_attn != "off"


def layer_cells(spec: ModelSpec, work: InferenceWorkload) -> tuple[int, ...]:
    """KV cells (``n_kv`` of the reserved graph) of each layer; 0 for layers without KV."""
    full, swa = kv.llamacpp_cells(spec, context=work.context, batch=work.batch, ubatch=work.ubatch)
    interleaved = kv.uses_interleaved_swa(spec)
    out = []
    for layer in spec.layers:
        att = layer.attention
        if att.kind == "recurrent":
            out.append(0)
        elif interleaved and att.window:
            out.append(swa)
        else:
            out.append(full)
    return tuple(out)


def kq_bytes(spec: ModelSpec, work: InferenceWorkload, ub: int) -> int:
    """The f32 KQ matrix of the largest attention layer with ``-fa off``; 0 with it on."""
    if flash_attention_on(work):
        return 0
    return max(
        (
            cells * ub * layer.attention.num_heads * 4
            for cells, layer in zip(layer_cells(spec, work), spec.layers, strict=True)
        ),
        default=0,
    )


def attention_peak_bytes(spec: ModelSpec, work: InferenceWorkload, ub: int) -> int:
    """The compute buffer at the attention of the largest layer with ``-fa off``: the KQ
    matrix, the f32 KQ mask copied to the GPU, and the residual, normed input, q, k, v and
    output of ``ub`` tokens in f32 (0 with flash attention)."""
    if flash_attention_on(work):
        return 0
    best = 0
    for cells, layer in zip(layer_cells(spec, work), spec.layers, strict=True):
        if not cells:
            continue
        elems = 2 * spec.hidden_size + attention_elems_per_token(layer, 1)
        kq = cells * ub * layer.attention.num_heads * 4
        best = max(best, kq + cells * ub * 4 + ub * elems * 4)
    return best


def host_compute_bytes(spec: ModelSpec, work: InferenceWorkload, ub: int) -> int:
    """The CPU backend's compute buffer when every layer is on a GPU (``CUDA_Host``): the
    ``token_embd`` rows of the ubatch in f32, the f32 KQ mask of each distinct cache size,
    and the int32 token ids, positions and output ids."""
    masks = {c for c in layer_cells(spec, work) if c}
    return ub * 4 * (spec.hidden_size + sum(masks) + 3)


@per_spec_cache
def expert_bytes(spec: ModelSpec, weights: str) -> tuple[int, ...]:
    """Bytes of the routed-expert tensors (``ffn_*_exps``) of each layer, as llama.cpp
    stores them in ``weights``."""
    from . import quant

    fmt = weights if weights != "auto" else quant.resolve_auto(spec)
    out = [0] * spec.num_layers
    for q in quant.quantize_tensors(spec, fmt, runtime="llamacpp"):
        t = q.tensor
        if t.layer is not None and 0 <= t.layer < spec.num_layers and t.name in _EXPS:
            out[t.layer] += int(q.nbytes)
    return tuple(out)


class LlamaCpp:
    """llama.cpp with its defaults: ``-fa auto`` (on), ``-b 2048 -ub 512``, the unified
    KV cache on the GPU, ``-sm layer``."""

    name = "llamacpp"
    vocab_padding = 1
    partial_offload = True

    def check(self, spec: ModelSpec, work: InferenceWorkload) -> None:
        if work.tp > 1:
            raise InvalidWorkload(
                msg(
                    "llama.cpp splits a model across GPUs by layers, not tensors (tp={tp}); "
                    "use pp={tp} for {tp} GPUs",
                    tp=work.tp,
                ),
                field="tp",
            )
        if work.n_gpu_layers is not None and work.pp > 1:
            raise InvalidWorkload(
                msg(
                    "partial offload (n_gpu_layers) is modelled on one GPU; leave n_gpu_layers "
                    "unset with pp > 1"
                ),
                field="n_gpu_layers",
            )

    def activation_bytes(self, weights_format: str) -> int:
        return int(runtime_constants()["llamacpp"]["compute_dtype_bytes"]["value"])

    def gpu_limits(self, gpu: GpuSpec | None) -> tuple[int, int]:
        return (0, 0)

    def gpu_key(self, gpu: GpuSpec | None, work: InferenceWorkload) -> tuple[int, ...]:
        return ()

    def transients(self, inp: Inputs) -> Transients:
        spec, work, act = inp.spec, inp.work, inp.act_bytes
        ub = effective_ubatch(work)
        cells = kv.llamacpp_cells(spec, context=work.context, batch=work.batch, ubatch=work.ubatch)
        ub = min(ub, cells[0])
        kq = kq_bytes(spec, work, ub)
        layer_peak = ub * max_transient_per_token(spec, 1, 2, False) * act
        if work.kv_offload:  # -fa off: the score matrix is on the GPU with the KV cache
            layer_peak = max(layer_peak, attention_peak_bytes(spec, work, ub))
        logits = spec.vocab_size * ub * act
        head = logits + ub * spec.hidden_size * act
        cpu_moe = _cpu_moe_layers(spec, work)
        expert_copy = 0
        if cpu_moe and ub >= constant("llamacpp", "op_offload_min_batch"):
            experts = expert_bytes(spec, work.weights)
            expert_copy = max(experts[i] for i in range(cpu_moe))
        host_compute = host_compute_bytes(spec, work, ub)
        if not work.kv_offload:
            host_compute += kq
        fa = flash_attention_on(work)
        assumptions = [
            msg(
                "llama.cpp allocates the KV cache for n_ctx = {n_ctx:,} tokens "
                "(padded to 256) up front",
                n_ctx=work.context * work.batch,
            ),
            msg(
                "compute buffer sized for n_ubatch={ubatch}: f32 logits n_vocab × n_ubatch plus "
                "the largest layer intermediates, flash attention on (-fa auto)",
                ubatch=ub,
            )
            if fa
            else msg(
                "compute buffer sized for n_ubatch={ubatch}: f32 logits n_vocab × n_ubatch plus "
                "the largest layer intermediates and, with -fa off, an f32 KQ matrix "
                "n_ctx × n_ubatch × heads ({kq})",
                ubatch=ub,
                kq=_mib(kq),
            ),
            msg("token_embd stays in CPU RAM (llama.cpp never offloads the input layer)"),
            msg(
                "host RAM holds the CUDA_Host compute buffer ({host}: graph inputs and the "
                "embedding lookup); rules as of ggml-org/llama.cpp {commit}",
                host=_mib(host_compute),
                commit=LLAMA_CPP_COMMIT,
            ),
            msg("overhead: {overhead}", overhead=inp.overhead_text),
        ]
        if kv.uses_interleaved_swa(spec):
            assumptions.append(
                msg("sliding-window layers use llama.cpp's smaller SWA cache (no --swa-full)")
            )
        if not work.kv_offload:
            assumptions.append(
                msg(
                    "--no-kv-offload: the KV cache and the attention between the KV store and "
                    "its output run on the CPU (host RAM)"
                )
            )
        if expert_copy:
            assumptions.append(
                msg(
                    "experts of {layers} layers in CPU RAM (--n-cpu-moe); the GPU computes "
                    "them and copies one layer's experts ({copy}) into its compute buffer "
                    "(n_ubatch >= 32)",
                    layers=cpu_moe,
                    copy=_mib(expert_copy),
                )
            )
        return Transients(
            activations=max(layer_peak, head) - logits + expert_copy,
            logits=logits,
            overhead=inp.overhead,
            # host output buffer (n_seq_max rows of f32 logits) + the CPU backend's compute
            # buffer (CUDA_Host)
            host_bytes=spec.vocab_size * work.batch * 4 + host_compute,
            assumptions=tuple(assumptions),
            details=_details(work, ub, fa, kq, host_compute),
        )

    def place(self, inp: Inputs, peak: Transients) -> Placement:
        """The embedding on the host; with pp = 1 the last ``n_gpu_layers - 1`` layers and
        the output layer on the GPU, with pp > 1 every layer on its stage's GPU (``-sm
        row``: matrix weights split over all of them); KV in host RAM with
        ``--no-kv-offload``; the experts of the first ``n_cpu_moe`` layers in host RAM."""
        split, work, spec = inp.split, inp.work, inp.spec
        n_layers = spec.num_layers
        layer_w = list(split.layers)
        cpu_moe = _cpu_moe_layers(spec, work)
        host_experts = 0
        if cpu_moe:
            experts = expert_bytes(spec, work.weights)
            for i in range(cpu_moe):
                layer_w[i] -= experts[i]
                host_experts += experts[i]
        kv_layers = list(inp.kv_layers)
        host_kv_off = 0
        if not work.kv_offload:
            host_kv_off = sum(kv_layers)
            kv_layers = [0] * n_layers
        ngl = n_layers + 1 if work.n_gpu_layers is None else min(work.n_gpu_layers, n_layers + 1)
        host_weights = split.embedding + host_experts  # token_embd on the CPU
        host_kv = host_kv_off
        host_other = 0
        output_bytes = split.output if split.output else split.embedding_full  # tied: a copy
        pp = len(inp.stages)
        row = work.split_mode == "row" and pp > 1
        row_share = ceil_div(sum(layer_w) + output_bytes + split.final, pp) if row else 0
        stages = []
        for s, stage in enumerate(inp.stages):
            last = s == pp - 1
            if pp == 1:
                first_gpu_layer = n_layers - max(0, ngl - 1)
                gpu_layers = range(first_gpu_layer, n_layers) if ngl > 0 else range(0)
                cpu_layers = range(0, first_gpu_layer if ngl > 0 else n_layers)
                w = sum(layer_w[i] for i in gpu_layers)
                kv_gpu = sum(kv_layers[i] for i in gpu_layers)
                host_weights += sum(layer_w[i] for i in cpu_layers)
                host_kv += sum(kv_layers[i] for i in cpu_layers)
                if ngl > 0:
                    w += output_bytes + split.final
                else:
                    host_weights += output_bytes + split.final
            else:
                w = row_share if row else sum(layer_w[i] for i in stage)
                kv_gpu = sum(kv_layers[i] for i in stage)
                if last and not row:
                    w += output_bytes + split.final
            output_on_gpu = last and (pp > 1 or ngl > 0)
            if last and not output_on_gpu:
                host_other += peak.logits  # the output layer runs on the CPU: logits in RAM
            stages.append(
                GpuBytes(
                    weights=w,
                    kv_cache=kv_gpu,
                    activations=peak.activations,
                    logits=peak.logits if output_on_gpu else 0,
                    overhead=peak.overhead,
                )
            )
        assumptions: list[str] = []
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
        if row:
            assumptions.append(
                msg(
                    "-sm row: layer and output weights split evenly by rows over {gpus} GPUs; "
                    "KV cache and compute buffers per layer as with -sm layer",
                    gpus=pp,
                )
            )
        return Placement(tuple(stages), host_weights, host_kv, host_other, tuple(assumptions))

    def budget(self, gpu: GpuSpec, work: InferenceWorkload, worst: GpuBytes) -> Budget:
        return usable_budget(gpu)

    def gpu_warnings(self, gpu: GpuSpec) -> tuple[str, ...]:
        return ()


def _cpu_moe_layers(spec: ModelSpec, work: InferenceWorkload) -> int:
    """Layers whose experts stay on the CPU (0 for a dense model)."""
    if not work.n_cpu_moe or not spec.is_moe:
        return 0
    return min(work.n_cpu_moe, spec.num_layers)


def _mib(n: int) -> str:
    from .units import format_gib

    return format_gib(n)


def _details(
    work: InferenceWorkload, ub: int, fa: bool, kq: int, host_compute: int
) -> dict[str, object]:
    return {
        "llamacpp_commit": LLAMA_CPP_COMMIT,
        "n_ubatch": ub,
        "flash_attn": fa,
        "kq_bytes": kq,
        "host_compute_bytes": host_compute,
    }


RUNTIME = LlamaCpp()
