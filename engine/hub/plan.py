"""The reader plan: a sans-IO state machine that says which URLs and byte ranges to read
for a ``HubRef`` and turns the responses into a resolved model.

Drive it with any transport::

    reader = HubReader(parse_ref("Qwen/Qwen3-8B"), endpoint="https://huggingface.co")
    while not reader.done:
        for req in reader.pending():          # HubRequest: key, url, headers(), max_bytes
            reader.feed(req.key, transport(req))  # HubResponse: status, headers, body, url
    model = reader.result()                   # JSON-able dict (see engine/README.md, "Hub")

Order of reads: the model-info API (``GET {endpoint}/api/models/{repo}[/revision/{rev}]
?blobs=true``: file list with sizes, commit, gated flag), then ``config.json`` (and the
safetensors index) and each safetensors shard's header by ``Range``; or, for GGUF, the
header of every part of the chosen file by growing ``Range`` reads. Files are read at the
commit the info call returned, so cached responses never go stale. ``feed`` raises a typed
``HubError`` for every failure (404, 401/403, 429, malformed or oversized headers).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, urlsplit

from ..errors import EngineError
from ..messages import msg
from . import gguf as gg
from . import safetensors as st
from .errors import (
    HubBadFile,
    HubError,
    HubGated,
    HubNoModel,
    HubNotFound,
    HubRateLimited,
)
from .ref import DEFAULT_ENDPOINT, HubRef

MAX_JSON_BYTES = 4 * 1024 * 1024  # model info, config.json, index, adapter_config.json
ST_FIRST = 64 * 1024  # first safetensors read: length and (usually) the whole header
GGUF_FIRST = 2 * 1024 * 1024  # first GGUF read; grown (doubled) until the header fits
MAX_SHARDS = 2048
_SPLIT = re.compile(r"^(?P<stem>.+)-(?P<i>\d{5})-of-(?P<n>\d{5})\.gguf$")


@dataclass(frozen=True)
class HubRequest:
    """One GET: ``url``, with ``Range: bytes=start-end`` (inclusive) when ``start`` is set.
    The transport reads at most ``max_bytes`` of the body (one more tells it is too long);
    for a range that is ``end + 1``, so a server that ignores ``Range`` and answers 200 with
    the whole file still gives the bytes up to ``end``."""

    key: str
    url: str
    start: int | None = None
    end: int | None = None
    max_bytes: int = MAX_JSON_BYTES

    def headers(self) -> dict[str, str]:
        if self.start is None:
            return {}
        return {"Range": f"bytes={self.start}-{self.end}"}

    def to_dict(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "url": self.url,
            "headers": self.headers(),
            "max_bytes": self.max_bytes,
        }


@dataclass(frozen=True)
class HubResponse:
    """What came back: final ``status``, ``headers`` (any case), ``body`` and final ``url``."""

    status: int
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    url: str = ""

    def header(self, name: str) -> str:
        low = name.lower()
        return next((v for k, v in self.headers.items() if k.lower() == low), "")


def redirect_allowed(endpoint: str, url: str) -> bool:
    """True when ``url`` may be followed from ``endpoint``: the endpoint's own host (any
    port) or a subdomain of it, and for huggingface.co its download hosts (``*.hf.co``,
    ``*.huggingface.co``: cdn-lfs, cas-bridge.xethub). Never a downgrade from https."""
    ep, to = urlsplit(endpoint), urlsplit(url)
    if to.scheme not in ("https", ep.scheme):
        return False
    host, base = (to.hostname or ""), (ep.hostname or "")
    if host == base or host.endswith("." + base):
        return True
    if base in ("huggingface.co", "hf.co"):
        return host in ("hf.co", "huggingface.co") or host.endswith((".hf.co", ".huggingface.co"))
    return False


def download_hosts(endpoint: str) -> tuple[str, ...]:
    """Origins a page must allow in CSP ``connect-src`` for ``endpoint`` (its file
    downloads redirect there)."""
    ep = urlsplit(endpoint)
    origin = f"{ep.scheme}://{ep.netloc}"
    if ep.hostname in ("huggingface.co", "hf.co"):
        return (origin, "https://*.huggingface.co", "https://*.hf.co")
    return (origin,)


def _json(resp: HubResponse, what: str, url: str) -> Any:
    try:
        return json.loads(resp.body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise HubBadFile(
            msg("{what} from {url} is not valid JSON: {detail}", what=what, url=url, detail=exc),
            url=url,
        ) from None


class HubReader:
    """The plan for one ``HubRef``. ``pending()`` lists the requests to make now (they may
    run in parallel), ``feed()`` consumes each answer, ``result()`` gives the model."""

    def __init__(self, ref: HubRef, *, endpoint: str = DEFAULT_ENDPOINT, token: bool = False):
        self.ref = ref
        self.endpoint = endpoint.rstrip("/")
        self.token = token  # whether requests carry a token (for the 401/403 wording)
        self.commit: str | None = None
        self.siblings: dict[str, int | None] = {}
        self.config: dict[str, Any] | None = None
        self.notes: list[str] = []
        self.read: list[dict[str, Any]] = []
        self._pending: dict[str, HubRequest] = {}
        self._st: dict[str, dict[str, Any]] = {}  # shard -> {"buf", "n", "header"}
        self._gguf: dict[str, dict[str, Any]] = {}  # part -> {"buf", "header"}
        self._result: dict[str, Any] | None = None
        rev = "" if ref.revision == "main" else f"/revision/{quote(ref.revision, safe='')}"
        self._ask(HubRequest("info", f"{self.endpoint}/api/models/{ref.repo}{rev}?blobs=true"))

    # -- driving ---------------------------------------------------------------------
    @property
    def done(self) -> bool:
        return self._result is not None

    def pending(self) -> list[HubRequest]:
        return list(self._pending.values())

    def result(self) -> dict[str, Any]:
        if self._result is None:
            raise HubError(msg("the Hub lookup of {repo} is not finished", repo=self.ref.repo))
        return self._result

    def feed(self, key: str, resp: HubResponse) -> None:
        """Consume the answer to the pending request ``key``; raise ``HubError`` on failure."""
        req = self._pending.pop(key, None)
        if req is None:
            raise HubError(msg("no request {key!r} is pending", key=key))
        self._check_status(req, resp)
        if resp.status == 200 and req.end is not None:  # Range ignored: the file from byte 0
            resp = HubResponse(resp.status, resp.headers, resp.body[: req.end + 1], resp.url)
        elif (
            resp.status == 206
            and req.end is not None
            and req.start is not None
            and len(resp.body) > req.end - req.start + 1
        ):
            raise HubBadFile(
                msg(
                    "{url} sent more than {limit:,} bytes; it is not read",
                    url=req.url,
                    limit=req.end - req.start + 1,
                ),
                url=req.url,
            )
        if len(resp.body) > req.max_bytes:
            raise HubBadFile(
                msg(
                    "{url} sent more than {limit:,} bytes; it is not read",
                    url=req.url,
                    limit=req.max_bytes,
                ),
                url=req.url,
            )
        self.read.append(
            {"url": req.url, "range": req.headers().get("Range"), "bytes": len(resp.body)}
        )
        kind, _, name = key.partition(":")
        getattr(self, f"_on_{kind}")(req, resp, name)
        if not self._pending and self._result is None:
            self._finish()

    # -- helpers ---------------------------------------------------------------------
    def _ask(self, req: HubRequest) -> None:
        self._pending[req.key] = req

    def file_url(self, path: str) -> str:
        rev = self.commit or self.ref.revision
        return f"{self.endpoint}/{self.ref.repo}/resolve/{quote(rev, safe='')}/{quote(path)}"

    def _check_status(self, req: HubRequest, resp: HubResponse) -> None:
        s, repo, url = resp.status, self.ref.repo, req.url
        if s in (200, 206):
            return
        code = resp.header("X-Error-Code")
        page = f"{self.endpoint}/{repo}"
        if s in (401, 403) and code != "RepoNotFound":
            if self.token:
                text = msg(
                    "your Hugging Face token has no access to {repo}: it is gated or private. "
                    "Accept its licence at {page} with the token's account, or use a token "
                    "that can read it",
                    repo=repo,
                    page=page,
                )
            else:
                text = msg(
                    "{repo} is gated or private: accept its licence at {page} (signed in), "
                    "then give a Hugging Face access token (CLI: the HF_TOKEN environment "
                    "variable)",
                    repo=repo,
                    page=page,
                )
            raise HubGated(text, url=url)
        if s in (401, 404):
            if code == "RevisionNotFound":
                text = msg("{repo} has no revision {rev!r}", repo=repo, rev=self.ref.revision)
            elif code == "EntryNotFound" or req.key != "info":
                text = msg("{repo} has no file {url}", repo=repo, url=url)
            else:
                text = msg(
                    "no model {repo} on {endpoint}: check the spelling (org/name, as in the "
                    "model page's address); a private repo needs a token",
                    repo=repo,
                    endpoint=self.endpoint,
                )
            raise HubNotFound(text, url=url)
        if s == 429:
            after = resp.header("Retry-After")
            wait = msg(" (it asks to wait {s} s)", s=after) if after.isdigit() else ""
            raise HubRateLimited(
                msg(
                    "the Hub is rate-limiting requests{wait}; try again later, or give a token "
                    "(logged-in requests get a higher limit)",
                    wait=wait,
                ),
                url=url,
            )
        if 300 <= s < 400:
            raise HubBadFile(
                msg(
                    "{url} redirected (status {s}) and the redirect was not followed", url=url, s=s
                ),
                url=url,
            )
        raise HubError(
            msg("the Hub answered status {s} for {url}; try again later", s=s, url=url), url=url
        )

    # -- steps -----------------------------------------------------------------------
    def _on_info(self, req: HubRequest, resp: HubResponse, _name: str) -> None:
        info = _json(resp, "the model info", req.url)
        if not isinstance(info, dict):
            raise HubBadFile(msg("the model info from {url} is not an object", url=req.url))
        sha = info.get("sha")
        if isinstance(sha, str) and re.fullmatch(r"[0-9a-f]{40}", sha):
            self.commit = sha
        for sib in info.get("siblings") or []:
            if isinstance(sib, dict) and isinstance(sib.get("rfilename"), str):
                size = sib.get("size")
                lfs = sib.get("lfs")
                if not isinstance(size, int) and isinstance(lfs, dict):
                    size = lfs.get("size")
                self.siblings[sib["rfilename"]] = size if isinstance(size, int) else None
        files = self.siblings
        want = self.ref.file
        if want is not None and want not in files:
            if any(f.startswith(want.rstrip("/") + "/") for f in files):  # a folder
                self.siblings = {
                    f: s for f, s in files.items() if f.startswith(want.rstrip("/") + "/")
                }
                want = None
            else:
                raise HubNotFound(
                    msg("{repo} has no file {file}", repo=self.ref.repo, file=want), url=req.url
                )
        if want is not None and want.endswith(".gguf"):
            return self._start_gguf(want)
        if "config.json" in files and (want is None or want == "config.json"):
            self._ask(HubRequest("config", self.file_url("config.json")))
            if "model.safetensors.index.json" in files:
                self._ask(HubRequest("index", self.file_url("model.safetensors.index.json")))
            return None
        ggufs = _gguf_models(self.siblings)
        if len(ggufs) == 1:
            return self._start_gguf(ggufs[0]["file"])
        if ggufs:
            self._result = {
                "kind": "choose",
                "ref": self.ref.to_dict(),
                "label": self.ref.label,
                "endpoint": self.endpoint,
                "commit": self.commit,
                "gguf_files": ggufs,
            }
            return None
        if "adapter_config.json" in files:
            self._ask(HubRequest("adapter", self.file_url("adapter_config.json")))
            return None
        raise HubNoModel(
            msg(
                "{repo} has no config.json and no GGUF file, so it is not a model this "
                "calculator can read (a dataset, a Space or another kind of repo?)",
                repo=self.ref.repo,
            ),
            url=req.url,
        )

    def _on_adapter(self, req: HubRequest, resp: HubResponse, _name: str) -> None:
        raw = _json(resp, "adapter_config.json", req.url)
        base = raw.get("base_model_name_or_path") if isinstance(raw, dict) else None
        if isinstance(base, str) and base:
            text = msg(
                "{repo} is a LoRA adapter, not a whole model: its base model is {base}. "
                "Look up {base} (and add the adapter as LoRA in training mode)",
                repo=self.ref.repo,
                base=base,
            )
        else:
            text = msg(
                "{repo} is an adapter without a base model name; look up its base model",
                repo=self.ref.repo,
            )
        err = HubNoModel(text, url=req.url)
        err.base_model = base  # type: ignore[attr-defined]
        raise err

    def _on_config(self, req: HubRequest, resp: HubResponse, _name: str) -> None:
        raw = _json(resp, "config.json", req.url)
        if not isinstance(raw, dict):
            raise HubBadFile(msg("config.json of {repo} is not a JSON object", repo=self.ref.repo))
        self.config = raw
        if "model.safetensors.index.json" not in self.siblings:
            shards = [f for f in self.siblings if f.endswith(".safetensors") and "/" not in f]
            for f in sorted(shards)[:MAX_SHARDS]:
                self._start_st(f)

    def _on_index(self, req: HubRequest, resp: HubResponse, _name: str) -> None:
        raw = _json(resp, "model.safetensors.index.json", req.url)
        wmap = raw.get("weight_map") if isinstance(raw, dict) else None
        if not isinstance(wmap, dict):
            raise HubBadFile(
                msg("model.safetensors.index.json of {repo} has no weight_map", repo=self.ref.repo)
            )
        shards = sorted({v for v in wmap.values() if isinstance(v, str)})
        if len(shards) > MAX_SHARDS:
            raise HubBadFile(msg("{n} shards is more than this reader accepts", n=len(shards)))
        for f in shards:
            self._start_st(f)

    def _start_st(self, f: str) -> None:
        self._st[f] = {"buf": b"", "n": None, "header": None}
        self._ask(HubRequest(f"st:{f}", self.file_url(f), 0, ST_FIRST - 1, ST_FIRST))

    def _on_st(self, req: HubRequest, resp: HubResponse, f: str) -> None:
        s = self._st[f]
        buf = resp.body if resp.status == 200 or req.start == 0 else s["buf"] + resp.body
        s["buf"] = buf
        n = s["n"] = st.header_length(buf, file=f)
        if len(buf) < 8 + n:
            if _short(req, resp):
                raise HubBadFile(
                    msg(
                        "the safetensors header of {file} is malformed: {why}",
                        file=f,
                        why="the file ends inside its header",
                    )
                )
            self._ask(HubRequest(f"st:{f}", self.file_url(f), len(buf), 8 + n - 1, 8 + n))
            return
        s["header"] = st.parse_header(buf[8 : 8 + n], file=f)
        s["buf"] = b""

    def _start_gguf(self, file: str) -> None:
        m = _SPLIT.match(file)
        parts = [file]
        if m:
            n = int(m["n"])
            parts = [f"{m['stem']}-{i:05d}-of-{n:05d}.gguf" for i in range(1, n + 1)]
            missing = [p for p in parts if p not in self.siblings]
            if missing:
                raise HubNotFound(
                    msg(
                        "{repo} lacks part {part} of the split GGUF",
                        repo=self.ref.repo,
                        part=missing[0],
                    )
                )
        for p in parts:
            self._gguf[p] = {"buf": b"", "header": None}
            self._ask(HubRequest(f"gguf:{p}", self.file_url(p), 0, GGUF_FIRST - 1, GGUF_FIRST))

    def _on_gguf(self, req: HubRequest, resp: HubResponse, f: str) -> None:
        s = self._gguf[f]
        buf = resp.body if resp.status == 200 or req.start == 0 else s["buf"] + resp.body
        try:
            s["header"] = gg.parse_gguf_header(buf, file=f)
            s["buf"] = b""
        except gg.NeedMore as more:
            size = self.siblings.get(f)
            if _short(req, resp) or (size and len(buf) >= size):
                raise HubBadFile(msg("the GGUF header of {file} is truncated", file=f)) from None
            end = min(max(more.needed, 2 * len(buf)), gg.MAX_HEADER_BYTES)
            s["buf"] = buf
            self._ask(HubRequest(f"gguf:{f}", self.file_url(f), len(buf), end - 1, end))

    # -- the result ------------------------------------------------------------------
    def _finish(self) -> None:
        from .resolve import finish_gguf, finish_safetensors

        base = {
            "kind": "model",
            "ref": self.ref.to_dict(),
            "label": self.ref.label,
            "endpoint": self.endpoint,
            "commit": self.commit,
            "read": self.read,
        }
        if self._gguf:
            headers = [self._gguf[p]["header"] for p in self._gguf]
            self._result = {
                **base,
                **finish_gguf(self.ref.label, list(self._gguf), headers, self.siblings),
            }
        elif self.config is not None:
            shards = {f: s["header"] for f, s in self._st.items()}
            self._result = {**base, **finish_safetensors(self.ref.label, self.config, shards)}
        else:  # pragma: no cover - every path above asks for a file or sets a result
            raise EngineError(msg("the Hub lookup of {repo} read nothing", repo=self.ref.repo))


def _short(req: HubRequest, resp: HubResponse) -> bool:
    """True when a range came back shorter than asked: the file ends there."""
    if req.start is None or req.end is None:
        return False
    asked = req.end + 1 if resp.status == 200 else req.end - req.start + 1
    return len(resp.body) < asked


def _gguf_models(siblings: dict[str, int | None]) -> list[dict[str, Any]]:
    """GGUF models in a repo: one row per file or per split set, with total size."""
    rows: dict[str, dict[str, Any]] = {}
    for f, size in sorted(siblings.items()):
        if not f.endswith(".gguf"):
            continue
        name = f.rsplit("/", 1)[-1].lower()
        if name.startswith("mmproj") or "imatrix" in name:
            continue
        m = _SPLIT.match(f)
        first = f"{m['stem']}-00001-of-{m['n']}.gguf" if m else f
        row = rows.setdefault(first, {"file": first, "parts": 0, "size_bytes": 0})
        row["parts"] += 1
        if size is None or row["size_bytes"] is None:
            row["size_bytes"] = None
        else:
            row["size_bytes"] += size
    return list(rows.values())
