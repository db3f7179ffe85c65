"""`RedisBackend`: a Redis database as the store of `cached`, shared by every process."""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from typing import Any, Awaitable, Callable, Optional, TypeVar, Union

import redis
import redis.asyncio

from flyer_cache._async_pools import async_from_url
from flyer_cache._errors import CacheBackendError
from flyer_cache._memory import check_ttl
from flyer_cache._pools import from_url
from flyer_cache._settings import CacheSettings

logger = logging.getLogger("flyer.cache")

T = TypeVar("T")

#: Delete KEYS[1] only while it holds ARGV[1]: a lock is released by its owner alone.
_DELETE_IF_EQUAL = """
if redis.call('get', KEYS[1]) == ARGV[1] then
    return redis.call('del', KEYS[1])
end
return 0
"""

_OUTAGE_ERRORS = (redis.ConnectionError, redis.TimeoutError, OSError)

AsyncClientSpec = Union[redis.asyncio.Redis, Callable[[], redis.asyncio.Redis], None]


def _px(ttl: Optional[float]) -> Optional[int]:
    seconds = check_ttl(ttl)
    return None if seconds is None else max(1, int(seconds * 1000))


class RedisBackend:
    """Redis as a `cached` store: entries and stampede locks shared by every process.

    Give it a sync client, an asyncio client (or a zero-argument callable returning the
    running loop's client, e.g. `lambda: async_from_url(url)`), or both; `from_url` and
    `from_settings` set up both. Without an asyncio client, async calls run the sync client
    in a worker thread.

    Every failure raises `CacheBackendError`. After a connection error or timeout the
    backend stops trying Redis for `retry_after` seconds (each call then fails at once
    instead of waiting through connect timeouts and retries), then tries again; it logs
    one warning when Redis goes away and one line when it is back.
    """

    #: Entries are shared between processes: `cached` takes a Redis lock before computing.
    shared = True

    def __init__(
        self,
        client: Optional[redis.Redis] = None,
        *,
        async_client: AsyncClientSpec = None,
        retry_after: float = 1.0,
    ) -> None:
        if client is None and async_client is None:
            raise ValueError("RedisBackend: pass client=, async_client= or both")
        if isinstance(retry_after, bool) or not isinstance(retry_after, (int, float)):
            raise ValueError(f"retry_after={retry_after!r}: expected seconds >= 0")
        if retry_after < 0:
            raise ValueError(f"retry_after={retry_after!r}: expected seconds >= 0")
        self.client = client
        self._async_client = async_client
        self.retry_after = float(retry_after)
        self._down_until = 0.0

    def __repr__(self) -> str:
        return f"RedisBackend(client={self.client!r}, retry_after={self.retry_after!r})"

    @property
    def decode_responses(self) -> bool:
        """Whether the sync client returns str (not bytes); pickled values need bytes."""
        if self.client is None:
            return False
        return bool(self.client.connection_pool.connection_kwargs.get("decode_responses"))

    @classmethod
    def from_url(cls, url: str, *, retry_after: float = 1.0, **kwargs: Any) -> RedisBackend:
        """Sync and asyncio shared clients for `url` (see `from_url`)."""
        client = from_url(url, **kwargs)
        return cls(
            client,
            async_client=functools.partial(async_from_url, url, **kwargs),
            retry_after=retry_after,
        )

    @classmethod
    def from_settings(
        cls, settings: CacheSettings, *, retry_after: float = 1.0, **kwargs: Any
    ) -> RedisBackend:
        """Sync and asyncio shared clients for `settings` (see `CacheSettings`)."""
        return cls(
            settings.client(**kwargs),
            async_client=functools.partial(settings.async_client, **kwargs),
            retry_after=retry_after,
        )

    # -- outage bookkeeping --------------------------------------------------------------

    def _before(self) -> None:
        if self._down_until and time.monotonic() < self._down_until:
            raise CacheBackendError(
                "cache backend unavailable",
                detail=f"Redis did not answer; not trying again for up to {self.retry_after:g}s",
            )

    def _after_success(self) -> None:
        if self._down_until:
            self._down_until = 0.0
            logger.info("redis cache available again", extra={"backend": "redis"})

    def _failure(self, exc: BaseException) -> CacheBackendError:
        if isinstance(exc, _OUTAGE_ERRORS):
            if not self._down_until:
                logger.warning(
                    "redis cache unavailable; calls skip it for now",
                    extra={
                        "backend": "redis",
                        "error": type(exc).__name__,
                        "retry_after_s": self.retry_after,
                    },
                )
            self._down_until = time.monotonic() + self.retry_after
            return CacheBackendError("cache backend unavailable", detail=type(exc).__name__)
        return CacheBackendError("cache backend error", detail=type(exc).__name__)

    def _run(self, operation: Callable[[redis.Redis], T]) -> T:
        if self.client is None:
            raise TypeError("RedisBackend has no sync client: pass client= for sync functions")
        self._before()
        try:
            result = operation(self.client)
        except (redis.RedisError, OSError) as exc:
            raise self._failure(exc) from exc
        self._after_success()
        return result

    async def _arun(self, operation: Callable[[Any], Awaitable[T]], sync: Callable[[], T]) -> T:
        spec = self._async_client
        if spec is None:
            loop = asyncio.get_running_loop()
            return await loop.run_in_executor(None, sync)
        self._before()
        client = spec if isinstance(spec, redis.asyncio.Redis) else spec()
        try:
            result = await operation(client)
        except (redis.RedisError, OSError) as exc:
            raise self._failure(exc) from exc
        self._after_success()
        return result

    # -- the CacheBackend interface ------------------------------------------------------

    def get(self, key: str) -> Any:
        """The stored bytes (str with `decode_responses=True`), or None."""
        return self._run(lambda r: r.get(key))

    def set(self, key: str, value: Any, ttl: Optional[float] = None) -> None:
        """Store `value` for `ttl` seconds (None: no expiry)."""
        px = _px(ttl)
        self._run(lambda r: r.set(key, value, px=px))

    def add(self, key: str, value: Any, ttl: Optional[float] = None) -> bool:
        """`SET key value NX PX ttl`: True when the key was absent and is now set."""
        px = _px(ttl)
        return bool(self._run(lambda r: r.set(key, value, px=px, nx=True)))

    def delete(self, *keys: str) -> int:
        """`DEL keys`: how many existed."""
        return int(self._run(lambda r: r.delete(*keys))) if keys else 0

    def delete_if_equal(self, key: str, value: Any) -> bool:
        """Delete `key` only while it holds `value` (one Lua script: atomic)."""
        return bool(self._run(lambda r: r.eval(_DELETE_IF_EQUAL, 1, key, value)))

    async def aget(self, key: str) -> Any:
        """`get` on the asyncio client."""
        return await self._arun(lambda r: r.get(key), lambda: self.get(key))

    async def aset(self, key: str, value: Any, ttl: Optional[float] = None) -> None:
        """`set` on the asyncio client."""
        px = _px(ttl)
        await self._arun(lambda r: r.set(key, value, px=px), lambda: self.set(key, value, ttl))

    async def aadd(self, key: str, value: Any, ttl: Optional[float] = None) -> bool:
        """`add` on the asyncio client."""
        px = _px(ttl)
        result = await self._arun(
            lambda r: r.set(key, value, px=px, nx=True), lambda: self.add(key, value, ttl)
        )
        return bool(result)

    async def adelete(self, *keys: str) -> int:
        """`delete` on the asyncio client."""
        if not keys:
            return 0
        return int(await self._arun(lambda r: r.delete(*keys), lambda: self.delete(*keys)))

    async def adelete_if_equal(self, key: str, value: Any) -> bool:
        """`delete_if_equal` on the asyncio client."""
        result = await self._arun(
            lambda r: r.eval(_DELETE_IF_EQUAL, 1, key, value),
            lambda: self.delete_if_equal(key, value),
        )
        return bool(result)
