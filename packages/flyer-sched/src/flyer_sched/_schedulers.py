"""APScheduler 3 schedulers with `lock()`, `leader()`, fleet-aware listing and management."""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import threading
import time
from datetime import datetime, timezone
from typing import Any, Callable, Dict, List, Optional, TypeVar, Union, overload

from apscheduler.jobstores.base import JobLookupError
from apscheduler.jobstores.memory import MemoryJobStore
from apscheduler.schedulers import SchedulerNotRunningError
from apscheduler.schedulers.asyncio import AsyncIOScheduler as _APSAsyncIOScheduler
from apscheduler.schedulers.background import BackgroundScheduler as _APSBackgroundScheduler
from apscheduler.schedulers.base import STATE_STOPPED, BaseScheduler
from apscheduler.util import astimezone, maybe_ref, undefined

from flyer_sched._events import RunHook, RunHooks
from flyer_sched._executors import (
    AsyncIOExecutor,
    ManualRunTimes,
    ThreadPoolExecutor,
    _event_for,
    wait_futures,
)
from flyer_sched._file_store import FileLockStore
from flyer_sched._leader import Leader
from flyer_sched._lock import LockSpec, StoreChoice, default_job_id, lock_spec_of, make_locked
from flyer_sched._memory_store import MemoryLockStore
from flyer_sched._settings import SchedSettings
from flyer_sched._store import EPOCH, LockStore, LockStoreError
from flyer_sched._tick import Tick

F = TypeVar("F", bound=Callable[..., Any])
logger = logging.getLogger("flyer.sched")

# One memory store per process, so both schedulers' "memory" locks see each other.
_MEMORY_STORE = MemoryLockStore()


def _iso(moment: Optional[datetime]) -> Optional[str]:
    return moment.isoformat() if moment is not None else None


class FlyerSchedulerMixin:
    """What flyer adds to an APScheduler scheduler. Mixed into both schedulers below."""

    flyer_name = "scheduler"

    def __init__(
        self,
        gconfig: Optional[Dict[str, Any]] = None,
        *,
        settings: Optional[SchedSettings] = None,
        **options: Any,
    ) -> None:
        gconfig = dict(gconfig or {})
        self._flyer_settings = settings
        self._flyer_tz_explicit = "timezone" in options or "apscheduler.timezone" in gconfig
        if not self._flyer_tz_explicit:
            # An explicit zone spares APScheduler a look at the host's zone at construction.
            options["timezone"] = timezone.utc
        self._flyer_settings_applied = False
        self._flyer_store: Optional[LockStore] = None
        self._flyer_store_explicit = False
        self._flyer_made_stores: Dict[str, LockStore] = {}
        self._flyer_hooks = RunHooks()
        self._flyer_leaders: Dict[str, Leader] = {}
        self._flyer_last_runs: Dict[str, datetime] = {}
        self._flyer_mutex = threading.RLock()
        super().__init__(gconfig, **options)  # type: ignore[call-arg]

    # -- settings and stores --------------------------------------------------------------

    @property
    def flyer_settings(self) -> SchedSettings:
        """The settings in force (read from the environment on first use unless given)."""
        if self._flyer_settings is None:
            self._flyer_settings = SchedSettings.from_env()
        return self._flyer_settings

    def use_settings(self, settings: SchedSettings) -> None:
        """Adopt new settings: time zone for jobs added from now on, lock store on next use."""
        with self._flyer_mutex:
            self._flyer_settings = settings
            self._flyer_settings_applied = False
            if not self._flyer_store_explicit:
                self._flyer_store = None
            self._flyer_made_stores.clear()
        self._flyer_apply_settings()

    def _flyer_apply_settings(self) -> None:
        if self._flyer_settings_applied:
            return
        settings = self.flyer_settings
        if not self._flyer_tz_explicit:
            self.timezone = astimezone(settings.timezone)
        self._flyer_settings_applied = True

    @property
    def lock_store(self) -> LockStore:
        """The store `lock()` and `leader()` use unless told otherwise (settings decide)."""
        with self._flyer_mutex:
            if self._flyer_store is None:
                self._flyer_store = self.make_lock_store(self.flyer_settings.backend)
            return self._flyer_store

    @lock_store.setter
    def lock_store(self, store: LockStore) -> None:
        if not isinstance(store, LockStore):
            raise TypeError(f"lock_store={store!r}: expected a LockStore")
        with self._flyer_mutex:
            self._flyer_store = store
            self._flyer_store_explicit = True

    def make_lock_store(self, kind: str) -> LockStore:
        """A store of `kind` ('redis', 'file' or 'memory') built from the settings, cached."""
        with self._flyer_mutex:
            made = self._flyer_made_stores.get(kind)
            if made is not None:
                return made
            settings = self.flyer_settings
            store: LockStore
            if kind == "memory":
                store = _MEMORY_STORE
            elif kind == "file":
                store = FileLockStore(settings.lock_dir, prefix=settings.lock_prefix)
            elif kind == "redis":
                from flyer_sched._redis_store import RedisLockStore, client_from_settings

                if not settings.redis_configured:
                    raise ValueError(
                        "the redis lock store needs flyer_redis_url or flyer_redis_host"
                    )
                store = RedisLockStore(client_from_settings(settings), prefix=settings.lock_prefix)
            else:
                raise ValueError(f"lock store {kind!r}: expected 'redis', 'file' or 'memory'")
            self._flyer_made_stores[kind] = store
            return store

    # -- lock and leader ------------------------------------------------------------------

    @overload
    def lock(self, id: F) -> F: ...

    @overload
    def lock(
        self,
        id: Optional[str] = None,
        *,
        ttl: Optional[float] = None,
        store: StoreChoice = None,
        on_store_error: Optional[str] = None,
    ) -> Callable[[F], F]: ...

    def lock(
        self,
        id: Any = None,
        *,
        ttl: Optional[float] = None,
        store: StoreChoice = None,
        on_store_error: Optional[str] = None,
    ) -> Any:
        """Make a job run once per scheduled tick across every process that schedules it.

        `id` names the lock (default: the job's id, which defaults to `module:qualname`);
        `ttl` is how long a claim lives without renewal (renewed every ttl/4 while the job
        runs); `store` is 'redis', 'file', 'memory' or a `LockStore` (default: from settings);
        `on_store_error` is 'skip' (default) or 'run' for when the store cannot be reached.
        """
        if callable(id):
            return self.lock()(id)

        def decorate(func: F) -> F:
            if not callable(func):
                raise TypeError(f"lock() decorates a function, got {func!r}")
            spec = LockSpec(func, self, id=id, ttl=ttl, store=store, on_store_error=on_store_error)
            return make_locked(spec)  # type: ignore[return-value]

        return decorate

    def leader(
        self,
        id: Optional[str] = None,
        *,
        ttl: Optional[float] = None,
        store: StoreChoice = None,
        retry_interval: Optional[float] = None,
    ) -> Callable[[F], F]:
        """Run a long-running function in exactly one process of the fleet while started.

        The function runs when this process wins the lease; `current_lease()` inside it tells
        when to stop. `ttl` bounds failover time after the holder dies.
        """
        if callable(id):
            raise TypeError("use @scheduler.leader() with parentheses")

        def decorate(func: F) -> F:
            self.add_leader(func, id=id, ttl=ttl, store=store, retry_interval=retry_interval)
            return func

        return decorate

    def add_leader(
        self,
        func: Callable[..., Any],
        *,
        id: Optional[str] = None,
        ttl: Optional[float] = None,
        store: StoreChoice = None,
        retry_interval: Optional[float] = None,
        args: Any = (),
        kwargs: Optional[Dict[str, Any]] = None,
        once: bool = False,
    ) -> Leader:
        """Register a leader function (what `@leader()` does); it starts with the scheduler.

        `once=True`: a function that returns has done its work; its process keeps the lease
        (so no other process runs it again) until the scheduler stops. One that raises is run
        again after `retry_interval` either way.
        """
        leader_id = id or default_job_id(func)
        leader = Leader(
            func,
            self,
            id=leader_id,
            ttl=ttl,
            store=store,
            retry_interval=retry_interval,
            args=args,
            kwargs=kwargs,
            once=once,
        )
        self._flyer_check_leader(leader)
        with self._flyer_mutex:
            if leader_id in self._flyer_leaders:
                raise ValueError(f"leader id {leader_id!r} is taken: pass id= to add another")
            self._flyer_leaders[leader_id] = leader
            running = self.running  # type: ignore[attr-defined]
        if running:
            leader.start()
        return leader

    def _flyer_check_leader(self, leader: Leader) -> None:
        """Hook for schedulers that cannot run some leaders."""

    def remove_leader(self, leader_id: str, timeout: float = 10.0) -> None:
        """Stop and forget a leader."""
        with self._flyer_mutex:
            leader = self._flyer_leaders.pop(leader_id)
        leader.stop(timeout)

    def get_leaders(self) -> List[Leader]:
        with self._flyer_mutex:
            return list(self._flyer_leaders.values())

    def _flyer_loop(self) -> Optional[asyncio.AbstractEventLoop]:
        return None

    # -- APScheduler overrides ------------------------------------------------------------

    def add_job(
        self,
        func: Any,
        trigger: Any = None,
        args: Any = None,
        kwargs: Any = None,
        id: Optional[str] = None,
        name: Optional[str] = None,
        misfire_grace_time: Any = undefined,
        coalesce: Any = undefined,
        max_instances: Any = undefined,
        next_run_time: Any = undefined,
        jobstore: str = "default",
        executor: str = "default",
        replace_existing: bool = False,
        **trigger_args: Any,
    ) -> Any:
        """APScheduler's `add_job`, with a stable default id and tick alignment for locks.

        Without `id`, the id is the lock's id or `module:qualname` of the function (adding the
        same function twice then needs an explicit `id`). A locked interval job without a
        `start_date` starts at the Unix epoch, so every process computes the same fire times.
        `single_job=True` (FastFlyer's name, also accepted by `scheduled_job`) locks the job as
        `lock()` would.
        """
        self._flyer_apply_settings()
        single_job = trigger_args.pop("single_job", False)
        if single_job not in (True, False):
            raise ValueError(f"single_job={single_job!r}: expected True or False")
        if single_job and lock_spec_of(func) is None:
            if not callable(func):
                raise TypeError(f"single_job=True needs a function, not a reference: {func!r}")
            func = self.lock()(func)
        spec = lock_spec_of(func)
        if id is None:
            id = spec.id if spec is not None and spec.id else default_job_id(func)
            if not replace_existing and self.get_job(id) is not None:  # type: ignore[attr-defined]
                raise ValueError(
                    f"job id {id!r} is taken: pass id= to schedule {name or id} more than once"
                )
        if spec is not None:
            jitter = trigger_args.get("jitter") or getattr(trigger, "jitter", None)
            if jitter:
                raise ValueError(
                    f"job {id!r}: jitter={jitter!r} gives each process its own fire times, "
                    "so a locked job cannot use it"
                )
            if trigger == "interval" and trigger_args.get("start_date") is None:
                trigger_args["start_date"] = EPOCH
        return super().add_job(  # type: ignore[misc]
            func,
            trigger,
            args,
            kwargs,
            id,
            name,
            misfire_grace_time,
            coalesce,
            max_instances,
            next_run_time,
            jobstore,
            executor,
            replace_existing,
            **trigger_args,
        )

    def reschedule_job(
        self,
        job_id: str,
        jobstore: Optional[str] = None,
        trigger: Any = None,
        **trigger_args: Any,
    ) -> Any:
        """APScheduler's `reschedule_job`; a locked job's new interval stays epoch-aligned."""
        job = self._flyer_lookup(job_id, jobstore)
        if lock_spec_of(job.func) is not None:
            if trigger_args.get("jitter"):
                raise ValueError(f"job {job_id!r}: a locked job cannot use jitter")
            if trigger == "interval" and trigger_args.get("start_date") is None:
                trigger_args["start_date"] = EPOCH
        return super().reschedule_job(  # type: ignore[misc]
            job_id, jobstore, trigger, **trigger_args
        )

    def start(self, paused: bool = False) -> None:
        """Start processing jobs, then campaign for every leader."""
        self._flyer_apply_settings()
        self._flyer_warm_stores()
        super().start(paused)  # type: ignore[misc]
        self._flyer_warn_foreign_executors()
        for leader in self.get_leaders():
            leader.start()

    def _flyer_warm_stores(self) -> None:
        """Build the lock stores now, so the first tick does not pay for imports and clients."""
        stores: List[LockStore] = [leader.store() for leader in self.get_leaders()]
        for job in self.get_jobs():  # type: ignore[attr-defined]
            spec = lock_spec_of(job.func)
            if spec is not None:
                stores.append(spec.store())
        for store in {id(s): s for s in stores}.values():
            store.warm()

    def shutdown(self, wait: bool = True) -> None:
        """Stop the leaders (releasing their leases), then APScheduler's shutdown."""
        if not self.running:  # type: ignore[attr-defined]
            raise SchedulerNotRunningError
        self._flyer_stop_leaders(self.flyer_settings.shutdown_timeout)
        self._flyer_shutdown(wait)

    def _flyer_shutdown(self, wait: bool) -> None:
        kept = self._flyer_keep_jobs()
        super().shutdown(wait)  # type: ignore[misc]
        self._flyer_requeue(kept)

    def _flyer_keep_jobs(self) -> List[Any]:
        """Jobs of in-memory job stores, which APScheduler's shutdown would discard."""
        kept: List[Any] = []
        with self._jobstores_lock:  # type: ignore[attr-defined]
            for alias, store in self._jobstores.items():  # type: ignore[attr-defined]
                if type(store) is MemoryJobStore:
                    kept.extend((job, alias) for job in store.get_all_jobs())
        return kept

    def _flyer_requeue(self, kept: List[Any]) -> None:
        """Make kept jobs pending again, so the next `start()` schedules them afresh."""
        with self._jobstores_lock:  # type: ignore[attr-defined]
            for job, alias in kept:
                if job.next_run_time is not None:
                    del job.next_run_time  # recomputed from the trigger at the next start
                job._jobstore_alias = None
                self._pending_jobs.append((job, alias, True))  # type: ignore[attr-defined]

    def _flyer_stop_leaders(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        ok = True
        for leader in self.get_leaders():
            ok = leader.stop(max(0.0, deadline - time.monotonic())) and ok
        return ok

    def _flyer_warn_foreign_executors(self) -> None:
        flyer_executors = (ThreadPoolExecutor, AsyncIOExecutor)
        for job in self.get_jobs():  # type: ignore[attr-defined]
            if lock_spec_of(job.func) is None:
                continue
            executor = self._executors.get(job.executor)  # type: ignore[attr-defined]
            if executor is not None and not isinstance(executor, flyer_executors):
                logger.error(
                    "job %s: locked jobs need flyer_sched's executors to know their tick; "
                    "executor %r runs it with mutual exclusion only",
                    job.id,
                    job.executor,
                    extra={"job_id": job.id},
                )

    def _flyer_report(self, job: Any, tick: Tick, events: List[Any], duration: float) -> None:
        event = _event_for(job, tick, events, duration)
        if event.outcome in ("success", "error"):
            self._flyer_last_runs[job.id] = tick.scheduled_time
        self._flyer_hooks.report(event)

    def add_run_hook(self, hook: RunHook) -> None:
        """Call `hook(event)` with a `RunEvent` after every run (for metrics)."""
        self._flyer_hooks.add(hook)

    def remove_run_hook(self, hook: RunHook) -> None:
        self._flyer_hooks.remove(hook)

    def pause_job(self, job_id: str, jobstore: Optional[str] = None) -> Any:
        """Pause a job here; a locked job is also paused in every process sharing its store."""
        job = self._flyer_lookup(job_id, jobstore)
        self._flyer_set_fleet_pause(job, True)
        return super().pause_job(job_id, jobstore)  # type: ignore[misc]

    def resume_job(self, job_id: str, jobstore: Optional[str] = None) -> Any:
        """Resume a job here; a locked job is also resumed in every process sharing its store."""
        job = self._flyer_lookup(job_id, jobstore)
        self._flyer_set_fleet_pause(job, False)
        return super().resume_job(job_id, jobstore)  # type: ignore[misc]

    def _flyer_lookup(self, job_id: str, jobstore: Optional[str] = None) -> Any:
        job = self.get_job(job_id, jobstore)  # type: ignore[attr-defined]
        if job is None:
            raise JobLookupError(job_id)
        return job

    def _flyer_set_fleet_pause(self, job: Any, paused: bool) -> None:
        spec = lock_spec_of(job.func)
        if spec is not None:
            spec.store().set_paused(spec.store_name(spec.id or job.id), paused)

    def run_job_now(self, job_id: str, jobstore: Optional[str] = None) -> None:
        """Run a job once now, in this process, without touching its schedule.

        A locked job still takes its run lock (so it does not overlap a run elsewhere) but
        claims no tick. Raises `JobLookupError`, `SchedulerNotRunningError` or APScheduler's
        `MaxInstancesReachedError`.
        """
        if self.state == STATE_STOPPED:  # type: ignore[attr-defined]
            raise SchedulerNotRunningError
        job = self._flyer_lookup(job_id, jobstore)
        executor = self._lookup_executor(job.executor)  # type: ignore[attr-defined]
        self._flyer_submit(executor, job, ManualRunTimes([datetime.now(timezone.utc)]))

    def _flyer_submit(self, executor: Any, job: Any, run_times: ManualRunTimes) -> None:
        executor.submit_job(job, run_times)

    # -- listing --------------------------------------------------------------------------

    def job_info(self, job: Any) -> Dict[str, Any]:
        """A JSON-ready description of a job, with its lock's fleet-wide state."""
        spec = lock_spec_of(job.func)
        next_run = getattr(job, "next_run_time", None)
        info: Dict[str, Any] = {
            "id": job.id,
            "name": job.name,
            "scheduler": self.flyer_name,
            "trigger": str(job.trigger),
            "next_run_time": _iso(next_run),
            "last_run_time": _iso(self._flyer_last_runs.get(job.id)),
            "paused": hasattr(job, "next_run_time") and next_run is None,
            "locked": spec is not None,
            "lock_id": None,
            "lock_holder": None,
            "fencing_token": None,
            "lock_error": None,
        }
        if spec is not None:
            lock_id = spec.id or job.id
            info["lock_id"] = lock_id
            try:
                status = spec.store().status(spec.store_name(lock_id))
            except LockStoreError as exc:
                info["lock_error"] = str(exc)
            else:
                info["lock_holder"] = status.holder
                info["fencing_token"] = status.fencing_token
                info["paused"] = info["paused"] or status.paused
                if status.last_tick is not None:
                    info["last_run_time"] = status.last_tick.isoformat()
        return info

    def list_jobs(self) -> List[Dict[str, Any]]:
        """`job_info` of every job, sorted by id."""
        jobs = self.get_jobs()  # type: ignore[attr-defined]
        return [self.job_info(job) for job in sorted(jobs, key=lambda j: j.id)]

    def leader_info(self, leader: Leader) -> Dict[str, Any]:
        info: Dict[str, Any] = {
            "id": leader.id,
            "scheduler": self.flyer_name,
            "leading_here": leader.running,
            "lock_holder": None,
            "fencing_token": None,
            "lock_error": None,
        }
        try:
            status = leader.store().status(leader.name)
        except LockStoreError as exc:
            info["lock_error"] = str(exc)
        else:
            info["lock_holder"] = status.holder
            info["fencing_token"] = status.fencing_token
        return info

    def list_leaders(self) -> List[Dict[str, Any]]:
        return [self.leader_info(leader) for leader in self.get_leaders()]

    def running_futures(self) -> List[Any]:
        """Futures of the runs in flight in this process's flyer executors."""
        futures: List[Any] = []
        for executor in list(self._executors.values()):  # type: ignore[attr-defined]
            running = getattr(executor, "running_futures", None)
            if running is not None:
                futures.extend(running())
        return futures


class BackgroundScheduler(FlyerSchedulerMixin, _APSBackgroundScheduler):  # type: ignore[misc]
    """APScheduler's `BackgroundScheduler` (jobs in a thread pool) with flyer's additions.

    Restartable: `start()` after `shutdown()` works, so one process can host many app
    lifespans.
    """

    flyer_name = "background"

    def _create_default_executor(self) -> Any:
        return ThreadPoolExecutor()

    def _flyer_check_leader(self, leader: Leader) -> None:
        if leader.is_async:
            raise TypeError(
                f"leader {leader.id!r} is a coroutine function: register it on asyncio_scheduler"
            )

    async def aclose(self, timeout: Optional[float] = None) -> bool:
        """Stop from a coroutine: pause, wait up to `timeout` s for running jobs, shut down.

        Returns True when every running job finished in time.
        """
        if not self.running:
            return True
        timeout = self.flyer_settings.shutdown_timeout if timeout is None else timeout
        deadline = time.monotonic() + timeout
        self.pause()
        loop = asyncio.get_running_loop()

        def left() -> float:
            return max(0.0, deadline - time.monotonic())

        leaders_ok = await loop.run_in_executor(None, self._flyer_stop_leaders, left())
        jobs_ok = await wait_futures(self.running_futures(), left())
        await loop.run_in_executor(None, self._flyer_shutdown, False)
        return bool(leaders_ok and jobs_ok)


class AsyncIOScheduler(FlyerSchedulerMixin, _APSAsyncIOScheduler):  # type: ignore[misc]
    """APScheduler's `AsyncIOScheduler` with flyer's additions.

    `start()` binds to the running event loop every time it is called (so the scheduler
    follows an app from one lifespan, and loop, to the next), and `shutdown()` takes effect
    before it returns when called on that loop.
    """

    flyer_name = "asyncio"
    _eventloop: Optional[asyncio.AbstractEventLoop] = None
    _flyer_configured_loop: Optional[asyncio.AbstractEventLoop] = None

    def _configure(self, config: Dict[str, Any]) -> None:
        self._flyer_configured_loop = maybe_ref(config.get("event_loop"))
        super()._configure(config)

    def _create_default_executor(self) -> Any:
        return AsyncIOExecutor()

    def _flyer_loop(self) -> Optional[asyncio.AbstractEventLoop]:
        return self._eventloop

    def start(self, paused: bool = False) -> None:
        """Start on the running event loop (or the `event_loop` given at configuration)."""
        if self._flyer_configured_loop is not None and not self._flyer_configured_loop.is_closed():
            self._eventloop = self._flyer_configured_loop
        else:
            try:
                self._eventloop = asyncio.get_running_loop()
            except RuntimeError:
                raise RuntimeError(
                    "asyncio_scheduler.start() needs a running event loop: call it from a "
                    "coroutine (for example the app's lifespan)"
                ) from None
        super().start(paused)

    def _flyer_shutdown(self, wait: bool) -> None:
        loop = self._eventloop
        try:
            here = asyncio.get_running_loop()
        except RuntimeError:
            here = None
        if loop is None or loop.is_closed() or here is loop or not loop.is_running():
            self._flyer_shutdown_here(wait)
            return
        done: concurrent.futures.Future[None] = concurrent.futures.Future()

        def run() -> None:
            try:
                self._flyer_shutdown_here(wait)
            finally:
                done.set_result(None)

        loop.call_soon_threadsafe(run)
        done.result(timeout=30)

    def _flyer_shutdown_here(self, wait: bool) -> None:
        kept = self._flyer_keep_jobs()
        BaseScheduler.shutdown(self, wait)
        self._stop_timer()
        self._eventloop = None
        self._flyer_requeue(kept)

    def wakeup(self) -> None:
        loop = self._eventloop
        if loop is None or loop.is_closed():
            return
        loop.call_soon_threadsafe(self._flyer_wakeup)

    def _flyer_wakeup(self) -> None:
        if self._eventloop is None:
            return
        self._stop_timer()
        wait_seconds = self._process_jobs()
        self._start_timer(wait_seconds)

    def _flyer_submit(self, executor: Any, job: Any, run_times: ManualRunTimes) -> None:
        loop = self._eventloop
        try:
            here = asyncio.get_running_loop()
        except RuntimeError:
            here = None
        if loop is None or here is loop:
            executor.submit_job(job, run_times)
            return
        done: concurrent.futures.Future[None] = concurrent.futures.Future()

        def submit() -> None:
            try:
                executor.submit_job(job, run_times)
            except BaseException as exc:
                done.set_exception(exc)
            else:
                done.set_result(None)

        loop.call_soon_threadsafe(submit)
        done.result(timeout=30)

    async def aclose(self, timeout: Optional[float] = None) -> bool:
        """Stop from a coroutine: pause, wait up to `timeout` s for running jobs, shut down.

        Coroutine jobs still running at the deadline are cancelled. Returns True when every
        running job finished in time.
        """
        if not self.running:
            return True
        timeout = self.flyer_settings.shutdown_timeout if timeout is None else timeout
        deadline = time.monotonic() + timeout
        self.pause()
        loop = asyncio.get_running_loop()

        def left() -> float:
            return max(0.0, deadline - time.monotonic())

        leaders_ok = await loop.run_in_executor(None, self._flyer_stop_leaders, left())
        jobs_ok = await wait_futures(self.running_futures(), left())
        self._flyer_shutdown(False)
        return bool(leaders_ok and jobs_ok)


Scheduler = Union[BackgroundScheduler, AsyncIOScheduler]
