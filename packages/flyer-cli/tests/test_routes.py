"""`flyer routes`: method, path, name, module and auth of every route."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fastapi import Depends, FastAPI, WebSocket
from fastapi.staticfiles import StaticFiles

from flyer_cli._routes import route_rows


def _one_line_error(result, needle: str, code: int = 2) -> None:
    assert result.returncode == code, result.stderr
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("flyer: error: ")
    assert needle in lines[0]


def test_routes_of_the_generated_project(flyer, project: Path) -> None:
    result = flyer("routes", "--json", cwd=project, env={"flyer_sched_lock_dir": str(project)})
    assert result.returncode == 0, result.stderr
    rows = {(row["method"], row["path"]): row for row in json.loads(result.stdout)}
    assert rows[("GET", "/shop/items")] == {
        "method": "GET",
        "path": "/shop/items",
        "name": "list_items",
        "module": "app.items.router",
        "auth": False,
    }
    assert rows[("POST", "/shop/users")]["module"] == "app.users.routers.userinfo"
    assert rows[("PUT", "/shop/users/{user_id}/following/{other_id}")]["module"] == (
        "app.users.routers.relationship"
    )
    assert rows[("GET", "/shop/heartbeat")]["module"] == "app.tasks.router"
    assert rows[("GET", "/health_check")]["module"].startswith("flyer_core")
    assert ("GET", "/shop/docs") in rows
    assert ("GET", "/shop/tasks") in rows
    assert not any(row["auth"] for row in rows.values())


def test_routes_behind_basic_auth_are_marked(flyer, project: Path) -> None:
    env = {"flyer_auth_enable": "1", "flyer_auth_user": "admin", "flyer_auth_pass": "Route-Pa55"}
    result = flyer("routes", cwd=project, env=env)
    assert result.returncode == 0, result.stderr
    assert "Route-Pa55" not in result.stdout + result.stderr
    lines = [line.split() for line in result.stdout.splitlines()]
    assert lines[0] == ["METHOD", "PATH", "NAME", "MODULE", "AUTH"]
    auth = {(line[0], line[1]): line[-1] for line in lines[1:]}
    assert auth[("GET", "/shop/items")] == "yes"
    assert auth[("GET", "/shop/tasks")] == "yes"
    assert auth[("GET", "/shop/docs")] == "yes"
    assert auth[("GET", "/health_check")] == "no"


def test_outside_a_project_is_a_one_line_error(flyer_here, tmp_path: Path) -> None:
    _one_line_error(flyer_here("routes", cwd=tmp_path), "no module 'main'")


def test_a_missing_app_attribute_is_a_one_line_error(flyer_here, tmp_path: Path) -> None:
    (tmp_path / "service.py").write_text("value = 1\n")
    _one_line_error(flyer_here("routes", "--app", "service:api", cwd=tmp_path), "has no ASGI app")


def test_a_broken_module_is_a_one_line_error(flyer_here, tmp_path: Path) -> None:
    (tmp_path / "main.py").write_text("import not_a_module_anywhere\n")
    _one_line_error(flyer_here("routes", cwd=tmp_path), "not_a_module_anywhere")


def test_bad_settings_are_a_one_line_error(flyer_here, project: Path) -> None:
    result = flyer_here("routes", cwd=project, env={"flyer_port": "abc"})
    _one_line_error(result, "bad settings: flyer_port='abc': expected an integer 1-65535")


async def _ws(websocket: WebSocket) -> None:  # pragma: no cover - never called
    await websocket.close()


def _guard() -> None:  # pragma: no cover - never called
    return None


@pytest.mark.parametrize("guarded", [True, False])
def test_route_rows_of_any_app(tmp_path: Path, guarded: bool) -> None:
    app = FastAPI()
    app.state.flyer_auth = _guard if guarded else None
    deps = [Depends(_guard)]

    @app.get("/open")
    def open_route() -> dict:  # pragma: no cover - never called
        return {}

    @app.post("/closed", dependencies=deps)
    def closed_route() -> dict:  # pragma: no cover - never called
        return {}

    app.add_api_websocket_route("/ws", _ws)
    (tmp_path / "static").mkdir()
    app.mount("/files", StaticFiles(directory=str(tmp_path / "static")), name="files")
    rows = {row["path"]: row for row in route_rows(app)}
    assert rows["/open"]["method"] == "GET"
    assert rows["/open"]["auth"] is False
    assert rows["/open"]["module"] == __name__
    assert rows["/closed"]["method"] == "POST"
    assert rows["/closed"]["auth"] is guarded
    assert rows["/ws"]["method"] == "WS"
    assert rows["/files/..."]["name"] == "files"
    assert rows["/files/..."]["module"].startswith("starlette.staticfiles")
