"""The generated project works as generated: its own tests pass, `.env.example` is complete."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Dict

import pytest


def _run_project_tests(project: Path, *paths: str, **env: str) -> subprocess.CompletedProcess[str]:
    """The generated project's own pytest run (`paths`, or all of it), in an environment
    without this one's flyer_* settings, plus `env`; asserts it passed."""
    environment = {k: v for k, v in os.environ.items() if not k.lower().startswith("flyer_")}
    environment["PYTHONDONTWRITEBYTECODE"] = "1"
    environment.update(env)
    options = ["-q", "-p", "no:cacheprovider", "-p", "no:randomly"]
    result = subprocess.run(
        [sys.executable, "-m", "pytest", *options, *paths],
        cwd=str(project),
        env=environment,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
    return result


@pytest.mark.slow
def test_the_generated_projects_tests_pass(project: Path, tmp_path: Path) -> None:
    result = _run_project_tests(project)
    summary = result.stdout.strip().splitlines()[-1]
    assert re.search(r"\b1\d passed\b", summary), summary
    assert "failed" not in summary
    assert "error" not in summary


def _example(project: Path) -> Dict[str, str]:
    found: Dict[str, str] = {}
    for line in (project / ".env.example").read_text().splitlines():
        match = re.match(r"#(flyer_[a-z0-9_]+)=(.*)$", line)
        if match:
            assert match.group(1) not in found, f"{match.group(1)} listed twice"
            found[match.group(1)] = match.group(2)
    return found


def test_env_example_lists_every_variable_with_its_default(project: Path) -> None:
    from flyer_core import settings_report

    expected = {row["name"]: row["default"] for row in settings_report(None, {})}
    expected["flyer_base_url"] = "/shop"  # the project's default, from settings.py
    expected["flyer_heartbeat_seconds"] = "10"  # the project's own setting
    listed = _example(project)
    missing = sorted(set(expected) - set(listed))
    stale = sorted(set(listed) - set(expected))
    wrong = {
        name: (listed[name], expected[name])
        for name in expected
        if name in listed and listed[name] != expected[name]
    }
    assert (missing, stale, wrong) == ([], [], {}), (
        "update flyer_cli/template/project/dot-env.example.tmpl: "
        f"missing {missing}, no longer read {stale}, default (listed, actual) {wrong}"
    )


def test_env_example_lines_are_commented_so_copying_it_changes_nothing(project: Path) -> None:
    lines = (project / ".env.example").read_text().splitlines()
    assert lines
    assert all(not line or line.startswith("#") for line in lines)


_WAIT_PAST_A_TICK = """
import time

from fastapi.testclient import TestClient

from app.tasks.module import state


def test_no_scheduled_heartbeat_runs_while_the_tests_run(client: TestClient) -> None:
    before = state.heartbeats
    time.sleep(2.5)  # past two ticks of flyer_heartbeat_seconds=1, the app started
    assert state.heartbeats == before
"""


@pytest.mark.slow
def test_the_scheduled_heartbeat_cannot_race_the_projects_own_heartbeat_test(
    own_project: Path,
) -> None:
    # test_tasks.py calls the heartbeat job directly and counts its one run: a scheduled
    # tick landing in between would count twice, so the generated tests keep it from firing.
    (own_project / "tests" / "test_wait.py").write_text(_WAIT_PAST_A_TICK, encoding="utf-8")
    result = _run_project_tests(
        own_project, "tests/test_wait.py", "tests/test_tasks.py", flyer_heartbeat_seconds="1"
    )
    assert "5 passed" in result.stdout, result.stdout[-2000:]
