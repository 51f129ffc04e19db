"""Translatable engine prose: English templates with named parameters, rendered per language.

Every sentence a user reads from the engine (error messages, result warnings and
assumptions) is built with ``msg(template, **params)``. The result is a ``Message``: a
``str`` holding the English text, so the CLI, the build and ``==`` see exactly the English
they always did, that also remembers its template and parameters. ``engine.api.handle``
re-renders it in the request's ``lang`` from ``data/locale/<lang>.json`` (English
template → translated template with the same placeholders), which is compiled from the
project's gettext catalog ``locale/<lang>/LC_MESSAGES/messages.po`` (``python -m
sitegen.catalog compile``; Babel extracts the templates from the ``msg()`` calls) — the
engine itself stays stdlib-only and never reads a .po. Parameters are values (names,
numbers, sizes) and stay as they are, except parameters that are themselves ``Message``s,
which render in the same language. A language or template without a translation falls
back to English. The templates must be literals: tests collect them from the source.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from importlib import resources
from typing import Any

from .memo import cached

LANGS = ("en", "zh")  # English is the source; every other language has data/locale/<lang>.json


class Message(str):
    """English text that remembers ``template`` and ``params``, so it can be re-rendered.

    Made only by ``msg``. Slots and no ``__new__`` keep it cheap: fit sweeps build thousands
    of estimates, each with its assumptions.
    """

    __slots__ = ("params", "template")
    template: str
    params: dict[str, Any]

    def __reduce__(self) -> tuple[Any, ...]:
        # copy, deepcopy and pickle rebuild from the template (str's default would pass the text)
        return (_make, (self.template, self.params))


_new_str = str.__new__


def _make(template: str, params: dict[str, Any]) -> Message:
    self = _new_str(Message, template.format_map(params) if params else template)
    self.template = template
    self.params = params
    return self


def msg(template: str, /, **params: Any) -> Message:
    """Return the English ``Message`` for ``template`` (a string literal) filled with ``params``."""
    return _make(template, params)


def or_list(items: Iterable[object]) -> str:
    """Return 'a or b or c' built from messages, so the connecting word translates."""
    names = [str(item) for item in items]
    text: str = names[0] if names else ""
    for name in names[1:]:
        text = msg("{a} or {b}", a=text, b=name)
    return text


def normalize_lang(lang: object) -> str:
    """Return the supported language of a BCP 47 tag ('zh', 'zh-CN' → 'zh'), else 'en'."""
    if not isinstance(lang, str):
        return "en"
    primary = lang.strip().lower().replace("_", "-").split("-")[0]
    return primary if primary in LANGS else "en"


@cached
def load_catalog(lang: str) -> dict[str, str]:
    """Return the English-template → ``lang``-template table (empty for English or an
    unsupported language, which therefore render in English)."""
    if lang == "en" or lang not in LANGS:
        return {}
    text = resources.files("engine").joinpath(f"data/locale/{lang}.json").read_text("utf-8")
    return dict(json.loads(text)["messages"])


def translator(lang: str) -> Callable[[str], str]:
    """Return gettext for ``lang`` over the same catalog: present/'s labels and phrases in
    the worker (an untranslated msgid, or English, comes back as it is)."""
    table = load_catalog(normalize_lang(lang))
    return lambda msgid: table.get(msgid, msgid)


def render(text: str, lang: str) -> str:
    """Return ``text`` in ``lang`` when it is a translated ``Message``, else in English."""
    if not isinstance(text, Message):
        return text
    template = load_catalog(lang).get(text.template)
    if template is None:
        return str(text)
    params = {k: render(v, lang) if isinstance(v, str) else v for k, v in text.params.items()}
    return template.format(**params)


def localize(value: Any, lang: str) -> Any:
    """Return a copy of a JSON-like ``value`` with every ``Message`` rendered in ``lang``."""
    if isinstance(value, str):
        return render(value, lang)
    if isinstance(value, dict):
        return {k: localize(v, lang) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [localize(v, lang) for v in value]
    return value
