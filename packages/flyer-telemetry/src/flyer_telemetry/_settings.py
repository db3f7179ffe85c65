"""flyer-telemetry's settings, read from `flyer_metrics_*` and `flyer_tracing_*` variables."""

from __future__ import annotations

import dataclasses
import os
import re
from typing import Any, Dict, List, Mapping, Optional, Tuple

_FIELDS: Tuple[Tuple[str, str, str], ...] = (
    # (variable, default as text, help)
    (
        "flyer_metrics_enabled",
        "1",
        "serve Prometheus metrics at {flyer_base_url}{flyer_metrics_path}",
    ),
    ("flyer_metrics_path", "/metrics", "path of the metrics endpoint under flyer_base_url"),
    (
        "flyer_tracing_enabled",
        "0",
        "OpenTelemetry traces, exported as the standard OTEL_* variables say",
    ),
)
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}
_PATH = re.compile(r"^/[A-Za-z0-9._~/-]*$")


@dataclasses.dataclass(frozen=True)
class TelemetrySettings:
    """What `TelemetrySettings.from_env()` reads; unset variables keep these defaults."""

    metrics_enabled: bool = True
    metrics_path: str = "/metrics"
    tracing_enabled: bool = False

    @classmethod
    def from_env(cls, environ: Optional[Mapping[str, str]] = None) -> TelemetrySettings:
        """Settings from the variables (case-insensitive), the process environment by default.

        Raises `ValueError` with one line naming the variable, its value and what is allowed.
        """
        source = os.environ if environ is None else environ
        values = {key.lower(): value for key, value in source.items()}
        found: Dict[str, Any] = {}
        if "flyer_metrics_enabled" in values:
            found["metrics_enabled"] = _boolean("flyer_metrics_enabled", values)
        if "flyer_tracing_enabled" in values:
            found["tracing_enabled"] = _boolean("flyer_tracing_enabled", values)
        if "flyer_metrics_path" in values:
            raw = values["flyer_metrics_path"]
            path = raw.strip().rstrip("/")
            if not path or not _PATH.match(path) or "//" in path:
                raise ValueError(
                    f"flyer_metrics_path={raw!r}: expected a path starting with '/' "
                    "(letters, digits, '.', '_', '~', '-' and '/')"
                )
            found["metrics_path"] = path
        return cls(**found)


def settings_fields() -> List[Dict[str, Any]]:
    """The variables `TelemetrySettings.from_env` reads, as `flyer config` lists them."""
    return [
        {"name": name, "default": default, "secret": False, "help": text}
        for name, default, text in _FIELDS
    ]


def _boolean(variable: str, values: Mapping[str, str]) -> bool:
    raw = values[variable]
    text = raw.strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise ValueError(f"{variable}={raw!r}: expected a boolean (1/0, true/false, yes/no, on/off)")
