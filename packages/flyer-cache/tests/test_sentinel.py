"""Sentinel URLs: parsed into redis-py's Sentinel, and used against a real sentinel."""

from __future__ import annotations

import pytest
import redis
import redis.sentinel

from flyer_cache import SentinelURL, async_from_url, from_url


def test_parse_full_url() -> None:
    parsed = SentinelURL.parse(
        "redis+sentinel://user:p%40ss@s1:26380,s2,[::1]:26381/mymaster/3"
        "?socket_timeout=0.5&sentinel_password=sp&min_other_sentinels=1&client_name=x"
    )
    assert parsed.sentinels == [("s1", 26380), ("s2", 26379), ("::1", 26381)]
    assert parsed.service_name == "mymaster"
    assert parsed.db == 3
    assert (parsed.username, parsed.password) == ("user", "p@ss")
    assert parsed.sentinel_kwargs == {"password": "sp"}
    assert parsed.connection_kwargs == {"socket_timeout": 0.5, "client_name": "x"}
    assert parsed.min_other_sentinels == 1
    assert parsed.ssl is False
    assert "p@ss" not in repr(parsed)
    assert "sp" not in repr(parsed)


def test_parse_tls_and_defaults() -> None:
    parsed = SentinelURL.parse("rediss+sentinel://h/svc")
    assert parsed.ssl is True
    assert parsed.db == 0
    assert parsed.password is None


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("redis+sentinel:///svc", "at least one sentinel"),
        ("redis+sentinel://h", "path /service_name"),
        ("redis+sentinel://h/svc/x", "database 'x'"),
        ("redis+sentinel://h/svc/0/extra", "path /service_name"),
        ("redis+sentinel://h:99999/svc", "port 1-65535"),
        ("redis+sentinel://h/svc?socket_timeout=abc", "socket_timeout='abc'"),
        ("redis+sentinel://:secret@h/svc?min_other_sentinels=-1", "min_other_sentinels"),
    ],
)
def test_bad_urls_fail_in_one_line_without_the_password(url: str, message: str) -> None:
    with pytest.raises(ValueError, match=message) as caught:
        SentinelURL.parse(url)
    assert "secret" not in str(caught.value)
    assert "\n" not in str(caught.value)


def test_client_construction_does_not_connect(free_port: int) -> None:
    client = from_url(f"redis+sentinel://:pw@127.0.0.1:{free_port}/mymaster/2?socket_timeout=0.3")
    pool = client.connection_pool
    assert isinstance(pool, redis.sentinel.SentinelConnectionPool)
    assert pool.service_name == "mymaster"
    assert pool.connection_kwargs["db"] == 2
    assert pool.connection_kwargs["password"] == "pw"
    assert pool.connection_kwargs["socket_timeout"] == 0.3
    with pytest.raises(redis.ConnectionError):  # MasterNotFoundError: no sentinel answers
        client.ping()


def test_real_sentinel_finds_the_master(sentinel_url: str, private_redis: object) -> None:
    client = from_url(sentinel_url)
    assert client.set("via-sentinel", "yes") is True
    direct = redis.Redis.from_url(private_redis.url)  # type: ignore[attr-defined]
    try:
        assert direct.get("via-sentinel") == b"yes"
    finally:
        direct.close()
    assert from_url(sentinel_url) is client


async def test_real_sentinel_asyncio(sentinel_url: str, aclose: None) -> None:
    client = async_from_url(sentinel_url)
    await client.set("via-sentinel-async", "yes")
    assert await client.get("via-sentinel-async") == b"yes"
