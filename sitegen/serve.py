"""The development server (`build.py serve`): public/ with the deploy headers, and the
build's precompressed ``name.br``/``name.gz`` sent for ``name`` as nginx's brotli_static and
gzip_static do (the 31 MB start-up snapshot would otherwise go out raw)."""

from __future__ import annotations

import email.utils
import http.server
import io
import os
import socketserver
from pathlib import Path
from typing import Any, ClassVar

from sitegen.config import PUBLIC
from sitegen.headers import MIME_TYPES, REDIRECTS, header_for, not_found_page

# Precompressed files beside a file, in the order a server prefers them.
ENCODINGS = (("br", ".br"), ("gzip", ".gz"))


def accepted(header: str) -> set[str]:
    """The codings an Accept-Encoding header allows (a ``q=0`` one is refused)."""
    out = set()
    for part in header.split(","):
        name, _, params = part.strip().partition(";")
        if name and params.replace(" ", "") not in ("q=0", "q=0.0", "q=0.00", "q=0.000"):
            out.add(name.strip().lower())
    return out


def precompressed_file(target: Path, accept_encoding: str) -> tuple[Path, str] | None:
    """The ``.br`` or ``.gz`` beside ``target`` that the client accepts, and its coding."""
    codings = accepted(accept_encoding)
    for coding, suffix in ENCODINGS:
        candidate = target.with_name(target.name + suffix)
        if coding in codings and target.is_file() and candidate.is_file():
            return candidate, coding
    return None


def last_modified(path: Path) -> str:
    """A file's Last-Modified header value (what a revalidation sends back)."""
    return email.utils.formatdate(path.stat().st_mtime, usegmt=True)


def not_modified(handler: http.server.BaseHTTPRequestHandler, stamp: str) -> bool:
    """As nginx: a revalidation of an unchanged file (the service worker's precache asks with
    cache "no-cache") gets 304 and no body. Sent here when it is one."""
    if handler.headers.get("If-Modified-Since") != stamp:
        return False
    handler.send_response(304)
    handler.send_header("Vary", "Accept-Encoding")
    handler.end_headers()
    return True


def make_handler(root: Path) -> type[http.server.SimpleHTTPRequestHandler]:
    """Return a request handler serving ``root`` with the production headers and MIME types."""

    class Handler(http.server.SimpleHTTPRequestHandler):
        extensions_map: ClassVar[dict[str, str]] = {
            **http.server.SimpleHTTPRequestHandler.extensions_map,
            **MIME_TYPES,
        }

        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, directory=str(root), **kwargs)

        def translate_path(self, path: str) -> str:
            bare = path.split("?", 1)[0].split("#", 1)[0]
            for src, dst, _ in REDIRECTS:
                if bare == src:
                    path = dst
            return super().translate_path(path)

        def send_head(self) -> Any:
            target = Path(self.translate_path(self.path))
            if not target.exists() or (target.is_dir() and not (target / "index.html").exists()):
                page = root / not_found_page(self.path.split("?", 1)[0]).lstrip("/")
                body = page.read_bytes() if page.is_file() else b"not found"
                self.send_response(404)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                return io.BytesIO(body)
            found = precompressed_file(target, self.headers.get("Accept-Encoding", ""))
            if found is None:
                return super().send_head()
            path, coding = found
            stamp = last_modified(path)
            if not_modified(self, stamp):
                return None
            body = path.read_bytes()
            self.send_response(200)
            self.send_header("Content-Type", self.guess_type(str(target)))
            self.send_header("Content-Encoding", coding)
            self.send_header("Vary", "Accept-Encoding")
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Last-Modified", stamp)
            self.end_headers()
            return io.BytesIO(body)

        def end_headers(self) -> None:
            url_path = self.path.split("?", 1)[0]
            for key, value in header_for(url_path).items():
                if key != "Content-Type":
                    self.send_header(key, value)
            super().end_headers()

        def log_message(self, format: str, *args: Any) -> None:  # quiet
            if os.environ.get("SERVE_LOG"):
                super().log_message(format, *args)

    return Handler


class ThreadingServer(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True


def serve(root: Path = PUBLIC, host: str = "127.0.0.1", port: int = 8000) -> None:
    server = ThreadingServer((host, port), make_handler(root))
    print(f"serving {root} on http://{host}:{port}/ (Ctrl-C to stop)", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
