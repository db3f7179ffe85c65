"""Executors that run each tick with its scheduled time in context, then report the run.

APScheduler hands an executor the job and its scheduled run times; its `run_job` then calls the
function without saying which run time a call is for. These executors call APScheduler's own
`run_job` once per run time with a `Tick` in a context variable, which is how `lock()` learns the
fire time it must claim and how `current_tick()` answers inside a job.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import logging
import threading
import time
from datetime import datetime, timedelta, timezone
from typing import Any, Callable, ContextManager, Dict, List, Optional, Set, Tuple

from apscheduler.events import EVENT_JOB_ERROR, EVENT_JOB_MISSED
from apscheduler.executors.base import BaseExecutor, MaxInstancesReachedError, run_job
from apscheduler.util import iscoroutinefunction_partial

from flyer_sched._events import RunEvent, RunHooks, RunWrappers
from flyer_sched._lock import claim_scheduled
from flyer_sched._tick import _CURRENT, Tick

try:  # APScheduler 3.11 moved it
    from apscheduler.executors.base import run_coroutine_job
except ImportError:  # pragma: no cover - APScheduler 3.10
    from apscheduler.executors.base_py3 import run_coroutine_job

_fallback_hooks = RunHooks()
Reporter = Callable[[Any, Tick, List[Any], float], None]


class ManualRunTimes(List[Any]):
    """Run times of a "run now" request: the lock claims no tick for them, only the run lock."""


def _event_for(job: Any, tick: Tick, events: List[Any], duration: float) -> RunEvent:
    outcome, error = "success", tick.error
    for event in events:
        if event.code == EVENT_JOB_MISSED:
            outcome = "missed"
        elif event.code == EVENT_JOB_ERROR:
            outcome = "error"
            exc = event.exception
            error = f"{type(exc).__name__}: {exc}"[:500]
    if outcome == "success" and tick.skipped:
        outcome = "skipped"
    return RunEvent(
        job_id=job.id,
        scheduled_time=tick.scheduled_time,
        outcome=outcome,
        duration=duration,
        reason=tick.reason,
        lock_id=tick.lock_id,
        holder=tick.holder,
        fencing_token=tick.fencing_token,
        error=error,
        manual=tick.manual,
    )


def _reporter(scheduler: Any) -> Reporter:
    report: Optional[Reporter] = getattr(scheduler, "flyer_report", None)
    if report is not None:
        return report

    def fallback(job: Any, tick: Tick, events: List[Any], duration: float) -> None:
        _fallback_hooks.report(_event_for(job, tick, events, duration))

    return fallback


def _too_late(job: Any, run_time: datetime) -> bool:
    """Whether APScheduler's `run_job` will call this run missed (its own test, done first so a
    locked job claims no tick it will not run)."""
    grace = job.misfire_grace_time
    if grace is None:
        return False
    return bool(datetime.now(timezone.utc) - run_time > timedelta(seconds=grace))


def _ticks(job: Any, run_times: List[Any]) -> List[Tick]:
    """A `Tick` per run time; those of a "run now" request are manual."""
    manual = isinstance(run_times, ManualRunTimes)
    return [Tick(job.id, run_time, manual=manual) for run_time in run_times]


def _around(wrappers: Optional[RunWrappers], tick: Tick) -> ContextManager[Any]:
    """The scheduler's run wrappers around a run of `tick` (nothing to do when none is
    registered)."""
    current = wrappers.current if wrappers is not None else ()
    if not current:
        return contextlib.nullcontext()
    return RunWrappers.around(current, tick.job_id, tick.scheduled_time, tick.manual)


def run_ticks(
    job: Any,
    jobstore_alias: str,
    run_times: List[Any],
    logger_name: str,
    report: Reporter,
    wrappers: Optional[RunWrappers] = None,
) -> List[Any]:
    """APScheduler's `run_job`, once per run time, each inside its own `Tick`.

    A locked job's tick is claimed first; a tick the lock skips is not handed to `run_job`, so
    neither APScheduler's log nor its listeners hear of an execution that did not happen. A
    run that executes does so inside the scheduler's run wrappers (`wrappers`).
    """
    events: List[Any] = []
    for tick in _ticks(job, run_times):
        token = _CURRENT.set(tick)
        started = time.monotonic()
        release = None
        try:
            run = True
            if not _too_late(job, tick.scheduled_time):
                run, release = claim_scheduled(job.func, tick)
            produced: List[Any] = []
            if run:
                with _around(wrappers, tick):
                    produced = run_job(job, jobstore_alias, [tick.scheduled_time], logger_name)
        finally:
            _CURRENT.reset(token)
            if release is not None:
                release()
        report(job, tick, produced, time.monotonic() - started)
        events.extend(produced)
    return events


class HeldLocks:
    """The locks held by an executor's runs, so that its shutdown can release them.

    A coroutine run cancelled at shutdown may never resume to release its lock: a lifespan's
    event loop is closed right after. Without this, the lock would stay held, and renewed by
    the process's renewal thread, for as long as the process lives.
    """

    def __init__(self) -> None:
        self._mutex = threading.Lock()
        self._held: Dict[int, Callable[[], None]] = {}
        self._closed = False

    def hold(self, key: int, release: Callable[[], None]) -> bool:
        """Keep `release` for shutdown; False when the executor has already shut down."""
        with self._mutex:
            if self._closed:
                return False
            self._held[key] = release
            return True

    def take(self, key: int) -> Optional[Callable[[], None]]:
        """The release callable of `key`, unless shutdown has called it already."""
        with self._mutex:
            return self._held.pop(key, None)

    def close(self) -> None:
        """Release every lock still held, in a thread (never blocking an event loop)."""
        with self._mutex:
            self._closed = True
            held, self._held = list(self._held.values()), {}
        if held:

            def release_all() -> None:
                for release in held:
                    release()

            threading.Thread(target=release_all, name="flyer-sched-release", daemon=True).start()


async def run_ticks_async(
    job: Any,
    jobstore_alias: str,
    run_times: List[Any],
    logger_name: str,
    report: Reporter,
    held: Optional[HeldLocks] = None,
    wrappers: Optional[RunWrappers] = None,
) -> List[Any]:
    """The coroutine counterpart of `run_ticks`; `held` lets the executor's shutdown release
    the lock of a run it cancelled. The run wrappers are entered in the run's task."""
    events: List[Any] = []
    for tick in _ticks(job, run_times):
        token = _CURRENT.set(tick)
        started = time.monotonic()
        release = None
        loop = asyncio.get_running_loop()

        def claim(tick: Tick = tick) -> Tuple[bool, Optional[Callable[[], None]]]:
            run, release = claim_scheduled(job.func, tick)
            if release is not None and held is not None and not held.hold(id(tick), release):
                release()  # shut down while claiming: do not run
                return False, None
            return run, release

        try:
            run = True
            if not _too_late(job, tick.scheduled_time):
                run, release = await loop.run_in_executor(None, claim)
            produced: List[Any] = []
            if run:
                with _around(wrappers, tick):
                    produced = await run_coroutine_job(
                        job, jobstore_alias, [tick.scheduled_time], logger_name
                    )
        finally:
            _CURRENT.reset(token)
            if release is not None and (held is None or held.take(id(tick)) is not None):
                # Shielded: a cancelled await would cancel the release before it started.
                await asyncio.shield(loop.run_in_executor(None, release))
        report(job, tick, produced, time.monotonic() - started)
        events.extend(produced)
    return events


class _FlyerExecutor:
    """What both executors share. They implement APScheduler's executor interface through its
    public methods only (`start`, `shutdown`, `submit_job`, raising `MaxInstancesReachedError`)
    and are registered as virtual subclasses of its `BaseExecutor`, so every scheduler accepts
    them. A run's events go to the listeners of the flyer scheduler that owns the executor;
    under a plain APScheduler scheduler the runs happen and are logged, and listeners hear only
    the scheduler's own events. A flyer scheduler makes fresh executors for every `start()`."""

    def __init__(self) -> None:
        BaseExecutor.register(type(self))  # public ABC API; idempotent
        self.flyer_owner: Any = None
        self._flyer_logger_name = "apscheduler.executors.default"
        self._flyer_log = logging.getLogger(self._flyer_logger_name)
        self._flyer_futures: Set[Any] = set()
        self._flyer_mutex = threading.RLock()
        self._flyer_instances: Dict[str, int] = {}

    def start(self, scheduler: Any, alias: str) -> None:
        """Called by the scheduler when it starts, or when the executor is added to a running one."""
        self._flyer_logger_name = f"apscheduler.executors.{alias}"
        self._flyer_log = logging.getLogger(self._flyer_logger_name)

    def shutdown(self, wait: bool = True) -> None:
        """Release the executor's resources (waiting for running jobs when `wait`)."""

    def submit_job(self, job: Any, run_times: List[Any]) -> None:
        """Run `job` once per run time; raises `MaxInstancesReachedError` when `job` already
        runs `job.max_instances` times on this executor."""
        with self._flyer_mutex:
            running = self._flyer_instances.get(job.id, 0)
            if running >= job.max_instances:
                raise MaxInstancesReachedError(job)
            # Counted first: a run that finishes at once is uncounted by its done callback.
            self._flyer_instances[job.id] = running + 1
            try:
                self._flyer_submit(job, run_times)
            except BaseException:
                self._flyer_uncount(job.id)
                raise

    def _flyer_uncount(self, job_id: str) -> None:
        with self._flyer_mutex:
            left = self._flyer_instances.get(job_id, 0) - 1
            if left > 0:
                self._flyer_instances[job_id] = left
            else:
                self._flyer_instances.pop(job_id, None)

    def _flyer_submit(self, job: Any, run_times: List[Any]) -> None:
        raise NotImplementedError

    def _flyer_alias(self, job: Any) -> str:
        owner = self.flyer_owner
        return owner.jobstore_of(job.id) if owner is not None else "default"

    def _flyer_report(self) -> Reporter:
        return _reporter(self.flyer_owner)

    def _flyer_wrappers(self) -> Optional[RunWrappers]:
        wrappers: Optional[RunWrappers] = getattr(self.flyer_owner, "flyer_wrappers", None)
        return wrappers

    def _flyer_done(self, job: Any, future: Any) -> None:
        self._flyer_futures.discard(future)
        self._flyer_uncount(job.id)
        if future.cancelled():
            exc: BaseException = asyncio.CancelledError()
            self._flyer_log.error("Error running job %s", job.id, exc_info=(type(exc), exc, None))
            return
        error = future.exception()
        if error is not None:
            info = (type(error), error, error.__traceback__)
            self._flyer_log.error("Error running job %s", job.id, exc_info=info)
            return
        owner = self.flyer_owner
        if owner is not None:
            for event in future.result():
                owner.flyer_dispatch(event)

    def running_futures(self) -> List[Any]:
        """Futures of the runs submitted and not finished yet."""
        return [f for f in list(self._flyer_futures) if not f.done()]


class ThreadPoolExecutor(_FlyerExecutor):
    """Runs each tick of a job in a thread pool, with the tick in context (see the module)."""

    def __init__(self, max_workers: int = 10, pool_kwargs: Optional[Dict[str, Any]] = None):
        super().__init__()
        self._pool_args = (int(max_workers), dict(pool_kwargs or {}))
        self._flyer_pool: Optional[concurrent.futures.ThreadPoolExecutor] = None

    def start(self, scheduler: Any, alias: str) -> None:
        super().start(scheduler, alias)
        workers, kwargs = self._pool_args
        self._flyer_pool = concurrent.futures.ThreadPoolExecutor(workers, **kwargs)

    def shutdown(self, wait: bool = True) -> None:
        pool, self._flyer_pool = self._flyer_pool, None
        if pool is not None:
            pool.shutdown(wait)

    def _flyer_submit(self, job: Any, run_times: List[Any]) -> None:
        pool = self._flyer_pool
        if pool is None:
            raise RuntimeError("the executor is not started")
        future = pool.submit(
            run_ticks,
            job,
            self._flyer_alias(job),
            run_times,
            self._flyer_logger_name,
            self._flyer_report(),
            self._flyer_wrappers(),
        )
        self._flyer_futures.add(future)
        future.add_done_callback(lambda f: self._flyer_done(job, f))


class AsyncIOExecutor(_FlyerExecutor):
    """Coroutine jobs run as tasks on the scheduler's event loop, plain functions in the
    loop's default thread pool; each tick with its `Tick` in context."""

    def __init__(self) -> None:
        super().__init__()
        self._loop: Optional[asyncio.AbstractEventLoop] = None
        self._held = HeldLocks()

    def start(self, scheduler: Any, alias: str) -> None:
        super().start(scheduler, alias)
        owner = self.flyer_owner
        loop = owner.flyer_loop if owner is not None else None
        self._loop = loop if loop is not None else asyncio.get_running_loop()

    def shutdown(self, wait: bool = True) -> None:
        for future in list(self._flyer_futures):
            future.cancel()
        self._flyer_futures.clear()
        self._held.close()

    def _flyer_submit(self, job: Any, run_times: List[Any]) -> None:
        loop = self._loop
        if loop is None:
            raise RuntimeError("the executor is not started")
        alias, report = self._flyer_alias(job), self._flyer_report()
        wrappers = self._flyer_wrappers()
        future: Any
        if iscoroutinefunction_partial(job.func):
            coro = run_ticks_async(
                job, alias, run_times, self._flyer_logger_name, report, self._held, wrappers
            )
            future = loop.create_task(coro)
        else:
            future = loop.run_in_executor(
                None, run_ticks, job, alias, run_times, self._flyer_logger_name, report, wrappers
            )
        self._flyer_futures.add(future)
        future.add_done_callback(lambda f: self._flyer_done(job, f))


async def wait_futures(futures: List[Any], timeout: float) -> bool:
    """Wait for asyncio or concurrent futures; True when all finished within `timeout`."""
    if not futures:
        return True
    wrapped = [
        asyncio.wrap_future(f) if isinstance(f, concurrent.futures.Future) else f for f in futures
    ]
    _, pending = await asyncio.wait(wrapped, timeout=timeout)
    return not pending
