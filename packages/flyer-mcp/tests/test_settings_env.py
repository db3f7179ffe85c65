"""flyer-mcp alone reads `.env` as an app would (issue 15, finding 5)."""

from __future__ import annotations

from pathlib import Path

import pytest

from flyer_mcp import McpSettings


def test_a_value_in_dot_env_counts_when_the_package_runs_alone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    for name in ("FLYER_MCP_ENABLED", "FLYER_MCP_EXCLUDE_TAGS"):
        monkeypatch.delenv(name, raising=False)
    (tmp_path / ".env").write_text("flyer_mcp_enabled=0\nflyer_mcp_exclude_tags='Admin|Ops'\n")
    settings = McpSettings.from_env()
    assert (settings.enabled, settings.exclude_tags) == (False, ("Admin", "Ops"))


def test_flyer_config_rows_come_from_the_model() -> None:
    from flyer_mcp import settings_fields

    rows = {row["name"]: row["default"] for row in settings_fields()}
    assert McpSettings.from_env(rows) == McpSettings()
    assert rows["flyer_mcp_enabled"] == "1"
