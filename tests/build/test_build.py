"""The full build into a temporary directory: every page exists, every link and asset
resolves, HTML nests properly, pages stay small, two builds are byte-identical, nothing
points at another host, and the machine-readable files are valid."""

from __future__ import annotations

import base64
import hashlib
import json
import re
import zipfile
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from engine.api import call
from sitegen.assets import pyodide_version
from sitegen.config import PAGE_LIMIT_BYTES, PYODIDE_FILES, ROOT, SITE_URL

VOID = {
    "area",
    "base",
    "br",
    "col",
    "embed",
    "hr",
    "img",
    "input",
    "link",
    "meta",
    "source",
    "track",
    "wbr",
}


class PageParser(HTMLParser):
    """Collects links and checks that every element is closed in order."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.errors: list[str] = []
        self.refs: list[tuple[str, str, str]] = []  # (tag, attribute, url)
        self.data_bytes: list[str] = []
        self.ids: list[str] = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        for attr in ("href", "src"):
            if a.get(attr) is not None:
                self.refs.append((tag, attr, a[attr]))
        if "data-bytes" in a:
            self.data_bytes.append(a["data-bytes"])
        if "id" in a:
            self.ids.append(a["id"])
        if tag not in VOID:
            self.stack.append(tag)

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)
        if tag not in VOID:
            self.stack.pop()

    def handle_endtag(self, tag):
        if tag in VOID:
            return
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"</{tag}> closes <{self.stack[-1] if self.stack else None}>")
            if tag in self.stack:
                while self.stack.pop() != tag:
                    pass
        else:
            self.stack.pop()


def parse(path: Path) -> PageParser:
    parser = PageParser()
    parser.feed(path.read_text(encoding="utf-8"))
    parser.close()
    return parser


def html_pages(site: Path) -> list[Path]:
    return sorted(site.rglob("*.html"))


def resolve(site: Path, url: str) -> Path | None:
    """Map a site-absolute URL to the file that serves it (None for external/anchors)."""
    parts = urlsplit(url)
    if parts.scheme or parts.netloc or not parts.path:
        return None
    path = parts.path
    if path == "/api/health":
        path = "/api/health.json"
    target = site / path.lstrip("/")
    return target / "index.html" if path.endswith("/") else target


def test_every_catalog_model_and_gpu_has_a_page(site_dir):
    for model in call("models"):
        assert (site_dir / "models" / model["slug"] / "index.html").is_file()
    for gpu in call("gpus"):
        assert (site_dir / "gpus" / gpu["slug"] / "index.html").is_file()
    for path in (
        "index.html",
        "models/index.html",
        "gpus/index.html",
        "methodology/index.html",
        "accuracy/index.html",
        "404.html",
        "offline.html",
        "sitemap.xml",
        "robots.txt",
        "manifest.webmanifest",
        "api/health.json",
        "version.json",
        "sw.js",
    ):
        assert (site_dir / path).is_file(), path


def test_html_parses_and_nests(site_dir):
    for page in html_pages(site_dir):
        parser = parse(page)
        assert parser.errors == [], f"{page}: {parser.errors[:3]}"
        assert parser.stack == [], f"{page}: unclosed {parser.stack}"
        assert len(parser.ids) == len(set(parser.ids)), f"{page}: duplicate ids"


def test_every_internal_link_and_asset_resolves(site_dir):
    checked = 0
    for page in html_pages(site_dir):
        for tag, attr, url in parse(page).refs:
            if url.startswith(("mailto:", "#")):
                continue
            target = resolve(site_dir, url)
            if target is None:
                canonical = tag == "link" and url.startswith(SITE_URL + "/")
                assert tag == "a" or canonical, f"{page}: <{tag} {attr}={url}> loads from elsewhere"
                continue
            assert target.is_file(), f"{page}: {url} -> {target} missing"
            checked += 1
    assert checked > 1000


def test_no_external_scripts_styles_or_runtime_urls(site_dir):
    for page in html_pages(site_dir):
        for tag, _, url in parse(page).refs:
            if tag == "link" and url.startswith(SITE_URL + "/"):
                continue  # rel=canonical names the public URL; nothing is loaded from it
            if tag in ("script", "link", "img", "iframe", "source"):
                assert url.startswith("/"), f"{page}: {tag} loads {url}"
    # The one host a page may reach: the Hub, for a lookup the user asks for (HF_ENDPOINT).
    hub = re.compile(r'^export const HUB_ENDPOINT = "https?://[^"]+";$', re.M)
    for js in sorted((site_dir / "assets").glob("*.js")):
        text = js.read_text(encoding="utf-8")
        if js.name.startswith("config."):
            text, found = hub.subn("", text)
            assert found == 1, js.name
        if js.name.startswith("messages-"):
            # a translation catalog: prose (GPU notes cite their sources), never loaded as a URL
            assert "import " not in text and "fetch(" not in text, js.name
            continue
        assert "http://" not in text and "https://" not in text, js.name
        assert "jsdelivr" not in text, js.name


def test_data_bytes_are_exact_integers(site_dir):
    for page in html_pages(site_dir):
        for value in parse(page).data_bytes:
            assert value.isdigit(), f"{page}: data-bytes={value!r}"


def test_home_total_is_the_engine_answer(site_dir):
    html = (site_dir / "index.html").read_text(encoding="utf-8")
    state = json.loads(html.split('id="initial-state">', 1)[1].split("</script>", 1)[0])
    expected = call("infer", state["request"])["total_bytes"]
    assert f'data-bytes="{expected}" data-role="total"' in html


def test_pages_are_small(site_dir):
    for page in html_pages(site_dir):
        assert page.stat().st_size <= PAGE_LIMIT_BYTES, page


def test_health_and_version(site_dir):
    health = json.loads((site_dir / "api" / "health.json").read_text(encoding="utf-8"))
    version = call("version")
    assert health["status"] == "ok"
    assert health["engine_version"] == version["engine_version"]
    assert health["protocol"] == version["protocol"]
    assert health["build_time"] == "2026-01-01T00:00:00Z"  # SOURCE_DATE_EPOCH in conftest
    info = json.loads((site_dir / "version.json").read_text(encoding="utf-8"))
    assert info["version"] == health["version"]
    assert info["pyodide_version"] == pyodide_version()


def test_service_worker_is_filled_in_and_precaches_real_files(site_dir):
    sw = (site_dir / "sw.js").read_text(encoding="utf-8")
    assert "__" not in sw.replace("__proto__", "")
    precache = json.loads(sw.split("const PRECACHE = ", 1)[1].split(";\n", 1)[0])
    assert "/" in precache and "/offline.html" in precache
    for url in precache:
        assert resolve(site_dir, url).is_file(), url
    config = next((site_dir / "assets").glob("config.*.js")).read_text(encoding="utf-8")
    # the stdlib the worker loads: the empty zip a snapshot is restored with, else the full one
    stdlib = config.split('SNAPSHOT_STDLIB_URL = "', 1)[1].split('"', 1)[0]
    stdlib = stdlib or config.split(' STDLIB_URL = "', 1)[1].split('"', 1)[0]
    assert stdlib in precache
    # the runtime's directory: the Pyodide version (and the trimmed wasm's hash, see
    # sitegen/pyodide_trim.py)
    (runtime,) = {u.split("/")[2] for u in precache if u.startswith("/pyodide/")}
    assert runtime.split("-")[0] == pyodide_version()
    # the wasm a start needs offline: the lean one where the build made one (the full wasm,
    # like the full stdlib, is a fallback fetched on demand)
    lean = config.split('LEAN_WASM_URL = "', 1)[1].split('"', 1)[0]
    for name in PYODIDE_FILES:
        if name == "pyodide.asm.wasm" and lean:
            assert lean in precache and f"/pyodide/{runtime}/{name}" not in precache
        elif name != "python_stdlib.zip":
            assert f"/pyodide/{runtime}/{name}" in precache
    assert any(u.startswith("/wheels/") for u in precache)


def test_manifest_is_installable(site_dir):
    manifest = json.loads((site_dir / "manifest.webmanifest").read_text(encoding="utf-8"))
    assert manifest["display"] == "standalone" and manifest["start_url"] == "/"
    sizes = {(i["sizes"], i["purpose"]) for i in manifest["icons"]}
    assert {
        ("192x192", "any"),
        ("512x512", "any"),
        ("192x192", "maskable"),
        ("512x512", "maskable"),
    } <= sizes
    for icon in manifest["icons"]:
        data = resolve(site_dir, icon["src"]).read_bytes()
        if icon["type"] == "image/png":
            assert data[:8] == b"\x89PNG\r\n\x1a\n"
            width = int.from_bytes(data[16:20], "big")
            assert f"{width}x{width}" == icon["sizes"]


def test_sitemap_lists_every_page(site_dir):
    sitemap = (site_dir / "sitemap.xml").read_text(encoding="utf-8")
    for model in call("models"):
        assert f"/models/{model['slug']}/</loc>" in sitemap


def test_wheel_is_a_valid_py3_wheel_of_the_engine(site_dir):
    (wheel,) = sorted((site_dir / "wheels").rglob("*.whl"))
    assert wheel.name == f"vram_insight-{call('version')['engine_version']}-py3-none-any.whl"
    # the directory name is the content hash of the file
    assert wheel.parent.name == hashlib.sha256(wheel.read_bytes()).hexdigest()[:10]
    with zipfile.ZipFile(wheel) as zf:
        names = zf.namelist()
        payload = [n for n in names if ".dist-info/" not in n]
        assert payload == sorted(payload)
        assert "engine/api.py" in names and "engine/__init__.py" in names
        dist = next(n.split("/")[0] for n in names if n.endswith(".dist-info/WHEEL"))
        assert "Tag: py3-none-any" in zf.read(f"{dist}/WHEEL").decode()
        record = zf.read(f"{dist}/RECORD").decode().splitlines()
        for line in record:
            name, digest, size = line.rsplit(",", 2)
            if name.endswith("RECORD"):
                continue
            blob = zf.read(name)
            expected = base64.urlsafe_b64encode(hashlib.sha256(blob).digest()).rstrip(b"=")
            assert digest == f"sha256={expected.decode()}" and int(size) == len(blob), name
        engine_files = {
            p.relative_to(ROOT).as_posix()
            for p in (ROOT / "engine").rglob("*.py")
            if "__pycache__" not in p.parts
        }
        assert engine_files <= set(names)
        assert all(i.date_time == (1980, 1, 1, 0, 0, 0) for i in zf.infolist())


def test_model_page_shows_engine_numbers(site_dir):
    html = (site_dir / "models" / "llama-3.1-8b" / "index.html").read_text(encoding="utf-8")
    for context in (4096, 32768):
        total = call(
            "infer",
            {
                "model": "llama-3.1-8b",
                "weights": "q4_k_m",
                "context": context,
                "batch": 1,
                "runtime": "llamacpp",
            },
        )["total_bytes"]
        assert f'data-bytes="{total}"' in html
    kv = call("infer", {"model": "llama-3.1-8b", "context": 1024})["components"]["kv_cache"]
    # Llama-3.1-8B: 32 layers x 8 KV heads x 128 x 2 (K and V) x 2 bytes = 128 KiB/token
    assert kv == 1024 * 32 * 8 * 128 * 2 * 2
    assert f'data-bytes="{kv}"' in html


@pytest.mark.slow
def test_two_builds_are_byte_identical(site_dir, tmp_path, build_site):
    again = build_site(tmp_path / "public")
    first = {p.relative_to(site_dir): p for p in site_dir.rglob("*") if p.is_file()}
    second = {p.relative_to(again): p for p in again.rglob("*") if p.is_file()}
    assert sorted(first) == sorted(second)
    different = [str(k) for k in sorted(first) if first[k].read_bytes() != second[k].read_bytes()]
    assert different == []
