"""Serving robustly (issue 13): long caching only on a file that exists (200/206/304, never a
404), the security headers on every error page (404, 414 for an over-8 KB URL) with
Cross-Origin-Resource-Policy, a rebuild swapped in whole, and a site version that follows the
sources, not the clock."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest

from sitegen.assets import site_version
from sitegen.headers import IMMUTABLE, SECURITY_HEADERS
from sitegen.write import write_site

LONG_CACHED = ("/assets/", "/pyodide/", "/wheels/")


def assert_security_headers(reply, what: str) -> None:
    for name, value in SECURITY_HEADERS.items():
        assert reply.header(name) == value, f"{what}: {name}"


def test_security_headers_include_corp():
    assert SECURITY_HEADERS["Cross-Origin-Resource-Policy"] == "same-origin"


@pytest.mark.parametrize("prefix", LONG_CACHED)
def test_a_missing_file_is_never_cached_for_a_year(nginx, prefix):
    for path in (f"{prefix}no-such-file.js", f"{prefix}deep/no-such.wasm"):
        reply = nginx.request(path)
        assert reply.status == 404, path
        assert reply.header("Cache-Control") == "no-cache", path
        assert_security_headers(reply, path)


def test_existing_files_keep_long_caching_on_200_206_and_304(nginx, site_dir):
    wasm = next(site_dir.glob("pyodide/**/*.wasm"))
    path = "/" + wasm.relative_to(site_dir).as_posix()
    full = nginx.request(path, "HEAD")
    assert full.status == 200 and full.header("Cache-Control") == IMMUTABLE
    part = nginx.request(path, headers={"Range": "bytes=0-0"})
    assert part.status == 206 and part.header("Cache-Control") == IMMUTABLE
    again = nginx.request(path, "HEAD", headers={"If-Modified-Since": full.header("Last-Modified")})
    assert again.status == 304 and again.header("Cache-Control") == IMMUTABLE


def test_an_over_long_url_gets_the_security_headers(nginx):
    reply = nginx.request("/" + "a" * 9000)
    assert reply.status == 414
    assert_security_headers(reply, "414")
    assert reply.header("Cache-Control") != IMMUTABLE


def test_every_error_page_carries_the_security_headers(nginx):
    for path in ("/no/such/page/", "/zh/no/such/", "/assets/", "/models/x/y/z"):
        reply = nginx.request(path)
        assert reply.status == 404, path
        assert_security_headers(reply, path)


# ---------------------------------------------------------------- the build's write step


def test_rebuild_swaps_the_site_in_whole(tmp_path: Path):
    out = tmp_path / "public"
    write_site(out, {"index.html": b"v1", "a/b.txt": b"1"}, {})
    seen_missing = []
    stop = threading.Event()

    def watch() -> None:
        while not stop.is_set():
            if not (out / "index.html").is_file():
                seen_missing.append(1)

    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        files = {f"f{i}/x.txt": b"x" * 2000 for i in range(300)}
        for n in range(5):
            write_site(out, {"index.html": f"v{n + 2}".encode(), **files}, {})
    finally:
        stop.set()
        watcher.join()
    assert not seen_missing, "index.html was missing during a rebuild"
    assert (out / "index.html").read_bytes() == b"v6"
    assert not (out / "a").exists()  # old files do not survive
    assert sorted(p.name for p in tmp_path.iterdir()) == ["public"]  # no temporary leftovers


def test_a_killed_build_leaves_nothing_that_breaks_the_next(tmp_path: Path):
    out = tmp_path / "public"
    leftover = tmp_path / f".public.new-{os.getpid()}"
    (leftover / "junk").mkdir(parents=True)
    write_site(out, {"index.html": b"ok"}, {})
    assert (out / "index.html").read_bytes() == b"ok" and not leftover.exists()


# ---------------------------------------------------------------- the site version


def test_site_version_follows_the_sources_not_the_clock():
    def page(when: str) -> dict[str, bytes]:
        return {
            "index.html": f"<p>figures</p><p>built {when}</p>".encode(),
            "sitemap.xml": when[:10].encode(),
        }

    a = site_version("1.0", page("2026-12-06T10:00:00Z"), {}, "2026-12-06T10:00:00Z")
    b = site_version("1.0", page("2026-12-07T11:30:00Z"), {}, "2026-12-07T11:30:00Z")
    assert a == b  # a rebuild without a source change: same version, no update banner
    changed = {**page("2026-12-07T11:30:00Z"), "assets/app.js": b"new"}
    assert site_version("1.0", changed, {}, "2026-12-07T11:30:00Z") != a
    assert site_version("1.1", page("2026-12-06T10:00:00Z"), {}, "2026-12-06T10:00:00Z") != a


def test_an_output_directory_that_cannot_move_is_refilled(tmp_path: Path, monkeypatch):
    from sitegen import write

    out = tmp_path / "public"
    write_site(out, {"index.html": b"v1", "old.txt": b"x"}, {})
    monkeypatch.setattr(write, "_exchange", lambda a, b: False)
    real_rename = Path.rename

    def no_move(self: Path, target):  # out_dir is a mount point: it cannot be renamed
        if self == out:
            raise OSError(16, "Device or resource busy")
        return real_rename(self, target)

    monkeypatch.setattr(Path, "rename", no_move)
    write_site(out, {"index.html": b"v2"}, {})
    assert (out / "index.html").read_bytes() == b"v2" and not (out / "old.txt").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["public"]
