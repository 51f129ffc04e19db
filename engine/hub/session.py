"""The browser worker's entry points to the reader plan: JSON text in, JSON text out, and
the response body passed as bytes (never base64 through JSON, since GGUF headers run to
several MB).

    hub_start('{"input": "Qwen/Qwen3-8B", "endpoint": "https://huggingface.co",
                "token": false, "lang": "en"}')
      -> {"ok": true, "session": "1", "done": false, "requests": [request, ...]}
    hub_feed(session, key, status, headers_json, body_bytes, final_url)
      -> the same shape; when done {"ok": true, "done": true, "result": {...}}
      -> on any failure {"ok": false, "error": {"type", "message", "field", "url"}}
         (the session is dropped)
    hub_close(session)  # forget a session the page gave up on

``request`` is ``{"key", "url", "headers": {"Range": ...}, "max_bytes"}``: the worker GETs
``url`` with those headers (plus ``Authorization: Bearer <token>`` when the user gave one),
reads at most ``max_bytes + 1`` bytes of the body, and feeds the answer back under ``key``.
Sessions live in this module's dict for the life of the worker (nothing at import time).
"""

from __future__ import annotations

import json
from itertools import count
from typing import Any

from ..errors import EngineError
from ..messages import localize, msg, normalize_lang, render
from .errors import HubError
from .plan import HubReader, HubResponse
from .ref import DEFAULT_ENDPOINT, parse_ref

_SESSIONS: dict[str, tuple[HubReader, str]] = {}
_IDS = count(1)


def _error(exc: Exception, lang: str) -> str:
    if isinstance(exc, EngineError):
        err: dict[str, Any] = exc.to_dict(lang, page=True)
        err["url"] = getattr(exc, "url", "")
        if isinstance(exc, HubError) and getattr(exc, "base_model", None):
            err["base_model"] = exc.base_model  # type: ignore[attr-defined]
    else:
        err = {
            "type": "internal",
            "message": f"internal error: {type(exc).__name__}: {exc}",
            "field": None,
            "url": "",
        }
    return json.dumps({"ok": False, "error": err}, sort_keys=True)


def _reply(sid: str) -> str:
    reader, lang = _SESSIONS[sid]
    if reader.done:
        del _SESSIONS[sid]
        result = localize(reader.result(), lang)
        return json.dumps(
            {"ok": True, "session": sid, "done": True, "result": result}, sort_keys=True
        )
    reqs = [r.to_dict() for r in reader.pending()]
    return json.dumps({"ok": True, "session": sid, "done": False, "requests": reqs}, sort_keys=True)


def hub_start(args_json: str) -> str:
    """Start a lookup; ``args``: ``input`` (what the user typed), ``endpoint``, ``token``
    (bool: whether the worker will send one), ``lang``."""
    lang = "en"
    try:
        args = json.loads(args_json)
        if not isinstance(args, dict):
            raise HubError(msg("hub_start takes a JSON object"))
        lang = normalize_lang(args.get("lang"))
        endpoint = str(args.get("endpoint") or DEFAULT_ENDPOINT)
        ref = parse_ref(str(args.get("input", "")), endpoint)
        reader = HubReader(ref, endpoint=endpoint, token=bool(args.get("token")))
        sid = str(next(_IDS))
        _SESSIONS[sid] = (reader, lang)
        return _reply(sid)
    except Exception as exc:
        return _error(exc, lang)


def hub_feed(
    session: str, key: str, status: int, headers_json: str, body: Any, url: str = ""
) -> str:
    """Feed one response (``body``: bytes, a memoryview, or the Uint8Array itself: a
    Pyodide ``JsProxy`` is copied with ``to_bytes()``)."""
    entry = _SESSIONS.get(str(session))
    lang = entry[1] if entry else "en"
    try:
        if entry is None:
            raise HubError(msg("the Hub lookup {sid!r} is over or unknown", sid=session))
        headers = json.loads(headers_json) if headers_json else {}
        if hasattr(body, "to_bytes"):  # a Pyodide JsProxy of a Uint8Array/ArrayBuffer
            body = body.to_bytes()
        entry[0].feed(key, HubResponse(int(status), dict(headers), bytes(body), url))
        return _reply(str(session))
    except Exception as exc:
        _SESSIONS.pop(str(session), None)
        return _error(exc, lang)


def hub_close(session: str) -> None:
    _SESSIONS.pop(str(session), None)


def offline_message(repo: str, lang: str = "en") -> str:
    """The page's words when the network is down and the cache has nothing for ``repo``."""
    return render(
        msg(
            "offline with nothing cached for {repo}: connect to the internet once to look it "
            "up (it then works offline)",
            repo=repo,
        ),
        normalize_lang(lang),
    )
