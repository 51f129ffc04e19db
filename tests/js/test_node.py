"""Run the JS unit tests (tests/js/*.test.mjs, ``node --test``) as part of the pytest suite,
so the README's test command runs them too."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent


def test_node_unit_tests_pass() -> None:
    node = shutil.which("node")
    assert node, "node (20+) is needed: ./dev installs it with npm"
    files = sorted(HERE.glob("*.test.mjs"))
    assert files, "no tests/js/*.test.mjs"
    proc = subprocess.run(
        [node, "--test", "--test-reporter=tap", *(f.relative_to(ROOT).as_posix() for f in files)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-6000:]
    counts = {k: int(v) for k, v in re.findall(r"^# (tests|pass|fail) (\d+)$", out, re.M)}
    assert counts.get("fail") == 0, out[-6000:]
    assert counts.get("pass", 0) >= 30 and counts["pass"] == counts["tests"], counts
