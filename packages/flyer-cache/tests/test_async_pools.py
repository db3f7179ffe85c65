"""get_async_redis_pool / async_from_url: one shared pool per arguments and event loop."""

from __future__ import annotations

import asyncio
from typing import Any, Callable

import pytest
import redis
import redis.asyncio
import redis.connection

import flyer_cache
from flyer_cache import async_from_url, close_async_pools, get_async_redis_pool


def _run_in_a_new_loop(main: Any) -> Any:
    """Run `main()` in a fresh event loop, closed afterwards (like asyncio.run, but leaving
    the thread's current loop alone, which pytest-asyncio manages)."""
    loop = asyncio.new_event_loop()
    try:
        return loop.run_until_complete(main())
    finally:
        loop.close()


def _host_port(url: str) -> Any:
    parsed = redis.connection.parse_url(url)
    return parsed["host"], parsed["port"]


async def test_ancestor_style_arguments_and_sharing(redis_url: str, ns: str, aclose: None) -> None:
    host, port = _host_port(redis_url)
    client = get_async_redis_pool(host, str(port), "", "0")
    assert isinstance(client, redis.asyncio.Redis)
    assert get_async_redis_pool(host, port, None, 0) is client
    assert get_async_redis_pool(host, port, None, 0, decode_responses=True) is not client
    await client.set(f"{ns}:a", 1, ex=30)
    assert await client.get(f"{ns}:a") == b"1"
    assert await client.delete(f"{ns}:a") == 1


async def test_async_defaults_use_the_asyncio_retry(redis_url: str, aclose: None) -> None:
    client = async_from_url(redis_url)
    options = client.connection_pool.connection_kwargs
    assert isinstance(options["retry"], redis.asyncio.retry.Retry)
    assert options["socket_timeout"] == 5.0
    assert options["health_check_interval"] == 30


def test_needs_a_running_loop() -> None:
    with pytest.raises(RuntimeError, match="needs a running event loop"):
        get_async_redis_pool("localhost", 6379, None, 0)


def test_each_event_loop_gets_its_own_pool_and_a_closed_loop_is_never_reused(
    redis_url: str,
) -> None:
    async def use() -> Any:
        client = async_from_url(redis_url)
        assert async_from_url(redis_url) is client
        assert await client.ping() is True
        await close_async_pools()
        return client

    first = _run_in_a_new_loop(use)
    second = _run_in_a_new_loop(use)  # the first loop is closed now
    assert second is not first
    assert second.connection_pool is not first.connection_pool


def test_two_loops_alive_at_once_in_two_threads_get_two_pools(redis_url: str) -> None:
    import threading

    clients: list = []

    def run() -> None:
        async def use() -> None:
            client = async_from_url(redis_url)
            await client.ping()
            clients.append(client)
            await asyncio.sleep(0.05)
            await close_async_pools()

        asyncio.run(use())

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert len(clients) == 2
    assert clients[0] is not clients[1]


async def test_killed_connection_is_replaced_transparently(
    redis_url: str, admin: redis.Redis, aclose: None
) -> None:
    client = async_from_url(redis_url, health_check_interval=0)
    first_id = await client.client_id()
    assert admin.client_kill_filter(_id=first_id) == 1
    assert await client.ping() is True
    assert await client.client_id() != first_id


async def test_unix_and_tls_urls(unix_redis: str, tls_redis: str, aclose: None) -> None:
    for url in (unix_redis, tls_redis):
        client = async_from_url(url)
        await client.set("k", url)
        assert await client.get("k") == url.encode()


async def test_close_async_pools_disconnects(
    redis_url: str,
    admin: redis.Redis,
    ns: str,
    aclose: None,
    connection_gone: Callable[[str], bool],
) -> None:
    name = ns.replace(":", "-")
    client = async_from_url(redis_url, client_name=name)
    await client.ping()
    assert name in [c.get("name") for c in admin.client_list()]
    await flyer_cache.close_async_pools()
    assert connection_gone(name)
    assert await client.ping() is True
