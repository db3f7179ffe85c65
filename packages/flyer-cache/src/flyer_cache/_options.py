"""The connection defaults every flyer Redis client starts from (callers override any of them)."""

from __future__ import annotations

from typing import Any, Dict

import redis
import redis.asyncio.retry
import redis.retry
from redis.backoff import EqualJitterBackoff

#: Seconds to wait for a TCP (or TLS, or Unix socket) connection to be made.
CONNECT_TIMEOUT = 2.0
#: Seconds to wait for the reply to one command.
SOCKET_TIMEOUT = 5.0
#: Retries of a command that failed on a connection error or timeout (tries = retries + 1).
RETRIES = 3
#: Backoff between those retries: exponential from 50 ms, capped at 1 s, with equal jitter.
BACKOFF_BASE = 0.05
BACKOFF_CAP = 1.0
#: A connection idle longer than this many seconds is PINGed before it is used again.
HEALTH_CHECK_INTERVAL = 30

_RETRY_ON = [redis.ConnectionError, redis.TimeoutError]


def default_options(*, asyncio: bool = False) -> Dict[str, Any]:
    """Fresh keyword arguments for `redis.Redis` (or `redis.asyncio.Redis` with `asyncio=True`).

    A retry object is stateful, so each call builds a new one.
    """
    backoff = EqualJitterBackoff(cap=BACKOFF_CAP, base=BACKOFF_BASE)
    retry: Any = (
        redis.asyncio.retry.Retry(backoff, RETRIES)
        if asyncio
        else redis.retry.Retry(backoff, RETRIES)
    )
    return {
        "socket_connect_timeout": CONNECT_TIMEOUT,
        "socket_timeout": SOCKET_TIMEOUT,
        "socket_keepalive": True,
        "health_check_interval": HEALTH_CHECK_INTERVAL,
        "retry": retry,
        # redis-py < 5 retries only the error types listed here; later versions add them
        # to the retry object's own list. Either way: connection errors and timeouts.
        "retry_on_error": list(_RETRY_ON),
    }


def merged_options(kwargs: Dict[str, Any], *, asyncio: bool = False) -> Dict[str, Any]:
    """flyer's defaults overlaid with the caller's keyword arguments."""
    options = default_options(asyncio=asyncio)
    options.update(kwargs)
    return options
