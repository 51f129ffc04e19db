"""Render ``deploy/nginx.conf`` from the header rules in ``sitegen/headers.py``.

    python deploy/nginx_conf.py            # rewrite deploy/nginx.conf (container defaults)
    python deploy/nginx_conf.py --check    # exit 1 when the committed file is not a fresh render
    python deploy/nginx_conf.py --root public --listen 127.0.0.1:8081 --tmp /tmp/x -o x.conf

``HEADER_RULES`` (Netlify path patterns), ``REDIRECTS`` and ``MIME_TYPES`` of sitegen.headers
are the single source: netlify.toml, ``build.py serve`` and this file all come from them.
tests/deploy/test_nginx.py runs a real nginx with this config and compares every path's
headers with netlify.toml as Netlify itself matches it, so they cannot drift apart.

How the rules become nginx: ``header_for`` merges every matching rule, a later rule
overriding an earlier one. Each header name becomes one ``map`` from the request path to its
value, listing that header's rules last-first as regexes (nginx tests regexes in file order,
so the first hit is the rule ``header_for`` would keep), with an empty default. One
``add_header ... always`` per header at server level then sends it, and nginx drops a header
whose value is empty. No ``location`` has its own ``add_header``, so the classic pitfall (a
nested ``add_header`` silently discards all inherited ones) cannot occur. The map is keyed on
the path of ``$request_uri``, the URL the browser asked for, as Netlify and ``build.py serve``
do, so an internal redirect (index.html, the 404 page, ``/api/health``) keeps its headers.
``Content-Type`` rules are not headers here: nginx takes them from the ``types`` block, and
rendering fails when a rule's type disagrees with its extension's type.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from sitegen.headers import (  # noqa: E402  (the header rules, the one source)
    HEADER_RULES,
    MIME_TYPES,
    NOT_FOUND_PAGES,
    REDIRECTS,
)

CONF_PATH = Path(__file__).resolve().parent / "nginx.conf"

# Extensions the site may serve that MIME_TYPES leaves to Python's mimetypes;
# the types Python 3.11's mimetypes gives, so nginx and `build.py serve` agree (a test
# checks it).
EXTRA_MIME_TYPES: dict[str, str] = {
    ".ico": "image/vnd.microsoft.icon",
    ".jpg": "image/jpeg",
    ".webp": "image/webp",
    ".woff2": "font/woff2",
}
# Compressed on the fly (text and wasm; png/zip/whl are already compressed).
GZIP_TYPES = (
    "application/javascript",
    "application/json",
    "application/manifest+json",
    "application/wasm",
    "application/xml",
    "image/svg+xml",
    "text/css",
    "text/javascript",
    "text/plain",
)
# Where Debian's libnginx-mod-http-brotli-static puts the module.
BROTLI_MODULE = "/usr/lib/nginx/modules/ngx_http_brotli_static_module.so"
_PATTERN_OK = re.compile(r"^/[A-Za-z0-9_.*/-]*$")
# Header values that hold only for a successful response, and what an error response (any
# status but 200, 206, 304) sends instead: nginx's add_header cannot tell a 404 from a 200 by
# path, and a browser keeps an "immutable" 404 for a year, after the file exists.
STATUS_BOUND: dict[str, dict[str, str]] = {
    "Cache-Control": {"public, max-age=31536000, immutable": "no-cache"},
}


@dataclass(frozen=True)
class NginxSite:
    """Where nginx serves from and writes to; the defaults are the container's."""

    root: str = "/usr/share/nginx/html"
    listen: str = "8080"
    tmp_dir: str = "/tmp"
    access_log: str = "/dev/stdout"
    error_log: str = "/dev/stderr"
    # Fixed, not "auto": "auto" counts the host's CPUs, not the pod's CPU limit.
    worker_processes: str = "2"
    # Only for a master started as root (the tests here): the user its workers run as.
    user: str | None = None
    # ngx_brotli's static module (Debian: libnginx-mod-http-brotli-static, BROTLI_MODULE):
    # loaded, it sends the build's name.br (a fifth smaller than name.gz). The container's
    # nginx:stable has no build of it, so its config sends the .gz.
    brotli_module: str | None = None


def pattern_regex(pattern: str) -> str:
    """Return the PCRE for a Netlify path pattern, matching exactly what ``header_for`` does."""
    if not _PATTERN_OK.match(pattern):
        raise ValueError(
            f"header pattern {pattern!r} has characters outside [A-Za-z0-9_.*/-]; "
            "nginx.conf cannot express it safely: use a plain path or '*' splats"
        )
    return "^" + pattern.replace(".", r"\.").replace("*", ".*") + "$"


def _quote(value: str, what: str) -> str:
    if any(c in value for c in '"\\$\n'):
        raise ValueError(
            f"{what} {value!r} contains a quote, backslash, '$' or newline, which nginx would "
            "interpret; rewrite the value without them"
        )
    return f'"{value}"'


def _split_mime(value: str) -> tuple[str, bool]:
    """Return (media type, has utf-8 charset) for a MIME_TYPES value."""
    media, _, params = value.partition(";")
    charset = params.strip().lower()
    if charset not in ("", "charset=utf-8"):
        raise ValueError(f"MIME type {value!r}: only 'charset=utf-8' is supported as a parameter")
    return media.strip(), bool(charset)


def mime_types() -> dict[str, str]:
    """Return extension (with dot) -> full Content-Type value nginx sends, build's first."""
    return {**EXTRA_MIME_TYPES, **MIME_TYPES}


def header_maps(
    rules: Sequence[tuple[str, Mapping[str, str]]] | None = None,
) -> dict[str, list[tuple[str, str]]]:
    """Return header name -> [(path regex, value), ...] in the order nginx must test them."""
    rules = HEADER_RULES if rules is None else rules
    maps: dict[str, list[tuple[str, str]]] = {}
    for pattern, values in reversed(rules):
        for name, value in values.items():
            maps.setdefault(name, []).append((pattern_regex(pattern), value))
    # Stable, readable order: headers by first appearance in the rules.
    order = [name for _, values in rules for name in values]
    return {name: maps[name] for name in sorted(maps, key=order.index)}


def check_content_types(
    rules: Sequence[tuple[str, Mapping[str, str]]] | None = None,
) -> None:
    """Raise ValueError when a Content-Type rule is not what the types block already sends."""
    rules = HEADER_RULES if rules is None else rules
    types = mime_types()
    for pattern, values in rules:
        if "Content-Type" not in values:
            continue
        ext = Path(pattern).suffix
        sent = types.get(ext)
        if sent is None:  # also when a '*' follows the last dot: the extension is unknown
            raise ValueError(
                f"Content-Type rule {pattern!r}: nginx sets types by extension; add {ext!r} "
                "to sitegen.headers.MIME_TYPES or use a '/*.ext' or '/file.ext' pattern"
            )
        if sent != values["Content-Type"]:
            raise ValueError(
                f"Content-Type rule {pattern!r} says {values['Content-Type']!r} but the types "
                f"block sends {sent!r} for {ext!r}; make sitegen.headers.MIME_TYPES agree"
            )


def _var(name: str) -> str:
    return "$vi_" + re.sub(r"[^a-z0-9]+", "_", name.lower())


def render_nginx_conf(site: NginxSite = NginxSite()) -> str:
    """Return the complete nginx.conf text for ``site``."""
    check_content_types()
    tmp = site.tmp_dir.rstrip("/") or "/"
    tmp = "" if tmp == "/" else tmp
    types: dict[str, list[str]] = {}
    charset_types: set[str] = set()
    for ext, value in sorted(mime_types().items()):
        media, utf8 = _split_mime(value)
        types.setdefault(media, []).append(ext.lstrip("."))
        if utf8 and media != "text/html":  # text/html always gets the charset
            charset_types.add(media)
    out: list[str] = [
        "# Generated by deploy/nginx_conf.py from sitegen/headers.py (header rules, MIME types).",
        "# Do not edit: change sitegen/headers.py, then run `python deploy/nginx_conf.py`;",
        "# `python deploy/nginx_conf.py --check` (run by the tests) fails when this file is stale.",
        "# Runs as any user: no `user` directive, every writable path under the temp dir.",
        *([f"user {site.user};"] if site.user else []),
        *([f"load_module {site.brotli_module};"] if site.brotli_module else []),
        f"worker_processes {site.worker_processes};",
        f"pid {tmp}/nginx.pid;",
        f"error_log {site.error_log} warn;",
        "",
        "events {",
        "    worker_connections 1024;",
        "}",
        "",
        "http {",
        "    types {",
    ]
    for media in sorted(types):
        out.append(f"        {media} {' '.join(sorted(types[media]))};")
    out += [
        "    }",
        "    default_type application/octet-stream;",
        "    charset utf-8;",
        f"    charset_types {' '.join(sorted(charset_types))};",
        "",
        f"    access_log {site.access_log};",
        "    sendfile on;",
        "    tcp_nopush on;",
        "    keepalive_timeout 65;",
        "    server_tokens off;",
        f"    client_body_temp_path {tmp}/nginx-client-body;",
        f"    proxy_temp_path {tmp}/nginx-proxy;",
        f"    fastcgi_temp_path {tmp}/nginx-fastcgi;",
        f"    uwsgi_temp_path {tmp}/nginx-uwsgi;",
        f"    scgi_temp_path {tmp}/nginx-scgi;",
        "",
        "    gzip on;",
        "    # name.gz beside name (made by the build, level 9): sent as is, no work per request",
        "    gzip_static on;",
        "    gzip_vary on;",
        "    gzip_comp_level 6;",
        "    gzip_min_length 1024;",
        "    gzip_proxied any;",
        f"    gzip_types {' '.join(t for t in GZIP_TYPES if t != 'text/html')};",
        *(
            [
                "    # name.br beside name (made by the build, quality 11), to a client that",
                "    # accepts br; else the .gz above",
                "    brotli_static on;",
            ]
            if site.brotli_module
            else [
                "    # name.br beside name (quality 11) needs ngx_brotli's static module, which",
                "    # the nginx:stable image lacks (render with --brotli-module to load it)",
            ]
        ),
        "",
        "    # The request path without its query string: Netlify matches header rules on it.",
        "    map $request_uri $vi_request_path {",
        '        "~^(?<vi_path>[^?]*)" $vi_path;',
        "    }",
    ]
    maps = header_maps()
    for name, entries in maps.items():
        if name == "Content-Type":
            continue
        # A rule for every path ("/*") is also the default: a request nginx refuses before it
        # has a path (414 URI too long, 400) still gets the header.
        default = next((value for regex, value in entries if regex == pattern_regex("/*")), "")
        status_bound = name in STATUS_BOUND
        var = _var(name) + ("_rule" if status_bound else "")
        out += [
            "",
            f"    # {name}: HEADER_RULES, last matching rule first.",
            f"    map $vi_request_path {var} {{",
            f"        default {_quote(default, name)};",
        ]
        for regex, value in entries:
            out.append(f'        "~{regex}" {_quote(value, name)};')
        out.append("    }")
        if status_bound:
            swap = STATUS_BOUND[name]
            error_var = _var(name) + "_error"
            out += [
                "",
                f"    # {name} of an error response: the rule's value, never a long cache.",
                f"    map $vi_request_path {error_var} {{",
                f"        default {_quote(swap.get(default, default), name)};",
            ]
            for regex, value in entries:
                out.append(f'        "~{regex}" {_quote(swap.get(value, value), name)};')
            out += [
                "    }",
                "",
                f"    # {name} by status: the rule's value only on a file (200, 206) or its",
                "    # revalidation (304); an error (a 404 before a hashed file exists) must not",
                "    # be cached for a year.",
                f"    map $status {_var(name)} {{",
                f"        default {error_var};",
                *(f"        {code} {var};" for code in ("200", "206", "304")),
                "    }",
            ]
    out += [
        "",
        "    server {",
        f"        listen {site.listen};",
        "        server_name _;",
        f"        root {site.root};",
        "        index index.html;",
        "        # Relative Location headers: correct behind any proxy or port mapping.",
        "        absolute_redirect off;",
        "",
        "        # Every header from HEADER_RULES; an empty value is not sent.",
        "        # Only here: an add_header inside a location would drop all of these.",
    ]
    for name in maps:
        if name != "Content-Type":
            out.append(f"        add_header {name} {_var(name)} always;")
    root_404 = dict(NOT_FOUND_PAGES)["/"]
    out += [
        "",
        f"        error_page 404 {root_404};",
        "        # A directory without index.html is not found (no listings), as on Netlify.",
        f"        error_page 403 =404 {root_404};",
        "",
        "        # Pretty URLs: /models/<slug>/ serves models/<slug>/index.html (index); a",
        "        # directory asked for without its slash gets a 301 to the slash form.",
        "        location / {",
        "            try_files $uri $uri/ =404;",
        "        }",
    ]
    for prefix, page in NOT_FOUND_PAGES:
        if prefix == "/":
            continue
        out += [
            "",
            f"        # A missing page under {prefix} gets that language's 404 page (an",
            "        # error_page here replaces the server's, so 403 is restated too).",
            f"        location {prefix} {{",
            f"            error_page 404 {page};",
            f"            error_page 403 =404 {page};",
            "            try_files $uri $uri/ =404;",
            "        }",
        ]
    for src, dst, status in REDIRECTS:
        out.append("")
        out.append(f"        location = {src} {{")
        if status == 200:
            out.append(f"            rewrite ^ {dst} last;  # a rewrite, as Netlify's status 200")
        else:
            out.append(f"            return {status} {dst};")
        out.append("        }")
    out += ["    }", "}", ""]
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    defaults = NginxSite()
    parser.add_argument("--check", action="store_true", help="compare with the committed file")
    parser.add_argument("--root", default=defaults.root, help="directory holding the built site")
    parser.add_argument(
        "--listen", default=defaults.listen, help="[host:]port, e.g. 127.0.0.1:8081"
    )
    parser.add_argument("--tmp", default=defaults.tmp_dir, help="pid file and temp directories")
    parser.add_argument("--access-log", default=defaults.access_log)
    parser.add_argument("--error-log", default=defaults.error_log)
    parser.add_argument(
        "--brotli-module",
        nargs="?",
        const=BROTLI_MODULE,
        default=None,
        help=f"load ngx_brotli's static module (default path: {BROTLI_MODULE}) to send name.br",
    )
    parser.add_argument("-o", "--output", type=Path, default=CONF_PATH)
    args = parser.parse_args(argv)
    site = NginxSite(
        root=str(args.root),
        listen=args.listen,
        tmp_dir=str(args.tmp),
        access_log=args.access_log,
        error_log=args.error_log,
        brotli_module=args.brotli_module,
    )
    text = render_nginx_conf(site)
    if args.check:
        current = args.output.read_text() if args.output.exists() else ""
        if current != text:
            print(f"{args.output} is stale: run `python deploy/nginx_conf.py`", file=sys.stderr)
            return 1
        print(f"{args.output} is current")
        return 0
    args.output.write_text(text)
    print(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
