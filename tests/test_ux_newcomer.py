"""A newcomer's first minute (issue 15): the README says what to install before the two
commands, `./dev serve` says it is building, Ctrl-C stops it without a traceback, and
`docker compose up` has a compose file with a health check."""

from __future__ import annotations

import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import yaml

from sitegen.config import ROOT

README = (ROOT / "README.md").read_text()


def test_readme_starts_with_the_two_commands_then_the_prerequisites():
    lines = README.splitlines()
    assert lines[0].strip().startswith("./dev serve")
    assert lines[1].strip().startswith("./dev test")
    head = README[: README.index("# VRAM Insight")]
    assert "Python ≥ 3.11" in head and "Node ≥ 20 with npm" in head
    for package in ("chromium", "nginx"):  # what ./dev test installs with apt
        assert package in head
        assert package in (ROOT / "dev").read_text()
    assert "apt-get install" in head


def test_dev_serve_says_it_is_building_before_the_build():
    dev = (ROOT / "dev").read_text()
    serve = dev[dev.index("  serve)") : dev.index("  test)")]
    assert serve.index("echo") < serve.index("build.py serve")
    assert "building" in serve


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _interrupt(args: list[str], *, ready) -> subprocess.CompletedProcess:
    proc = subprocess.Popen(
        [sys.executable, str(ROOT / "build.py"), *args],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        ready(proc)
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


def test_ctrl_c_while_serving_prints_no_traceback(tmp_path: Path):
    (tmp_path / "index.html").write_text("<!doctype html><title>x</title>")
    port = _free_port()

    def ready(proc):
        for _ in range(100):
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=1)
                return
            except OSError:
                time.sleep(0.1)

    done = _interrupt(
        ["serve", "--no-build", "--out", str(tmp_path), "--port", str(port)], ready=ready
    )
    assert "Traceback" not in done.stderr, done.stderr
    assert "Ctrl-C to stop" in done.stdout
    assert done.returncode == 0


def test_ctrl_c_during_the_build_prints_no_traceback(tmp_path: Path):
    done = _interrupt(
        ["--out", str(tmp_path / "out")], ready=lambda proc: time.sleep(1.5)
    )
    assert "Traceback" not in done.stderr, done.stderr
    assert done.returncode == 130


def test_compose_file_runs_the_image_with_a_health_check():
    compose = yaml.safe_load((ROOT / "compose.yaml").read_text())
    web = compose["services"]["web"]
    assert web["build"] == "."
    assert "127.0.0.1:8080:8080" in web["ports"]
    assert web["read_only"] is True and "/tmp" in web["tmpfs"]
    check = web["healthcheck"]["test"]
    assert check[0] == "CMD" and any(arg.endswith(":8080/api/health") for arg in check)
    # the port the image's nginx listens on, and the path the deploy rules serve
    assert "EXPOSE 8080" in (ROOT / "Dockerfile").read_text()
    assert re.search(r"listen\s+8080", (ROOT / "deploy" / "nginx.conf").read_text())
    assert "/api/health" in (ROOT / "sitegen" / "headers.py").read_text()
