"""Babel extractors for msgids that are not a literal inside a gettext call (``babel.cfg``
names them as ``sitegen.extract:<function>``): words in the catalog data (preset titles,
GPU segments), dict literals a template passes to ``_()``, literal arguments of a few
page-building calls, and label tables. Each yields Babel's ``(lineno, funcname, message,
comments)``; options come from the file's section in ``babel.cfg``."""

from __future__ import annotations

import ast
import io
import json
from collections.abc import Iterator
from typing import IO, Any

Extracted = Iterator[tuple[int, str | None, str, list[str]]]


def _words(option: str | None) -> list[str]:
    return (option or "").replace(",", " ").split()


def extract_json(fileobj: IO[bytes], keywords: Any, comment_tags: Any, options: dict) -> Extracted:
    """The string values of the keys named in option ``keys``, anywhere in a JSON file (or
    under its top-level key ``under``)."""
    keys = set(_words(options.get("keys")))
    text = fileobj.read().decode("utf-8")
    data = json.loads(text)
    if options.get("under"):
        data = data[options["under"]]

    def walk(value: Any) -> Iterator[str]:
        if isinstance(value, dict):
            for key, item in value.items():
                if key in keys and isinstance(item, str) and item:
                    yield item
                else:
                    yield from walk(item)
        elif isinstance(value, list):
            for item in value:
                yield from walk(item)

    for found in walk(data):
        lineno = text.count("\n", 0, max(text.find(json.dumps(found)[1:-1]), 0)) + 1
        yield lineno, None, found, []


def extract_python(
    fileobj: IO[bytes], keywords: Any, comment_tags: Any, options: dict
) -> Extracted:
    """Babel's Python extraction, plus the literal arguments of the calls in option
    ``calls`` (``name:2``: a 1-based position; repeat the name for more) and the values of
    the module-level dicts in option ``dicts`` (label tables)."""
    from babel.messages.extract import extract_python as babel_python

    source = fileobj.read()
    yield from babel_python(io.BytesIO(source), keywords, comment_tags, options)
    calls: dict[str, list[int]] = {}
    for spec in _words(options.get("calls")):
        name, _, positions = spec.partition(":")
        calls.setdefault(name, []).append(int(positions or "1"))
    dicts = set(_words(options.get("dicts")))
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Call):
            func = node.func
            name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", "")
            for position in calls.get(name, []):
                if len(node.args) >= position:
                    arg = node.args[position - 1]
                    if isinstance(arg, ast.Constant) and isinstance(arg.value, str) and arg.value:
                        yield arg.lineno, None, arg.value, []
        elif isinstance(node, ast.AnnAssign | ast.Assign) and isinstance(node.value, ast.Dict):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            if any(isinstance(t, ast.Name) and t.id in dicts for t in targets):
                for value in node.value.values:
                    if isinstance(value, ast.Constant) and isinstance(value.value, str):
                        yield value.lineno, None, value.value, []


def extract_jinja(fileobj: IO[bytes], keywords: Any, comment_tags: Any, options: dict) -> Extracted:
    """Jinja's own extraction, plus the values of a dict literal looked up inside ``_()``
    (``_({"forward": "forward", ...}.get(phase, phase))``)."""
    from jinja2 import Environment, nodes
    from jinja2.ext import babel_extract

    source = fileobj.read()
    yield from babel_extract(io.BytesIO(source), keywords, comment_tags, options)
    env = Environment(extensions=["jinja2.ext.i18n"])
    for call in env.parse(source.decode("utf-8")).find_all(nodes.Call):
        named = isinstance(call.node, nodes.Name) and call.node.name in ("_", "gettext")
        inner = call.args[0] if named and call.args else None
        if not (isinstance(inner, nodes.Call) and isinstance(inner.node, nodes.Getattr)):
            continue
        table = inner.node.node
        if inner.node.attr == "get" and isinstance(table, nodes.Dict):
            for pair in table.items:
                if isinstance(pair.value, nodes.Const) and isinstance(pair.value.value, str):
                    yield pair.value.lineno, None, pair.value.value, []
