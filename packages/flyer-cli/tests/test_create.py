"""`flyer create`: validation, the generated tree, and never writing outside the target."""

from __future__ import annotations

import ast
import os
import re
import stat
import sys
from pathlib import Path

import pytest

from flyer_cli.__about__ import __version__

EXPECTED_FILES = {
    ".dockerignore",
    ".env.example",
    ".github/workflows/ci.yml",
    ".gitignore",
    ".python-version",
    "Dockerfile",
    "README.md",
    "app/__init__.py",
    "app/items/README.md",
    "app/items/__init__.py",
    "app/items/module.py",
    "app/items/router.py",
    "app/items/schema.py",
    "app/orders/README.md",
    "app/orders/__init__.py",
    "app/orders/module.py",
    "app/orders/router.py",
    "app/orders/schema.py",
    "app/tasks/README.md",
    "app/tasks/__init__.py",
    "app/tasks/module.py",
    "app/tasks/router.py",
    "app/tasks/schema.py",
    "app/users/README.md",
    "app/users/__init__.py",
    "app/users/modules/__init__.py",
    "app/users/modules/relationship.py",
    "app/users/modules/userinfo.py",
    "app/users/routers/__init__.py",
    "app/users/routers/relationship.py",
    "app/users/routers/userinfo.py",
    "app/users/schemas/__init__.py",
    "app/users/schemas/relationship.py",
    "app/users/schemas/userinfo.py",
    "compose.yaml",
    "docker/docker-entrypoint.sh",
    "main.py",
    "pyproject.toml",
    "settings.py",
    "start-reload.sh",
    "start.sh",
    "tests/conftest.py",
    "tests/test_health.py",
    "tests/test_items.py",
    "tests/test_tasks.py",
    "tests/test_users.py",
}


def _files(root: Path) -> set:
    return {p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()}


def test_create_writes_the_project_tree(flyer, tmp_path: Path) -> None:
    result = flyer("create", "--no-lock", "shop", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    root = tmp_path / "shop"
    assert _files(root) == EXPECTED_FILES
    assert f"Created project 'shop' in shop ({len(EXPECTED_FILES)} files)" in result.stdout
    assert "cd shop" in result.stdout


def test_generated_files_are_rendered(flyer, tmp_path: Path) -> None:
    assert (
        flyer("create", "--no-lock", "shop-api", "--prefix", "/api/shop", cwd=tmp_path).returncode
        == 0
    )
    root = tmp_path / "shop-api"
    for path in root.rglob("*"):
        if path.is_file():
            text = path.read_text(encoding="utf-8")
            assert not re.search(r"\{\{ *[a-z_]+ *\}\}", text), path
    settings = (root / "settings.py").read_text()
    assert 'base_url: str = Field("/api/shop"' in settings
    pyproject = (root / "pyproject.toml").read_text()
    major, minor = __version__.split(".")[:2]
    flyer_range = f">={major}.{minor},<{major}.{int(minor) + 1}"
    assert 'name = "shop-api"' in pyproject
    assert f'"flyer-core[all]{flyer_range}"' in pyproject
    assert f'"flyer-cli{flyer_range}"' in pyproject
    assert f'"flyer-db[mysql]{flyer_range}"' in pyproject
    assert "[tool.uv.sources]" not in pyproject  # the index's flyer unless --flyer-source
    assert "name: shop-api" in (root / "compose.yaml").read_text().splitlines()
    assert "#flyer_base_url=/api/shop" in (root / ".env.example").read_text().splitlines()


def test_generated_python_parses_on_this_python(flyer, tmp_path: Path) -> None:
    assert flyer("create", "--no-lock", "shop", cwd=tmp_path).returncode == 0
    sources = sorted((tmp_path / "shop").rglob("*.py"))
    assert len(sources) > 20
    for source in sources:
        ast.parse(source.read_text(encoding="utf-8"), filename=str(source))


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX file modes")
def test_scripts_are_executable_and_the_rest_is_not(flyer, tmp_path: Path) -> None:
    assert flyer("create", "--no-lock", "shop", cwd=tmp_path).returncode == 0
    root = tmp_path / "shop"
    for path in root.rglob("*"):
        if path.is_file():
            executable = bool(path.stat().st_mode & stat.S_IXUSR)
            assert executable == path.name.endswith(".sh"), path
    for script in ["start.sh", "start-reload.sh", "docker/docker-entrypoint.sh"]:
        assert (root / script).read_text().startswith("#!/bin/sh\n")
    assert "exec flyer serve" in (root / "start.sh").read_text()
    assert "exec flyer run" in (root / "start-reload.sh").read_text()


def test_dockerfile_is_slim_non_root_and_health_checked(flyer, tmp_path: Path) -> None:
    assert flyer("create", "--no-lock", "shop", cwd=tmp_path).returncode == 0
    dockerfile = (tmp_path / "shop" / "Dockerfile").read_text()
    python = f"{sys.version_info[0]}.{sys.version_info[1]}"
    assert f"\nFROM python:{python}-slim\n" in dockerfile
    assert "requirements" not in dockerfile
    assert "\nUSER app\n" in dockerfile
    assert "HEALTHCHECK" in dockerfile
    assert "/health_check" in dockerfile
    assert 'ENTRYPOINT ["docker/docker-entrypoint.sh"]' in dockerfile
    assert ".env" in (tmp_path / "shop" / ".dockerignore").read_text().splitlines()


def test_dir_option_and_default_prefix(flyer, tmp_path: Path) -> None:
    result = flyer("create", "--no-lock", "shop", "--dir", "nested/here", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    root = tmp_path / "nested" / "here"
    assert _files(root) == EXPECTED_FILES
    assert 'base_url: str = Field("/shop"' in (root / "settings.py").read_text()


def test_an_existing_empty_directory_is_used(flyer, tmp_path: Path) -> None:
    (tmp_path / "shop").mkdir()
    assert flyer("create", "--no-lock", "shop", cwd=tmp_path).returncode == 0
    assert _files(tmp_path / "shop") == EXPECTED_FILES


def _one_line_error(result, needle: str) -> None:
    assert result.returncode == 2
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("flyer: error: ")
    assert needle in lines[0]


@pytest.mark.parametrize(
    "name",
    ["1shop", "-shop", "shop!", "sh op", "shop/../x", "../shop", "shop-", "x" * 65, "", "ünï"],
)
def test_invalid_names_write_nothing(flyer, tree, tmp_path: Path, name: str) -> None:
    result = flyer(
        "create", "--no-lock", "--", name, cwd=tmp_path
    )  # `--`: "-shop" is a name, not an option
    _one_line_error(result, f"project name {name!r}: expected a letter")
    assert tree(tmp_path) == {}


@pytest.mark.parametrize("name", ["flyer-core", "Flyer_CLI", "flyer.sched"])
def test_flyer_package_names_are_refused(flyer, tree, tmp_path: Path, name: str) -> None:
    if "." in name:
        _one_line_error(flyer("create", "--no-lock", name, cwd=tmp_path), "expected a letter")
    else:
        _one_line_error(
            flyer("create", "--no-lock", name, cwd=tmp_path), "that is a flyer package's name"
        )
    assert tree(tmp_path) == {}


@pytest.mark.parametrize("prefix", ["shop", "/", "/shop/", "/a//b", "/../x", "/sh op", "/a/./b"])
def test_invalid_prefixes_write_nothing(flyer, tree, tmp_path: Path, prefix: str) -> None:
    result = flyer("create", "--no-lock", "shop", "--prefix", prefix, cwd=tmp_path)
    _one_line_error(result, f"--prefix {prefix!r}: expected a URL path")
    assert tree(tmp_path) == {}


def test_a_non_empty_directory_is_refused_without_force(flyer, tree, tmp_path: Path) -> None:
    (tmp_path / "shop").mkdir()
    (tmp_path / "shop" / "notes.txt").write_text("mine")
    before = tree(tmp_path)
    _one_line_error(
        flyer("create", "--no-lock", "shop", cwd=tmp_path), "is not empty; pass --force"
    )
    assert tree(tmp_path) == before


def test_force_overwrites_generated_files_and_keeps_others(flyer, tmp_path: Path) -> None:
    root = tmp_path / "shop"
    root.mkdir()
    (root / "notes.txt").write_text("mine")
    (root / "main.py").write_text("broken")
    assert flyer("create", "--no-lock", "shop", "--force", cwd=tmp_path).returncode == 0
    assert (root / "notes.txt").read_text() == "mine"
    assert "create_app" in (root / "main.py").read_text()
    assert _files(root) == EXPECTED_FILES | {"notes.txt"}


def test_a_file_as_target_is_refused(flyer, tree, tmp_path: Path) -> None:
    (tmp_path / "shop").write_text("a file")
    before = tree(tmp_path)
    _one_line_error(
        flyer("create", "--no-lock", "shop", "--force", cwd=tmp_path), "is not a directory"
    )
    assert tree(tmp_path) == before


@pytest.mark.skipif(sys.platform == "win32", reason="symlinks")
def test_symlinks_inside_the_target_are_never_followed(flyer, tree, tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    project = tmp_path / "work" / "shop"
    project.mkdir(parents=True)
    os.symlink(outside, project / "app")  # app/... would land in `outside`
    before_outside, before_project = tree(outside), tree(project)
    result = flyer("create", "--no-lock", "shop", "--force", cwd=tmp_path / "work")
    _one_line_error(result, "refusing to write through the symlink")
    assert tree(outside) == before_outside == {}
    assert tree(project) == before_project


@pytest.mark.skipif(sys.platform == "win32", reason="symlinks")
def test_a_symlinked_file_is_not_overwritten(flyer, tree, tmp_path: Path) -> None:
    victim = tmp_path / "victim.txt"
    victim.write_text("precious")
    project = tmp_path / "shop"
    project.mkdir()
    os.symlink(victim, project / "main.py")
    before = tree(tmp_path)
    _one_line_error(flyer("create", "--no-lock", "shop", "--force", cwd=tmp_path), "symlink")
    assert tree(tmp_path) == before
    assert victim.read_text() == "precious"


@pytest.mark.skipif(sys.platform == "win32", reason="symlinks")
def test_a_dangling_symlink_target_is_refused(flyer, tree, tmp_path: Path) -> None:
    os.symlink(tmp_path / "nowhere", tmp_path / "shop")
    before = tree(tmp_path)
    _one_line_error(flyer("create", "--no-lock", "shop", cwd=tmp_path), "dangling symlink")
    assert tree(tmp_path) == before
    assert not (tmp_path / "nowhere").exists()


def test_a_file_where_a_directory_is_needed_is_refused(flyer, tree, tmp_path: Path) -> None:
    project = tmp_path / "shop"
    project.mkdir()
    (project / "app").write_text("not a dir")
    before = tree(tmp_path)
    _one_line_error(
        flyer("create", "--no-lock", "shop", "--force", cwd=tmp_path), "needs a directory there"
    )
    assert tree(tmp_path) == before


def test_create_app_generates_into_the_current_directory(flyer, tmp_path: Path) -> None:
    """FastFlyer's `fastflyer create_app`: the project is named after the current directory."""
    here = tmp_path / "billing"
    here.mkdir()
    result = flyer("create_app", "--no-lock", cwd=here)
    assert result.returncode == 0, result.stderr
    assert _files(here) == EXPECTED_FILES
    assert 'base_url: str = Field("/billing"' in (here / "settings.py").read_text()
    assert "cd " not in result.stdout
    _one_line_error(flyer("create_app", "--no-lock", cwd=here), "is not empty; pass --force")


def test_create_app_in_a_directory_with_an_invalid_name(flyer, tree, tmp_path: Path) -> None:
    here = tmp_path / "my project"
    here.mkdir()
    _one_line_error(flyer("create_app", "--no-lock", cwd=here), "use `flyer create NAME --dir .`")
    assert tree(here) == {}
