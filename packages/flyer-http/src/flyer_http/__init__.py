"""Retrying sync and async HTTP clients on httpx.

`Client` and `AsyncClient` are real httpx clients: every httpx argument and method works.
They add a retry policy (`RetryPolicy`, or the ancestor's `stop_max_attempt_number`...),
one structured log line per failed attempt and per call on the `flyer.http` logger, the
inbound request id forwarded as `X-Request-ID`, and flyer-status 60x errors that remain
catchable as the httpx exceptions they came from.

`requests` / `client` and `aiorequests` / `aioclient` are ready-made clients (the ancestor's
names), built from the `flyer_http_*` settings on first use.
"""

from typing import TYPE_CHECKING, Any

from flyer_http.__about__ import __version__
from flyer_http._call import add_call_hooks
from flyer_http._client import AsyncClient, Client, RetryChoice
from flyer_http._defaults import ASYNC_NAMES, SYNC_NAMES, default_client
from flyer_http._defaults import release as release_default_clients
from flyer_http._errors import raise_for_status
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
    """The ready-made clients, made on first use (importing flyer_http makes none)."""
    if name in SYNC_NAMES or name in ASYNC_NAMES:
        return default_client(name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
