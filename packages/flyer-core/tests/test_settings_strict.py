"""`.env` is read strictly and URL paths are plain: a line that cannot be parsed, a
`flyer_base_url` with `.` / `..` segments, or a log file that cannot be opened stops start-up
with one line (issue 15, findings 1, 6 and 12)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path
from typing import Callable, Dict

import pytest

from flyer_core import SettingsError, create_app, load_settings

MAIN = "from flyer_core import create_app\napp = create_app(None)\n"


def _env(**variables: str) -> Dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.lower().startswith("flyer_")}
    env.update({"flyer_log_format": "json", "PYTHONUNBUFFERED": "1"})
    env.update(variables)
    return env


def _port_is_free(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) != 0


@pytest.mark.parametrize(
    ("content", "line", "variable"),
    [
        ('flyer_auth_enable="1\n', 1, "flyer_auth_enable"),
        ("# comment\n\nflyer_version=v2\nflyer_port='9000\n", 4, "flyer_port"),
        ("flyer_version=v2\nthis is not an assignment\n", 2, None),
    ],
)
def test_an_unparsable_env_line_is_one_line_naming_file_and_line(
    tmp_path: Path, content: str, line: int, variable: str
) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text(content)
    with pytest.raises(SettingsError) as caught:
        load_settings(str(env_file), {})
    message = str(caught.value)
    assert "\n" not in message
    assert f"{env_file}, line {line}" in message
    if variable is not None:
        assert variable in message


def test_the_unparsable_value_is_never_echoed(tmp_path: Path) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text('flyer_auth_pass="hunter2-secret\n')
    with pytest.raises(SettingsError) as caught:
        load_settings(str(env_file), {})
    assert "hunter2" not in str(caught.value)
    assert "flyer_auth_pass" in str(caught.value)


def test_a_well_formed_env_file_still_reads_and_the_environment_wins(tmp_path: Path) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text(
        "# a comment\n"
        "export flyer_version=v3\n"
        'flyer_base_url="/shop"\n'
        "flyer_port='9000'\n"
        "EMPTY=\n"
        "flyer_auth_user=adm # trailing comment\n"
    )
    settings = load_settings(str(env_file), {"flyer_port": "9001"})
    assert (settings.version, settings.base_url, settings.port) == ("v3", "/shop", 9001)
    assert settings.auth_user == "adm"


def test_create_app_stops_on_an_unparsable_env_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".env").write_text('flyer_auth_enable="1\n')
    with pytest.raises(SettingsError, match=r"\.env, line 1"):
        create_app(None)


@pytest.mark.parametrize(
    "runner",
    ["run_prod('main:app', port={port})", "run_dev('main:app', reload=False, port={port})"],
)
@pytest.mark.slow
def test_a_server_does_not_start_with_an_unparsable_env_line(
    tmp_path: Path, free_port: Callable[[], int], runner: str
) -> None:
    (tmp_path / "main.py").write_text(MAIN)
    (tmp_path / ".env").write_text('flyer_auth_enable="1\n')
    port = free_port()
    code = "from flyer_core import run_dev, run_prod; " + runner.format(port=port)
    process = subprocess.run(
        [sys.executable, "-c", code],
        cwd=tmp_path,
        env=_env(flyer_host="127.0.0.1"),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert process.returncode == 2, process.stderr
    assert process.stderr.strip().splitlines() == [process.stderr.strip()]
    assert ".env, line 1" in process.stderr
    assert "flyer_auth_enable" in process.stderr
    assert "Traceback" not in process.stderr + process.stdout
    assert _port_is_free(port)


@pytest.mark.parametrize("value", ["/../x", "/./.", "/a/../b", "/..", "/.", "/a/./b"])
def test_dot_segments_in_base_url_are_refused(value: str) -> None:
    with pytest.raises(SettingsError) as caught:
        load_settings(None, {"flyer_base_url": value})
    message = str(caught.value)
    assert message.startswith(f"flyer_base_url={value!r}: expected ")
    assert "\n" not in message


@pytest.mark.parametrize("value", ["/a.b", "/v1.2/x", "/.well", "/x..y", ""])
def test_dots_inside_a_segment_are_fine(value: str) -> None:
    assert load_settings(None, {"flyer_base_url": value}).base_url == value


@pytest.mark.parametrize("variable", ["log_file", "access_logfile"])
def test_an_unwritable_log_file_is_a_one_line_settings_error(
    make_settings: Callable[..., object], variable: str
) -> None:
    settings = make_settings(**{variable: "/proc/nope/flyer.log"})
    with pytest.raises(SettingsError) as caught:
        create_app(None, settings, plugins=[])
    message = str(caught.value)
    assert message.startswith(f"flyer_{variable}='/proc/nope/flyer.log': cannot be opened")
    assert "\n" not in message
