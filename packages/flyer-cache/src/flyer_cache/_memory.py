"""`MemoryCache`: an in-process store with per-key TTLs, flyer's cache when Redis is absent."""

from __future__ import annotations

import collections
import math
import time
from typing import Any, Callable, Optional, Tuple

from flyer_cache._forksafe import ForkSafeLock

#: Every this many writes, expired entries are swept out (reads drop them one by one).
_SWEEP_EVERY = 1024


def check_ttl(ttl: Optional[float]) -> Optional[float]:
    """`ttl` in seconds if it is positive (or None: never expires), else a one-line error."""
    if ttl is None:
        return None
    if isinstance(ttl, bool) or not isinstance(ttl, (int, float)) or not ttl > 0:
        raise ValueError(f"ttl={ttl!r}: expected a number of seconds > 0, or None for no expiry")
    return float(ttl)


class MemoryCache:
    """A thread-safe key-value store with per-key time-to-live, bounded by `maxsize` entries.

    Values are kept as they are (no copy, no serialisation). When full, the least recently
    used entry makes room. `get`/`set`/`add`/`delete` have awaitable twins (`aget`...) that
    never block the event loop, so the same store serves sync and async code.
    """

    #: Entries live in this process only (the cache decorator needs no cross-process lock).
    shared = False

    def __init__(
        self,
        maxsize: Optional[int] = 10_000,
        *,
        default_ttl: Optional[float] = None,
        timer: Callable[[], float] = time.monotonic,
    ) -> None:
        if maxsize is not None and (isinstance(maxsize, bool) or not isinstance(maxsize, int)):
            raise ValueError(f"maxsize={maxsize!r}: expected an integer >= 1, or None for no bound")
        if maxsize is not None and maxsize < 1:
            raise ValueError(f"maxsize={maxsize!r}: expected an integer >= 1, or None for no bound")
        self.maxsize = maxsize
        self.default_ttl = check_ttl(default_ttl)
        self._timer = timer
        self._lock = ForkSafeLock()
        self._data: collections.OrderedDict[str, Tuple[Any, float]] = collections.OrderedDict()
        self._writes = 0

    def __repr__(self) -> str:
        return f"MemoryCache(maxsize={self.maxsize!r}, default_ttl={self.default_ttl!r})"

    def _expiry(self, ttl: Optional[float]) -> float:
        seconds = check_ttl(ttl) if ttl is not None else self.default_ttl
        return math.inf if seconds is None else self._timer() + seconds

    def _live(self, key: str, now: float) -> Optional[Tuple[Any, float]]:
        item = self._data.get(key)
        if item is None:
            return None
        if item[1] <= now:
            del self._data[key]
            return None
        return item

    def _store(self, key: str, value: Any, expires: float) -> None:
        self._data[key] = (value, expires)
        self._data.move_to_end(key)
        self._writes += 1
        if self._writes % _SWEEP_EVERY == 0:
            now = self._timer()
            for stale in [k for k, (_, at) in self._data.items() if at <= now]:
                del self._data[stale]
        if self.maxsize is not None:
            while len(self._data) > self.maxsize:
                self._data.popitem(last=False)

    def get(self, key: str, default: Any = None) -> Any:
        """The value for `key`, or `default` when it is absent or expired."""
        with self._lock:
            item = self._live(key, self._timer())
            if item is None:
                return default
            self._data.move_to_end(key)
            return item[0]

    def set(self, key: str, value: Any, ttl: Optional[float] = None) -> None:
        """Store `value` for `ttl` seconds (default: `default_ttl`; None: until evicted)."""
        expires = self._expiry(ttl)
        with self._lock:
            self._store(key, value, expires)

    def add(self, key: str, value: Any, ttl: Optional[float] = None) -> bool:
        """Store `value` only if `key` is absent (or expired); True when it was stored."""
        expires = self._expiry(ttl)
        with self._lock:
            if self._live(key, self._timer()) is not None:
                return False
            self._store(key, value, expires)
            return True

    def delete(self, *keys: str) -> int:
        """Remove `keys`; the number of live entries removed."""
        with self._lock:
            now = self._timer()
            removed = 0
            for key in keys:
                if self._live(key, now) is not None:
                    del self._data[key]
                    removed += 1
            return removed

    def delete_if_equal(self, key: str, value: Any) -> bool:
        """Remove `key` only while it holds `value` (a lock released by its owner's token)."""
        with self._lock:
            item = self._live(key, self._timer())
            if item is None or item[0] != value:
                return False
            del self._data[key]
            return True

    def ttl(self, key: str) -> Optional[float]:
        """Seconds `key` has left (`math.inf`: no expiry), or None when it is absent."""
        with self._lock:
            now = self._timer()
            item = self._live(key, now)
            return None if item is None else item[1] - now

    def clear(self) -> None:
        """Remove every entry."""
        with self._lock:
            self._data.clear()

    def __len__(self) -> int:
        with self._lock:
            now = self._timer()
            return sum(1 for _, at in self._data.values() if at > now)

    def __contains__(self, key: object) -> bool:
        if not isinstance(key, str):
            return False
        with self._lock:
            return self._live(key, self._timer()) is not None

    async def aget(self, key: str, default: Any = None) -> Any:
        """`get`, awaitable (it never waits on I/O)."""
        return self.get(key, default)

    async def aset(self, key: str, value: Any, ttl: Optional[float] = None) -> None:
        """`set`, awaitable."""
        self.set(key, value, ttl)

    async def aadd(self, key: str, value: Any, ttl: Optional[float] = None) -> bool:
        """`add`, awaitable."""
        return self.add(key, value, ttl)

    async def adelete(self, *keys: str) -> int:
        """`delete`, awaitable."""
        return self.delete(*keys)

    async def adelete_if_equal(self, key: str, value: Any) -> bool:
        """`delete_if_equal`, awaitable."""
        return self.delete_if_equal(key, value)
