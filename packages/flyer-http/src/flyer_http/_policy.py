"""The retry policy: which calls are retried, how often, and how long to wait between tries."""

from __future__ import annotations

import dataclasses
import datetime
import email.utils
import random
from typing import Any, Collection, Dict, FrozenSet, Optional, Tuple, Type, Union

import httpx
import tenacity

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

#: The ancestor's keyword arguments and the `RetryPolicy` field each one sets.
ANCESTOR_NAMES = {
    "stop_max_attempt_number": "attempts",
    "stop_max_delay": "max_delay",
    "wait_exponential_multiplier": "multiplier",
    "wait_exponential_max": "max_wait",
}


class _JitteredExponential(tenacity.wait_exponential):
    """tenacity's exponential wait, shortened by a random fraction up to `jitter`.

    Shortening (rather than lengthening) keeps every wait within `max_wait` and the
    documented 2 s, 4 s, 8 s... steps as upper bounds, while spreading clients apart.
    """

    def __init__(self, multiplier: float, max_wait: float, jitter: float) -> None:
        super().__init__(multiplier=multiplier, max=max_wait)
        self.jitter = jitter

    def __call__(self, retry_state: tenacity.RetryCallState) -> float:
        wait = float(super().__call__(retry_state))
        return wait * (1.0 - self.jitter * random.random()) if self.jitter else wait


@dataclasses.dataclass(frozen=True)
class RetryPolicy:
    """How a client retries: give it to `Client(retry=...)` or to one call (`retry=...`).

    - `attempts`: tries in all, the first included (ancestor: `stop_max_attempt_number`).
    - `max_delay`: seconds after the call started past which no new try begins
      (ancestor: `stop_max_delay`); a call lasts at most this plus one request timeout.
    - `multiplier`, `max_wait`: the wait before try n+1 is `multiplier * 2 ** (n - 1)`
      seconds, at most `max_wait` (ancestors: `wait_exponential_multiplier`, `wait_exponential_max`).
    - `jitter`: each wait is shortened by a random fraction up to this (0 to 1).
    - `methods`: methods retried (idempotent ones by default); other methods are retried
      when the request carries `idempotency_header` or the call passes `retry=True`.
    - `statuses`: response statuses retried; after the last try the response is returned.
    - `exceptions`: httpx exceptions retried; after the last try a 60x error is raised.
    - `respect_retry_after`: a `Retry-After` header (seconds or HTTP date) sets the wait;
      when it would start the next try past `max_delay`, the response is returned instead.
    """

    attempts: int = 3
    max_delay: float = 60.0
    multiplier: float = 2.0
    max_wait: float = 10.0
    jitter: float = 0.25
    methods: Collection[str] = IDEMPOTENT_METHODS
    statuses: Collection[int] = RETRY_STATUSES
    exceptions: Tuple[Type[Exception], ...] = RETRY_EXCEPTIONS
    respect_retry_after: bool = True
    idempotency_header: Optional[str] = "Idempotency-Key"
    _wait: _JitteredExponential = dataclasses.field(
        init=False, repr=False, compare=False, hash=False
    )

    def __post_init__(self) -> None:
        _check_number("attempts", self.attempts, minimum=1, integer=True)
        _check_number("max_delay", self.max_delay)
        _check_number("multiplier", self.multiplier)
        _check_number("max_wait", self.max_wait)
        _check_number("jitter", self.jitter, maximum=1)
        methods = self.methods
        if isinstance(methods, str) or not all(isinstance(m, str) and m.isalpha() for m in methods):
            raise ValueError(
                f"RetryPolicy methods={methods!r}: expected a collection of HTTP method names"
            )
        statuses = self.statuses
        if isinstance(statuses, (str, bytes)) or not all(
            isinstance(s, int) and not isinstance(s, bool) and 100 <= s <= 599 for s in statuses
        ):
            raise ValueError(
                f"RetryPolicy statuses={statuses!r}: expected a collection of integers 100-599"
            )
        exceptions = self.exceptions
        if not isinstance(exceptions, tuple) or not all(
            isinstance(e, type) and issubclass(e, BaseException) for e in exceptions
        ):
            raise ValueError(
                f"RetryPolicy exceptions={exceptions!r}: expected a tuple of exception classes"
            )
        header = self.idempotency_header
        if header is not None and (not isinstance(header, str) or not header):
            raise ValueError(
                f"RetryPolicy idempotency_header={header!r}: expected a header name or None"
            )
        set_ = object.__setattr__
        set_(self, "methods", frozenset(m.upper() for m in methods))
        set_(self, "statuses", frozenset(statuses))
        set_(self, "respect_retry_after", bool(self.respect_retry_after))
        set_(self, "_wait", _JitteredExponential(self.multiplier, self.max_wait, self.jitter))

    def backoff(self, retry_state: tenacity.RetryCallState) -> float:
        """Seconds to wait after the try numbered `retry_state.attempt_number` failed."""
        return self._wait(retry_state)

    def replace(self, **changes: Any) -> RetryPolicy:
        """A copy with some fields changed: `policy.replace(attempts=5)`."""
        return dataclasses.replace(self, **changes)


def _check_number(
    name: str,
    value: object,
    *,
    minimum: float = 0,
    maximum: Optional[float] = None,
    integer: bool = False,
) -> None:
    kinds: Tuple[type, ...] = (int,) if integer else (int, float)
    ok = isinstance(value, kinds) and not isinstance(value, bool)
    if ok:
        number = float(value)  # type: ignore[arg-type]
        ok = number == number and number >= minimum and (maximum is None or number <= maximum)
    if not ok:
        kind = "an integer" if integer else "a number"
        bound = f"{minimum:g}-{maximum:g}" if maximum is not None else f">= {minimum:g}"
        raise ValueError(f"RetryPolicy {name}={value!r}: expected {kind} {bound}")


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
    changes = {}
    for name, value in given.items():
        field = ANCESTOR_NAMES[name]
        try:
            _check_number(
                field, value, minimum=1 if field == "attempts" else 0, integer=field == "attempts"
            )
        except ValueError:
            kind = "an integer >= 1" if field == "attempts" else "a number >= 0"
            raise ValueError(f"{name}={value!r}: expected {kind}") from None
        changes[field] = value
    if changes and policy is not None:
        policy = policy.replace(**changes)
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
