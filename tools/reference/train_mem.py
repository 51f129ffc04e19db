"""Measure what one training step of the reference implementation holds in memory.

Dev-only tool (needs torch, transformers, peft; never a project dependency). For each case
it builds a Hugging Face causal LM from a real ``config.json``, runs a warm-up optimizer
step on zero gradients (so the optimizer states exist, as in every step after the first),
then tracks one full step (forward, backward, ``optimizer.step()``,
``zero_grad(set_to_none=True)``) with PyTorch's
``torch.distributed._tools.mem_tracker.MemTracker``. Full-size models run under
``FakeTensorMode``: tensors carry shapes and dtypes but no storage, so an 8B model costs no
RAM; the tracker sees the same allocations as a real run (checked by the validation cases,
which run small models both ways and require identical bytes).

Pitfalls handled (see README.md):

* Under FakeTensorMode transformers' ``is_tracing()`` is true, so
  ``masking_utils.find_packed_sequence_indices`` skips its data-dependent "is this a packed
  batch?" check and returns a packed-sequence mask. The model then builds a full
  ``[B, 1, T, T]`` boolean mask and SDPA loses ``enable_gqa`` (transformers repeats K/V per
  head). A real run with ordinary position ids returns ``None`` there. We patch the function
  to compute the same intermediates and return ``None`` for fake tensors: the real path.
* peft's ``get_peft_model`` cannot ``_apply`` onto fake tensors: the LoRA model is built on
  the ``meta`` device, then every parameter and buffer is recreated as a fake tensor of the
  same shape/dtype/requires_grad, sharing one fake tensor between tied parameters.
* MemTracker registers gradient hooks on every parameter; ``register_hook`` fails on frozen
  (``requires_grad=False``) base weights, so our subclass hooks only trainable parameters.

Usage (from the repository root)::

    /work/refenv/bin/python tools/reference/train_mem.py            # all cases + validation
    /work/refenv/bin/python tools/reference/train_mem.py --list
    /work/refenv/bin/python tools/reference/train_mem.py --cases llama-3.1-8b/bs1-s1024-amp
    /work/refenv/bin/python tools/reference/train_mem.py --validate-only

Writes ``reference/training.json`` (sorted keys) unless ``--out`` says otherwise; with
``--cases`` the selected cases are merged into the existing file.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import json
import platform
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch
import transformers
import transformers.masking_utils as masking_utils
from torch import nn
from torch._subclasses.fake_tensor import FakeTensor, FakeTensorMode
from torch.distributed._tools.mem_tracker import MemTracker, _MemRefType
from transformers import AutoConfig, AutoModelForCausalLM

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_OUT = ROOT / "reference" / "training.json"
SCHEMA = 1

# MemTracker reference types -> our category names (README.md explains each).
CATEGORIES = {
    _MemRefType.PARAM: "parameters",
    _MemRefType.BUFFER: "buffers",
    _MemRefType.GRAD: "gradients",
    _MemRefType.OPT: "optimizer_states",
    _MemRefType.ACT: "activations",
    _MemRefType.TEMP: "temporaries",
    _MemRefType.OTH: "inputs",
}
TOTAL_KEY = "Total"


# --------------------------------------------------------------------------- cases


@dataclass(frozen=True)
class Case:
    """One training step to measure. ``model`` is a catalog slug or ``tiny-*`` key."""

    model: str
    batch: int
    seq: int
    precision: str = "amp-bf16"  # "bf16" (pure bf16) | "amp-bf16" (fp32 master + autocast) | "fp32"
    optimizer: str = "adamw"  # "adamw" | "sgd"
    grad_checkpointing: bool = False
    attention: str = "sdpa"  # "sdpa" | "eager"
    method: str = "full"  # "full" | "lora"
    lora_rank: int = 16
    lora_alpha: int = 32
    lora_targets: tuple[str, ...] = ()
    tag: str = ""  # extra id suffix

    @property
    def case_id(self) -> str:
        parts = [f"bs{self.batch}", f"s{self.seq}", self.precision, self.optimizer]
        if self.grad_checkpointing:
            parts.append("gc")
        parts.append(self.attention)
        if self.method == "lora":
            parts.append(f"lora-r{self.lora_rank}-{'+'.join(self.lora_targets)}")
        if self.tag:
            parts.append(self.tag)
        return f"{self.model}/{'-'.join(parts)}"


ALL_LINEAR = ("q", "k", "v", "o", "gate", "up", "down")

CASES: tuple[Case, ...] = (
    # Llama 3.2 1B: the main grid (vary one thing at a time from the first case).
    Case("llama-3.2-1b", 1, 1024),
    Case("llama-3.2-1b", 4, 1024),
    Case("llama-3.2-1b", 1, 4096),
    Case("llama-3.2-1b", 1, 1024, precision="bf16"),
    Case("llama-3.2-1b", 1, 1024, precision="fp32"),
    Case("llama-3.2-1b", 1, 1024, optimizer="sgd"),
    Case("llama-3.2-1b", 1, 1024, grad_checkpointing=True),
    Case("llama-3.2-1b", 4, 1024, grad_checkpointing=True),
    Case("llama-3.2-1b", 1, 1024, attention="eager"),
    Case("llama-3.2-1b", 2, 2048, precision="bf16", grad_checkpointing=True),
    Case("llama-3.2-1b", 1, 1024, precision="bf16", method="lora", lora_targets=ALL_LINEAR),
    Case("llama-3.2-1b", 4, 1024, precision="bf16", method="lora", lora_targets=("q", "v")),
    Case(
        "llama-3.2-1b",
        4,
        1024,
        precision="bf16",
        method="lora",
        lora_targets=ALL_LINEAR,
        grad_checkpointing=True,
    ),
    # Qwen2.5 3B (tied embeddings, q/k/v biases, 16 heads over 2 KV heads)
    Case("qwen2.5-3b", 1, 1024),
    Case("qwen2.5-3b", 2, 2048, precision="bf16", grad_checkpointing=True),
    Case("qwen2.5-3b", 1, 1024, attention="eager"),
    # Qwen3 1.7B (q/k norms, tied embeddings)
    Case("qwen3-1.7b", 2, 1024),
    # Llama 3.1 8B and Mistral 7B: the sizes people fine-tune
    Case("llama-3.1-8b", 1, 1024),
    Case("llama-3.1-8b", 1, 2048, precision="bf16", grad_checkpointing=True),
    Case("llama-3.1-8b", 1, 2048, precision="bf16", optimizer="sgd"),
    Case("llama-3.1-8b", 2, 2048, precision="bf16", method="lora", lora_targets=ALL_LINEAR),
    Case(
        "llama-3.1-8b",
        4,
        2048,
        precision="bf16",
        method="lora",
        lora_targets=ALL_LINEAR,
        grad_checkpointing=True,
    ),
    Case("mistral-7b-v0.1", 1, 1024),
    Case("mistral-7b-v0.1", 1, 2048, precision="bf16", grad_checkpointing=True),
    # Activation-dominated peaks (SGD has no state, so activations decide the peak)
    Case("llama-3.2-1b", 8, 2048, precision="bf16", optimizer="sgd"),
    Case("llama-3.2-1b", 4, 2048, precision="bf16", optimizer="sgd", attention="eager"),
    Case("llama-3.2-1b", 4, 2048, precision="bf16", optimizer="sgd"),
    Case("llama-3.2-1b", 8, 2048, precision="bf16", optimizer="sgd", grad_checkpointing=True),
    Case("qwen2.5-3b", 4, 1024, precision="bf16", optimizer="sgd", grad_checkpointing=True),
    Case("qwen3-1.7b", 4, 2048, precision="bf16", optimizer="sgd"),
    Case("llama-3.1-8b", 1, 8192, precision="bf16", optimizer="sgd", grad_checkpointing=True),
    Case("mistral-7b-v0.1", 2, 4096, precision="bf16", method="lora", lora_targets=("q", "v")),
    # MoE (transformers' default grouped_mm experts: memory depends on shapes only)
    Case("qwen3-30b-a3b", 1, 2048, precision="bf16", optimizer="sgd", grad_checkpointing=True),
    Case(
        "qwen3-30b-a3b", 2, 2048, precision="bf16", method="lora", lora_targets=("q", "k", "v", "o")
    ),
    Case(
        "mixtral-8x7b",
        1,
        2048,
        precision="bf16",
        method="lora",
        lora_targets=("q", "v"),
        grad_checkpointing=True,
    ),
    # Gemma 2 2B (256K vocab, tied, logit softcapping, eager only, alternating window 4096)
    Case("gemma-2-2b", 1, 1024, precision="bf16", optimizer="sgd", attention="eager"),
    Case("gemma-2-2b", 2, 2048, attention="eager"),
    # Phi-3-mini (fused qkv/gate_up projections, MHA, every layer sliding 2047)
    Case("phi-3-mini-4k-instruct", 2, 1024, precision="bf16", optimizer="sgd"),
    Case("phi-3-mini-4k-instruct", 1, 2048, precision="bf16", optimizer="sgd", tag="window"),
    Case(
        "qwen3-1.7b",
        8,
        1024,
        precision="bf16",
        method="lora",
        lora_rank=64,
        lora_alpha=128,
        lora_targets=ALL_LINEAR,
    ),
)

# Small same-layout models for --validate: run real (CPU, real storage) and fake; the
# tracked bytes must be identical. Keys are referenced as Case.model.
TINY_CONFIGS: dict[str, dict[str, Any]] = {
    "tiny-llama": {
        "model_type": "llama",
        "hidden_size": 256,
        "intermediate_size": 704,
        "num_hidden_layers": 3,
        "num_attention_heads": 8,
        "num_key_value_heads": 2,
        "head_dim": 32,
        "vocab_size": 2048,
        "max_position_embeddings": 4096,
        "tie_word_embeddings": False,
        "torch_dtype": "bfloat16",
    },
    "tiny-mistral": {
        "model_type": "mistral",
        "hidden_size": 256,
        "intermediate_size": 704,
        "num_hidden_layers": 2,
        "num_attention_heads": 8,
        "num_key_value_heads": 2,
        "head_dim": 32,
        "vocab_size": 2048,
        "max_position_embeddings": 4096,
        "sliding_window": 128,
        "tie_word_embeddings": False,
        "torch_dtype": "bfloat16",
    },
    "tiny-gemma2": {
        "model_type": "gemma2",
        "hidden_size": 256,
        "intermediate_size": 512,
        "num_hidden_layers": 2,
        "num_attention_heads": 4,
        "num_key_value_heads": 2,
        "head_dim": 64,
        "query_pre_attn_scalar": 64,
        "vocab_size": 4096,
        "max_position_embeddings": 4096,
        "sliding_window": 128,
        "final_logit_softcapping": 30.0,
        "attn_logit_softcapping": 50.0,
        "torch_dtype": "bfloat16",
    },
    "tiny-phi3": {
        "model_type": "phi3",
        "hidden_size": 256,
        "intermediate_size": 512,
        "num_hidden_layers": 2,
        "num_attention_heads": 4,
        "num_key_value_heads": 4,
        "vocab_size": 2048,
        "max_position_embeddings": 4096,
        "original_max_position_embeddings": 4096,
        "sliding_window": 127,
        "pad_token_id": 0,
        "bos_token_id": 1,
        "eos_token_id": 2,
        "tie_word_embeddings": False,
        "torch_dtype": "bfloat16",
    },
    "tiny-qwen3-moe": {
        "model_type": "qwen3_moe",
        "hidden_size": 128,
        "intermediate_size": 256,
        "moe_intermediate_size": 64,
        "num_experts": 8,
        "num_experts_per_tok": 2,
        "num_hidden_layers": 2,
        "num_attention_heads": 4,
        "num_key_value_heads": 2,
        "head_dim": 32,
        "vocab_size": 512,
        "max_position_embeddings": 1024,
        "torch_dtype": "bfloat16",
    },
    "tiny-qwen2": {
        "model_type": "qwen2",
        "hidden_size": 192,
        "intermediate_size": 512,
        "num_hidden_layers": 2,
        "num_attention_heads": 6,
        "num_key_value_heads": 2,
        "vocab_size": 3000,
        "max_position_embeddings": 4096,
        "tie_word_embeddings": True,
        "torch_dtype": "bfloat16",
    },
}

VALIDATION_CASES: tuple[Case, ...] = (
    Case("tiny-llama", 2, 256),
    Case("tiny-llama", 2, 256, precision="bf16"),
    Case("tiny-llama", 1, 512, optimizer="sgd", precision="fp32"),
    Case("tiny-llama", 2, 256, grad_checkpointing=True),
    Case("tiny-llama", 2, 256, attention="eager"),
    Case("tiny-llama", 2, 256, precision="bf16", method="lora", lora_targets=ALL_LINEAR),
    Case(
        "tiny-llama",
        2,
        256,
        precision="bf16",
        method="lora",
        lora_targets=("q", "v"),
        grad_checkpointing=True,
    ),
    Case("tiny-mistral", 2, 256, precision="bf16", optimizer="sgd"),
    Case("tiny-mistral", 2, 128, precision="bf16", method="lora", lora_targets=("q", "v")),
    Case("tiny-gemma2", 2, 256, attention="eager"),
    Case("tiny-gemma2", 2, 256, precision="bf16", optimizer="sgd", attention="eager"),
    Case("tiny-phi3", 2, 256, precision="bf16", optimizer="sgd"),
    Case("tiny-qwen3-moe", 2, 256, precision="bf16", optimizer="sgd"),
    Case("tiny-qwen3-moe", 2, 256, precision="bf16", method="lora", lora_targets=("q", "v")),
    Case("tiny-qwen2", 2, 256),
    Case("tiny-qwen2", 2, 256, precision="bf16", method="lora", lora_targets=ALL_LINEAR),
)

# LoRA target short names -> module names in the Llama/Qwen/Mistral families
LORA_MODULES = {
    "q": "q_proj",
    "k": "k_proj",
    "v": "v_proj",
    "o": "o_proj",
    "gate": "gate_proj",
    "up": "up_proj",
    "down": "down_proj",
}

OPTIMIZER_SETTINGS = {
    # foreach=True is what torch picks by default for CUDA tensors; we force it because the
    # default for CPU tensors is the per-tensor loop (different temporaries).
    "adamw": {"class": "torch.optim.AdamW", "lr": 1e-5, "weight_decay": 0.01, "foreach": True},
    # HF Trainer's optim="sgd" is torch.optim.SGD(params, lr) -> momentum 0, no state.
    "sgd": {"class": "torch.optim.SGD", "lr": 1e-3, "momentum": 0.0, "foreach": True},
}


# --------------------------------------------------------------------------- configs


def load_config(model: str) -> dict[str, Any]:
    """Return the raw config.json dict for a catalog slug, fixture name or tiny key."""
    if model in TINY_CONFIGS:
        return dict(TINY_CONFIGS[model])
    for path in (
        ROOT / "engine" / "data" / "models" / model / "config.json",
        ROOT / "reference" / "configs" / f"{model}.json",
    ):
        if path.exists():
            return json.loads(path.read_text())
    raise SystemExit(f"no config.json for {model!r} in engine/data/models/ or reference/configs/")


def config_source(model: str) -> str:
    if model in TINY_CONFIGS:
        return "tools/reference/train_mem.py:TINY_CONFIGS"
    path = ROOT / "engine" / "data" / "models" / model / "config.json"
    if path.exists():
        return str(path.relative_to(ROOT))
    return f"reference/configs/{model}.json"


def hf_config(raw: dict[str, Any], attention: str) -> transformers.PretrainedConfig:
    cfg = AutoConfig.for_model(**raw)
    cfg._attn_implementation = attention
    cfg.use_cache = False  # training: no KV cache (HF Trainer/TRL set this too)
    return cfg


# --------------------------------------------------------------------------- patches


_ORIGINAL_FIND_PACKED = masking_utils.find_packed_sequence_indices


def _find_packed_sequence_indices(position_ids: torch.Tensor) -> torch.Tensor | None:
    """Same computation as transformers', but decide "not packed" for fake tensors too.

    A real run evaluates ``(packed_sequence_mask[:, -1] == 0).all()`` and returns ``None`` for
    ordinary (0..T-1) position ids; fake tensors have no data, so transformers treats them as
    traced and keeps the mask. Our inputs are never packed, so ``None`` is the real answer.
    """
    if not isinstance(position_ids, FakeTensor):
        return _ORIGINAL_FIND_PACKED(position_ids)
    first_dummy_value = position_ids[:, :1] - 1
    position_diff = torch.diff(position_ids, prepend=first_dummy_value, dim=-1)
    packed_sequence_mask = (position_diff != 1).cumsum(-1)
    del packed_sequence_mask
    return None


@contextlib.contextmanager
def real_path_patches(enabled: bool = True):
    if not enabled:
        yield
        return
    masking_utils.find_packed_sequence_indices = _find_packed_sequence_indices
    try:
        yield
    finally:
        masking_utils.find_packed_sequence_indices = _ORIGINAL_FIND_PACKED


class TrainableOnlyMemTracker(MemTracker):
    """MemTracker that installs gradient hooks only on parameters that require grad."""

    def _track_module_params_and_buffers(
        self, module: nn.Module, install_grad_hooks: bool = True
    ) -> tuple[int, int]:
        frozen = [p for p in module.parameters() if not p.requires_grad]
        if not frozen or not install_grad_hooks:
            return super()._track_module_params_and_buffers(module, install_grad_hooks)
        # Track everything without hooks, then hook trainable parameters only.
        param_mem, buffer_mem = super()._track_module_params_and_buffers(
            module, install_grad_hooks=False
        )

        def _grad_hook(grad: torch.Tensor) -> None:
            self._update_and_maybe_create_winfos(grad, _MemRefType.GRAD)

        for param in module.parameters():
            if param.requires_grad and self._param_to_grad_hook_handles.get(param) is None:
                self._param_to_grad_hook_handles[param] = (
                    param.register_hook(_grad_hook),
                    param.register_post_accumulate_grad_hook(lambda p: _grad_hook(p.grad)),
                )
        return param_mem, buffer_mem

    def _update_peak_stats(self, peak_state: Any) -> None:
        # Only the global peak is used. The base class also refreshes every active module's
        # local peak on every op, O(ops x modules), which makes LoRA models (many small
        # modules) take minutes; the global peak and its snapshot are computed identically.
        for dev, dev_snap in self._curr_mem_snap.items():
            if self._peak_mem.get(dev, 0) < dev_snap[TOTAL_KEY]:
                self._peak_mem[dev] = dev_snap[TOTAL_KEY]
                self._peak_mem_snap[dev] = dict(dev_snap)

    def restart_peak(self) -> None:
        """Start a new peak window from the current state (for per-phase peaks)."""
        self._peak_mem_snap = self.get_tracker_snapshot("current")
        self._peak_mem = {dev: snap[TOTAL_KEY] for dev, snap in self._peak_mem_snap.items()}


# --------------------------------------------------------------------------- model build


def _torch_dtype(case: Case) -> torch.dtype:
    """Parameter dtype: bf16 for pure-bf16 training, fp32 master weights otherwise."""
    return torch.bfloat16 if case.precision == "bf16" else torch.float32


def _materialize_as_fake(model: nn.Module) -> None:
    """Replace every meta parameter/buffer with an (ambient-mode) tensor, keeping ties."""
    new_params: dict[int, nn.Parameter] = {}
    new_buffers: dict[int, torch.Tensor] = {}
    for module in model.modules():
        for name, param in list(module._parameters.items()):
            if param is None:
                continue
            if id(param) not in new_params:
                data = torch.empty(param.shape, dtype=param.dtype)
                new_params[id(param)] = nn.Parameter(data, requires_grad=param.requires_grad)
            module._parameters[name] = new_params[id(param)]
        for name, buf in list(module._buffers.items()):
            if buf is None:
                continue
            if id(buf) not in new_buffers:  # values do not matter for memory, only shapes
                new_buffers[id(buf)] = torch.zeros(buf.shape, dtype=buf.dtype)
            module._buffers[name] = new_buffers[id(buf)]


def build_model(case: Case, raw: dict[str, Any], *, fake: bool) -> nn.Module:
    """Build the model (inside the ambient fake mode when ``fake``) ready to train."""
    cfg = hf_config(raw, case.attention)
    dtype = _torch_dtype(case)
    if case.method == "lora":
        import peft

        lora_cfg = peft.LoraConfig(
            r=case.lora_rank,
            lora_alpha=case.lora_alpha,
            lora_dropout=0.0,
            target_modules=[LORA_MODULES[t] for t in case.lora_targets],
            bias="none",
            task_type="CAUSAL_LM",
        )
        if fake:
            # peft cannot _apply onto fake tensors: build on meta, then re-create as fake.
            with torch.device("meta"):
                base = AutoModelForCausalLM.from_config(cfg, dtype=dtype)
                model = peft.get_peft_model(base, lora_cfg)
            _materialize_as_fake(model)
        else:
            base = AutoModelForCausalLM.from_config(cfg, dtype=dtype)
            model = peft.get_peft_model(base, lora_cfg)
    else:
        model = AutoModelForCausalLM.from_config(cfg, dtype=dtype)
    if case.grad_checkpointing:
        model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
    model.train()
    return model


def build_optimizer(case: Case, model: nn.Module) -> torch.optim.Optimizer:
    params = [p for p in model.parameters() if p.requires_grad]
    settings = dict(OPTIMIZER_SETTINGS[case.optimizer])
    settings.pop("class")
    if case.optimizer == "adamw":
        return torch.optim.AdamW(params, **settings)
    return torch.optim.SGD(params, **settings)


# --------------------------------------------------------------------------- measuring


def _breakdown(snapshot: dict[torch.device, dict[Any, int]], state_bytes: int) -> dict[str, int]:
    """Our categories from a MemTracker snapshot.

    MemTracker labels everything allocated inside ``optimizer.step()`` as optimizer state,
    including the foreach temporaries (e.g. AdamW's sqrt(v) copy) freed before step()
    returns. Bytes beyond the persistent ``state_bytes`` are moved to ``temporaries``.
    """
    out = dict.fromkeys(CATEGORIES.values(), 0)
    out["total"] = 0
    for dev_snap in snapshot.values():
        for key, value in dev_snap.items():
            if key == TOTAL_KEY:
                out["total"] += value
            else:
                out[CATEGORIES[_MemRefType(key)]] += value
    excess = out["optimizer_states"] - state_bytes
    if excess > 0:
        out["optimizer_states"] -= excess
        out["temporaries"] += excess
    return out


def _state_bytes(opt: torch.optim.Optimizer) -> int:
    """Bytes of the optimizer's persistent state tensors (distinct storages)."""
    seen: dict[int, int] = {}
    for state in opt.state.values():
        for value in state.values():
            if isinstance(value, torch.Tensor):
                st = value.untyped_storage()
                seen[id(st)] = st.nbytes()
    return sum(seen.values())


def _autocast(case: Case):
    if case.precision == "amp-bf16":
        return torch.autocast("cpu", dtype=torch.bfloat16)
    return contextlib.nullcontext()


def _step(case: Case, model: nn.Module, opt: torch.optim.Optimizer, ids: torch.Tensor, tracker):
    """One training step; returns per-phase peak and end-of-phase breakdowns."""
    phases: dict[str, dict[str, Any]] = {}
    state_bytes = _state_bytes(opt)

    def mark(name: str) -> None:
        if tracker is None:
            return
        phases[name] = {
            "peak": _breakdown(tracker.get_tracker_snapshot("peak"), state_bytes),
            "end": _breakdown(tracker.get_tracker_snapshot("current"), state_bytes),
        }
        tracker.restart_peak()

    with _autocast(case):
        out = model(input_ids=ids, labels=ids, use_cache=False)
    loss = out.loss
    del out
    mark("forward")
    loss.backward()
    del loss
    mark("backward")
    opt.step()
    mark("optimizer_step")
    opt.zero_grad(set_to_none=True)
    mark("zero_grad")
    return phases


def _init_optimizer_state(opt: torch.optim.Optimizer) -> None:
    params = [p for group in opt.param_groups for p in group["params"]]
    for p in params:
        p.grad = torch.zeros_like(p)
    opt.step()
    opt.zero_grad(set_to_none=True)


def measure(case: Case, *, fake: bool, patch: bool = True) -> dict[str, Any]:
    """Run warm-up + one tracked step; return the measurement dict for ``case``.

    ``patch=False`` leaves transformers' fake-tensor path alone (only to show the pitfall).
    """
    raw = load_config(case.model)
    torch.manual_seed(0)
    mode = FakeTensorMode() if fake else contextlib.nullcontext()
    started = time.time()
    with real_path_patches(patch), mode:
        model = build_model(case, raw, fake=fake)
        opt = build_optimizer(case, model)
        vocab = model.config.get_text_config().vocab_size
        ids = torch.randint(0, vocab, (case.batch, case.seq))
        # Warm-up: one optimizer step on zero gradients creates the optimizer states (AdamW's
        # exp_avg/exp_avg_sq/step), as they exist in every step after the first. Cheaper
        # than a full warm-up forward/backward, and the tracked step is the same.
        _init_optimizer_state(opt)
        gc.collect()
        tracker = TrainableOnlyMemTracker()
        tracker.track_external(model, opt, ids)
        with tracker:
            phases = _step(case, model, opt, ids, tracker)
        # MoE experts dispatch (transformers' use_experts_implementation marks the modules)
        experts_impl = None
        if any(hasattr(m, "_is_expert_parallel") for m in model.modules()):
            experts_impl = model.config.get_text_config()._experts_implementation
        n_params = sum(p.numel() for p in {id(p): p for p in model.parameters()}.values())
        n_trainable = sum(
            p.numel() for p in {id(p): p for p in model.parameters() if p.requires_grad}.values()
        )
    peak_phase = max(phases, key=lambda name: phases[name]["peak"]["total"])
    result = {
        "peak_bytes": phases[peak_phase]["peak"]["total"],
        "peak_phase": peak_phase,
        "peak_breakdown": phases[peak_phase]["peak"],
        "phases": phases,
        "params": n_params,
        "trainable_params": n_trainable,
    }
    if experts_impl is not None:
        result["experts_implementation"] = experts_impl
    print(f"  ({time.time() - started:.1f} s)", file=sys.stderr)
    del model, opt, ids, tracker
    gc.collect()
    return result


def case_settings(case: Case) -> dict[str, Any]:
    d = asdict(case)
    d.pop("tag")
    d["lora_targets"] = list(case.lora_targets)
    if case.method != "lora":
        for key in ("lora_rank", "lora_alpha", "lora_targets"):
            d.pop(key)
    d["optimizer_settings"] = OPTIMIZER_SETTINGS[case.optimizer]
    d["param_dtype"] = "bfloat16" if case.precision == "bf16" else "float32"
    d["autocast"] = "cpu/bfloat16" if case.precision == "amp-bf16" else None
    d["use_cache"] = False
    d["labels"] = "input_ids (HF causal-LM loss, logits upcast to fp32)"
    if case.grad_checkpointing:
        d["gradient_checkpointing_kwargs"] = {"use_reentrant": False}
    if case.method == "lora":
        d["lora_dropout"] = 0.0
        d["lora_modules"] = [LORA_MODULES[t] for t in case.lora_targets]
    return d


def engine_workload(case: Case) -> dict[str, Any]:
    """The case as engine.workload.training_from_dict input (TrainingWorkload fields)."""
    work: dict[str, Any] = {
        "method": case.method,
        "seq": case.seq,
        "batch": case.batch,
        "precision": case.precision,
        "optimizer": case.optimizer,
        "grad_checkpointing": "full" if case.grad_checkpointing else "none",
        "attention": case.attention,
    }
    if case.method == "lora":
        work.update(
            lora_rank=case.lora_rank,
            lora_alpha=case.lora_alpha,
            lora_targets=list(case.lora_targets),
        )
    return work


def run_case(case: Case) -> dict[str, Any]:
    result = measure(case, fake=True)
    return {
        "id": case.case_id,
        "model": case.model,
        "config_source": config_source(case.model),
        "config": load_config(case.model),
        "settings": case_settings(case),
        "workload": engine_workload(case),
        "mode": "FakeTensorMode",
        **result,
    }


def run_validation(case: Case) -> dict[str, Any]:
    fake = measure(case, fake=True)
    real = measure(case, fake=False)
    unpatched = measure(case, fake=True, patch=False)
    keys = ("peak_bytes", "peak_phase", "phases")
    return {
        "fake_unpatched_peak_bytes": unpatched["peak_bytes"],
        "fake_unpatched_forward_end_activations": unpatched["phases"]["forward"]["end"][
            "activations"
        ],
        "id": case.case_id,
        "model": case.model,
        "config": load_config(case.model),
        "settings": case_settings(case),
        "fake": fake,
        "real": real,
        "identical": all(fake[k] == real[k] for k in keys),
    }


def versions() -> dict[str, str]:
    import peft

    return {
        "python": platform.python_version(),
        "torch": torch.__version__,
        "transformers": transformers.__version__,
        "peft": peft.__version__,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument(
        "--cases", help="comma-separated case ids or model slugs (merge into --out)"
    )
    parser.add_argument("--list", action="store_true", help="list case ids and exit")
    parser.add_argument("--validate-only", action="store_true")
    parser.add_argument("--no-validate", action="store_true")
    args = parser.parse_args(argv)

    if args.list:
        for case in CASES:
            print(case.case_id)
        for case in VALIDATION_CASES:
            print("validate:", case.case_id)
        return 0

    existing: dict[str, Any] = {}
    if args.out.exists():
        existing = json.loads(args.out.read_text())
    selected = CASES
    if args.cases:
        wanted = set(args.cases.split(","))
        selected = tuple(c for c in CASES if c.case_id in wanted or c.model in wanted)
        if not selected:
            raise SystemExit(f"no case matches {args.cases!r}; see --list")
    if args.validate_only:
        selected = ()

    cases = {c["id"]: c for c in existing.get("cases", [])} if args.cases else {}
    for case in selected:
        print(f"measuring {case.case_id} ...", file=sys.stderr, flush=True)
        cases[case.case_id] = run_case(case)
        r = cases[case.case_id]
        print(f"  peak {r['peak_bytes'] / 2**30:.3f} GiB in {r['peak_phase']}", file=sys.stderr)
    validation = existing.get("validation", [])
    if not args.no_validate:
        validation = []
        for case in VALIDATION_CASES:
            print(f"validating {case.case_id} (fake vs real) ...", file=sys.stderr, flush=True)
            v = run_validation(case)
            validation.append(v)
            print(
                f"  fake {v['fake']['peak_bytes']} real {v['real']['peak_bytes']} "
                f"identical={v['identical']} (unpatched fake {v['fake_unpatched_peak_bytes']})",
                file=sys.stderr,
            )
    if not args.cases and args.validate_only:
        cases = {c["id"]: c for c in existing.get("cases", [])}

    doc = {
        "schema": SCHEMA,
        "tool": "tools/reference/train_mem.py",
        "versions": versions(),
        "device": "cpu",
        "categories": {
            "parameters": "nn.Parameter storages (MemTracker PARAM)",
            "buffers": "registered buffers, e.g. rotary inv_freq (BUFFER)",
            "gradients": "parameter .grad storages (GRAD)",
            "optimizer_states": "persistent optimizer.state tensors, incl. AdamW step "
            "counters (OPT, capped at the state size after the warm-up step)",
            "activations": "tensors created in forward or in checkpoint recomputation (ACT)",
            "temporaries": "tensors created in backward outside recomputation, e.g. "
            "activation gradients (TEMP), plus the optimizer step's transient foreach "
            "buffers (OPT bytes above the persistent state)",
            "inputs": "input_ids/labels handed to the model (OTH)",
        },
        "phases": "forward / backward / optimizer_step / zero_grad: 'peak' is the highest "
        "total within the phase with its breakdown at that moment, 'end' the state after it",
        "cases": sorted(cases.values(), key=lambda c: c["id"]),
        "validation": validation,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(doc, indent=1, sort_keys=True) + "\n")
    print(f"wrote {args.out}", file=sys.stderr)
    bad = [v["id"] for v in validation if not v["identical"]]
    if bad:
        print(f"fake and real runs differ for: {', '.join(bad)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
