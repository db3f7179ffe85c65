"""flyer-http alone reads `.env` as an app would, by flyer_status's one reader (issue 15, #5)."""

from __future__ import annotations

from pathlib import Path

import pytest

from flyer_http import HttpSettings
from flyer_status import SettingsError


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    for name in ("FLYER_HTTP_TIMEOUT", "flyer_http_timeout", "FLYER_HTTP_RETRY_ATTEMPTS"):
        monkeypatch.delenv(name, raising=False)
    return tmp_path


def test_a_value_in_dot_env_counts_when_the_package_runs_alone(project: Path) -> None:
    (project / ".env").write_text("flyer_http_timeout=7\n")
    assert HttpSettings.from_env().timeout == 7.0


def test_the_environment_wins_over_dot_env(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (project / ".env").write_text("FLYER_HTTP_TIMEOUT=7\nflyer_http_retry_attempts=4\n")
    monkeypatch.setenv("FLYER_HTTP_TIMEOUT", "9")
    settings = HttpSettings.from_env()
    assert (settings.timeout, settings.retry_attempts) == (9.0, 4)


def test_a_given_mapping_is_all_that_is_read(project: Path) -> None:
    (project / ".env").write_text("flyer_http_timeout=7\n")
    assert HttpSettings.from_env({}).timeout == 5.0


def test_an_unparsable_dot_env_line_is_one_line_with_file_and_line(project: Path) -> None:
    (project / ".env").write_text("# retries\nflyer_http_timeout='7\n")
    with pytest.raises(SettingsError) as caught:
        HttpSettings.from_env()
    message = str(caught.value)
    assert message.startswith(".env, line 2: flyer_http_timeout: cannot be parsed")
    assert "'7" not in message
    assert "\n" not in message


def test_flyer_config_rows_come_from_the_model() -> None:
    from flyer_http._settings import settings_fields

    rows = {row["name"]: row["default"] for row in settings_fields()}
    assert HttpSettings.from_env(rows) == HttpSettings()
    assert rows["flyer_http_timeout"] == "5"
