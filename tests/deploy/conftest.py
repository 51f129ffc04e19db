"""Deploy fixtures: Debian's real nginx serving the session's site build with the rendered
deploy/nginx.conf on a free 127.0.0.1 port, plus what the browser smoke tests need to run
against it (the same fixtures tests/browser/ uses, with ``server`` pointing at nginx)."""

from __future__ import annotations

import contextlib
import http.client
import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest

from deploy.nginx_conf import NginxSite, render_nginx_conf

NGINX_CANDIDATES = ("nginx", "/usr/sbin/nginx")
START_TIMEOUT_S = 15.0


@dataclass(frozen=True)
class Reply:
    status: int
    headers: dict[str, list[str]]  # lower-case name -> every value sent
    body: bytes

    def header(self, name: str) -> str | None:
        """Return the one value of ``name``; fail when nginx sent it more than once."""
        values = self.headers.get(name.lower(), [])
        assert len(values) <= 1, f"{name} sent {len(values)} times: {values}"
        return values[0] if values else None


@dataclass(frozen=True)
class NginxServer:
    url: str
    host: str
    port: int
    root: Path
    conf: Path
    error_log: Path

    def request(
        self, path: str, method: str = "GET", headers: dict[str, str] | None = None
    ) -> Reply:
        """Send one request (no redirects followed, no decompression)."""
        conn = http.client.HTTPConnection(self.host, self.port, timeout=10)
        try:
            conn.request(method, path, headers=headers or {})
            response = conn.getresponse()
            body = response.read()
            names: dict[str, list[str]] = {}
            for name, value in response.getheaders():
                names.setdefault(name.lower(), []).append(value)
            return Reply(response.status, names, body)
        finally:
            conn.close()


def find_nginx() -> str:
    for candidate in NGINX_CANDIDATES:
        found = shutil.which(candidate)
        if found:
            return found
    pytest.fail(
        "nginx is not installed: `apt-get install -y nginx` (the test command installs it)",
        pytrace=False,
    )


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def run_nginx(
    root: Path, prefix: Path, *, as_root: bool, wrapper: Sequence[str] = ()
) -> Iterator[NginxServer]:
    """Start nginx on a free port serving ``root``, everything it writes under ``prefix``;
    ``wrapper`` prefixes the command (e.g. setpriv to drop privileges)."""
    binary = find_nginx()
    port = free_port()
    error_log = prefix / "error.log"
    site = NginxSite(
        root=str(root),
        listen=f"127.0.0.1:{port}",
        tmp_dir=str(prefix),
        access_log=str(prefix / "access.log"),
        error_log=str(error_log),
        worker_processes="1",
        user="root" if as_root else None,
    )
    conf = prefix / "nginx.conf"
    conf.write_text(render_nginx_conf(site))
    cmd = [*wrapper, binary, "-e", str(error_log), "-p", str(prefix), "-c", str(conf)]
    check = subprocess.run([*cmd, "-t"], capture_output=True, text=True, check=False)
    assert check.returncode == 0, f"nginx -t rejected the rendered config:\n{check.stderr}"
    proc = subprocess.Popen([*cmd, "-g", "daemon off;"], stdout=subprocess.DEVNULL)
    server = NginxServer(f"http://127.0.0.1:{port}", "127.0.0.1", port, root, conf, error_log)
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        while True:
            if proc.poll() is not None:
                log = error_log.read_text() if error_log.exists() else ""
                pytest.fail(f"nginx exited with {proc.returncode}:\n{log}", pytrace=False)
            try:
                if server.request("/api/health").status == 200:
                    break
            except OSError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"nginx did not answer within {START_TIMEOUT_S} s", pytrace=False)
            time.sleep(0.05)
        yield server
    finally:
        proc.terminate()  # SIGTERM: nginx's fast shutdown
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.fixture(scope="session")
def nginx(site_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[NginxServer]:
    """Debian's nginx serving the built site with a fresh render of deploy/nginx.conf."""
    # pytest's tmp dirs are private to their owner: as root, keep the workers root too.
    with run_nginx(site_dir, tmp_path_factory.mktemp("nginx"), as_root=os.geteuid() == 0) as s:
        yield s


@pytest.fixture(scope="session")
def start_nginx():
    """``run_nginx``, for tests that need an nginx of their own."""
    return run_nginx


@pytest.fixture(scope="session")
def server(nginx: NginxServer) -> str:
    """The base URL the browser smoke tests (imported from tests/browser/) open: nginx."""
    return nginx.url


# The Chromium launch settings and the console-watching page of tests/browser/, reused as is.
from tests.browser.conftest import browser_type_launch_args, watched  # noqa: E402

__all__ = [
    "NginxServer",
    "Reply",
    "browser_type_launch_args",
    "nginx",
    "run_nginx",
    "server",
    "start_nginx",
    "watched",
]
