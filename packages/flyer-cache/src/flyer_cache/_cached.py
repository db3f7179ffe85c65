"""`cached`: memoise a sync or async function's results in a TTL store, one computation per key.

The flow of a call (sync and async alike):

1. Build the key (see `_keys`) and read it from the store: a hit returns at once.
2. On a miss, take the key's in-process lock, so that of the threads (or tasks) of this
   process only one goes on; the others wait, then read the value it stored.
3. With a store shared between processes (Redis), also take the key's lock in the store
   (`SET key:lock token NX PX lock_timeout`); callers in other processes that find it
   taken poll the store for the value until the lock goes away or `lock_timeout` passes.
   Whoever takes the lock reads the key once more: another process may have stored the
   value between this caller's miss and its lock.
4. Compute, store the result with its TTL (exceptions propagate and nothing is stored;
   None only with `cache_none=True`), release the lock by token (a Lua compare-and-delete).

When the store fails (Redis down), the default `on_backend_error="call"` calls the function
and returns its result uncached (and `RedisBackend` skips Redis for a second before trying
again, so an outage costs no timeouts per call); `"raise"` raises `CacheBackendError` before
calling the function instead. Once the store answers again, caching resumes by itself.
"""

from __future__ import annotations

import asyncio
import datetime
import functools
import inspect
import logging
import sys
import time
import uuid
from typing import (
    Any,
    Callable,
    Coroutine,
    Optional,
    Tuple,
    TypeVar,
    Union,
    overload,
)

from flyer_cache._backend import BackendSpec, CacheBackend, resolve_backend
from flyer_cache._errors import CacheBackendError
from flyer_cache._events import report
from flyer_cache._keys import KeyBuilder, KeySpec
from flyer_cache._locks import AsyncKeyLocks, KeyLocks
from flyer_cache._memory import check_ttl
from flyer_cache._serializers import PickleSerializer, Serializer, resolve_serializer

if sys.version_info >= (3, 10):
    from typing import Literal, ParamSpec, Protocol
else:
    from typing_extensions import Literal, ParamSpec, Protocol

logger = logging.getLogger("flyer.cache")

P = ParamSpec("P")
R = TypeVar("R")
R_co = TypeVar("R_co", covariant=True)

TTL = Union[float, datetime.timedelta, None]
OnBackendError = Literal["call", "raise"]

#: Default time to live of a cached result, in seconds.
DEFAULT_TTL = 300.0
#: Default time a caller waits for another computing the same key, and the Redis lock's TTL.
DEFAULT_LOCK_TIMEOUT = 10.0
_POLL_FIRST = 0.005
_POLL_MAX = 0.1
_MISS = object()


class CachedFunction(Protocol[P, R_co]):
    """A function wrapped by `cached`: call it as before; `invalidate` drops one entry."""

    __wrapped__: Callable[..., Any]

    def __call__(self, *args: P.args, **kwargs: P.kwargs) -> R_co: ...

    def invalidate(self, *args: P.args, **kwargs: P.kwargs) -> bool:
        """Remove the entry for these arguments; True when there was one."""
        ...

    def cache_key(self, *args: P.args, **kwargs: P.kwargs) -> str:
        """The store key of a call with these arguments."""
        ...


class AsyncCachedFunction(Protocol[P, R_co]):
    """A coroutine function wrapped by `cached`; `await f.invalidate(...)` drops one entry."""

    __wrapped__: Callable[..., Any]

    def __call__(self, *args: P.args, **kwargs: P.kwargs) -> Coroutine[Any, Any, R_co]: ...

    def invalidate(self, *args: P.args, **kwargs: P.kwargs) -> Coroutine[Any, Any, bool]:
        """Remove the entry for these arguments; True when there was one."""
        ...

    def cache_key(self, *args: P.args, **kwargs: P.kwargs) -> str:
        """The store key of a call with these arguments."""
        ...


def _seconds(name: str, value: Any) -> Optional[float]:
    if isinstance(value, datetime.timedelta):
        value = value.total_seconds()
    try:
        return check_ttl(value)
    except ValueError:
        raise ValueError(
            f"{name}={value!r}: expected a number of seconds > 0 (or a timedelta), "
            "or None for no expiry"
        ) from None


class _StoreDown(Exception):
    """The store failed before the function ran (carries the `CacheBackendError`)."""

    def __init__(self, error: CacheBackendError) -> None:
        super().__init__(error)
        self.error = error


def check_pairing(serializer: Serializer, backend: CacheBackend) -> None:
    """Pickled bytes cannot survive a Redis client that decodes replies to str: say so."""
    if isinstance(serializer, PickleSerializer) and getattr(backend, "decode_responses", False):
        raise ValueError(
            "serializer='pickle' needs a Redis client with decode_responses=False "
            "(this backend's client decodes replies to str); use serializer='json' or "
            "another client"
        )


class _Options:
    """`cached`'s arguments, checked once where the decorator is written."""

    def __init__(
        self,
        *,
        ttl: TTL,
        key: KeySpec,
        backend: BackendSpec,
        namespace: str,
        cache_none: bool,
        serializer: Union[str, Serializer],
        lock_timeout: float,
        on_backend_error: OnBackendError,
    ) -> None:
        self.ttl = _seconds("ttl", ttl)
        lock_seconds = _seconds("lock_timeout", lock_timeout)
        if lock_seconds is None:
            raise ValueError("lock_timeout=None: expected a number of seconds > 0")
        self.lock_timeout = lock_seconds
        if key is not None and not isinstance(key, str) and not callable(key):
            raise TypeError(
                f"key={key!r}: expected a template such as 'user:{{user_id}}', a function "
                "returning a str, or None"
            )
        self.key = key
        if not isinstance(namespace, str):
            raise TypeError(f"namespace={namespace!r}: expected a str")
        self.namespace = namespace
        self.serializer = resolve_serializer(serializer)
        self.cache_none = bool(cache_none)
        if on_backend_error not in ("call", "raise"):
            raise ValueError(f"on_backend_error={on_backend_error!r}: expected 'call' or 'raise'")
        self.on_backend_error = on_backend_error
        # A given store is resolved now (a bad value fails here); None means the default
        # store, looked up at each call so that configuring it later still takes effect.
        self.backend: Optional[CacheBackend] = None if backend is None else resolve_backend(backend)
        if self.backend is not None:
            check_pairing(self.serializer, self.backend)


class _Cache:
    """Everything one decorated function needs: its key builder, store, serializer, locks."""

    def __init__(self, func: Callable[..., Any], options: _Options) -> None:
        self.func = func
        self.ttl = options.ttl
        self.lock_timeout = options.lock_timeout
        self.keys = KeyBuilder(func, options.key, options.namespace)
        self.serializer = options.serializer
        self.cache_none = options.cache_none
        self.on_backend_error = options.on_backend_error
        self._backend = options.backend
        self._checked: Optional[CacheBackend] = None
        self.local = KeyLocks()
        self.async_local = AsyncKeyLocks()

    @property
    def backend(self) -> CacheBackend:
        if self._backend is not None:
            return self._backend
        backend = resolve_backend(None)
        if backend is not self._checked:
            check_pairing(self.serializer, backend)
            self._checked = backend
        return backend

    # -- shared pieces -------------------------------------------------------------------

    def _decode(self, key: str, data: Any) -> Any:
        if data is None:
            return _MISS
        try:
            return self.serializer.loads(data)
        except Exception as exc:  # a corrupt or foreign entry is a miss, then overwritten
            logger.warning(
                "unreadable cache entry; recomputing it",
                extra={"key": key, "error": type(exc).__name__},
            )
            return _MISS

    def _encode(self, value: Any) -> Optional[bytes]:
        if value is None and not self.cache_none:
            return None
        try:
            return self.serializer.dumps(value)
        except TypeError as exc:
            raise TypeError(f"cached({self.keys.function}): {exc}") from None

    def _stored_failed(self, key: str, exc: CacheBackendError) -> None:
        logger.debug("result not stored", extra={"key": key, "error": exc.detail})

    def _outage(self, down: _StoreDown) -> None:
        """Raise the store's error when asked to; else the caller runs the function uncached."""
        if self.on_backend_error == "raise":
            raise down.error from down.error.__cause__

    # -- sync ----------------------------------------------------------------------------

    def _read(self, backend: CacheBackend, key: str) -> Any:
        try:
            data = backend.get(key)
        except CacheBackendError as exc:
            raise _StoreDown(exc) from exc
        return self._decode(key, data)

    def _lock(self, backend: CacheBackend, lock_key: str, token: str) -> bool:
        try:
            return bool(backend.add(lock_key, token, self.lock_timeout))
        except CacheBackendError as exc:
            raise _StoreDown(exc) from exc

    def call(self, args: Tuple[Any, ...], kwargs: Any) -> Any:
        key = self.keys(args, kwargs)
        backend = self.backend
        try:
            try:
                value = self._read(backend, key)
            except _StoreDown:
                report(self.keys.function, backend, "error")
                raise
            if value is not _MISS:
                report(self.keys.function, backend, "hit")
                return value
            report(self.keys.function, backend, "miss")
            with self.local.hold(key, self.lock_timeout):
                # Whoever held the lock before us has probably stored the value by now.
                value = self._read(backend, key)
                if value is not _MISS:
                    return value
                if getattr(backend, "shared", False):
                    return self._compute_locked(backend, key, args, kwargs)
                return self._compute(backend, key, args, kwargs)
        except _StoreDown as down:
            self._outage(down)
        return self.func(*args, **kwargs)

    def _compute(self, backend: CacheBackend, key: str, args: Any, kwargs: Any) -> Any:
        value = self.func(*args, **kwargs)
        data = self._encode(value)
        if data is not None:
            try:
                backend.set(key, data, self.ttl)
            except CacheBackendError as exc:
                self._stored_failed(key, exc)
        return value

    def _compute_locked(self, backend: CacheBackend, key: str, args: Any, kwargs: Any) -> Any:
        lock_key, token = f"{key}:lock", uuid.uuid4().hex
        deadline = time.monotonic() + self.lock_timeout
        pause = _POLL_FIRST
        while not self._lock(backend, lock_key, token):
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                logger.warning(
                    "gave up waiting for another process computing this key",
                    extra={"key": key, "lock_timeout_s": self.lock_timeout},
                )
                return self._compute(backend, key, args, kwargs)
            time.sleep(min(pause, remaining))
            pause = min(pause * 2, _POLL_MAX)
            value = self._read(backend, key)
            if value is not _MISS:
                return value
        try:
            # Another process may have stored the value between our miss and our lock.
            value = self._read(backend, key)
            return value if value is not _MISS else self._compute(backend, key, args, kwargs)
        finally:
            try:
                backend.delete_if_equal(lock_key, token)
            except CacheBackendError:
                pass  # the lock expires by itself

    def invalidate(self, args: Tuple[Any, ...], kwargs: Any) -> bool:
        return bool(self.backend.delete(self.keys(args, kwargs)))

    # -- async ---------------------------------------------------------------------------

    async def _aread(self, backend: CacheBackend, key: str) -> Any:
        try:
            data = await backend.aget(key)
        except CacheBackendError as exc:
            raise _StoreDown(exc) from exc
        return self._decode(key, data)

    async def _alock(self, backend: CacheBackend, lock_key: str, token: str) -> bool:
        try:
            return bool(await backend.aadd(lock_key, token, self.lock_timeout))
        except CacheBackendError as exc:
            raise _StoreDown(exc) from exc

    async def acall(self, args: Tuple[Any, ...], kwargs: Any) -> Any:
        key = self.keys(args, kwargs)
        backend = self.backend
        try:
            try:
                value = await self._aread(backend, key)
            except _StoreDown:
                report(self.keys.function, backend, "error")
                raise
            if value is not _MISS:
                report(self.keys.function, backend, "hit")
                return value
            report(self.keys.function, backend, "miss")
            async with self.async_local.hold(key, self.lock_timeout):
                value = await self._aread(backend, key)
                if value is not _MISS:
                    return value
                if getattr(backend, "shared", False):
                    return await self._acompute_locked(backend, key, args, kwargs)
                return await self._acompute(backend, key, args, kwargs)
        except _StoreDown as down:
            self._outage(down)
        return await self.func(*args, **kwargs)

    async def _acompute(self, backend: CacheBackend, key: str, args: Any, kwargs: Any) -> Any:
        value = await self.func(*args, **kwargs)
        data = self._encode(value)
        if data is not None:
            try:
                await backend.aset(key, data, self.ttl)
            except CacheBackendError as exc:
                self._stored_failed(key, exc)
        return value

    async def _acompute_locked(
        self, backend: CacheBackend, key: str, args: Any, kwargs: Any
    ) -> Any:
        lock_key, token = f"{key}:lock", uuid.uuid4().hex
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.lock_timeout
        pause = _POLL_FIRST
        while not await self._alock(backend, lock_key, token):
            remaining = deadline - loop.time()
            if remaining <= 0:
                logger.warning(
                    "gave up waiting for another process computing this key",
                    extra={"key": key, "lock_timeout_s": self.lock_timeout},
                )
                return await self._acompute(backend, key, args, kwargs)
            await asyncio.sleep(min(pause, remaining))
            pause = min(pause * 2, _POLL_MAX)
            value = await self._aread(backend, key)
            if value is not _MISS:
                return value
        try:
            # Another process may have stored the value between our miss and our lock.
            value = await self._aread(backend, key)
            if value is not _MISS:
                return value
            return await self._acompute(backend, key, args, kwargs)
        finally:
            try:
                await backend.adelete_if_equal(lock_key, token)
            except CacheBackendError:
                pass  # the lock expires by itself

    async def ainvalidate(self, args: Tuple[Any, ...], kwargs: Any) -> bool:
        return bool(await self.backend.adelete(self.keys(args, kwargs)))


class CacheDecorator:
    """What `cached(...)` returns: apply it to a function or a coroutine function."""

    def __init__(self, options: _Options) -> None:
        self._options = options

    @overload
    def __call__(  # type: ignore[overload-overlap]
        self, func: Callable[P, Coroutine[Any, Any, R]]
    ) -> AsyncCachedFunction[P, R]: ...

    @overload
    def __call__(self, func: Callable[P, R]) -> CachedFunction[P, R]: ...

    def __call__(self, func: Callable[..., Any]) -> Any:
        if not callable(func):
            raise TypeError(f"cached(...) applies to a function, not {func!r}")
        cache = _Cache(func, self._options)
        wrapper: Any
        if inspect.iscoroutinefunction(func):

            @functools.wraps(func)
            async def async_wrapper(*args: Any, **kwargs: Any) -> Any:
                return await cache.acall(args, kwargs)

            async def ainvalidate(*args: Any, **kwargs: Any) -> bool:
                return await cache.ainvalidate(args, kwargs)

            wrapper = async_wrapper
            wrapper.invalidate = ainvalidate
        else:

            @functools.wraps(func)
            def sync_wrapper(*args: Any, **kwargs: Any) -> Any:
                return cache.call(args, kwargs)

            def invalidate(*args: Any, **kwargs: Any) -> bool:
                return cache.invalidate(args, kwargs)

            wrapper = sync_wrapper
            wrapper.invalidate = invalidate

        def cache_key(*args: Any, **kwargs: Any) -> str:
            return cache.keys(args, kwargs)

        wrapper.cache_key = cache_key
        wrapper.cache = cache
        return wrapper


@overload
def cached(  # type: ignore[overload-overlap]
    ttl: Callable[P, Coroutine[Any, Any, R]],
) -> AsyncCachedFunction[P, R]: ...


@overload
def cached(ttl: Callable[P, R]) -> CachedFunction[P, R]: ...


@overload
def cached(
    ttl: TTL = DEFAULT_TTL,
    *,
    key: KeySpec = None,
    backend: BackendSpec = None,
    namespace: str = "flyer",
    cache_none: bool = False,
    serializer: Union[str, Serializer] = "json",
    lock_timeout: float = DEFAULT_LOCK_TIMEOUT,
    on_backend_error: OnBackendError = "call",
) -> CacheDecorator: ...


def cached(
    ttl: Union[TTL, Callable[..., Any]] = DEFAULT_TTL,
    *,
    key: KeySpec = None,
    backend: BackendSpec = None,
    namespace: str = "flyer",
    cache_none: bool = False,
    serializer: Union[str, Serializer] = "json",
    lock_timeout: float = DEFAULT_LOCK_TIMEOUT,
    on_backend_error: OnBackendError = "call",
) -> Any:
    """Cache a function's results for `ttl` seconds; works on sync and async functions.

    - `ttl`: seconds (or a `timedelta`) a result lives; None: until evicted or invalidated.
    - `key`: None (the function's qualified name plus a digest of its arguments), a
      template over parameter names (`"user:{user_id}"`), or a function of the same
      arguments returning the key. The namespace is put in front of it.
    - `backend`: a `MemoryCache`, a `RedisBackend`, a `redis.Redis` client or a Redis URL;
      None uses the default store (Redis when configured, else the process's `MemoryCache`).
    - `namespace`: the key prefix (`"flyer"`), so apps sharing a Redis keep apart.
    - `cache_none`: store None results too (default: a None result is recomputed).
    - `serializer`: `"json"` (default), `"pickle"` (trusted stores only), or an object
      with `dumps`/`loads`.
    - `lock_timeout`: how long a caller waits for another computing the same key before
      computing itself; also the TTL of the Redis lock.
    - `on_backend_error`: `"call"` (default) calls the function uncached when the store is
      down; `"raise"` raises `CacheBackendError` instead.

    `@cached` without arguments uses the defaults. Exceptions are never cached. The
    wrapper has `invalidate(*args, **kwargs)` (awaitable for async functions) and
    `cache_key(*args, **kwargs)`.
    """
    decorator = CacheDecorator(
        _Options(
            ttl=DEFAULT_TTL if callable(ttl) else ttl,
            key=key,
            backend=backend,
            namespace=namespace,
            cache_none=cache_none,
            serializer=serializer,
            lock_timeout=lock_timeout,
            on_backend_error=on_backend_error,
        )
    )
    return decorator(ttl) if callable(ttl) else decorator


def cache_result(
    ttl: TTL = DEFAULT_TTL,
    *,
    key: KeySpec = None,
    backend: BackendSpec = None,
    namespace: str = "flyer",
    cache_none: bool = False,
    serializer: Union[str, Serializer] = "json",
    lock_timeout: float = DEFAULT_LOCK_TIMEOUT,
    on_backend_error: OnBackendError = "call",
) -> CacheDecorator:
    """The ancestor's `@cache_result(ttl)`: `cached` with `ttl` as its first argument."""
    return cached(
        ttl,
        key=key,
        backend=backend,
        namespace=namespace,
        cache_none=cache_none,
        serializer=serializer,
        lock_timeout=lock_timeout,
        on_backend_error=on_backend_error,
    )
