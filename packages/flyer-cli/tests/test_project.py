"""The generated project works as generated: its own tests pass, `.env.example` is complete."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Dict

import pytest


@pytest.mark.slow
def test_the_generated_projects_tests_pass(project: Path, tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.lower().startswith("flyer_")}
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:randomly"],
        cwd=str(project),
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
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
