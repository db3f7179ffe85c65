"""CachePlugin: found by entry point, sets up the default store, checks and closes Redis."""

from __future__ import annotations

import importlib.metadata
import sys
import time
from types import SimpleNamespace
from typing import Any, Callable

import redis

from flyer_cache import CachePlugin, MemoryCache, RedisBackend, default_backend

# Headroom for a machine whose cores are busy with other work: a deadline is still told apart
# from the failure it guards against, never held to the millisecond.
SLACK = 5.0


def _entry_points() -> Any:
    if sys.version_info >= (3, 10):
        return importlib.metadata.entry_points(group="flyer.plugins")
    return importlib.metadata.entry_points().get("flyer.plugins", [])


def test_registered_under_flyer_plugins() -> None:
    (entry,) = [e for e in _entry_points() if e.name == "cache"]
    plugin = entry.load()()
    assert isinstance(plugin, CachePlugin)
    assert (plugin.name, plugin.order) == ("cache", 10)
    assert entry.load()() is not plugin  # a fresh object per app


async def test_memory_when_nothing_is_configured() -> None:
    plugin = CachePlugin()
    plugin.setup(app=None, settings=SimpleNamespace(environ={}, base_url="/flyer"))
    assert isinstance(default_backend(), MemoryCache)
    await plugin.startup()
    assert await plugin.check() == {"ok": True, "backend": "memory"}
    await plugin.shutdown()


async def test_redis_configured_from_the_app_settings(
    redis_url: str, admin: redis.Redis, ns: str, connection_gone: Callable[[str], bool]
) -> None:
    plugin = CachePlugin()
    environ = {"flyer_redis_url": redis_url + "?client_name=" + ns.replace(":", "-")}
    plugin.setup(app=None, settings=SimpleNamespace(environ=environ, base_url="/flyer"))
    backend = default_backend()
    assert isinstance(backend, RedisBackend)
    await plugin.startup()
    assert ns.replace(":", "-") not in [c.get("name") for c in admin.client_list()]  # lazy
    assert await plugin.check() == {"ok": True, "backend": "redis"}
    await backend.aset(f"{ns}:k", b"1", ttl=10)
    backend.set(f"{ns}:k2", b"1", ttl=10)
    assert ns.replace(":", "-") in [c.get("name") for c in admin.client_list()]
    await plugin.shutdown()
    assert connection_gone(ns.replace(":", "-"))
    admin.delete(f"{ns}:k", f"{ns}:k2")


async def test_check_reports_failure_within_its_deadline_and_recovers(private_redis: Any) -> None:
    plugin = CachePlugin(check_timeout=0.5)
    plugin.setup(app=None, settings=SimpleNamespace(environ={"FLYER_REDIS_URL": private_redis.url}))
    assert (await plugin.check())["ok"] is True
    private_redis.stop()
    started = time.monotonic()
    result = await plugin.check()
    assert time.monotonic() - started < 0.5 + SLACK
    assert result == {"ok": False, "backend": "redis", "error": "ConnectionError"}
    private_redis.start()
    assert await plugin.check() == {"ok": True, "backend": "redis"}
    await plugin.shutdown()


def test_settings_fields() -> None:
    names = [field["name"] for field in CachePlugin().settings_fields()]
    assert names[0] == "flyer_redis_url"
    assert "flyer_redis_pass" in names
