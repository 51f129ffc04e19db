"""What a user typed → ``HubRef(repo, revision, file)``.

Accepted: a repo id ``org/name`` (optionally ``@revision``), ``org/name/file.gguf``, and
Hub URLs of the repo, of a file (``…/blob/REV/PATH``, ``…/resolve/REV/PATH``) or of a
tree (``…/tree/REV[/dir]``), on huggingface.co or on the configured endpoint. Repo ids
follow the Hub's rules (huggingface_hub ``validate_repo_id``): letters, digits, ``-_.``,
no ``--`` or ``..``, at most 96 characters per name.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

from ..messages import msg
from .errors import HubError

DEFAULT_ENDPOINT = "https://huggingface.co"
DEFAULT_REVISION = "main"

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,95}$")
_REV = re.compile(r"^[A-Za-z0-9_.\-/]{1,255}$")
_PATH = re.compile(r"^[^\x00-\x1f\\]{1,1000}$")
_HUB_HOSTS = ("huggingface.co", "www.huggingface.co", "hf.co")


@dataclass(frozen=True)
class HubRef:
    """A model on the Hub: ``repo`` ("org/name"), ``revision`` (branch, tag or commit) and
    optionally one ``file`` in it (a GGUF file, or the first part of a split GGUF)."""

    repo: str
    revision: str = DEFAULT_REVISION
    file: str | None = None

    def to_dict(self) -> dict[str, str | None]:
        return {"repo": self.repo, "revision": self.revision, "file": self.file}

    @property
    def label(self) -> str:
        """How results name it: "org/name", "org/name@rev", "org/name/file.gguf"."""
        rev = "" if self.revision == DEFAULT_REVISION else f"@{self.revision}"
        return f"{self.repo}{rev}" + (f"/{self.file}" if self.file else "")


def _bad(text: str, why: str) -> HubError:
    return HubError(
        msg(
            "{text!r} is not a Hugging Face model: {why}. Type a repo id such as "
            "Qwen/Qwen3-8B (optionally @revision) or paste a huggingface.co link",
            text=text,
            why=why,
        )
    )


def _check_repo(text: str, org: str, name: str) -> str:
    for part in (org, name):
        if not _NAME.match(part) or "--" in part or ".." in part or part.endswith((".", "-")):
            raise _bad(text, msg("{part!r} is not a valid repo name part", part=part))
    return f"{org}/{name}"


def _check_rev(text: str, rev: str) -> str:
    if not _REV.match(rev) or ".." in rev:
        raise _bad(text, msg("{rev!r} is not a valid revision", rev=rev))
    return rev


def _check_file(text: str, path: str) -> str | None:
    path = path.strip("/")
    if not path:
        return None
    if not _PATH.match(path) or any(p in ("", ".", "..") for p in path.split("/")):
        raise _bad(text, msg("{path!r} is not a valid file path", path=path))
    return path


def looks_like_hub(text: str, endpoint: str = DEFAULT_ENDPOINT) -> bool:
    """True when ``text`` is meant for the Hub: a link, or an ``org/name`` id (a slash, no
    spaces); the caller tries the catalog first."""
    t = text.strip()
    if t.startswith(("http://", "https://")):
        return True  # parse_ref names the host a link must be on
    return "/" in t and not any(c.isspace() for c in t)


def parse_ref(text: str, endpoint: str = DEFAULT_ENDPOINT) -> HubRef:
    """Parse a repo id or Hub URL into a ``HubRef``; raise ``HubError`` naming the fix."""
    if not isinstance(text, str) or not text.strip():
        raise _bad(str(text), msg("it is empty"))
    raw = text.strip()
    if raw.startswith(("http://", "https://")):
        return _parse_url(raw, endpoint)
    rev = DEFAULT_REVISION
    body = raw
    if "@" in raw:
        body, rev = raw.split("@", 1)
        if rev.endswith(".gguf") and "/" in rev and not rev.startswith("refs/"):
            rev, file = rev.split("/", 1)  # org/name@rev/file.gguf
            body = f"{body}/{file}"
        rev = _check_rev(raw, rev)
    parts = body.strip("/").split("/")
    if len(parts) < 2:
        raise _bad(raw, msg("a repo id has the form org/name"))
    repo = _check_repo(raw, parts[0], parts[1])
    return HubRef(repo, rev, _check_file(raw, "/".join(parts[2:])))


def _parse_url(raw: str, endpoint: str) -> HubRef:
    url = urlsplit(raw)
    host = url.hostname or ""
    ep = urlsplit(endpoint)
    path = unquote(url.path)
    if host == ep.hostname and url.port == ep.port and ep.path.strip("/"):
        prefix = "/" + ep.path.strip("/")
        path = path.removeprefix(prefix)
    elif host not in _HUB_HOSTS and host != ep.hostname:
        raise _bad(raw, msg("the link is not on {host}", host=ep.hostname or endpoint))
    parts = [p for p in path.split("/") if p]
    if parts and parts[0] in ("datasets", "spaces"):
        raise _bad(raw, msg("the link is to a {kind}, not a model", kind=parts[0][:-1]))
    if parts and parts[0] == "models":
        parts = parts[1:]
    if len(parts) < 2:
        raise _bad(raw, msg("the link names no repo"))
    repo = _check_repo(raw, parts[0], parts[1])
    rest = parts[2:]
    if not rest:
        return HubRef(repo)
    kind = rest[0]
    if kind in ("blob", "resolve", "tree", "raw") and len(rest) >= 2:
        rev = _check_rev(raw, rest[1])
        file = _check_file(raw, "/".join(rest[2:])) if kind != "tree" else None
        return HubRef(repo, rev, file)
    if kind in ("discussions", "commits", "settings", "community"):
        return HubRef(repo)
    raise _bad(raw, msg("{part!r} is not a part of a Hub file link", part=kind))
