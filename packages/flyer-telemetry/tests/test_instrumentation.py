"""SQLAlchemy and Redis spans (the contrib instrumentations) under a request's server span,
received over OTLP/HTTP by the loopback receiver; switched on at start-up, off at shutdown."""

from __future__ import annotations

import os
import time
import uuid
from typing import Any, Dict, List

import httpx
import pytest
import sqlalchemy
from fastapi import APIRouter

from flyer_core import create_app
from flyer_telemetry import TelemetryPlugin

REDIS_URL = os.environ.get("FLYER_TEST_REDIS_URL") or "redis://127.0.0.1:6379/0"
# SQLAlchemy 1.4 (the floor) has no psycopg 3 dialect: psycopg2 there.
DRIVER = "psycopg2" if sqlalchemy.__version__.startswith("1.") else "psycopg"
POSTGRES_URL = (
    os.environ.get("FLYER_TEST_POSTGRES_URL")
    or f"postgresql+{DRIVER}://postgres@127.0.0.1:5432/test"
)
SERVER, CLIENT = 2, 3  # OTLP span kinds

pytest.importorskip("opentelemetry.instrumentation.sqlalchemy")
pytest.importorskip("opentelemetry.instrumentation.redis")


def _app(monkeypatch: pytest.MonkeyPatch, receiver: Any, key: str) -> Any:
    for name, value in {
        "flyer_tracing_enabled": "1",
        "OTEL_SERVICE_NAME": "stores",
        "OTEL_EXPORTER_OTLP_ENDPOINT": receiver.url,
        "OTEL_BSP_SCHEDULE_DELAY": "50",
    }.items():
        monkeypatch.setenv(name, value)
    app = create_app(apps=None, env_file=None, plugins=[TelemetryPlugin()])
    router = APIRouter()

    @router.get("/stores/{n}")
    def stores(n: int) -> Dict[str, Any]:
        # Made here, after start-up: flyer-db's engine and flyer-cache's client, as an app
        # would make them on first use.
        from sqlalchemy import text

        from flyer_cache import from_url
        from flyer_db import create_engine

        engine = create_engine(POSTGRES_URL)
        try:
            with engine.connect() as connection:
                row = connection.execute(text("select :n + 1"), {"n": n}).scalar()
        finally:
            engine.dispose()
        redis = from_url(REDIS_URL)
        redis.set(key, row, ex=30)
        return {"data": int(redis.get(key))}

    app.include_router(router, prefix="/flyer")
    return app


def _until(check: Any, timeout: float = 30) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.1)
    return check()


async def test_database_and_redis_spans_are_children_of_the_request_span(
    monkeypatch: pytest.MonkeyPatch, receiver: Any
) -> None:
    key = f"t-{uuid.uuid4().hex}"
    app = _app(monkeypatch, receiver, key)
    transport = httpx.ASGITransport(app=app)
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            response = await client.get("/flyer/stores/41")
        assert response.json()["data"] == 42

        def arrived() -> List[Dict[str, Any]]:
            spans = receiver.spans()
            servers = [s for s in spans if s["name"] == "GET /flyer/stores/{n}"]
            redis_spans = [s for s in spans if s["name"] in ("GET", "SET")]
            sql = [s for s in spans if "select" in str(s["attributes"].get("db.statement"))]
            return spans if servers and len(redis_spans) == 2 and sql else []

        spans = _until(arrived)
    assert spans, f"the request's spans did not arrive: {receiver.spans()}"
    (server,) = [s for s in spans if s["name"] == "GET /flyer/stores/{n}"]
    assert server["kind"] == SERVER
    sql = [s for s in spans if s["attributes"].get("db.system") == "postgresql"]
    redis_spans = [s for s in spans if s["name"] in ("GET", "SET")]
    for span in [*sql, *redis_spans]:
        assert span["kind"] == CLIENT
        assert span["trace_id"] == server["trace_id"]
        assert span["parent_id"] == server["span_id"]
    statements = [s["attributes"].get("db.statement") for s in sql]
    assert "select %(n)s + 1" in statements  # the query, its parameters not in it
    assert {s["attributes"]["db.system"] for s in redis_spans} == {"redis"}
    assert {s["name"] for s in redis_spans} == {"GET", "SET"}


async def test_instrumentations_are_off_once_the_app_stopped(
    monkeypatch: pytest.MonkeyPatch, receiver: Any
) -> None:
    from opentelemetry.instrumentation.redis import RedisInstrumentor
    from opentelemetry.instrumentation.sqlalchemy import SQLAlchemyInstrumentor

    app = _app(monkeypatch, receiver, f"t-{uuid.uuid4().hex}")
    assert not RedisInstrumentor().is_instrumented_by_opentelemetry  # nothing before start-up
    async with app.router.lifespan_context(app):
        assert RedisInstrumentor().is_instrumented_by_opentelemetry
        assert SQLAlchemyInstrumentor().is_instrumented_by_opentelemetry
    assert not RedisInstrumentor().is_instrumented_by_opentelemetry
    assert not SQLAlchemyInstrumentor().is_instrumented_by_opentelemetry
