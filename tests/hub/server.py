"""A local server that speaks the Hugging Face Hub's protocol, for the CLI and browser tests.

Two HTTP servers on 127.0.0.1: the Hub (``endpoint``) and a "CDN" on a second port, where
``/resolve/`` of an LFS file (``.safetensors``, ``.gguf``) redirects (302), as
huggingface.co redirects to cdn-lfs / cas-bridge hosts. The Hub serves

- ``GET /api/models/{repo}[/revision/{rev}]`` with ``sha``, ``gated``, ``siblings``
  (``rfilename``, ``size``, ``lfs``), the ``safetensors`` summary (parameters by dtype,
  total) and the ``gguf`` summary (total, architecture, context_length);
- ``GET|HEAD /{repo}/resolve/{rev}/{path}`` with ``Range`` (206 and ``Content-Range``),
  ``ETag``, ``X-Repo-Commit``, ``X-Linked-Size``/``X-Linked-Etag`` on redirects;
- errors as the Hub words them: 401 + ``X-Error-Code: RepoNotFound`` for an unknown repo
  without a token (404 with one), 401 ``GatedRepo`` for a gated repo without a token, 403
  with a token that has no access, 404 ``RevisionNotFound`` / ``EntryNotFound``, 429 with
  ``Retry-After``;
- CORS as huggingface.co sends it: ``Access-Control-Allow-Origin``, exposed
  ``Content-Range``/``ETag``/``X-Repo-Commit``/…, and preflight for ``Range`` and
  ``Authorization``.

``requests`` records every request (method, path, headers) for tests to inspect.
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote, urlsplit

GOOD_TOKEN = "hf_fixture_good_token"
NO_ACCESS_TOKEN = "hf_fixture_no_access"
LFS_SUFFIXES = (".safetensors", ".gguf", ".bin")
EXPOSE = "Content-Range, Content-Length, ETag, X-Repo-Commit, X-Error-Code, X-Error-Message, X-Linked-Size, X-Linked-Etag, Accept-Ranges, Location"  # noqa: E501


@dataclass
class Repo:
    """One model repo: files on disk by repo path, and how the Hub guards it."""

    files: dict[str, Path] = field(default_factory=dict)
    gated: bool = False
    rate_limited: bool = False
    redirect_to: str | None = None  # LFS downloads redirect here instead of the CDN
    info: dict[str, Any] = field(default_factory=dict)  # extra model-info fields
    tags: tuple[str, ...] = ("v1.0",)

    @property
    def sha(self) -> str:
        h = hashlib.sha1()
        for p in sorted(self.files):
            h.update(p.encode() + str(self.files[p].stat().st_size).encode())
        return h.hexdigest()


def _etag(path: Path) -> str:
    st = path.stat()
    return hashlib.sha256(f"{path}:{st.st_size}:{st.st_mtime_ns}".encode()).hexdigest()


class HubFixture:
    """The two servers and the repos they serve; ``endpoint`` is the Hub's base URL."""

    def __init__(self) -> None:
        self.repos: dict[str, Repo] = {}
        self.requests: list[dict[str, Any]] = []
        self.skipped: dict[str, str] = {}  # catalog slugs the engine could not load: why
        self._blobs: dict[str, Path] = {}
        self.hub = ThreadingHTTPServer(("127.0.0.1", 0), self._handler(cdn=False))
        self.cdn = ThreadingHTTPServer(("127.0.0.1", 0), self._handler(cdn=True))
        self._threads = [
            threading.Thread(target=s.serve_forever, daemon=True) for s in (self.hub, self.cdn)
        ]

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.hub.server_address[1]}"

    @property
    def cdn_origin(self) -> str:
        return f"http://127.0.0.1:{self.cdn.server_address[1]}"

    @property
    def foreign_origin(self) -> str:
        """The CDN under another host name: a redirect there is not to the Hub's host."""
        return f"http://localhost:{self.cdn.server_address[1]}"

    def start(self) -> HubFixture:
        for t in self._threads:
            t.start()
        return self

    def stop(self) -> None:
        for s in (self.hub, self.cdn):
            s.shutdown()
            s.server_close()

    def add(self, repo_id: str, repo: Repo) -> Repo:
        self.repos[repo_id] = repo
        for f in repo.files.values():
            self._blobs[_etag(f)] = f
        return repo

    # -- model info --------------------------------------------------------------
    def model_info(self, repo_id: str, repo: Repo) -> dict[str, Any]:
        sha = repo.sha
        siblings = []
        for p, f in sorted(repo.files.items()):
            row: dict[str, Any] = {"rfilename": p, "size": f.stat().st_size}
            if p.endswith(LFS_SUFFIXES):
                row["lfs"] = {"sha256": _etag(f), "size": f.stat().st_size, "pointerSize": 134}
            siblings.append(row)
        return {
            "_id": hashlib.md5(repo_id.encode()).hexdigest()[:24],
            "id": repo_id,
            "modelId": repo_id,
            "author": repo_id.split("/")[0],
            "sha": sha,
            "private": False,
            "gated": "manual" if repo.gated else False,
            "disabled": False,
            "downloads": 0,
            "likes": 0,
            "tags": [],
            "library_name": "transformers",
            "pipeline_tag": "text-generation",
            "createdAt": "2026-01-01T00:00:00.000Z",
            "lastModified": "2026-01-01T00:00:00.000Z",
            "siblings": siblings,
            **repo.info,
        }

    # -- HTTP --------------------------------------------------------------------
    def _handler(self, *, cdn: bool) -> type[BaseHTTPRequestHandler]:
        fixture = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def _cors(self) -> None:
                origin = self.headers.get("Origin")
                self.send_header("Access-Control-Allow-Origin", origin or "*")
                self.send_header("Access-Control-Expose-Headers", EXPOSE)
                self.send_header("Vary", "Origin")

            def _send(self, status: int, body: bytes = b"", headers: dict | None = None) -> None:
                self.send_response(status)
                self._cors()
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(body)

            def _error(self, status: int, code: str, message: str, extra: dict | None = None):
                body = json.dumps({"error": message}).encode()
                headers = {
                    "Content-Type": "application/json",
                    "X-Error-Code": code,
                    "X-Error-Message": message,
                    **(extra or {}),
                }
                self._send(status, body, headers)

            def do_OPTIONS(self) -> None:  # CORS preflight (Range, Authorization)
                fixture.requests.append(
                    {
                        "method": "OPTIONS",
                        "path": self.path,
                        "cdn": cdn,
                        "headers": dict(self.headers),
                    }
                )
                self.send_response(204)
                self._cors()
                self.send_header("Access-Control-Allow-Methods", "GET, HEAD, OPTIONS")
                self.send_header(
                    "Access-Control-Allow-Headers",
                    self.headers.get("Access-Control-Request-Headers") or "Range, Authorization",
                )
                self.send_header("Access-Control-Max-Age", "86400")
                self.send_header("Content-Length", "0")
                self.end_headers()

            def do_HEAD(self) -> None:
                self.do_GET()

            def do_GET(self) -> None:
                fixture.requests.append(
                    {
                        "method": self.command,
                        "path": self.path,
                        "cdn": cdn,
                        "headers": dict(self.headers),
                    }
                )
                path = unquote(urlsplit(self.path).path)
                if cdn:
                    return self._cdn(path)
                if path.startswith("/api/models/"):
                    return self._api(path.removeprefix("/api/models/"))
                m = re.match(r"^/([^/]+/[^/]+)/resolve/([^/]+)/(.+)$", path)
                if m:
                    return self._resolve(m[1], m[2], m[3])
                return self._error(404, "EntryNotFound", "Not found")

            def _auth(self, repo_id: str, repo: Repo | None) -> bool:
                """Send the Hub's error for a repo the request may not see; True if sent."""
                auth = self.headers.get("Authorization", "")
                token = auth.removeprefix("Bearer ").strip() if auth.startswith("Bearer ") else ""
                if repo is None:
                    status = 404 if token else 401
                    self._error(status, "RepoNotFound", "Repository not found")
                    return True
                if repo.rate_limited:
                    self._error(429, "RateLimited", "Too many requests", {"Retry-After": "30"})
                    return True
                return False

            def _gate(self, repo: Repo) -> bool:
                auth = self.headers.get("Authorization", "")
                token = auth.removeprefix("Bearer ").strip()
                if not repo.gated or token == GOOD_TOKEN:
                    return False
                if token:
                    self._error(403, "GatedRepo", "Access to this model is restricted")
                else:
                    self._error(401, "GatedRepo", "Access to this model is restricted")
                return True

            def _rev_ok(self, repo: Repo, rev: str) -> bool:
                if rev in ("main", repo.sha, *repo.tags):
                    return True
                self._error(404, "RevisionNotFound", f"Invalid rev id: {rev}")
                return False

            def _api(self, rest: str) -> None:
                parts = rest.split("/")
                repo_id = "/".join(parts[:2])
                repo = fixture.repos.get(repo_id)
                if self._auth(repo_id, repo):
                    return
                assert repo is not None
                if len(parts) >= 4 and parts[2] == "revision" and not self._rev_ok(repo, parts[3]):
                    return
                body = json.dumps(fixture.model_info(repo_id, repo)).encode()
                self._send(200, body, {"Content-Type": "application/json"})

            def _resolve(self, repo_id: str, rev: str, file: str) -> None:
                repo = fixture.repos.get(repo_id)
                if self._auth(repo_id, repo):
                    return
                assert repo is not None
                if not self._rev_ok(repo, rev) or self._gate(repo):
                    return
                f = repo.files.get(file)
                if f is None:
                    return self._error(404, "EntryNotFound", f"{file} does not exist")
                common = {"X-Repo-Commit": repo.sha}
                if file.endswith(LFS_SUFFIXES):
                    etag = _etag(f)
                    base = repo.redirect_to or fixture.cdn_origin
                    loc = f"{base}/repos/{etag}/{quote(file)}?X-Amz-Signature=fixture"
                    return self._send(
                        302,
                        b"",
                        {
                            **common,
                            "Location": loc,
                            "ETag": f'"{etag}"',
                            "X-Linked-Etag": f'"{etag}"',
                            "X-Linked-Size": str(f.stat().st_size),
                        },
                    )
                self._file(f, common)

            def _cdn(self, path: str) -> None:
                m = re.match(r"^/repos/([0-9a-f]{64})/(.+)$", path)
                f = fixture._blobs.get(m[1]) if m else None
                if f is None:
                    return self._send(404, b"NoSuchKey", {"Content-Type": "text/plain"})
                self._file(f, {})

            def _file(self, f: Path, extra: dict[str, str]) -> None:
                size = f.stat().st_size
                headers = {"ETag": f'"{_etag(f)}"', "Accept-Ranges": "bytes", **extra}
                rng = self.headers.get("Range")
                m = re.fullmatch(r"bytes=(\d+)-(\d*)", rng or "")
                if rng and not m:
                    return self._send(416, b"", {"Content-Range": f"bytes */{size}"})
                if m:
                    start = int(m[1])
                    end = min(int(m[2]) if m[2] else size - 1, size - 1)
                    if start >= size:
                        return self._send(416, b"", {"Content-Range": f"bytes */{size}"})
                    with f.open("rb") as fh:
                        fh.seek(start)
                        body = fh.read(end - start + 1)
                    headers["Content-Range"] = f"bytes {start}-{end}/{size}"
                    return self._send(206, body, headers)
                if size > 64 * 1024 * 1024:  # a whole checkpoint: the tests never want it
                    return self._send(500, b"fixture refuses a full download", headers)
                self._send(200, f.read_bytes(), headers)

        return Handler
