"""The catalog for the browser, one small file per model: ``assets/models/<slug>.<hash>.json``
(its whole meta.json and config.json, ``engine.catalog.model_document``) and the compact
index the worker starts with, ``assets/catalog.<hash>.json`` (per model its file's hash and
the fields that list and name it, ``engine.catalog.INDEX_FIELDS``).

Content-hashed names under /assets/ are served immutable (sitegen/headers.py), so a model
whose data did not change keeps its URL across site versions and the service worker's model
cache (site/sw.js) keeps it. The engine wheel carries only the default model (the first
request waits for nothing): it does not grow with the catalog; public/ grows by one small
file (and its .gz) per model. The CLI and the build still read the files in the repo."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from engine.catalog import INDEX_FIELDS, INDEX_SCHEMA, index_row, list_models, model_document
from sitegen.wheel import content_hash

MODELS_DIR = "assets/models"


@dataclass(frozen=True)
class ModelData:
    """``files``: output path -> bytes (every model's file and the index); ``index_url``:
    where the worker reads the index; ``default``: the model the wheel carries."""

    files: dict[str, bytes]
    index_url: str
    default: str


def _dump(value: Any) -> bytes:
    """Compact, sorted JSON: the same data gives the same bytes (and so the same name)."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def model_data() -> ModelData:
    """Every catalog model's file and the index, from the catalog the build reads."""
    from sitegen.compute import default_model_slug

    entries = list_models()
    files: dict[str, bytes] = {}
    rows: dict[str, list[Any]] = {}
    for entry in entries:
        blob = _dump(model_document(entry.slug))
        digest = content_hash(blob)
        files[f"{MODELS_DIR}/{entry.slug}.{digest}.json"] = blob
        rows[entry.slug] = [digest, *index_row(entry)]
    index = {
        "schema": INDEX_SCHEMA,
        "dir": f"/{MODELS_DIR}/",
        "fields": list(INDEX_FIELDS),
        "models": rows,
    }
    blob = _dump(index)
    index_path = f"assets/catalog.{content_hash(blob)}.json"
    files[index_path] = blob
    default = default_model_slug([{"slug": e.slug} for e in entries]) if entries else ""
    return ModelData(files=files, index_url="/" + index_path, default=default)
