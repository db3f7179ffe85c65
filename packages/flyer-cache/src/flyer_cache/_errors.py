"""The error a cache store raises when it cannot serve a request."""

from __future__ import annotations

from flyer_status import ThirdPartyUnavailableError


class CacheBackendError(ThirdPartyUnavailableError):
    """The cache store could not be reached or refused the operation (code 603, HTTP 503).

    `RedisBackend` raises it, chained to redis-py's exception; `cached(on_backend_error=
    "raise")` lets it reach the caller, and flyer's app answers it with 503 in the envelope.
    Its message and detail name no host, port or password.
    """
