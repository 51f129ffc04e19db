"""Engine errors. Messages name the value, the rule and the fix.

Every error the user can cause is an ``EngineError``; the CLI maps them to exit code 2
and the worker to ``{ok: false, error: {type, message, field}}``. Messages are built with
``messages.msg`` so the worker can answer in the page's language.
"""

from __future__ import annotations

from collections.abc import Callable

from .memo import cached
from .messages import Message, msg, render


class EngineError(Exception):
    """Base class for every error caused by input; ``field`` names the offending input."""

    type_name = "engine_error"

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field

    def to_dict(self, lang: str = "en", *, page: bool = False) -> dict[str, str | None]:
        """The protocol's ``error`` object, with the message in ``lang`` (English fallback);
        ``page``: worded for the web page (``for_page``), not the shell."""
        message = for_page(self.message) if page else self.message
        return {"type": self.type_name, "message": render(message, lang), "field": self.field}


class ConfigError(EngineError):
    """A ``config.json`` is malformed or lacks a field the architecture needs."""

    type_name = "config_error"


class UnsupportedArchitecture(ConfigError):
    """The ``model_type`` is not one the engine models exactly."""

    type_name = "unsupported_architecture"


class UnknownModel(EngineError):
    type_name = "unknown_model"


class UnknownQuantFormat(EngineError):
    type_name = "unknown_quant_format"


class UnknownGpu(EngineError):
    type_name = "unknown_gpu"


class InvalidWorkload(EngineError):
    """A workload value is out of range (zero batch, negative context, TP not dividing heads)."""

    type_name = "invalid_workload"


def suggest(name: str, choices: list[str] | tuple[str, ...], n: int = 3) -> str:
    """Return a ' Did you mean: a, b?' suffix (a ``Message``) with close matches, or ''."""
    import difflib

    close = difflib.get_close_matches(name.lower(), [c.lower() for c in choices], n=n, cutoff=0.5)
    by_lower = {c.lower(): c for c in choices}
    if not close:
        return ""
    return msg(" Did you mean: {names}?", names=", ".join(by_lower[c] for c in close))


def for_page(message: str) -> str:
    """Return ``message`` as the web page words it: a sentence that tells the user to run a
    ``vram`` command becomes what to do on the page (same parameters); the CLI keeps its own
    words. Other messages are returned unchanged."""
    if not isinstance(message, Message):
        return message
    words = page_wording().get(message.template)
    return message if words is None else words(**message.params)


@cached
def page_wording() -> dict[str, Callable[..., Message]]:
    """CLI template -> the page's wording of it. tests/engine/test_bounds.py checks that every
    template naming a ``vram`` command has a row and that every row's key is still in use."""
    return {
        "unknown model {name!r}: not a catalog slug, Hugging Face repo id or model name."
        "{hint} Run 'vram models' for the list, or paste the model's config.json instead.": (
            lambda **p: msg(
                "unknown model {name!r}: not a catalog slug, Hugging Face repo id or model "
                "name.{hint} Pick one from the model list, or paste the model's config.json.",
                **p,
            )
        ),
        "unknown weight format {name!r}; run 'vram formats' or pick one of {known}.{hint}": (
            lambda **p: msg(
                "unknown weight format {name!r}; pick one from the weights list: {known}.{hint}",
                **p,
            )
        ),
        "unknown GPU {name!r}; `vram gpus` lists the {count} known ones.{hint}": (
            lambda **p: msg(
                "unknown GPU {name!r}; pick one of the {count} GPUs in the GPU list.{hint}", **p
            )
        ),
        "unknown preset {id!r}; see 'vram presets' for the list.{hint}": (
            lambda **p: msg("unknown preset {id!r}; pick one from the presets list.{hint}", **p)
        ),
    }
