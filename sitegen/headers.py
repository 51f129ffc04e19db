"""HTTP headers, redirects and MIME types.

One source for netlify.toml, `build.py serve`, deploy/nginx.conf and the tests.
"""

from __future__ import annotations

import os
import re
from urllib.parse import urlsplit

from engine.hub.plan import download_hosts
from engine.hub.ref import DEFAULT_ENDPOINT
from sitegen.config import ROOT
from sitegen.i18n import LANGUAGES

# The production build everywhere (netlify.toml, Dockerfile, README): locked packages only.
BUILD_COMMAND = (
    "pip install --require-hashes -r requirements/site.lock && npm ci && python build.py --strict"
)



def hub_endpoint() -> str:
    """The Hub the site's lookups go to: ``HF_ENDPOINT`` at build time, as huggingface_hub
    reads it (a mirror), else https://huggingface.co."""
    return (os.environ.get("HF_ENDPOINT") or DEFAULT_ENDPOINT).rstrip("/")


def hub_connect_sources(endpoint: str) -> tuple[str, ...]:
    """What ``connect-src`` names for Hub lookups: the endpoint and the hosts its file
    downloads redirect to (engine.hub.plan.download_hosts: for huggingface.co its CDN
    domains *.huggingface.co and *.hf.co, which hold cdn-lfs.huggingface.co,
    cdn-lfs-us-1.hf.co, cas-bridge.xethub.hf.co and the regional Xet hosts such as
    us.aws.cdn.hf.co; a list of exact hosts would go stale as Hugging Face adds them). A
    mirror at a host with a port also redirects within that host (redirect_allowed: any
    port), so that host is named with any port."""
    hosts = list(download_hosts(endpoint))
    ep = urlsplit(endpoint)
    if ep.port is not None and ep.hostname not in ("huggingface.co", "hf.co"):
        hosts.append(f"{ep.scheme}://{ep.hostname}:*")
    return tuple(hosts)


def make_csp(endpoint: str) -> str:
    """The Content-Security-Policy of a site whose Hub lookups go to ``endpoint``."""
    return "; ".join(
        (
            "default-src 'self'",
            "script-src 'self' 'wasm-unsafe-eval'",
            "worker-src 'self'",
            "style-src 'self'",
            "img-src 'self' data:",
            "font-src 'self'",
            "connect-src " + " ".join(("'self'", *hub_connect_sources(endpoint))),
            "manifest-src 'self'",
            "object-src 'none'",
            "base-uri 'self'",
            "form-action 'self'",
            "frame-ancestors 'none'",
        )
    )


CSP = make_csp(hub_endpoint())
SECURITY_HEADERS: dict[str, str] = {
    "Content-Security-Policy": CSP,
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=(), interest-cohort=()",
    "Referrer-Policy": "strict-origin-when-cross-origin",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
}
IMMUTABLE = "public, max-age=31536000, immutable"
NO_CACHE = "no-cache"
# (path pattern in Netlify syntax, headers) -- first match wins in `header_for`.
HEADER_RULES: tuple[tuple[str, dict[str, str]], ...] = (
    ("/*", SECURITY_HEADERS),
    ("/assets/*", {"Cache-Control": IMMUTABLE}),
    ("/wheels/*", {"Cache-Control": IMMUTABLE}),
    ("/pyodide/*", {"Cache-Control": IMMUTABLE}),
    ("/*.wasm", {"Content-Type": "application/wasm"}),
    ("/sw.js", {"Cache-Control": NO_CACHE, "Service-Worker-Allowed": "/"}),
    ("/*.html", {"Cache-Control": NO_CACHE}),
    ("/", {"Cache-Control": NO_CACHE}),
    # page sections hold only HTML (Netlify reads "/*/" as "/*", so name each section)
    ("/accuracy/*", {"Cache-Control": NO_CACHE}),
    ("/gpus/*", {"Cache-Control": NO_CACHE}),
    ("/methodology/*", {"Cache-Control": NO_CACHE}),
    ("/models/*", {"Cache-Control": NO_CACHE}),
    ("/zh/*", {"Cache-Control": NO_CACHE}),  # the Simplified Chinese twin of every page
    ("/version.json", {"Cache-Control": NO_CACHE}),
    ("/api/*", {"Cache-Control": NO_CACHE, "Access-Control-Allow-Origin": "*"}),
    ("/manifest.webmanifest", {"Content-Type": "application/manifest+json"}),
)
REDIRECTS: tuple[tuple[str, str, int], ...] = (("/api/health", "/api/health.json", 200),)
# The 404 page of each language, by URL prefix, longest first: a missing /zh/… page gets the
# Chinese one. Netlify: a 404 rule per prefix (the root's 404.html is its default); nginx:
# a location per prefix; `build.py serve`: ``not_found_page``.
NOT_FOUND_PAGES: tuple[tuple[str, str], ...] = tuple(
    sorted(
        ((f"{prefix}/", f"{prefix}/404.html") for _, _, prefix in LANGUAGES),
        key=lambda row: -len(row[0]),
    )
)
MIME_TYPES: dict[str, str] = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".mjs": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".json": "application/json",
    ".webmanifest": "application/manifest+json",
    ".wasm": "application/wasm",
    ".zip": "application/zip",
    ".gz": "application/gzip",
    ".br": "application/octet-stream",  # a precompressed copy (brotli_static sends it)
    ".bin": "application/octet-stream",  # the start-up snapshot (sitegen/snapshot.py)
    ".whl": "application/zip",
    ".png": "image/png",
    ".svg": "image/svg+xml",
    ".xml": "application/xml",
    ".txt": "text/plain; charset=utf-8",
}


def header_for(url_path: str) -> dict[str, str]:
    """Return the response headers for a path (HEADER_RULES, later rules add/override)."""
    headers: dict[str, str] = {}
    for pattern, values in HEADER_RULES:
        regex = "^" + re.escape(pattern).replace(r"\*", ".*") + "$"
        if re.match(regex, url_path):
            headers.update(values)
    return headers


def not_found_page(url_path: str) -> str:
    """Return the 404 page for a missing ``url_path``: its language's (NOT_FOUND_PAGES)."""
    return next(page for prefix, page in NOT_FOUND_PAGES if url_path.startswith(prefix))


def render_netlify_toml() -> str:
    """Return netlify.toml (checked in; `build.py` verifies it is current)."""
    lines = [
        "# Generated from sitegen/headers.py and .python-version (python build.py netlify-toml).",
        "[build]",
        f'  command = "{BUILD_COMMAND}"',
        '  publish = "public"',
        "",
        "[build.environment]",
        f'  PYTHON_VERSION = "{(ROOT / ".python-version").read_text().strip()}"',
        '  NODE_VERSION = "20"',
        "",
    ]
    for src, dst, status in REDIRECTS:
        lines += [
            "[[redirects]]",
            f'  from = "{src}"',
            f'  to = "{dst}"',
            f"  status = {status}",
            "",
        ]
    # Not forced: Netlify applies these only where no file matches, so real pages win.
    for prefix, page in NOT_FOUND_PAGES:
        if prefix != "/":  # the root 404.html is Netlify's own default
            lines += [
                "[[redirects]]",
                f'  from = "{prefix}*"',
                f'  to = "{page}"',
                "  status = 404",
                "",
            ]
    for pattern, values in HEADER_RULES:
        lines += ["[[headers]]", f'  for = "{pattern}"', "  [headers.values]"]
        lines += [f'    {k} = "{v}"' for k, v in values.items()]
        lines.append("")
    return "\n".join(lines)
