"""`@scheduler.lock()`: a job runs once per scheduled tick across every process that has it."""

from __future__ import annotations

import asyncio
import functools
import inspect
import logging
import secrets
import time
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, Callable, Optional, Tuple, TypeVar, Union

from flyer_sched._events import RunEvent
from flyer_sched._renewal import renew_while_held
from flyer_sched._store import LockStore, LockStoreError, holder_id, tick_of
from flyer_sched._tick import _CURRENT, Tick

if TYPE_CHECKING:
    from flyer_sched._schedulers import FlyerScheduler

F = TypeVar("F", bound=Callable[..., Any])
logger = logging.getLogger("flyer.sched")
StoreChoice = Union[None, str, LockStore]
STORE_KINDS = ("redis", "file", "memory")


def default_job_id(func: Any) -> str:
    """`module:qualname` of a callable: stable across processes and deployments, URL-safe."""
    if isinstance(func, str):
        return func
    target = func
    while isinstance(target, functools.partial):
        target = target.func
    module = getattr(target, "__module__", None) or "unknown"
    qualname = getattr(target, "__qualname__", None) or type(target).__qualname__
    qualname = qualname.replace("<locals>.", "").replace("<", "").replace(">", "")
    return f"{module}:{qualname}"


class LockSpec:
    """How a locked function claims its ticks: lock id, TTL, store and store-error policy."""

    def __init__(
        self,
        func: Callable[..., Any],
        scheduler: FlyerScheduler,
        *,
        id: Optional[str],
        ttl: Optional[float],
        store: StoreChoice,
        on_store_error: Optional[str],
    ) -> None:
        if id is not None and (not isinstance(id, str) or not id):
            raise ValueError(f"lock id={id!r}: expected a non-empty string")
        if ttl is not None and not (isinstance(ttl, (int, float)) and 0 < ttl < float("inf")):
            raise ValueError(f"lock ttl={ttl!r}: expected a number of seconds > 0")
        if store is not None and not isinstance(store, LockStore) and store not in STORE_KINDS:
            raise ValueError(
                f"lock store={store!r}: expected 'redis', 'file', 'memory' or a LockStore"
            )
        if on_store_error not in (None, "skip", "run"):
            raise ValueError(f"lock on_store_error={on_store_error!r}: expected 'skip' or 'run'")
        self.func = func
        self.scheduler = scheduler
        self.id = id
        self._ttl = ttl
        self._store = store
        self._on_store_error = on_store_error
        self.default_id = id or default_job_id(func)

    @property
    def ttl(self) -> float:
        return self._ttl if self._ttl is not None else self.scheduler.flyer_settings.lock_ttl

    @property
    def on_store_error(self) -> str:
        if self._on_store_error is not None:
            return self._on_store_error
        return self.scheduler.flyer_settings.on_store_error

    def store(self) -> LockStore:
        if isinstance(self._store, LockStore):
            return self._store
        if self._store is None:
            return self.scheduler.lock_store
        return self.scheduler.make_lock_store(self._store)

    def store_name(self, lock_id: str) -> str:
        return f"job:{lock_id}"


def _claim_for(spec: LockSpec, tick: Tick) -> Optional[Callable[[], None]]:
    """Claim the tick's lock. Returns the release callable, or None when the tick is skipped.

    Raises `_RunUnlocked` when the store failed and the policy says run anyway.
    """
    lock_id = spec.id or tick.job_id
    tick.lock_id = lock_id
    store = spec.store()
    name = spec.store_name(lock_id)
    token = secrets.token_hex(16)
    holder = holder_id()
    ttl = spec.ttl
    tick_us = None if tick.manual else tick_of(tick.scheduled_time)
    started = time.monotonic()
    try:
        try:
            claim = store.claim(name, tick_us, token, holder, ttl)
        finally:
            spec.scheduler._flyer_hooks.claimed(
                tick.job_id, tick.scheduled_time, time.monotonic() - started
            )
    except LockStoreError as exc:
        if spec.on_store_error == "run":
            logger.error(
                "lock %s: store unreachable, running without the lock: %s",
                lock_id,
                exc,
                extra={"job_id": tick.job_id, "lock_id": lock_id, "error": str(exc)},
            )
            tick.reason = "unlocked"
            tick.error = str(exc)
            raise _RunUnlocked() from exc
        tick._skip("lock_store_unreachable", error=str(exc))
        return None
    if not claim.acquired:
        tick._skip(claim.reason, holder=claim.holder)
        return None
    tick.fencing_token = claim.fencing_token
    tick.holder = holder
    renewal = renew_while_held(
        store, name, token, ttl, tick._lost.set, {"job_id": tick.job_id, "lock_id": lock_id}
    )

    def release() -> None:
        renewal.stop()
        if tick.lock_lost:
            return
        try:
            store.release(name, token)
        except LockStoreError as exc:
            logger.warning(
                "lock %s: release failed, the lock expires after its TTL: %s",
                lock_id,
                exc,
                extra={"job_id": tick.job_id, "lock_id": lock_id, "error": str(exc)},
            )

    return release


class _RunUnlocked(Exception):
    pass


def claim_scheduled(func: Any, tick: Tick) -> Tuple[bool, Optional[Callable[[], None]]]:
    """Claim `tick` for a locked job before the executor calls it.

    Returns `(run, release)`: `run` False when the tick is skipped (the job is not called, so
    nothing reports it as executed); `release` to call after the run, if a lock was taken.
    Not a locked job: `(True, None)`, and the function is called as it is.
    """
    spec = lock_spec_of(func)
    if spec is None:
        return True, None
    try:
        release = _claim_for(spec, tick)
    except _RunUnlocked:
        tick._claimed_for = spec
        return True, None
    if release is None:
        return False, None
    tick._claimed_for = spec
    return True, release


def _enter(spec: LockSpec) -> tuple[Tick, Any]:
    """The tick of this call: the scheduler's, or a fresh manual one for a direct call."""
    outer = _CURRENT.get()
    if outer is not None and outer.lock_id is None:
        return outer, None
    tick = Tick(spec.default_id, datetime.now(timezone.utc), manual=True)
    return tick, _CURRENT.set(tick)


def _leave(spec: LockSpec, tick: Tick, reset: Any, started: float, error: Optional[str]) -> None:
    if reset is None:
        return
    _CURRENT.reset(reset)
    outcome = "error" if error else ("skipped" if tick.skipped else "success")
    spec.scheduler._flyer_report_event(
        RunEvent(
            job_id=tick.job_id,
            scheduled_time=tick.scheduled_time,
            outcome=outcome,
            duration=time.monotonic() - started,
            reason=tick.reason,
            lock_id=tick.lock_id,
            holder=tick.holder,
            fencing_token=tick.fencing_token,
            error=error or tick.error,
            manual=True,
        )
    )


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"[:500]


def make_locked(spec: LockSpec) -> Callable[..., Any]:
    """Wrap `spec.func` so every call first claims its tick (sync or async alike)."""
    func = spec.func

    if inspect.iscoroutinefunction(func):

        @functools.wraps(func)
        async def locked_async(*args: Any, **kwargs: Any) -> Any:
            claimed = _CURRENT.get()
            if claimed is not None and claimed._claimed_for is spec:
                return await func(*args, **kwargs)  # the executor holds the tick's lock
            tick, reset = _enter(spec)
            started = time.monotonic()
            error: Optional[str] = None
            try:
                loop = asyncio.get_running_loop()
                try:
                    release = await loop.run_in_executor(None, _claim_for, spec, tick)
                except _RunUnlocked:
                    return await func(*args, **kwargs)
                if release is None:
                    return None
                try:
                    return await func(*args, **kwargs)
                finally:
                    # Shielded: a cancelled await would cancel the release before it started.
                    await asyncio.shield(loop.run_in_executor(None, release))
            except BaseException as exc:
                error = _describe(exc)
                raise
            finally:
                _leave(spec, tick, reset, started, error)

        wrapper: Callable[..., Any] = locked_async
    else:

        @functools.wraps(func)
        def locked(*args: Any, **kwargs: Any) -> Any:
            claimed = _CURRENT.get()
            if claimed is not None and claimed._claimed_for is spec:
                return func(*args, **kwargs)  # the executor holds the tick's lock
            tick, reset = _enter(spec)
            started = time.monotonic()
            error: Optional[str] = None
            try:
                try:
                    release = _claim_for(spec, tick)
                except _RunUnlocked:
                    return func(*args, **kwargs)
                if release is None:
                    return None
                try:
                    return func(*args, **kwargs)
                finally:
                    release()
            except BaseException as exc:
                error = _describe(exc)
                raise
            finally:
                _leave(spec, tick, reset, started, error)

        wrapper = locked

    wrapper.__flyer_lock__ = spec  # type: ignore[attr-defined]
    return wrapper


def lock_spec_of(func: Any) -> Optional[LockSpec]:
    """The `LockSpec` of a function decorated with `lock()`, else None."""
    target = func
    while isinstance(target, functools.partial):
        target = target.func
    spec = getattr(target, "__flyer_lock__", None)
    return spec if isinstance(spec, LockSpec) else None
