"""compressed-tensors checkpoints (``quant_method: compressed-tensors``), byte for byte.

A checkpoint written by llm-compressor / compressed-tensors names its quantization in
``quantization_config``: ``config_groups`` (each a ``QuantizationScheme``: ``targets``,
``weights`` and ``input_activations`` ``QuantizationArgs``, an optional per-group ``format``),
an ``ignore`` list and a model-wide ``format``. This module reads that config and lays out
every targeted linear exactly as the compressors of compressed-tensors 0.18.0
(vllm-project/compressed-tensors ac8e2ba) store it:

* matching (``utils/match.py``): a target or ignore entry ``re:PATTERN`` is
  ``re.match(PATTERN, name)`` (anchored at the start, not the end); any other entry is an
  exact module name or a module class name ("Linear", "Embedding"). Among the targets that
  match a module, exact names win over regexes over class names (``match_targets``), and a
  later config group's target replaces an earlier identical one
  (``apply_quantization_config``); only ``nn.Linear`` / ``nn.Embedding`` are compressed;
* layouts (``compressors/*``): ``pack-quantized`` int32 ``weight_packed`` of
  ``ceil(in × bits / 32)`` words per row + ``weight_shape`` int64[2], asymmetric group/channel
  zero points packed the same way along the output dim; ``naive-/int-/float-quantized`` the
  weight in int8 / float8_e4m3; ``nvfp4-pack-quantized`` two FP4 codes per uint8, FP8 group
  scales and an fp32 ``weight_global_scale``; ``mxfp4-pack-quantized`` uint8 codes + uint8
  (E8M0) scales;
* scales (``lifecycle/initialize.py``): one per tensor ``(1,)``, channel ``(out, 1)``, group
  ``(out, ceil(in / g))`` or block ``(ceil(out / r), ceil(in / c))``, in the checkpoint's
  float dtype unless ``scale_dtype`` says otherwise (FP8 for NVFP4, uint8 for MXFP4);
  static activations add ``input_scale`` (tensor-group: an fp32 ``input_global_scale``).

Module names are the language model's as transformers names it (``model.layers.N.self_attn
.q_proj``, ``model.layers.N.mlp.experts.E.gate_proj``, ``lm_head``): the names the config's
regexes were written against. Vision/audio towers stay 16-bit (published multimodal
checkpoints ignore them: ``re:vision_tower.*``, ``re:visual.*``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from .errors import ConfigError
from .messages import msg
from .units import ceil_div

FORMATS = (
    "pack-quantized",
    "naive-quantized",
    "int-quantized",
    "float-quantized",
    "nvfp4-pack-quantized",
    "mxfp4-pack-quantized",
)
# safetensors dtype → bytes per element
_DTYPE_BYTES = {"I32": 4, "I64": 8, "I8": 1, "U8": 1, "F8_E4M3": 1, "BF16": 2, "F16": 2, "F32": 4}
# torch dtype names a config's scale_dtype / zp_dtype may carry → safetensors dtype
_TORCH_DTYPES = {
    "bfloat16": "BF16",
    "float16": "F16",
    "half": "F16",
    "float32": "F32",
    "float": "F32",
    "float8_e4m3fn": "F8_E4M3",
    "uint8": "U8",
    "int8": "I8",
}
_FLOAT_DTYPE = {"bf16": "BF16", "fp16": "F16", "fp32": "F32"}


@dataclass(frozen=True)
class CtArgs:
    """One ``QuantizationArgs`` (weights or input activations), normalized as
    compressed-tensors' validator does (strategy inferred from ``group_size``)."""

    num_bits: int
    type: str  # "int" | "float"
    strategy: str  # "tensor" | "channel" | "group" | "tensor_group" | "block" | "token"
    group_size: int = 0
    block: tuple[int, int] = (0, 0)
    symmetric: bool = True
    dynamic: bool | str = False  # True, False or "local"
    actorder_group: bool = False  # actorder "group": a weight_g_idx int32 per input column
    scale_dtype: str = ""  # safetensors dtype; "" = the checkpoint's float dtype


@dataclass(frozen=True)
class CtGroup:
    """One config group: the modules it targets and how their weights are stored."""

    name: str
    targets: tuple[str, ...]
    weights: CtArgs | None
    input_activations: CtArgs | None
    format: str  # the group's own format, else the config's


@dataclass(frozen=True)
class CtScheme:
    """A parsed compressed-tensors ``quantization_config``."""

    format: str
    groups: tuple[CtGroup, ...]
    ignore: tuple[str, ...]
    where: str = "quantization_config"  # the config key it was read from


def _bad(where: str, why: str) -> ConfigError:
    return ConfigError(
        msg("{where} (compressed-tensors) is malformed: {why}", where=where, why=why),
        field="quantization_config",
    )


def _torch_dtype(value: Any, where: str) -> str:
    if value is None:
        return ""
    name = str(value).removeprefix("torch.")
    if name not in _TORCH_DTYPES:
        raise _bad(where, f"unknown dtype {value!r}")
    return _TORCH_DTYPES[name]


def parse_args(raw: Any, where: str) -> CtArgs | None:
    """``QuantizationArgs`` as compressed-tensors validates them (None: not quantized)."""
    if raw is None:
        return None
    if not isinstance(raw, dict):
        raise _bad(where, f"quantization args must be an object, got {raw!r}")
    bits = raw.get("num_bits", 8)
    qtype = str(raw.get("type", "int")).lower()
    if not isinstance(bits, int) or isinstance(bits, bool) or not 1 <= bits <= 8:
        raise _bad(where, f"num_bits must be 1 to 8, got {bits!r}")
    if qtype not in ("int", "float") or (qtype == "float" and bits not in (4, 8)):
        raise _bad(where, f"unsupported type {qtype!r} with {bits} bits")
    group = raw.get("group_size")
    strategy = raw.get("strategy")
    if strategy is None:  # QuantizationArgs.validate_model_after
        strategy = "tensor" if group is None else "group" if group > 0 else "channel"
    strategy = str(strategy).lower()
    if strategy in ("group", "tensor_group") and (not isinstance(group, int) or group <= 0):
        raise _bad(where, f"strategy {strategy} needs a positive group_size, got {group!r}")
    block = (0, 0)
    if strategy == "block":
        bs = raw.get("block_structure")
        if not (isinstance(bs, list) and len(bs) == 2 and all(isinstance(x, int) for x in bs)):
            raise _bad(where, f"strategy block needs block_structure [rows, cols], got {bs!r}")
        block = (bs[0], bs[1])
    elif strategy not in ("tensor", "channel", "group", "tensor_group", "token"):
        raise _bad(where, f"unknown strategy {strategy!r}")
    dynamic = raw.get("dynamic", False)
    dynamic = dynamic.lower() if isinstance(dynamic, str) else bool(dynamic)
    actorder = raw.get("actorder")
    return CtArgs(
        num_bits=bits,
        type=qtype,
        strategy=strategy,
        group_size=group if strategy in ("group", "tensor_group") else 0,
        block=block,
        symmetric=bool(raw.get("symmetric", True)),
        dynamic=dynamic,
        actorder_group=actorder is True or str(actorder).lower() == "group",
        scale_dtype=_torch_dtype(raw.get("scale_dtype"), where),
    )


def parse_scheme(q: dict[str, Any], where: str = "quantization_config") -> CtScheme:
    """Parse a compressed-tensors ``quantization_config`` (``quant_method``
    ``compressed-tensors``)."""
    fmt = str(q.get("format") or "dense")
    groups_raw = q.get("config_groups") or {}
    if not isinstance(groups_raw, dict):
        raise _bad(where, "config_groups must be an object")
    groups = []
    for name, g in groups_raw.items():
        if not isinstance(g, dict):
            raise _bad(where, f"config group {name!r} must be an object")
        targets = g.get("targets") or []
        if isinstance(targets, str):
            targets = [targets]
        gfmt = str(g.get("format") or fmt)
        group = CtGroup(
            name=str(name),
            targets=tuple(str(t) for t in targets),
            weights=parse_args(g.get("weights"), where),
            input_activations=parse_args(g.get("input_activations"), where),
            format=gfmt,
        )
        if group.weights is not None and gfmt not in (*FORMATS, "mixed-precision"):
            raise ConfigError(
                msg(
                    "{where}: compressed-tensors format {fmt!r} is not modelled; the engine "
                    "reads {known}",
                    where=where,
                    fmt=gfmt,
                    known=", ".join(FORMATS),
                ),
                field="quantization_config",
            )
        groups.append(group)
    ignore = q.get("ignore") or []
    if isinstance(ignore, str):
        ignore = [ignore]
    if not isinstance(ignore, list):
        raise _bad(where, "ignore must be a list")
    return CtScheme(fmt, tuple(groups), tuple(str(i) for i in ignore), where)


# --------------------------------------------------------------------------- matching


def match_name(name: str, target: str) -> bool:
    """compressed-tensors ``match_name``: ``re:`` entries are ``re.match`` (anchored at the
    start only), others an exact name."""
    if target.startswith("re:"):
        return re.match(target[3:], name) is not None
    return target == name


class Matcher:
    """``scheme_for`` with the config's targets ordered and its regexes compiled once."""

    def __init__(self, scheme: CtScheme) -> None:
        by_target: dict[str, CtGroup] = {}
        for g in scheme.groups:  # a later group's identical target replaces an earlier one
            for t in g.targets:
                by_target[t] = g
        # match_targets: exact names, then regexes (each sorted), then class names
        ordered = sorted(by_target, key=lambda t: ("re:" in t, t))
        self._exact = {t: by_target[t] for t in ordered if not t.startswith("re:")}
        self._regex = [(re.compile(t[3:]), by_target[t]) for t in ordered if t.startswith("re:")]
        self._classes = [(t, by_target[t]) for t in ordered if not t.startswith("re:")]
        self._ignore_exact = {i for i in scheme.ignore if not i.startswith("re:")}
        self._ignore_regex = [re.compile(i[3:]) for i in scheme.ignore if i.startswith("re:")]

    def __call__(self, name: str, cls: str) -> CtGroup | None:
        """The config group that compresses module ``name`` of class ``cls`` ("Linear",
        "Embedding", or another class name), or None when it stays unquantized."""
        if cls not in ("Linear", "Embedding"):
            return None  # compressed-tensors compresses nn.Linear and nn.Embedding only
        if name in self._ignore_exact or cls in self._ignore_exact:
            return None
        if any(p.match(name) for p in self._ignore_regex):
            return None
        group = self._exact.get(name)
        if group is None:
            group = next((g for p, g in self._regex if p.match(name)), None)
        if group is None:
            group = next((g for t, g in self._classes if t == cls), None)
        return group if group is not None and group.weights is not None else None


def scheme_for(scheme: CtScheme, name: str, cls: str) -> CtGroup | None:
    """The config group that compresses module ``name`` of class ``cls``, or None."""
    return Matcher(scheme)(name, cls)


# --------------------------------------------------------------------------- layouts


def module_format(group: CtGroup) -> str:
    """The compressor of one group: its format, or for ``mixed-precision`` without one the
    first that can compress it (``compressors/format.py`` COMPRESSION_FORMAT_PRIORITY)."""
    if group.format != "mixed-precision":
        return group.format
    w, a = group.weights, group.input_activations
    assert w is not None
    if w.type == "float" and w.num_bits == 4:
        return "mxfp4-pack-quantized" if w.group_size == 32 else "nvfp4-pack-quantized"
    if w.type == "int" and a is not None:
        return "int-quantized"
    if w.type == "int" and (a is None or a.type != "float"):
        return "pack-quantized"
    return "float-quantized" if a is not None else "naive-quantized"


def _scale_shape(w: CtArgs, n_out: int, n_in: int) -> tuple[int, ...]:
    if w.strategy == "channel":
        return (n_out, 1)
    if w.strategy in ("group", "tensor_group"):
        return (n_out, ceil_div(n_in, w.group_size))
    if w.strategy == "block":
        return (ceil_div(n_out, w.block[0]), ceil_div(n_in, w.block[1]))
    return (1,)


def stored_tensors(
    group: CtGroup, n_out: int, n_in: int, float_dtype: str = "bf16"
) -> list[tuple[str, str, tuple[int, ...]]]:
    """The tensors one compressed linear ``(n_out, n_in)`` writes: (name suffix, safetensors
    dtype, shape), as compressed-tensors 0.18.0 saves them."""
    w = group.weights
    assert w is not None
    fmt = module_format(group)
    half = _FLOAT_DTYPE.get(float_dtype, "BF16")
    scale = _scale_shape(w, n_out, n_in)
    out: list[tuple[str, str, tuple[int, ...]]] = []
    if fmt == "pack-quantized":
        out.append(("weight_packed", "I32", (n_out, ceil_div(n_in * w.num_bits, 32))))
        out.append(("weight_shape", "I64", (2,)))
        out.append(("weight_scale", w.scale_dtype or half, scale))
        if not w.symmetric:
            if w.strategy in ("group", "channel"):  # packed along the output dim
                out.append(
                    ("weight_zero_point", "I32", (ceil_div(n_out * w.num_bits, 32), scale[-1]))
                )
            else:
                out.append(("weight_zero_point", "I8", scale))
    elif fmt in ("nvfp4-pack-quantized", "mxfp4-pack-quantized"):
        nv = fmt.startswith("nvfp4")
        out.append(("weight_packed", "U8", (n_out, ceil_div(n_in, 2))))
        out.append(("weight_scale", w.scale_dtype or ("F8_E4M3" if nv else "U8"), scale))
        if w.strategy == "tensor_group":
            out.append(("weight_global_scale", "F32", (1,)))
        if not w.symmetric:
            out.append(("weight_zero_point", "F8_E4M3", scale))
    else:  # naive-, int-, float-quantized: the weight in its quantized torch dtype
        out.append(("weight", "F8_E4M3" if w.type == "float" else "I8", (n_out, n_in)))
        out.append(("weight_scale", w.scale_dtype or half, scale))
        if not w.symmetric:
            out.append(("weight_zero_point", "F8_E4M3" if w.type == "float" else "I8", scale))
    if w.actorder_group:
        out.append(("weight_g_idx", "I32", (n_in,)))
    out.extend(_activation_tensors(group.input_activations, half))
    return out


def _activation_tensors(a: CtArgs | None, half: str) -> list[tuple[str, str, tuple[int, ...]]]:
    """Static input-activation qparams (``initialize_qparams``); dynamic ones store none."""
    if a is None or a.dynamic is True:
        return []
    out: list[tuple[str, str, tuple[int, ...]]] = []
    if a.strategy == "tensor_group":
        out.append(("input_global_scale", "F32", (1,)))
    if a.dynamic == "local" or a.strategy != "tensor":
        return out  # only per-tensor static activation scales have a fixed shape
    out.append(("input_scale", half, (1,)))
    if not a.symmetric:
        out.append(("input_zero_point", "F8_E4M3" if a.type == "float" else "I8", (1,)))
    return out


def linear_bytes(group: CtGroup, n_out: int, n_in: int, float_dtype: str = "bf16") -> int:
    """Bytes one compressed linear stores (the sum of ``stored_tensors``)."""
    total = 0
    for _, dtype, shape in stored_tensors(group, n_out, n_in, float_dtype):
        n = 1
        for d in shape:
            n *= d
        total += n * _DTYPE_BYTES[dtype]
    return total


def describe(scheme: CtScheme) -> dict[str, Any]:
    """A plain description of the scheme (for runtimes and JSON): per group the weight
    bits, type, strategy, group size, symmetry, format, activations and targets."""
    groups = []
    for g in scheme.groups:
        w, a = g.weights, g.input_activations
        groups.append(
            {
                "name": g.name,
                "targets": list(g.targets),
                "format": module_format(g) if w is not None else g.format,
                "weights": None
                if w is None
                else {
                    "num_bits": w.num_bits,
                    "type": w.type,
                    "strategy": w.strategy,
                    "group_size": w.group_size or None,
                    "block_structure": list(w.block) if w.strategy == "block" else None,
                    "symmetric": w.symmetric,
                    "actorder_group": w.actorder_group,
                },
                "input_activations": None
                if a is None
                else {"num_bits": a.num_bits, "type": a.type, "dynamic": a.dynamic},
            }
        )
    return {"format": scheme.format, "ignore": list(scheme.ignore), "groups": groups}


# --------------------------------------------------------------------------- format ids

_STRATEGY_ID = {"tensor": "t", "channel": "ch", "token": "tok"}


def group_id(g: CtGroup) -> str:
    """A short id of one group's scheme: ``int4-g32-a16``, ``fp8-ch-afp8``, ``fp4-tg16-afp4``
    (weights type+bits[asym] - strategy - activations)."""
    w, a = g.weights, g.input_activations
    assert w is not None
    wpart = f"{'int' if w.type == 'int' else 'fp'}{w.num_bits}" + ("" if w.symmetric else "asym")
    if w.strategy == "group":
        strat = f"g{w.group_size}"
    elif w.strategy == "tensor_group":
        strat = f"tg{w.group_size}"
    elif w.strategy == "block":
        strat = f"b{w.block[0]}x{w.block[1]}"
    else:
        strat = _STRATEGY_ID[w.strategy]
    if a is None:
        apart = "a16"
    else:
        apart = f"a{'int' if a.type == 'int' else 'fp'}{a.num_bits}" + ("" if a.dynamic else "s")
    return f"{wpart}-{strat}-{apart}"


def format_id(scheme: CtScheme) -> str:
    """The weights-format id of a checkpoint's scheme: ``ct-`` + its first quantized group's
    id, ``+mixed`` when other groups store weights differently."""
    ids = [group_id(g) for g in scheme.groups if g.weights is not None]
    if not ids:
        return "ct-dense"
    return "ct-" + ids[0] + ("+mixed" if len(set(ids)) > 1 else "")


_ID = re.compile(
    r"ct-(int|fp)(\d)(asym)?-(t|ch|g(\d+)|tg(\d+)|b(\d+)x(\d+))-a(16|(int|fp)(\d)(s)?)"
)


def group_from_id(fid: str) -> CtGroup | None:
    """The single config group an id names (None: not a ``ct-`` id of that form), so a
    format id alone sizes a checkpoint llm-compressor would write with targets
    ["Linear"]."""
    m = _ID.fullmatch(fid)
    if m is None:
        return None
    wtype = "int" if m[1] == "int" else "float"
    bits = int(m[2])
    if not 1 <= bits <= 8 or (wtype == "float" and bits not in (4, 8)):
        return None
    strat_s = m[4]
    strategy = {"t": "tensor", "ch": "channel"}.get(strat_s)
    group = 0
    block = (0, 0)
    if strategy is None:
        if m[5]:
            strategy, group = "group", int(m[5])
        elif m[6]:
            strategy, group = "tensor_group", int(m[6])
        else:
            strategy, block = "block", (int(m[7]), int(m[8]))
    if (group == 0 and strategy in ("group", "tensor_group")) or (
        0 in block and strategy == "block"
    ):
        return None
    weights = CtArgs(bits, wtype, strategy, group, block, symmetric=m[3] is None)
    act = None
    if m[9] != "16":
        atype = "int" if m[10] == "int" else "float"
        abits = int(m[11])
        if atype == "float" and abits == 4:  # NVFP4: tensor-group scales, locally dynamic
            act = CtArgs(4, "float", "tensor_group", 16, dynamic="local")
        else:
            act = CtArgs(abits, atype, "tensor" if m[12] else "token", dynamic=m[12] is None)
    fmt = module_format(CtGroup("group_0", ("Linear",), weights, act, "mixed-precision"))
    return CtGroup("group_0", ("Linear",), weights, act, fmt)


def nominal_bits(g: CtGroup) -> tuple[int, tuple[tuple[str, int], ...]]:
    """(weights per block, (part, bits per block)) of one group: the packed codes and one
    scale per group (16-bit; FP8 for NVFP4, E8M0 for MXFP4); per-channel/tensor/block scales
    are left out of the nominal figure, as for the other formats."""
    w = g.weights
    assert w is not None
    if w.strategy in ("group", "tensor_group"):
        fmt = module_format(g)
        scale = 8 if fmt in ("nvfp4-pack-quantized", "mxfp4-pack-quantized") else 16
        parts: list[tuple[str, int]] = [("weight", w.num_bits * w.group_size), ("scale", scale)]
        if not w.symmetric:
            parts.append(("zero_point", w.num_bits))
        return w.group_size, tuple(parts)
    return 1, (("weight", w.num_bits),)


def generic_scheme(fid: str) -> CtScheme | None:
    """The scheme of an id on its own: targets ["Linear"], ignore lm_head and the MoE router
    (llm-compressor's usual recipe: ``QuantizationModifier(targets="Linear", scheme=...,
    ignore=["lm_head", "re:.*mlp.gate$"])``)."""
    g = group_from_id(fid)
    if g is None:
        return None
    return CtScheme(g.format, (g,), ("lm_head", "re:.*mlp.gate$"), "--weights " + fid)


# --------------------------------------------------------------------------- module names

# the language model's module name of each spec tensor (transformers / the checkpoint),
# after "model.layers.N."; {e} is the expert index
_LAYER_MODULES = {
    "attn_q": "self_attn.q_proj",
    "attn_k": "self_attn.k_proj",
    "attn_v": "self_attn.v_proj",
    "attn_output": "self_attn.o_proj",
    "attn_qkv": "self_attn.qkv_proj",
    "attn_q_a": "self_attn.q_a_proj",
    "attn_q_b": "self_attn.q_b_proj",
    "attn_kv_a_mqa": "self_attn.kv_a_proj_with_mqa",
    "attn_kv_b": "self_attn.kv_b_proj",
    "indexer.attn_k": "self_attn.indexer.wk",
    "indexer.attn_q_b": "self_attn.indexer.wq_b",
    "indexer.proj": "self_attn.indexer.weights_proj",
    "ffn_gate": "mlp.gate_proj",
    "ffn_up": "mlp.up_proj",
    "ffn_down": "mlp.down_proj",
    "ffn_gate_up": "mlp.gate_up_proj",
    "ffn_gate_inp": "mlp.gate",
    "ffn_gate_exps": "mlp.experts.{e}.gate_proj",
    "ffn_up_exps": "mlp.experts.{e}.up_proj",
    "ffn_down_exps": "mlp.experts.{e}.down_proj",
    "ffn_gate_shexp": "mlp.shared_experts.gate_proj",
    "ffn_up_shexp": "mlp.shared_experts.up_proj",
    "ffn_down_shexp": "mlp.shared_experts.down_proj",
    "ffn_gate_inp_shexp": "mlp.shared_expert_gate",
    "ssm_in": "mixer.in_proj",
    "ssm_out": "mixer.out_proj",
}
# Qwen-MoE names its one shared expert in the singular; Mixtral its experts w1/w3/w2
_SHARED_SINGULAR = ("qwen2_moe", "qwen3_next", "qwen3_5_moe")
_MIXTRAL = {
    "ffn_gate_inp": "block_sparse_moe.gate",
    "ffn_gate_exps": "block_sparse_moe.experts.{e}.w1",
    "ffn_up_exps": "block_sparse_moe.experts.{e}.w3",
    "ffn_down_exps": "block_sparse_moe.experts.{e}.w2",
}


def module_name(model_type: str, tensor: str, layer: int | None) -> str:
    """The language model's module name of spec tensor ``tensor`` in ``layer`` ({e}: the
    expert index); names the engine has no mapping for keep their GGUF name."""
    if layer is None:
        return {"output": "lm_head", "token_embd": "model.embed_tokens"}.get(tensor, tensor)
    name = _LAYER_MODULES.get(tensor, tensor)
    if model_type == "mixtral":
        name = _MIXTRAL.get(tensor, name)
    if model_type in _SHARED_SINGULAR:
        name = name.replace("mlp.shared_experts.", "mlp.shared_expert.")
    return f"model.layers.{layer}.{name}"


def packed_bits(q: dict[str, Any], module: str) -> int:
    """Bits per code in ``module``'s int32 ``weight_packed`` (the Hub reader unpacks
    parameters with it): the bits of the group that compresses the module, else of the
    config's first quantized group, else 4."""
    if _LAST_CONFIG[0] is not q:  # one checkpoint's tensors are read one after another
        try:
            _LAST_CONFIG[:] = [q, Matcher(parse_scheme(q)), parse_scheme(q)]
        except ConfigError:
            return 4
    _, match, scheme = _LAST_CONFIG
    group = match(module, "Linear")
    if group is None:
        group = next((g for g in scheme.groups if g.weights is not None), None)
    return group.weights.num_bits if group is not None and group.weights is not None else 4


_LAST_CONFIG: list[Any] = [None, None, None]
