"""One structured log line per run, and hooks for metrics."""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from datetime import datetime
from typing import Callable, List, Optional

logger = logging.getLogger("flyer.sched")

#: Outcomes of a run: the job ran and returned, raised, was too late (APScheduler's misfire
#: grace time), or was not run here (another process has the tick, the job is paused fleet-wide,
#: or the lock store could not be reached).
OUTCOMES = ("success", "error", "missed", "skipped")


@dataclass(frozen=True)
class RunEvent:
    """What happened to one tick of one job in this process."""

    job_id: str
    scheduled_time: datetime
    outcome: str
    duration: float
    reason: Optional[str] = None
    lock_id: Optional[str] = None
    holder: Optional[str] = None
    fencing_token: Optional[int] = None
    error: Optional[str] = None
    manual: bool = False

    def log_fields(self) -> dict[str, object]:
        """The flat, JSON-serialisable fields of the log line."""
        return {
            "job_id": self.job_id,
            "tick": self.scheduled_time.isoformat(),
            "duration_ms": round(self.duration * 1000, 3),
            "outcome": self.outcome,
            "reason": self.reason,
            "lock_id": self.lock_id,
            "lock_holder": self.holder,
            "fencing_token": self.fencing_token,
            "error": self.error,
            "manual": self.manual,
        }


RunHook = Callable[[RunEvent], None]


def _level(event: RunEvent) -> int:
    if event.outcome == "error":
        return logging.ERROR
    if event.outcome == "missed":
        return logging.WARNING
    if event.outcome == "skipped":
        return logging.ERROR if event.reason == "lock_store_unreachable" else logging.DEBUG
    return logging.INFO


class RunHooks:
    """The hooks of one scheduler: each is called with every `RunEvent`, errors logged."""

    def __init__(self) -> None:
        self._hooks: List[RunHook] = []
        self._mutex = threading.Lock()

    def add(self, hook: RunHook) -> None:
        with self._mutex:
            self._hooks.append(hook)

    def remove(self, hook: RunHook) -> None:
        with self._mutex:
            if hook in self._hooks:
                self._hooks.remove(hook)

    def report(self, event: RunEvent) -> None:
        """Write the run's log line and call every hook."""
        level = _level(event)
        if logger.isEnabledFor(level):
            detail = f" ({event.reason})" if event.reason else ""
            logger.log(
                level,
                "job %s %s%s",
                event.job_id,
                event.outcome,
                detail,
                extra=event.log_fields(),
            )
        with self._mutex:
            hooks = list(self._hooks)
        for hook in hooks:
            try:
                hook(event)
            except Exception:
                logger.warning("run hook %r failed", hook, exc_info=True)
