"""The management router and flyer-core's plugin, served by a real FastAPI app."""

from __future__ import annotations

import importlib.metadata
import secrets
import time
import urllib.parse
from contextlib import asynccontextmanager
from types import SimpleNamespace
from typing import Any, AsyncIterator, Callable, Dict, Iterator, List

import pytest

pytest.importorskip("fastapi")

import httpx
from fastapi import Depends, FastAPI, HTTPException
from fastapi.routing import APIRoute
from fastapi.security import HTTPBasic, HTTPBasicCredentials

from flyer_sched import create_router, current_tick
from flyer_sched._plugin import SchedPlugin

ENVELOPE = {"code", "message", "detail", "data", "request_id"}


def _wait(predicate: Callable[[], Any], timeout: float = 30.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.01)
    raise AssertionError("condition not met in time")


def _basic_auth() -> Callable[..., None]:
    def check(credentials: HTTPBasicCredentials = Depends(HTTPBasic())) -> None:  # noqa: B008
        ok = secrets.compare_digest(credentials.username, "ops") and secrets.compare_digest(
            credentials.password, "s3cret"
        )
        if not ok:
            raise HTTPException(401, headers={"WWW-Authenticate": "Basic"})

    return check


@pytest.fixture
def jobs(make_scheduler: Callable[..., Any]) -> Dict[str, Any]:
    background, asyncio_ = make_scheduler("background"), make_scheduler("asyncio")
    runs: List[Any] = []

    @background.lock()
    def sync_report() -> None:
        runs.append(current_tick())

    async def async_job() -> None:
        pass

    background.add_job(sync_report, "interval", hours=1, id="reports:daily/eu")
    background.add_job(lambda: None, "cron", hour=3, id="nightly")
    asyncio_.add_job(async_job, "interval", minutes=5, id="async-job")
    return {"background": background, "asyncio": asyncio_, "runs": runs}


@pytest.fixture
def client(jobs: Dict[str, Any], serve: Any) -> Iterator[httpx.Client]:
    app = FastAPI()
    app.include_router(create_router([jobs["background"], jobs["asyncio"]], prefix="/flyer/tasks"))
    with serve(app) as http:
        yield http


def _path(job_id: str, action: str = "") -> str:
    quoted = urllib.parse.quote(job_id, safe="")
    return f"/flyer/tasks/{quoted}" + (f"/{action}" if action else "")


def test_lists_jobs_and_leaders_in_the_envelope(client: httpx.Client, jobs: Dict[str, Any]) -> None:
    jobs["background"].leader("watcher")(lambda: None)
    response = client.get("/flyer/tasks")
    assert response.status_code == 200
    body = response.json()
    assert set(body) == ENVELOPE
    assert body["code"] == 200
    listed = {job["id"]: job for job in body["data"]["jobs"]}
    assert set(listed) == {"reports:daily/eu", "nightly", "async-job"}
    report = listed["reports:daily/eu"]
    assert report["locked"] is True
    assert report["scheduler"] == "background"
    assert report["trigger"] == "interval[1:00:00]"
    assert report["lock_holder"] is None
    assert listed["async-job"]["scheduler"] == "asyncio"
    assert body["data"]["leaders"][0]["id"] == "watcher"


def test_show_pause_resume_run_remove(client: httpx.Client, jobs: Dict[str, Any]) -> None:
    background = jobs["background"]
    background.start()
    shown = client.get(_path("reports:daily/eu")).json()
    assert shown["data"]["id"] == "reports:daily/eu"
    assert shown["data"]["next_run_time"]

    paused = client.post(_path("reports:daily/eu", "pause")).json()["data"]
    assert paused["paused"] is True
    assert paused["next_run_time"] is None
    assert background.lock_store.status("job:reports:daily/eu").paused is True
    resumed = client.post(_path("reports:daily/eu", "resume")).json()["data"]
    assert resumed["paused"] is False
    assert resumed["next_run_time"]

    accepted = client.post(_path("reports:daily/eu", "run"))
    assert accepted.status_code == 202
    assert accepted.json()["code"] == 202
    _wait(lambda: jobs["runs"])
    assert jobs["runs"][0].manual is True

    removed = client.delete(_path("nightly"))
    assert removed.json()["data"] == {"id": "nightly", "removed": True}
    assert background.get_job("nightly") is None


def test_unknown_ids_and_stopped_schedulers_answer_in_the_envelope(client: httpx.Client) -> None:
    for method, path in [
        ("GET", _path("missing")),
        ("POST", _path("missing", "pause")),
        ("POST", _path("missing", "resume")),
        ("POST", _path("missing", "run")),
        ("DELETE", _path("missing")),
    ]:
        response = client.request(method, path)
        assert response.status_code == 404, (method, path)
        body = response.json()
        assert set(body) == ENVELOPE
        assert body["code"] == 404
        assert "missing" in body["detail"]
    stopped = client.post(_path("nightly", "run"))
    assert stopped.status_code == 409
    assert "not running" in stopped.json()["detail"]


def test_unreachable_store_on_pause_is_a_503(
    make_scheduler: Callable[..., Any], serve: Any
) -> None:
    from flyer_sched import RedisLockStore

    down = RedisLockStore(url="redis://127.0.0.1:1/0")
    scheduler = make_scheduler(store=down)
    scheduler.add_job(scheduler.lock()(lambda: None), "interval", hours=1, id="fragile")
    app = FastAPI()
    app.include_router(create_router([scheduler], prefix="/tasks"))
    with serve(app) as test_client:
        response = test_client.post("/tasks/fragile/pause")
        assert response.status_code == 503
        assert response.json()["code"] == 503
        listed = test_client.get("/tasks").json()["data"]["jobs"][0]
        assert listed["lock_error"]
        assert listed["lock_holder"] is None


def test_openapi_documents_the_routes(client: httpx.Client) -> None:
    schema = client.get("/openapi.json").json()
    paths = schema["paths"]
    assert "/flyer/tasks" in paths
    assert "/flyer/tasks/{job_id}/pause" in paths
    names = list(schema["components"]["schemas"])
    assert "ScheduledJob" in names
    assert [n for n in names if "locals" in n] == []  # models named as users see them


def test_the_plugin_adds_create_routers_routes(jobs: Dict[str, Any]) -> None:
    """The plugin adds the routes to the app directly (including a router in an app builds
    every route a second time): the same paths, methods, dependencies, tags and OpenAPI
    document as `create_router` included under the same prefix."""
    schedulers = [jobs["background"], jobs["asyncio"]]
    auth = _basic_auth()
    router = create_router(schedulers, prefix="/flyer/tasks", dependencies=[Depends(auth)])
    included = FastAPI()
    included.include_router(router)
    plugin = SchedPlugin(schedulers)
    direct = _app(plugin, auth=auth)
    direct.router.routes = [r for r in direct.router.routes if getattr(r, "path", "") != "/check"]

    def shape(routes: List[Any]) -> List[Any]:
        return [
            (r.path, sorted(r.methods), r.name, [d.dependency for d in r.dependencies], r.tags)
            for r in routes
            if isinstance(r, APIRoute)
        ]

    assert shape(direct.router.routes) == shape(router.routes)
    assert len(shape(direct.router.routes)) == 6
    assert direct.openapi() == included.openapi()


def _app(plugin: SchedPlugin, auth: Any = None, environ: Any = None) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await plugin.startup()
        yield
        await plugin.shutdown()

    app = FastAPI(lifespan=lifespan)
    app.state.flyer_auth = auth
    settings = SimpleNamespace(
        base_url="/flyer", environ=environ or {"flyer_sched_lock_backend": "memory"}
    )
    plugin.setup(app, settings)

    @app.get("/check")
    async def check() -> Any:  # the readiness flyer-core would run, on the app's loop
        return await plugin.check()

    return app


def test_plugin_mounts_under_base_url_with_basic_auth_and_runs_the_lifespan(
    jobs: Dict[str, Any], serve: Any
) -> None:
    plugin = SchedPlugin([jobs["background"], jobs["asyncio"]])
    app = _app(plugin, auth=_basic_auth())
    with serve(app) as test_client:
        assert jobs["background"].running
        assert jobs["asyncio"].running
        assert test_client.get("/flyer/tasks").status_code == 401
        assert test_client.get("/flyer/tasks", auth=("ops", "wrong")).status_code == 401
        assert test_client.post(_path("nightly", "pause")).status_code == 401
        ok = test_client.get("/flyer/tasks", auth=("ops", "s3cret"))
        assert ok.status_code == 200
        assert len(ok.json()["data"]["jobs"]) == 3
        ran = test_client.post(_path("async-job", "run"), auth=("ops", "s3cret"))
        assert ran.status_code == 202
        report = test_client.get("/check").json()
        assert report["ok"] is True
        assert report["lock_store"] == "memory: ok"
    assert not jobs["background"].running
    assert not jobs["asyncio"].running


def test_plugin_leaves_schedulers_alone_when_disabled(jobs: Dict[str, Any], serve: Any) -> None:
    plugin = SchedPlugin([jobs["background"], jobs["asyncio"]])
    app = _app(plugin, environ={"FLYER_SCHED_ENABLED": "false"})
    with serve(app) as test_client:
        assert not jobs["background"].running
        assert test_client.get("/flyer/tasks").status_code == 200


def test_entry_point_builds_the_default_plugin_for_many_app_lifespans(serve: Any) -> None:
    found = importlib.metadata.entry_points()
    group = (
        found.select(group="flyer.plugins")
        if hasattr(found, "select")
        else found.get("flyer.plugins", [])  # Python 3.8 and 3.9
    )
    (entry,) = [ep for ep in group if ep.name == "sched"]
    factory = entry.load()
    assert factory is SchedPlugin
    for _ in range(3):
        plugin = factory()
        assert (plugin.name, plugin.order) == ("sched", 50)
        with serve(_app(plugin)) as test_client:
            assert all(s.running for s in plugin.schedulers)
            assert test_client.get("/flyer/tasks").status_code == 200
        assert not any(s.running for s in plugin.schedulers)
    names = {field["name"] for field in plugin.settings_fields()}
    assert {"flyer_sched_timezone", "flyer_redis_url", "flyer_sched_lock_backend"} <= names
    assert all(f["secret"] for f in plugin.settings_fields() if f["name"].endswith(("url", "pass")))
