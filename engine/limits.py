"""What the engine accepts: config text size and nesting depth, and the physical range of
every config dimension (``data/limits.json``, each limit with its reason).

Hostile input must fail fast with a message naming the field, the value and the range:
``json.loads`` recurses once per nesting level (4,000 ``[`` overflow the stack, fatally in
Pyodide), and a dimension of 10**30 or 10**12 layers costs minutes or prints a 53-digit
figure. The text checks therefore run *before* parsing and never recurse.
"""

from __future__ import annotations

import json
import re
from importlib import resources
from typing import Any

from .errors import ConfigError
from .memo import cached
from .messages import msg

# a JSON string (escapes included), and every run of characters that is not a bracket
_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_NOT_BRACKET = re.compile(r"[^\[\]{}]+")


@cached
def limits() -> dict[str, Any]:
    """Return ``data/limits.json`` (read once)."""
    text = resources.files("engine").joinpath("data/limits.json").read_text("utf-8")
    return json.loads(text)


def field_max(name: str) -> int:
    """Return the largest value accepted for a canonical config field (``arch.fields``)."""
    table = limits()
    entry = table["fields"].get(name)
    return int((entry or table["default_field"])["max"])


def text_limits(kind: str = "config_text") -> tuple[int, int]:
    """Return (max bytes, max nesting depth) for ``config_text`` or ``request_text``."""
    entry = limits()[kind]
    return int(entry["max_bytes"]), int(entry["max_depth"])


def json_depth_exceeds(text: str, limit: int) -> bool:
    """Return True when JSON ``text`` nests arrays/objects more than ``limit`` deep.

    A linear scan with no recursion: strings are cut out first, so brackets inside them do
    not count. Invalid JSON is answered too (the parser then reports its own error)."""
    depth = 0
    for ch in _NOT_BRACKET.sub("", _STRING.sub("", text)):
        if ch in "[{":
            depth += 1
            if depth > limit:
                return True
        else:
            depth -= 1
    return False


def text_size(text: str) -> int:
    """Return the UTF-8 size of ``text`` in bytes (cheaply when it is plainly small)."""
    return len(text) if text.isascii() else len(text.encode("utf-8", "surrogatepass"))


def check_json_text(text: str, *, kind: str = "config_text", field: str = "config") -> None:
    """Raise ``ConfigError(field)`` when ``text`` is over the size or nesting limit."""
    max_bytes, max_depth = text_limits(kind)
    size = len(text)
    if size > max_bytes or text_size(text) > max_bytes:
        raise ConfigError(
            msg(
                "the config text is {size:,} bytes; the limit is {limit:,} bytes (a model's "
                "config.json is a few KB): paste the model's config.json, not a weights file",
                size=text_size(text),
                limit=max_bytes,
            ),
            field=field,
        )
    if json_depth_exceeds(text, max_depth):
        raise ConfigError(
            msg(
                "the config text nests arrays or objects more than {limit} levels deep (a "
                "model's config.json nests 3 or 4): paste the model's config.json",
                limit=max_depth,
            ),
            field=field,
        )


def describe_number(value: int) -> str:
    """Return ``value`` for a message: in full when short, else its first digits and length."""
    text = str(value)
    digits = len(text.lstrip("-"))
    if digits <= 20:
        return f"{value:,}"
    return f"{text[:4]}… ({digits} digits)"
