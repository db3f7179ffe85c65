"""Readiness: can a fresh connection to Redis answer PING within a deadline?

The check opens its own connection, with the pool's settings (address, TLS, password, db,
sentinel) but its own timeouts and no retries, so a stopped or hung server makes it fail
within the deadline instead of after the client's connect timeout and retries, and the
pool's connections are never disturbed by it. redis-py is imported by the first check (it
has a client by then), not with this module.
"""

from __future__ import annotations

import asyncio
import socket
import time
from typing import TYPE_CHECKING, Any, Dict, Optional, Tuple, Type, Union

from flyer_cache._settings import DEFAULT_TIMEOUT as DEFAULT_TIMEOUT

if TYPE_CHECKING:
    import redis
    import redis.asyncio


def _timeouts() -> Tuple[Type[BaseException], ...]:
    """What a timeout looks like, from redis-py, sockets and asyncio on every Python version."""
    import redis

    return (redis.TimeoutError, TimeoutError, socket.timeout, asyncio.TimeoutError)


def _deadline(timeout: float) -> float:
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or not timeout > 0:
        raise ValueError(f"timeout={timeout!r}: expected a number of seconds > 0")
    return float(timeout)


def _overrides(half: float, retry: Any) -> Dict[str, Any]:
    return {
        "socket_connect_timeout": half,
        "socket_timeout": half,
        "retry": retry,
        "retry_on_error": [],
        "health_check_interval": 0,
    }


def ping_error(client: redis.Redis, timeout: float = DEFAULT_TIMEOUT) -> Optional[str]:
    """None when Redis answered PING in time, else why not (an error class name, no address)."""
    import redis
    import redis.retry
    from redis.backoff import NoBackoff

    seconds = _deadline(timeout)
    pool = client.connection_pool
    # Half the deadline to connect, half for the replies: a server that accepts but never
    # answers fails on its first reply, so the whole check stays within the deadline.
    kwargs = {
        **pool.connection_kwargs,
        **_overrides(seconds / 2, redis.retry.Retry(NoBackoff(), 0)),
    }
    connection: Any = pool.connection_class(**kwargs)
    started = time.monotonic()
    try:
        connection.connect()
        connection.send_command("PING")
        reply = connection.read_response()
    except (redis.RedisError, OSError) as exc:
        if isinstance(exc, _timeouts()) or time.monotonic() - started >= seconds:
            return f"timeout after {seconds:g}s"
        return type(exc).__name__
    finally:
        connection.disconnect()
    if reply not in (b"PONG", "PONG", True):
        return f"unexpected reply to PING: {reply!r}"
    return None


def ping(client: redis.Redis, timeout: float = DEFAULT_TIMEOUT) -> bool:
    """True when Redis answers PING on a fresh connection within `timeout` seconds."""
    return ping_error(client, timeout) is None


async def aping_error(
    client: Union[redis.asyncio.Redis, redis.Redis], timeout: float = DEFAULT_TIMEOUT
) -> Optional[str]:
    """`ping_error` for asyncio; a sync client is checked in a worker thread."""
    import redis
    import redis.asyncio.retry
    from redis.backoff import NoBackoff

    seconds = _deadline(timeout)
    if isinstance(client, redis.Redis):
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(None, ping_error, client, seconds)
    pool = client.connection_pool
    retry = redis.asyncio.retry.Retry(NoBackoff(), 0)
    kwargs = {**pool.connection_kwargs, **_overrides(seconds, retry)}
    connection: Any = pool.connection_class(**kwargs)

    async def exchange() -> Any:
        await connection.connect()
        await connection.send_command("PING")
        return await connection.read_response()

    try:
        reply = await asyncio.wait_for(exchange(), seconds)
    except (redis.RedisError, OSError, asyncio.TimeoutError) as exc:
        # The connection's own timeouts may fire a hair before wait_for's: a timeout either way.
        if isinstance(exc, _timeouts()):
            return f"timeout after {seconds:g}s"
        return type(exc).__name__
    finally:
        await connection.disconnect()
    if reply not in (b"PONG", "PONG", True):
        return f"unexpected reply to PING: {reply!r}"
    return None


async def aping(
    client: Union[redis.asyncio.Redis, redis.Redis], timeout: float = DEFAULT_TIMEOUT
) -> bool:
    """`ping` for asyncio: True when Redis answers PING within `timeout` seconds."""
    return await aping_error(client, timeout) is None
