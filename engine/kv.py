"""KV-cache bytes, laid out the way each runtime really allocates them.

Per layer, the cache holds ``elements per token × tokens kept × bytes per element``:

* Elements per token come from the layer's ``AttentionSpec.kv_elems_per_token``: for
  GQA/MQA/MHA ``num_kv_heads × (head_dim + v_head_dim)``; for MLA the compressed latent plus
  the decoupled RoPE key, ``kv_lora_rank + qk_rope_head_dim``: what vLLM's
  ``MLAAttentionSpec`` pages hold, what llama.cpp caches, and what transformers 5.x's
  DeepSeek attention stores (measured: ``reference/kv_cache.json``; transformers 4.x
  cached the decompressed ``num_heads × (qk_nope + qk_rope + v_head_dim)`` instead).
* Tensor parallelism splits KV heads across GPUs; when ``tp > num_kv_heads`` each GPU keeps
  one (replicated) head, as vLLM does. An MLA latent is not split: every TP rank caches it.
* Tokens kept per sequence depend on the runtime:

  - transformers ``DynamicCache``: full layers keep the whole context; sliding-window layers
    (``DynamicSlidingWindowLayer``) keep the last ``window - 1`` tokens plus the token being
    added, i.e. ``min(context, window)`` at the peak (transformers ``cache_utils.py``).
  - vLLM (paged, blocks of b tokens: the release's ``CacheConfig`` default, 16 on 0.33 and
    64 on 0.34, ``vllm_release.block_tokens``; ``kv_cache_interface.py``): full layers take
    ``ceil(context / b)`` blocks; with the hybrid KV-cache manager (default since v0.10)
    sliding-window layers take ``ceil(min(window - 1 + max_num_batched_tokens, context) / b)
    + 1`` blocks (``SlidingWindowSpec.max_memory_usage_bytes``). With
    ``--disable-hybrid-kv-cache-manager`` a model that mixes full and sliding layers gets
    full-size pages for every layer (``FullAttentionSpec`` docstring); ``hybrid=False``
    reproduces that.
  - llama.cpp: one unified cache of ``n_ctx = pad256(context × batch)`` cells
    (``llama-context.cpp``: ``cparams.n_ctx = GGML_PAD(cparams.n_ctx, 256)``), allocated up
    front. Models with interleaved SWA (Gemma 2/3, gpt-oss...) get a second, smaller cache for
    the SWA layers of ``pad256(min(n_ctx, window × n_seq + n_ubatch))`` cells
    (``llama-kv-cache-iswa.cpp``), unless ``--swa-full``. A model whose every layer is
    windowed (Mistral-7B-v0.1) is converted as plain ``llama`` and cached at full ``n_ctx``.

Bytes per element come from ``kv_bytes_per_element`` (the ``kv_dtypes`` table of
``data/quant_formats.json``; q8_0 is 34/32 bytes).

Recurrent layers (``LayerSpec.state``: Gated DeltaNet, Mamba-2...) cache no K/V; each
sequence keeps a fixed-size state there, added to the layer's bytes by ``kv_layer_bytes``
(``state_layer_bytes``): a conv window of ``conv_channels × columns`` and an SSM/delta state
of ``state_heads × state_head_elems``. Per runtime:

* transformers (5.25 ``cache_utils.LinearAttentionLayer``): ``conv_kernel`` columns in the
  compute dtype; the state in float32 where the layer computes it in float32 (Gated
  DeltaNet's ``torch_chunk_gated_delta_rule``), else the compute dtype
  (``reference/kv_cache.json`` measures both).
* vLLM (``model_executor/layers/mamba/mamba_utils.py`` ``MambaStateShapeCalculator``;
  ``model_executor/models/config.py`` ``HybridAttentionMambaModelConfig``): ``conv_kernel
  - 1`` columns, conv and state in the model dtype (``--mamba-cache-dtype auto``; the SSM
  state takes config.json's ``mamba_ssm_cache_dtype`` for Nemotron-H, default float32,
  ``NemotronHForCausalLMConfig``, and ``mamba_ssm_dtype`` for Qwen3.5,
  ``Qwen3_5ForConditionalGenerationConfig``), heads and
  channels split by TP (Mamba-2 groups replicated up to the TP size). Without prefix
  caching, the attention block grows to ``16 × ceil(state page / (16 × one token's K/V
  page))`` tokens so that one attention page holds a state, and each state is padded to
  that page.
* llama.cpp (``llama-model.cpp`` ``create_memory``: ``recurrent_type_k/v = GGML_TYPE_F32``;
  ``llama-hparams.cpp`` ``n_embd_r``/``n_embd_s``): ``conv_kernel - 1`` columns and the
  state in F32, one cell per sequence (``n_seq_max``); the KV cache holds the attention
  layers only.
"""

from __future__ import annotations

from fractions import Fraction

from .errors import InvalidWorkload
from .ggml import get_ggml_type
from .memo import cached, per_spec_cache
from .messages import msg
from .model import AttentionSpec, ModelSpec, RecurrentSpec
from .quant_data import rows
from .runtimes import constant
from .units import ceil_div

# KV dtypes each runtime can store (workload.KV_DTYPES minus "auto").
RUNTIME_KV_DTYPES: dict[str, tuple[str, ...]] = {
    "transformers": ("fp32", "fp16", "bf16"),
    "vllm": ("fp16", "bf16", "fp8"),
    "llamacpp": ("fp32", "fp16", "bf16", "q8_0", "q5_1", "q5_0", "iq4_nl", "q4_1", "q4_0"),
}


def resolve_kv_dtype(kv_dtype: str, *, runtime: str, weights: str = "bf16") -> str:
    """Return the concrete KV dtype: ``auto`` is the compute dtype (llama.cpp: f16).

    transformers keeps K/V in the activation dtype, so an fp32 model caches fp32; vLLM runs
    fp32 checkpoints in 16-bit; llama.cpp's default ``--cache-type-k/-v`` is f16.
    """
    if kv_dtype == "auto":
        if runtime == "llamacpp":
            return "fp16"
        if runtime == "transformers" and weights == "fp32":
            return "fp32"
        return "fp16" if weights == "fp16" else "bf16"
    allowed = RUNTIME_KV_DTYPES.get(runtime, ())
    if kv_dtype not in allowed:
        raise InvalidWorkload(
            msg(
                "kv_dtype {kv_dtype!r} is not available in {runtime}; it supports {allowed}",
                kv_dtype=kv_dtype,
                runtime=runtime,
                allowed=", ".join(("auto", *allowed)),
            ),
            field="kv_dtype",
        )
    return kv_dtype


@cached
def kv_dtype_aliases() -> dict[str, str]:
    """Each runtime's spelling of a KV dtype (``kv_dtypes`` ``aliases``) → the table's id."""
    return {alias: row["id"] for row in rows("kv_dtypes") for alias in row.get("aliases", ())}


def canonical_kv_dtype(value: object) -> object:
    """Return the table's id for a KV dtype as a runtime spells it (llama.cpp's ``f16``,
    vLLM's ``fp8_e4m3``), so input accepts either and every output shows one name.
    Anything else comes back unchanged, for the caller's validation to reject."""
    if not isinstance(value, str):
        return value
    key = value.strip().lower()
    return kv_dtype_aliases().get(key, key)


@cached
def _kv_table() -> dict[str, Fraction]:
    """Bytes per element of each KV dtype (``data/quant_formats.json`` ``kv_dtypes``):
    llama.cpp's quantized cache types (q8_0 ... q4_0) take their size from the ggml block table."""
    table: dict[str, Fraction] = {}
    for row in rows("kv_dtypes"):
        if "ggml_type" in row:
            t = get_ggml_type(row["ggml_type"])
            table[row["id"]] = Fraction(t.bytes_per_block, t.block_size)
        else:
            table[row["id"]] = Fraction(row["bits"], 8)
    return table


def kv_bytes_per_element(kv_dtype: str) -> Fraction:
    """Return bytes per cached K/V element for ``kv_dtype`` (q8_0 = 34/32, q4_0 = 18/32)."""
    table = _kv_table()
    key = canonical_kv_dtype(kv_dtype)
    if key not in table:
        raise InvalidWorkload(
            msg(
                "kv_dtype must be one of {allowed}; got {value!r}",
                allowed=", ".join(table),
                value=kv_dtype,
            ),
            field="kv_dtype",
        )
    return table[key]


@cached
def kv_element_bytes(kv_dtype: str) -> Fraction:
    """Return bytes per cached element for a concrete KV dtype (q8_0: 34/32)."""
    return kv_bytes_per_element(kv_dtype)


def layer_elems_per_token(att: AttentionSpec, *, runtime: str) -> int:
    """Return K+V elements one token occupies in one layer's cache (all heads).

    ``runtime`` is accepted for symmetry: every modelled runtime caches the same elements
    (for MLA, the latent; see the module docstring).
    """
    del runtime
    return att.kv_elems_per_token


def layer_elems_per_token_per_gpu(att: AttentionSpec, *, runtime: str, tp: int) -> int:
    """Return the cached elements per token one TP rank holds for this layer."""
    elems = layer_elems_per_token(att, runtime=runtime)
    if tp == 1:
        return elems
    if att.kind == "mla":
        return elems  # the latent is replicated on every rank
    heads = att.num_kv_heads
    if heads <= 0:
        return 0
    per_head = elems // heads
    return per_head * max(1, ceil_div(heads, tp))


def _is_windowed(att: AttentionSpec) -> bool:
    return att.window is not None and att.window > 0


@per_spec_cache
def uses_interleaved_swa(spec: ModelSpec) -> bool:
    """True when some, but not all, layers use a sliding window (Gemma 2/3, gpt-oss)."""
    flags = [_is_windowed(layer.attention) for layer in spec.layers]
    return any(flags) and not all(flags)


def tokens_kept(
    window: int,
    *,
    context: int,
    runtime: str,
    max_num_batched_tokens: int = 2048,
    full_pages: bool = False,
    block: int = 0,
) -> int:
    """Return cache slots one sequence holds in a layer (transformers, vLLM).

    ``window`` is the layer's sliding window (0 = full attention). ``full_pages`` is vLLM
    without the hybrid manager on a model that mixes full and sliding layers: every layer
    then gets full-size pages. ``block`` overrides vLLM's block size (hybrid recurrent
    models, ``vllm_block_tokens``).
    """
    if runtime == "vllm":
        block = block or constant("vllm", "block_tokens")
        if window and not full_pages:
            tokens = min(window - 1 + max_num_batched_tokens, context)
            return (ceil_div(tokens, block) + 1) * block
        return ceil_div(context, block) * block
    return min(context, window) if window else context


def llamacpp_cells(spec: ModelSpec, *, context: int, batch: int, ubatch: int) -> tuple[int, int]:
    """Return llama.cpp's (full-attention cells, SWA cells) for the unified cache."""
    pad = constant("llamacpp", "ctx_pad")
    n_ctx = ceil_div(context * batch, pad) * pad
    if not uses_interleaved_swa(spec):
        return n_ctx, n_ctx
    window = _swa_window(spec)
    swa = min(n_ctx, window * batch + ubatch)
    swa = ceil_div(swa, pad) * pad
    return n_ctx, swa


@per_spec_cache
def _layer_keys(spec: ModelSpec, runtime: str, tp: int) -> tuple[tuple[int, int], ...]:
    """Return (elements per token on one rank, window or 0) for every layer."""
    return tuple(
        (
            layer_elems_per_token_per_gpu(layer.attention, runtime=runtime, tp=tp),
            (layer.attention.window or 0) if _is_windowed(layer.attention) else 0,
        )
        for layer in spec.layers
    )


@per_spec_cache
def _swa_window(spec: ModelSpec) -> int:
    return max((window for _, window in _layer_keys(spec, "llamacpp", 1)), default=0)


def kv_layer_bytes(
    spec: ModelSpec,
    *,
    context: int,
    batch: int = 1,
    kv_dtype: str = "bf16",
    runtime: str = "transformers",
    tp: int = 1,
    ubatch: int = 512,
    max_num_batched_tokens: int = 2048,
    hybrid: bool = True,
    vllm_block: int = 0,
) -> tuple[int, ...]:
    """Return the KV-cache bytes of every layer on one TP rank (``kv_dtype`` concrete).

    ``vllm_block``: tokens per vLLM KV block (``vllm_kv_block``; 0: runtimes.json's, or the
    state-page block of a model with recurrent layers)."""
    if context < 1 or batch < 1:
        raise InvalidWorkload(
            msg(
                "context and batch must be at least 1 (got {context}, {batch})",
                context=context,
                batch=batch,
            ),
            field="context",
        )
    elem_bytes = kv_element_bytes(kv_dtype)
    num, den = elem_bytes.numerator, elem_bytes.denominator
    keys = _layer_keys(spec, runtime, tp)
    interleaved = uses_interleaved_swa(spec)
    if runtime == "llamacpp":
        full_cells, swa_cells = llamacpp_cells(spec, context=context, batch=batch, ubatch=ubatch)
    full_pages = runtime == "vllm" and not hybrid and interleaved
    states = has_recurrent_state(spec)
    block = vllm_block
    if not block and states and runtime == "vllm":
        block = vllm_block_tokens(spec, kv_dtype=kv_dtype, tp=tp)
    memo: dict[tuple[int, int], int] = {}
    out = []
    for key in keys:
        value = memo.get(key)
        if value is None:
            elems, window = key
            if runtime == "llamacpp":
                slots = swa_cells if interleaved and window else full_cells
            else:
                slots = batch * tokens_kept(
                    window,
                    context=context,
                    runtime=runtime,
                    max_num_batched_tokens=max_num_batched_tokens,
                    full_pages=full_pages,
                    block=block,
                )
            value = ceil_div(elems * slots * num, den)
            memo[key] = value
        out.append(value)
    if states:
        for i, layer in enumerate(spec.layers):
            if layer.state is not None:
                out[i] += batch * state_layer_bytes(
                    spec, layer.state, runtime=runtime, kv_dtype=kv_dtype, tp=tp
                )
    return tuple(out)


def kv_cache_bytes(spec: ModelSpec, **kwargs: object) -> int:
    """Return the KV-cache bytes of all layers on one TP rank (see ``kv_layer_bytes``)."""
    return sum(kv_layer_bytes(spec, **kwargs))  # type: ignore[arg-type]


def kv_bytes_per_token(
    spec: ModelSpec, *, kv_dtype: str = "bf16", runtime: str = "transformers"
) -> int:
    """Return K+V bytes one token adds over all layers, ignoring sliding windows."""
    elem_bytes = kv_element_bytes(kv_dtype)
    elems = sum(layer_elems_per_token(layer.attention, runtime=runtime) for layer in spec.layers)
    return int(-(-(elems * elem_bytes) // 1))


# --------------------------------------------------------------------------- recurrent state


@per_spec_cache
def has_recurrent_state(spec: ModelSpec) -> bool:
    """True when some layer keeps a fixed-size recurrent state (Mamba, Gated DeltaNet...)."""
    return any(layer.state is not None for layer in spec.layers)


def state_elems_per_gpu(st: RecurrentSpec, *, runtime: str, tp: int = 1) -> tuple[int, int]:
    """Return (conv-window elements, SSM/delta-state elements) of one sequence in one layer
    on one TP rank, as ``runtime`` lays them out (see the module docstring)."""
    columns = st.conv_kernel if runtime == "transformers" else st.conv_kernel - 1
    groups = st.groups
    if runtime == "vllm" and groups % tp:  # extra_groups_for_head_shards
        groups = tp
    channels = st.conv_base + groups * st.group_channels
    return channels // tp * columns, st.state_heads // tp * st.state_head_elems


def state_dtypes(st: RecurrentSpec, *, runtime: str, kv_dtype: str) -> tuple[str, str]:
    """Return the (conv, state) dtypes ``runtime`` keeps a recurrent layer's state in.

    ``kv_dtype`` is the concrete KV dtype; for transformers it is the compute dtype.
    """
    if runtime == "llamacpp":
        return "fp32", "fp32"
    if runtime == "vllm":  # the model dtype: vLLM runs 16-bit (fp16 is as large)
        return "bf16", "fp32" if st.vllm_fp32_state else "bf16"
    return kv_dtype, "fp32" if st.hf_fp32_state else kv_dtype


def state_page_bytes(
    spec: ModelSpec, st: RecurrentSpec, *, runtime: str, kv_dtype: str, tp: int = 1
) -> int:
    """Return the bytes of one sequence's state in one layer, before vLLM's page padding."""
    conv, ssm = state_elems_per_gpu(st, runtime=runtime, tp=tp)
    conv_dtype, ssm_dtype = state_dtypes(st, runtime=runtime, kv_dtype=kv_dtype)
    return int(conv * kv_element_bytes(conv_dtype) + ssm * kv_element_bytes(ssm_dtype))


def state_layer_bytes(
    spec: ModelSpec, st: RecurrentSpec, *, runtime: str, kv_dtype: str, tp: int = 1
) -> int:
    """Return the bytes one sequence's state takes in one layer on one TP rank (vLLM: one
    page, padded to the attention page when the model also has attention layers)."""
    raw = state_page_bytes(spec, st, runtime=runtime, kv_dtype=kv_dtype, tp=tp)
    if runtime != "vllm":
        return raw
    token = _vllm_attention_token_bytes(spec, kv_dtype=kv_dtype, tp=tp)
    if token == 0:
        return raw
    return vllm_block_tokens(spec, kv_dtype=kv_dtype, tp=tp) * token


def _vllm_attention_token_bytes(spec: ModelSpec, *, kv_dtype: str, tp: int) -> int:
    """One token's K/V page bytes in one attention layer on one rank (0: no attention)."""
    elems = max(
        (
            layer_elems_per_token_per_gpu(layer.attention, runtime="vllm", tp=tp)
            for layer in spec.layers
            if layer.attention.kv_elems_per_token
        ),
        default=0,
    )
    return int(-(-(elems * kv_element_bytes(kv_dtype)) // 1))


def vllm_block_tokens(spec: ModelSpec, *, kv_dtype: str, tp: int = 1) -> int:
    """Return vLLM's attention block size for a model with recurrent layers (prefix caching
    off): the smallest multiple of 16 tokens whose K/V page holds the largest state page
    (``HybridAttentionMambaModelConfig``); 16 when nothing needs more."""
    base = constant("vllm", "block_tokens")
    token = _vllm_attention_token_bytes(spec, kv_dtype=kv_dtype, tp=tp)
    pages = [
        state_page_bytes(spec, layer.state, runtime="vllm", kv_dtype=kv_dtype, tp=tp)
        for layer in spec.layers
        if layer.state is not None
    ]
    if token == 0 or not pages:
        return base
    return max(base, base * ceil_div(max(pages), base * token))


def vllm_kv_block(spec: ModelSpec, *, kv_dtype: str, tp: int, release_block: int) -> int:
    """Return vLLM's tokens per KV block: the release's default (``CacheConfig``), or for a
    model with recurrent layers the block whose page holds the largest state page."""
    if has_recurrent_state(spec):
        return vllm_block_tokens(spec, kv_dtype=kv_dtype, tp=tp)
    return release_block


def recurrent_summary(spec: ModelSpec) -> tuple[int, int]:
    """Return (layers that keep no KV cache, all layers)."""
    return sum(1 for layer in spec.layers if layer.attention.kv_elems_per_token == 0), len(
        spec.layers
    )


def recurrent_notes(
    spec: ModelSpec, *, runtime: str, kv_dtype: str, tp: int = 1
) -> tuple[str, ...]:
    """The sentences that explain a hybrid model's cache: which layers keep no KV cache and
    the fixed state each sequence keeps there instead (empty for a pure-attention model)."""
    if not has_recurrent_state(spec):
        return ()
    from .units import format_gib

    stateful = [layer for layer in spec.layers if layer.state is not None]
    per_seq = sum(
        state_layer_bytes(spec, layer.state, runtime=runtime, kv_dtype=kv_dtype, tp=tp)
        for layer in stateful
        if layer.state is not None
    )
    conv_dtype, ssm_dtype = state_dtypes(stateful[0].state, runtime=runtime, kv_dtype=kv_dtype)
    free, total = recurrent_summary(spec)
    if free == 0:  # Falcon-H1: attention and a Mamba mixer in every layer
        notes = [
            msg(
                "all {layers} layers keep a KV cache and, beside it, a fixed {state} of "
                "recurrent state per sequence (conv window in {conv_dtype}, SSM state in "
                "{ssm_dtype}), whatever the context",
                layers=total,
                state=format_gib(per_seq),
                conv_dtype=conv_dtype,
                ssm_dtype=ssm_dtype,
            )
        ]
    elif not any(layer.state.state_heads for layer in stateful if layer.state is not None):
        notes = [  # short convolutions (LFM2): a conv window, no SSM state
            msg(
                "{free} of {layers} layers keep no KV cache: the {recurrent} convolution "
                "layers keep a fixed {state} conv window ({conv_dtype}) per sequence instead, "
                "whatever the context",
                free=free,
                layers=total,
                recurrent=len(stateful),
                state=format_gib(per_seq),
                conv_dtype=conv_dtype,
            )
        ]
    else:
        notes = [
            msg(
                "{free} of {layers} layers keep no KV cache: the {recurrent} recurrent ones "
                "keep a fixed {state} per sequence instead (conv window in {conv_dtype}, "
                "SSM/delta state in {ssm_dtype}), whatever the context",
                free=free,
                layers=total,
                recurrent=len(stateful),
                state=format_gib(per_seq),
                conv_dtype=conv_dtype,
                ssm_dtype=ssm_dtype,
            )
        ]
    block = vllm_block_tokens(spec, kv_dtype=kv_dtype, tp=tp) if runtime == "vllm" else 0
    raw = sum(
        state_page_bytes(spec, layer.state, runtime=runtime, kv_dtype=kv_dtype, tp=tp)
        for layer in stateful
        if layer.state is not None
    )
    if runtime == "vllm" and (block > constant("vllm", "block_tokens") or per_seq > raw):
        notes.append(
            msg(
                "vLLM pads each recurrent state to one attention page: attention layers "
                "use {block}-token blocks (prefix caching off)",
                block=block,
            )
        )
    return tuple(notes)
