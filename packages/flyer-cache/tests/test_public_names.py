"""flyer_cache's public names are what a user calls; plumbing stays in its modules."""

from __future__ import annotations

import flyer_cache

PUBLIC = {
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
}


def test_all_is_the_user_api_and_every_name_in_it_exists() -> None:
    assert set(flyer_cache.__all__) == PUBLIC
    assert all(hasattr(flyer_cache, name) for name in flyer_cache.__all__)


def test_plumbing_is_not_exported() -> None:
    for name in ("settings_fields", "resolve_backend", "default_options"):
        assert name not in flyer_cache.__all__
        assert not hasattr(flyer_cache, name)
