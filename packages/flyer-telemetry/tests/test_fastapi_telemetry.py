"""FastAPI's own OpenTelemetry (0.142+), on when a global tracer provider is configured, and
flyer's tracing together: one server span per request, and flyer's log lines carry it."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from types import SimpleNamespace
from typing import Any, Dict, List

import pytest

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        importlib.util.find_spec("fastapi.telemetry") is None,
        reason="this FastAPI has no OpenTelemetry of its own (0.142+)",
    ),
]

SERVICE = """
from fastapi import APIRouter
from opentelemetry import trace
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor

# The user's own global provider: FastAPI traces every request with it by itself.
provider = TracerProvider(resource=Resource.create({"service.name": "global"}))
provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
trace.set_tracer_provider(provider)

from flyer_core import create_app, logger

app = create_app(apps=None, env_file=None)
router = APIRouter()


@router.get("/hello/{n}")
async def hello(n: int) -> dict:
    logger.info("hello served", n=n)
    return {"data": n}


app.include_router(router, prefix="/flyer")
"""


def _lines(log: Path) -> List[Dict[str, Any]]:
    found = []
    for line in log.read_text(errors="replace").splitlines():
        if line.startswith("{"):
            try:
                found.append(json.loads(line))
            except ValueError:
                pass
    return found


def test_a_request_is_traced_once_when_fastapi_traces_it_too(
    tmp_path: Path, support: SimpleNamespace, receiver: Any
) -> None:
    (tmp_path / "service.py").write_text(SERVICE)
    port = support.free_port()
    url = f"http://{support.LOOPBACK}:{port}"
    env = support.clean_environ(
        flyer_tracing_enabled="1",
        flyer_log_format="json",
        OTEL_SERVICE_NAME="flyer",
        OTEL_EXPORTER_OTLP_ENDPOINT=receiver.url,
        OTEL_BSP_SCHEDULE_DELAY="100",
    )
    command = [sys.executable, "-m", "uvicorn", "service:app", "--host", support.LOOPBACK]
    log = tmp_path / "service.log"
    incoming = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
    with support.running(
        [*command, "--port", str(port)], tmp_path, env, log, f"{url}/health_check"
    ):
        status, body = support.get(f"{url}/flyer/hello/3", headers={"traceparent": incoming})
        assert (status, json.loads(body)["data"]) == (200, 3)
    # Stopped: both providers have flushed what they had.
    trace_id = "4bf92f3577b34da6a3ce929d0e0e4736"
    spans = [s for s in receiver.spans() if s["trace_id"] == trace_id]
    servers = [s for s in spans if s["kind"] == 2]  # SPAN_KIND_SERVER
    assert len(servers) == 1, spans
    (server,) = servers
    assert server["service"] == "global"  # FastAPI's span, from the user's provider
    assert server["parent_id"] == "00f067aa0ba902b7"
    assert server["attributes"]["http.route"] == "/flyer/hello/{n}"
    # flyer's lines carry the span that traces the request.
    hello = [line for line in _lines(log) if line.get("event") == "hello served"]
    access = [line for line in _lines(log) if line.get("path") == "/flyer/hello/3"]
    for lines in (hello, access):
        assert len(lines) == 1, lines
        assert (lines[0]["trace_id"], lines[0]["span_id"]) == (trace_id, server["span_id"])
