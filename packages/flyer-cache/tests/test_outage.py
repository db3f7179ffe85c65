"""Redis stopped and restarted under running cached functions (a private server)."""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any, List

import pytest
import redis

from flyer_cache import CacheBackendError, RedisBackend, async_from_url, cached, from_url


def _until(check: Any, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "condition not reached in time"
        time.sleep(0.02)


def test_restart_under_a_running_cached_function(private_redis: Any) -> None:
    backend = RedisBackend(from_url(private_redis.url), retry_after=0.2)
    computed: List[int] = []
    lock = threading.Lock()

    @cached(ttl=60, backend=backend)
    def lookup(x: int) -> int:
        with lock:
            computed.append(x)
        return x * 10

    stop = threading.Event()
    errors: List[BaseException] = []
    answers: List[int] = []

    def caller() -> None:
        i = 0
        while not stop.is_set():
            try:
                answers.append(lookup(i % 3))
            except BaseException as exc:
                errors.append(exc)
            i += 1
            time.sleep(0.005)

    thread = threading.Thread(target=caller)
    thread.start()
    try:
        _until(lambda: len(answers) > 20)
        assert sorted(computed) == [0, 1, 2]  # cached: three keys, three computations
        private_redis.stop()
        # During the outage, calls fall through to the function: more computations, no errors.
        before = len(computed)
        _until(lambda: len(computed) > before + 10)
        private_redis.start()
        # The fresh server is empty: each key is computed once more, then served from Redis.
        direct = redis.Redis.from_url(private_redis.url)
        try:
            _until(lambda: direct.exists(*(lookup.cache_key(i) for i in range(3))) == 3)
        finally:
            direct.close()
        settled = len(computed)
        answered = len(answers)
        _until(lambda: len(answers) > answered + 30)
        assert len(computed) == settled
    finally:
        stop.set()
        thread.join(10)
    assert errors == []
    assert set(answers) == {0, 10, 20}


def test_raise_mode_raises_during_an_outage_and_recovers(private_redis: Any) -> None:
    backend = RedisBackend(from_url(private_redis.url), retry_after=0.1)
    calls: List[int] = []

    @cached(backend=backend, on_backend_error="raise")
    def lookup() -> int:
        calls.append(1)
        return 1

    assert lookup() == 1
    private_redis.stop()
    with pytest.raises(CacheBackendError) as caught:
        lookup()
    assert caught.value.code == 603
    assert calls == [1]  # the function did not run
    private_redis.start()
    time.sleep(0.1)
    assert lookup() == 1
    assert lookup() == 1
    assert calls == [1, 1]


async def test_async_restart_under_a_running_cached_function(private_redis: Any) -> None:
    backend = RedisBackend(
        from_url(private_redis.url),
        async_client=lambda: async_from_url(private_redis.url),
        retry_after=0.2,
    )
    computed: List[int] = []

    @cached(ttl=60, backend=backend)
    async def lookup(x: int) -> int:
        computed.append(x)
        await asyncio.sleep(0)
        return x + 100

    try:
        assert [await lookup(1), await lookup(1)] == [101, 101]
        assert computed == [1]
        private_redis.stop()
        assert [await lookup(1), await lookup(1)] == [101, 101]  # computed, not raised
        assert computed == [1, 1, 1]
        private_redis.start()
        await asyncio.sleep(0.25)
        assert await lookup(1) == 101  # recomputed into the fresh server
        assert await lookup(1) == 101  # and served from it
        assert computed == [1, 1, 1, 1]
    finally:
        from flyer_cache import close_async_pools

        await close_async_pools()
