"""settings_report: what `flyer config` prints — values, defaults, sources, secrets masked."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Dict, List

from flyer_core import LoadedPlugin, settings_report


class CachePlugin:
    name = "cache"

    def settings_fields(self) -> List[Dict[str, Any]]:
        return [
            {"name": "flyer_redis_host", "default": "localhost", "secret": False, "help": "host"},
            {"name": "flyer_redis_pass", "default": "", "secret": True, "help": "password"},
        ]


def by_name(report: List[Dict[str, Any]]) -> Dict[str, Dict[str, Any]]:
    return {row["name"]: row for row in report}


def test_sources_defaults_and_masking(tmp_path: Path) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text("flyer_port=9000\nflyer_redis_pass=from-file\nflyer_version=v2\n")
    environ = {"FLYER_VERSION": "v3", "flyer_auth_pass": "hunter2"}
    plugins = [LoadedPlugin("cache", 10, CachePlugin())]
    rows = by_name(settings_report(str(env_file), environ, plugins=plugins))

    assert rows["flyer_port"] == {
        **rows["flyer_port"],
        "value": "9000",
        "default": "8080",
        "source": ".env",
    }
    assert rows["flyer_version"]["value"] == "v3"
    assert rows["flyer_version"]["source"] == "environment"
    assert rows["flyer_host"]["source"] == "default"
    assert rows["flyer_host"]["value"] == "0.0.0.0"
    assert rows["flyer_access_log"]["default"] == "1"
    assert rows["flyer_auth_pass"]["value"] == "********"
    assert rows["flyer_auth_pass"]["secret"]
    assert rows["flyer_redis_pass"]["value"] == "********"
    assert rows["flyer_redis_pass"]["source"] == ".env"
    assert rows["flyer_redis_host"] == {
        "name": "flyer_redis_host",
        "default": "localhost",
        "secret": False,
        "help": "host",
        "plugin": "cache",
        "value": "localhost",
        "source": "default",
    }
    text = repr(rows)
    assert "hunter2" not in text
    assert "from-file" not in text


def test_unset_secret_is_empty_not_masked() -> None:
    rows = by_name(settings_report(None, {}, plugins=[]))
    assert rows["flyer_auth_pass"]["value"] == ""
    assert set(rows["flyer_port"]) == {"name", "value", "default", "source", "secret", "help"}
    assert "flyer_environ" not in rows


def test_bad_values_are_reported_not_raised() -> None:
    rows = by_name(settings_report(None, {"flyer_port": "abc"}, plugins=[]))
    assert rows["flyer_port"]["value"] == "abc"


def test_installed_plugins_are_discovered_by_default() -> None:
    rows = settings_report(None, {})
    assert rows[0]["name"] == "flyer_host"
