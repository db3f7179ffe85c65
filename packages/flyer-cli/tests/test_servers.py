"""`flyer run` and `flyer serve`: they check before starting, and serve for real."""

from __future__ import annotations

import importlib.util
import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest


def _one_line_error(result, needle: str) -> None:
    assert result.returncode == 2, result.stderr
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("flyer: error: ")
    assert needle in lines[0]


@pytest.mark.parametrize("command", ["run", "serve"])
def test_outside_a_project_nothing_starts(flyer_here, tmp_path: Path, command: str) -> None:
    _one_line_error(flyer_here(command, cwd=tmp_path), "no module 'main'")


@pytest.mark.parametrize("command", ["run", "serve"])
def test_bad_settings_stop_before_any_server(flyer_here, project: Path, command: str) -> None:
    result = flyer_here(command, cwd=project, env={"flyer_port": "abc"})
    _one_line_error(result, "bad settings: flyer_port='abc': expected an integer 1-65535")


@pytest.mark.skipif(importlib.util.find_spec("granian") is not None, reason="granian installed")
def test_granian_when_not_installed(flyer_here, project: Path) -> None:
    result = flyer_here("serve", "--server", "granian", cwd=project)
    _one_line_error(result, "--server granian: granian is not installed")


def _get(url: str) -> dict:
    with urllib.request.urlopen(url, timeout=5) as response:
        return json.loads(response.read())


@pytest.mark.slow
def test_serve_answers_and_stops_cleanly_on_sigterm(
    project: Path, free_port: int, tmp_path: Path
) -> None:
    env = {k: v for k, v in os.environ.items() if not k.lower().startswith("flyer_")}
    env.update(
        {
            "PYTHONDONTWRITEBYTECODE": "1",
            "flyer_log_format": "json",
            "flyer_sched_lock_dir": str(tmp_path / "locks"),
        }
    )
    log = tmp_path / "serve.log"
    with log.open("wb") as out:
        server = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "flyer_cli",
                "serve",
                "-w",
                "1",
                "--host",
                "127.0.0.1",
                "--port",
                str(free_port),
            ],
            cwd=str(project),
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            deadline = time.monotonic() + 90
            body = None
            while time.monotonic() < deadline and server.poll() is None:
                try:
                    body = _get(f"http://127.0.0.1:{free_port}/health_check")
                    break
                except OSError:
                    time.sleep(0.2)
            assert body is not None, log.read_text()[-3000:]
            assert body["code"] == 200
            items = _get(f"http://127.0.0.1:{free_port}/shop/items")
            assert items["pageInfo"]["total"] >= 2
            server.send_signal(signal.SIGTERM)
            code = server.wait(60)
        finally:
            if server.poll() is None:
                os.killpg(server.pid, signal.SIGKILL)
                server.wait(10)
    output = log.read_text()
    assert code == 0, output[-3000:]
    assert "Booting worker" in output
    assert "Shutting down: Master" in output
