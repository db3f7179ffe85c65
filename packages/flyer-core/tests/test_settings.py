"""Settings: FastFlyer's names and defaults, .env + environment, one-line errors, secrets."""

from __future__ import annotations

from pathlib import Path
from typing import Dict

import pytest

from flyer_core import Settings, SettingsError, create_app, load_settings

ANCESTOR_DEFAULTS = {
    "host": "0.0.0.0",
    "port": 8080,
    "base_url": "/flyer",
    "version": "v1",
    "reload": False,
    "workers": 1,
    "threads": 5,
    "worker_connections": 1000,
    "enable_max_requests": False,
    "max_requests": 0,
    "max_requests_jitter": 0,
    "timeout": 60,
    "graceful_timeout": 1,
    "keepalive": 5,
    "console_log_level": "info",
    "file_log_level": "info",
    "access_log": True,
    "access_logfile": "-",
}


def test_fastflyer_defaults() -> None:
    settings = load_settings(None, {})
    for name, default in ANCESTOR_DEFAULTS.items():
        assert getattr(settings, name) == default, name


def test_names_are_case_insensitive_and_typed() -> None:
    settings = load_settings(
        None,
        {
            "FLYER_PORT": "9000",
            "Flyer_Reload": "1",
            "flyer_WORKERS": "4",
            "flyer_base_url": "/api/",
        },
    )
    assert (settings.port, settings.reload, settings.workers) == (9000, True, 4)
    assert settings.base_url == "/api"


def test_env_file_is_read_and_the_environment_wins(tmp_path: Path) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text("FLYER_PORT=7000\nflyer_version=v9\nFLYER_REDIS_HOST=cache.local\n")
    settings = load_settings(str(env_file), {"flyer_port": "7001", "OTHER": "x"})
    assert settings.port == 7001
    assert settings.version == "v9"
    assert settings.environ["flyer_redis_host"] == "cache.local"
    assert settings.environ["flyer_port"] == "7001"
    assert settings.environ["other"] == "x"


def test_settings_reads_env_file_from_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / ".env").write_text("flyer_port=7100\n")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("FLYER_WORKERS", "3")
    settings = Settings()
    assert (settings.port, settings.workers) == (7100, 3)
    assert settings.environ["flyer_workers"] == "3"
    monkeypatch.setenv("FLYER_PORT", "7200")
    assert load_settings().port == 7200


@pytest.mark.parametrize(
    ("variables", "message"),
    [
        ({"flyer_port": "abc"}, "flyer_port='abc': expected an integer 1-65535"),
        ({"flyer_port": "70000"}, "flyer_port='70000': expected an integer 1-65535"),
        ({"flyer_workers": "0"}, "flyer_workers='0': expected an integer >= 1"),
        ({"flyer_reload": "perhaps"}, "flyer_reload='perhaps': expected a boolean"),
        ({"flyer_base_url": "no slash"}, "flyer_base_url='no slash': expected a URL path"),
        ({"flyer_console_log_level": "loud"}, "flyer_console_log_level='loud': expected one of"),
        ({"flyer_trusted_proxies": "10.0.0.1,proxy"}, "flyer_trusted_proxies='10.0.0.1,proxy'"),
        ({"flyer_max_body_size": "lots"}, "flyer_max_body_size='lots': expected a size"),
        (
            {"flyer_log_format": "xml"},
            "flyer_log_format='xml': expected one of auto, console, json",
        ),
        (
            {"flyer_auth_enable": "1"},
            "flyer_auth_enable=1: set both flyer_auth_user and flyer_auth_pass",
        ),
    ],
)
def test_bad_values_are_one_line_errors(variables: Dict[str, str], message: str) -> None:
    with pytest.raises(SettingsError) as err:
        load_settings(None, variables)
    text = str(err.value)
    assert text.startswith(message)
    assert "\n" not in text
    assert isinstance(err.value, ValueError)
    assert err.value.__cause__ is None
    assert err.value.__suppress_context__


def test_create_app_surfaces_the_one_line_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("FLYER_PORT", "abc")
    with pytest.raises(SettingsError, match=r"^flyer_port='abc': expected an integer 1-65535$"):
        create_app(None, plugins=[])


def test_secrets_never_show(tmp_path: Path) -> None:
    settings = load_settings(
        None, {"flyer_auth_enable": "1", "flyer_auth_user": "admin", "flyer_auth_pass": "hunter2"}
    )
    assert settings.auth_pass.get_secret_value() == "hunter2"
    assert "hunter2" not in repr(settings)
    assert "hunter2" not in str(settings)
    assert "hunter2" not in str(settings.model_dump())
    with pytest.raises(SettingsError) as err:
        load_settings(
            None, {"flyer_auth_pass": "hunter2", "flyer_port": "x", "flyer_auth_enable": "2"}
        )
    assert "hunter2" not in str(err.value)


def test_sizes_and_lists() -> None:
    settings = load_settings(
        None,
        {
            "flyer_max_body_size": "10m",
            "flyer_log_file_max_bytes": "512k",
            "flyer_cors_origins": "https://a.example, https://b.example",
            "flyer_access_log_exclude": "/health_check,/metrics",
            "flyer_trusted_proxies": "10.0.0.0/8, ::1",
        },
    )
    assert settings.max_body_size == 10 * 1024 * 1024
    assert settings.log_file_max_bytes == 512 * 1024
    assert settings.cors_origin_list == ["https://a.example", "https://b.example"]
    assert settings.access_log_excluded == {"/health_check", "/metrics"}
    assert [str(n) for n in settings.trusted_proxy_networks] == ["10.0.0.0/8", "::1/128"]


def test_warn_is_an_accepted_level() -> None:
    assert load_settings(None, {"flyer_file_log_level": "WARN"}).file_log_level == "warning"


def test_a_project_field_without_a_known_wording_reads_as_pydantic_says() -> None:
    from pydantic import Field

    class ProjectSettings(Settings):
        heartbeat_seconds: int = Field(default=5, ge=1)

    with pytest.raises(SettingsError) as info:
        ProjectSettings(heartbeat_seconds=0)
    assert (
        str(info.value) == "flyer_heartbeat_seconds=0: input should be greater than or equal to 1"
    )


def test_a_subclass_reads_the_env_file_it_names(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("flyer_port", raising=False)
    (tmp_path / ".env").write_text("flyer_port=7001\n")
    (tmp_path / "other.env").write_text("flyer_port=7002\n")

    class Default(Settings):
        pass

    class Named(Settings):
        env_file = "other.env"

    from pydantic import ConfigDict

    class NamedTheOldWay(Settings):
        # pydantic-settings' spelling, in the model's configuration
        model_config = ConfigDict(env_file="other.env")  # type: ignore[typeddict-unknown-key]

    class NoFile(Settings):
        env_file = None

    assert Default().port == 7001
    assert Named().port == 7002
    assert NamedTheOldWay().port == 7002
    assert NoFile().port == 8080
    assert Default(_env_file=None).port == 8080  # pydantic-settings' keyword
    assert Default(_env_file="other.env").port == 7002
    assert Default(_env_file="other.env", port=7003).port == 7003  # keywords win
    monkeypatch.setenv("FLYER_PORT", "7004")  # the environment wins over the file, any case
    assert Named().port == 7004
