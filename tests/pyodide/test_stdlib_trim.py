"""The start-up snapshot holds every stdlib module the engine imports and every engine module,
so the browser restores it with an empty stdlib zip and the wheel's data files only (a first
visit downloads no stdlib and no engine code); a module outside the image imports once the
worker mounts the full zip (its fallback on ImportError)."""

from __future__ import annotations

import json
import shutil
import subprocess
import zipfile
from pathlib import Path

import pytest

from sitegen.config import PYODIDE_PKG
from sitegen.snapshot import NOT_TRACED, read_trace, trace_modules
from tests.pyodide.test_parity import browser_reply, requests

pytestmark = pytest.mark.pyodide

HERE = Path(__file__).resolve().parent


def restore(site_dir: Path, tmp_path: Path, reqs: list[dict], module: str) -> dict:
    node = shutil.which("node")
    assert node is not None, "needs node (./dev test installs Pyodide with npm)"
    assert (PYODIDE_PKG / "pyodide.mjs").is_file(), "run `npm ci` (./dev test does)"
    (image,) = sorted((site_dir / "wheels").rglob("engine-snapshot.*.bin.gz"))
    (data,) = sorted((site_dir / "wheels").rglob("engine-data.*.zip"))
    (empty,) = sorted((site_dir / "pyodide").rglob("python_stdlib.empty.zip"))
    (full,) = sorted((site_dir / "pyodide").rglob("python_stdlib.pyc.*.zip"))
    path = tmp_path / "requests.json"
    path.write_text(json.dumps(reqs), encoding="utf-8")
    args = [str(p) for p in (image, empty, data, full, path)]
    out = subprocess.run(
        [node, str(HERE / "restore_snapshot.mjs"), *args, module],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    return json.loads(out.stdout)


def test_image_restored_without_a_stdlib_answers_as_cpython(site_dir, tmp_path):
    reqs = requests()
    answer = restore(site_dir, tmp_path, reqs, "xml.dom.minidom")
    for req, got in zip(reqs, answer["replies"], strict=True):
        want = browser_reply(req)
        if json.loads(want).get("error", {}).get("type") == "internal":
            assert json.loads(got)["error"]["message"] == json.loads(want)["error"]["message"]
            continue
        # an ImportError here would be a stdlib module the image lacks
        assert "ModuleNotFoundError" not in got, got[:300]
        assert got == want, f"request {req['id']} ({req['op']} {req['args']}) differs"
    # the fallback: outside the image until the full zip is on sys.path, then importable
    assert answer["before"] == "ModuleNotFoundError"
    assert answer["after"] == "ok"


def test_data_zip_is_the_wheel_less_its_code(site_dir):
    (wheel,) = sorted((site_dir / "wheels").rglob("*.whl"))
    (data,) = sorted((site_dir / "wheels").rglob("engine-data.*.zip"))
    with zipfile.ZipFile(wheel) as w, zipfile.ZipFile(data) as d:
        unread = (".py", ".pyc", ".md")  # code and documentation
        want = {n for n in w.namelist() if not n.endswith(unread) and ".dist-info/" not in n}
        assert set(d.namelist()) == want
        assert any(n.endswith(".json") for n in want)
        assert "engine/README.md" in w.namelist()


def test_import_trace_covers_the_engine_and_not_the_cli(site_dir):
    (image,) = sorted((site_dir / "wheels").rglob("engine-snapshot.*.bin.gz"))
    trace = read_trace(image.read_bytes())
    assert trace, "the build records the stdlib modules the image holds"
    assert {"json", "dataclasses", "re", "difflib"} <= set(trace)  # math is built in
    assert "argparse" not in trace  # the CLI is not imported into the image
    assert not set(NOT_TRACED) & set(trace_modules())
    assert {"engine.api", "engine.hub.session", "present.render"} <= set(trace_modules())
