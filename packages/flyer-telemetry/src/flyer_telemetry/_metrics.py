"""Every metric flyer exports, the ASGI middleware counting requests and the exposition.

With `PROMETHEUS_MULTIPROC_DIR` set (as `flyer serve` does) the values live in files every
worker of the server shares, and a scrape of any worker reads them all; otherwise they live
in a registry of this app.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from bisect import bisect_left
from time import perf_counter
from typing import TYPE_CHECKING, Any, Awaitable, Callable, Dict, Iterator, List, Optional, Tuple

from flyer_telemetry._routes import route_template
from flyer_telemetry._shared import multiprocess_dir

if TYPE_CHECKING:
    from prometheus_client import CollectorRegistry

logger = logging.getLogger("flyer.telemetry")

Scope = Dict[str, Any]
Message = Dict[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE"})
# Durations in seconds: from a cached answer to a slow upstream.
BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
# Claiming a job's lock: a file or a local Redis answers in well under a millisecond.
LOCK_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)
_BOUNDS = (*(repr(b) for b in BUCKETS), "+Inf")
REQUESTS_HELP = "HTTP requests answered, by method, route template and status"
DURATION_HELP = "Time to answer an HTTP request, by method and route template"


#: The attributes of `Metrics` that are prometheus-client objects (built with the registry).
_BUILT = frozenset(
    {
        "registry", "requests", "duration", "in_flight", "cpu", "rss", "fds", "start_time",
        "http_calls", "http_retries", "job_runs", "job_skips", "job_duration", "lock_wait",
        "cache_lookups", "db_checked_out",
    }
)  # fmt: skip


class Metrics:
    """The metrics of one process (multiprocess mode) or one app (otherwise).

    `Metrics.deferred()` (one app, as `metrics_for_app` makes them) imports prometheus-client
    and builds its registry when a metric object is first needed (a scrape, a job run, a call
    out, a cache lookup): requests are counted in plain dicts meanwhile, so an app starts and
    answers without loading it.
    """

    def __init__(self, registry: Optional[CollectorRegistry], *, deferred: bool = False) -> None:
        self.multiprocess = registry is None and not deferred
        self.started = time.time()
        # One process: requests in flight are a plain count, read at scrape time.
        self.in_flight_count = 0
        self._children: Dict[Tuple[str, str, int], Tuple[Any, Any]] = {}
        self._build_lock = threading.Lock()
        if not self.multiprocess:
            # One process: plain counts, turned into metric families when scraped.
            self.local = LocalRequests()
        if not deferred:
            self._build(registry)

    @classmethod
    def deferred(cls) -> Metrics:
        """One app's metrics, its registry built on first use."""
        return cls(None, deferred=True)

    @property
    def built(self) -> bool:
        """Whether the prometheus-client objects exist."""
        return "registry" in self.__dict__

    def __getattr__(self, name: str) -> Any:
        # Only reached for attributes not set yet: the metric objects of a deferred instance.
        if name not in _BUILT or "_build_lock" not in self.__dict__:
            raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")
        with self._build_lock:
            if not self.built:
                from prometheus_client import CollectorRegistry

                self._build(CollectorRegistry(auto_describe=True))
        return object.__getattribute__(self, name)

    def _build(self, registry: Optional[CollectorRegistry]) -> None:
        from prometheus_client import Counter, Gauge, Histogram

        if registry is None:
            # Many processes: every request is written to this process's file at once, so a
            # worker killed right after answering has counted it.
            self.requests = Counter(
                "flyer_requests",
                REQUESTS_HELP,
                ["method", "route", "status"],
                registry=None,
            )
            self.duration = Histogram(
                "flyer_request_duration_seconds",
                DURATION_HELP,
                ["method", "route"],
                buckets=BUCKETS,
                registry=None,
            )
        else:
            registry.register(self.local)
        self.in_flight = Gauge(
            "flyer_requests_in_flight",
            "HTTP requests being answered",
            registry=registry,
            multiprocess_mode="livesum",
        )
        self.cpu = Gauge(
            "flyer_process_cpu_seconds",
            "CPU time (user + system) of the worker process",
            registry=registry,
            multiprocess_mode="liveall",
        )
        self.rss = Gauge(
            "flyer_process_resident_memory_bytes",
            "Resident memory of the worker process",
            registry=registry,
            multiprocess_mode="liveall",
        )
        self.fds = Gauge(
            "flyer_process_open_fds",
            "Open file descriptors of the worker process",
            registry=registry,
            multiprocess_mode="liveall",
        )
        self.start_time = Gauge(
            "flyer_process_start_time_seconds",
            "When the worker process started its app (Unix time)",
            registry=registry,
            multiprocess_mode="liveall",
        )
        self.http_calls = Counter(
            "flyer_http_client_calls",
            "Calls made through flyer-http clients, by method, host and outcome",
            ["method", "host", "outcome"],
            registry=registry,
        )
        self.http_retries = Counter(
            "flyer_http_client_retries",
            "Retries made by flyer-http clients, by method and host",
            ["method", "host"],
            registry=registry,
        )
        self.job_runs = Counter(
            "flyer_sched_runs",
            "Ticks of scheduled jobs in this server, by job and outcome",
            ["job", "outcome"],
            registry=registry,
        )
        self.job_skips = Counter(
            "flyer_sched_skips",
            "Ticks of scheduled jobs not run here, by job and reason",
            ["job", "reason"],
            registry=registry,
        )
        self.job_duration = Histogram(
            "flyer_sched_run_duration_seconds",
            "Time a scheduled job's run took, by job",
            ["job"],
            buckets=BUCKETS,
            registry=registry,
        )
        self.lock_wait = Histogram(
            "flyer_sched_lock_wait_seconds",
            "Time claiming a scheduled job's lock took, by job and outcome of the claim",
            ["job", "outcome"],
            buckets=LOCK_BUCKETS,
            registry=registry,
        )
        self.cache_lookups = Counter(
            "flyer_cache_lookups",
            "Reads of flyer-cache's cached functions, by cache, backend and result (hit, miss)",
            ["cache", "backend", "result"],
            registry=registry,
        )
        self.db_checked_out = Gauge(
            "flyer_db_pool_checked_out",
            "Database connections checked out of a SQLAlchemy engine's pool, by engine",
            ["engine"],
            registry=registry,
            multiprocess_mode="livesum",
        )
        self.start_time.set(self.started)
        if registry is not None:
            self.in_flight.set_function(lambda: self.in_flight_count)
        self.registry = registry  # last: `built` from here on

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        """Count one answered request."""
        if not self.multiprocess:
            self.local.observe(method, route, status, seconds)
            return
        key = (method, route, status)
        children = self._children.get(key)
        if children is None:
            children = (
                self.requests.labels(method, route, str(status)),
                self.duration.labels(method, route),
            )
            if len(self._children) < 10_000:  # bounded: route templates, not raw paths
                self._children[key] = children
        counter, histogram = children
        counter.inc()
        histogram.observe(seconds)

    def update_process(self, *, build: bool = True) -> None:
        """Refresh this process's CPU, memory and descriptor gauges (`build=False`: only if
        the metric objects exist; a scrape refreshes them anyway)."""
        if not build and not self.built:
            return
        from flyer_telemetry._process import sample

        cpu, rss, fds = sample()
        self.cpu.set(cpu)
        if rss is not None:
            self.rss.set(rss)
        if fds is not None:
            self.fds.set(fds)

    def render(self) -> bytes:
        """The Prometheus text exposition of every value (every worker's, in multiprocess mode)."""
        from prometheus_client import CollectorRegistry, generate_latest

        if self.registry is not None:
            return bytes(generate_latest(self.registry))
        from prometheus_client import multiprocess

        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        return bytes(generate_latest(registry))


class LocalRequests:
    """Request counts and durations of one process in plain dicts (cheaper than a metric
    object per request), exposed as `flyer_requests_total` and
    `flyer_request_duration_seconds` when the registry is collected."""

    def __init__(self) -> None:
        self.counts: Dict[Tuple[str, str, int], int] = {}
        # Per (method, route): one count per bucket, +Inf's, then the sum of seconds.
        self.durations: Dict[Tuple[str, str], List[float]] = {}

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        key = (method, route, status)
        self.counts[key] = self.counts.get(key, 0) + 1
        histogram = self.durations.get((method, route))
        if histogram is None:
            if len(self.durations) >= 10_000:  # bounded: route templates, not raw paths
                return
            histogram = self.durations[(method, route)] = [0.0] * (len(BUCKETS) + 2)
        histogram[bisect_left(BUCKETS, seconds)] += 1
        histogram[-1] += seconds

    def collect(self) -> Iterator[Any]:
        from prometheus_client.core import CounterMetricFamily, HistogramMetricFamily

        requests = CounterMetricFamily(
            "flyer_requests", REQUESTS_HELP, labels=["method", "route", "status"]
        )
        for (method, route, status), count in list(self.counts.items()):
            requests.add_metric([method, route, str(status)], count)
        yield requests
        durations = HistogramMetricFamily(
            "flyer_request_duration_seconds", DURATION_HELP, labels=["method", "route"]
        )
        for (method, route), histogram in list(self.durations.items()):
            counts = list(histogram)
            cumulative = 0.0
            buckets = []
            for bound, hits in zip(_BOUNDS, counts[:-1]):
                cumulative += hits
                buckets.append((bound, cumulative))
            durations.add_metric([method, route], buckets, sum_value=counts[-1])
        yield durations


_PROCESS_METRICS: Optional[Tuple[int, Metrics]] = None


def metrics_for_app() -> Metrics:
    """The metrics an app records into: shared by the process in multiprocess mode (its
    values are the process's files), a fresh registry per app otherwise."""
    global _PROCESS_METRICS
    if multiprocess_dir() is None:
        return Metrics.deferred()
    if _PROCESS_METRICS is not None and _PROCESS_METRICS[0] == os.getpid():
        return _PROCESS_METRICS[1]
    from prometheus_client import values

    if values.ValueClass is values.MutexValue:
        # prometheus-client chose its value store when first imported, before the variable
        # was set: this process's values would stay in memory, invisible to the scrapes.
        logger.error(
            "prometheus-client was imported before PROMETHEUS_MULTIPROC_DIR was set: "
            "this process's metrics are not shared with the other workers"
        )
    metrics = Metrics(None)
    _PROCESS_METRICS = (os.getpid(), metrics)
    return metrics


class MetricsMiddleware:
    """Pure ASGI: counts every HTTP request by method, route template and status."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if not self.metrics.multiprocess:
            await self._one_process(scope, receive, send)
            return
        start = perf_counter()
        status = 500
        recorded = False
        metrics = self.metrics

        def record() -> None:
            nonlocal recorded
            recorded = True
            metrics.in_flight.dec()
            method = scope["method"]
            metrics.observe(
                method if method in _METHODS else "OTHER",
                route_template(scope),
                status,
                perf_counter() - start,
            )

        def send_status(message: Message) -> Awaitable[None]:
            nonlocal status
            kind = message["type"]
            if kind == "http.response.start":
                status = message["status"]
            elif kind == "http.response.body" and not message.get("more_body") and not recorded:
                # Counted before the last byte goes out: a worker killed once the client has
                # its answer has already counted it.
                record()
            return send(message)

        metrics.in_flight.inc()
        try:
            await self.app(scope, receive, send_status)
        finally:
            if not recorded:  # no complete answer went out (an error, a disconnect)
                record()

    async def _one_process(self, scope: Scope, receive: Receive, send: Send) -> None:
        """The same counts in one process: nothing else reads them, so they are taken after
        the answer, with less work per request."""
        metrics = self.metrics
        start = perf_counter()
        status = 500

        def send_status(message: Message) -> Awaitable[None]:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            return send(message)

        metrics.in_flight_count += 1
        try:
            await self.app(scope, receive, send_status)
        finally:
            metrics.in_flight_count -= 1
            method = scope["method"]
            metrics.local.observe(
                method if method in _METHODS else "OTHER",
                route_template(scope),
                status,
                perf_counter() - start,
            )
