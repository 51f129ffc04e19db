"""Presets: named, complete requests ("Llama-3.1-8B chat on an RTX 4090, Q4_K_M, 8k").

Each preset is a row of ``data/presets.json``: an id, a title and a one-line description,
the mode (``inference`` or ``training``), the catalog model slug and the request ``args``
exactly as the worker's ``infer``/``train`` ops take them (validated by
``workload.inference_from_dict`` / ``training_from_dict``, so a preset can never hold a
setting the calculator would reject).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from importlib import resources
from typing import Any, Literal

from .errors import EngineError, InvalidWorkload
from .form import Mode
from .memo import cached
from .messages import msg
from .workload import InferenceWorkload, TrainingWorkload, inference_from_dict, training_from_dict

MODES = tuple(dict.fromkeys(m.result for m in Mode))  # the schema-1 words: inference, training


@dataclass(frozen=True)
class Preset:
    """A named request. ``args`` are the op's workload arguments (treat as read-only)."""

    id: str
    title: str
    description: str
    mode: Literal["inference", "training"]
    model: str  # catalog slug
    args: dict[str, Any]

    @property
    def op(self) -> str:
        """The worker/API op this preset runs: ``infer`` or ``train``."""
        return next(m.op for m in Mode if m.result == self.mode)

    def request(self) -> dict[str, Any]:
        """Return the full op arguments (a fresh dict): ``{"model": slug, **args}``."""
        return {"model": self.model, **json.loads(json.dumps(self.args))}

    def workload(self) -> InferenceWorkload | TrainingWorkload:
        """Return the validated workload (``InvalidWorkload`` names a bad setting)."""
        if self.mode == Mode.INFER.result:
            return inference_from_dict(dict(self.args))
        return training_from_dict(dict(self.args))


def _parse(row: Any, index: int) -> Preset:
    where = msg("presets.json entry {index}", index=index)
    if not isinstance(row, dict):
        raise EngineError(msg("{where} must be an object", where=where), field="presets")
    missing = [k for k in ("id", "title", "description", "mode", "model", "args") if k not in row]
    if missing:
        raise EngineError(
            msg("{where} lacks {fields}", where=where, fields=", ".join(missing)), field="presets"
        )
    if row["mode"] not in MODES:
        raise EngineError(
            msg(
                "{where} ({id}): mode must be one of {modes}, got {mode!r}",
                where=where,
                id=row["id"],
                modes=", ".join(MODES),
                mode=row["mode"],
            ),
            field="presets",
        )
    if not isinstance(row["args"], dict):
        raise EngineError(
            msg("{where} ({id}): args must be an object", where=where, id=row["id"]),
            field="presets",
        )
    return Preset(
        id=str(row["id"]),
        title=str(row["title"]),
        description=str(row["description"]),
        mode=row["mode"],
        model=str(row["model"]),
        args=dict(row["args"]),
    )


@cached
def list_presets() -> tuple[Preset, ...]:
    """Return every preset, in the file's order (curated: simplest first)."""
    text = resources.files("engine").joinpath("data/presets.json").read_text(encoding="utf-8")
    raw = json.loads(text)
    rows = raw["presets"] if isinstance(raw, dict) else raw
    presets = tuple(_parse(row, i) for i, row in enumerate(rows))
    ids = [p.id for p in presets]
    dupes = sorted({i for i in ids if ids.count(i) > 1})
    if dupes:
        raise EngineError(msg("duplicate preset ids in presets.json: {ids}", ids=", ".join(dupes)))
    return presets


def get_preset(preset_id: str) -> Preset:
    """Return the preset with this id (``InvalidWorkload`` with suggestions otherwise)."""
    from .errors import suggest

    for preset in list_presets():
        if preset.id == preset_id:
            return preset
    ids = [p.id for p in list_presets()]
    raise InvalidWorkload(
        msg(
            "unknown preset {id!r}; see 'vram presets' for the list.{hint}",
            id=preset_id,
            hint=suggest(preset_id, ids),
        ),
        field="preset",
    )
