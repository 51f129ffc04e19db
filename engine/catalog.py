"""The model catalog: real Hugging Face ``config.json`` files with a metadata sidecar.

Each model lives in ``engine/data/models/<slug>/`` as ``config.json`` (the file published on
the Hub, kept verbatim where it could be found; ``meta.json`` says which) and ``meta.json``
(display name, repo id, release date, served context length, licence, where the config text
came from). Catalog models go through the same ``arch.parse_config`` as configs pasted by
users, so there is one code path.

The directory listing is read lazily with ``importlib.resources`` (works from a wheel and in
Pyodide) and cached; nothing is loaded at import time.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, fields
from importlib.resources import files
from importlib.resources.abc import Traversable
from typing import TYPE_CHECKING, Any, Protocol

from .errors import ConfigError, UnknownModel, suggest
from .memo import cached
from .messages import msg

if TYPE_CHECKING:
    from .model import ModelSpec

_MODELS_PACKAGE = "engine"
_MODELS_DIR = ("data", "models")


@dataclass(frozen=True)
class CatalogEntry:
    """One catalog model's metadata (the fields of its ``meta.json``)."""

    slug: str
    display_name: str
    hf_repo: str
    family: str
    developer: str
    release_date: str  # "YYYY-MM" or "YYYY-MM-DD"
    context_length: int  # tokens the model is served with (model card), not always max_position
    license: str
    parameters_label: str  # as published, e.g. "47B (13B active)"
    source: str  # where the config.json text was copied from
    verbatim: bool  # True: config.json is the published file's JSON content unchanged
    fetched: str  # date the config text was taken (YYYY-MM-DD)
    notes: str = ""


META_FIELDS: tuple[str, ...] = tuple(f.name for f in fields(CatalogEntry))
_REQUIRED_FIELDS: tuple[str, ...] = tuple(f for f in META_FIELDS if f != "notes")


def _models_root() -> Traversable:
    root = files(_MODELS_PACKAGE)
    for part in _MODELS_DIR:
        root = root / part
    return root


class CatalogSource(Protocol):
    """Where the catalog's files come from: the package data (CPython, the CLI), a folder
    (tests, benchmarks), or the JSON the browser worker fetched per model, so the wheel
    need not carry every model. ``read`` returns a file's text, or None if it is absent."""

    def slugs(self) -> Iterable[str]: ...

    def read(self, slug: str, name: str) -> str | None: ...


class TreeSource:
    """A ``<slug>/meta.json`` + ``<slug>/config.json`` tree (default: the package data)."""

    def __init__(self, root: Traversable | None = None) -> None:
        self._root = root

    @property
    def root(self) -> Traversable:
        return self._root if self._root is not None else _models_root()

    def slugs(self) -> Iterable[str]:
        for node in self.root.iterdir():
            if node.is_dir() and not node.name.startswith((".", "_")):
                yield node.name

    def read(self, slug: str, name: str) -> str | None:
        node = self.root / slug / name
        return node.read_text(encoding="utf-8") if node.is_file() else None


class MappingSource:
    """Catalog data held in memory: ``{slug: {"meta": {...}, "config": {...} | None}}``,
    as the worker receives it (the index of every model's meta, each config once fetched).
    A config not yet present reads as absent."""

    def __init__(self, models: Mapping[str, Mapping[str, Any]]) -> None:
        self.models: dict[str, dict[str, Any]] = {k: dict(v) for k, v in models.items()}

    def slugs(self) -> Iterable[str]:
        return iter(self.models)

    def read(self, slug: str, name: str) -> str | None:
        value = self.models.get(slug, {}).get(name.removesuffix(".json"))
        return None if value is None else json.dumps(value)

    def add_config(self, slug: str, config: Mapping[str, Any]) -> None:
        """Hand over a fetched config.json (the worker, before a request names the model)."""
        self.models.setdefault(slug, {})["config"] = dict(config)
        _load_config_text.cache_clear()
        load_model.cache_clear()


_source: CatalogSource = TreeSource()


def set_source(source: CatalogSource | None) -> None:
    """Read the catalog from ``source`` from now on (None: the package data again)."""
    global _source
    _source = source if source is not None else TreeSource()
    for memoized in (_entries, _load_config_text, load_model, _name_index):
        memoized.cache_clear()


def _read_text(slug: str, name: str) -> str:
    try:
        text = _source.read(slug, name)
    except OSError as exc:
        text, detail = None, str(exc)
    else:
        detail = "missing"
    if text is None:
        raise ConfigError(
            msg(
                "catalog file {what} cannot be read as JSON ({detail}); "
                "the package data is damaged, reinstall it",
                what=f"{slug}/{name}",
                detail=detail,
            ),
            field="model",
        )
    return text


def _parse_json(text: str, what: str) -> Any:
    try:
        return json.loads(text)
    except ValueError as exc:
        raise ConfigError(
            msg(
                "catalog file {what} cannot be read as JSON ({detail}); "
                "the package data is damaged, reinstall it",
                what=what,
                detail=str(exc),
            ),
            field="model",
        ) from None


def _entry_from_meta(raw: Any, slug: str) -> CatalogEntry:
    if not isinstance(raw, dict):
        raise ConfigError(
            msg("catalog meta.json for {slug!r} is not a JSON object", slug=slug), field="model"
        )
    missing = [k for k in _REQUIRED_FIELDS if k not in raw]
    if missing:
        raise ConfigError(
            msg(
                "catalog meta.json for {slug!r} lacks {fields}",
                slug=slug,
                fields=", ".join(missing),
            ),
            field="model",
        )
    if raw["slug"] != slug:
        raise ConfigError(
            msg(
                "catalog meta.json in folder {slug!r} names slug {named!r}; "
                "the folder name and slug must match",
                slug=slug,
                named=raw["slug"],
            ),
            field="model",
        )
    return CatalogEntry(**{k: raw[k] for k in META_FIELDS if k in raw})


@cached
def _entries() -> dict[str, CatalogEntry]:
    found: dict[str, CatalogEntry] = {}
    for slug in _source.slugs():
        try:
            text = _source.read(slug, "meta.json")
        except OSError:
            text = None
        if text is None:
            continue
        found[slug] = _entry_from_meta(_parse_json(text, f"{slug}/meta.json"), slug)
    return dict(sorted(found.items()))


def list_models() -> tuple[CatalogEntry, ...]:
    """Return every catalog entry, sorted by slug."""
    return tuple(_entries().values())


def get_entry(slug: str) -> CatalogEntry:
    """Return the entry for an exact catalog ``slug`` (see ``resolve_model`` for other names)."""
    entry = _entries().get(slug)
    if entry is None:
        raise UnknownModel(_unknown_message(slug), field="model")
    return entry


@cached
def _load_config_text(slug: str) -> str:
    get_entry(slug)  # raises UnknownModel for a bad slug
    return _read_text(slug, "config.json")


def load_config(slug: str) -> dict[str, Any]:
    """Return a fresh copy of the model's ``config.json`` as a dict (safe to mutate)."""
    raw = json.loads(_load_config_text(slug))
    if not isinstance(raw, dict):
        raise ConfigError(
            msg("catalog config.json for {slug!r} is not a JSON object", slug=slug), field="model"
        )
    return raw


@cached
def load_model(slug: str) -> ModelSpec:
    """Return the parsed ``ModelSpec`` of a catalog model (cached per slug)."""
    from .arch import parse_config

    return parse_config(load_config(slug), name=get_entry(slug).display_name)


@cached
def _name_index() -> dict[str, str]:
    """Map lower-cased slug, HF repo id, repo name and display name to the slug."""
    index: dict[str, str] = {}
    for entry in list_models():
        keys = (entry.display_name, entry.hf_repo.split("/")[-1], entry.hf_repo, entry.slug)
        for key in keys:  # later keys win, so a slug always resolves to itself
            index[key.lower()] = entry.slug
    return index


def resolve_model(name: str) -> str:
    """Return the catalog slug for a slug, HF repo id (any case) or display name.

    Raises ``UnknownModel`` naming close matches when nothing matches.
    """
    if not isinstance(name, str):
        raise UnknownModel(
            msg("model must be a name (a string), not {type}", type=type(name).__name__),
            field="model",
        )
    key = name.strip().lower()
    slug = _name_index().get(key)
    if slug is None and key.startswith("https://huggingface.co/"):
        slug = _name_index().get(key.removeprefix("https://huggingface.co/").strip("/"))
    if slug is None:
        raise UnknownModel(_unknown_message(name), field="model")
    return slug


def _unknown_message(name: str) -> str:
    choices = [e.slug for e in list_models()]
    hint = suggest(name, choices)
    if not hint:
        hint = suggest(name, [e.hf_repo for e in list_models()])
    return msg(
        "unknown model {name!r}: not a catalog slug, Hugging Face repo id or model name."
        "{hint} Run 'vram models' for the list, or paste the model's config.json instead.",
        name=name,
        hint=hint,
    )
