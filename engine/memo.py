"""The engine's one cache mechanism: bounded memoization for data tables and hot paths.

Two keys, both bounded:

* ``cached``: by the arguments' values (data tables loaded once, small lookups such as a
  ggml row size); ``functools.lru_cache`` underneath.
* ``per_spec_cache``: by the first argument's identity (a ``ModelSpec`` or ``GpuSpec``)
  plus the other arguments, in a ``_Store`` that forgets its oldest entry when full.
  ``functools.cache`` would hash the frozen ``ModelSpec`` (its whole tensor list) on every
  call, which costs more than the estimate itself. The stored entry keeps the object
  alive, so its ``id`` cannot be reused while cached.

Cached values are shared: callers treat them as read-only.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from functools import lru_cache, wraps
from typing import Any, TypeVar

_T = TypeVar("_T")

DEFAULT_MAXSIZE = 4096


class _Store:
    """A bounded dict that forgets its oldest entry when full."""

    __slots__ = ("_data", "maxsize")

    def __init__(self, maxsize: int) -> None:
        self._data: dict[Hashable, Any] = {}
        self.maxsize = maxsize

    def get(self, key: Hashable, default: Any = None) -> Any:
        return self._data.get(key, default)

    def put(self, key: Hashable, value: Any) -> None:
        if len(self._data) >= self.maxsize:
            self._data.pop(next(iter(self._data)))
        self._data[key] = value


def cached(fn: Callable[..., _T] | None = None, *, maxsize: int = DEFAULT_MAXSIZE) -> Any:
    """Memoize ``fn(*args)`` by the values of its (hashable, positional) arguments.

    ``functools.lru_cache`` underneath: its C lookup keeps hot helpers (a ggml row size,
    asked once per tensor) as cheap as a dict access.
    """
    if fn is None:
        return lru_cache(maxsize=maxsize)
    return lru_cache(maxsize=maxsize)(fn)


def per_spec_cache(fn: Callable[..., _T] | None = None, *, maxsize: int = DEFAULT_MAXSIZE) -> Any:
    """Memoize ``fn(spec, *args)`` by the spec's identity and the other arguments' values."""

    def decorate(fn: Callable[..., _T]) -> Callable[..., _T]:
        store = _Store(maxsize)

        @wraps(fn)
        def wrapper(spec: object, *args: Hashable) -> _T:
            key = (id(spec), *args)
            hit = store.get(key)
            if hit is not None and hit[0] is spec:
                return hit[1]
            value = fn(spec, *args)
            store.put(key, (spec, value))
            return value

        return wrapper

    return decorate if fn is None else decorate(fn)
