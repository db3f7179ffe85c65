"""RedisBackend: the store interface on real Redis, errors wrapped, outages skipped quickly."""

from __future__ import annotations

import logging
import time
from typing import Any

import pytest
import redis

from flyer_cache import CacheBackend, CacheBackendError, RedisBackend, async_from_url, from_url
from flyer_status import ThirdPartyUnavailableError


def test_store_interface(redis_client: redis.Redis, ns: str) -> None:
    backend = RedisBackend(redis_client)
    assert isinstance(backend, CacheBackend)
    backend.set(f"{ns}:a", b"1", ttl=30)
    assert backend.get(f"{ns}:a") == b"1"
    assert 29_000 < redis_client.pttl(f"{ns}:a") <= 30_000
    backend.set(f"{ns}:forever", b"x")
    assert redis_client.ttl(f"{ns}:forever") == -1
    assert backend.add(f"{ns}:a", b"2", ttl=5) is False
    assert backend.add(f"{ns}:b", b"2", ttl=5) is True
    assert backend.delete_if_equal(f"{ns}:b", "other") is False
    assert backend.delete_if_equal(f"{ns}:b", b"2") is True
    assert backend.delete(f"{ns}:a", f"{ns}:b", f"{ns}:forever") == 2
    assert backend.delete() == 0
    assert backend.get(f"{ns}:a") is None


async def test_async_store_interface(redis_url: str, ns: str, aclose: None) -> None:
    backend = RedisBackend.from_url(redis_url)
    await backend.aset(f"{ns}:a", b"1", ttl=30)
    assert await backend.aget(f"{ns}:a") == b"1"
    assert await backend.aadd(f"{ns}:a", b"2") is False
    assert await backend.adelete_if_equal(f"{ns}:a", b"1") is True
    assert await backend.adelete(f"{ns}:a") == 0
    assert await backend.adelete() == 0


def test_server_errors_become_cache_backend_errors(redis_client: redis.Redis, ns: str) -> None:
    redis_client.rpush(f"{ns}:list", "x")
    backend = RedisBackend(redis_client)
    with pytest.raises(CacheBackendError) as caught:
        backend.get(f"{ns}:list")  # WRONGTYPE
    assert isinstance(caught.value, ThirdPartyUnavailableError)
    assert caught.value.http_status == 503
    assert isinstance(caught.value.__cause__, redis.ResponseError)
    # A command error is not an outage: the next call goes to Redis again.
    assert backend.get(f"{ns}:missing") is None


def test_outage_is_skipped_for_retry_after_then_retried(
    private_redis: Any, caplog: pytest.LogCaptureFixture
) -> None:
    backend = RedisBackend(from_url(private_redis.url), retry_after=3.0)
    backend.set("k", b"v")
    private_redis.stop()
    caplog.set_level(logging.INFO, logger="flyer.cache")
    with pytest.raises(CacheBackendError) as first:
        backend.get("k")
    assert first.value.detail == "ConnectionError"
    with pytest.raises(CacheBackendError, match="unavailable") as second:
        backend.get("k")  # fails at once: Redis is not tried
    assert "not trying again" in second.value.detail  # no connection was attempted
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert warnings[0].error == "ConnectionError"  # type: ignore[attr-defined]
    assert private_redis.url.split("//")[1] not in warnings[0].getMessage()
    private_redis.start()
    time.sleep(3.0)  # the skip window ends
    assert backend.get("k") is None  # a fresh server: reachable again, the key is gone
    assert any("available again" in r.getMessage() for r in caplog.records)


def test_needs_a_client() -> None:
    with pytest.raises(ValueError, match="pass client="):
        RedisBackend()
    with pytest.raises(ValueError, match="retry_after=-1"):
        RedisBackend(redis.Redis(), retry_after=-1)


async def test_sync_calls_need_the_sync_client(redis_url: str, aclose: None) -> None:
    backend = RedisBackend(async_client=async_from_url(redis_url))
    with pytest.raises(TypeError, match="no sync client"):
        backend.get("k")
    assert await backend.aget("flyer-cache-test:missing") is None
