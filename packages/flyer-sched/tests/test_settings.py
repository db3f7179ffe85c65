from __future__ import annotations

import pytest

from flyer_sched import SchedSettings


def test_defaults_match_the_ancestor_and_pick_the_file_backend_without_redis() -> None:
    settings = SchedSettings.from_env({})
    assert settings.timezone == "UTC"
    assert settings.lock_backend == "auto"
    assert settings.backend == "file"
    assert settings.redis_port == 6379
    assert settings.redis_db == 1
    assert settings.lock_ttl == 4.0
    assert settings.on_store_error == "skip"
    assert settings.enabled is True


def test_variables_are_case_insensitive_and_redis_makes_auto_pick_redis() -> None:
    settings = SchedSettings.from_env(
        {
            "FLYER_REDIS_HOST": "cache.internal",
            "Flyer_Sched_Lock_TTL": "2.5",
            "flyer_sched_timezone": "Asia/Shanghai",
            "FLYER_SCHED_ON_STORE_ERROR": "RUN",
        }
    )
    assert settings.backend == "redis"
    assert settings.redis_host == "cache.internal"
    assert settings.lock_ttl == 2.5
    assert settings.timezone == "Asia/Shanghai"
    assert settings.on_store_error == "run"
    assert SchedSettings.from_env({"flyer_redis_url": "redis://h:1/0"}).backend == "redis"
    forced = SchedSettings.from_env(
        {"flyer_redis_url": "redis://h/0", "flyer_sched_lock_backend": "memory"}
    )
    assert forced.backend == "memory"


def test_secrets_stay_out_of_the_repr() -> None:
    settings = SchedSettings.from_env(
        {"flyer_redis_url": "redis://:s3cret-url@h:6379/0", "flyer_redis_pass": "s3cret-pass"}
    )
    text = repr(settings)
    assert "s3cret" not in text
    assert "SchedSettings(" in text


@pytest.mark.parametrize(
    ("variable", "value", "allowed"),
    [
        ("flyer_sched_lock_backend", "zookeeper", "auto, redis, file, memory"),
        ("flyer_sched_lock_ttl", "soon", "a number >= 0.1"),
        ("flyer_sched_lock_ttl", "0", "a number >= 0.1"),
        ("flyer_sched_on_store_error", "panic", "skip, run"),
        ("flyer_sched_timezone", "Mars/Olympus", "IANA time zone"),
        ("flyer_sched_enabled", "maybe", "true/false"),
        ("flyer_redis_port", "abc", "an integer 1-65535"),
        ("flyer_redis_port", "70000", "an integer 1-65535"),
        ("flyer_redis_db", "-1", "an integer"),
        ("flyer_sched_shutdown_timeout", "-3", "a number >= 0"),
    ],
)
def test_bad_values_fail_in_one_line_naming_variable_value_and_choices(
    variable: str, value: str, allowed: str
) -> None:
    with pytest.raises(ValueError) as caught:
        SchedSettings.from_env({variable.upper(): value})
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith(f"{variable}={value!r}")
    assert allowed in message


def test_reads_os_environ_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FLYER_SCHED_LOCK_PREFIX", "team-a:sched")
    assert SchedSettings.from_env().lock_prefix == "team-a:sched"
