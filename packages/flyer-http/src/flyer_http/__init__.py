"""Retrying sync and async HTTP clients on httpx.

`Client` and `AsyncClient` are real httpx clients: every httpx argument and method works.
They add a retry policy (`RetryPolicy`, or the ancestor's `stop_max_attempt_number`...),
one structured log line per failed attempt and per call on the `flyer.http` logger, the
inbound request id forwarded as `X-Request-ID`, and flyer-status 60x errors that remain
catchable as the httpx exceptions they came from.

`requests` / `client` and `aiorequests` / `aioclient` are ready-made clients (the ancestor's
names), built from the `flyer_http_*` settings on first use.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any, List

from flyer_http.__about__ import __version__

if TYPE_CHECKING:
    from flyer_http._client import AsyncClient, Client, RetryChoice
    from flyer_http._defaults import release as release_default_clients
    from flyer_http._errors import raise_for_status
    from flyer_http._hooks import add_call_hooks
    from flyer_http._metrics import CallOutcome, RetryEvent
    from flyer_http._plugin import HttpPlugin
    from flyer_http._policy import (
        IDEMPOTENT_METHODS,
        RETRY_EXCEPTIONS,
        RETRY_STATUSES,
        RetryPolicy,
    )
    from flyer_http._redact import SENSITIVE_HEADERS, SENSITIVE_PARAMS
    from flyer_http._settings import HttpSettings

# Every public name is imported when first read (PEP 562): building an app imports no httpx
# (the modules of `Client` & co. import it; the app's client is the first to need them), and
# the `flyer.plugins` entry point loads `flyer_http._plugin` and what that needs.
_LAZY = {
    "add_call_hooks": ("flyer_http._hooks", "add_call_hooks"),
    "CallOutcome": ("flyer_http._metrics", "CallOutcome"),
    "RetryEvent": ("flyer_http._metrics", "RetryEvent"),
    "HttpPlugin": ("flyer_http._plugin", "HttpPlugin"),
    "SENSITIVE_HEADERS": ("flyer_http._redact", "SENSITIVE_HEADERS"),
    "SENSITIVE_PARAMS": ("flyer_http._redact", "SENSITIVE_PARAMS"),
    "HttpSettings": ("flyer_http._settings", "HttpSettings"),
    "ASYNC_NAMES": ("flyer_http._settings", "ASYNC_NAMES"),
    "SYNC_NAMES": ("flyer_http._settings", "SYNC_NAMES"),
    "AsyncClient": ("flyer_http._client", "AsyncClient"),
    "Client": ("flyer_http._client", "Client"),
    "RetryChoice": ("flyer_http._client", "RetryChoice"),
    "release_default_clients": ("flyer_http._defaults", "release"),
    "raise_for_status": ("flyer_http._errors", "raise_for_status"),
    "IDEMPOTENT_METHODS": ("flyer_http._policy", "IDEMPOTENT_METHODS"),
    "RETRY_EXCEPTIONS": ("flyer_http._policy", "RETRY_EXCEPTIONS"),
    "RETRY_STATUSES": ("flyer_http._policy", "RETRY_STATUSES"),
    "RetryPolicy": ("flyer_http._policy", "RetryPolicy"),
}

__all__ = [
    "IDEMPOTENT_METHODS",
    "RETRY_EXCEPTIONS",
    "RETRY_STATUSES",
    "SENSITIVE_HEADERS",
    "SENSITIVE_PARAMS",
    "AsyncClient",
    "CallOutcome",
    "Client",
    "HttpPlugin",
    "HttpSettings",
    "RetryChoice",
    "RetryEvent",
    "RetryPolicy",
    "__version__",
    "add_call_hooks",
    "aioclient",
    "aiorequests",
    "client",
    "raise_for_status",
    "release_default_clients",
    "requests",
]

if TYPE_CHECKING:
    requests: Client
    client: Client
    aiorequests: AsyncClient
    aioclient: AsyncClient


def __getattr__(name: str) -> Any:
    """The ready-made clients, made on first use (importing flyer_http makes none), and the
    names of `_LAZY`, imported on first use."""
    from flyer_http._settings import ASYNC_NAMES, SYNC_NAMES

    if name in SYNC_NAMES or name in ASYNC_NAMES:
        from flyer_http._defaults import default_client

        return default_client(name)
    lazy = _LAZY.get(name)
    if lazy is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    module, attribute = lazy
    value = getattr(importlib.import_module(module), attribute)
    globals()[name] = value
    return value


def __dir__() -> List[str]:
    return sorted(set(globals()) | set(__all__))
