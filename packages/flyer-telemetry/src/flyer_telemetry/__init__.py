"""Telemetry for flyer apps: Prometheus metrics that add up under many workers, OpenTelemetry
traces across services, and the trace on every log line.

Installing flyer-telemetry is all it takes for metrics: flyer's app finds `TelemetryPlugin`
through the `flyer.plugins` entry point, counts every request and serves
`{flyer_base_url}/metrics`. `flyer_tracing_enabled=1` adds traces, exported as the standard
`OTEL_*` variables say.
"""

from flyer_telemetry.__about__ import __version__
from flyer_telemetry._hooks import http_metrics_hooks
from flyer_telemetry._plugin import TelemetryPlugin
from flyer_telemetry._settings import TelemetrySettings, settings_fields

__all__ = [
    "TelemetryPlugin",
    "TelemetrySettings",
    "__version__",
    "http_metrics_hooks",
    "settings_fields",
]
