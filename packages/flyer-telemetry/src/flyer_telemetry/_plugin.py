"""`TelemetryPlugin`: metrics and traces for flyer's app (entry point `telemetry`)."""

from __future__ import annotations

import asyncio
import contextlib
import importlib.util
import logging
import sys
from typing import TYPE_CHECKING, Any, Callable, Dict, List, Optional

from flyer_telemetry._settings import TelemetrySettings, settings_fields
from flyer_telemetry._shared import SharedDirectory

if TYPE_CHECKING:
    from flyer_telemetry._hooks import JobRuns
    from flyer_telemetry._metrics import Metrics
    from flyer_telemetry._pools import PoolWatch
    from flyer_telemetry._tracing import JobSpans, Tracing

logger = logging.getLogger("flyer.telemetry")

#: Seconds between two refreshes of a worker's process gauges (a scrape refreshes its own).
PROCESS_INTERVAL = 5.0


class TelemetryPlugin:
    """flyer-core's plugin for metrics and traces, found through the `flyer.plugins` entry point.

    - `setup`: with `flyer_metrics_enabled` (on by default) counts every request and serves
      `{base}{flyer_metrics_path}`; with `flyer_tracing_enabled` traces requests, outgoing
      httpx calls and flyer-sched runs, and puts `trace_id` / `span_id` on log lines.
    - `startup` / `shutdown`: the worker's process gauges; the tracer provider (made in the
      worker, after fork) flushed and shut down.
    - Server hooks (`flyer serve`): the directory the workers' metrics share is made empty
      before they start, a worker that exits is marked dead, the directory goes at exit.
    """

    name = "telemetry"
    # Early: its middleware sits inside flyer's and around every later plugin's.
    order = 10

    def __init__(self) -> None:
        self.metrics: Optional[Metrics] = None
        self.tracing: Optional[Tracing] = None
        self.shared = SharedDirectory()
        self._refresh: Optional[asyncio.Task[None]] = None
        self._job_runs: Optional[JobRuns] = None
        self._job_spans: Optional[JobSpans] = None
        self._schedulers: List[Any] = []
        self._unhook: List[Callable[[], None]] = []
        self._pools: Optional[PoolWatch] = None
        self._pool_metrics: Optional[Metrics] = None

    def validate_settings(self, settings: Any) -> None:
        """Check the `flyer_metrics_*` / `flyer_tracing_*` variables (one `ValueError` line)."""
        own = TelemetrySettings.from_env(getattr(settings, "environ", None))
        if own.tracing_enabled:
            from flyer_telemetry._tracing import check_environment

            check_environment()

    def setup(self, app: Any, settings: Any) -> None:
        own = TelemetrySettings.from_env(getattr(settings, "environ", None))
        base = str(getattr(settings, "base_url", "") or "")
        if own.tracing_enabled:
            from flyer_telemetry._tracing import Tracing, TracingMiddleware

            self.tracing = Tracing.from_environment()
            app.add_middleware(
                TracingMiddleware,
                tracer=self.tracing.tracer,
                never_roots=self.tracing.never_roots,
            )
        if own.metrics_enabled:
            from flyer_telemetry._endpoint import mount_metrics
            from flyer_telemetry._hooks import set_current
            from flyer_telemetry._metrics import MetricsMiddleware, metrics_for_app

            self.metrics = metrics_for_app()
            set_current(self.metrics)
            # Added last, so outside the tracing middleware: the request's span covers it.
            app.add_middleware(MetricsMiddleware, metrics=self.metrics)
            mount_metrics(app, self.metrics, f"{base}{own.metrics_path}")
        if (self.metrics is not None or self.tracing is not None) and _installed("flyer_sched"):
            self._watch_jobs()
        logger.info(
            "telemetry set up",
            extra={
                "metrics": f"{base}{own.metrics_path}" if own.metrics_enabled else "off",
                "tracing": "on" if own.tracing_enabled else "off",
            },
        )

    def _watch_jobs(self) -> None:
        import flyer_sched
        from flyer_telemetry._hooks import JobRuns

        tracer = self.tracing.tracer if self.tracing is not None else None
        self._schedulers = [flyer_sched.background_scheduler, flyer_sched.asyncio_scheduler]
        wrapped = [s for s in self._schedulers if hasattr(s, "add_run_wrapper")]
        if tracer is not None and wrapped:  # an older flyer-sched has no run wrappers
            from flyer_telemetry._tracing import JobSpans

            self._job_spans = JobSpans(tracer)
        self._job_runs = JobRuns(self.metrics, tracer, self._job_spans)
        for scheduler in self._schedulers:
            scheduler.add_run_hook(self._job_runs)
            if self._job_spans is not None and scheduler in wrapped:
                # Traced while it runs: its log lines and calls belong to the run's span.
                scheduler.add_run_wrapper(self._job_spans.run)

    async def startup(self) -> None:
        if self.tracing is not None:
            self.tracing.start()
        if self.metrics is not None:
            self._watch_stores(self.metrics)
            self.metrics.update_process(build=False)
            self._refresh = asyncio.ensure_future(self._refresh_process(self.metrics))

    def _watch_stores(self, metrics: Metrics) -> None:
        """flyer-http calls (every client's), flyer-cache lookups (hits and misses) and
        SQLAlchemy pools (checked-out connections), where those packages are installed: in
        this worker, from its start. SQLAlchemy's pools are watched once something has
        imported SQLAlchemy (checked at start-up and every `PROCESS_INTERVAL`): watching
        never imports it (nor the watch itself before then), so an app that uses no database
        never loads it."""
        if _installed("flyer_cache"):
            import flyer_cache

            add_lookup_hook = getattr(flyer_cache, "add_lookup_hook", None)
            if add_lookup_hook is not None:  # an older flyer-cache has no lookup hooks

                def lookup(event: Any) -> None:
                    metrics.cache_lookups.labels(event.cache, event.backend, event.result).inc()

                self._unhook.append(add_lookup_hook(lookup))
        if _installed("flyer_http"):
            from flyer_telemetry._hooks import count_http_calls

            remove = count_http_calls(metrics)
            if remove is not None:
                self._unhook.append(remove)
        if _installed("sqlalchemy"):
            self._pool_metrics = metrics
            self._watch_pools()

    def _watch_pools(self) -> None:
        """Start watching SQLAlchemy's pools once SQLAlchemy is imported (by the app, flyer-db
        or anything else). An engine that connected before is seen at its next connection,
        its connections already out counted."""
        metrics = self._pool_metrics
        if metrics is None or "sqlalchemy" not in sys.modules:
            return
        if self._pools is None:
            from flyer_telemetry._pools import PoolWatch

            self._pools = PoolWatch(lambda: metrics.db_checked_out)
            self._unhook.append(self._pools.uninstall)
        if not self._pools.installed:
            self._pools.install()

    async def shutdown(self) -> None:
        for unhook in self._unhook:
            unhook()
        self._unhook = []
        self._pools = None
        self._pool_metrics = None
        if self._refresh is not None:
            self._refresh.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._refresh
            self._refresh = None
        for scheduler in self._schedulers:
            with contextlib.suppress(ValueError, KeyError):
                scheduler.remove_run_hook(self._job_runs)
            if self._job_spans is not None and hasattr(scheduler, "remove_run_wrapper"):
                scheduler.remove_run_wrapper(self._job_spans.run)
        self._schedulers = []
        if self._job_spans is not None:
            self._job_spans.close()
            self._job_spans = None
        if self.tracing is not None:
            await asyncio.get_running_loop().run_in_executor(None, self.tracing.shutdown)

    async def _refresh_process(self, metrics: Metrics) -> None:
        while True:
            await asyncio.sleep(PROCESS_INTERVAL)
            metrics.update_process(build=False)
            self._watch_pools()

    async def check(self) -> Dict[str, Any]:
        """Readiness: always ok; says what is on."""
        return {
            "ok": True,
            "metrics": self.metrics is not None,
            "tracing": self.tracing is not None,
        }

    def settings_fields(self) -> List[Dict[str, Any]]:
        """The `flyer_metrics_*` and `flyer_tracing_*` variables, for `flyer config`."""
        return settings_fields()

    # Server hooks: called by `flyer serve` in the serving process, never in a worker.

    def prepare_server(self, settings: Any) -> None:
        """Before any worker starts: an empty directory for the workers' shared metrics."""
        if TelemetrySettings.from_env(getattr(settings, "environ", None)).metrics_enabled:
            self.shared.prepare()

    def worker_exited(self, pid: int) -> None:
        self.shared.worker_exited(pid)

    def server_stopped(self) -> None:
        self.shared.stop()


def _installed(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False
