"""`flyer_redis_*` belong to flyer-cache: flyer-sched reads them through it when it is installed
and by the same rules and defaults when it is not (issue 15, finding 5)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Dict

import pytest

from flyer_cache import CacheSettings
from flyer_sched import SchedSettings
from flyer_sched._settings import redis_fields, redis_fields_alone
from flyer_status import SettingsError
from flyer_status.settings import Secret, environment

ENVIRONMENTS = [
    {},
    {"flyer_redis_host": "cache.internal"},
    {"FLYER_REDIS_HOST": " h ", "flyer_redis_port": " 6380 ", "flyer_redis_db": "0"},
    {"flyer_redis_pass": "s3cret"},
    {"flyer_redis_host": "h", "flyer_redis_pass": "s3cret", "flyer_redis_db": "15"},
    {"flyer_redis_url": "redis://:s3cret@h:6380/2"},
    {"flyer_redis_url": "rediss://h:6380/2", "flyer_redis_host": "other"},
    {"flyer_redis_url": "unix:///run/redis.sock?db=3"},
    {"flyer_redis_url": "redis+sentinel://s1:26379,s2/mymaster/0"},
    {"flyer_redis_url": " ", "flyer_redis_host": "", "flyer_redis_port": ""},
    {"flyer_redis_port": "1", "flyer_redis_db": "+4"},
]
BAD = [
    {"flyer_redis_port": "abc"},
    {"flyer_redis_port": "0"},
    {"flyer_redis_port": "65536"},
    {"flyer_redis_port": "6379.0"},
    {"flyer_redis_db": "-1"},
    {"flyer_redis_db": "one"},
    {"flyer_redis_url": "mysql://:s3cret@h/1"},
    {"flyer_redis_url": "s3cret"},
    {"flyer_redis_url": "redis:/:s3cret@h:1/0"},
]


@pytest.mark.parametrize("variables", ENVIRONMENTS)
def test_with_and_without_flyer_cache_the_values_are_equal(variables: Dict[str, str]) -> None:
    env = environment(variables)
    assert redis_fields(env) == redis_fields_alone(env)


@pytest.mark.parametrize("variables", BAD)
def test_with_and_without_flyer_cache_the_errors_are_equal(variables: Dict[str, str]) -> None:
    env = environment(variables)
    with pytest.raises(SettingsError) as through_cache:
        redis_fields(env)
    with pytest.raises(SettingsError) as alone:
        redis_fields_alone(env)
    assert str(through_cache.value) == str(alone.value)
    assert "s3cret" not in str(alone.value)
    assert "\n" not in str(alone.value)


@pytest.mark.parametrize("variables", ENVIRONMENTS)
def test_sched_and_cache_agree_on_where_redis_is(variables: Dict[str, str]) -> None:
    sched = SchedSettings.from_env(variables)
    cache = CacheSettings.from_env(variables)
    assert sched.redis_configured is cache.configured
    assert sched.backend == ("redis" if cache.configured else "file")
    assert (sched.redis_port, sched.redis_db) == (cache.port, cache.db)
    assert sched.redis_url == cache.url
    assert sched.redis_pass == cache.password


def test_without_flyer_cache_sched_reads_them_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    from flyer_sched._settings import settings_fields as sched_fields

    variables = {"flyer_redis_host": "h", "flyer_redis_port": "6380", "flyer_redis_pass": "pw"}
    with_cache = SchedSettings.from_env(variables)

    def rows() -> list:
        return [(f["name"], f["default"], f["secret"]) for f in sched_fields()]

    rows_with_cache = rows()
    monkeypatch.setitem(sys.modules, "flyer_cache", None)  # `import flyer_cache` now fails
    assert SchedSettings.from_env(variables) == with_cache
    assert rows() == rows_with_cache
    with pytest.raises(SettingsError, match="flyer_redis_port='0': expected an integer 1-65535"):
        SchedSettings.from_env({"flyer_redis_port": "0"})


def test_defaults_are_flyer_caches() -> None:
    sched, cache = SchedSettings.from_env({}), CacheSettings.from_env({})
    assert (sched.redis_port, sched.redis_db) == (cache.port, cache.db) == (6379, 1)


def test_redis_fields_are_listed_once_as_flyer_cache_lists_them() -> None:
    from flyer_cache import CachePlugin
    from flyer_sched._settings import settings_fields as sched_fields

    redis_rows = [f for f in sched_fields() if f["name"].startswith("flyer_redis_")]
    assert redis_rows == CachePlugin().settings_fields()


def test_sched_alone_reads_dot_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    for name in ("FLYER_REDIS_HOST", "FLYER_REDIS_URL", "FLYER_SCHED_LOCK_TTL"):
        monkeypatch.delenv(name, raising=False)
    (tmp_path / ".env").write_text("flyer_redis_host=cache.internal\nflyer_sched_lock_ttl=2.5\n")
    settings = SchedSettings.from_env()
    assert (settings.backend, settings.redis_host, settings.lock_ttl) == (
        "redis",
        "cache.internal",
        2.5,
    )


def test_redis_url_and_password_are_secrets() -> None:
    settings = SchedSettings.from_env(
        {"flyer_redis_url": "redis://:hunter2@h:6379/0", "flyer_redis_pass": "hunter2"}
    )
    assert isinstance(settings.redis_url, Secret)
    assert isinstance(settings.redis_pass, Secret)
    assert settings.redis_pass.get_secret_value() == "hunter2"
    assert "hunter2" not in f"{settings!r} {settings.redis_url} {settings.redis_pass}"
    given = SchedSettings(redis_url="redis://:hunter2@h/0", redis_pass="hunter2")
    assert given.redis_url == Secret("redis://:hunter2@h/0")
    assert "hunter2" not in repr(given)
