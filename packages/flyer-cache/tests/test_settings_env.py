"""flyer-cache alone reads `.env` as an app would; its secrets are `Secret`s (issue 15, #5)."""

from __future__ import annotations

from pathlib import Path

import pytest

from flyer_cache import CacheSettings
from flyer_status import SettingsError
from flyer_status.settings import Secret


def test_a_value_in_dot_env_counts_when_the_package_runs_alone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    for name in ("FLYER_REDIS_HOST", "FLYER_REDIS_URL", "FLYER_REDIS_PORT"):
        monkeypatch.delenv(name, raising=False)
    (tmp_path / ".env").write_text("flyer_redis_host=cache.internal\nflyer_redis_port=6380\n")
    settings = CacheSettings.from_env()
    assert (settings.host, settings.port, settings.configured) == ("cache.internal", 6380, True)


def test_password_and_url_are_secrets_masked_in_repr() -> None:
    by_host = CacheSettings.from_env({"flyer_redis_host": "h", "flyer_redis_pass": "hunter2"})
    assert by_host.password == Secret("hunter2")
    by_url = CacheSettings.from_env({"flyer_redis_url": "redis://u:hunter2@h/0"})
    assert isinstance(by_url.url, Secret)
    for settings in (by_host, by_url):
        assert "hunter2" not in f"{settings!r} {settings} {settings.password} {settings.url}"


def test_plain_strings_given_to_the_constructor_become_secrets() -> None:
    settings = CacheSettings(password="hunter2", url="redis://:hunter2@h/0")
    assert settings.password == Secret("hunter2")
    assert settings.url == Secret("redis://:hunter2@h/0")
    assert "hunter2" not in repr(settings)


@pytest.mark.parametrize(
    "url", ["redis:/:hunter2@127.0.0.1:1/0", "hunter2", "redis://:hunter2@h:99999/0"]
)
def test_a_bad_url_never_shows_its_password(url: str) -> None:
    with pytest.raises(SettingsError) as caught:
        CacheSettings.from_env({"flyer_redis_url": url})
    assert "hunter2" not in str(caught.value)
    assert str(caught.value).startswith("flyer_redis_url=")
