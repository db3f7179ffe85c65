"""The retry policy: which calls are retried, how often, and how long to wait between tries."""

from __future__ import annotations

import datetime
import email.utils
from typing import Any, Collection, Dict, FrozenSet, Optional, Tuple, Type, Union

import httpx

import flyer_status

#: Methods RFC 9110 defines as idempotent: repeating them cannot apply a change twice.
IDEMPOTENT_METHODS: FrozenSet[str] = frozenset({"GET", "HEAD", "OPTIONS", "TRACE", "PUT", "DELETE"})
#: Statuses that say "try again later": too many requests and the gateway family.
RETRY_STATUSES: FrozenSet[int] = frozenset({429, 502, 503, 504})
#: Failures where the request may not have reached the server, or its answer was lost:
#: connect errors, connect/read/write/pool timeouts, broken connections, protocol errors.
RETRY_EXCEPTIONS: Tuple[Type[Exception], ...] = (
    httpx.TimeoutException,
    httpx.NetworkError,
    httpx.RemoteProtocolError,
)

#: The ancestor's keyword arguments, accepted by `Client` and by `RetryPolicy`.
ANCESTOR_NAMES = (
    "stop_max_attempt_number",
    "stop_max_delay",
    "wait_exponential_multiplier",
    "wait_exponential_max",
)


class RetryPolicy(flyer_status.RetryPolicy):
    """How a client retries: give it to `Client(retry=...)` or to one call (`retry=...`).

    The tries and waits are `flyer_status.RetryPolicy`'s, shared with flyer-db:

    - `attempts`: tries in all, the first included (ancestor: `stop_max_attempt_number`).
    - `max_delay`: seconds after the call started past which no new try begins
      (ancestor: `stop_max_delay`); a call lasts at most this plus one request timeout.
    - `multiplier`, `max_wait`: the wait before try n+1 is `multiplier * 2 ** (n - 1)`
      seconds, at most `max_wait` (ancestors: `wait_exponential_multiplier`,
      `wait_exponential_max`; flyer-db's `backoff`, `max_backoff`).
    - `jitter`: each wait is shortened by a random fraction up to this (0 to 1).

    What only HTTP decides:

    - `methods`: methods retried (idempotent ones by default); other methods are retried
      when the request carries `idempotency_header` or the call passes `retry=True`.
    - `statuses`: response statuses retried; after the last try the response is returned.
    - `exceptions`: httpx exceptions retried; after the last try a 60x error is raised.
    - `respect_retry_after`: a `Retry-After` header (seconds or HTTP date) sets the wait;
      when it would start the next try past `max_delay`, the response is returned instead.
    """

    __slots__ = ("exceptions", "idempotency_header", "methods", "respect_retry_after", "statuses")

    methods: FrozenSet[str]
    statuses: FrozenSet[int]
    exceptions: Tuple[Type[BaseException], ...]
    respect_retry_after: bool
    idempotency_header: Optional[str]

    def __init__(
        self,
        *,
        methods: Collection[str] = IDEMPOTENT_METHODS,
        statuses: Collection[int] = RETRY_STATUSES,
        exceptions: Tuple[Type[BaseException], ...] = RETRY_EXCEPTIONS,
        respect_retry_after: bool = True,
        idempotency_header: Optional[str] = "Idempotency-Key",
        **tries_and_waits: Any,
    ) -> None:
        super().__init__(**tries_and_waits)
        if isinstance(methods, str) or not all(isinstance(m, str) and m.isalpha() for m in methods):
            raise ValueError(
                f"RetryPolicy methods={methods!r}: expected a collection of HTTP method names"
            )
        if isinstance(statuses, (str, bytes)) or not all(
            isinstance(s, int) and not isinstance(s, bool) and 100 <= s <= 599 for s in statuses
        ):
            raise ValueError(
                f"RetryPolicy statuses={statuses!r}: expected a collection of integers 100-599"
            )
        if not isinstance(exceptions, tuple) or not all(
            isinstance(e, type) and issubclass(e, BaseException) for e in exceptions
        ):
            raise ValueError(
                f"RetryPolicy exceptions={exceptions!r}: expected a tuple of exception classes"
            )
        header = idempotency_header
        if header is not None and (not isinstance(header, str) or not header):
            raise ValueError(
                f"RetryPolicy idempotency_header={header!r}: expected a header name or None"
            )
        set_ = object.__setattr__
        set_(self, "methods", frozenset(m.upper() for m in methods))
        set_(self, "statuses", frozenset(statuses))
        set_(self, "exceptions", exceptions)
        set_(self, "respect_retry_after", bool(respect_retry_after))
        set_(self, "idempotency_header", header)


def resolve_policy(
    retry: Union[RetryPolicy, bool, None], ancestor: Dict[str, Any]
) -> Optional[RetryPolicy]:
    """The client's policy from `retry=` and the ancestor's keyword arguments.

    `retry=False` turns retrying off; the ancestor's names override fields of `retry`
    (or of the default policy).
    """
    given = {name: value for name, value in ancestor.items() if value is not None}
    if retry is False and given:
        name = next(iter(given))
        raise ValueError(
            f"retry=False conflicts with {name}={given[name]!r}: pass one or the other"
        )
    if retry is None or retry is True:
        policy: Optional[RetryPolicy] = RetryPolicy()
    elif retry is False:
        policy = None
    elif isinstance(retry, RetryPolicy):
        policy = retry
    else:
        raise ValueError(f"retry={retry!r}: expected a RetryPolicy, True, False or None")
    if given and policy is not None:
        policy = policy.replace(**given)
    return policy


def retry_after_seconds(value: Optional[str]) -> Optional[float]:
    """Seconds a `Retry-After` header asks for (delta-seconds or HTTP date); None if unusable."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when is None:  # Python 3.8-3.9 return None for some malformed dates
        return None  # type: ignore[unreachable]
    if when.tzinfo is None:
        when = when.replace(tzinfo=datetime.timezone.utc)
    return max(0.0, (when - datetime.datetime.now(datetime.timezone.utc)).total_seconds())
