"""Precompressed assets: the build writes ``name.gz`` beside the wasm, the Pyodide JS and
every hashed JS/CSS asset, and nginx (``gzip_static``) sends exactly those bytes, with
``Content-Encoding: gzip`` and the original's type, to a client that accepts gzip."""

from __future__ import annotations

import gzip
from pathlib import Path

from deploy import nginx_conf
from sitegen.assets import NOT_PRECOMPRESSED, PRECOMPRESS, PRECOMPRESS_MIN


def precompressed(site_dir: Path) -> list[Path]:
    return sorted(site_dir.rglob("*.gz"))


def test_the_build_writes_gz_beside_the_big_files(site_dir):
    gz = {p.relative_to(site_dir).as_posix() for p in precompressed(site_dir)}
    wasm = [p for p in gz if p.endswith(".wasm.gz")]
    assert wasm, "the 9.6 MB wasm is shipped precompressed"
    assert any(p.startswith("assets/app.") and p.endswith(".js.gz") for p in gz)
    assert any(p.endswith("pyodide.asm.mjs.gz") for p in gz)
    for path in site_dir.rglob("*"):
        rel = path.relative_to(site_dir).as_posix()
        if (
            path.is_file()
            and rel.endswith(PRECOMPRESS)
            and rel.startswith(("assets/", "pyodide/"))
            and not rel.startswith(NOT_PRECOMPRESSED)  # per-model files: gzip on the fly
            and path.stat().st_size >= PRECOMPRESS_MIN
        ):
            assert rel + ".gz" in gz, f"{rel} has no .gz beside it"
    for path in precompressed(site_dir):
        original = path.with_name(path.name[: -len(".gz")])
        if original.is_file():  # the snapshot's own .bin.gz is data, not a precompressed copy
            assert gzip.decompress(path.read_bytes()) == original.read_bytes(), path
            assert path.read_bytes()[4:8] == b"\0\0\0\0", f"{path}: a time in the gzip header"


def test_nginx_serves_the_gz_to_a_client_that_accepts_gzip(nginx, site_dir):
    served = [p for p in precompressed(site_dir) if p.with_name(p.name[:-3]).is_file()]
    wasm = next(p for p in served if p.name.endswith(".wasm.gz"))
    for gz in [wasm, *served[:6]]:
        url = "/" + gz.with_name(gz.name[:-3]).relative_to(site_dir).as_posix()
        reply = nginx.request(url, headers={"Accept-Encoding": "gzip, deflate"})
        assert reply.status == 200, url
        assert reply.header("Content-Encoding") == "gzip", url
        assert reply.header("Vary") == "Accept-Encoding", url
        assert reply.header("Content-Type") == nginx_conf.mime_types()[Path(url).suffix], url
        assert reply.body == gz.read_bytes(), f"{url}: not the build's .gz (compressed again?)"
        # a client that does not accept gzip gets the file as it is
        plain = nginx.request(url)
        assert plain.header("Content-Encoding") is None, url
        assert plain.body == gz.with_name(gz.name[:-3]).read_bytes(), url


def test_nginx_conf_turns_gzip_static_on():
    conf = nginx_conf.render_nginx_conf(nginx_conf.NginxSite())
    assert "    gzip_static on;" in conf.splitlines()
