"""flyer-db alone reads `.env` as an app would (issue 15, finding 5)."""

from __future__ import annotations

from pathlib import Path

import pytest

from flyer_db import DBSettings
from flyer_status import SettingsError


def test_a_value_in_dot_env_counts_when_the_package_runs_alone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    for name in ("FLYER_DB_HOST", "FLYER_DB_URL", "FLYER_DB_POOL_SIZE", "FLYER_DB_PORT"):
        monkeypatch.delenv(name, raising=False)
    (tmp_path / ".env").write_text("flyer_db_host=db.internal\nflyer_db_pool_size=4\n")
    settings = DBSettings.from_env()
    assert (settings.host, settings.pool_size, settings.server) == ("db.internal", 4, True)


@pytest.mark.parametrize("url", ["mysql://u:hunter2@h:notaport/db", "u:hunter2@h/db"])
def test_a_bad_url_never_shows_its_password(url: str) -> None:
    with pytest.raises(SettingsError) as caught:
        DBSettings.from_env({"flyer_db_url": url})
    assert "hunter2" not in str(caught.value)
    assert str(caught.value).startswith("flyer_db_url: ")
