"""settings_report given loaded settings: rows from the model (a project's subclass too), with
effective values and provenance, secrets and URLs masked."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Dict, List, Optional

from pydantic import AnyUrl, Field, SecretStr

from flyer_core import Settings, load_settings, settings_report


class ProjectSettings(Settings):
    base_url: str = "/shop"
    heartbeat_seconds: int = Field(10, ge=1, description="Heartbeat period")
    api_key: SecretStr = SecretStr("")
    upstream: Optional[AnyUrl] = None


def _rows(report: List[Dict[str, Any]]) -> Dict[str, Dict[str, Any]]:
    return {row["name"]: row for row in report}


def test_rows_come_from_the_project_model_with_provenance(tmp_path: Path, monkeypatch: Any) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".env").write_text("flyer_heartbeat_seconds=30\nflyer_api_key=k-123456\n")
    environ = {"flyer_port": "09000", "flyer_upstream": "https://u:pw-777@h.example/x"}
    for key in environ:
        monkeypatch.setenv(key, environ[key])
    settings = ProjectSettings()
    rows = _rows(settings_report(".env", environ, plugins=[], settings=settings))
    assert rows["flyer_port"]["value"] == "9000"  # the effective value, not the raw text
    assert rows["flyer_port"]["source"] == "environment"
    assert rows["flyer_base_url"]["value"] == "/shop"
    assert rows["flyer_base_url"]["source"] == "settings.py"
    assert rows["flyer_heartbeat_seconds"]["source"] == ".env"
    assert rows["flyer_heartbeat_seconds"]["value"] == "30"
    assert rows["flyer_heartbeat_seconds"]["help"] == "Heartbeat period"
    assert rows["flyer_host"]["source"] == "default"
    for name in ("flyer_api_key", "flyer_upstream", "flyer_auth_pass"):
        assert rows[name]["secret"], name
    assert rows["flyer_api_key"]["value"] == "********"
    assert rows["flyer_upstream"]["value"] == "********"
    text = repr(rows)
    assert "k-123456" not in text
    assert "pw-777" not in text


def test_plain_settings_read_as_before() -> None:
    settings = load_settings(None, {"flyer_base_url": "/api/"})
    rows = _rows(settings_report(None, {"flyer_base_url": "/api/"}, plugins=[], settings=settings))
    assert rows["flyer_base_url"]["value"] == "/api"
    assert rows["flyer_base_url"]["source"] == "environment"
    assert all(row["source"] != "settings.py" for row in rows.values())
