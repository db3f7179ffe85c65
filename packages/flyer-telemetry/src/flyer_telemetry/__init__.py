"""Telemetry for flyer apps: Prometheus metrics that add up under many workers, OpenTelemetry
traces across services, and the trace on every log line.

Installing flyer-telemetry is all it takes for metrics: flyer's app finds `TelemetryPlugin`
through the `flyer.plugins` entry point, counts every request and serves
`{flyer_base_url}/metrics`. `flyer_tracing_enabled=1` adds traces, exported as the standard
`OTEL_*` variables say.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from flyer_status import lazy
from flyer_telemetry.__about__ import __version__

if TYPE_CHECKING:
    from flyer_telemetry._hooks import http_metrics_hooks
    from flyer_telemetry._plugin import TelemetryPlugin
    from flyer_telemetry._settings import TelemetrySettings, settings_fields

# Every public name is imported when first read (PEP 562): the `flyer.plugins` entry point
# loads `flyer_telemetry._plugin` and what that needs, not every module of the package.
_LAZY = {
    "http_metrics_hooks": "flyer_telemetry._hooks",
    "TelemetryPlugin": "flyer_telemetry._plugin",
    "TelemetrySettings": "flyer_telemetry._settings",
    "settings_fields": "flyer_telemetry._settings",
}

__all__ = [
    "TelemetryPlugin",
    "TelemetrySettings",
    "__version__",
    "http_metrics_hooks",
    "settings_fields",
]


__getattr__, __dir__ = lazy.exports(__name__, _LAZY)
