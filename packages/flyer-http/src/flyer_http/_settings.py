"""flyer-http's settings, read from `flyer_http_*` variables (the environment and `.env` by default)."""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any, Dict, List, Mapping, Optional, Tuple

import flyer_status
from flyer_status import settings

if TYPE_CHECKING:
    from flyer_http._policy import RetryPolicy

#: The ready-made clients' names (the ancestor's): a `Client` and an `AsyncClient` each,
#: built from these settings on first use.
SYNC_NAMES = ("requests", "client")
ASYNC_NAMES = ("aiorequests", "aioclient")

_HELP: Tuple[Tuple[str, str], ...] = (
    # (field, help); defaults come from HttpSettings
    ("timeout", "seconds an outgoing request may take per network step (httpx timeout)"),
    ("retry_attempts", "attempts per call, the first included (1: never retry)"),
    ("retry_max_delay", "seconds after a call started past which no retry begins"),
    ("retry_multiplier", "backoff: the wait before attempt n+1 is multiplier * 2**(n-1) s"),
    ("retry_max_wait", "longest single wait between attempts, in seconds"),
    ("log_level", "level of the one log line per finished call: debug or info"),
    ("sensitive_headers", "comma-separated headers masked in logs (besides Authorization...)"),
    ("sensitive_params", "comma-separated query parameters masked in logged URLs"),
)


@dataclasses.dataclass(frozen=True)
class HttpSettings:
    """Defaults for flyer-http clients; `HttpSettings.from_env()` reads `flyer_http_*`."""

    timeout: float = 5.0
    retry_attempts: int = 3
    retry_max_delay: float = 60.0
    retry_multiplier: float = 2.0
    retry_max_wait: float = 10.0
    log_level: str = "info"
    sensitive_headers: Tuple[str, ...] = ()
    sensitive_params: Tuple[str, ...] = ()

    @classmethod
    def from_env(cls, environ: Optional[Mapping[str, str]] = None) -> HttpSettings:
        """Settings from `flyer_http_*` variables (case-insensitive); unset ones keep defaults.

        `environ` None reads the process environment over `./.env`, as an app would. A bad
        value raises `flyer_status.SettingsError` (a `ValueError`), one line.
        """
        env = settings.environment(environ)
        return cls(
            timeout=env.seconds("flyer_http_timeout", cls.timeout),
            retry_attempts=env.integer("flyer_http_retry_attempts", cls.retry_attempts, 1),
            retry_max_delay=env.number("flyer_http_retry_max_delay", cls.retry_max_delay),
            retry_multiplier=env.number("flyer_http_retry_multiplier", cls.retry_multiplier),
            retry_max_wait=env.number("flyer_http_retry_max_wait", cls.retry_max_wait),
            log_level=env.choice("flyer_http_log_level", cls.log_level, ("debug", "info")),
            sensitive_headers=env.names("flyer_http_sensitive_headers"),
            sensitive_params=env.names("flyer_http_sensitive_params"),
        )

    def retry_policy(self) -> RetryPolicy:
        """The retry policy these settings describe."""
        from flyer_http._policy import RetryPolicy

        return RetryPolicy(**self._retry_fields())

    def check(self) -> None:
        """Raise the `ValueError` `retry_policy()` would, without importing httpx."""
        flyer_status.RetryPolicy(**self._retry_fields())

    def _retry_fields(self) -> Dict[str, Any]:
        return {
            "attempts": self.retry_attempts,
            "max_delay": self.retry_max_delay,
            "multiplier": self.retry_multiplier,
            "max_wait": self.retry_max_wait,
        }

    def client_kwargs(self) -> Dict[str, Any]:
        """Keyword arguments for `Client(...)` / `AsyncClient(...)`; add your own beside them."""
        return {
            "timeout": self.timeout,
            "retry": self.retry_policy(),
            "log_level": self.log_level,
            "sensitive_headers": self.sensitive_headers,
            "sensitive_params": self.sensitive_params,
        }


def settings_fields() -> List[Dict[str, Any]]:
    """The variables `HttpSettings.from_env` reads, as `flyer config` lists them."""
    defaults = HttpSettings()
    return [
        {
            "name": f"flyer_http_{field}",
            "default": settings.default_text(getattr(defaults, field)),
            "secret": False,
            "help": text,
        }
        for field, text in _HELP
    ]
