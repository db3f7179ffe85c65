"""ping / aping: PING on a fresh connection under a deadline; fast failure when Redis is down."""

from __future__ import annotations

import os
import signal
import time
from typing import Any, Iterator

import pytest
import redis

from flyer_cache import aping, aping_error, async_from_url, from_url, ping, ping_error

# Headroom for a machine whose cores are busy with other work: a deadline is still told apart
# from the failure it guards against (waits of 60 s or more), never held to the millisecond.
SLACK = 5.0


@pytest.fixture
def frozen(private_redis: Any) -> Iterator[Any]:
    """The private server stopped with SIGSTOP: it accepts connections but never answers."""
    os.kill(private_redis.process.pid, signal.SIGSTOP)
    try:
        yield private_redis
    finally:
        os.kill(private_redis.process.pid, signal.SIGCONT)


def test_ping_up(redis_client: redis.Redis) -> None:
    assert ping(redis_client) is True
    assert ping_error(redis_client) is None


async def test_aping_up(redis_url: str, redis_client: redis.Redis, aclose: None) -> None:
    assert await aping(async_from_url(redis_url)) is True
    assert await aping(redis_client) is True  # a sync client is checked in a thread


def test_ping_fails_fast_when_stopped_and_recovers(private_redis: Any) -> None:
    client = from_url(private_redis.url)
    assert ping(client) is True
    private_redis.stop()
    started = time.monotonic()
    assert ping_error(client, timeout=1.0) == "ConnectionError"
    assert time.monotonic() - started < 1.0 + SLACK
    private_redis.start()
    assert ping(client) is True


def test_ping_hung_server_fails_within_the_deadline(frozen: Any) -> None:
    client = from_url(frozen.url + "?socket_timeout=60")  # without the deadline: a 60 s wait
    started = time.monotonic()
    assert ping_error(client, timeout=0.5) == "timeout after 0.5s"
    assert time.monotonic() - started < 0.5 + SLACK


async def test_aping_hung_server_fails_within_the_deadline(frozen: Any, aclose: None) -> None:
    client = async_from_url(frozen.url + "?socket_timeout=60")  # without the deadline: 60 s
    started = time.monotonic()
    assert await aping_error(client, timeout=0.5) == "timeout after 0.5s"
    assert time.monotonic() - started < 0.5 + SLACK


async def test_aping_stopped_and_recovers(private_redis: Any, aclose: None) -> None:
    client = async_from_url(private_redis.url)
    private_redis.stop()
    assert await aping(client, timeout=1.0) is False
    private_redis.start()
    assert await aping(client, timeout=1.0) is True


def test_ping_leaves_the_pool_alone(redis_client: redis.Redis) -> None:
    redis_client.ping()
    pooled = list(redis_client.connection_pool._available_connections)
    assert ping(redis_client) is True
    assert list(redis_client.connection_pool._available_connections) == pooled


def test_bad_timeout(redis_client: redis.Redis) -> None:
    with pytest.raises(ValueError, match="timeout=0"):
        ping(redis_client, timeout=0)
