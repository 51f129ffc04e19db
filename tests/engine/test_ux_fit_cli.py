"""`vram fit` leads with the answer and takes --top N (issue 15)."""

from __future__ import annotations

import json

from engine.cli import main


def _run(capsys, *argv: str) -> tuple[int, str, str]:
    rc = main(list(argv))
    out = capsys.readouterr()
    return rc, out.out, out.err


def test_first_line_is_the_verdict_with_its_meaning(capsys):
    rc, out, _ = _run(capsys, "fit", "llama-3.1-8b", "--weights", "q4_k_m", "--gpu", "rtx-4090")
    assert rc == 0
    first = out.splitlines()[0]
    assert first.startswith("Llama 3.1 8B on 1× GeForce RTX 4090: fits — context up to 131,072")
    assert "(the model's limit)" in first


def test_a_gpu_that_does_not_fit_says_by_how_much_never_context_zero(capsys):
    argv = ("fit", "llama-3.1-70b", "--runtime", "vllm", "--gpu", "m3-max-128gb")
    rc, out, _ = _run(capsys, *argv)
    assert rc == 0
    first = out.splitlines()[0]
    assert "does NOT fit — needs 134.49 GiB per GPU" in first and " short" in first
    assert "cheapest that fits: 8× Arc Pro B60 24GB" in first
    assert "nothing fits" not in out and "0 tokens" not in out


def test_top_limits_text_and_json_and_json_stays_complete_without_it(capsys):
    argv = ("fit", "llama-3.1-8b", "--weights", "q4_k_m", "--gpu", "rtx-4090")
    _, out, _ = _run(capsys, *argv, "--top", "3")
    rows = [line for line in out.splitlines() if " need " in line]
    assert len(rows) == 3 and "(top 3 of " in out
    _, full, _ = _run(capsys, *argv, "--json")
    _, top, _ = _run(capsys, *argv, "--json", "--top", "2")
    full, top = json.loads(full), json.loads(top)
    assert len(full["options"]) > 10
    assert top["options"] == full["options"][:2]
    assert {k: v for k, v in top.items() if k != "options"} == {
        k: v for k, v in full.items() if k != "options"
    }


def test_top_zero_and_bad_values(capsys):
    rc, out, _ = _run(capsys, "fit-train", "llama-3.1-8b", "--gpu", "rtx-4090", "--top", "0")
    assert rc == 0 and " need " not in out and out.startswith("Llama 3.1 8B on 1×")
    rc, _, err = _run(capsys, "fit", "llama-3.1-8b", "--top", "-1")
    assert rc == 2 and "--top" in err


def test_multi_gpu_lines_say_the_count(capsys):
    argv = ("fit", "llama-3.1-8b", "--weights", "q4_k_m", "--gpu", "rtx-4090", "--gpus", "2")
    _, out, _ = _run(capsys, *argv)
    assert out.splitlines()[0].startswith("Llama 3.1 8B on 2× GeForce RTX 4090: fits")
