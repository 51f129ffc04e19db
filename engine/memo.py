"""Memoization keyed by a ModelSpec's identity, for hot paths (fit sweeps, the worker)."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

_T = TypeVar("_T")


def per_spec_cache(fn: Callable[..., _T]) -> Callable[..., _T]:
    """Memoize ``fn(spec, *args)`` by the spec's identity.

    ``functools.cache`` would hash the frozen ``ModelSpec`` (its whole tensor list) on every
    call, which costs more than the estimate itself. The stored entry keeps the spec alive,
    so its ``id`` cannot be reused while cached.
    """
    store: dict[tuple[Any, ...], tuple[object, _T]] = {}

    @wraps(fn)
    def wrapper(spec: object, *args: Any) -> _T:
        key = (id(spec), *args)
        hit = store.get(key)
        if hit is not None and hit[0] is spec:
            return hit[1]
        value = fn(spec, *args)
        if len(store) >= 4096:
            store.clear()
        store[key] = (spec, value)
        return value

    return wrapper
