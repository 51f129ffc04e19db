"""The CLI's transport for the reader plan: urllib, a response cache, and the
huggingface_hub environment variables.

- ``HF_ENDPOINT``: the Hub's address, read as huggingface_hub reads it
  (``os.getenv("HF_ENDPOINT", "https://huggingface.co").rstrip("/")``), for mirrors.
- ``HF_TOKEN``: sent as ``Authorization: Bearer`` to the endpoint; dropped when a redirect
  leaves the endpoint's host (as ``requests`` does), and redirects are followed only to the
  hosts ``plan.redirect_allowed`` names.
- ``HF_HUB_OFFLINE`` (1/ON/YES/TRUE): no network; answers come from the cache only.

Every 200/206 answer is kept under ``$XDG_CACHE_HOME/vram-insight/hub`` (else
``~/.cache/vram-insight/hub``), keyed by URL and Range, so a model looked up once works
offline. With no network the cache answers; nothing cached → ``HubOffline``.
This is the only module of the engine that imports ``urllib.request``; the worker never
imports it.
"""

from __future__ import annotations

import hashlib
import json
import os
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from ..messages import msg
from .errors import HubOffline, HubRedirect
from .plan import HubReader, HubRequest, HubResponse, redirect_allowed
from .ref import DEFAULT_ENDPOINT, parse_ref

TIMEOUT_S = 30
_TRUE = {"1", "ON", "YES", "TRUE"}  # huggingface_hub.constants._is_true


def hub_endpoint() -> str:
    return os.getenv("HF_ENDPOINT", DEFAULT_ENDPOINT).rstrip("/")


def hub_token() -> str | None:
    token = os.getenv("HF_TOKEN", "").strip()
    return token or None


def hub_offline() -> bool:
    return os.getenv("HF_HUB_OFFLINE", "").upper() in _TRUE


def cache_dir() -> Path:
    base = os.getenv("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "vram-insight" / "hub"


class _Redirects(urllib.request.HTTPRedirectHandler):
    """Follow a redirect only to an allowed host, and drop the token when the host changes."""

    def __init__(self, endpoint: str) -> None:
        self.endpoint = endpoint

    def redirect_request(self, req, fp, code, msg_, headers, newurl):  # type: ignore[override]
        if not redirect_allowed(self.endpoint, newurl):
            raise HubRedirect(
                msg(
                    "{url} redirected to {to}, which is not the Hub ({endpoint}) or one of its "
                    "download hosts; not followed",
                    url=req.full_url,
                    to=newurl,
                    endpoint=self.endpoint,
                ),
                url=req.full_url,
            )
        new = super().redirect_request(req, fp, code, msg_, headers, newurl)
        if new is not None and urlsplit(newurl).netloc != urlsplit(req.full_url).netloc:
            new.remove_header("Authorization")
        if new is not None and req.has_header("Range"):
            new.add_header("Range", req.get_header("Range"))
        return new


class UrllibTransport:
    """Answers ``HubRequest``s with urllib, through the cache."""

    def __init__(
        self,
        endpoint: str,
        *,
        token: str | None = None,
        offline: bool = False,
        cache: Path | None = None,
    ) -> None:
        self.endpoint = endpoint
        self.token = token
        self.offline = offline
        self.cache = cache
        self.opener = urllib.request.build_opener(_Redirects(endpoint))

    def _path(self, req: HubRequest) -> Path | None:
        if self.cache is None:
            return None
        key = hashlib.sha256(f"{req.url}\n{req.headers().get('Range', '')}".encode()).hexdigest()
        return self.cache / key[:2] / key

    def _cached(self, req: HubRequest) -> HubResponse | None:
        path = self._path(req)
        if path is None or not path.is_file():
            return None
        try:
            data = path.read_bytes()
            meta_len = int.from_bytes(data[:4], "little")
            meta = json.loads(data[4 : 4 + meta_len])
            return HubResponse(meta["status"], meta["headers"], data[4 + meta_len :], meta["url"])
        except (OSError, ValueError, KeyError):
            return None

    def _store(self, req: HubRequest, resp: HubResponse) -> None:
        path = self._path(req)
        if path is None or resp.status not in (200, 206):
            return
        meta = json.dumps({"status": resp.status, "headers": resp.headers, "url": resp.url})
        blob = len(meta.encode()).to_bytes(4, "little") + meta.encode() + resp.body
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(".tmp")
            tmp.write_bytes(blob)
            tmp.replace(path)
        except OSError:
            pass  # a cache that cannot be written only costs the next lookup a download

    def __call__(self, req: HubRequest) -> HubResponse:
        if self.offline:
            return self._cached(req) or self._nothing_cached(req, "HF_HUB_OFFLINE is set")
        headers = {"User-Agent": "vram-insight", **req.headers()}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        request = urllib.request.Request(req.url, headers=headers)
        try:
            with self.opener.open(request, timeout=TIMEOUT_S) as fh:
                resp = HubResponse(
                    fh.status, dict(fh.headers.items()), fh.read(req.max_bytes + 1), fh.url
                )
        except urllib.error.HTTPError as exc:
            body = exc.read(65536) if exc.fp is not None else b""
            return HubResponse(exc.code, dict(exc.headers.items()), body, req.url)
        except (urllib.error.URLError, OSError) as exc:
            cached = self._cached(req)
            if cached is not None:
                return cached
            return self._nothing_cached(req, str(getattr(exc, "reason", exc)))
        self._store(req, resp)
        return resp

    def _nothing_cached(self, req: HubRequest, why: str) -> HubResponse:
        raise HubOffline(
            msg(
                "offline with nothing cached: cannot reach {endpoint} ({why}) and {url} was "
                "never looked up before; connect once, then it works offline",
                endpoint=self.endpoint,
                why=why,
                url=req.url,
            ),
            url=req.url,
        )


def drive(reader: HubReader, transport: Any) -> dict[str, Any]:
    """Run the plan to its result with ``transport`` (a callable HubRequest → HubResponse)."""
    while not reader.done:
        for req in reader.pending():
            reader.feed(req.key, transport(req))
    return reader.result()


def lookup(text: str) -> dict[str, Any]:
    """Resolve what the user typed on the Hub (environment as huggingface_hub reads it)."""
    endpoint = hub_endpoint()
    token = hub_token()
    reader = HubReader(parse_ref(text, endpoint), endpoint=endpoint, token=token is not None)
    transport = UrllibTransport(endpoint, token=token, offline=hub_offline(), cache=cache_dir())
    return drive(reader, transport)
