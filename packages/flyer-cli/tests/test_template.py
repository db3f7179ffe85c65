"""The template inside the wheel: read with importlib.resources, rendered in memory."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from flyer_cli._template import (
    flyer_dependencies,
    render,
    render_project,
    template_values,
    uv_sources,
)


def test_render_replaces_known_placeholders_only() -> None:
    assert render("x {{ name }} {{prefix}} y", {"name": "a", "prefix": "/b"}) == "x a /b y"
    assert render("f'{value}' {{", {}) == "f'{value}' {{"


def test_render_fails_loudly_on_an_unknown_placeholder() -> None:
    with pytest.raises(KeyError, match="nope"):
        render("{{ nope }}", {"name": "a"})


def test_the_flyer_range_follows_this_version() -> None:
    values = template_values("shop", "/shop")
    assert values["flyer_range"].startswith(">=0.")
    low, high = values["flyer_range"].split(",")
    assert low[2:].count(".") == 1
    assert high.startswith("<")


def test_rendered_paths_drop_the_suffix_and_make_dotfiles() -> None:
    files = {item.path: item for item in render_project("shop", "/shop")}
    assert ".gitignore" in files
    assert ".env.example" in files
    assert "app/items/router.py" in files
    assert not any(path.endswith(".tmpl") or "dot-" in path for path in files)
    assert files["start.sh"].mode == 0o755
    assert files["main.py"].mode == 0o644
    assert b"/shop" in files["settings.py"].content


def test_dot_folders_get_their_dot_too() -> None:
    files = {item.path for item in render_project("shop", "/shop")}
    assert ".github/workflows/ci.yml" in files
    assert ".python-version" in files


def test_sources_are_written_only_for_a_flyer_source(tmp_path: Path) -> None:
    assert flyer_dependencies() == ["flyer-core", "flyer-cli", "flyer-db"]
    assert template_values("shop", "/shop")["uv_sources"] == ""
    checkout = tmp_path / 'a "quoted" checkout'
    table = uv_sources(checkout)
    assert "[tool.uv.sources]" in table
    for dist in flyer_dependencies():
        path = json.dumps(str(checkout / "packages" / dist))
        assert f"\n{dist} = {{ path = {path}, editable = true }}" in table


def test_the_python_placeholder_is_this_interpreter() -> None:
    assert template_values("shop", "/shop")["python"] == "{}.{}".format(*sys.version_info[:2])
    assert template_values("Shop-API", "/shop")["compose_name"] == "shop-api"
