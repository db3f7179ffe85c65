"""The sampler decides, in process: off means no span unless a caller's sampled trace comes in."""

from __future__ import annotations

from typing import Any, Dict

import httpx
import pytest
from fastapi import APIRouter

from flyer_core import create_app
from flyer_telemetry import TelemetryPlugin

TRACEPARENT = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"


@pytest.mark.parametrize("sampler", ["always_off", "parentbased_always_off"])
async def test_sampler_off_traces_only_what_a_sampled_caller_started(
    sampler: str, receiver: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("flyer_tracing_enabled", "1")
    monkeypatch.setenv("flyer_metrics_enabled", "0")
    monkeypatch.setenv("OTEL_TRACES_SAMPLER", sampler)
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", receiver.url)
    monkeypatch.setenv("OTEL_BSP_SCHEDULE_DELAY", "50")
    plugin = TelemetryPlugin()
    app = create_app(apps=None, env_file=None, plugins=[plugin])
    router = APIRouter()

    @router.get("/things/{thing}")
    async def thing(thing: str) -> Dict[str, Any]:
        return {"data": thing}

    app.include_router(router, prefix="/flyer")
    transport = httpx.ASGITransport(app=app)
    client = httpx.AsyncClient(transport=transport, base_url="http://t")
    async with app.router.lifespan_context(app), client:
        assert (await client.get("/flyer/things/a")).status_code == 200
        headers = {"traceparent": TRACEPARENT}
        assert (await client.get("/flyer/things/b", headers=headers)).status_code == 200
    spans = receiver.spans()  # shutdown flushed them
    names = [(s["name"], s["trace_id"], s["parent_id"]) for s in spans]
    if sampler == "always_off":
        assert names == []  # never records, whatever the caller says
    else:
        assert names == [
            ("GET /flyer/things/{thing}", "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7")
        ]
