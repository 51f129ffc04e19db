"""The development server (`build.py serve`): public/ with the deploy headers."""

from __future__ import annotations

import http.server
import io
import os
import socketserver
from pathlib import Path
from typing import Any, ClassVar

from sitegen.config import PUBLIC
from sitegen.headers import MIME_TYPES, REDIRECTS, header_for, not_found_page


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
            return super().send_head()

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
