"""llama.cpp (``llama-server``/``llama-cli``): layers split across GPUs, partial offload.

llama.cpp splits a model by layers, never by tensors. ``token_embd`` stays in CPU RAM (the
input layer is never offloaded); a tied model loads a copy of it as the output matrix on the
GPU. ``n_gpu_layers`` keeps the last layers (and the output layer) on the GPU and the rest,
with their KV cache, in CPU RAM. The compute buffer is sized for ``n_ubatch`` tokens in f32:
the larger of one layer's intermediates and the ``n_vocab × n_ubatch`` logits (the
worst-case graph has one output per token) plus the last hidden states.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from . import kv
from .errors import InvalidWorkload
from .messages import msg
from .runtime_base import (
    Budget,
    GpuBytes,
    Inputs,
    Placement,
    Transients,
    max_transient_per_token,
    usable_budget,
)
from .runtimes import runtime_constants

if TYPE_CHECKING:
    from .gpus import GpuSpec
    from .model import ModelSpec
    from .workload import InferenceWorkload


class LlamaCpp:
    """llama.cpp with flash attention on (``-fa auto``) and the unified KV cache."""

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

    def transients(self, inp: Inputs) -> Transients:
        spec, work, act = inp.spec, inp.work, inp.act_bytes
        cells = kv.llamacpp_cells(spec, context=work.context, batch=work.batch, ubatch=work.ubatch)
        ub = min(work.ubatch, cells[0])
        layer_peak = ub * max_transient_per_token(spec, 1, 2, False) * act
        logits = spec.vocab_size * ub * act
        head = logits + ub * spec.hidden_size * act
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
            ),
            msg("token_embd stays in CPU RAM (llama.cpp never offloads the input layer)"),
            msg("overhead: {overhead}", overhead=inp.overhead_text),
        ]
        if kv.uses_interleaved_swa(spec):
            assumptions.append(
                msg("sliding-window layers use llama.cpp's smaller SWA cache (no --swa-full)")
            )
        return Transients(
            activations=max(layer_peak, head) - logits,
            logits=logits,
            overhead=inp.overhead,
            host_bytes=spec.vocab_size * work.batch * 4,  # host output buffer (n_seq_max rows)
            assumptions=tuple(assumptions),
        )

    def place(self, inp: Inputs, peak: Transients) -> Placement:
        """The embedding on the host; with pp = 1 the last ``n_gpu_layers - 1`` layers and
        the output layer on the GPU, with pp > 1 every layer on its stage's GPU."""
        split, work, kv_layers = inp.split, inp.work, inp.kv_layers
        n_layers = inp.spec.num_layers
        ngl = n_layers + 1 if work.n_gpu_layers is None else min(work.n_gpu_layers, n_layers + 1)
        host_weights = split.embedding  # token_embd on the CPU
        host_kv = host_other = 0
        output_bytes = split.output if split.output else split.embedding_full  # tied: a copy
        pp = len(inp.stages)
        stages = []
        for s, stage in enumerate(inp.stages):
            last = s == pp - 1
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
        assumptions: tuple[str, ...] = ()
        if work.n_gpu_layers is not None and ngl <= n_layers:
            assumptions = (
                msg(
                    "partial offload: {gpu_layers} of {layers} layers{output} on the GPU; "
                    "the rest, and their KV cache, in CPU RAM",
                    gpu_layers=max(0, ngl - 1),
                    layers=n_layers,
                    output=msg(" and the output layer") if ngl > 0 else "",
                ),
            )
        return Placement(tuple(stages), host_weights, host_kv, host_other, assumptions)

    def budget(self, gpu: GpuSpec, work: InferenceWorkload, worst: GpuBytes) -> Budget:
        return usable_budget(gpu)

    def gpu_warnings(self, gpu: GpuSpec) -> tuple[str, ...]:
        return ()


RUNTIME = LlamaCpp()
