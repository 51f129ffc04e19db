"""Engine errors. Messages name the value, the rule and the fix.

Every error the user can cause is an ``EngineError``; the CLI maps them to exit code 2
and the worker to ``{ok: false, error: {type, message, field}}``. Messages are built with
``messages.msg`` so the worker can answer in the page's language.
"""

from __future__ import annotations

from .messages import msg, render


class EngineError(Exception):
    """Base class for every error caused by input; ``field`` names the offending input."""

    type_name = "engine_error"

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field

    def to_dict(self, lang: str = "en") -> dict[str, str | None]:
        """The protocol's ``error`` object, with the message in ``lang`` (English fallback)."""
        return {"type": self.type_name, "message": render(self.message, lang), "field": self.field}


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
