"""Number formats and quantization (engine.quant): block tables, per-tensor rules, sizes.

Reference figures and where they come from:

* gguf-py's GGML_QUANT_SIZES / GGMLQuantizationType / LlamaFileType (PyPI ``gguf``): the
  differential test of every shared block layout and id.
* llama.cpp tools/quantize/README.md (ggml-org/llama.cpp 311c2c9), table
  "meta-llama/Llama-3.1-8B": bits/weight (4 decimals) and size (GiB, 2 decimals) of every
  llama-quantize file type. Produced from llama-quantize's own count (bytes * 8 / n_elements,
  tensor data only), so it is compared almost exactly.
* llama.cpp tools/quantize/quantize.cpp QUANT_OPTIONS: "4.58G @ Llama-3-8B" etc., file sizes
  in GiB measured with older llama.cpp builds; looser (see the test).
* TheBloke/Mixtral-8x7B-v0.1-GGUF mixtral-8x7b-v0.1.Q4_K_M.gguf: 26,441,533,376 bytes
  (issue 2), quantized in Dec 2023 with llama.cpp PR #4406.
"""

from __future__ import annotations

import itertools
from fractions import Fraction
from math import prod

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine import ggml, quant
from engine.arch import parse_config
from engine.catalog import load_model
from engine.errors import EngineError, InvalidWorkload, UnknownQuantFormat
from engine.llama_quant import LlamaFtype
from engine.quant_data import rows
from engine.units import GIB

# ---------------------------------------------------------------------------------------
# Block tables


def test_ggml_block_sizes_match_gguf_py():
    """Differential: our bytes per block (sum of the struct parts) == gguf-py's table."""
    import gguf  # a test dependency (requirements/test.lock)
    sizes = gguf.GGML_QUANT_SIZES
    shared = 0
    for t in ggml.ggml_types().values():
        qtype = getattr(gguf.GGMLQuantizationType, t.name, None)
        if qtype is None:  # Q2_0 is newer than the gguf release on PyPI
            assert t.name in ("Q2_0",), t.name
            continue
        assert int(qtype) == t.type_id, t.name
        if t.name == "Q8_1":
            # gguf-py still has (32, 4 + 4 + 32) from when d and s were float; ggml-common.h
            # now static_asserts sizeof(block_q8_1) == 2*sizeof(ggml_half) + QK8_1 = 36.
            # Q8_1 only holds activations and never appears in a GGUF file.
            assert sizes[qtype] == (32, 40) and t.bytes_per_block == 36
            continue
        assert sizes[qtype] == (t.block_size, t.bytes_per_block), t.name
        shared += 1
    assert shared >= 27


def test_gguf_file_type_ids_match_gguf_py():
    import gguf  # a test dependency (requirements/test.lock)
    for row in rows("gguf_file_types"):
        name = "ALL_F32" if row["name"] == "F32" else f"MOSTLY_{row['name']}"
        assert int(getattr(gguf.LlamaFileType, name)) == row["ftype"], row["name"]


def test_enums_match_the_data_rows():
    """GgmlType mirrors enum ggml_type and LlamaFtype enum llama_ftype: the data rows (checked
    against gguf-py above) and the enums must agree, name for name."""
    for t in ggml.ggml_types().values():
        assert ggml.GgmlType[t.name] == t.type_id, t.name
    assert {t.name for t in ggml.GgmlType} == set(ggml.ggml_types())
    for row in rows("gguf_file_types"):
        assert LlamaFtype[row["name"]] == row["ftype"], row["name"]
    import gguf  # a test dependency (requirements/test.lock)
    for ft in LlamaFtype:
        name = "ALL_F32" if ft.name == "F32" else f"MOSTLY_{ft.name}"
        if hasattr(gguf.LlamaFileType, name):
            assert int(getattr(gguf.LlamaFileType, name)) == ft, ft.name


def test_known_bits_per_weight():
    # ggml-common.h comments: Q2_K 2.625, Q3_K 3.4375, Q4_K 4.5, Q5_K 5.5, Q6_K 6.5625 bpw;
    # IQ2_XXS 2.0625, IQ2_XS 2.3125, IQ2_S 2.5625, IQ3_XXS 3.0625, IQ3_S 3.4375, IQ1_S 1.5625,
    # IQ1_M 1.75, TQ1_0 1.6875, TQ2_0 2.0625; MXFP4 = 4 + 8/32 = 4.25
    expected = {
        "Q2_K": "2.625", "Q3_K": "3.4375", "Q4_K": "4.5", "Q5_K": "5.5", "Q6_K": "6.5625",
        "Q8_0": "8.5", "Q4_0": "4.5", "Q5_0": "5.5", "Q4_1": "5", "Q5_1": "6",
        "IQ2_XXS": "2.0625", "IQ2_XS": "2.3125", "IQ2_S": "2.5625", "IQ3_XXS": "3.0625",
        "IQ3_S": "3.4375", "IQ1_S": "1.5625", "IQ1_M": "1.75", "IQ4_NL": "4.5",
        "IQ4_XS": "4.25", "TQ1_0": "1.6875", "TQ2_0": "2.0625", "MXFP4": "4.25",
    }  # fmt: skip
    for name, bpw in expected.items():
        assert ggml.get_ggml_type(name).bits_per_weight == Fraction(bpw), name
    assert quant.get_format("mxfp4").bits_per_weight == Fraction(17, 4)
    assert quant.get_format("nf4").bits_per_weight == Fraction(9, 2)  # 4 + 32/64
    # double quant: 4 + 8/64 + 32/(64*256) (QLoRA paper §3: 127/256 ~ 0.127 bits of constants)
    assert quant.get_format("nf4-dq").bits_per_weight == Fraction(4) + Fraction(8, 64) + Fraction(
        32, 64 * 256
    )
    assert quant.get_format("gptq-4bit-g128").bits_per_weight == Fraction(4) + Fraction(20, 128)


def test_every_format_bpw_is_derived_from_its_layout():
    formats = quant.list_formats()
    assert len(formats) >= 40
    for f in formats:
        assert f.bits_per_weight == Fraction(sum(b for _, b in f.layout), f.block_size), f.id
        assert f.bits_per_weight > 0
        assert f.source and f.runtimes, f.id
    for t in ggml.ggml_types().values():
        assert t.bits_per_weight == Fraction(8 * sum(n for _, n in t.parts), t.block_size)


# ---------------------------------------------------------------------------------------
# llama-quantize reference sizes


@pytest.fixture(scope="module")
def llama31_8b():
    spec = load_model("llama-3.1-8b")
    assert spec.total_params == 8_030_261_248  # transformers' count for Llama-3.1-8B
    return spec


# tools/quantize/README.md, table "meta-llama/Llama-3.1-8B": (bits/weight, size GiB)
LLAMA31_8B_TABLE = {
    "iq1_s": ("2.0042", "1.87"),
    "iq1_m": ("2.1460", "2.01"),
    "iq2_xxs": ("2.3824", "2.23"),
    "iq2_xs": ("2.5882", "2.42"),
    "iq2_s": ("2.7403", "2.56"),
    "iq2_m": ("2.9294", "2.74"),
    "iq3_xxs": ("3.2548", "3.04"),
    "iq3_xs": ("3.4977", "3.27"),
    "iq3_s": ("3.6606", "3.42"),
    "iq3_m": ("3.7628", "3.52"),
    "iq4_xs": ("4.4597", "4.17"),
    "iq4_nl": ("4.6818", "4.38"),
    "q2_k_s": ("2.9697", "2.78"),
    "q2_k": ("3.1593", "2.95"),
    "q3_k_s": ("3.6429", "3.41"),
    "q3_k_l": ("4.2979", "4.02"),
    "q4_k_s": ("4.6672", "4.36"),
    "q4_k_m": ("4.8944", "4.58"),
    "q5_k_s": ("5.5704", "5.21"),
    "q5_k_m": ("5.7036", "5.33"),
    "q6_k": ("6.5633", "6.14"),
    "q8_0": ("8.5008", "7.95"),
    "fp16": ("16.0005", "14.96"),  # the F16 row
}


@pytest.mark.parametrize("fmt", sorted(LLAMA31_8B_TABLE))
def test_llama31_8b_matches_llama_quantize_table(llama31_8b, fmt):
    bpw_ref, gib_ref = LLAMA31_8B_TABLE[fmt]
    nbytes = quant.weights_bytes(llama31_8b, fmt, runtime="llamacpp")
    bpw = Fraction(nbytes * 8, llama31_8b.total_params)
    # published to 4 decimals / 2 decimals: allow half a unit of the last digit
    assert abs(bpw - Fraction(bpw_ref)) <= Fraction(5, 100_000), (fmt, float(bpw))
    assert abs(Fraction(nbytes, GIB) - Fraction(gib_ref)) <= Fraction(5, 1000), fmt


# quantize.cpp QUANT_OPTIONS descriptions, "x.xxG ... @ Llama-3-8B" (G = GiB: 8.03e9 weights
# at 8.5 bits are 7.95 GiB, not 7.95 GB)
LLAMA3_8B_QUANT_OPTIONS = {
    "q4_0": "4.34", "q4_1": "4.78", "q5_0": "5.21", "q5_1": "5.65", "q2_k": "2.96",
    "q3_k_s": "3.41", "q3_k_m": "3.74", "q3_k_l": "4.03", "q4_k_s": "4.37", "q4_k_m": "4.58",
    "q5_k_s": "5.21", "q5_k_m": "5.33", "q6_k": "6.14", "q8_0": "7.96",
}  # fmt: skip


@pytest.mark.parametrize("fmt", sorted(LLAMA3_8B_QUANT_OPTIONS))
def test_llama3_8b_quantize_options(llama31_8b, fmt):
    """Llama-3-8B has exactly Llama-3.1-8B's tensor shapes (hidden 4096, 32 layers, 8 KV heads,
    ffn 14336, vocab 128256, untied), so the same spec serves. These are whole-file sizes from
    older llama.cpp builds: they also hold the GGUF metadata (the Llama-3 tokenizer's 128,256
    tokens and 280,147 merges, ~8 MB) and predate some rule tweaks, so our tensor bytes may be
    up to 0.015 GiB below the figure, plus 0.005 for its rounding."""
    ref = Fraction(LLAMA3_8B_QUANT_OPTIONS[fmt])
    gib = Fraction(quant.weights_bytes(llama31_8b, fmt, runtime="llamacpp"), GIB)
    assert ref - Fraction(20, 1000) <= gib <= ref + Fraction(5, 1000), (fmt, float(gib))


def test_llama31_8b_q4_k_m_per_tensor_types(llama31_8b):
    types = quant.gguf_tensor_types(llama31_8b, "q4_k_m")
    counts: dict[str, int] = {}
    for t in types.values():
        counts[t] = counts.get(t, 0) + 1
    # llama.cpp loader summary for Llama-3-8B Q4_K_M: f32 65, q4_K 193, q6_K 33
    # (output + 16 attn_v + 16 ffn_down get Q6_K via use_more_bits)
    assert counts == {"F32": 65, "Q4_K": 193, "Q6_K": 33}
    assert types["output.weight"] == "Q6_K"
    assert types["token_embd.weight"] == "Q4_K"
    assert types["blk.29.attn_v.weight"] == "Q6_K"  # llamafile#122 log, 32-layer model
    assert types["blk.29.ffn_down.weight"] == "Q6_K"
    assert types["blk.29.attn_q.weight"] == "Q4_K"
    assert types["blk.5.attn_v.weight"] == "Q4_K"  # (5 - 4) % 3 != 2
    assert types["blk.6.attn_v.weight"] == "Q6_K"  # (6 - 4) % 3 == 2


def test_mixtral_q4_k_m_file_size():
    """TheBloke's mixtral-8x7b-v0.1.Q4_K_M.gguf is 26,441,533,376 bytes. It was made with
    llama.cpp PR #4406 (Dec 2023), whose rules differ from today's in three ways that we
    undo here: experts were separate tensors (blk.N.ffn_down.E.weight) that the
    "ffn_down.weight" rule did not match, so every ffn_down stayed Q4_K (today: Q6_K in the
    use_more_bits layers); the 8-expert attn_output -> Q5_K rule came later (PR #4872); and
    convert wrote the 2-D router as F16 (today F32). What is left is GGUF metadata
    (32,000-token vocab, ~1,000 tensor infos) and 32-byte alignment padding: under 2 MB."""
    spec = load_model("mixtral-8x7b")
    qts = quant.quantize_tensors(spec, "q4_k_m", runtime="llamacpp")
    old = 0
    for q in qts:
        storage = q.storage
        if q.tensor.name in ("ffn_down_exps", "attn_output"):
            storage = "Q4_K"
        elif q.tensor.name == "ffn_gate_inp":
            storage = "F16"
        t = q.tensor
        old += prod(t.shape[:-1]) * t.experts * ggml.get_ggml_type(storage).row_bytes(t.shape[-1])
    file_bytes = 26_441_533_376
    assert 0 < file_bytes - old < 2_000_000, file_bytes - old
    # today's rules: 16 of 32 layers' expert ffn_down in Q6_K, attn_k/attn_v Q8_0 (8 experts)
    now = sum(q.nbytes for q in qts)
    types = quant.gguf_tensor_types(spec, "q4_k_m")
    assert types["blk.0.attn_v.weight"] == "Q8_0"
    assert types["blk.0.attn_k.weight"] == "Q8_0"
    assert types["blk.0.attn_output.weight"] == "Q5_K"
    assert types["blk.0.ffn_down_exps.weight"] == "Q6_K"
    assert types["blk.4.ffn_down_exps.weight"] == "Q4_K"
    assert types["blk.0.ffn_gate_inp.weight"] == "F32"
    assert now > file_bytes


def test_row_size_fallback_gpt_oss():
    """gpt-oss hidden size 2880 is not a multiple of 256: K-quant rows fall back to the
    32-block types (llama-quant.cpp tensor_type_fallback: Q4_K -> Q5_0, Q6_K -> Q8_0)."""
    spec = load_model("gpt-oss-20b")
    types = quant.gguf_tensor_types(spec, "q4_k_m")
    assert types["blk.0.attn_q.weight"] == "Q5_0"
    assert types["output.weight"] == "Q8_0"  # 2880 % 256 != 0 -> Q8_0 directly
    assert types["blk.0.attn_sinks.weight"] == "F32"  # 1-D
    mx = quant.gguf_tensor_types(spec, "mxfp4_moe")
    assert mx["blk.0.ffn_up_exps.weight"] == "MXFP4"
    assert mx["blk.0.attn_q.weight"] == "Q8_0"


def test_gguf_mla_and_moe_layouts():
    # convert_hf_to_gguf.py splits DeepSeek's kv_b_proj into attn_k_b (ne0 = qk_nope_head_dim
    # = 128: not a multiple of 256, so Q4_K falls back to Q5_0) and attn_v_b (ne0 = 512)
    spec = load_model("deepseek-v3")
    types = quant.gguf_tensor_types(spec, "q4_k_m")
    assert "blk.3.attn_kv_b.weight" not in types
    assert types["blk.3.attn_k_b.weight"] == "Q5_0"
    assert types["blk.3.attn_v_b.weight"] == "Q4_K"
    assert types["blk.3.ffn_gate_inp.weight"] == "F32"
    kv_b = _by_name(quant.quantize_tensors(spec, "q4_k_m", runtime="llamacpp"), "attn_kv_b", 3)
    assert kv_b.storage == "Q5_0+Q4_K"
    assert kv_b.nbytes == 128 * 512 * (128 // 32 * 22) + 128 * 128 * (512 // 256 * 144)
    # MXFP4_MOE: 3-D tensors (ne[2] > 1) -> MXFP4, the MLA halves included
    assert quant.gguf_tensor_types(spec, "mxfp4_moe")["blk.3.attn_k_b.weight"] == "MXFP4"
    # Qwen1.5-MoE: expert ffn_down rows are 1408 wide (1408 % 256 = 128) -> Q5_0
    qwen = quant.gguf_tensor_types(load_model("qwen1.5-moe-a2.7b"), "q4_k_m")
    assert qwen["blk.3.ffn_down_exps.weight"] == "Q5_0"
    assert qwen["blk.3.ffn_down_shexp.weight"] == "Q4_K"
    assert qwen["blk.3.ffn_gate_inp_shexp.weight"] == "F32"  # 1-D {n_embd} in llama.cpp


# ---------------------------------------------------------------------------------------
# Non-GGUF schemes


def _tiny_llama(hidden=4096, inter=14336, layers=2, vocab=32000, heads=32, kv=8, tie=False):
    return parse_config(
        {
            "model_type": "llama",
            "architectures": ["LlamaForCausalLM"],
            "hidden_size": hidden,
            "intermediate_size": inter,
            "num_hidden_layers": layers,
            "num_attention_heads": heads,
            "num_key_value_heads": kv,
            "vocab_size": vocab,
            "max_position_embeddings": 4096,
            "tie_word_embeddings": tie,
            "torch_dtype": "bfloat16",
            "rms_norm_eps": 1e-5,
        },
        name="tiny-llama",
    )


def _by_name(qts, name, layer=0):
    return next(q for q in qts if q.tensor.name == name and q.tensor.layer in (layer, None))


def test_bnb_nf4_bytes_exact():
    spec = _tiny_llama()
    n = 4096 * 4096
    q = _by_name(quant.quantize_tensors(spec, "nf4"), "attn_q")
    # bitsandbytes quantize_4bit: packed (n+1)//2 uint8 + float32 absmax per 64 + 16-entry code
    assert q.nbytes == n // 2 + 4 * (n // 64) + 64 == 9_437_248
    q = _by_name(quant.quantize_tensors(spec, "nf4-dq"), "attn_q")
    blocks = n // 64
    # + uint8 absmax per block, float32 absmax2 per 256 blocks, 256-entry code copy, offset
    assert q.nbytes == n // 2 + 64 + blocks + 4 * (blocks // 256) + 1024 + 4 == 8_655_940
    q = _by_name(quant.quantize_tensors(spec, "int8"), "attn_k")
    assert q.nbytes == 1024 * 4096 + 4 * 1024  # CB int8 + SCB float32 per output row
    # embeddings, lm_head and norms stay bf16
    qts = quant.quantize_tensors(spec, "nf4")
    assert _by_name(qts, "token_embd").storage == "bf16"
    assert _by_name(qts, "output").storage == "bf16"
    assert _by_name(qts, "attn_norm").storage == "bf16"


def test_bnb_matches_bitsandbytes_storage():
    """Reference: bitsandbytes 0.50.2 on CPU (2026-11-25), F.quantize_4bit(A, blocksize=64,
    quant_type="nf4", compress_statistics=dq) -> packed bytes + QuantState absmax/code/offset
    (+ state2 absmax/code), and F.int8_vectorwise_quant(A) -> CB + SCB bytes."""
    measured = {  # shape: (nf4, nf4-dq, int8)
        (4096, 4096): (9_437_248, 8_655_940, 16_793_600),
        (1024, 4096): (2_359_360, 2_164_804, 4_198_400),
        (32, 256): (4_672, 5_320, 8_320),
        (14336, 4096): (33_030_208, 30_293_060, 58_777_600),
    }
    for (n_out, n_in), expected in measured.items():
        spec = _tiny_llama(hidden=n_in, inter=n_out, layers=1, vocab=512, heads=8, kv=8)
        got = tuple(
            _by_name(quant.quantize_tensors(spec, f), "ffn_up").nbytes
            for f in ("nf4", "nf4-dq", "int8")
        )
        assert got == expected, (n_out, n_in)


TINY_LLAMA = {
    "model_type": "llama",
    "architectures": ["LlamaForCausalLM"],
    "hidden_size": 512,
    "intermediate_size": 1536,
    "num_hidden_layers": 2,
    "num_attention_heads": 8,
    "num_key_value_heads": 2,
    "vocab_size": 4096,
    "max_position_embeddings": 512,
    "tie_word_embeddings": False,
    "torch_dtype": "bfloat16",
    "rms_norm_eps": 1e-5,
}
TINY_MIXTRAL = {
    **TINY_LLAMA,
    "model_type": "mixtral",
    "architectures": ["MixtralForCausalLM"],
    "num_local_experts": 4,
    "num_experts_per_tok": 2,
}


@pytest.mark.parametrize(
    ("config", "expected"),
    [
        (TINY_LLAMA, {"nf4": 11_786_112, "nf4-dq": 11_519_352, "int8": 14_461_952}),
        (TINY_MIXTRAL, {"nf4": 46_888_448, "nf4-dq": 46_835_552, "int8": 47_471_616}),
    ],
)
def test_bnb_matches_transformers_load(config, expected):
    """Reference: transformers 5.24.0 + bitsandbytes 0.50.2 on CPU (2026-11-25): a random
    model from ``config`` saved and reloaded with BitsAndBytesConfig(load_in_4bit, nf4,
    bnb_4bit_use_double_quant) / (load_in_8bit); bytes of every parameter and buffer (rotary
    inv_freq excluded) plus each weight's quant_state (absmax, code, offset, state2) or SCB.
    (model.get_memory_footprint() reports less: it skips the quant_state tensors.)
    The Mixtral numbers include MixtralExperts left in bf16."""
    spec = parse_config(config, name="tiny")
    for fmt, nbytes in expected.items():
        assert quant.weights_bytes(spec, fmt, runtime="transformers") == nbytes, fmt


def test_bnb_moe_experts_stay_16bit_in_transformers():
    """transformers 5.x replace_with_bnb_linear converts `type(module) is nn.Linear` only;
    MixtralExperts keeps gate_up_proj/down_proj as 3-D nn.Parameters. vLLM quantizes them."""
    spec = load_model("mixtral-8x7b")
    hf = quant.quantize_tensors(spec, "nf4-dq", runtime="transformers")
    vl = quant.quantize_tensors(spec, "nf4-dq", runtime="vllm")
    assert _by_name(hf, "ffn_up_exps").storage == "bf16"
    assert _by_name(vl, "ffn_up_exps").storage == "nf4-dq"
    assert _by_name(hf, "attn_q").storage == "nf4-dq"
    assert _by_name(hf, "ffn_gate_inp").storage == "bf16"


def test_gptq_awq_bytes_exact():
    spec = _tiny_llama()
    q = _by_name(quant.quantize_tensors(spec, "gptq-4bit-g128", runtime="vllm"), "attn_q")
    groups = 4096 // 128
    # qweight int32 (in/8, out) + qzeros int32 (groups, out/8) + scales fp16 + g_idx int32
    assert q.nbytes == 4096 * 4096 // 2 + groups * 4096 // 2 + groups * 4096 * 2 + 4096 * 4
    q = _by_name(quant.quantize_tensors(spec, "awq-4bit-g128", runtime="vllm"), "attn_q")
    assert q.nbytes == 4096 * 4096 // 2 + groups * 4096 // 2 + groups * 4096 * 2
    q = _by_name(quant.quantize_tensors(spec, "gptq-8bit-g32"), "ffn_down")
    groups = 14336 // 32
    assert q.nbytes == 4096 * 14336 + groups * 4096 + groups * 4096 * 2 + 14336 * 4
    assert quant.get_format("gptq").id == "gptq-4bit-g128"


def test_fp8_scales():
    spec = load_model("deepseek-v3")
    assert spec.checkpoint_quant in ("fp8", "fp8-block128")
    qts = quant.quantize_tensors(spec, "fp8-block128", runtime="vllm")
    kv_a = _by_name(qts, "attn_kv_a_mqa")  # (576, 7168): ceil(576/128) x 56 scales
    assert kv_a.nbytes == 576 * 7168 + 4 * 5 * 56
    exps = _by_name(qts, "ffn_up_exps", layer=3)
    assert exps.nbytes == 256 * (2048 * 7168 + 4 * 16 * 56)
    assert _by_name(qts, "output").storage == "bf16"
    assert _by_name(qts, "ffn_gate_inp", layer=3).storage == "bf16"
    per_tensor = _by_name(quant.quantize_tensors(spec, "fp8", runtime="vllm"), "attn_kv_a_mqa")
    assert per_tensor.nbytes == 576 * 7168 + 4
    # transformers' FineGrainedFP8Config defaults to weight_block_size (128, 128)
    hf = quant.weights_bytes(spec, "fp8", runtime="transformers")
    assert hf == quant.weights_bytes(spec, "fp8-block128", runtime="vllm")


def test_auto_is_the_published_checkpoint():
    assert quant.weights_bytes(load_model("llama-3.1-8b"), "auto") == 8_030_261_248 * 2
    oss = load_model("gpt-oss-20b")
    qts = quant.quantize_tensors(oss, "auto")
    up = _by_name(qts, "ffn_up_exps")
    assert up.storage == "mxfp4"
    assert up.nbytes == 32 * 2880 * (2880 // 32) * 17  # 16 bytes of nibbles + 1 E8M0 scale
    assert _by_name(qts, "attn_q").storage == "bf16"


def test_errors_name_the_fix():
    spec = _tiny_llama(layers=1)
    with pytest.raises(UnknownQuantFormat, match="Did you mean"):
        quant.get_format("q4_k_n")
    with pytest.raises(InvalidWorkload, match="llamacpp"):
        quant.weights_bytes(spec, "q4_k_m", runtime="transformers")
    with pytest.raises(InvalidWorkload, match="runtime"):
        quant.weights_bytes(spec, "bf16", runtime="tensorrt")
    with pytest.raises(InvalidWorkload, match="MoE"):
        quant.weights_bytes(spec, "mxfp4")
    with pytest.raises(InvalidWorkload):
        quant.weights_bytes(spec, "nf4", runtime="llamacpp")
    with pytest.raises(UnknownQuantFormat):
        quant.get_format("awq-8bit-g128")


# ---------------------------------------------------------------------------------------
# Invariants


def _every_format_runtime():
    for f in quant.list_formats():
        if f.family == "mxfp4":
            continue  # MoE only, covered above
        for rt in f.runtimes:
            yield f.id, rt


dims = st.integers(min_value=1, max_value=24).map(lambda k: 256 * k)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    hidden=dims,
    inter=dims,
    layers=st.integers(min_value=1, max_value=12),
    vocab=st.integers(min_value=1, max_value=64).map(lambda k: 512 * k),
    kv=st.sampled_from([1, 2, 4, 8]),
    tie=st.booleans(),
)
def test_properties_on_random_llamas(hidden, inter, layers, vocab, kv, tie):
    spec = _tiny_llama(hidden=hidden, inter=inter, layers=layers, vocab=vocab, heads=8, kv=kv,
                       tie=tie)  # fmt: skip
    per_format = {}
    for fid, rt in _every_format_runtime():
        qts = quant.quantize_tensors(spec, fid, runtime=rt)
        assert len(qts) == len(spec.tensors)
        assert all(q.nbytes > 0 for q in qts), fid
        assert quant.weights_bytes(spec, fid, runtime=rt) == sum(q.nbytes for q in qts)
        per_format[(fid, rt)] = [q.nbytes for q in qts]
    # more bits never means fewer bytes, per tensor, within a family on one runtime. Tensors
    # under 2**16 weights are exempt: bitsandbytes double quant stores a 1 KiB code table per
    # tensor, which outweighs its 3-bytes-per-64-weights saving below ~23,500 weights.
    big = [t.numel >= 2**16 for t in spec.tensors]
    by_family: dict[tuple[str, str], list[quant.QuantFormat]] = {}
    for f in quant.list_formats():
        if f.family in ("gguf", "mxfp4"):
            continue
        for rt in f.runtimes:
            by_family.setdefault((f.family, rt), []).append(f)
    for (_, rt), fmts in by_family.items():
        fmts.sort(key=lambda f: f.bits_per_weight)
        for lo, hi in itertools.pairwise(fmts):
            pairs = zip(per_format[(lo.id, rt)], per_format[(hi.id, rt)], big, strict=True)
            assert all(a <= b for a, b, is_big in pairs if is_big), (lo.id, hi.id, rt)
            assert sum(per_format[(lo.id, rt)]) <= sum(per_format[(hi.id, rt)])
    # GGUF mixes where one mix's per-tensor types dominate the other's (llama-quant.cpp rules)
    for lo, hi in [("q6_k", "q8_0"), ("q5_k_m", "q6_k"), ("q5_k_s", "q5_k_m"),
                   ("q4_k_m", "q5_k_m"), ("q4_k_s", "q5_k_s"), ("q3_k_m", "q4_k_s"),
                   ("q3_k_s", "q3_k_m"), ("q3_k_m", "q3_k_l"), ("q4_0", "q5_0"),
                   ("q8_0", "fp16"), ("fp16", "fp32")]:  # fmt: skip
        a = per_format[(lo, "llamacpp")]
        b = per_format[(hi, "llamacpp")]
        assert all(x <= y for x, y in zip(a, b, strict=True)), (lo, hi)


@given(
    rows=st.integers(min_value=1, max_value=64),
    blocks=st.integers(min_value=1, max_value=64),
)
def test_ggml_row_bytes_monotonic_in_bpw(rows, blocks):
    ne0 = 256 * blocks
    types = sorted(
        (t for t in ggml.ggml_types().values() if t.name not in ("Q8_K", "Q8_1")),
        key=lambda t: t.bits_per_weight,
    )
    sizes = [rows * t.row_bytes(ne0) for t in types]
    assert sizes == sorted(sizes)
    for t, size in zip(types, sizes, strict=True):
        assert Fraction(size * 8, rows * ne0) == t.bits_per_weight


# one format per family and per rule set that can fail on an unusual shape (row fallbacks,
# MoE experts, MLA, vision towers, fp32 checkpoints); the full cross product is marked slow
CATALOG_SWEEP = [
    ("auto", "transformers"),
    ("auto", "llamacpp"),
    ("int8", "transformers"),
    ("nf4-dq", "vllm"),
    ("gptq-4bit-g128", "vllm"),
    ("fp8-block128", "vllm"),
    ("q4_k_m", "llamacpp"),
    ("iq2_xxs", "llamacpp"),
    ("tq1_0", "llamacpp"),
]


def _sweep(pairs, *, one_per_architecture=False):
    from engine.catalog import list_models

    seen = set()
    for entry in list_models():
        spec = load_model(entry.slug)
        if one_per_architecture:
            if spec.model_type in seen:
                continue
            seen.add(spec.model_type)
        for fid, rt in pairs:
            if fid == "mxfp4_moe" and not spec.is_moe:
                continue
            try:
                total = quant.weights_bytes(spec, fid, runtime=rt)
            except EngineError as exc:
                pytest.fail(f"{entry.slug} {fid}/{rt}: {exc}")
            assert total > 0


def test_catalog_models_quantize():
    """No catalog model makes a format raise or return a non-positive size."""
    _sweep(CATALOG_SWEEP)


@pytest.mark.slow
def test_catalog_models_every_format():
    """Every format on one catalog model per model_type."""
    _sweep([*_every_format_runtime(), *CATALOG_SWEEP], one_per_architecture=True)
