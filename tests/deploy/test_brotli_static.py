"""Brotli: the build writes ``name.br`` beside every file it precompresses (the wasm and the
start-up snapshot above all), and nginx with ngx_brotli's static module (rendered with
``--brotli-module``) sends exactly those bytes to a client that accepts br, the ``.gz`` to
one that accepts only gzip. The committed config (the container's nginx:stable has no build
of the module) does not load it."""

from __future__ import annotations

import dataclasses
import gzip
from pathlib import Path

import brotli
import pytest

from deploy import nginx_conf
from tests.deploy import conftest


def test_the_build_writes_br_beside_the_gz(site_dir):
    gz = sorted(site_dir.rglob("*.gz"))
    assert any(p.name.endswith(".wasm.gz") for p in gz)
    (image,) = sorted((site_dir / "wheels").rglob("engine-snapshot.*.bin"))
    for path in [image, *(p.with_name(p.name[:-3]) for p in gz)]:
        br = path.with_name(path.name + ".br")
        assert br.is_file(), f"{path} has no .br beside it"
        assert brotli.decompress(br.read_bytes()) == path.read_bytes(), br
        assert br.stat().st_size < path.with_name(path.name + ".gz").stat().st_size, br
    # the snapshot is a raw image (the browser inflates what the server encodes)
    assert image.read_bytes()[:4] != b"\x1f\x8b\x08\x00"
    assert gzip.decompress(image.with_name(image.name + ".gz").read_bytes()) == image.read_bytes()


def test_committed_config_does_not_need_the_module():
    conf = nginx_conf.CONF_PATH.read_text()
    assert "load_module" not in conf and "brotli_static on;" not in conf


@pytest.fixture(scope="module")
def brotli_nginx(site_dir: Path, tmp_path_factory: pytest.TempPathFactory):
    if not Path(nginx_conf.BROTLI_MODULE).is_file():
        pytest.fail(
            "ngx_brotli's static module is missing: "
            "`apt-get install -y libnginx-mod-http-brotli-static` (./dev test installs it)",
            pytrace=False,
        )
    with pytest.MonkeyPatch.context() as mp:
        plain = conftest.NginxSite
        mp.setattr(
            conftest,
            "NginxSite",
            lambda **kw: dataclasses.replace(plain(**kw), brotli_module=nginx_conf.BROTLI_MODULE),
        )
        with conftest.run_nginx(
            site_dir, tmp_path_factory.mktemp("nginx-br"), as_root=conftest.os.geteuid() == 0
        ) as server:
            yield server


def test_nginx_sends_the_br_to_a_client_that_accepts_br(brotli_nginx, site_dir):
    (image,) = sorted((site_dir / "wheels").rglob("engine-snapshot.*.bin"))
    (wasm,) = sorted((site_dir / "pyodide").rglob("pyodide.asm.wasm"))
    for path in (image, wasm):
        url = "/" + path.relative_to(site_dir).as_posix()
        reply = brotli_nginx.request(url, headers={"Accept-Encoding": "gzip, deflate, br, zstd"})
        assert reply.status == 200, url
        assert reply.header("Content-Encoding") == "br", url
        assert reply.header("Vary") == "Accept-Encoding", url
        assert reply.body == path.with_name(path.name + ".br").read_bytes(), url
        only_gzip = brotli_nginx.request(url, headers={"Accept-Encoding": "gzip"})
        assert only_gzip.header("Content-Encoding") == "gzip", url
        assert only_gzip.body == path.with_name(path.name + ".gz").read_bytes(), url
        plain = brotli_nginx.request(url)
        assert plain.header("Content-Encoding") is None, url
        assert plain.body == path.read_bytes(), url
