"""Traces across two served apps: one trace id in every span and every log line of a request."""

from __future__ import annotations

import json
import sys
import time
from datetime import datetime, timezone
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


def _traced_env(
    support: SimpleNamespace, receiver: Any, service: str, **extra: str
) -> Dict[str, str]:
    """A served app's environment: tracing on, JSON logs, exporting to `receiver`."""
    return support.clean_environ(
        flyer_tracing_enabled="1",
        flyer_log_format="json",
        OTEL_SERVICE_NAME=service,
        OTEL_EXPORTER_OTLP_ENDPOINT=receiver.url,
        OTEL_BSP_SCHEDULE_DELAY="100",
        **extra,
    )


def _uvicorn(support: SimpleNamespace, module: str, port: int) -> List[str]:
    return [
        sys.executable,
        "-m",
        "uvicorn",
        f"{module}:app",
        "--host",
        support.LOOPBACK,
        "--port",
        str(port),
    ]


def test_one_trace_id_across_two_services_and_their_log_lines(
    tmp_path: Path, support: SimpleNamespace, receiver: Any
) -> None:
    (tmp_path / "service_a.py").write_text(SERVICE_A)
    (tmp_path / "service_b.py").write_text(SERVICE_B)
    port_a, port_b = support.free_port(), support.free_port()
    url_a, url_b = (f"http://{support.LOOPBACK}:{p}" for p in (port_a, port_b))

    def env(service: str) -> Dict[str, str]:
        return _traced_env(support, receiver, service, SERVICE_B_URL=url_b)

    log_a, log_b = tmp_path / "a.log", tmp_path / "b.log"
    with support.running(
        _uvicorn(support, "service_b", port_b), tmp_path, env("b"), log_b, f"{url_b}/health_check"
    ), support.running(
        _uvicorn(support, "service_a", port_a), tmp_path, env("a"), log_a, f"{url_a}/health_check"
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


SERVICE_JOBS = """
import os

import httpx
from flyer_core import create_app, logger
from flyer_http import AsyncClient
from flyer_sched import asyncio_scheduler, background_scheduler, current_tick

app = create_app(apps=None, env_file=None)


@asyncio_scheduler.scheduled_job("interval", seconds=0.5, id="fetch_async")
@asyncio_scheduler.lock()
async def fetch_async() -> None:
    logger.info("job working", run_tick=current_tick().scheduled_time.isoformat())
    async with AsyncClient(base_url=os.environ["SERVICE_B_URL"]) as client:
        await client.get("/flyer/pong/1")


@background_scheduler.scheduled_job("interval", seconds=0.5, id="fetch_sync")
def fetch_sync() -> None:
    logger.info("job working", run_tick=current_tick().scheduled_time.isoformat())
    with httpx.Client(base_url=os.environ["SERVICE_B_URL"]) as client:
        client.get("/flyer/pong/2")
"""


def test_a_job_run_is_one_span_current_for_its_log_lines_and_calls(
    tmp_path: Path, support: SimpleNamespace, receiver: Any
) -> None:
    (tmp_path / "service_jobs.py").write_text(SERVICE_JOBS)
    (tmp_path / "service_b.py").write_text(SERVICE_B)
    port_a, port_b = support.free_port(), support.free_port()
    url_a, url_b = (f"http://{support.LOOPBACK}:{p}" for p in (port_a, port_b))

    def env(service: str) -> Dict[str, str]:
        return _traced_env(
            support, receiver, service, SERVICE_B_URL=url_b, flyer_sched_lock_backend="file"
        )

    def job_spans(job_id: str) -> List[Dict[str, Any]]:
        return [s for s in receiver.spans() if s["name"] == f"job {job_id}"]

    log_a, log_b = tmp_path / "a.log", tmp_path / "b.log"
    with support.running(
        _uvicorn(support, "service_b", port_b), tmp_path, env("b"), log_b, f"{url_b}/health_check"
    ), support.running(
        _uvicorn(support, "service_jobs", port_a),
        tmp_path,
        env("a"),
        log_a,
        f"{url_a}/health_check",
    ):
        _until(
            lambda: len(job_spans("fetch_async")) >= 2 and len(job_spans("fetch_sync")) >= 2,
            lambda: f"no spans for the jobs' runs: {receiver.spans()}",
        )
    spans = receiver.spans()
    clients = [s for s in spans if s["service"] == "a" and s["kind"] == 3]  # SPAN_KIND_CLIENT
    working = [line for line in _lines(log_a) if line.get("event") == "job working"]
    for job_id in ("fetch_async", "fetch_sync"):
        runs = job_spans(job_id)
        ticks = [s["attributes"]["flyer.job.tick"] for s in runs]
        assert len(ticks) == len(set(ticks)), f"more than one span for a run: {runs}"
        for run in runs:
            attributes = run["attributes"]
            assert run["kind"] == 1  # SPAN_KIND_INTERNAL
            assert run["parent_id"] == ""  # a run is its own trace
            assert attributes["flyer.job.id"] == job_id
            assert attributes["flyer.job.outcome"] == "success"
            if job_id == "fetch_async":  # locked: the event's lock fields on the same span
                assert attributes["flyer.job.lock"] == "acquired"
                assert attributes["flyer.job.fencing_token"] > 0
                assert "flyer.job.lock_wait_ms" in attributes
            else:
                assert attributes["flyer.job.lock"] == "none"
            lines = [
                line for line in working if line.get("run_tick") == attributes["flyer.job.tick"]
            ]
            assert len(lines) == 1, (run, working)
            assert lines[0]["trace_id"] == run["trace_id"]
            assert lines[0]["span_id"] == run["span_id"]
            calls = [c for c in clients if c["parent_id"] == run["span_id"]]
            assert len(calls) == 1, (run, clients)
            assert calls[0]["trace_id"] == run["trace_id"]


def _in_memory_tracer() -> Any:
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    return provider.get_tracer("test"), exporter


def test_skipped_ticks_keep_their_span_after_the_fact() -> None:
    from flyer_sched import BackgroundScheduler, MemoryLockStore, SchedSettings
    from flyer_telemetry._hooks import JobRuns
    from flyer_telemetry._tracing import JobSpans

    tracer, exporter = _in_memory_tracer()
    spans = JobSpans(tracer)
    store = MemoryLockStore()
    scheduler = BackgroundScheduler(settings=SchedSettings(lock_backend="memory"))
    scheduler.lock_store = store
    scheduler.add_run_wrapper(spans.run)
    scheduler.add_run_hook(JobRuns(None, tracer, spans))

    @scheduler.lock(id="held")
    def held() -> None:
        raise AssertionError("ran while another process held the lock")

    scheduler.add_job(held, "interval", seconds=0.2, id="held")
    assert store.claim("job:held", None, "x" * 32, "elsewhere:1", 60).acquired
    scheduler.start()
    try:
        _until(lambda: len(exporter.get_finished_spans()) >= 2, lambda: "no skipped tick")
    finally:
        scheduler.shutdown()
    finished = exporter.get_finished_spans()
    ticks = [s.attributes["flyer.job.tick"] for s in finished]
    assert len(ticks) == len(set(ticks))
    for span in finished:
        assert span.name == "job held"
        assert span.attributes["flyer.job.outcome"] == "skipped"
        assert span.attributes["flyer.job.lock"] == "not acquired"
    assert spans.ended == {}


def test_an_older_flyer_sched_keeps_the_span_after_the_fact(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import flyer_sched
    from flyer_telemetry import TelemetryPlugin

    class OldScheduler:  # a flyer-sched without run wrappers
        def __init__(self) -> None:
            self.hooks: List[Any] = []

        def add_run_hook(self, hook: Any) -> None:
            self.hooks.append(hook)

        def remove_run_hook(self, hook: Any) -> None:
            self.hooks.remove(hook)

    old = OldScheduler(), OldScheduler()
    monkeypatch.setattr(flyer_sched, "background_scheduler", old[0])
    monkeypatch.setattr(flyer_sched, "asyncio_scheduler", old[1])
    tracer, exporter = _in_memory_tracer()
    plugin = TelemetryPlugin()
    plugin.tracing = SimpleNamespace(tracer=tracer)  # type: ignore[assignment]
    plugin._watch_jobs()
    (hook,) = old[0].hooks
    assert old[1].hooks == [hook]
    assert hook.spans is None
    event = flyer_sched.RunEvent("beat", datetime.now(timezone.utc), "success", 0.01)
    hook(event)
    (span,) = exporter.get_finished_spans()
    assert span.name == "job beat"
    assert span.attributes["flyer.job.outcome"] == "success"
