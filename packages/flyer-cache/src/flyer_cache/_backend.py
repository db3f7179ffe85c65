"""The store interface `cached` needs, and the store it uses when given none."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Optional, Protocol, Union, runtime_checkable

from flyer_cache._forksafe import ForkSafeLock
from flyer_cache._memory import MemoryCache
from flyer_cache._settings import CacheSettings

if TYPE_CHECKING:
    import redis


@runtime_checkable
class CacheBackend(Protocol):
    """What `cached` needs from a store: `MemoryCache` and `RedisBackend` provide it.

    Values are bytes (or str); `get` returns None for a missing key. `add` stores only if
    the key is absent; `delete_if_equal` removes a key only while it holds the given value
    (a lock released by its owner's token). The `a`-prefixed twins are awaitable. A store
    shared between processes sets `shared = True` so that `cached` takes a lock in it too.
    """

    def get(self, key: str) -> Any: ...

    def set(self, key: str, value: Any, ttl: Optional[float] = None) -> None: ...

    def add(self, key: str, value: Any, ttl: Optional[float] = None) -> bool: ...

    def delete(self, *keys: str) -> int: ...

    def delete_if_equal(self, key: str, value: Any) -> bool: ...

    async def aget(self, key: str) -> Any: ...

    async def aset(self, key: str, value: Any, ttl: Optional[float] = None) -> None: ...

    async def aadd(self, key: str, value: Any, ttl: Optional[float] = None) -> bool: ...

    async def adelete(self, *keys: str) -> int: ...

    async def adelete_if_equal(self, key: str, value: Any) -> bool: ...


BackendSpec = Union[CacheBackend, "redis.Redis", str, None]

_default: Optional[CacheBackend] = None
_default_lock = ForkSafeLock()


def default_backend() -> CacheBackend:
    """The store `cached` uses when given none, made on first use.

    Redis when `flyer_redis_url` or `flyer_redis_host` is set in the environment (or when
    flyer's app configured it from `.env`), otherwise one process-wide `MemoryCache`.
    """
    global _default
    backend = _default
    if backend is not None:
        return backend
    with _default_lock:
        if _default is None:
            settings = CacheSettings.from_env()
            if settings.configured:
                from flyer_cache._redis_backend import RedisBackend

                _default = RedisBackend.from_settings(settings)
            else:
                _default = MemoryCache()
        return _default


def set_default_backend(backend: BackendSpec) -> None:
    """Make `backend` the store of every `cached` function given none (None: choose again).

    Takes a store, a `redis.Redis` client or a Redis URL.
    """
    global _default
    with _default_lock:
        _default = None if backend is None else resolve_backend(backend)


def resolve_backend(backend: BackendSpec) -> CacheBackend:
    """A store from what `cached(backend=...)` accepts; None means the default store."""
    if backend is None:
        return default_backend()
    if isinstance(backend, CacheBackend):  # a redis.Redis client is not one (no `aget`)
        return backend
    # A client or a URL: Redis is used, so redis-py is imported now (not with flyer-cache).
    import redis

    from flyer_cache._redis_backend import RedisBackend

    if isinstance(backend, redis.Redis):
        return RedisBackend(backend)
    if isinstance(backend, str):
        return RedisBackend.from_url(backend)
    raise TypeError(
        f"backend={backend!r}: expected a MemoryCache, a RedisBackend (or any CacheBackend), "
        "a redis.Redis client, a Redis URL, or None for the default"
    )
