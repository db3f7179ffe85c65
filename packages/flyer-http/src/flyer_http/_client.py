"""`Client` and `AsyncClient`: httpx clients that retry, log and raise flyer-status errors."""

from __future__ import annotations

import contextlib
import logging
import time
from typing import Any, AsyncIterator, Dict, Iterable, Iterator, Optional, Union

import anyio
import httpx

from flyer_http._call import RETRY_EXTENSION, Call, Options, mark_replayable
from flyer_http._metrics import OnComplete, OnRetry
from flyer_http._policy import RetryPolicy, resolve_policy
from flyer_http._redact import SENSITIVE_HEADERS, SENSITIVE_PARAMS, lower_names

#: What `retry=` accepts per call: a policy, False (one attempt), True (retry even a
#: non-idempotent method with the client's policy) or None (the client's policy).
RetryChoice = Union[RetryPolicy, bool, None]
URL = Union[httpx.URL, str]

_LEVELS = {"debug": logging.DEBUG, "info": logging.INFO, "warning": logging.WARNING}


class _Flyer:
    """The constructor and per-call plumbing both clients share."""

    _flyer: Options

    def __init__(
        self,
        *,
        retry: Union[RetryPolicy, bool, None] = None,
        stop_max_attempt_number: Optional[int] = None,
        stop_max_delay: Optional[float] = None,
        wait_exponential_multiplier: Optional[float] = None,
        wait_exponential_max: Optional[float] = None,
        log_level: Union[int, str] = logging.INFO,
        log_headers: bool = False,
        log_bodies: Union[int, bool] = 0,
        sensitive_headers: Iterable[str] = (),
        sensitive_params: Iterable[str] = (),
        on_retry: Optional[OnRetry] = None,
        on_complete: Optional[OnComplete] = None,
        **kwargs: Any,
    ) -> None:
        policy = resolve_policy(
            retry,
            {
                "stop_max_attempt_number": stop_max_attempt_number,
                "stop_max_delay": stop_max_delay,
                "wait_exponential_multiplier": wait_exponential_multiplier,
                "wait_exponential_max": wait_exponential_max,
            },
        )
        self._flyer = Options(
            retry=policy,
            log_level=_level(log_level),
            log_headers=bool(log_headers),
            log_bodies=_body_limit(log_bodies),
            sensitive_headers=SENSITIVE_HEADERS
            | lower_names(sensitive_headers, "sensitive_headers"),
            sensitive_params=SENSITIVE_PARAMS | lower_names(sensitive_params, "sensitive_params"),
            on_retry=_callable_or_none(on_retry, "on_retry"),
            on_complete=_callable_or_none(on_complete, "on_complete"),
        )
        super().__init__(**kwargs)

    @property
    def retry(self) -> Optional[RetryPolicy]:
        """The client's retry policy (None: retrying is off unless a call asks for it)."""
        return self._flyer.retry


def _with_retry(kwargs: Dict[str, Any], retry: RetryChoice) -> Dict[str, Any]:
    """`kwargs` with the per-call retry choice put into the request's extensions."""
    if retry is None:
        return kwargs
    if not isinstance(retry, (RetryPolicy, bool)):
        raise ValueError(f"retry={retry!r}: expected a RetryPolicy, True, False or None")
    extensions = kwargs.get("extensions")
    kwargs["extensions"] = (
        {**extensions, RETRY_EXTENSION: retry} if extensions else {RETRY_EXTENSION: retry}
    )
    return kwargs


def _level(level: Union[int, str]) -> int:
    if isinstance(level, str) and level.lower() in _LEVELS:
        return _LEVELS[level.lower()]
    if isinstance(level, int) and not isinstance(level, bool) and level in _LEVELS.values():
        return level
    raise ValueError(f"log_level={level!r}: expected 'debug', 'info' or 'warning'")


def _body_limit(limit: Union[int, bool]) -> int:
    if limit is True:
        return 1024
    if isinstance(limit, int) and limit >= 0:
        return int(limit)
    raise ValueError(f"log_bodies={limit!r}: expected a byte count >= 0 or True (1024)")


def _callable_or_none(hook: Any, name: str) -> Any:
    if hook is not None and not callable(hook):
        raise ValueError(f"{name}={hook!r}: expected a callable or None")
    return hook


class Client(_Flyer, httpx.Client):
    """An `httpx.Client` that retries, logs each call and raises flyer-status 60x errors.

    Every `httpx.Client` argument works, plus: `retry` (a `RetryPolicy`, or False), the
    ancestor's `stop_max_attempt_number`, `stop_max_delay`, `wait_exponential_multiplier`,
    `wait_exponential_max`, `log_level` ("info" or "debug" for finished calls),
    `log_headers`, `log_bodies` (bytes per body, 0 = never), `sensitive_headers` and
    `sensitive_params` (masked in logs besides the built-in ones), and the metrics hooks
    `on_retry` and `on_complete`. Every request method takes `retry=` for one call.
    """

    def build_request(self, method: str, url: URL, **kwargs: Any) -> httpx.Request:
        return mark_replayable(super().build_request(method, url, **kwargs), kwargs)

    def send(self, request: httpx.Request, **kwargs: Any) -> httpx.Response:
        call = Call(self._flyer, request)
        send = super().send
        while True:
            try:
                response = send(request, **kwargs)
            except Exception as exc:
                wait = call.after_error(exc)
                if wait is None:
                    error = call.error_for(exc)
                    if error is exc:
                        raise
                    raise error from exc
            else:
                wait = call.after_response(response)
                if wait is None:
                    return response
                response.close()
            time.sleep(call.next_attempt(wait))

    def request(
        self, method: str, url: URL, *, retry: RetryChoice = None, **kwargs: Any
    ) -> httpx.Response:
        return super().request(method, url, **_with_retry(kwargs, retry))

    @contextlib.contextmanager
    def stream(
        self, method: str, url: URL, *, retry: RetryChoice = None, **kwargs: Any
    ) -> Iterator[httpx.Response]:
        with super().stream(method, url, **_with_retry(kwargs, retry)) as response:
            yield response

    def get(self, url: URL, *, retry: RetryChoice = None, **kwargs: Any) -> httpx.Response:
        return self.request("GET", url, retry=retry, **kwargs)

    def options(self, url: URL, *, retry: RetryChoice = None, **kwargs: Any) -> httpx.Response:
        return self.request("OPTIONS", url, retry=retry, **kwargs)

    def head(self, url: URL, *, retry: RetryChoice = None, **kwargs: Any) -> httpx.Response:
        return self.request("HEAD", url, retry=retry, **kwargs)

    def post(self, url: URL, *, retry: RetryChoice = None, **kwargs: Any) -> httpx.Response:
        return self.request("POST", url, retry=retry, **kwargs)

    def put(self, url: URL, *, retry: RetryChoice = None, **kwargs: Any) -> httpx.Response:
        return self.request("PUT", url, retry=retry, **kwargs)

    def patch(self, url: URL, *, retry: RetryChoice = None, **kwargs: Any) -> httpx.Response:
        return self.request("PATCH", url, retry=retry, **kwargs)

    def delete(self, url: URL, *, retry: RetryChoice = None, **kwargs: Any) -> httpx.Response:
        return self.request("DELETE", url, retry=retry, **kwargs)


class AsyncClient(_Flyer, httpx.AsyncClient):
    """An `httpx.AsyncClient` that retries, logs each call and raises flyer-status 60x errors.

    Takes the same arguments as `Client`; waits between attempts with `anyio.sleep`, so it
    runs under asyncio and trio alike.
    """

    def build_request(self, method: str, url: URL, **kwargs: Any) -> httpx.Request:
        return mark_replayable(super().build_request(method, url, **kwargs), kwargs)

    async def send(self, request: httpx.Request, **kwargs: Any) -> httpx.Response:
        call = Call(self._flyer, request)
        send = super().send
        while True:
            try:
                response = await send(request, **kwargs)
            except Exception as exc:
                wait = call.after_error(exc)
                if wait is None:
                    error = call.error_for(exc)
                    if error is exc:
                        raise
                    raise error from exc
            else:
                wait = call.after_response(response)
                if wait is None:
                    return response
                await response.aclose()
            await anyio.sleep(call.next_attempt(wait))

    async def request(
        self, method: str, url: URL, *, retry: RetryChoice = None, **kwargs: Any
    ) -> httpx.Response:
        return await super().request(method, url, **_with_retry(kwargs, retry))

    @contextlib.asynccontextmanager
    async def stream(
        self, method: str, url: URL, *, retry: RetryChoice = None, **kwargs: Any
    ) -> AsyncIterator[httpx.Response]:
        async with super().stream(method, url, **_with_retry(kwargs, retry)) as response:
            yield response

    async def get(self, url: URL, *, retry: RetryChoice = None, **kwargs: Any) -> httpx.Response:
        return await self.request("GET", url, retry=retry, **kwargs)

    async def options(
        self, url: URL, *, retry: RetryChoice = None, **kwargs: Any
    ) -> httpx.Response:
        return await self.request("OPTIONS", url, retry=retry, **kwargs)

    async def head(self, url: URL, *, retry: RetryChoice = None, **kwargs: Any) -> httpx.Response:
        return await self.request("HEAD", url, retry=retry, **kwargs)

    async def post(self, url: URL, *, retry: RetryChoice = None, **kwargs: Any) -> httpx.Response:
        return await self.request("POST", url, retry=retry, **kwargs)

    async def put(self, url: URL, *, retry: RetryChoice = None, **kwargs: Any) -> httpx.Response:
        return await self.request("PUT", url, retry=retry, **kwargs)

    async def patch(self, url: URL, *, retry: RetryChoice = None, **kwargs: Any) -> httpx.Response:
        return await self.request("PATCH", url, retry=retry, **kwargs)

    async def delete(self, url: URL, *, retry: RetryChoice = None, **kwargs: Any) -> httpx.Response:
        return await self.request("DELETE", url, retry=retry, **kwargs)
