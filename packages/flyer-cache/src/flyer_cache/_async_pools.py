"""Shared asyncio Redis clients: one pool per distinct set of arguments *and event loop*.

An asyncio connection belongs to the loop it was opened on; used from another loop it fails
or hangs. So the registry keys clients by the running loop too: each loop gets its own pool,
a closed loop's pools are dropped and never handed out again, and nothing outlives its loop
once the loop object is gone (the registry holds loops weakly).
"""

from __future__ import annotations

import asyncio
import dataclasses
import weakref
from typing import Any, Callable, Dict, Hashable, Optional, Tuple, Union

import redis.asyncio
import redis.asyncio.retry
import redis.asyncio.sentinel
from redis.backoff import NoBackoff

from flyer_cache._forksafe import ForkSafeLock
from flyer_cache._options import merged_options
from flyer_cache._pools import freeze, host_args, sentinel_arguments
from flyer_cache._urls import SENTINEL_SCHEMES, SentinelURL, redact_url, url_scheme

_UNIX_ONLY_DROPPED = ("socket_keepalive", "socket_keepalive_options")


@dataclasses.dataclass
class _Entry:
    client: redis.asyncio.Redis
    extras: Tuple[redis.asyncio.Redis, ...] = ()
    pinned: Any = None


_lock = ForkSafeLock()
_loops: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Dict[Hashable, _Entry]] = (
    weakref.WeakKeyDictionary()
)


def _running_loop(function: str) -> asyncio.AbstractEventLoop:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        raise RuntimeError(
            f"{function}() needs a running event loop: call it from async code "
            "(it returns the client for that loop; it is cheap to call every time)"
        ) from None


def _shared(
    function: str, key: Hashable, pinned: Any, make: Callable[[], _Entry]
) -> redis.asyncio.Redis:
    loop = _running_loop(function)
    with _lock:
        for closed in [other for other in _loops if other.is_closed()]:
            del _loops[closed]
        entries = _loops.get(loop)
        if entries is None:
            entries = _loops[loop] = {}
        entry = entries.get(key)
        if entry is None:
            entry = make()
            entry.pinned = pinned
            entries[key] = entry
        return entry.client


def get_async_redis_pool(
    host: str = "localhost",
    port: Union[int, str] = 6379,
    password: Optional[str] = None,
    db: Union[int, str] = 0,
    **kwargs: Any,
) -> redis.asyncio.Redis:
    """`get_redis_pool` for asyncio: the running loop's `redis.asyncio.Redis` for these arguments.

    Call it from async code (a route, a dependency, a startup hook); it raises
    `RuntimeError` when no event loop is running.
    """
    args = host_args("get_async_redis_pool", host, port, password, db)
    key = ("host", args.host, args.port, args.password, args.db, freeze(kwargs))

    def make() -> _Entry:
        options = merged_options(kwargs, asyncio=True)
        return _Entry(
            redis.asyncio.Redis(
                host=args.host, port=args.port, password=args.password, db=args.db, **options
            )
        )

    return _shared("get_async_redis_pool", key, kwargs, make)


def async_from_url(url: str, **kwargs: Any) -> redis.asyncio.Redis:
    """`from_url` for asyncio: the running loop's shared client for `url`."""
    scheme = url_scheme("url", url)
    key = ("url", url, freeze(kwargs))

    def make() -> _Entry:
        options = merged_options(kwargs, asyncio=True)
        if scheme in SENTINEL_SCHEMES:
            parsed = SentinelURL.parse(url)
            no_retry = redis.asyncio.retry.Retry(NoBackoff(), 0)
            sentinel_kwargs, master_kwargs = sentinel_arguments(parsed, options, no_retry)
            sentinel_class: Any = redis.asyncio.sentinel.Sentinel  # untyped in redis-py
            sentinel = sentinel_class(
                parsed.sentinels,
                min_other_sentinels=parsed.min_other_sentinels,
                sentinel_kwargs=sentinel_kwargs,
            )
            client = sentinel.master_for(parsed.service_name, **master_kwargs)
            return _Entry(client, extras=tuple(sentinel.sentinels))
        if scheme == "unix":
            for name in _UNIX_ONLY_DROPPED:
                options.pop(name, None)
        try:
            return _Entry(redis.asyncio.Redis.from_url(url, **options))
        except ValueError as exc:
            raise ValueError(f"url={redact_url(url)!r}: {exc}") from None

    return _shared("async_from_url", key, kwargs, make)


async def close_async_pools() -> None:
    """Close every connection of the running loop's shared asyncio pools.

    Call it before the loop ends (flyer's plugin does, at shutdown); the clients stay usable
    in this loop and reconnect on their next command.
    """
    loop = _running_loop("close_async_pools")
    with _lock:
        entries = list(_loops.get(loop, {}).values())
    for entry in entries:
        for client in (entry.client, *entry.extras):
            await client.connection_pool.disconnect()
