"""One structured log line per run, and hooks for metrics."""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import threading
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Callable, ContextManager, Dict, Iterator, List, Optional, Sequence, Tuple

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
    #: Seconds the claim of the tick's lock took (acquired or not); None when no lock was claimed.
    lock_wait: Optional[float] = None

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
#: `wrapper(job_id, scheduled_time, manual)`: a context manager entered around a run.
RunWrapper = Callable[[str, datetime, bool], ContextManager[Any]]


def _level(event: RunEvent) -> int:
    if event.outcome == "error":
        return logging.ERROR
    if event.outcome == "missed":
        return logging.WARNING
    if event.outcome == "skipped":
        if event.manual and event.reason in _CAUSES:  # a call, not a tick: said every time
            return _CAUSES[event.reason][0]
        return logging.DEBUG
    return logging.INFO


#: Why a tick was skipped where that is news (not "done": another process ran it), the level
#: of the line that says so, and what it says.
_CAUSES: Dict[str, Tuple[int, str]] = {
    "busy": (logging.WARNING, "its previous run still holds the lock (holder {holder})"),
    "lock_store_unreachable": (logging.ERROR, "the lock store is unreachable: {error}"),
    "late": (
        logging.WARNING,
        "the claim reached the lock store after this process had given up on it",
    ),
    "paused": (logging.INFO, "the job is paused fleet-wide"),
}
Cause = Tuple[str, Optional[str]]


class _Skips:
    """Per job: the cause of the skips going on in this process, and how many so far."""

    def __init__(self) -> None:
        self.causes: Dict[str, Tuple[Cause, int]] = {}

    def note(self, event: RunEvent) -> Optional[Tuple[int, str, Tuple[object, ...]]]:
        """The line to write for `event` beside its per-run line, if its cause is news."""
        job = event.job_id
        if event.outcome == "skipped" and event.reason in _CAUSES:
            cause: Cause = (event.reason, event.holder if event.reason == "busy" else None)
            known = self.causes.get(job)
            if known is not None and known[0] == cause:
                self.causes[job] = (cause, known[1] + 1)
                return None
            self.causes[job] = (cause, 1)
            level, why = _CAUSES[event.reason]
            text = why.format(holder=event.holder or "unknown", error=event.error or "")
            return (
                level,
                "job %s: tick skipped: %s; further ticks skipped for this reason are logged "
                "at DEBUG until it changes",
                (job, text),
            )
        if event.outcome in ("success", "error") or (
            event.outcome == "skipped" and event.reason == "done"
        ):
            known = self.causes.pop(job, None)
            if known is not None:
                (reason, _), count = known
                where = "here" if event.outcome != "skipped" else "in the fleet"
                return (
                    logging.INFO,
                    "job %s runs again %s after %d tick(s) skipped here (%s)",
                    (job, where, count, reason),
                )
        return None


#: Claims whose run has not been reported yet, at most (a claim is reported right after its run).
_PENDING_CLAIMS = 1024


class RunHooks:
    """How one scheduler reports its runs: the log lines, then each of its hooks (given by the
    scheduler, which keeps them), errors logged."""

    def __init__(self) -> None:
        self._mutex = threading.Lock()
        self._skips = _Skips()
        self._claims: Dict[Tuple[str, datetime], float] = {}

    def claimed(self, job_id: str, scheduled_time: datetime, seconds: float) -> None:
        """Note how long claiming the lock of a tick took: its `RunEvent` carries it as
        `lock_wait` when the run is reported."""
        with self._mutex:
            if len(self._claims) >= _PENDING_CLAIMS:
                self._claims.pop(next(iter(self._claims)))
            self._claims[(job_id, scheduled_time)] = seconds

    def report(self, event: RunEvent, hooks: Sequence[RunHook] = ()) -> None:
        """Write the run's log line and call each of `hooks`.

        A skip with news in it (another holder, an unreachable store, ...) also gets a line
        at WARNING (ERROR for the store) once per cause, and its end a line at INFO.
        """
        with self._mutex:
            wait = self._claims.pop((event.job_id, event.scheduled_time), None)
        if wait is not None and event.lock_wait is None:
            event = dataclasses.replace(event, lock_wait=wait)
        if event.manual:
            news = None
        else:
            with self._mutex:
                news = self._skips.note(event)
        if news is not None:
            level, message, args = news
            logger.log(level, message, *args, extra=event.log_fields())
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
        for hook in hooks:
            try:
                hook(event)
            except Exception:
                logger.warning("run hook %r failed", hook, exc_info=True)


class RunWrappers:
    """The run wrappers of one scheduler: each makes a context manager that is entered in the
    thread or task that runs the job function, around each run that executes (never around a
    skipped tick). A wrapper that raises is logged; the job runs and reports as usual."""

    def __init__(self) -> None:
        self._mutex = threading.Lock()
        #: Replaced, never changed in place: a run reads it once, without the mutex.
        self.current: Tuple[RunWrapper, ...] = ()

    def add(self, wrapper: RunWrapper) -> None:
        with self._mutex:
            self.current = (*self.current, wrapper)

    def remove(self, wrapper: RunWrapper) -> None:
        with self._mutex:
            if wrapper in self.current:
                left = list(self.current)
                left.remove(wrapper)
                self.current = tuple(left)

    @staticmethod
    @contextlib.contextmanager
    def around(
        wrappers: Tuple[RunWrapper, ...], job_id: str, scheduled_time: datetime, manual: bool
    ) -> Iterator[None]:
        """Each wrapper's context manager entered around the body (those that fail to enter
        are skipped), exited last first; a wrapper's error is logged, the body's is raised."""
        entered: List[ContextManager[Any]] = []
        for wrapper in wrappers:
            try:
                manager = wrapper(job_id, scheduled_time, manual)
                manager.__enter__()
            except Exception:
                logger.warning("run wrapper %r failed to enter", wrapper, exc_info=True)
                continue
            entered.append(manager)
        info: Tuple[Any, Any, Any] = (None, None, None)
        try:
            yield
        except BaseException as exc:
            info = (type(exc), exc, exc.__traceback__)
            raise
        finally:
            for manager in reversed(entered):
                try:
                    manager.__exit__(*info)
                except Exception:
                    logger.warning("run wrapper %r failed to exit", manager, exc_info=True)
