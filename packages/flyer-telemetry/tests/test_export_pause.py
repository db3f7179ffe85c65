"""While trace exports fail, finished spans are dropped instead of queued; the pause doubles
with each failure, and the first export that succeeds after it ends it."""

from __future__ import annotations

import time
from typing import Any, List

import pytest

from flyer_telemetry._tracing import PAUSE_MAX, PAUSE_MIN, Tracing


@pytest.fixture
def tracing_to(monkeypatch: pytest.MonkeyPatch) -> Any:
    made: List[Tracing] = []

    def make(endpoint: str) -> Tracing:
        monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint)
        monkeypatch.setenv("OTEL_EXPORTER_OTLP_TIMEOUT", "1")
        monkeypatch.setenv("OTEL_BSP_SCHEDULE_DELAY", "50")
        monkeypatch.setenv("OTEL_TRACES_SAMPLER", "always_on")
        tracing = Tracing.from_environment()
        made.append(tracing)
        return tracing

    yield make
    for tracing in made:
        tracing.shutdown(flush_seconds=0.1)


def _ended(tracing: Tracing, name: str) -> None:
    tracing.tracer.start_span(name).end()


def test_spans_ended_while_exports_fail_are_dropped_not_queued(
    tracing_to: Any, support: Any, make_receiver: Any
) -> None:
    port = support.free_port()  # nothing listens there yet: the collector is down
    tracing = tracing_to(f"http://{support.LOOPBACK}:{port}")
    exporter = tracing.exporter
    assert exporter is not None

    _ended(tracing, "before")
    tracing.provider.force_flush(timeout_millis=5000)
    assert exporter.pause == PAUSE_MIN
    assert exporter.paused_until > time.monotonic()
    for n in range(50):  # within the pause: not queued
        _ended(tracing, f"during-{n}")

    receiver = make_receiver(port=port)  # the collector comes back
    time.sleep(max(0.0, exporter.paused_until - time.monotonic()) + 0.05)
    _ended(tracing, "after")
    tracing.provider.force_flush(timeout_millis=5000)
    deadline = time.monotonic() + 10
    while not receiver.spans() and time.monotonic() < deadline:
        time.sleep(0.05)
    names = [span["name"] for span in receiver.spans()]
    # Without the pause the 50 spans would have waited in the queue and gone out now.
    assert names == ["after"]
    assert exporter.pause == 0.0
    assert exporter.paused_until == 0.0


def test_the_pause_doubles_with_each_failure_up_to_its_cap(tracing_to: Any, support: Any) -> None:
    from opentelemetry.sdk.trace.export import SpanExportResult

    tracing = tracing_to(f"http://{support.LOOPBACK}:{support.free_port()}")
    exporter = tracing.exporter
    assert exporter is not None
    pauses = []
    for _ in range(3):
        assert exporter.export([]) is SpanExportResult.FAILURE
        pauses.append(exporter.pause)
    assert pauses == [PAUSE_MIN, 2 * PAUSE_MIN, 4 * PAUSE_MIN]
    for _ in range(12):
        exporter._failed(0, None)
    assert exporter.pause == PAUSE_MAX
