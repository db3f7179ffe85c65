"""`flyer version`: every installed flyer-* distribution, as importlib.metadata sees it."""

from __future__ import annotations

import importlib.metadata
import json
import platform
from pathlib import Path

import flyer_cli

DISTRIBUTIONS = ["flyer-status", "flyer-core", "flyer-cli", "flyer-cache", "flyer-db", "flyer-http"]


def test_version_matches_installed_metadata() -> None:
    assert flyer_cli.__version__ == importlib.metadata.version("flyer-cli")


def test_version_lists_every_flyer_distribution(flyer_here, tmp_path: Path) -> None:
    result = flyer_here("version", "--json", cwd=tmp_path)
    assert result.returncode == 0
    rows = {row["name"]: row["version"] for row in json.loads(result.stdout)}
    for dist in [*DISTRIBUTIONS, "flyer-sched"]:
        assert rows[dist] == importlib.metadata.version(dist)
    assert rows["python"] == platform.python_version()
    assert all(name.startswith("flyer-") for name in rows if name != "python")


def test_version_table(flyer, tmp_path: Path) -> None:
    result = flyer("version", cwd=tmp_path)
    assert result.returncode == 0
    lines = [line.split() for line in result.stdout.splitlines()]
    assert lines[0] == ["NAME", "VERSION"]
    assert ["flyer-cli", flyer_cli.__version__] in lines
    names = [line[0] for line in lines[1:-1]]
    assert names == sorted(names)
