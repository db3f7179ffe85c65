"""Hooks told of every lookup of a `cached` function: for hit and miss metrics."""

from __future__ import annotations

import dataclasses
import logging
import threading
from typing import Callable, List

logger = logging.getLogger("flyer.cache")


@dataclasses.dataclass(frozen=True)
class CacheLookup:
    """One call of a `cached` function: which function, which store, and what the read found."""

    cache: str  #: the function's `module.qualname`
    backend: str  #: the store's class name (`MemoryCache`, `RedisBackend`, ...)
    result: str  #: `hit`, `miss` (the function was called) or `error` (the store failed)


LookupHook = Callable[[CacheLookup], None]

_hooks: List[LookupHook] = []
_mutex = threading.Lock()


def add_lookup_hook(hook: LookupHook) -> Callable[[], None]:
    """Call `hook(lookup)` with a `CacheLookup` after every first read of every `cached`
    function in this process; returns the callable that removes it. A hook that raises is
    logged, never the caller's problem."""
    with _mutex:
        _hooks.append(hook)

    def remove() -> None:
        with _mutex:
            if hook in _hooks:
                _hooks.remove(hook)

    return remove


def report(cache: str, backend: object, result: str) -> None:
    """Tell every hook (nothing to do, and nearly free, when there is none)."""
    if not _hooks:
        return
    lookup = CacheLookup(cache, type(backend).__name__, result)
    for hook in list(_hooks):
        try:
            hook(lookup)
        except Exception:
            logger.warning("cache lookup hook %r failed", hook, exc_info=True)
