"""APScheduler 3 schedulers with `lock()`, `leader()`, fleet-aware listing and management.

flyer's schedulers are built on APScheduler by composition, through its public API only: each
holds an APScheduler scheduler and the configuration it was made from (options, job stores,
executors, listeners). Every `shutdown()` hands the in-memory jobs over to a fresh, stopped
APScheduler scheduler, so the next `start()` — in another app lifespan, on another event loop —
begins from a clean scheduler with the same jobs, and nothing of APScheduler's internals needs
resetting.

Locks, lock stores, leaders and run reports are imported when first used (a job, lock,
leader or store), not to build or start an app whose schedulers have no jobs.

A scheduler started with nothing to run (no job, job store, executor or listener added, and no
job store configured) defers APScheduler: `start()` records the start (and the asyncio one's
loop), `running`, `state`, `get_jobs()` and `get_job()` answer from that record, and the first
use of APScheduler's API makes its scheduler and starts it as recorded, then proceeds. An app
whose schedulers have no jobs so starts and stops without importing APScheduler's schedulers.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import threading
import time
from datetime import datetime, timezone
from typing import (
    TYPE_CHECKING,
    Any,
    Callable,
    Dict,
    List,
    Optional,
    Sequence,
    Tuple,
    TypeVar,
    Union,
    cast,
    overload,
)

from flyer_sched._settings import SchedSettings

if TYPE_CHECKING:
    from apscheduler.schedulers.base import BaseScheduler

    from flyer_sched._events import RunEvent, RunHook, RunHooks, RunWrapper, RunWrappers
    from flyer_sched._executors import ManualRunTimes
    from flyer_sched._leader import Leader
    from flyer_sched._lock import StoreChoice
    from flyer_sched._store import LockStore
    from flyer_sched._tick import Tick

F = TypeVar("F", bound=Callable[..., Any])


class _Undefined:
    """A keyword of `add_job` not given: APScheduler's `undefined` is handed on in its place
    (imported with APScheduler, on first use)."""

    def __repr__(self) -> str:
        return "undefined"


UNDEFINED: Any = _Undefined()
# APScheduler's scheduler states (apscheduler.schedulers.base), for a start not yet handed to it.
_STATE_STOPPED, _STATE_RUNNING, _STATE_PAUSED = 0, 1, 2
logger = logging.getLogger("flyer.sched")


def _iso(moment: Optional[datetime]) -> Optional[str]:
    return moment.isoformat() if moment is not None else None


class FlyerScheduler:
    """What flyer's two schedulers share: APScheduler's API over a scheduler per lifespan, plus
    `lock()`, `leader()`, fleet-aware listing and management."""

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
        self._flyer_gconfig = gconfig
        self._flyer_options: Dict[str, Any] = options
        self._flyer_settings_applied = False
        self._flyer_store: Optional[LockStore] = None
        self._flyer_store_explicit = False
        self._flyer_made_stores: Dict[str, LockStore] = {}
        self._flyer_run_hooks: Tuple[RunHook, ...] = ()  # replaced, never changed in place
        self._flyer_reporter: Optional[RunHooks] = None  # made at the first report
        self._flyer_wrappers: Optional[RunWrappers] = None  # made at first use
        self._flyer_leaders: Dict[str, Leader] = {}
        self._flyer_last_runs: Dict[str, datetime] = {}
        self._flyer_mutex = threading.RLock()
        self._flyer_listeners: List[Tuple[Any, int]] = []
        self._flyer_added_stores: Dict[str, Tuple[Any, Dict[str, Any]]] = {}
        self._flyer_added_executors: Dict[str, Tuple[Any, Dict[str, Any]]] = {}
        self._flyer_executors: Dict[str, Any] = {}  # alias -> executor of the current scheduler
        self._flyer_job_stores: Dict[str, str] = {}  # job id -> job store alias
        # The APScheduler scheduler, made (and APScheduler imported) on first use.
        self._flyer_aps: Optional[BaseScheduler] = None
        # A start recorded while there was nothing to run: None, or its `paused`.
        self._flyer_deferred: Optional[bool] = None
        # The scheduler being made and started for a deferred start (its thread sees it).
        self._flyer_making: Optional[BaseScheduler] = None

    @property
    def _aps(self) -> BaseScheduler:
        aps = self._flyer_aps
        if aps is None:
            with self._flyer_mutex:
                aps = self._flyer_now()
                if aps is None:
                    aps = self._flyer_make()
        return aps

    @_aps.setter
    def _aps(self, aps: BaseScheduler) -> None:
        self._flyer_aps = aps

    def _flyer_now(self) -> Optional[BaseScheduler]:
        """The APScheduler scheduler made so far, or None (call with `_flyer_mutex` held)."""
        aps = self._flyer_aps
        return aps if aps is not None else self._flyer_making

    def _flyer_made(self) -> Optional[BaseScheduler]:
        """The APScheduler scheduler if one was made, without making one (a scheduler being
        made in another thread is waited for)."""
        aps = self._flyer_aps
        if aps is None:
            with self._flyer_mutex:
                aps = self._flyer_now()
        return aps

    def _flyer_make(self) -> BaseScheduler:
        """Make the APScheduler scheduler (with `_flyer_mutex` held) and, when a start was
        deferred, start it as that start asked, on the loop it recorded."""
        aps = self._flyer_build(self._flyer_deferred_loop())
        paused = self._flyer_deferred
        if paused is not None:
            self._flyer_making = aps  # a listener or executor calling back sees it
            try:
                aps.start(paused)
            finally:
                self._flyer_making = None
            self._flyer_deferred = None
        self._flyer_aps = aps
        return aps

    def _flyer_deferred_loop(self) -> Any:
        """The event loop a deferred start recorded (the asyncio scheduler's), else None."""
        return None

    def _flyer_jobstores_configured(self) -> bool:
        """Whether the options or gconfig name a job store (which may hold jobs already)."""
        if self._flyer_options.get("jobstores"):
            return True
        return any(k.startswith("apscheduler.jobstores.") for k in self._flyer_gconfig)

    def _flyer_defer(self, paused: bool) -> bool:
        """Record a start instead of starting APScheduler when there is nothing it could run:
        no APScheduler scheduler made yet (nothing added a job, job store, executor or
        listener, or configured it) and no job store configured. Call with `_flyer_mutex`."""
        if self._flyer_now() is not None or self._flyer_jobstores_configured():
            return False
        if self._flyer_deferred is not None:
            from apscheduler.schedulers import SchedulerAlreadyRunningError

            raise SchedulerAlreadyRunningError
        self._flyer_deferred = bool(paused)
        return True

    def _flyer_drop_deferred(self) -> bool:
        """Forget a deferred start (its shutdown); False when APScheduler's scheduler exists."""
        with self._flyer_mutex:
            if self._flyer_now() is not None:
                return False
            self._flyer_deferred = None
            return True

    # -- the APScheduler scheduler of this lifespan ---------------------------------------

    def _flyer_new(self, options: Dict[str, Any], loop: Any) -> BaseScheduler:
        """A stopped APScheduler scheduler of this kind (`loop`: the asyncio one's loop)."""
        from apscheduler.schedulers.background import BackgroundScheduler as APSBackground

        return APSBackground(self._flyer_gconfig, **options)

    def _flyer_default_executor(self) -> Any:
        from flyer_sched._executors import ThreadPoolExecutor

        return ThreadPoolExecutor()

    def _flyer_configured(self, kind: str, alias: str) -> Any:
        """The job store or executor `alias` as given in the options or gconfig, else None."""
        given = (self._flyer_options.get(kind) or {}).get(alias)
        if given is not None:
            return given
        prefix = f"apscheduler.{kind}.{alias}."
        found = {
            k[len(prefix) :]: v for k, v in self._flyer_gconfig.items() if k.startswith(prefix)
        }
        return found or None

    def _flyer_build(self, loop: Any, jobs: Sequence[Tuple[Any, str]] = ()) -> BaseScheduler:
        """A stopped APScheduler scheduler with this scheduler's configuration and `jobs`."""
        from apscheduler.util import astimezone, undefined

        from flyer_sched._executors import _FlyerExecutor

        options = dict(self._flyer_options)
        for kind in ("jobstores", "executors"):
            if options.get(kind):
                # APScheduler pops "type" and "class" from a configuring dict: each build
                # gets its own copies, so the next lifespan's scheduler can be made too.
                options[kind] = {
                    alias: dict(value) if isinstance(value, dict) else value
                    for alias, value in options[kind].items()
                }
        if "timezone" in options:
            options["timezone"] = astimezone(options["timezone"])
        executors = dict(options.get("executors") or {})
        configured = self._flyer_configured("executors", "default") is not None
        if not configured and "default" not in self._flyer_added_executors:
            executors["default"] = self._flyer_default_executor()
        options["executors"] = executors
        aps = self._flyer_new(options, loop)
        for alias, (store, kwargs) in self._flyer_added_stores.items():
            aps.add_jobstore(store, alias, **kwargs)
        for alias, (executor, kwargs) in self._flyer_added_executors.items():
            aps.add_executor(executor, alias, **kwargs)
        known = dict(executors)
        known.update({a: e for a, (e, _) in self._flyer_added_executors.items()})
        self._flyer_executors = {}
        for alias, executor in known.items():
            if isinstance(executor, _FlyerExecutor):
                executor.flyer_owner = self
            if isinstance(executor, _FlyerExecutor) or hasattr(executor, "submit_job"):
                self._flyer_executors[alias] = executor
        for callback, mask in self._flyer_listeners:
            aps.add_listener(callback, mask)
        for job, alias in jobs:
            paused = getattr(job, "next_run_time", undefined) is None
            aps.add_job(
                job.func,
                job.trigger,
                args=job.args,
                kwargs=job.kwargs,
                id=job.id,
                name=job.name,
                misfire_grace_time=getattr(job, "misfire_grace_time", undefined),
                coalesce=getattr(job, "coalesce", undefined),
                max_instances=getattr(job, "max_instances", undefined),
                next_run_time=None if paused else undefined,  # else computed afresh
                jobstore=alias,
                executor=job.executor,
                replace_existing=True,
            )
        return aps

    def _flyer_memory_aliases(self) -> List[str]:
        """Aliases of the in-memory job stores, whose jobs a new scheduler must be handed."""
        aliases = ["default"]
        aliases.extend(self._flyer_options.get("jobstores") or {})
        aliases.extend(
            k.split(".")[2] for k in self._flyer_gconfig if k.startswith("apscheduler.jobstores.")
        )
        aliases.extend(self._flyer_added_stores)
        found = []
        for alias in dict.fromkeys(aliases):
            added = self._flyer_added_stores.get(alias)
            store = added[0] if added else self._flyer_configured("jobstores", alias)
            if _in_memory(store):
                found.append(alias)
        return found

    def _flyer_jobs(self, aps: BaseScheduler) -> List[Tuple[Any, str]]:
        """The jobs of `aps`'s in-memory stores (pending ones too), with their store aliases."""
        jobs: List[Tuple[Any, str]] = []
        for alias in self._flyer_memory_aliases():
            jobs.extend((job, alias) for job in aps.get_jobs(jobstore=alias))
        return jobs

    def jobstore_of(self, job_id: str) -> str:
        """The alias of the job store `job_id` was added to (for APScheduler's events)."""
        return self._flyer_job_stores.get(job_id, "default")

    def flyer_report(self, job: Any, tick: Tick, events: List[Any], duration: float) -> None:
        """Record and report a run (called by flyer's executors)."""
        from flyer_sched._executors import _event_for

        event = _event_for(job, tick, events, duration)
        if event.outcome in ("success", "error"):
            self._flyer_last_runs[job.id] = tick.scheduled_time
        self._flyer_report_event(event)

    @property
    def _flyer_hooks(self) -> RunHooks:
        """What reports this scheduler's runs (made, and `_events` imported, on first use)."""
        reporter = self._flyer_reporter
        if reporter is None:
            from flyer_sched._events import RunHooks

            with self._flyer_mutex:
                if self._flyer_reporter is None:
                    self._flyer_reporter = RunHooks()
                reporter = self._flyer_reporter
        return reporter

    def _flyer_report_event(self, event: RunEvent) -> None:
        """Log a run and call the run hooks with it."""
        self._flyer_hooks.report(event, self._flyer_run_hooks)

    @property
    def flyer_wrappers(self) -> RunWrappers:
        """The run wrappers (made, and `_events` imported, on first use)."""
        wrappers = self._flyer_wrappers
        if wrappers is None:
            from flyer_sched._events import RunWrappers

            with self._flyer_mutex:
                if self._flyer_wrappers is None:
                    self._flyer_wrappers = RunWrappers()
                wrappers = self._flyer_wrappers
        return wrappers

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
            # A name until the APScheduler scheduler is made (`_flyer_build` converts it).
            self._flyer_options["timezone"] = settings.timezone
            if self._flyer_aps is not None:
                from apscheduler.util import astimezone

                self._flyer_aps.timezone = astimezone(settings.timezone)
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
        from flyer_sched._store import LockStore

        if not isinstance(store, LockStore):
            raise TypeError(f"lock_store={store!r}: expected a LockStore")
        with self._flyer_mutex:
            self._flyer_store = store
            self._flyer_store_explicit = True

    def flyer_store_for(self, choice: Union[str, LockStore, None]) -> LockStore:
        """The store a lock or leader asked for: a `LockStore` as given, a kind by name
        (`make_lock_store`), or by default `lock_store`."""
        from flyer_sched._store import LockStore

        if isinstance(choice, LockStore):
            return choice
        if choice is None:
            return self.lock_store
        return self.make_lock_store(choice)

    def make_lock_store(self, kind: str) -> LockStore:
        """A store of `kind` ('redis', 'file' or 'memory') built from the settings, cached."""
        with self._flyer_mutex:
            made = self._flyer_made_stores.get(kind)
            if made is not None:
                return made
            settings = self.flyer_settings
            store: LockStore
            if kind == "memory":
                from flyer_sched._memory_store import SHARED

                store = SHARED
            elif kind == "file":
                from flyer_sched._file_store import FileLockStore

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
            from flyer_sched._lock import LockSpec, make_locked

            spec = LockSpec(func, self, id=id, ttl=ttl, store=store, on_store_error=on_store_error)
            return cast(F, make_locked(spec))

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
        from flyer_sched._leader import Leader
        from flyer_sched._lock import default_job_id

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
            running = self.running
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

    @property
    def flyer_loop(self) -> Optional[asyncio.AbstractEventLoop]:
        """The event loop the scheduler runs on (asyncio), else None."""
        return None

    # -- APScheduler's API ------------------------------------------------------------------

    @property
    def running(self) -> bool:
        """Whether the scheduler runs (paused counts as running, as in APScheduler)."""
        return self.state != _STATE_STOPPED

    @property
    def state(self) -> int:
        """APScheduler's `STATE_STOPPED`, `STATE_RUNNING` or `STATE_PAUSED`."""
        aps = self._flyer_aps
        if aps is None:
            with self._flyer_mutex:
                aps = self._flyer_now()
                if aps is None:
                    paused = self._flyer_deferred
                    if paused is None:
                        return _STATE_STOPPED
                    return _STATE_PAUSED if paused else _STATE_RUNNING
        return int(aps.state)

    @property
    def timezone(self) -> Any:
        """The default time zone of triggers."""
        return self._aps.timezone

    @timezone.setter
    def timezone(self, zone: Any) -> None:
        from apscheduler.util import astimezone

        self._flyer_options["timezone"] = astimezone(zone)
        self._flyer_tz_explicit = True
        self._aps.timezone = self._flyer_options["timezone"]

    def configure(
        self, gconfig: Optional[Dict[str, Any]] = None, prefix: str = "apscheduler.", **options: Any
    ) -> None:
        """APScheduler's `configure` (only while stopped); kept for every later lifespan."""
        self._aps.configure(gconfig or {}, prefix, **options)
        for key, value in (gconfig or {}).items():
            if key.startswith(prefix):
                self._flyer_gconfig["apscheduler." + key[len(prefix) :]] = value
        self._flyer_options.update(options)
        if "timezone" in options:
            self._flyer_tz_explicit = True

    def add_jobstore(self, jobstore: Any, alias: str = "default", **jobstore_opts: Any) -> None:
        self._aps.add_jobstore(jobstore, alias, **jobstore_opts)
        self._flyer_added_stores[alias] = (jobstore, jobstore_opts)

    def remove_jobstore(self, alias: str, shutdown: bool = True) -> None:
        self._aps.remove_jobstore(alias, shutdown)
        self._flyer_added_stores.pop(alias, None)

    def add_executor(self, executor: Any, alias: str = "default", **executor_opts: Any) -> None:
        from flyer_sched._executors import _FlyerExecutor

        self._aps.add_executor(executor, alias, **executor_opts)
        self._flyer_added_executors[alias] = (executor, executor_opts)
        if isinstance(executor, _FlyerExecutor):
            executor.flyer_owner = self
        if hasattr(executor, "submit_job"):
            self._flyer_executors[alias] = executor

    def remove_executor(self, alias: str, shutdown: bool = True) -> None:
        self._aps.remove_executor(alias, shutdown)
        self._flyer_added_executors.pop(alias, None)
        self._flyer_executors.pop(alias, None)

    def add_listener(self, callback: Any, mask: Optional[int] = None) -> None:
        """APScheduler's `add_listener`; `mask` defaults to every event (`EVENT_ALL`)."""
        if mask is None:
            from apscheduler.events import EVENT_ALL

            mask = EVENT_ALL
        self._aps.add_listener(callback, mask)
        with self._flyer_mutex:
            self._flyer_listeners.append((callback, mask))

    def remove_listener(self, callback: Any) -> None:
        self._aps.remove_listener(callback)
        with self._flyer_mutex:
            self._flyer_listeners = [(c, m) for c, m in self._flyer_listeners if c != callback]

    def flyer_dispatch(self, event: Any) -> None:
        """Hand a run's event (executed, error, missed) from flyer's executors to the
        listeners whose mask takes it; a listener that raises is logged and skipped."""
        with self._flyer_mutex:
            listeners = list(self._flyer_listeners)
        for callback, mask in listeners:
            if event.code & mask:
                try:
                    callback(event)
                except BaseException:
                    logger.exception("Error notifying listener")

    def scheduled_job(self, trigger: Any, *args: Any, **kwargs: Any) -> Callable[[F], F]:
        """APScheduler's `scheduled_job` decorator: `add_job`'s arguments after `func`, and the
        job replaces one of the same id."""

        def inner(func: F) -> F:
            # Too many positional arguments collide with replace_existing: a TypeError, as in
            # APScheduler.
            self.add_job(func, trigger, *args, replace_existing=True, **kwargs)  # type: ignore[misc]
            return func

        return inner

    def modify_job(self, job_id: str, jobstore: Optional[str] = None, **changes: Any) -> Any:
        return self._aps.modify_job(job_id, jobstore, **changes)

    def get_jobs(self, jobstore: Optional[str] = None, pending: Any = None) -> List[Any]:
        aps = self._flyer_made()
        if aps is None:  # nothing made: no job anywhere (a configured store makes it)
            return []
        return list(aps.get_jobs(jobstore))

    def get_job(self, job_id: str, jobstore: Optional[str] = None) -> Any:
        aps = self._flyer_made()
        if aps is None:
            return None
        return aps.get_job(job_id, jobstore)

    def remove_job(self, job_id: str, jobstore: Optional[str] = None) -> None:
        self._aps.remove_job(job_id, jobstore)
        with self._flyer_mutex:
            self._flyer_job_stores.pop(job_id, None)

    def remove_all_jobs(self, jobstore: Optional[str] = None) -> None:
        self._aps.remove_all_jobs(jobstore)

    def print_jobs(self, jobstore: Optional[str] = None, out: Any = None) -> None:
        self._aps.print_jobs(jobstore, out)

    def pause(self) -> None:
        if not self._flyer_flip(True):
            self._aps.pause()

    def resume(self) -> None:
        if not self._flyer_flip(False):
            self._aps.resume()

    def _flyer_flip(self, paused: bool) -> bool:
        """Pause or resume a deferred start; False when there is none (APScheduler decides)."""
        with self._flyer_mutex:
            if self._flyer_now() is not None or self._flyer_deferred is None:
                return False
            self._flyer_deferred = paused
            return True

    def wakeup(self) -> None:
        aps = self._flyer_made()
        if aps is not None:  # nothing made: no job to wake up for
            aps.wakeup()

    def __getattr__(self, name: str) -> Any:
        # The rest of APScheduler's public API (export_jobs, import_jobs, ...), as it is.
        if name.startswith("_"):
            raise AttributeError(name)
        return getattr(self._aps, name)

    def add_job(
        self,
        func: Any,
        trigger: Any = None,
        args: Any = None,
        kwargs: Any = None,
        id: Optional[str] = None,
        name: Optional[str] = None,
        misfire_grace_time: Any = UNDEFINED,
        coalesce: Any = UNDEFINED,
        max_instances: Any = UNDEFINED,
        next_run_time: Any = UNDEFINED,
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
        from flyer_sched._lock import default_job_id, lock_spec_of
        from flyer_sched._store import EPOCH

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
            if not replace_existing and self.get_job(id) is not None:
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
        from apscheduler.util import undefined

        def given(value: Any) -> Any:
            return undefined if value is UNDEFINED else value

        job = self._aps.add_job(
            func,
            trigger,
            args,
            kwargs,
            id,
            name,
            given(misfire_grace_time),
            given(coalesce),
            given(max_instances),
            given(next_run_time),
            jobstore,
            executor,
            replace_existing,
            **trigger_args,
        )
        with self._flyer_mutex:
            self._flyer_job_stores[job.id] = jobstore
        return job

    def reschedule_job(
        self,
        job_id: str,
        jobstore: Optional[str] = None,
        trigger: Any = None,
        **trigger_args: Any,
    ) -> Any:
        """APScheduler's `reschedule_job`; a locked job's new interval stays epoch-aligned."""
        from flyer_sched._lock import lock_spec_of
        from flyer_sched._store import EPOCH

        job = self._flyer_lookup(job_id, jobstore)
        if lock_spec_of(job.func) is not None:
            if trigger_args.get("jitter"):
                raise ValueError(f"job {job_id!r}: a locked job cannot use jitter")
            if trigger == "interval" and trigger_args.get("start_date") is None:
                trigger_args["start_date"] = EPOCH
        return self._aps.reschedule_job(job_id, jobstore, trigger, **trigger_args)

    def start(self, paused: bool = False) -> None:
        """Start processing jobs, then campaign for every leader."""
        self._flyer_apply_settings()
        self._flyer_warm_stores()
        self._flyer_start(paused)
        self._flyer_warn_foreign_executors()
        for leader in self.get_leaders():
            leader.start()

    def _flyer_warm_stores(self) -> None:
        """Build the lock stores now, so the first tick does not pay for imports and clients."""
        stores: List[LockStore] = [leader.store() for leader in self.get_leaders()]
        jobs = self.get_jobs()
        if jobs:  # none: no lock to look for
            from flyer_sched._lock import lock_spec_of

            for job in jobs:
                spec = lock_spec_of(job.func)
                if spec is not None:
                    stores.append(spec.store())
        for store in {id(s): s for s in stores}.values():
            store.warm()

    def _flyer_start(self, paused: bool) -> None:
        with self._flyer_mutex:
            if self._flyer_defer(paused):
                return
        self._aps.start(paused)

    def shutdown(self, wait: bool = True) -> None:
        """Stop the leaders (releasing their leases), then APScheduler's shutdown."""
        if not self.running:
            from apscheduler.schedulers import SchedulerNotRunningError

            raise SchedulerNotRunningError
        self._flyer_stop_leaders(self.flyer_settings.shutdown_timeout)
        self._flyer_shutdown(wait)

    def _flyer_shutdown(self, wait: bool) -> None:
        """Shut the APScheduler scheduler down and put a fresh, stopped one with the same
        in-memory jobs (rescheduled afresh at the next start) in its place; a deferred start
        is only forgotten."""
        if self._flyer_drop_deferred():
            return
        old = self._aps
        jobs = self._flyer_jobs(old)
        old.shutdown(wait)
        self._aps = self._flyer_build(None, jobs)

    def _flyer_stop_leaders(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        ok = True
        for leader in self.get_leaders():
            ok = leader.stop(max(0.0, deadline - time.monotonic())) and ok
        return ok

    def _flyer_warn_foreign_executors(self) -> None:
        jobs = self.get_jobs()
        if not jobs:  # nothing to check: APScheduler's executors stay unimported
            return
        from flyer_sched._lock import lock_spec_of

        locked = [job for job in jobs if lock_spec_of(job.func) is not None]
        if not locked:
            return
        from flyer_sched._executors import AsyncIOExecutor, ThreadPoolExecutor

        flyer_executors = (ThreadPoolExecutor, AsyncIOExecutor)
        for job in locked:
            executor = self._flyer_executors.get(job.executor)
            if executor is None or not isinstance(executor, flyer_executors):
                logger.error(
                    "job %s: locked jobs need flyer_sched's executors to know their tick; "
                    "executor %r runs it with mutual exclusion only",
                    job.id,
                    job.executor,
                    extra={"job_id": job.id},
                )

    def add_run_hook(self, hook: RunHook) -> None:
        """Call `hook(event)` with a `RunEvent` after every run (for metrics)."""
        with self._flyer_mutex:
            self._flyer_run_hooks = (*self._flyer_run_hooks, hook)

    def remove_run_hook(self, hook: RunHook) -> None:
        with self._flyer_mutex:
            if hook in self._flyer_run_hooks:
                left = list(self._flyer_run_hooks)
                left.remove(hook)
                self._flyer_run_hooks = tuple(left)

    def add_run_wrapper(self, wrapper: RunWrapper) -> None:
        """Enter `wrapper(job_id, scheduled_time, manual)`, a context manager, around every run
        that executes, in the thread or task that runs the job (for tracing); skipped ticks are
        not wrapped. A wrapper that raises is logged and never fails the job."""
        self.flyer_wrappers.add(wrapper)

    def remove_run_wrapper(self, wrapper: RunWrapper) -> None:
        self.flyer_wrappers.remove(wrapper)

    def pause_job(self, job_id: str, jobstore: Optional[str] = None) -> Any:
        """Pause a job here; a locked job is also paused in every process sharing its store."""
        job = self._flyer_lookup(job_id, jobstore)
        self._flyer_set_fleet_pause(job, True)
        return self._aps.pause_job(job_id, jobstore)

    def resume_job(self, job_id: str, jobstore: Optional[str] = None) -> Any:
        """Resume a job here; a locked job is also resumed in every process sharing its store."""
        job = self._flyer_lookup(job_id, jobstore)
        self._flyer_set_fleet_pause(job, False)
        return self._aps.resume_job(job_id, jobstore)

    def _flyer_lookup(self, job_id: str, jobstore: Optional[str] = None) -> Any:
        job = self.get_job(job_id, jobstore)
        if job is None:
            from apscheduler.jobstores.base import JobLookupError

            raise JobLookupError(job_id)
        return job

    def _flyer_set_fleet_pause(self, job: Any, paused: bool) -> None:
        from flyer_sched._lock import lock_spec_of

        spec = lock_spec_of(job.func)
        if spec is not None:
            spec.store().set_paused(spec.store_name(spec.id or job.id), paused)

    def run_job_now(self, job_id: str, jobstore: Optional[str] = None) -> None:
        """Run a job once now, in this process, without touching its schedule.

        A locked job still takes its run lock (so it does not overlap a run elsewhere) but
        claims no tick. Raises `JobLookupError`, `SchedulerNotRunningError` or APScheduler's
        `MaxInstancesReachedError`.
        """
        from apscheduler.schedulers import SchedulerNotRunningError
        from apscheduler.schedulers.base import STATE_STOPPED

        from flyer_sched._executors import ManualRunTimes

        if self.state == STATE_STOPPED:
            raise SchedulerNotRunningError
        job = self._flyer_lookup(job_id, jobstore)
        executor = self._flyer_executors.get(job.executor)
        if executor is None:  # configured by name: APScheduler's own "run now" moves the schedule
            job.modify(next_run_time=datetime.now(timezone.utc))
            return
        self._flyer_submit(executor, job, ManualRunTimes([datetime.now(timezone.utc)]))

    def _flyer_submit(self, executor: Any, job: Any, run_times: ManualRunTimes) -> None:
        executor.submit_job(job, run_times)

    # -- listing --------------------------------------------------------------------------

    def job_info(self, job: Any) -> Dict[str, Any]:
        """A JSON-ready description of a job, with its lock's fleet-wide state."""
        from flyer_sched._lock import lock_spec_of
        from flyer_sched._store import LockStoreError

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
        jobs = self.get_jobs()
        return [self.job_info(job) for job in sorted(jobs, key=lambda j: j.id)]

    def leader_info(self, leader: Leader) -> Dict[str, Any]:
        from flyer_sched._store import LockStoreError

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
        futures = self.running_futures()
        jobs_ok = True
        if futures:  # none: APScheduler's executors stay unimported
            from flyer_sched._executors import wait_futures

            jobs_ok = await wait_futures(futures, left())
        await self._flyer_shutdown_from(loop)
        return bool(leaders_ok and jobs_ok)

    async def _flyer_shutdown_from(self, loop: asyncio.AbstractEventLoop) -> None:
        raise NotImplementedError

    def running_futures(self) -> List[Any]:
        """Futures of the runs in flight in this process's flyer executors."""
        futures: List[Any] = []
        for executor in list(self._flyer_executors.values()):
            running = getattr(executor, "running_futures", None)
            if running is not None:
                futures.extend(running())
        return futures


def _in_memory(store: Any) -> bool:
    """Whether a job store, as configured (instance, dict or name), keeps jobs in memory."""
    from apscheduler.jobstores.base import BaseJobStore
    from apscheduler.jobstores.memory import MemoryJobStore

    if store is None or isinstance(store, MemoryJobStore):
        return True
    if isinstance(store, BaseJobStore):
        return False
    if isinstance(store, str):
        return store == "memory"
    if isinstance(store, dict):
        kind = store.get("type")
        cls = store.get("class")
        if cls is not None:
            return cls is MemoryJobStore or str(cls).endswith("MemoryJobStore")
        return kind in (None, "memory")
    return False


class BackgroundScheduler(FlyerScheduler):
    """APScheduler's `BackgroundScheduler` (jobs in a thread pool) with flyer's additions.

    Restartable: `start()` after `shutdown()` works, so one process can host many app
    lifespans.
    """

    flyer_name = "background"

    def _flyer_check_leader(self, leader: Leader) -> None:
        if leader.is_async:
            raise TypeError(
                f"leader {leader.id!r} is a coroutine function: register it on asyncio_scheduler"
            )

    async def _flyer_shutdown_from(self, loop: asyncio.AbstractEventLoop) -> None:
        await loop.run_in_executor(None, self._flyer_shutdown, False)


class AsyncIOScheduler(FlyerScheduler):
    """APScheduler's `AsyncIOScheduler` with flyer's additions.

    `start()` binds to the running event loop every time it is called (so the scheduler
    follows an app from one lifespan, and loop, to the next), and `shutdown()` takes effect
    before it returns when called on that loop.
    """

    flyer_name = "asyncio"

    def __init__(
        self,
        gconfig: Optional[Dict[str, Any]] = None,
        *,
        settings: Optional[SchedSettings] = None,
        **options: Any,
    ) -> None:
        self._flyer_configured_loop: Optional[asyncio.AbstractEventLoop] = options.pop(
            "event_loop", None
        )
        self._flyer_loop_now: Optional[asyncio.AbstractEventLoop] = None
        super().__init__(gconfig, settings=settings, **options)

    def _flyer_new(self, options: Dict[str, Any], loop: Any) -> BaseScheduler:
        if loop is None:
            # Between lifespans the jobs wait in a scheduler that is never started (no loop
            # is needed to hold them); `start()` hands them to one bound to the running loop.
            from apscheduler.schedulers.blocking import BlockingScheduler as APSHolder

            return APSHolder(self._flyer_gconfig, **options)
        from apscheduler.schedulers.asyncio import AsyncIOScheduler as APSAsyncIO

        return APSAsyncIO(self._flyer_gconfig, event_loop=loop, **options)

    def _flyer_default_executor(self) -> Any:
        from flyer_sched._executors import AsyncIOExecutor

        return AsyncIOExecutor()

    @property
    def flyer_loop(self) -> Optional[asyncio.AbstractEventLoop]:
        return self._flyer_loop_now

    def _flyer_deferred_loop(self) -> Any:
        return self._flyer_loop_now if self._flyer_deferred is not None else None

    def _flyer_drop_deferred(self) -> bool:
        with self._flyer_mutex:
            if not super()._flyer_drop_deferred():
                return False
            self._flyer_loop_now = None
            return True

    def _flyer_start(self, paused: bool) -> None:
        """Start on the running event loop (or the `event_loop` given at configuration)."""
        configured = self._flyer_configured_loop
        if configured is not None and not configured.is_closed():
            loop = configured
        else:
            try:
                loop = asyncio.get_running_loop()
            except RuntimeError:
                raise RuntimeError(
                    "asyncio_scheduler.start() needs a running event loop: call it from a "
                    "coroutine (for example the app's lifespan)"
                ) from None
        with self._flyer_mutex:
            if self._flyer_defer(paused):
                self._flyer_loop_now = loop
                return
        if self.running:
            from apscheduler.schedulers import SchedulerAlreadyRunningError

            raise SchedulerAlreadyRunningError
        jobs = self._flyer_jobs(self._aps)
        self._flyer_loop_now = loop
        self._aps = self._flyer_build(loop, jobs)
        self._aps.start(paused)

    def _flyer_shutdown(self, wait: bool) -> None:
        if self._flyer_drop_deferred():
            return
        loop = self._flyer_loop_now
        try:
            here: Optional[asyncio.AbstractEventLoop] = asyncio.get_running_loop()
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
        """Shut down now: APScheduler's asyncio scheduler finishes its own shutdown on the
        loop's next turn, which a lifespan's loop may never take; so its processing is paused
        and flyer's executors cancel their runs here, and a fresh scheduler takes its place."""
        from apscheduler.schedulers import SchedulerNotRunningError

        from flyer_sched._executors import AsyncIOExecutor

        old = self._aps
        jobs = self._flyer_jobs(old)
        executors = list(self._flyer_executors.values())
        old.pause()
        try:
            old.shutdown(wait)
        except (SchedulerNotRunningError, RuntimeError):  # RuntimeError: its loop is closed
            pass
        for executor in executors:
            if isinstance(executor, AsyncIOExecutor):
                executor.shutdown(wait)
        self._flyer_loop_now = None
        self._aps = self._flyer_build(None, jobs)

    def _flyer_submit(self, executor: Any, job: Any, run_times: ManualRunTimes) -> None:
        loop = self._flyer_loop_now
        try:
            here: Optional[asyncio.AbstractEventLoop] = asyncio.get_running_loop()
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

    async def _flyer_shutdown_from(self, loop: asyncio.AbstractEventLoop) -> None:
        self._flyer_shutdown(False)  # coroutine jobs still running are cancelled


Scheduler = Union[BackgroundScheduler, AsyncIOScheduler]
