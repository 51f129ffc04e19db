"""A missing page gets the 404 page of its language, with status 404, from every server the
project ships: `build.py serve` (here), nginx (tests/deploy/test_nginx.py) and Netlify
(the 404 rule netlify.toml carries, checked here as Netlify reads it)."""

from __future__ import annotations

import http.client
import threading
import tomllib
from collections.abc import Iterator

import pytest

from sitegen.config import ROOT
from sitegen.headers import CSP, NOT_FOUND_PAGES, not_found_page
from sitegen.serve import ThreadingServer, make_handler

ZH_MISSING = ("/zh/no/such/page/", "/zh/models/no-such-model/", "/zh/x.wasm", "/zh/assets/")


def test_each_language_has_its_404_page_longest_prefix_first(site_dir):
    assert NOT_FOUND_PAGES == (("/zh/", "/zh/404.html"), ("/", "/404.html"))
    assert not_found_page("/zh/models/x/") == "/zh/404.html"
    assert not_found_page("/models/x/") == "/404.html"
    assert not_found_page("/zhx/") == "/404.html"  # a prefix is a whole segment
    for _, page in NOT_FOUND_PAGES:
        assert (site_dir / page.lstrip("/")).is_file(), page
    zh = (site_dir / "zh/404.html").read_text(encoding="utf-8")
    assert zh.startswith('<!doctype html>\n<html lang="zh-CN"') and "<h1>页面不存在</h1>" in zh


def test_netlify_serves_the_chinese_404_under_zh():
    """Netlify serves /404.html for any missing path by itself; other languages need a rule.
    It must not be forced (so it applies only where no file matches) and must come after
    the rewrites, since Netlify uses the first rule that matches."""
    redirects = tomllib.loads((ROOT / "netlify.toml").read_text())["redirects"]
    rules = {r["from"]: r for r in redirects}
    assert rules["/zh/*"] == {"from": "/zh/*", "to": "/zh/404.html", "status": 404}
    assert "force" not in rules["/zh/*"]
    assert [r["from"] for r in redirects][-1] == "/zh/*"


@pytest.fixture(scope="module")
def dev_server(site_dir) -> Iterator[tuple[str, int]]:
    httpd = ThreadingServer(("127.0.0.1", 0), make_handler(site_dir))
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield "127.0.0.1", httpd.server_address[1]
    finally:
        httpd.shutdown()
        httpd.server_close()


def get(server: tuple[str, int], path: str) -> tuple[int, dict[str, str], bytes]:
    conn = http.client.HTTPConnection(*server, timeout=10)
    try:
        conn.request("GET", path)
        reply = conn.getresponse()
        return reply.status, dict(reply.getheaders()), reply.read()
    finally:
        conn.close()


def test_dev_server_answers_missing_zh_pages_with_the_chinese_404(dev_server, site_dir):
    zh_404 = (site_dir / "zh/404.html").read_bytes()
    for path in ZH_MISSING:
        status, headers, body = get(dev_server, path)
        assert (status, body) == (404, zh_404), path
        assert headers["Content-Type"] == "text/html; charset=utf-8"
        assert headers["Content-Security-Policy"] == CSP
    status, _, body = get(dev_server, "/no/such/page/?q=1")
    assert (status, body) == (404, (site_dir / "404.html").read_bytes())
    status, _, body = get(dev_server, "/zh/models/")  # a real page is never the 404
    assert (status, body) == (200, (site_dir / "zh/models/index.html").read_bytes())
