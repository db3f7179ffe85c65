"""OpenTelemetry traces: the provider of this worker, server spans, job spans, log fields.

Everything here is made when an app is set up, in the worker process that serves it (gunicorn
imports the app in each worker, after fork): nothing at import. The exporter is the OTLP one,
configured by the standard `OTEL_*` variables; its queue is bounded and its failures are
logged once, then at most once every 5 minutes.
"""

from __future__ import annotations

import contextlib
import importlib
import logging
import os
import threading
import time
from datetime import datetime
from time import perf_counter
from typing import (
    TYPE_CHECKING,
    Any,
    Awaitable,
    Dict,
    Iterator,
    List,
    Optional,
    Sequence,
    Set,
    Tuple,
)

from opentelemetry.sdk.trace import SpanProcessor

from flyer_telemetry._metrics import ASGIApp, Message, Receive, Scope, Send
from flyer_telemetry._routes import route_template

if TYPE_CHECKING:
    from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
    from opentelemetry.sdk.trace.export import SpanExportResult
    from opentelemetry.trace import Tracer

logger = logging.getLogger("flyer.telemetry")

PROTOCOLS = ("http/protobuf",)
#: Seconds between two log lines about a failing exporter, after the first.
REPORT_EVERY = 300.0
#: After a failed export, finished spans are dropped instead of queued for this long (seconds),
#: doubling with each failure up to `PAUSE_MAX`; a successful export ends the pause.
PAUSE_MIN = 1.0
PAUSE_MAX = 60.0
# Loggers whose per-batch and per-span lines (failed exports, retries, a full queue) would
# repeat for as long as the collector is down: `ReportingExporter` says it once instead.
_QUIET_LOGGERS = {
    "opentelemetry.exporter.otlp": logging.CRITICAL,
    "opentelemetry.sdk": logging.ERROR,
}


#: The contrib instrumentations turned on in each worker when installed: (module, class).
_CONTRIB = (
    ("opentelemetry.instrumentation.sqlalchemy", "SQLAlchemyInstrumentor"),
    ("opentelemetry.instrumentation.redis", "RedisInstrumentor"),
)
_SAID: Set[str] = set()  # instrumentations whose version conflict was logged (once a process)


def check_environment(environ: Optional[Dict[str, str]] = None) -> None:
    """The `OTEL_*` variables flyer reads, checked: one `ValueError` line when one is bad."""
    source = os.environ if environ is None else environ
    for variable in ("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "OTEL_EXPORTER_OTLP_PROTOCOL"):
        value = source.get(variable)
        if value is not None and value.strip() and value.strip() not in PROTOCOLS:
            raise ValueError(f"{variable}={value!r}: expected one of {', '.join(PROTOCOLS)}")
    exporter = source.get("OTEL_TRACES_EXPORTER")
    if exporter is not None and exporter.strip() not in ("", "otlp", "none"):
        raise ValueError(f"OTEL_TRACES_EXPORTER={exporter!r}: expected otlp or none")


class ReportingExporter:
    """The OTLP exporter, its failures logged once at ERROR, then once per `REPORT_EVERY`
    seconds with the number of failed batches (the exporter's own lines are kept quiet).

    While exports fail, `paused_until` (a `time.monotonic()` value) says until when finished
    spans are not worth queueing (see `WhileExporting`)."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.failures = 0
        self.reported_at: Optional[float] = None
        self.lock = threading.Lock()
        self.stopped = False
        self.paused_until = 0.0
        self.pause = 0.0

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        from opentelemetry.sdk.trace.export import SpanExportResult

        if self.stopped:
            return SpanExportResult.FAILURE
        try:
            result = self.inner.export(spans)
            error = None
        except Exception as exc:  # an exporter must not raise; count it as a failure
            result, error = SpanExportResult.FAILURE, type(exc).__name__
        if result is not SpanExportResult.SUCCESS:
            self._failed(len(spans), error)
        elif self.pause:
            self.pause = self.paused_until = 0.0
        return result  # type: ignore[no-any-return]

    @property
    def failing(self) -> bool:
        """Whether an export has failed (then a flush at shutdown would only wait)."""
        return self.reported_at is not None

    def _failed(self, spans: int, error: Optional[str]) -> None:
        with self.lock:
            self.failures += 1
            now = time.monotonic()
            self.pause = min(PAUSE_MAX, max(PAUSE_MIN, self.pause * 2))
            self.paused_until = now + self.pause
            if self.reported_at is not None and now - self.reported_at < REPORT_EVERY:
                return
            first = self.reported_at is None
            failures, self.failures, self.reported_at = self.failures, 0, now
        logger.error(
            "trace export failed" if first else "trace export still failing",
            extra={"failed_batches": failures, "spans": spans, "error": error or "export failed"},
        )

    def shutdown(self) -> None:
        """Stop exporting: what is still queued is dropped, a retry in progress ends."""
        self.stopped = True
        self.inner.shutdown()

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return bool(self.inner.force_flush(timeout_millis))


class WhileExporting(SpanProcessor):
    """A span processor in front of the batch processor: while the exporter's pause after a
    failed export lasts, finished spans are dropped here instead of queued. A collector that
    is down or never answers then costs no memory churn (a full queue would otherwise replace
    its oldest span with every new one) and no export work; when the pause ends, spans are
    queued again and the next export tells whether the collector is back."""

    def __init__(self, inner: Any, exporter: ReportingExporter) -> None:
        self.inner = inner
        self.exporter = exporter

    def on_start(self, span: Any, parent_context: Any = None) -> None:
        self.inner.on_start(span, parent_context=parent_context)

    def on_end(self, span: ReadableSpan) -> None:
        paused_until = self.exporter.paused_until
        if paused_until and time.monotonic() < paused_until:
            return
        self.inner.on_end(span)

    def shutdown(self) -> None:
        self.inner.shutdown()

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return bool(self.inner.force_flush(timeout_millis))


class Tracing:
    """This worker's tracer provider, its exporter and the tracer flyer's spans come from."""

    def __init__(self, provider: TracerProvider, exporter: Optional[ReportingExporter]) -> None:
        self.provider = provider
        self.exporter = exporter
        self.tracer: Tracer = provider.get_tracer("flyer_telemetry")
        self.instrumented_httpx = False
        self.instrumented: List[Any] = []

    @property
    def never_roots(self) -> bool:
        """Whether the sampler never samples a trace this service would start."""
        from opentelemetry.sdk.trace.sampling import ALWAYS_OFF, DEFAULT_OFF

        return self.provider.sampler in (ALWAYS_OFF, DEFAULT_OFF)

    @classmethod
    def from_environment(cls) -> Tracing:
        """A provider as the `OTEL_*` variables say: service name and resource attributes,
        sampler (`OTEL_TRACES_SAMPLER`), OTLP/HTTP endpoint, headers, timeout, batch sizes."""
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor

        check_environment()
        provider = TracerProvider(resource=Resource.create())
        exporter: Optional[ReportingExporter] = None
        if os.environ.get("OTEL_TRACES_EXPORTER", "otlp").strip() != "none":
            from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

            exporter = ReportingExporter(OTLPSpanExporter())
            # The queue is bounded (OTEL_BSP_MAX_QUEUE_SIZE, 2048): a dead collector drops
            # spans, never grows memory, and never slows a request.
            batches = BatchSpanProcessor(exporter)  # type: ignore[arg-type]
            provider.add_span_processor(WhileExporting(batches, exporter))
            for name, level in _QUIET_LOGGERS.items():
                quiet = logging.getLogger(name)
                if quiet.level < level:
                    quiet.setLevel(level)
        return cls(provider, exporter)

    def start(self) -> None:
        """Client spans for every httpx client of this process (flyer-http's included), with
        `traceparent` injected into the outgoing requests; SQLAlchemy and Redis spans where
        their OpenTelemetry instrumentations are installed (the `instrumentation` extra)."""
        from opentelemetry.instrumentation.dependencies import get_dependency_conflicts
        from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor

        instrumentor = HTTPXClientInstrumentor()
        if not instrumentor.is_instrumented_by_opentelemetry:
            instrumentor.instrument(tracer_provider=self.provider)
            self.instrumented_httpx = True
        for module, name in _CONTRIB:
            try:
                found = getattr(importlib.import_module(module), name)
            except ImportError:  # not installed, or its library is not
                continue
            contrib = found()
            if contrib.is_instrumented_by_opentelemetry:
                continue
            conflict = get_dependency_conflicts(contrib.instrumentation_dependencies())
            if conflict is not None:
                if name not in _SAID:
                    _SAID.add(name)
                    logger.warning("%s: no spans from it: %s", name, conflict)
                continue
            contrib.instrument(tracer_provider=self.provider)
            if contrib.is_instrumented_by_opentelemetry:
                self.instrumented.append(contrib)

    def shutdown(self, flush_seconds: float = 0.3) -> None:
        """Stop instrumenting httpx; export what is queued for up to `flush_seconds`, then
        stop the exporter. Bounded: a collector that is down must not hold the worker's exit
        (the export thread is a daemon; an export still waiting on the network is dropped)."""
        if self.instrumented_httpx:
            from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor

            HTTPXClientInstrumentor().uninstrument()
            self.instrumented_httpx = False
        for contrib in self.instrumented:
            contrib.uninstrument()
        self.instrumented = []
        if self.exporter is None or not self.exporter.failing:
            self.provider.force_flush(timeout_millis=int(flush_seconds * 1000))
        if self.exporter is not None:
            self.exporter.shutdown()
        closing = threading.Thread(
            target=self.provider.shutdown, name="flyer-telemetry-shutdown", daemon=True
        )
        closing.start()
        closing.join(flush_seconds)


def _ids(span: Any) -> Optional[Dict[str, str]]:
    context = span.get_span_context()
    if not context.is_valid or not context.trace_flags.sampled:
        return None
    return {"trace_id": f"{context.trace_id:032x}", "span_id": f"{context.span_id:016x}"}


class TracingMiddleware:
    """Pure ASGI: a server span per request, named `METHOD /route/{template}`, continuing an
    incoming W3C `traceparent`; its ids bound to the request's log lines."""

    def __init__(self, app: ASGIApp, tracer: Tracer, never_roots: bool = False) -> None:
        from opentelemetry import context, trace
        from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

        self.app = app
        self.tracer = tracer
        # The sampler never starts a trace (always_off, parentbased_always_off): a request
        # that continues none is passed straight through, at no cost.
        self.never_roots = never_roots
        self.propagator = TraceContextTextMapPropagator()
        self.context = context
        self.get_current = context.get_current
        self.trace = trace
        from opentelemetry.trace import SpanKind, StatusCode

        self.server = SpanKind.SERVER
        self.error = StatusCode.ERROR

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        carrier: Optional[Dict[str, str]] = None
        for name, value in scope["headers"]:
            if name == b"traceparent" or name == b"tracestate":
                if carrier is None:
                    carrier = {}
                carrier[name.decode("latin-1")] = value.decode("latin-1")
        current = self.get_current()  # empty unless something outside flyer traces
        outer = self.trace.get_current_span(current) if current else None
        if outer is not None and outer.is_recording():
            # Something outside flyer traces this request already (FastAPI's own telemetry
            # when a global tracer provider is configured, or an ASGI instrumentation): one
            # server span per request, so flyer adds none and its lines carry that span's ids.
            ids = _ids(outer)
            if ids is not None:
                import structlog

                structlog.contextvars.bind_contextvars(**ids)
            await self.app(scope, receive, send)
            return
        if carrier is None and self.never_roots:
            await self.app(scope, receive, send)
            return
        parent = self.propagator.extract(carrier) if carrier is not None else None
        method = scope["method"]
        span = self.tracer.start_span(
            method,
            context=parent,
            kind=self.server,
            attributes={"http.request.method": method, "url.path": scope["path"]},
        )
        token = self.context.attach(self.trace.set_span_in_context(span, parent))
        ids = _ids(span)
        if ids is not None:
            # Bound for the rest of this request's task: every line it writes, flyer's access
            # line included (written as the request ends), carries the trace.
            import structlog

            structlog.contextvars.bind_contextvars(**ids)
        status = 500
        start = perf_counter()

        def send_status(message: Message) -> Awaitable[None]:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            return send(message)

        try:
            await self.app(scope, receive, send_status)
        except Exception as exc:
            span.record_exception(exc)
            raise
        finally:
            if span.is_recording():
                route = route_template(scope)
                span.update_name(f"{method} {route}")
                span.set_attribute("http.route", route)
                span.set_attribute("http.response.status_code", status)
                span.set_attribute("flyer.duration_ms", round((perf_counter() - start) * 1000, 3))
                if status >= 500:
                    span.set_status(self.error)
            span.end()
            self.context.detach(token)


def _job_attributes(event: Any) -> Dict[str, Any]:
    """A run's span attributes from its `RunEvent`: tick, outcome, lock and fencing token."""
    attributes: Dict[str, Any] = {
        "flyer.job.id": event.job_id,
        "flyer.job.tick": event.scheduled_time.isoformat(),
        "flyer.job.outcome": event.outcome,
        "flyer.job.manual": bool(event.manual),
    }
    for key, value in (
        ("flyer.job.reason", event.reason),
        ("flyer.job.lock_id", event.lock_id),
        ("flyer.job.fencing_token", event.fencing_token),
        ("flyer.job.error", event.error),
    ):
        if value is not None:
            attributes[key] = value
    wait = getattr(event, "lock_wait", None)
    if wait is not None:
        attributes["flyer.job.lock_wait_ms"] = round(wait * 1000, 3)
    attributes["flyer.job.lock"] = "acquired" if event.lock_id else "none"
    if event.outcome == "skipped":
        attributes["flyer.job.lock"] = "not acquired"
    return attributes


def job_span(tracer: Tracer, event: Any) -> None:
    """A span for one flyer-sched run (after the fact): tick, outcome, lock and fencing token."""
    from opentelemetry.trace import SpanKind, StatusCode

    end = time.time_ns()
    start = end - int(event.duration * 1_000_000_000)
    span = tracer.start_span(
        f"job {event.job_id}",
        kind=SpanKind.INTERNAL,
        start_time=start,
        attributes=_job_attributes(event),
    )
    if event.outcome == "error":
        span.set_status(StatusCode.ERROR, event.error or "error")
    span.end(end_time=end)


#: Runs that ended and whose `RunEvent` has not arrived yet, at most (it arrives right after).
_PENDING_RUNS = 1024
RunKey = Tuple[str, datetime, bool]


class JobSpans:
    """flyer-sched runs traced while they run (a run wrapper of flyer-sched's schedulers).

    A run's span starts when the job does and is current in the thread or task that runs it:
    its log lines carry the span's `trace_id` / `span_id`, its outgoing httpx calls are child
    spans. The span ends once the run's `RunEvent` has added the outcome and the lock (`finish`,
    called by the run hook right after the run), at the time the run ended."""

    def __init__(self, tracer: Tracer) -> None:
        from opentelemetry import context, trace
        from opentelemetry.trace import SpanKind, StatusCode

        self.tracer = tracer
        self.context = context
        self.trace = trace
        self.internal = SpanKind.INTERNAL
        self.error = StatusCode.ERROR
        self.mutex = threading.Lock()
        self.ended: Dict[RunKey, List[Tuple[Any, int]]] = {}
        self.count = 0

    @contextlib.contextmanager
    def run(self, job_id: str, scheduled_time: datetime, manual: bool) -> Iterator[None]:
        """The run wrapper: `job_id`'s span current (and its ids bound to log lines) while the
        run for `scheduled_time` executes."""
        import structlog

        span = self.tracer.start_span(
            f"job {job_id}",
            context=self.context.Context(),  # a run is its own trace
            kind=self.internal,
            attributes={
                "flyer.job.id": job_id,
                "flyer.job.tick": scheduled_time.isoformat(),
                "flyer.job.manual": bool(manual),
            },
        )
        token = self.context.attach(self.trace.set_span_in_context(span))
        try:
            ids = _ids(span) or {}
            with structlog.contextvars.bound_contextvars(**ids):
                yield
        except BaseException as exc:
            # Cancelled or interrupted: no `RunEvent` will come for this run.
            self.context.detach(token)
            span.record_exception(exc)
            span.set_status(self.error, type(exc).__name__)
            span.end()
            raise
        self.context.detach(token)
        self._ended((job_id, scheduled_time, bool(manual)), span, time.time_ns())

    def _ended(self, key: RunKey, span: Any, end: int) -> None:
        dropped: Optional[Tuple[Any, int]] = None
        with self.mutex:
            if self.count >= _PENDING_RUNS:
                oldest = next(iter(self.ended))
                runs = self.ended[oldest]
                dropped = runs.pop(0)
                if not runs:
                    del self.ended[oldest]
                self.count -= 1
            self.ended.setdefault(key, []).append((span, end))
            self.count += 1
        if dropped is not None:  # its event never came: end it as it is
            dropped[0].end(end_time=dropped[1])

    def finish(self, event: Any) -> bool:
        """Add `event`'s outcome and lock to its run's span and end it; False when the run was
        not traced while it ran (a skipped tick, a scheduler without run wrappers)."""
        key = (event.job_id, event.scheduled_time, bool(event.manual))
        with self.mutex:
            runs = self.ended.get(key)
            if not runs:
                return False
            span, end = runs.pop(0)
            if not runs:
                del self.ended[key]
            self.count -= 1
        if span.is_recording():
            span.set_attributes(_job_attributes(event))
            if event.outcome == "error":
                span.set_status(self.error, event.error or "error")
        span.end(end_time=end)
        return True

    def close(self) -> None:
        """End the spans still waiting for their event."""
        with self.mutex:
            left = [run for runs in self.ended.values() for run in runs]
            self.ended, self.count = {}, 0
        for span, end in left:
            span.end(end_time=end)
