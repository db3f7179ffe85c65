"""What the metrics hooks receive: one event per retry, one outcome per call."""

from __future__ import annotations

import dataclasses
from typing import Callable, Optional


@dataclasses.dataclass(frozen=True)
class RetryEvent:
    """Given to `on_retry` when an attempt failed and the client is about to wait and retry."""

    method: str
    url: str  #: without credentials, sensitive parameters masked
    host: str
    attempt: int  #: the attempt that failed (1 for the first)
    status: Optional[int]  #: its response status, or None when it raised
    error: Optional[str]  #: the exception class name, or None when a response came
    wait: float  #: seconds before the next attempt
    elapsed_ms: float  #: since the call started


@dataclasses.dataclass(frozen=True)
class CallOutcome:
    """Given to `on_complete` once per call, after its last attempt."""

    method: str
    url: str  #: without credentials, sensitive parameters masked
    host: str
    attempts: int  #: attempts made, the first included
    status: Optional[int]  #: the returned response's status, or None when the call raised
    error: Optional[str]  #: the exception class name, or None when a response was returned
    exhausted: bool  #: the last attempt failed in a retryable way but retries ran out
    elapsed_ms: float

    @property
    def retries(self) -> int:
        """Attempts after the first."""
        return self.attempts - 1

    @property
    def outcome(self) -> str:
        """`success` (status < 400), `failure` (status >= 400) or `error` (raised)."""
        return outcome_of(self.status)


def outcome_of(status: Optional[int]) -> str:
    """A call's outcome from its final status (None when it raised)."""
    if status is None:
        return "error"
    return "success" if status < 400 else "failure"


OnRetry = Callable[[RetryEvent], None]
OnComplete = Callable[[CallOutcome], None]
