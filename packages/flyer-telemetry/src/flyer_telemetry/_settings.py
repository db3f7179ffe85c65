"""flyer-telemetry's settings, read from `flyer_metrics_*` and `flyer_tracing_*` variables."""

from __future__ import annotations

import dataclasses
import re
from typing import Any, Dict, List, Mapping, Optional, Tuple

from flyer_status import settings

_HELP: Tuple[Tuple[str, str, str], ...] = (
    # (variable, field, help); defaults come from TelemetrySettings
    (
        "flyer_metrics_enabled",
        "metrics_enabled",
        "serve Prometheus metrics at {flyer_base_url}{flyer_metrics_path}",
    ),
    ("flyer_metrics_path", "metrics_path", "path of the metrics endpoint under flyer_base_url"),
    (
        "flyer_tracing_enabled",
        "tracing_enabled",
        "OpenTelemetry traces, exported as the standard OTEL_* variables say",
    ),
)
_PATH = re.compile(r"^/[A-Za-z0-9._~/-]*$")


@dataclasses.dataclass(frozen=True)
class TelemetrySettings:
    """What `TelemetrySettings.from_env()` reads; unset variables keep these defaults."""

    metrics_enabled: bool = True
    metrics_path: str = "/metrics"
    tracing_enabled: bool = False

    @classmethod
    def from_env(cls, environ: Optional[Mapping[str, str]] = None) -> TelemetrySettings:
        """Settings from the variables (case-insensitive); `environ` None reads the process
        environment over `./.env`, as an app would.

        Raises `ValueError` with one line naming the variable, its value and what is allowed.
        """
        env = settings.environment(environ)
        return cls(
            metrics_enabled=env.boolean("flyer_metrics_enabled", cls.metrics_enabled),
            metrics_path=_path(env.raw("flyer_metrics_path"), cls.metrics_path),
            tracing_enabled=env.boolean("flyer_tracing_enabled", cls.tracing_enabled),
        )


def settings_fields() -> List[Dict[str, Any]]:
    """The variables `TelemetrySettings.from_env` reads, as `flyer config` lists them."""
    defaults = TelemetrySettings()
    return [
        {
            "name": name,
            "default": settings.default_text(getattr(defaults, field)),
            "secret": False,
            "help": text,
        }
        for name, field, text in _HELP
    ]


def _path(raw: Optional[str], default: str) -> str:
    if raw is None:
        return default
    path = raw.strip().rstrip("/")
    if not path or not _PATH.match(path) or "//" in path:
        raise settings.SettingsError(
            f"flyer_metrics_path={raw!r}: expected a path starting with '/' "
            "(letters, digits, '.', '_', '~', '-' and '/')"
        )
    return path
