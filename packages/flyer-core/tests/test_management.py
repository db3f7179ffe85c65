"""Plugins' management routes over a real uvicorn: refused unless auth is configured or
explicitly opened, enforced by core whatever the plugin asked for."""

from __future__ import annotations

from typing import Any, Dict, List

import httpx
import pytest
from fastapi import APIRouter, Depends, FastAPI

from flyer_core import create_app


class Tasks:
    """Mounts `{base}/tasks` like flyer-sched: list, pause, run, delete; `careful` adds the
    auth dependency itself (as flyer-sched does), otherwise it forgets to."""

    name = "tasks"

    def __init__(self, careful: bool = True) -> None:
        self.careful = careful
        self.calls: List[str] = []

    def setup(self, app: FastAPI, settings: Any) -> None:
        router = APIRouter()

        @router.get("")
        def list_jobs() -> Dict[str, Any]:
            self.calls.append("list")
            return {"data": []}

        @router.post("/{job_id}/pause")
        def pause(job_id: str) -> Dict[str, Any]:
            self.calls.append("pause " + job_id)
            return {"data": job_id}

        @router.delete("/{job_id}")
        def remove(job_id: str) -> Dict[str, Any]:
            self.calls.append("delete " + job_id)
            return {"data": job_id}

        auth = app.state.flyer_auth
        deps = [Depends(auth)] if auth is not None and self.careful else []
        app.include_router(router, prefix=f"{settings.base_url}/tasks", dependencies=deps)

        @app.post(f"{settings.base_url}/tasks/{{job_id}}/run")
        def run(job_id: str) -> Dict[str, Any]:
            self.calls.append("run " + job_id)
            return {"data": job_id}


CALLS = [
    ("GET", "/flyer/tasks"),
    ("POST", "/flyer/tasks/nightly/pause"),
    ("POST", "/flyer/tasks/nightly/run"),
    ("DELETE", "/flyer/tasks/nightly"),
]


def test_management_routes_are_refused_when_auth_is_off(serve: Any, make_settings: Any) -> None:
    plugin = Tasks()
    with serve(create_app(None, make_settings(), plugins=[plugin])) as url:
        for method, path in CALLS:
            response = httpx.request(method, url + path)
            assert response.status_code == 403, (method, path, response.text)
            body = response.json()
            assert body["code"] == 403
            assert "flyer_management_open_without_auth" in body["detail"]
            assert body["request_id"] == response.headers["x-request-id"]
        # Core's own routes are not management routes.
        assert httpx.get(url + "/health_check").status_code == 200
        assert httpx.get(url + "/flyer/ready").status_code == 200
    assert plugin.calls == []


def test_the_setting_opens_them_explicitly(serve: Any, make_settings: Any) -> None:
    plugin = Tasks()
    settings = make_settings(management_open_without_auth=1)
    with serve(create_app(None, settings, plugins=[plugin])) as url:
        for method, path in CALLS:
            assert httpx.request(method, url + path).status_code == 200, (method, path)
    assert plugin.calls == ["list", "pause nightly", "run nightly", "delete nightly"]


@pytest.mark.parametrize("careful", [True, False], ids=["plugin-adds-auth", "plugin-forgets"])
def test_with_auth_on_core_asks_for_credentials(
    serve: Any, make_settings: Any, careful: bool
) -> None:
    plugin = Tasks(careful)
    settings = make_settings(auth_enable=1, auth_user="ops", auth_pass="pw-ü")
    with serve(create_app(None, settings, plugins=[plugin])) as url:
        for method, path in CALLS:
            refused = httpx.request(method, url + path)
            assert refused.status_code == 401, (method, path)
            assert refused.json()["code"] == 401
            assert httpx.request(method, url + path, auth=("ops", "nope")).status_code == 401
            assert httpx.request(method, url + path, auth=("ops", "pw-ü")).status_code == 200
    assert plugin.calls == ["list", "pause nightly", "run nightly", "delete nightly"]


def test_openapi_documents_the_refusal(serve: Any, make_settings: Any) -> None:
    app = create_app(None, make_settings(), plugins=[Tasks()])
    responses = app.openapi()["paths"]["/flyer/tasks"]["get"]["responses"]
    assert "403" in responses
