"""One call through a client: its attempts, the waits between them, its log lines and hooks.

The sync and async clients drive the same `Call`; they differ only in how they send and
sleep. A call that succeeds on its first attempt touches none of the retry machinery.
"""

from __future__ import annotations

import logging
from time import perf_counter
from typing import AbstractSet, Any, Callable, Dict, Mapping, Optional, Tuple

import httpx

from flyer_http import _hooks
from flyer_http._clock import waits_enabled
from flyer_http._errors import RETRIES_EXHAUSTED, as_flyer_error
from flyer_http._metrics import CallOutcome, OnComplete, OnRetry, RetryEvent, outcome_of
from flyer_http._policy import RetryPolicy, retry_after_seconds
from flyer_http._redact import redact_headers, redact_url
from flyer_status import get_request_id

logger = logging.getLogger("flyer.http")

#: Request extension carrying a per-call `retry=` choice from `Client.request()` to `send()`.
RETRY_EXTENSION = "flyer_http.retry"
#: Response extension: how many attempts the call made.
ATTEMPTS_EXTENSION = "flyer_http.attempts"
#: Request extension: whether the body can be sent again, decided from what built it.
REPLAYABLE_EXTENSION = "flyer_http.replayable"


def mark_replayable(request: httpx.Request, kwargs: Mapping[str, Any]) -> httpx.Request:
    """Record on `request` whether the body its `build_request` arguments gave can be resent.

    Bytes, text, JSON, forms and multipart files that can seek back to their start can;
    an iterator or generator body, or a file that cannot seek, is sent once.
    """
    request.extensions[REPLAYABLE_EXTENSION] = _replayable(
        kwargs.get("content"), kwargs.get("data"), kwargs.get("files")
    )
    return request


def _replayable(content: Any, data: Any, files: Any) -> bool:
    if content is not None and not isinstance(content, (bytes, str)):
        return False
    if data is not None and not isinstance(data, (Mapping, bytes, str)):
        return False
    entries = files.values() if isinstance(files, Mapping) else (v for _, v in files or ())
    for entry in entries:
        body = entry[1] if isinstance(entry, tuple) else entry
        if body is None or isinstance(body, (bytes, str)):
            continue
        seekable = getattr(body, "seekable", None)
        if not (callable(seekable) and seekable()):
            return False
    return True


class Options:
    """A client's flyer settings, fixed at construction."""

    __slots__ = (
        "log_bodies",
        "log_headers",
        "log_level",
        "on_complete",
        "on_retry",
        "retry",
        "sensitive_headers",
        "sensitive_params",
    )

    def __init__(
        self,
        *,
        retry: Optional[RetryPolicy],
        log_level: int,
        log_headers: bool,
        log_bodies: int,
        sensitive_headers: AbstractSet[str],
        sensitive_params: AbstractSet[str],
        on_retry: Optional[OnRetry],
        on_complete: Optional[OnComplete],
    ) -> None:
        self.retry = retry
        self.log_level = log_level
        self.log_headers = log_headers
        self.log_bodies = log_bodies
        self.sensitive_headers = sensitive_headers
        self.sensitive_params = sensitive_params
        self.on_retry = on_retry
        self.on_complete = on_complete

    def policy_for(self, request: httpx.Request) -> Optional[RetryPolicy]:
        """The policy that applies to `request`, or None when it gets one attempt only."""
        choice = request.extensions.get(RETRY_EXTENSION)
        if choice is False:
            return None
        policy = choice if isinstance(choice, RetryPolicy) else self.retry
        if policy is None:
            if choice is not True:
                return None
            policy = _DEFAULT_POLICY
        replayable = request.extensions.get(REPLAYABLE_EXTENSION)
        if replayable is None:  # built without build_request: only plain bytes are known safe
            replayable = isinstance(request.stream, httpx.ByteStream)
        if policy.attempts == 1 or not replayable:
            return None
        if choice is True or request.method in policy.methods:
            return policy
        header = policy.idempotency_header
        return policy if header is not None and header in request.headers else None


_DEFAULT_POLICY = RetryPolicy()


class Call:
    """The state of one call: attempt number, timing, and what to do after each outcome."""

    __slots__ = (
        "_url",
        "attempt",
        "attempt_started",
        "options",
        "policy",
        "request",
        "skipped",
        "started",
    )

    def __init__(self, options: Options, request: httpx.Request) -> None:
        request_id = get_request_id()
        if request_id and "x-request-id" not in request.headers:
            request.headers["X-Request-ID"] = request_id
        self.options = options
        self.request = request
        self.policy = options.policy_for(request)
        self.attempt = 1
        self.started = self.attempt_started = perf_counter()
        self.skipped = 0.0  # backoff seconds skipped under testing.no_wait(): still count
        self._url: Optional[str] = None

    # -- decisions ---------------------------------------------------------------------------

    def after_response(self, response: httpx.Response) -> Optional[float]:
        """Seconds to wait before retrying this response's status, or None to return it."""
        policy = self.policy
        exhausted = False
        if policy is not None and response.status_code in policy.statuses:
            retry_after = (
                retry_after_seconds(response.headers.get("retry-after"))
                if policy.respect_retry_after
                else None
            )
            wait = self._next_wait(policy, retry_after)
            if wait is not None:
                self._retrying(wait, response.status_code, None)
                return wait
            exhausted = self.attempt > 1
            if exhausted:
                response.extensions[RETRIES_EXHAUSTED] = True
        response.extensions[ATTEMPTS_EXTENSION] = self.attempt
        self._finish(response, None, exhausted)
        return None

    def after_error(self, exc: BaseException) -> Optional[float]:
        """Seconds to wait before retrying after `exc`, or None to raise it."""
        policy = self.policy
        exhausted = False
        if policy is not None and isinstance(exc, policy.exceptions):
            wait = self._next_wait(policy, None)
            if wait is not None:
                self._retrying(wait, None, exc)
                return wait
            exhausted = self.attempt > 1
        self._finish(None, exc, exhausted)
        return None

    def error_for(self, exc: BaseException) -> BaseException:
        """What the caller gets for `exc`, the final outcome: httpx errors as 60x errors."""
        policy = self.policy
        exhausted = policy is not None and self.attempt > 1 and isinstance(exc, policy.exceptions)
        return as_flyer_error(
            exc,
            method=self.request.method,
            url=self.plain_url,
            attempts=self.attempt,
            exhausted=exhausted,
        )

    def next_attempt(self, wait: float) -> float:
        """Move to the next attempt; returns the seconds to actually sleep first."""
        if not waits_enabled():
            self.skipped += wait
            wait = 0.0
        self.attempt += 1
        self.attempt_started = perf_counter() + wait
        return wait

    def _next_wait(self, policy: RetryPolicy, retry_after: Optional[float]) -> Optional[float]:
        if self.attempt >= policy.attempts:
            return None
        wait = policy.wait(self.attempt) if retry_after is None else retry_after
        elapsed = perf_counter() - self.started + self.skipped
        return wait if elapsed + wait <= policy.max_delay else None

    # -- reporting ---------------------------------------------------------------------------

    @property
    def url(self) -> str:
        """The request URL as it may be logged."""
        if self._url is None:
            self._url = redact_url(self.request.url, self.options.sensitive_params)
        return self._url

    @property
    def plain_url(self) -> str:
        """The request URL without credentials or query, as error messages show it."""
        return redact_url(self.request.url, frozenset(), query=False)

    def _fields(self, now: float) -> Dict[str, Any]:
        request = self.request
        return {
            "method": request.method,
            "url": self.url,
            "request_id": request.headers.get("x-request-id"),
            "elapsed_ms": round((now - self.started) * 1000, 1),
            "attempt": self.attempt,
        }

    def _retrying(self, wait: float, status: Optional[int], error: Optional[BaseException]) -> None:
        options = self.options
        hooks = _hooks.retry_hooks
        if not logger.isEnabledFor(logging.WARNING) and options.on_retry is None and not hooks:
            return
        now = perf_counter()
        fields = self._fields(now)
        fields["elapsed_ms"] = round((now - self.attempt_started) * 1000, 1)
        fields["status"] = status
        fields["error"] = _describe(error)
        fields["retry_in_ms"] = round(wait * 1000, 1)
        if logger.isEnabledFor(logging.WARNING):
            logger.warning(
                "%s %s attempt %d failed: %s; retrying in %.2f s",
                fields["method"],
                fields["url"],
                self.attempt,
                status if error is None else fields["error"],
                wait,
                extra=fields,
            )
        if options.on_retry is not None or hooks:
            event = RetryEvent(
                method=fields["method"],
                url=fields["url"],
                host=self.request.url.host,
                attempt=self.attempt,
                status=status,
                error=_class_name(error),
                wait=wait,
                elapsed_ms=round((now - self.started) * 1000, 1),
            )
            _run_hooks(options.on_retry, hooks, event)

    def _finish(
        self,
        response: Optional[httpx.Response],
        error: Optional[BaseException],
        exhausted: bool,
    ) -> None:
        options = self.options
        level = options.log_level if error is None and not exhausted else logging.WARNING
        log = logger.isEnabledFor(level)
        hooks = _hooks.complete_hooks
        if not log and options.on_complete is None and not hooks:
            return
        fields = self._fields(perf_counter())
        status = None if response is None else response.status_code
        if log:
            fields["status"] = status
            fields["error"] = _describe(error)
            fields["outcome"] = outcome_of(status)
            if options.log_headers:
                sensitive = options.sensitive_headers
                fields["request_headers"] = redact_headers(self.request.headers, sensitive)
                if response is not None:
                    fields["response_headers"] = redact_headers(response.headers, sensitive)
            if options.log_bodies:
                fields["request_body"] = _body(self.request, options.log_bodies)
                if response is not None:
                    fields["response_body"] = _body(response, options.log_bodies)
            tries = f" after {self.attempt} attempts" if self.attempt > 1 else ""
            if response is not None:
                logger.log(
                    level,
                    "%s %s %d in %.1f ms%s",
                    fields["method"],
                    fields["url"],
                    status,
                    fields["elapsed_ms"],
                    tries,
                    extra=fields,
                )
            else:
                logger.log(
                    level,
                    "%s %s failed: %s in %.1f ms%s",
                    fields["method"],
                    fields["url"],
                    fields["error"],
                    fields["elapsed_ms"],
                    tries,
                    extra=fields,
                )
        if options.on_complete is not None or hooks:
            outcome = CallOutcome(
                method=fields["method"],
                url=fields["url"],
                host=self.request.url.host,
                attempts=self.attempt,
                status=status,
                error=_class_name(error),
                exhausted=exhausted,
                elapsed_ms=fields["elapsed_ms"],
            )
            _run_hooks(options.on_complete, hooks, outcome)


def _describe(error: Optional[BaseException]) -> Optional[str]:
    if error is None:
        return None
    text = str(error)
    return f"{type(error).__name__}: {text}" if text else type(error).__name__


def _body(message: Any, limit: int) -> Optional[str]:
    """Up to `limit` bytes of a request or response body already in memory, as text."""
    try:
        content: bytes = message.content
    except (httpx.RequestNotRead, httpx.ResponseNotRead):
        return None
    text = content[:limit].decode("utf-8", errors="replace")
    return f"{text}... ({len(content)} bytes)" if len(content) > limit else text


def _class_name(error: Optional[BaseException]) -> Optional[str]:
    return None if error is None else type(error).__name__


def _run_hooks(own: Optional[Callable[[Any], None]], hooks: Tuple[Any, ...], event: Any) -> None:
    """The client's own hook, then the process-wide ones; a hook that raises is logged."""
    for hook in hooks if own is None else (own, *hooks):
        try:
            hook(event)
        except Exception:
            logger.warning("flyer-http metrics hook %r failed", hook, exc_info=True)
