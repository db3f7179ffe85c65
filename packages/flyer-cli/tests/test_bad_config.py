"""Bad configuration stops `flyer config`, `flyer run` and `flyer serve` with one line, before
any port is bound, and never prints a secret (issue 15, findings 1, 3 and 4)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from pathlib import Path
from typing import Dict, List, NamedTuple

import pytest

# Each case runs `flyer` in its own process (a served project or the CLI): multi-process,
# so it runs where the slow tests run (Python 3.8 and the newest).
pytestmark = pytest.mark.slow

SECRET = "topsecret"


class Finished(NamedTuple):
    returncode: int
    stdout: str
    stderr: str
    port_was_bound: bool


def _bound(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


def _flyer(project: Path, args: List[str], env: Dict[str, str], port: int) -> Finished:
    """Run the real `flyer` command; a server that starts instead of failing is stopped."""
    environ = {k: v for k, v in os.environ.items() if not k.lower().startswith("flyer_")}
    environ.update({"PYTHONDONTWRITEBYTECODE": "1", "flyer_log_format": "json"})
    environ.update(env)
    process = subprocess.Popen(
        [sys.executable, "-m", "flyer_cli", *args],
        cwd=str(project),
        env=environ,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        out, err = process.communicate(timeout=60)
        bound = False
    except subprocess.TimeoutExpired:  # it started a server: the bug
        bound = _bound(port)
        os.killpg(process.pid, signal.SIGKILL)
        out, err = process.communicate(timeout=30)
        return Finished(-1, out, err, bound)
    return Finished(process.returncode, out, err, bound or _bound(port))


def _server_args(command: str, port: int) -> List[str]:
    args = [command, "--host", "127.0.0.1", "--port", str(port)]
    return args + (["--no-reload"] if command == "run" else ["-w", "1"])


def _assert_one_line(result: Finished, *needles: str) -> None:
    assert result.returncode == 2, (result.returncode, result.stderr[-3000:])
    assert not result.port_was_bound
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr[-3000:]
    assert lines[0].startswith("flyer: error: "), lines[0]
    for needle in needles:
        assert needle in lines[0], lines[0]
    assert "Traceback" not in result.stdout + result.stderr


# Finding 1: an unparsable .env line.


@pytest.mark.parametrize("command", ["config", "run", "serve"])
def test_an_unparsable_env_line_stops_the_command(
    own_project: Path, free_port: int, command: str
) -> None:
    (own_project / ".env").write_text('flyer_version=v2\nflyer_auth_enable="1\n')
    args = [command] if command == "config" else _server_args(command, free_port)
    result = _flyer(own_project, args, {}, free_port)
    _assert_one_line(result, ".env, line 2", "flyer_auth_enable")


def test_the_environment_still_wins_over_a_good_env_file(own_project: Path) -> None:
    (own_project / ".env").write_text("flyer_version=v2\nflyer_port=7001\n")
    result = _flyer(own_project, ["config"], {"flyer_port": "7002"}, 7002)
    assert result.returncode == 0, result.stderr
    assert "7002" in result.stdout
    assert "7001" not in result.stdout


# Findings 3 and 4: every installed plugin's settings, checked first; secrets never shown.

BAD_PLUGIN_SETTINGS = [
    ({"flyer_redis_url": f"redis:/:{SECRET}@127.0.0.1:1/0"}, "flyer_redis_url"),
    ({"flyer_redis_url": SECRET}, "flyer_redis_url"),
    ({"flyer_redis_port": "abc"}, "flyer_redis_port='abc'"),
    ({"flyer_db_port": "abc"}, "flyer_db_port='abc'"),
    ({"flyer_db_url": f"mysql://root:{SECRET}@db:notaport/x"}, "flyer_db_url"),
    ({"flyer_http_timeout": "-1"}, "flyer_http_timeout='-1'"),
    ({"flyer_http_retry_attempts": "zero"}, "flyer_http_retry_attempts='zero'"),
]


@pytest.mark.parametrize(("env", "needle"), BAD_PLUGIN_SETTINGS)
def test_config_exits_non_zero_on_a_bad_plugin_setting(
    own_project: Path, env: Dict[str, str], needle: str
) -> None:
    result = _flyer(own_project, ["config"], env, 1)
    _assert_one_line(result, needle)
    assert SECRET not in result.stdout + result.stderr
    assert result.stdout == ""


@pytest.mark.parametrize("command", ["run", "serve"])
@pytest.mark.parametrize(("env", "needle"), BAD_PLUGIN_SETTINGS[:4])
def test_a_bad_plugin_setting_stops_the_server_before_it_binds(
    own_project: Path, free_port: int, command: str, env: Dict[str, str], needle: str
) -> None:
    result = _flyer(own_project, _server_args(command, free_port), env, free_port)
    _assert_one_line(result, needle)
    assert SECRET not in result.stdout + result.stderr
    assert "gunicorn" not in result.stdout + result.stderr  # no master, no worker started


# Finding 3: a project's URL field may carry credentials: `flyer config` masks it too.


def test_config_masks_a_project_url_field(own_project: Path) -> None:
    settings = own_project / "settings.py"
    settings.write_text(
        settings.read_text().replace(
            "from flyer_core",
            "from typing import Optional\nfrom pydantic import AnyUrl\nfrom flyer_core",
        )
        + "    upstream: Optional[AnyUrl] = None\n"
    )
    url = f"https://user:{SECRET}@upstream.example/api"
    for args in (["config"], ["config", "--json"]):
        result = _flyer(own_project, args, {"flyer_upstream": url}, 1)
        assert result.returncode == 0, result.stderr
        assert SECRET not in result.stdout + result.stderr
        assert "flyer_upstream" in result.stdout
    bad = _flyer(own_project, ["config"], {"flyer_upstream": f"https://u:{SECRET}@h:port/"}, 1)
    _assert_one_line(bad, "flyer_upstream='********'")
    assert SECRET not in bad.stdout + bad.stderr
