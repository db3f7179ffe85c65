"""What flyer-http and flyer-sched report, recorded as metrics (and job runs as spans)."""

from __future__ import annotations

from typing import Any, Callable, Dict, List, Optional

from flyer_telemetry._metrics import Metrics

_current: List[Metrics] = []


def set_current(metrics: Optional[Metrics]) -> None:
    """The metrics `http_metrics_hooks()` record into: the last app set up in this process."""
    _current[:] = [] if metrics is None else [metrics]


def count_http_calls(metrics: Metrics) -> Optional[Callable[[], None]]:
    """Count every flyer-http client's calls in this process (the ready-made clients
    included) through flyer-http's process-wide hooks; returns what removes them, or None
    when the installed flyer-http has no such hooks (then `http_metrics_hooks()` counts)."""
    import flyer_http

    add_call_hooks = getattr(flyer_http, "add_call_hooks", None)
    if add_call_hooks is None:
        return None

    def on_retry(event: Any) -> None:
        metrics.http_retries.labels(event.method, event.host).inc()

    def on_complete(outcome: Any) -> None:
        metrics.http_calls.labels(outcome.method, outcome.host, outcome.outcome).inc()

    remove: Callable[[], None] = add_call_hooks(on_retry=on_retry, on_complete=on_complete)
    return remove


def _process_wide() -> bool:
    try:
        import flyer_http
    except ImportError:
        return False
    return hasattr(flyer_http, "add_call_hooks")


def http_metrics_hooks() -> Dict[str, Callable[[Any], None]]:
    """`on_retry` and `on_complete` for a flyer-http client: its calls, retries and outcomes
    counted in the app's metrics (`AsyncClient(**http_metrics_hooks())`).

    With a flyer-http that has process-wide hooks the app counts every client's calls by
    itself; then this returns no hooks, so a client built with them is not counted twice."""
    if _process_wide():
        return {}
    return _hooks()


def _hooks() -> Dict[str, Callable[[Any], None]]:
    def on_retry(event: Any) -> None:
        if _current:
            _current[0].http_retries.labels(event.method, event.host).inc()

    def on_complete(outcome: Any) -> None:
        if _current:
            _current[0].http_calls.labels(outcome.method, outcome.host, outcome.outcome).inc()

    return {"on_retry": on_retry, "on_complete": on_complete}


def lock_outcome(event: Any) -> str:
    """How the claim of a run's lock ended: `acquired`, `unlocked` (the store failed and the
    job ran anyway) or the reason the tick was skipped (`done`, `busy`, `paused`,
    `lock_store_unreachable`, `late`)."""
    if event.outcome == "skipped":
        return str(event.reason or "unknown")
    return "unlocked" if event.reason == "unlocked" else "acquired"


class JobRuns:
    """A flyer-sched run hook: every tick's outcome counted, and traced when tracing is on.

    With `spans` (the run wrapper that traced the run while it ran), the run's event completes
    that run's span; a run it did not trace (a skipped tick) gets its span after the fact."""

    def __init__(self, metrics: Optional[Metrics], tracer: Any = None, spans: Any = None) -> None:
        self.metrics = metrics
        self.tracer = tracer
        self.spans = spans

    def __call__(self, event: Any) -> None:
        # The run's span first: it was started while the job ran and is ended here.
        if self.tracer is not None and not (self.spans is not None and self.spans.finish(event)):
            from flyer_telemetry._tracing import job_span

            job_span(self.tracer, event)
        if self.metrics is not None:
            self.metrics.job_runs.labels(event.job_id, event.outcome).inc()
            if event.outcome == "skipped":
                self.metrics.job_skips.labels(event.job_id, event.reason or "unknown").inc()
            elif event.outcome in ("success", "error"):
                self.metrics.job_duration.labels(event.job_id).observe(event.duration)
            wait = getattr(event, "lock_wait", None)  # flyer-sched 0.x before lock_wait: none
            if wait is not None:
                self.metrics.lock_wait.labels(event.job_id, lock_outcome(event)).observe(wait)
