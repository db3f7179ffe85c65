"""`flyer config`: every setting with its value and source; secrets never printed."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Dict

import pytest

SECRETS = {
    "dotenv_auth": "Dotenv-Auth-Pa55word-7f3a",
    "dotenv_redis": "Dotenv-Redis-Pa55-91bc",
    "env_db": "Env-Db-Pa55word-c4d2",
    "env_redis_url": "Url-Embedded-Pa55-0e77",
    "project_key": "Project-Api-Key-5a5a",
}


def _rows(result) -> Dict[str, dict]:
    assert result.returncode == 0, result.stderr
    return {row["name"]: row for row in json.loads(result.stdout)}


def test_defaults_and_the_projects_own_settings(flyer_here, project: Path) -> None:
    rows = _rows(flyer_here("config", "--json", cwd=project))
    assert rows["flyer_port"] == {**rows["flyer_port"], "value": "8080", "source": "default"}
    assert rows["flyer_base_url"]["value"] == "/shop"
    assert rows["flyer_base_url"]["source"] == "settings.py"
    assert rows["flyer_heartbeat_seconds"]["value"] == "10"
    assert rows["flyer_heartbeat_seconds"]["source"] == "settings.py"
    # Plugins' variables are there too (cache, db, http, sched are installed for these tests).
    for name in ["flyer_redis_host", "flyer_db_url", "flyer_http_timeout", "flyer_sched_lock_ttl"]:
        assert name in rows
    assert all(
        set(row) >= {"name", "value", "default", "source", "secret"} for row in rows.values()
    )


def test_sources_dotenv_and_environment_the_environment_wins(flyer_here, own_project: Path) -> None:
    (own_project / ".env").write_text(
        "flyer_port=9000\nflyer_workers=2\nflyer_heartbeat_seconds=4\n"
    )
    result = flyer_here(
        "config", "--json", cwd=own_project, env={"FLYER_WORKERS": "3", "flyer_base_url": "/api"}
    )
    rows = _rows(result)
    assert (rows["flyer_port"]["value"], rows["flyer_port"]["source"]) == ("9000", ".env")
    assert (rows["flyer_workers"]["value"], rows["flyer_workers"]["source"]) == ("3", "environment")
    assert (rows["flyer_base_url"]["value"], rows["flyer_base_url"]["source"]) == (
        "/api",
        "environment",
    )
    heartbeat = rows["flyer_heartbeat_seconds"]
    assert (heartbeat["value"], heartbeat["source"]) == ("4", ".env")


def test_the_table_lists_name_value_and_source(flyer_here, project: Path) -> None:
    result = flyer_here("config", cwd=project)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["NAME", "VALUE", "SOURCE"]
    assert ["flyer_port", "8080", "default"] in [line.split() for line in lines]
    assert ["flyer_base_url", "/shop", "settings.py"] in [line.split() for line in lines]


@pytest.mark.slow
def test_secrets_never_appear_in_any_output(flyer, own_project: Path) -> None:
    (own_project / ".env").write_text(
        f"flyer_auth_pass={SECRETS['dotenv_auth']}\n"
        f"FLYER_REDIS_PASS={SECRETS['dotenv_redis']}\n"
        "flyer_auth_user=admin\n"
        "flyer_auth_enable=1\n"
    )
    settings = own_project / "settings.py"
    settings.write_text(
        settings.read_text().replace(
            "from flyer_core", "from pydantic import SecretStr\nfrom flyer_core"
        )
        + f'    api_key: SecretStr = SecretStr("{SECRETS["project_key"]}")\n'
    )
    env = {
        "flyer_db_pass": SECRETS["env_db"],
        "flyer_redis_url": f"redis://:{SECRETS['env_redis_url']}@127.0.0.1:6399/0",
    }
    outputs = [
        flyer("config", cwd=own_project, env=env),
        flyer("config", "--json", cwd=own_project, env=env),
    ]
    for result in outputs:
        assert result.returncode == 0, result.stderr
        for secret in SECRETS.values():
            assert secret not in result.stdout
            assert secret not in result.stderr
    rows = _rows(outputs[1])
    expected = {
        "flyer_auth_pass": ".env",
        "flyer_redis_pass": ".env",
        "flyer_db_pass": "environment",
        "flyer_redis_url": "environment",
        "flyer_api_key": "settings.py",
    }
    for name, source in expected.items():
        assert rows[name]["secret"] is True, name
        assert rows[name]["value"] == "********", name
        assert rows[name]["source"] == source, name
    assert rows["flyer_auth_user"]["value"] == "admin"


def test_an_unset_secret_shows_empty_not_a_mask(flyer_here, project: Path) -> None:
    rows = _rows(flyer_here("config", "--json", cwd=project))
    assert rows["flyer_auth_pass"]["value"] == ""
    assert rows["flyer_auth_pass"]["secret"] is True


@pytest.mark.parametrize(
    ("env", "needle"),
    [
        ({"flyer_port": "abc"}, "flyer_port='abc': expected an integer 1-65535"),
        ({"flyer_heartbeat_seconds": "soon"}, "flyer_heartbeat_seconds='soon'"),
        ({"flyer_console_log_level": "loud"}, "flyer_console_log_level='loud'"),
    ],
)
def test_a_bad_value_is_a_one_line_error(flyer_here, project: Path, env, needle: str) -> None:
    result = flyer_here("config", cwd=project, env=env)
    assert result.returncode == 2
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("flyer: error: bad settings: ")
    assert needle in lines[0]


def test_a_bad_secret_value_is_not_echoed(flyer_here, project: Path) -> None:
    result = flyer_here(
        "config", cwd=project, env={"flyer_auth_enable": "1", "flyer_auth_pass": "Leaky-Pa55"}
    )
    assert result.returncode == 2
    assert "Leaky-Pa55" not in result.stderr + result.stdout
    assert "flyer_auth_user" in result.stderr


def test_outside_a_project_flyers_own_settings_are_shown(flyer_here, tmp_path: Path) -> None:
    rows = _rows(flyer_here("config", "--json", cwd=tmp_path))
    assert rows["flyer_base_url"]["value"] == "/flyer"
    assert rows["flyer_base_url"]["source"] == "default"
    assert "flyer_heartbeat_seconds" not in rows
