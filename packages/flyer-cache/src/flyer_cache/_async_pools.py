"""Shared asyncio Redis clients: one pool per distinct set of arguments *and event loop*.

An asyncio connection belongs to the loop it was opened on; used from another loop it fails
or hangs. So the registry keys clients by the running loop too: each loop gets its own pool,
a closed loop's pools are dropped and never handed out again, and nothing outlives its loop
once the loop object is gone (the registry holds loops weakly).
"""

from __future__ import annotations

import asyncio
import weakref
from typing import Any, Callable, Dict, Hashable, Optional, Union

import redis.asyncio
import redis.asyncio.retry
import redis.asyncio.sentinel

from flyer_cache._forksafe import ForkSafeLock
from flyer_cache._options import merged_options
from flyer_cache._pools import (
    Entry,
    Flavour,
    freeze,
    host_args,
    host_entry,
    shared_entry,
    url_entry,
)
from flyer_cache._urls import url_scheme

ASYNCIO = Flavour(redis.asyncio.Redis, redis.asyncio.sentinel.Sentinel, redis.asyncio.retry.Retry)

_lock = ForkSafeLock()
_loops: weakref.WeakKeyDictionary[
    asyncio.AbstractEventLoop, Dict[Hashable, Entry[redis.asyncio.Redis]]
] = weakref.WeakKeyDictionary()


def _running_loop(function: str) -> asyncio.AbstractEventLoop:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        raise RuntimeError(
            f"{function}() needs a running event loop: call it from async code "
            "(it returns the client for that loop; it is cheap to call every time)"
        ) from None


def _shared(
    function: str, key: Hashable, pinned: Any, make: Callable[[], Entry[redis.asyncio.Redis]]
) -> redis.asyncio.Redis:
    loop = _running_loop(function)
    with _lock:
        for closed in [other for other in _loops if other.is_closed()]:
            del _loops[closed]
        return shared_entry(_loops.setdefault(loop, {}), key, pinned, make).client


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

    def make() -> Entry[redis.asyncio.Redis]:
        return host_entry(ASYNCIO, args, merged_options(kwargs, asyncio=True))

    return _shared("get_async_redis_pool", key, kwargs, make)


def async_from_url(url: str, **kwargs: Any) -> redis.asyncio.Redis:
    """`from_url` for asyncio: the running loop's shared client for `url`."""
    scheme = url_scheme("url", url)
    key = ("url", url, freeze(kwargs))

    def make() -> Entry[redis.asyncio.Redis]:
        return url_entry(ASYNCIO, url, scheme, merged_options(kwargs, asyncio=True))

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
