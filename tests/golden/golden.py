"""Golden outputs: every CLI figure and every figure on the built pages, captured once.

Refactors must leave them byte-identical. ``python tests/golden/golden.py capture PUBLIC``
rewrites the files (only when a change of figures is intended, and said in the commit).
"""

from __future__ import annotations

import contextlib
import hashlib
import html
import io
import json
import re
import sys
from collections import Counter
from pathlib import Path

HERE = Path(__file__).resolve().parent
CLI_FILE = HERE / "cli.sha256.json"
SITE_FILE = HERE / "site_figures.json"

GPU_CASES = ("rtx-4090", "h100-sxm-80gb", "a100-40gb")


def _models() -> list[str]:
    from engine.catalog import list_models

    return sorted(m.slug for m in list_models())


def cli_commands() -> list[list[str]]:
    """The commands whose output is pinned: every catalog model through each subcommand."""
    cmds: list[list[str]] = [
        ["models"], ["gpus"], ["formats"], ["presets"], ["--version"],
        ["models", "--json"], ["gpus", "--json"], ["formats", "--json"], ["presets", "--json"],
    ]
    for m in _models():
        cmds += [
            ["params", m], ["params", m, "--json"],
            ["infer", m], ["infer", m, "--json"],
            ["infer", m, "--weights", "q4_k_m", "--context", "32768", "--gpu", "rtx-4090"],
            ["infer", m, "--weights", "q4_k_m", "--context", "32768", "--gpu", "rtx-4090",
             "--gpus", "2", "--kv-dtype", "q8_0", "--json"],
            ["infer", m, "--runtime", "vllm", "--gpu", "h100-sxm-80gb", "--json"],
            ["infer", m, "--runtime", "vllm", "--context", "40960", "--gpu", "rtx-4090"],
            ["infer", m, "--weights", "fp8", "--batch", "8", "--gpu", "a100-40gb", "--json"],
            ["train", m], ["train", m, "--json"],
            ["train", m, "--method", "lora", "--gpu", "rtx-4090", "--json"],
            ["train", m, "--method", "qlora", "--batch", "4", "--gpu", "rtx-4090"],
            ["train", m, "--method", "qlora", "--batch", "4", "--gpu", "rtx-4090", "--json"],
            ["train", m, "--zero", "3", "--gpus", "8", "--grad-checkpointing", "--json"],
        ]
    for m in ("llama-3.1-8b", "qwen2.5-14b", "llama-3.1-70b", "mixtral-8x7b"):
        cmds += [
            ["fit", m, "--weights", "q4_k_m", "--gpu", "rtx-4090"],
            ["fit", m, "--weights", "q4_k_m", "--gpu", "rtx-4090", "--json"],
            ["fit", m, "--runtime", "vllm", "--json"],
            ["fit", m, "--runtime", "vllm", "--gpu", "m3-max-128gb"],
            ["fit-train", m, "--method", "qlora", "--batch", "4"],
            ["fit-train", m, "--method", "full", "--json"],
        ]
    cmds += [  # runtime options (issue 12), aliases and output options (issue 15)
        ["infer", "llama-3.1-8b", "--runtime", "llamacpp", "--weights", "q4_k_m",
         "--flash-attn", "off", "--context", "16384", "--json"],
        ["infer", "qwen3-30b-a3b", "--weights", "q4_k_m", "--n-cpu-moe", "10", "--json"],
        ["infer", "llama-3.1-8b", "--runtime", "vllm", "--max-num-seqs", "64",
         "--enforce-eager", "--gpu", "l4", "--json"],
        ["infer", "qwen3-next-80b-a3b-instruct", "--runtime", "vllm", "--gpu", "h200-141gb"],
        ["infer", "gemma-2-27b", "--attn-implementation", "sdpa", "--json"],
        ["infer", "llama-3.1-8b", "--kv-dtype", "f16"],
        ["fit-train", "llama-3.1-8b", "--method", "qlora", "--gpu", "rtx-4090", "--json"],
        ["fit", "llama-3.1-8b", "--top", "3"],
    ]
    cmds += [  # vLLM releases and quantized loading, caching allocator, compressed-tensors
        ["infer", "llama-3.1-8b", "--runtime", "vllm", "--vllm-version", "0.33",
         "--gpu", "h100-sxm-80gb", "--json"],
        ["infer", "llama-3.1-70b", "--runtime", "vllm", "--weights", "gptq-4bit-g128",
         "--gpu", "h100-sxm-80gb", "--json"],
        ["infer", "qwen2.5-14b", "--runtime", "vllm", "--weights", "awq-4bit-g128",
         "--gpu", "rtx-4090", "--vllm-version", "0.33"],
        ["infer", "llama-3.1-8b", "--runtime", "vllm", "--weights", "gptq-4bit-g128",
         "--gpu", "t4"],
        ["infer", "llama-3.1-8b", "--runtime", "vllm", "--gpu-memory-utilization", "0.9",
         "--gpu", "rtx-4090", "--json"],
        ["infer", "llama-3.1-8b", "--context", "131072", "--expandable-segments", "--json"],
        ["train", "qwen2.5-14b", "--method", "qlora", "--batch", "4", "--expandable-segments",
         "--gpu", "rtx-4090", "--json"],
        ["infer", "kimi-k2.5", "--weights", "auto", "--runtime", "vllm", "--gpus", "8", "--tp", "8",
         "--gpu", "h200-141gb", "--json"],
        ["infer", "llama-3.1-8b", "--weights", "ct-int4-g32-a16", "--json"],
    ]
    cmds += [
        ["infer", "no-such-model"], ["infer", "llama-3.1-8b", "--context", "-5"],
        ["infer", "llama-3.1-8b", "--weights", "q9"], ["train", "llama-3.1-8b", "--method", "x"],
        ["infer", "llama-3.1-8b", "--gpu", "nope"],
    ]
    return cmds


def run_cli(argv: list[str]) -> dict[str, object]:
    from engine.cli import main

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        rc = main(list(argv))
    return {"rc": rc, "stdout": out.getvalue(), "stderr": err.getvalue()}


def digest(output: dict[str, object]) -> str:
    """The SHA-256 of one command's exit code, stdout and stderr (canonical JSON).

    The golden file keeps digests, not the 6 MB of outputs: any changed byte still fails,
    and ``python tests/golden/golden.py show COMMAND`` prints what a command gives now.
    """
    canonical = json.dumps(output, sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def capture_cli() -> dict[str, str]:
    return {" ".join(cmd): digest(run_cli(cmd)) for cmd in cli_commands()}


_SKIP = re.compile(r"<(script|style|svg)\b.*?</\1>", re.S | re.I)
_TAG = re.compile(r"<[^>]+>")
# A figure: a number with its unit (GiB, MiB, %, tokens, GPUs ...) or a bare number.
_FIGURE = re.compile(
    r"(?<![\w.#-])\$?\d[\d,]*(?:\.\d+)?(?:\s?(?:GiB|MiB|KiB|GB|TB|B|%|×|k|M|tokens?|tok/s|"
    r"GPUs?|bpw|TFLOPS|GB/s|USD))?(?![\w-])"
)


def page_figures(text: str) -> list[str]:
    """The figures a reader sees on a page (chart SVG text included), as a sorted multiset."""
    body = _SKIP.sub(lambda m: m.group(0) if m.group(1).lower() == "svg" else " ", text)
    body = html.unescape(_TAG.sub(" ", body))
    counts = Counter(m.group(0) for m in _FIGURE.finditer(body))
    return sorted(f"{k}\t{v}" for k, v in counts.items())


def capture_site(public: Path) -> dict[str, list[str]]:
    return {
        str(p.relative_to(public)): page_figures(p.read_text(encoding="utf-8"))
        for p in sorted(public.rglob("*.html"))
    }


def main(argv: list[str]) -> int:
    root = HERE.parent.parent
    sys.path.insert(0, str(root))
    if argv[:1] == ["show"] and len(argv) == 2:
        output = run_cli(argv[1].split(" "))
        sys.stdout.write(str(output["stdout"]))
        sys.stderr.write(str(output["stderr"]))
        return int(output["rc"])  # type: ignore[arg-type]
    if argv[:1] != ["capture"]:
        print(
            "usage: python tests/golden/golden.py capture [PUBLIC_DIR] | show 'COMMAND'",
            file=sys.stderr,
        )
        return 2
    CLI_FILE.write_text(json.dumps(capture_cli(), indent=1, sort_keys=True) + "\n")
    public = Path(argv[1]) if len(argv) > 1 else None
    if public is not None:
        SITE_FILE.write_text(json.dumps(capture_site(public), indent=0, sort_keys=True) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
