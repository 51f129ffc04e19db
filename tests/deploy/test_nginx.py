"""deploy/nginx.conf against a real nginx: the same headers as netlify.toml on every path the
site serves, the right MIME types, /api/health as JSON, the 404 page, pretty URLs and gzip.

The header reference is netlify.toml itself, read with tomllib and matched the way Netlify
matches it (``netlify_for_regex`` below), so a header Netlify would send and nginx does not is
a failing test, whatever build.py's own ``header_for`` thinks.
"""

from __future__ import annotations

import gzip
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import tomllib
from collections.abc import Iterable
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from deploy import nginx_conf
from deploy.nginx_conf import NginxSite, header_maps, render_nginx_conf
from sitegen.config import ROOT
from sitegen.headers import CSP, HEADER_RULES, MIME_TYPES, NOT_FOUND_PAGES, REDIRECTS, header_for

NETLIFY_TOML = ROOT / "netlify.toml"
MISSING = "/no/such/page/"
ZH_MISSING = "/zh/no/such/page/"  # gets the Chinese 404 page


# ---------------------------------------------------------- netlify.toml, as Netlify reads it


def netlify_for_regex(pattern: str) -> re.Pattern[str]:
    """Return the regex Netlify matches a ``[[headers]] for`` path with.

    Same rules as Netlify's headers parser (netlify/build, packages/headers-parser/src/
    for_regexp.ts, read 2026-11-25): split on "/", drop empty parts; a part ":name" is one
    segment; a part that is exactly "*" matches anything, slashes included, and may be empty;
    a "*" inside a part becomes ".*" with the rest of the part left unescaped; other parts
    are literal; the whole is anchored, case-insensitive, with an optional trailing slash.
    """
    parts = []
    for part in (p.rstrip() for p in pattern.split("/")):
        if not part:
            continue
        if part.startswith(":"):
            parts.append("([^/]+)")
        elif part == "*":
            parts.append("?(.*)")
        elif "*" in part:
            parts.append(part.replace("*", "(.*)"))
        else:
            parts.append(re.escape(part))
    return re.compile("^/" + "/".join(parts) + "/?$", re.IGNORECASE)


def netlify_rules() -> list[tuple[re.Pattern[str], str, dict[str, str]]]:
    data = tomllib.loads(NETLIFY_TOML.read_text())
    return [(netlify_for_regex(r["for"]), r["for"], dict(r["values"])) for r in data["headers"]]


def netlify_headers(path: str) -> tuple[dict[str, str], list[str]]:
    """Return (headers Netlify sends for ``path``, conflicts between matching rules).

    Later rules override earlier ones, as in netlify-cli's ``headersForPath``
    (``Object.assign`` over the matching rules). Two matching rules giving one header
    different values is reported as a conflict: Netlify's documented behaviour there is
    not something to rely on.
    """
    headers: dict[str, str] = {}
    origin: dict[str, str] = {}
    conflicts = []
    for regex, pattern, values in netlify_rules():
        if not regex.match(path):
            continue
        for name, value in values.items():
            if name in headers and headers[name] != value:
                conflicts.append(
                    f"{path}: {name} is {headers[name]!r} from {origin[name]!r} "
                    f"and {value!r} from {pattern!r}"
                )
            headers[name] = value
            origin[name] = pattern
    return headers, conflicts


def test_netlify_matching_port():
    """Cases that follow from for_regexp.ts (see ``netlify_for_regex``)."""
    assert netlify_for_regex("/*/").pattern == netlify_for_regex("/*").pattern  # "" dropped
    assert netlify_for_regex("/*/").match("/assets/app.1234.js")
    assert netlify_for_regex("/*.wasm").match("/pyodide/314.0.7/pyodide.asm.wasm")
    assert netlify_for_regex("/assets/*").match("/assets")  # a lone * may be empty
    assert netlify_for_regex("/SW.js").match("/sw.js/")  # case-insensitive, optional slash
    assert not netlify_for_regex("/sw.js").match("/swxjs")  # literal parts are escaped
    assert netlify_for_regex("/").match("/") and not netlify_for_regex("/").match("/a")
    assert netlify_for_regex("/models/:slug/").match("/models/x/")
    assert not netlify_for_regex("/models/:slug/").match("/models/x/y/")


def served_paths(root: Path) -> list[str]:
    """Return every URL path the built site answers, plus the redirects and a missing page."""
    paths = {"/", MISSING, ZH_MISSING}
    for file in root.rglob("*"):
        rel = file.relative_to(root).as_posix()
        if file.is_file():
            paths.add("/" + rel)
        elif (file / "index.html").is_file():
            paths.add(f"/{rel}/")
    paths.update(src for src, _, _ in REDIRECTS)
    return sorted(paths)


RULE_HEADERS = sorted({name for _, values in HEADER_RULES for name in values})


# ------------------------------------------------------------------ the renderer, without nginx


def test_committed_nginx_conf_is_a_fresh_render(tmp_path):
    check = [sys.executable, str(ROOT / "deploy" / "nginx_conf.py"), "--check"]
    result = subprocess.run(check, capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
    # and the check does fail on a stale file
    stale = tmp_path / "nginx.conf"
    stale.write_text(render_nginx_conf().replace("no-cache", "no-store", 1))
    assert nginx_conf.main(["--check", "-o", str(stale)]) == 1
    assert nginx_conf.main(["--check", "-o", str(tmp_path / "absent.conf")]) == 1


def test_netlify_reads_each_path_as_build_py_means_it(site_dir):
    """header_for (nginx's and `build.py serve`'s source) = Netlify's reading of the
    same rules, on every path the site serves; no two rules fight over one header."""
    wrong, conflicts = [], []
    for path in served_paths(site_dir):
        netlify, clash = netlify_headers(path)
        conflicts += clash
        if netlify != header_for(path):
            diff = {
                k: (netlify.get(k), header_for(path).get(k))
                for k in set(netlify) | set(header_for(path))
                if netlify.get(k) != header_for(path).get(k)
            }
            wrong.append(f"{path}: (netlify, header_for) = {diff}")
    assert not conflicts, "rules in HEADER_RULES overlap on Netlify:\n" + "\n".join(
        conflicts[:10]
    )
    assert not wrong, "\n".join(wrong[:10])


def nginx_map_lookup(path: str) -> dict[str, str]:
    """Evaluate the rendered maps the way nginx does: the first regex that matches wins."""
    out = {}
    for name, entries in header_maps().items():
        for regex, value in entries:
            if re.search(regex, path):
                out[name] = value
                break
    return out


SEGMENTS = st.sampled_from(
    [
        "assets",
        "api",
        "pyodide",
        "wheels",
        "sw.js",
        "x.wasm",
        "index.html",
        "version.json",
        "manifest.webmanifest",
        "health",
        "a.b",
        "models",
        "-",
        "_x",
        "",
    ]
)


@given(st.lists(SEGMENTS, max_size=4), st.booleans())
def test_nginx_maps_pick_the_rule_header_for_picks(segments, slash):
    path = "/" + "/".join(segments) + ("/" if slash and segments else "")
    assert nginx_map_lookup(path) == header_for(path)


def test_content_type_rules_must_match_the_types_block():
    nginx_conf.check_content_types()  # the real rules pass
    with pytest.raises(ValueError, match=r"'/\*\.wasm'.*application/octet-stream"):
        nginx_conf.check_content_types([("/*.wasm", {"Content-Type": "application/octet-stream"})])
    with pytest.raises(ValueError, match="sets types by extension"):
        nginx_conf.check_content_types([("/*", {"Content-Type": "text/plain"})])


def test_extra_mime_types_are_what_build_py_serve_sends():
    import mimetypes

    for ext, value in nginx_conf.EXTRA_MIME_TYPES.items():
        assert ext not in MIME_TYPES
        assert mimetypes.guess_type("x" + ext)[0] == value, ext


def test_values_nginx_would_interpret_are_refused(monkeypatch):
    with pytest.raises(ValueError, match="outside"):
        nginx_conf.pattern_regex("/a b/*")
    for value in ("$host", 'say "hi"', "a\\b"):
        monkeypatch.setattr(nginx_conf, "HEADER_RULES", (("/*", {"X-A": value}),))
        with pytest.raises(ValueError, match="X-A"):
            render_nginx_conf()


def test_render_is_parameterised_and_container_safe():
    text = render_nginx_conf(NginxSite(root="/srv/site", listen="127.0.0.1:9999", tmp_dir="/t/"))
    assert "listen 127.0.0.1:9999;" in text and "root /srv/site;" in text
    assert "pid /t/nginx.pid;" in text and "client_body_temp_path /t/nginx-client-body;" in text
    committed = render_nginx_conf()
    assert "listen 8080;" in committed and "\nuser " not in committed  # runs as non-root
    # every add_header is at server level, `always`, one per header: no location drops them
    server = committed[committed.index("    server {") :]
    adds = re.findall(r"^ +add_header (\S+) \S+ always;$", committed, re.M)
    assert sorted(adds) == sorted(h for h in RULE_HEADERS if h != "Content-Type")
    assert len(re.findall(r"^ *add_header", committed, re.M)) == len(adds)
    locations = re.findall(r"^ +location [^{\n]+\{[^}]*\}", server, re.M)
    # "/", one per other language's 404 page (/zh/), one per redirect
    assert len(locations) == len(NOT_FOUND_PAGES) + len(REDIRECTS)
    for block in locations:
        assert "add_header" not in block


# ------------------------------------------------------------------ a real nginx


def expected_type(path: str) -> str:
    return nginx_conf.mime_types()[Path(path).suffix]


def test_nginx_sends_every_header_netlify_sends(nginx, site_dir):
    """A header netlify.toml sets for a path and nginx does not (or sends differently) fails;
    so does a rule header nginx sends where Netlify would not."""
    missing = []
    for path in served_paths(site_dir):
        expected, _ = netlify_headers(path)
        reply = nginx.request(path, "HEAD")
        for name, value in expected.items():
            got = reply.header(name)
            if got != value:
                missing.append(f"{path} [{reply.status}]: {name} netlify={value!r} nginx={got!r}")
        for name in RULE_HEADERS:
            if name not in expected and name != "Content-Type" and reply.header(name) is not None:
                missing.append(f"{path}: nginx sends {name}={reply.header(name)!r}, Netlify not")
    assert not missing, f"{len(missing)} differences:\n" + "\n".join(missing[:20])


def test_nginx_sends_what_build_py_serve_sends(nginx, site_dir):
    """The same header set as header_for (and so `build.py serve`) on every path."""
    wrong = []
    for path in served_paths(site_dir):
        reply = nginx.request(path, "HEAD")
        for name in RULE_HEADERS:
            want = header_for(path).get(name)
            if name == "Content-Type" and want is None:
                continue
            if reply.header(name) != want:
                wrong.append(f"{path}: {name} want {want!r} got {reply.header(name)!r}")
    assert not wrong, "\n".join(wrong[:20])


def test_every_file_has_its_mime_type(nginx, site_dir):
    files = [p for p in served_paths(site_dir) if (site_dir / p.lstrip("/")).is_file()]
    assert len(files) > 50
    for path in files:
        reply = nginx.request(path, "HEAD")
        assert reply.status == 200, path
        assert reply.header("Content-Type") == expected_type(path), path


def test_wasm_is_application_wasm_and_cached_for_a_year(nginx, site_dir):
    wasm = [p for p in served_paths(site_dir) if p.endswith(".wasm")]
    assert wasm, "the build ships Pyodide's wasm"
    for path in wasm:
        reply = nginx.request(path, "HEAD")
        assert reply.status == 200
        assert reply.header("Content-Type") == "application/wasm"
        assert reply.header("Cache-Control") == "public, max-age=31536000, immutable"
        assert int(reply.header("Content-Length")) == (site_dir / path.lstrip("/")).stat().st_size


def test_api_health_answers_json(nginx, site_dir):
    reply = nginx.request("/api/health")
    assert reply.status == 200
    assert reply.header("Content-Type") == "application/json"
    assert reply.body == (site_dir / "api/health.json").read_bytes()
    health = json.loads(reply.body)
    version = json.loads((site_dir / "version.json").read_text())
    assert health["status"] == "ok" and health["version"] == version["version"]
    assert reply.header("Cache-Control") == "no-cache"
    assert reply.header("Access-Control-Allow-Origin") == "*"


def test_missing_pages_get_the_404_page(nginx, site_dir):
    page_404 = (site_dir / "404.html").read_bytes()
    for path in (MISSING, "/models/no-such-model/", "/x.wasm", "/assets/"):  # /assets/: no index
        reply = nginx.request(path)
        assert reply.status == 404, path
        assert reply.body == page_404, path
        assert reply.header("Content-Type") == "text/html; charset=utf-8"
        assert reply.header("Content-Security-Policy") == CSP  # `always`: on errors too
        assert reply.header("X-Frame-Options") == "DENY"


def test_missing_zh_pages_get_the_chinese_404_page(nginx, site_dir):
    """Under /zh/ (its own location, NOT_FOUND_PAGES) with the same headers."""
    page_404 = (site_dir / "zh/404.html").read_bytes()
    assert b'<html lang="zh-CN"' in page_404
    for path in (ZH_MISSING, "/zh/models/no-such-model/", "/zh/x.wasm", "/zh/assets/"):
        reply = nginx.request(path)
        assert reply.status == 404, path
        assert reply.body == page_404, path
        assert reply.header("Content-Type") == "text/html; charset=utf-8"
        assert reply.header("Content-Security-Policy") == CSP
        assert reply.header("Cache-Control") == "no-cache"  # /zh/*, as on Netlify
    # the Chinese pages themselves, and the English 404 outside /zh/, are untouched
    zh_models = nginx.request("/zh/models/")
    assert (zh_models.status, zh_models.body) == (
        200,
        (site_dir / "zh/models/index.html").read_bytes(),
    )
    assert nginx.request("/zhx/").body == (site_dir / "404.html").read_bytes()
    assert nginx.request("/zh").status == 301


def test_pretty_urls(nginx, site_dir):
    slug = sorted(p.name for p in (site_dir / "models").iterdir() if p.is_dir())[0]
    page = (site_dir / "models" / slug / "index.html").read_bytes()
    reply = nginx.request(f"/models/{slug}/")
    assert (reply.status, reply.body) == (200, page)
    assert reply.header("Cache-Control") == "no-cache"
    bare = nginx.request(f"/models/{slug}")
    assert bare.status == 301
    assert bare.header("Location") == f"/models/{slug}/"  # relative: right behind any proxy
    assert nginx.request("/").body == (site_dir / "index.html").read_bytes()


def test_query_strings_do_not_change_the_headers(nginx):
    reply = nginx.request("/sw.js?v=123", "HEAD")
    assert reply.status == 200
    assert reply.header("Cache-Control") == "no-cache"
    assert reply.header("Service-Worker-Allowed") == "/"


def test_no_cache_pages_revalidate_with_304(nginx):
    first = nginx.request("/")
    etag = first.header("ETag")
    assert etag
    again = nginx.request("/", headers={"If-None-Match": etag})
    assert again.status == 304
    assert again.header("Cache-Control") == "no-cache"
    assert again.header("Content-Security-Policy") == CSP


def gzip_paths(site_dir: Path) -> Iterable[str]:
    yield "/index.html"
    yield next(p for p in served_paths(site_dir) if re.match(r"/assets/app\..*\.js$", p))
    yield next(p for p in served_paths(site_dir) if p.endswith(".wasm"))


def test_gzip_for_text_and_wasm(nginx, site_dir):
    for path in gzip_paths(site_dir):
        reply = nginx.request(path, headers={"Accept-Encoding": "gzip"})
        assert reply.status == 200, path
        assert reply.header("Content-Encoding") == "gzip", path
        assert reply.header("Vary") == "Accept-Encoding", path
        original = (site_dir / path.lstrip("/")).read_bytes()
        assert gzip.decompress(reply.body) == original, path
        assert len(reply.body) < 0.6 * len(original), path
    # a client that does not ask for gzip gets the bytes as they are
    plain = nginx.request("/index.html")
    assert plain.header("Content-Encoding") is None
    assert plain.body == (site_dir / "index.html").read_bytes()


def test_nginx_log_has_no_errors(nginx):
    nginx.request("/")
    log = nginx.error_log.read_text() if nginx.error_log.exists() else ""
    bad = [line for line in log.splitlines() if re.search(r"\[(emerg|alert|crit|error)\]", line)]
    # the 404 tests ask for missing files and for a directory without index.html
    expected = ("No such file or directory", "directory index of")
    assert [line for line in bad if not any(e in line for e in expected)] == []


def test_runs_unprivileged_writing_only_its_temp_dir(start_nginx):
    """The container case (uid 101, read-only root): the config has no `user` directive
    and writes only pid/temp files under its temp dir. Here as `nobody` (when the tests
    run as root), with the served files read-only and the temp dir its only writable place.
    """
    if os.geteuid() == 0:
        assert shutil.which("setpriv"), "setpriv (util-linux) drops root for this test"
        wrapper = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]
    else:
        wrapper = []  # already unprivileged: that is the case under test
    # Not under pytest's tmp dir: its parents are private to root.
    base = Path(tempfile.mkdtemp(prefix="vram-nginx-"))
    try:
        (base / "site" / "api").mkdir(parents=True)
        (base / "site" / "index.html").write_text("<!doctype html><title>x</title>\n")
        (base / "site" / "api" / "health.json").write_text('{"status": "ok"}\n')
        prefix = base / "tmp"
        prefix.mkdir()
        for path in [base, *base.rglob("*")]:
            path.chmod(0o755 if path.is_dir() else 0o644)  # others may read, not write
        if wrapper:
            os.chown(prefix, 65534, 65534)
        (prefix / "nginx.conf").touch(0o644)
        with start_nginx(base / "site", prefix, as_root=False, wrapper=wrapper) as server:
            reply = server.request("/api/health")
            assert (reply.status, reply.header("Content-Type")) == (200, "application/json")
            assert server.request("/").status == 200
            assert server.request("/missing").status == 404
            assert (prefix / "nginx.pid").is_file()
            if wrapper:
                assert (prefix / "nginx.pid").stat().st_uid == 65534
        assert "\nuser " not in server.conf.read_text()
        log = (prefix / "error.log").read_text()
        assert "Permission denied" not in log and "[emerg]" not in log, log
        assert sorted(p.name for p in (base / "site").rglob("*")) == [
            "api", "health.json", "index.html"
        ]  # fmt: skip
    finally:
        shutil.rmtree(base, ignore_errors=True)
