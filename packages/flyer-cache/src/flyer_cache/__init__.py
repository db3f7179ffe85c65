"""Redis clients and pools, an in-memory TTL cache and a cache decorator.

- `get_redis_pool(host, port, password, db)` / `from_url(url)`: shared, lazily connected,
  fork-safe `redis.Redis` clients with timeouts and retries; `get_async_redis_pool` /
  `async_from_url` for asyncio (one pool per event loop); sentinel URLs.
- `CacheSettings.from_env()`: the `flyer_redis_*` variables; `get_configured_redis()`.
- `MemoryCache`: the in-process TTL store; `RedisBackend`: Redis as a cache store.
- `cached(ttl, key=..., backend=...)` (alias `cache_result(ttl)`): memoise sync and async
  functions with one computation per key across threads, tasks and processes.
- `ping` / `aping`: readiness under a deadline. `CachePlugin`: flyer-core's plugin.

redis-py is imported on first use of Redis (a client, a pool, `RedisBackend`), not by
importing flyer-cache.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from flyer_cache.__about__ import __version__
from flyer_status import lazy

if TYPE_CHECKING:
    from flyer_cache._async_pools import async_from_url, close_async_pools, get_async_redis_pool
    from flyer_cache._backend import CacheBackend, default_backend, set_default_backend
    from flyer_cache._cached import (
        AsyncCachedFunction,
        CacheDecorator,
        CachedFunction,
        cache_result,
        cached,
    )
    from flyer_cache._errors import CacheBackendError
    from flyer_cache._events import add_lookup_hook
    from flyer_cache._memory import MemoryCache
    from flyer_cache._plugin import CachePlugin
    from flyer_cache._pools import close_pools, from_url, get_redis_pool
    from flyer_cache._readiness import aping, aping_error, ping, ping_error
    from flyer_cache._redis_backend import RedisBackend
    from flyer_cache._serializers import JsonSerializer, PickleSerializer, Serializer
    from flyer_cache._settings import (
        CacheSettings,
        get_configured_async_redis,
        get_configured_redis,
    )
    from flyer_cache._urls import SentinelURL, redact_url

# Every public name is imported when first read (PEP 562): the `flyer.plugins` entry point
# loads `flyer_cache._plugin` and what that needs, not every module of the package.
_LAZY = {
    "async_from_url": "flyer_cache._async_pools",
    "close_async_pools": "flyer_cache._async_pools",
    "get_async_redis_pool": "flyer_cache._async_pools",
    "CacheBackend": "flyer_cache._backend",
    "default_backend": "flyer_cache._backend",
    "set_default_backend": "flyer_cache._backend",
    "AsyncCachedFunction": "flyer_cache._cached",
    "CacheDecorator": "flyer_cache._cached",
    "CachedFunction": "flyer_cache._cached",
    "cache_result": "flyer_cache._cached",
    "cached": "flyer_cache._cached",
    "CacheBackendError": "flyer_cache._errors",
    "add_lookup_hook": "flyer_cache._events",
    "MemoryCache": "flyer_cache._memory",
    "CachePlugin": "flyer_cache._plugin",
    "close_pools": "flyer_cache._pools",
    "from_url": "flyer_cache._pools",
    "get_redis_pool": "flyer_cache._pools",
    "aping": "flyer_cache._readiness",
    "aping_error": "flyer_cache._readiness",
    "ping": "flyer_cache._readiness",
    "ping_error": "flyer_cache._readiness",
    "RedisBackend": "flyer_cache._redis_backend",
    "JsonSerializer": "flyer_cache._serializers",
    "PickleSerializer": "flyer_cache._serializers",
    "Serializer": "flyer_cache._serializers",
    "CacheSettings": "flyer_cache._settings",
    "get_configured_async_redis": "flyer_cache._settings",
    "get_configured_redis": "flyer_cache._settings",
    "SentinelURL": "flyer_cache._urls",
    "redact_url": "flyer_cache._urls",
}

__all__ = [
    "AsyncCachedFunction",
    "CacheBackend",
    "CacheBackendError",
    "CacheDecorator",
    "CachePlugin",
    "CacheSettings",
    "CachedFunction",
    "JsonSerializer",
    "MemoryCache",
    "PickleSerializer",
    "RedisBackend",
    "SentinelURL",
    "Serializer",
    "__version__",
    "add_lookup_hook",
    "aping",
    "aping_error",
    "async_from_url",
    "cache_result",
    "cached",
    "close_async_pools",
    "close_pools",
    "default_backend",
    "from_url",
    "get_async_redis_pool",
    "get_configured_async_redis",
    "get_configured_redis",
    "get_redis_pool",
    "ping",
    "ping_error",
    "redact_url",
    "set_default_backend",
]


__getattr__, __dir__ = lazy.exports(__name__, _LAZY)
