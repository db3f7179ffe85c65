"""`TelemetryPlugin` in flyer's app: entry point, metrics endpoint, auth, access log, off switch."""

from __future__ import annotations

import asyncio
import base64
import importlib.metadata
import json
import types
from typing import Any, Dict, List

import httpx
import pytest
from fastapi import APIRouter

from flyer_core import create_app, logger
from flyer_telemetry import TelemetryPlugin


def _app(monkeypatch: pytest.MonkeyPatch, **env: str) -> Any:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    plugin = TelemetryPlugin()
    app = create_app(apps=None, env_file=None, plugins=[plugin])
    router = APIRouter(prefix="/items")

    @router.get("/{item_id}")
    async def item(item_id: int) -> Dict[str, Any]:
        logger.info("item read", item=item_id)
        return {"data": item_id}

    @router.get("/boom/now")
    async def boom() -> None:
        raise RuntimeError("boom")

    app.include_router(router, prefix="/flyer")
    return app


def _client(app: Any) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    return httpx.AsyncClient(transport=transport, base_url="http://t")


def _samples(text: str, name: str) -> Dict[str, float]:
    return {
        line.rsplit(" ", 1)[0]: float(line.rsplit(" ", 1)[1])
        for line in text.splitlines()
        if line.startswith(name + "{") or line.startswith(name + " ")
    }


def test_registered_as_the_telemetry_plugin() -> None:
    found = importlib.metadata.entry_points()
    group = (
        found.select(group="flyer.plugins")
        if hasattr(found, "select")
        else found.get("flyer.plugins", [])
    )
    (entry,) = [ep for ep in group if ep.name == "telemetry"]
    assert entry.value == "flyer_telemetry._plugin:TelemetryPlugin"
    assert isinstance(entry.load()(), TelemetryPlugin)


def test_satisfies_flyers_plugin_protocol() -> None:
    from flyer_core import FlyerPlugin

    plugin = TelemetryPlugin()
    assert isinstance(plugin, FlyerPlugin)
    assert (plugin.name, plugin.order) == ("telemetry", 10)


def test_a_bad_setting_fails_validation_in_one_line() -> None:
    settings = types.SimpleNamespace(environ={"flyer_metrics_enabled": "perhaps"})
    with pytest.raises(ValueError, match=r"^flyer_metrics_enabled='perhaps': expected a boolean"):
        TelemetryPlugin().validate_settings(settings)


async def test_requests_counted_by_route_template_method_and_status(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    app = _app(monkeypatch)
    async with app.router.lifespan_context(app), _client(app) as client:
        for item in (1, 2, 3):
            assert (await client.get(f"/flyer/items/{item}")).status_code == 200
        assert (await client.get("/flyer/items/x")).status_code == 422
        assert (await client.get("/flyer/items/boom/now")).status_code == 500
        assert (await client.get("/not/a/route")).status_code == 404
        response = await client.get("/flyer/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    counts = _samples(response.text, "flyer_requests_total")
    assert counts == {
        'flyer_requests_total{method="GET",route="/flyer/items/{item_id}",status="200"}': 3.0,
        'flyer_requests_total{method="GET",route="/flyer/items/{item_id}",status="422"}': 1.0,
        'flyer_requests_total{method="GET",route="/flyer/items/boom/now",status="500"}': 1.0,
        'flyer_requests_total{method="GET",route="<unmatched>",status="404"}': 1.0,
    }
    durations = _samples(response.text, "flyer_request_duration_seconds_count")
    assert (
        durations[
            'flyer_request_duration_seconds_count{method="GET",route="/flyer/items/{item_id}"}'
        ]
        == 4.0
    )
    # The scrape itself is in flight while it renders.
    assert _samples(response.text, "flyer_requests_in_flight") == {"flyer_requests_in_flight": 1.0}
    for name in (
        "flyer_process_cpu_seconds",
        "flyer_process_resident_memory_bytes",
        "flyer_process_open_fds",
    ):
        (value,) = _samples(response.text, name).values()
        assert value > 0, name


async def test_off_with_flyer_metrics_enabled_0(monkeypatch: pytest.MonkeyPatch) -> None:
    app = _app(monkeypatch, flyer_metrics_enabled="0")
    async with _client(app) as client:
        assert (await client.get("/flyer/items/1")).status_code == 200
        assert (await client.get("/flyer/metrics")).status_code == 404


async def test_the_path_is_settable(monkeypatch: pytest.MonkeyPatch) -> None:
    app = _app(monkeypatch, flyer_metrics_path="/ops/prometheus")
    async with _client(app) as client:
        assert (await client.get("/flyer/ops/prometheus")).status_code == 200
        assert (await client.get("/flyer/metrics")).status_code == 404


async def test_protected_by_the_apps_auth_when_it_is_on(monkeypatch: pytest.MonkeyPatch) -> None:
    app = _app(monkeypatch, flyer_auth_enable="1", flyer_auth_user="ops", flyer_auth_pass="s3cret")
    good = "Basic " + base64.b64encode(b"ops:s3cret").decode()
    bad = "Basic " + base64.b64encode(b"ops:nope").decode()
    async with _client(app) as client:
        assert (await client.get("/flyer/metrics")).status_code == 401
        assert (
            await client.get("/flyer/metrics", headers={"Authorization": bad})
        ).status_code == 401
        response = await client.get("/flyer/metrics", headers={"Authorization": good})
        assert response.status_code == 200
        assert "flyer_requests_total" in response.text


async def test_open_when_auth_is_off_and_kept_out_of_the_access_log(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    app = _app(monkeypatch, flyer_log_format="json")
    async with _client(app) as client:
        assert (await client.get("/flyer/metrics")).status_code == 200
        assert (await client.get("/flyer/items/5")).status_code == 200
        await asyncio.sleep(0)  # access lines are written at the end of the loop iteration
    lines: List[Dict[str, Any]] = [
        json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")
    ]
    paths = [line["path"] for line in lines if line.get("event") == "request"]
    assert paths == ["/flyer/items/5"]


async def test_readiness_says_what_is_on() -> None:
    plugin = TelemetryPlugin()
    create_app(apps=None, env_file=None, plugins=[plugin])
    assert await plugin.check() == {"ok": True, "metrics": True, "tracing": False}


async def test_the_metric_objects_wait_for_the_first_scrape(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Building, starting and serving leave prometheus-client's objects unbuilt (requests are
    plain counts); the first scrape builds them, with every request counted and the start
    time of the app, not of the scrape."""
    app = _app(monkeypatch)
    (plugin,) = [p.plugin for p in app.state.flyer_plugins if p.name == "telemetry"]
    metrics = plugin.metrics
    async with app.router.lifespan_context(app), _client(app) as client:
        assert not metrics.built
        for item in (1, 2):
            assert (await client.get(f"/flyer/items/{item}")).status_code == 200
        assert not metrics.built
        await asyncio.sleep(0.05)
        response = await client.get("/flyer/metrics")
        assert metrics.built
    counts = _samples(response.text, "flyer_requests_total")
    assert counts == {
        'flyer_requests_total{method="GET",route="/flyer/items/{item_id}",status="200"}': 2.0
    }
    (started,) = _samples(response.text, "flyer_process_start_time_seconds").values()
    assert started == metrics.started
