"""The tick a job is running for, visible to the job through `current_tick()`."""

from __future__ import annotations

import contextvars
import threading
from datetime import datetime
from typing import Optional


class Tick:
    """One scheduled run of one job: which job, which fire time, and what the lock said.

    `fencing_token` is set while a locked job runs: an integer that increases with every
    claim of the job's lock, in every process. Hand it to the systems you write to and let
    them reject a token lower than one they have already seen; that stops a stale holder (a
    process that stalled past its lock's TTL) from overwriting newer work.
    """

    __slots__ = (
        "_claimed_for",
        "_lost",
        "error",
        "fencing_token",
        "holder",
        "job_id",
        "lock_id",
        "manual",
        "reason",
        "scheduled_time",
        "skipped",
    )

    def __init__(self, job_id: str, scheduled_time: datetime, *, manual: bool = False) -> None:
        self.job_id = job_id
        self.scheduled_time = scheduled_time
        self.manual = manual
        self.lock_id: Optional[str] = None
        self.fencing_token: Optional[int] = None
        self.holder: Optional[str] = None
        self.skipped = False
        self.reason: Optional[str] = None
        self.error: Optional[str] = None
        self._lost = threading.Event()
        self._claimed_for: object = None  # the LockSpec whose claim the executor made

    def __repr__(self) -> str:
        return (
            f"Tick(job_id={self.job_id!r}, scheduled_time={self.scheduled_time.isoformat()!r}, "
            f"fencing_token={self.fencing_token!r})"
        )

    @property
    def lock_lost(self) -> bool:
        """True once a renewal found the lock taken by someone else: stop writing and return."""
        return self._lost.is_set()

    def _skip(self, reason: str, holder: Optional[str] = None, error: Optional[str] = None) -> None:
        self.skipped = True
        self.reason = reason
        self.holder = holder
        self.error = error


_CURRENT: contextvars.ContextVar[Optional[Tick]] = contextvars.ContextVar(
    "flyer_sched_tick", default=None
)


def current_tick() -> Optional[Tick]:
    """The tick the calling job runs for, or None outside a scheduled or locked run."""
    return _CURRENT.get()
