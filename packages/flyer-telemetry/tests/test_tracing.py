"""Traces across two served apps: one trace id in every span and every log line of a request."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any, Dict, List

import pytest

pytestmark = pytest.mark.slow

SERVICE_B = """
from fastapi import APIRouter
from flyer_core import create_app, logger

app = create_app(apps=None, env_file=None)
router = APIRouter()


@router.get("/pong/{n}")
async def pong(n: int) -> dict:
    logger.info("pong served", n=n)
    return {"data": n}


app.include_router(router, prefix="/flyer")
"""

SERVICE_A = """
import os

from fastapi import APIRouter
from flyer_core import create_app, logger
from flyer_http import AsyncClient
from flyer_sched import asyncio_scheduler

app = create_app(apps=None, env_file=None)
router = APIRouter()


@router.get("/ping/{n}")
async def ping(n: int) -> dict:
    async with AsyncClient(base_url=os.environ["SERVICE_B_URL"]) as client:
        answer = await client.get(f"/flyer/pong/{n}")
    logger.info("ping served", n=n)
    return {"data": answer.json()["data"]}


@asyncio_scheduler.scheduled_job("interval", seconds=1, id="heartbeat")
async def heartbeat() -> None:
    pass


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


def _until(check: Any, what: Any, timeout: float = 60) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.3)
    pytest.fail(what())


def test_one_trace_id_across_two_services_and_their_log_lines(
    tmp_path: Path, support: SimpleNamespace, receiver: Any
) -> None:
    (tmp_path / "service_a.py").write_text(SERVICE_A)
    (tmp_path / "service_b.py").write_text(SERVICE_B)
    port_a, port_b = support.free_port(), support.free_port()
    url_a, url_b = (f"http://{support.LOOPBACK}:{p}" for p in (port_a, port_b))

    def env(service: str) -> Dict[str, str]:
        return support.clean_environ(
            flyer_tracing_enabled="1",
            flyer_log_format="json",
            OTEL_SERVICE_NAME=service,
            OTEL_EXPORTER_OTLP_ENDPOINT=receiver.url,
            OTEL_BSP_SCHEDULE_DELAY="100",
            SERVICE_B_URL=url_b,
        )

    def command(module: str, port: int) -> List[str]:
        uvicorn = [sys.executable, "-m", "uvicorn", f"{module}:app", "--host", support.LOOPBACK]
        return [*uvicorn, "--port", str(port)]

    log_a, log_b = tmp_path / "a.log", tmp_path / "b.log"
    with support.running(
        command("service_b", port_b), tmp_path, env("b"), log_b, f"{url_b}/health_check"
    ), support.running(
        command("service_a", port_a), tmp_path, env("a"), log_a, f"{url_a}/health_check"
    ):
        incoming = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
        status, body = support.get(f"{url_a}/flyer/ping/7", headers={"traceparent": incoming})
        assert (status, json.loads(body)["data"]) == (200, 7)

        def request_spans() -> Any:
            spans = receiver.spans()
            names = {(s["service"], s["name"]) for s in spans}
            wanted = {("a", "GET /flyer/ping/{n}"), ("b", "GET /flyer/pong/{n}")}
            clients = [s for s in spans if s["service"] == "a" and s["kind"] == 3]
            return spans if wanted <= names and clients else None

        spans = _until(
            request_spans, lambda: f"the request's spans did not arrive: {receiver.spans()}"
        )
        jobs = _until(
            lambda: [s for s in receiver.spans() if s["name"] == "job heartbeat"],
            "no span for the scheduled job's run",
        )
    trace_id = "0af7651916cd43dd8448eb211c80319c"  # the caller's trace, continued
    server_a = next(s for s in spans if s["name"] == "GET /flyer/ping/{n}")
    client_a = next(s for s in spans if s["service"] == "a" and s["kind"] == 3)
    server_b = next(s for s in spans if s["name"] == "GET /flyer/pong/{n}")
    assert server_a["trace_id"] == client_a["trace_id"] == server_b["trace_id"] == trace_id
    assert server_a["parent_id"] == "b7ad6b7169203331"
    assert client_a["parent_id"] == server_a["span_id"]
    assert server_b["parent_id"] == client_a["span_id"]  # traceparent went out with the call
    assert server_a["kind"] == server_b["kind"] == 2  # SPAN_KIND_SERVER
    assert server_a["attributes"]["http.route"] == "/flyer/ping/{n}"
    assert server_a["attributes"]["http.response.status_code"] == 200

    ping = [line for line in _lines(log_a) if line.get("event") == "ping served"]
    access_a = [line for line in _lines(log_a) if line.get("path") == "/flyer/ping/7"]
    pong = [line for line in _lines(log_b) if line.get("event") == "pong served"]
    access_b = [line for line in _lines(log_b) if line.get("path") == "/flyer/pong/7"]
    for lines in (ping, access_a, pong, access_b):
        assert len(lines) == 1, lines
        assert lines[0]["trace_id"] == trace_id
    assert ping[0]["span_id"] == server_a["span_id"]
    assert pong[0]["span_id"] == server_b["span_id"]
    assert ping[0]["request_id"] == access_a[0]["request_id"]

    job = jobs[0]
    assert job["service"] == "a"
    assert job["attributes"]["flyer.job.id"] == "heartbeat"
    assert job["attributes"]["flyer.job.outcome"] == "success"
    assert "flyer.job.tick" in job["attributes"]
    assert job["trace_id"] != trace_id  # a run is its own trace
