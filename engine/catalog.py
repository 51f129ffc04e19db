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


# The compact index the browser worker starts with (sitegen/modeldata.py writes it): per
# model its file's content hash and the fields that list and name it; the rest of meta.json
# (where the config came from, notes) and config.json come with the model's own file.
INDEX_SCHEMA = 1
INDEX_FIELDS: tuple[str, ...] = (
    "display_name",
    "hf_repo",
    "family",
    "developer",
    "release_date",
    "context_length",
    "license",
    "parameters_label",
    "verbatim",
    "fetched",
)


class IndexSource:
    """The browser's catalog: every model's listing fields from the index, a model's whole
    ``meta.json`` and ``config.json`` once the worker has fetched its file (``add``), and the
    models the wheel itself carries (``local``: the default model, so the first request
    waits for nothing). A model neither fetched nor local reads as not on this device."""

    def __init__(self, index: Mapping[str, Any], local: CatalogSource | None = None) -> None:
        if index.get("schema") != INDEX_SCHEMA:
            raise ValueError(f"catalog index schema {index.get('schema')!r}, not {INDEX_SCHEMA}")
        names = tuple(index["fields"])
        self.dir: str = index["dir"]
        self.rows: dict[str, dict[str, Any]] = {}
        self.hashes: dict[str, str] = {}
        for slug, (digest, *values) in index["models"].items():
            self.hashes[slug] = digest
            self.rows[slug] = {"slug": slug, **dict(zip(names, values, strict=True))}
        self.local = local
        try:
            self.local_slugs = frozenset(local.slugs() if local is not None else ())
        except OSError:  # a wheel that carries no model at all
            self.local_slugs = frozenset()
        self.models: dict[str, dict[str, Any]] = {}

    def slugs(self) -> Iterable[str]:
        return sorted(self.rows.keys() | self.local_slugs)

    def meta(self, slug: str) -> dict[str, Any] | None:
        """The fullest meta at hand (fetched or local: whole; else the index's fields)."""
        if slug in self.models:
            return self.models[slug]["meta"]
        if slug in self.local_slugs and self.local is not None:
            text = self.local.read(slug, "meta.json")
            return None if text is None else json.loads(text)
        row = self.rows.get(slug)
        return None if row is None else {**row, "source": ""}

    def read(self, slug: str, name: str) -> str | None:
        if slug in self.models:
            value = self.models[slug].get(name.removesuffix(".json"))
            return None if value is None else json.dumps(value)
        if slug in self.local_slugs and self.local is not None:
            return self.local.read(slug, name)
        if name == "meta.json":
            meta = self.meta(slug)
            return None if meta is None else json.dumps(meta)
        if slug in self.rows:
            raise ConfigError(
                msg(
                    "{name} is not saved on this device and could not be downloaded: "
                    "connect to the internet and choose it again (while online, 'Make all "
                    "models available offline' saves every model)",
                    name=self.rows[slug].get("display_name") or slug,
                ),
                field="model",
            )
        return None

    def missing(self, slug: str) -> str | None:
        """The URL of ``slug``'s file if the worker must fetch it first, else None."""
        if slug in self.models or slug in self.local_slugs or slug not in self.hashes:
            return None
        return f"{self.dir}{slug}.{self.hashes[slug]}.json"

    def add(self, slug: str, text: str) -> dict[str, Any]:
        """Take a fetched model file (``model_document``'s JSON); return its meta."""
        doc = json.loads(text)
        if not isinstance(doc, dict) or doc.get("slug") != slug:
            raise ValueError(f"the file fetched for {slug!r} is not that model's data")
        self.models[slug] = doc
        return doc["meta"]


def model_document(slug: str) -> dict[str, Any]:
    """One model's file for the browser: its whole ``meta.json`` and ``config.json``."""
    meta = _parse_json(_read_text(slug, "meta.json"), f"{slug}/meta.json")
    return {"slug": slug, "meta": meta, "config": load_config(slug)}


def index_row(entry: CatalogEntry) -> list[Any]:
    """The index's fields of one model (``INDEX_FIELDS``, in order)."""
    return [getattr(entry, name) for name in INDEX_FIELDS]


_source: CatalogSource = TreeSource()


def set_source(source: CatalogSource | None) -> None:
    """Read the catalog from ``source`` from now on (None: the package data again)."""
    global _source
    _source = source if source is not None else TreeSource()
    for memoized in (_entries, _load_config_text, load_model, _name_index):
        memoized.cache_clear()


def use_index(text: str) -> None:
    """Read the catalog from the browser's index (JSON text) from now on, with the models
    the package data holds (the wheel's default model) as they are. Unlike ``set_source``
    this keeps the models already parsed (the start-up snapshot's warm default model: its
    data is the same in the package and in its file)."""
    global _source
    local = _source if isinstance(_source, TreeSource) else None
    _source = IndexSource(json.loads(text), local)
    _entries.cache_clear()
    _name_index.cache_clear()
    _name_index()  # built now, during start-up, not on the first request


def model_to_fetch(name: object) -> str | None:
    """The URL of the file the worker must fetch before a request naming model ``name``
    (a slug, repo id or display name); None when it is at hand or not a catalog model."""
    if not isinstance(_source, IndexSource) or not isinstance(name, str):
        return None
    try:
        slug = resolve_model(name.strip())
    except UnknownModel:
        return None
    return _source.missing(slug)


def add_model(slug: str, text: str) -> None:
    """Hand over a model's fetched file (the worker, before a request names the model)."""
    if not isinstance(_source, IndexSource):
        raise TypeError("add_model needs the browser's index source (use_index)")
    meta = _source.add(slug, text)
    # the whole meta replaces the index's fields; names and slugs are the same, so the
    # name index stays as it is
    _entries()[slug] = _entry_from_meta(meta, slug)


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
    if isinstance(_source, IndexSource):  # the index is parsed already: no JSON round trip
        for slug in _source.slugs():
            meta = _source.meta(slug)
            if meta is not None:
                found[slug] = _entry_from_meta(meta, slug)
        return dict(sorted(found.items()))
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
