"""`CachePlugin`: how flyer's app sets up, checks and closes the cache (entry point `cache`)."""

from __future__ import annotations

import logging
import sys
from typing import TYPE_CHECKING, Any, Dict, List, Optional, Union

from flyer_cache._backend import set_default_backend
from flyer_cache._memory import MemoryCache
from flyer_cache._settings import DEFAULT_TIMEOUT, CacheSettings, settings_fields

if TYPE_CHECKING:
    from flyer_cache._redis_backend import RedisBackend

logger = logging.getLogger("flyer.cache")


class CachePlugin:
    """flyer-core's plugin for the cache, found through the `flyer.plugins` entry point.

    - `setup`: reads `flyer_redis_*` from the app's settings (`.env` included) and makes
      the default store of `cached` Redis when configured, else a `MemoryCache`.
    - `startup`: nothing: pools connect on first use, so an app starts while Redis is down.
    - `check`: PING on a fresh connection within `check_timeout` seconds when Redis is
      configured; always ready with the in-memory store.
    - `shutdown`: closes the connections of every shared pool.

    Without Redis configured (and no client asked for), redis-py is never imported.
    """

    name = "cache"
    order = 10

    def __init__(self, check_timeout: float = DEFAULT_TIMEOUT) -> None:
        self.check_timeout = check_timeout
        self.settings: Optional[CacheSettings] = None

    def validate_settings(self, settings: Any) -> None:
        """Check `flyer_redis_*` (one `ValueError` line when bad): flyer calls this before binding."""
        CacheSettings.from_env(getattr(settings, "environ", None))

    def setup(self, app: Any, settings: Any) -> None:
        """Build `CacheSettings` from `settings.environ` and install the default store."""
        environ = getattr(settings, "environ", None)
        self.settings = CacheSettings.from_env(environ)
        backend: Union[RedisBackend, MemoryCache]
        if self.settings.configured:
            from flyer_cache._redis_backend import RedisBackend

            backend = RedisBackend.from_settings(self.settings)
        else:
            backend = MemoryCache()
        set_default_backend(backend)
        logger.info(
            "cache configured",
            extra={"backend": "redis" if self.settings.configured else "memory"},
        )

    async def startup(self) -> None:
        """Nothing to do: connections open on first use."""

    async def shutdown(self) -> None:
        """Close every shared pool's connections (sync ones and this loop's asyncio ones)."""
        # A pool module that was never imported has no pool to close.
        pools = sys.modules.get("flyer_cache._pools")
        if pools is not None:
            pools.close_pools()
        async_pools = sys.modules.get("flyer_cache._async_pools")
        if async_pools is not None:
            await async_pools.close_async_pools()

    async def check(self) -> Dict[str, Any]:
        """Readiness: `{"ok": bool, "backend": "redis" | "memory", "error"?: str}`."""
        settings = self.settings if self.settings is not None else CacheSettings.from_env()
        if not settings.configured:
            return {"ok": True, "backend": "memory"}
        from flyer_cache._readiness import aping_error

        error = await aping_error(settings.async_client(), self.check_timeout)
        if error is None:
            return {"ok": True, "backend": "redis"}
        return {"ok": False, "backend": "redis", "error": error}

    def settings_fields(self) -> List[Dict[str, Any]]:
        """The `flyer_redis_*` variables, for `flyer config`."""
        return settings_fields()
