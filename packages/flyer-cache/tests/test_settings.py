"""CacheSettings.from_env: the ancestor's flyer_redis_* variables, one-line errors, no secrets."""

from __future__ import annotations

import pytest
import redis

from flyer_cache import CacheSettings, get_configured_async_redis, get_configured_redis
from flyer_cache._settings import settings_fields


def test_defaults_are_the_ancestors_and_nothing_is_configured() -> None:
    settings = CacheSettings.from_env({})
    assert (settings.host, settings.port, settings.password, settings.db) == (
        "localhost",
        6379,
        None,
        1,
    )
    assert settings.url is None
    assert settings.configured is False


def test_names_are_case_insensitive_and_strings_are_converted() -> None:
    settings = CacheSettings.from_env(
        {"FLYER_REDIS_HOST": "cache.internal", "Flyer_Redis_Port": "6380", "flyer_redis_db": "4"}
    )
    assert (settings.host, settings.port, settings.db) == ("cache.internal", 6380, 4)
    assert settings.configured is True


def test_url_wins_and_is_configured() -> None:
    settings = CacheSettings.from_env(
        {"flyer_redis_url": "rediss://:pw@h:6380/2", "flyer_redis_host": "other"}
    )
    assert settings.url is not None
    assert settings.url.get_secret_value() == "rediss://:pw@h:6380/2"
    assert settings.configured is True


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        ({"flyer_redis_port": "abc"}, "flyer_redis_port='abc': expected an integer 1-65535"),
        ({"flyer_redis_port": "0"}, "flyer_redis_port='0': expected an integer 1-65535"),
        ({"flyer_redis_db": "-1"}, "flyer_redis_db='-1': expected an integer >= 0"),
        ({"flyer_redis_url": "mysql://:pw@h/1"}, "flyer_redis_url='mysql://:\\*\\*\\*@h/1'"),
    ],
)
def test_bad_values_fail_in_one_line(environ: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message) as caught:
        CacheSettings.from_env(environ)
    assert "\n" not in str(caught.value)
    assert "pw@" not in str(caught.value)


def test_secrets_never_in_repr() -> None:
    by_host = CacheSettings.from_env({"flyer_redis_host": "h", "flyer_redis_pass": "hunter2"})
    by_url = CacheSettings.from_env({"flyer_redis_url": "redis://u:hunter2@h/0?x=1"})
    for settings in (by_host, by_url):
        assert "hunter2" not in repr(settings)
        assert "hunter2" not in str(settings)
    assert "u:***@h" in repr(by_url)


def test_reads_os_environ_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FLYER_REDIS_HOST", "from-env")
    assert CacheSettings.from_env().host == "from-env"


def test_configured_client_or_none(redis_url: str) -> None:
    assert get_configured_redis({}) is None
    client = get_configured_redis({"flyer_redis_url": redis_url})
    assert isinstance(client, redis.Redis)
    assert client.ping() is True
    host, port = redis.connection.parse_url(redis_url)["host"], 6379
    by_host = get_configured_redis({"flyer_redis_host": host, "flyer_redis_port": str(port)})
    assert by_host is not None
    assert by_host.connection_pool.connection_kwargs["db"] == 1


async def test_configured_async_client_or_none(redis_url: str, aclose: None) -> None:
    assert get_configured_async_redis({}) is None
    client = get_configured_async_redis({"flyer_redis_url": redis_url})
    assert client is not None
    assert await client.ping() is True


def test_settings_fields_mark_secrets() -> None:
    fields = {field["name"]: field for field in settings_fields()}
    assert set(fields) == {
        "flyer_redis_url",
        "flyer_redis_host",
        "flyer_redis_port",
        "flyer_redis_pass",
        "flyer_redis_db",
    }
    assert fields["flyer_redis_pass"]["secret"] is True
    assert fields["flyer_redis_url"]["secret"] is True
    assert fields["flyer_redis_host"]["secret"] is False
    assert fields["flyer_redis_db"]["default"] == "1"
