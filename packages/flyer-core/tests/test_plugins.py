"""Plugins: discovery through entry points, order, setup, lifespan, readiness."""

from __future__ import annotations

import asyncio
import sys
import textwrap
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, Dict, Iterator, List

import httpx
import pytest
from fastapi import Depends, FastAPI, Request

from flyer_core import LoadedPlugin, SettingsError, StartupError, create_app


class Recorder:
    """A plugin that records every call into a shared journal."""

    def __init__(self, name: str, journal: List[str], order: int = 100, **behaviour: Any) -> None:
        self.name = name
        self.order = order
        self.journal = journal
        self.behaviour = behaviour

    def setup(self, app: FastAPI, settings: Any) -> None:
        self.journal.append(f"setup {self.name}")
        self.settings = settings

        @app.get(f"{settings.base_url}/{self.name}/ping", tags=["plugins"])
        async def ping() -> Dict[str, Any]:
            return {"data": self.name}

    async def startup(self) -> None:
        if self.behaviour.get("fail_start"):
            raise ConnectionError("cannot reach the store")
        self.journal.append(f"startup {self.name}")

    async def shutdown(self) -> None:
        self.journal.append(f"shutdown {self.name}")
        await asyncio.sleep(self.behaviour.get("slow_shutdown", 0))

    async def check(self) -> Any:
        await asyncio.sleep(self.behaviour.get("slow_check", 0))
        if self.behaviour.get("check_raises"):
            raise OSError("/var/run/secret.sock refused")
        return self.behaviour.get("check", True)


def test_order_setup_startup_and_reverse_shutdown(serve: Any, make_settings: Any) -> None:
    journal: List[str] = []
    plugins = [
        Recorder("sched", journal, order=50),
        Recorder("cache", journal, order=10),
        Recorder("http", journal, order=30),
        Recorder("db", journal, order=20),
    ]
    # Plugin routes are management routes: refused with auth off unless opened (test_management).
    app = create_app(None, make_settings(management_open_without_auth=1), plugins=plugins)
    assert [p.name for p in app.state.flyer_plugins] == ["cache", "db", "http", "sched"]
    assert journal == ["setup cache", "setup db", "setup http", "setup sched"]
    journal.clear()
    with serve(app) as url:
        assert journal == ["startup cache", "startup db", "startup http", "startup sched"]
        assert httpx.get(url + "/flyer/db/ping").json()["data"] == "db"
        journal.clear()
    assert journal == ["shutdown sched", "shutdown http", "shutdown db", "shutdown cache"]


def test_plugins_without_members_and_ties_sorted_by_name(make_settings: Any) -> None:
    class Bare:
        pass

    journal: List[str] = []
    app = create_app(
        None, make_settings(), plugins=[Recorder("b", journal), Bare(), Recorder("a", journal)]
    )
    assert [p.name for p in app.state.flyer_plugins] == ["a", "b", "bare"]


def test_setup_receives_settings_with_the_merged_environ(make_settings: Any) -> None:
    journal: List[str] = []
    plugin = Recorder("cache", journal)
    create_app(None, make_settings(redis_host="redis.internal"), plugins=[plugin])
    assert plugin.settings.environ["flyer_redis_host"] == "redis.internal"
    assert plugin.settings.base_url == "/flyer"


def test_auth_dependency_is_ready_before_setup(make_settings: Any, serve: Any) -> None:
    seen: List[Any] = []

    class Tasks:
        name = "tasks"

        def setup(self, app: FastAPI, settings: Any) -> None:
            auth = app.state.flyer_auth
            seen.append(auth)
            deps = [Depends(auth)] if auth is not None else []
            app.add_api_route(f"{settings.base_url}/tasks", lambda: {"data": []}, dependencies=deps)

    app = create_app(None, make_settings(), plugins=[Tasks()])
    assert seen == [None]
    app = create_app(
        None, make_settings(auth_enable=1, auth_user="u", auth_pass="p"), plugins=[Tasks()]
    )
    assert callable(seen[1])
    with serve(app) as url:
        assert httpx.get(url + "/flyer/tasks").status_code == 401
        assert httpx.get(url + "/flyer/tasks", auth=("u", "p")).status_code == 200


def test_failing_startup_stops_start_up_naming_the_plugin(
    serve: Any, make_settings: Any, logs: Any
) -> None:
    journal: List[str] = []
    plugins = [
        Recorder("cache", journal, order=10),
        Recorder("db", journal, order=20, fail_start=True),
    ]
    app = create_app(None, make_settings(), plugins=plugins)
    with pytest.raises(RuntimeError, match="did not start"), serve(app):
        pass
    # The one started before it was shut down again; the error names the plugin, once.
    assert journal[-2:] == ["startup cache", "shutdown cache"]
    errors = logs.where(event="plugin failed to start")
    assert len(errors) == 1
    assert errors[0]["plugin"] == "db"
    lifespan = [r for r in logs.read() if r.get("logger") == "uvicorn.error" and "db" in r["event"]]
    assert lifespan
    assert all("Traceback" not in r["event"] for r in lifespan)


def test_setup_failures_are_one_line_errors(make_settings: Any) -> None:
    class BadSettings:
        name = "cache"

        def setup(self, app: FastAPI, settings: Any) -> None:
            raise ValueError("flyer_redis_port='x': expected an integer 1-65535")

    class Broken:
        name = "db"

        def setup(self, app: FastAPI, settings: Any) -> None:
            raise RuntimeError("driver missing")

    with pytest.raises(SettingsError) as err:
        create_app(None, make_settings(), plugins=[BadSettings()])
    assert str(err.value) == "plugin 'cache': flyer_redis_port='x': expected an integer 1-65535"
    with pytest.raises(
        StartupError, match="plugin 'db' failed to set up: RuntimeError: driver missing"
    ):
        create_app(None, make_settings(), plugins=[Broken()])


def test_shutdown_is_bounded_by_graceful_timeout(serve: Any, make_settings: Any, logs: Any) -> None:
    journal: List[str] = []
    plugins = [Recorder("a", journal, order=1), Recorder("b", journal, order=2, slow_shutdown=30)]
    app = create_app(None, make_settings(graceful_timeout=1), plugins=plugins)
    with serve(app):
        pass
    # b timed out; a still got its shutdown.
    assert journal[-2:] == ["shutdown b", "shutdown a"]
    assert logs.where(event="plugin shutdown timed out")[0]["plugin"] == "b"


def test_ready_when_every_check_passes(serve: Any, make_settings: Any) -> None:
    journal: List[str] = []
    plugins = [
        Recorder("cache", journal),
        Recorder("db", journal, check={"ok": True, "latency_ms": 1}),
    ]
    with serve(create_app(None, make_settings(), plugins=plugins)) as url:
        response = httpx.get(url + "/flyer/ready")
    assert response.status_code == 200
    body = response.json()
    assert body["code"] == 200
    assert body["request_id"] == response.headers["x-request-id"]
    # Without credentials a caller sees each check's verdict only (test_health_ready.py).
    assert body["data"]["checks"] == {"cache": {"ok": True}, "db": {"ok": True}}


def test_not_ready_names_the_failing_checks(serve: Any, make_settings: Any) -> None:
    journal: List[str] = []
    plugins = [
        Recorder("cache", journal),
        Recorder("db", journal, check=False),
        Recorder("http", journal, check={"ok": False, "why": "down"}),
        Recorder("sched", journal, check_raises=True),
        Recorder("slow", journal, slow_check=30),
    ]
    settings = make_settings(ready_timeout=0.5)
    with serve(create_app(None, settings, plugins=plugins)) as url:
        response = httpx.get(url + "/flyer/ready", timeout=10)
    assert response.status_code == 503
    body = response.json()
    assert body["code"] == 503
    assert body["detail"] == "not ready: db, http, sched, slow"
    checks = body["data"]["checks"]
    assert checks == {name: {"ok": name == "cache"} for name in checks}
    assert "/var/run" not in response.text


def _write_dist(site: Path, dist: str, entry_points: str, module: str, code: str) -> None:
    info = site / f"{dist}-0.0.1.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: 0.0.1\n")
    (info / "entry_points.txt").write_text(entry_points)
    (site / f"{module}.py").write_text(textwrap.dedent(code))


@pytest.fixture
def site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fresh_modules: None) -> Iterator[Path]:
    monkeypatch.syspath_prepend(str(tmp_path))
    return tmp_path


def test_entry_point_discovery_gives_a_fresh_object_per_app(site: Path, make_settings: Any) -> None:
    _write_dist(
        site,
        "flyer_demo_plugin",
        "[flyer.plugins]\ndemo = flyer_demo_plugin_mod:DemoPlugin\n",
        "flyer_demo_plugin_mod",
        """
        class DemoPlugin:
            order = 5
            def setup(self, app, settings):
                app.state.demo_setup = self
            def settings_fields(self):
                return [{"name": "flyer_demo_token", "default": "", "secret": True, "help": "t"}]
        """,
    )
    first = create_app(None, make_settings())
    second = create_app(None, make_settings())
    demo = [p for p in first.state.flyer_plugins if p.name == "demo"]
    assert len(demo) == 1
    assert isinstance(demo[0], LoadedPlugin)
    assert demo[0].order == 5
    assert first.state.demo_setup is demo[0].plugin
    assert second.state.demo_setup is not first.state.demo_setup


def test_entry_point_that_fails_to_load_is_named(site: Path, make_settings: Any) -> None:
    _write_dist(
        site,
        "flyer_broken_plugin",
        "[flyer.plugins]\nbroken = flyer_broken_plugin_mod:Missing\n",
        "flyer_broken_plugin_mod",
        "X = 1\n",
    )
    with pytest.raises(StartupError, match=r"plugin 'broken'.*failed to load"):
        create_app(None, make_settings())


def test_no_plugins_means_ready(serve: Any, make_settings: Any) -> None:
    with serve(create_app(None, make_settings(), plugins=[])) as url:
        response = httpx.get(url + "/flyer/ready")
    assert response.status_code == 200
    assert response.json()["data"] == {"checks": {}}


def test_python_path_is_untouched(make_settings: Any) -> None:
    before = list(sys.path)
    create_app(None, make_settings(), plugins=[])
    assert sys.path == before


def test_a_failing_user_lifespan_is_logged_with_its_traceback(
    serve: Any, make_settings: Any, logs: Any
) -> None:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> Any:
        raise KeyError("missing config")
        yield  # pragma: no cover

    journal: List[str] = []
    app = create_app(None, make_settings(), plugins=[Recorder("a", journal)], lifespan=lifespan)
    with pytest.raises(RuntimeError, match="did not start"), serve(app):
        pass
    (line,) = logs.where(event="app lifespan failed")
    assert line["error"] == "KeyError"
    assert "Traceback" in line["exception"]
    assert journal[-2:] == ["startup a", "shutdown a"]


def test_user_lifespan_state_reaches_requests(serve: Any, make_settings: Any) -> None:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> Any:
        yield {"answer": 42}

    app = create_app(None, make_settings(), plugins=[], lifespan=lifespan)

    @app.get("/flyer/answer")
    async def answer(request: Request) -> Dict[str, Any]:
        return {"data": request.state.answer}

    with serve(app) as url:
        assert httpx.get(url + "/flyer/answer").json()["data"] == 42
