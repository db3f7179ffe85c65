"""`@scheduler.leader()`: a long-running function that runs in exactly one process of the fleet.

Every process that starts the scheduler campaigns for a lease (the same store and Lua scripts
as `lock()`, with no tick). The winner runs the function and renews the lease every ttl/4;
the others retry when the lease would expire. When the holder dies its lease expires after at
most `ttl` seconds and another process takes over. When a renewal finds the lease gone (the
holder stalled past its TTL), the function is asked to stop: `current_lease().stopping` turns
true and `lease.wait()` returns, and a coroutine function is cancelled.
"""

from __future__ import annotations

import asyncio
import contextvars
import inspect
import logging
import secrets
import threading
import time
from typing import TYPE_CHECKING, Any, Callable, Dict, Optional

from flyer_sched._store import LockStore, LockStoreError, holder_id, renew_interval

if TYPE_CHECKING:
    from flyer_sched._schedulers import FlyerScheduler

logger = logging.getLogger("flyer.sched")


class Lease:
    """The leadership a leader function runs under (`current_lease()` inside it)."""

    def __init__(self, leader_id: str, fencing_token: Optional[int], holder: str) -> None:
        self.id = leader_id
        self.fencing_token = fencing_token
        self.holder = holder
        self._lost = threading.Event()
        self._stopping = threading.Event()

    def __repr__(self) -> str:
        return f"Lease(id={self.id!r}, fencing_token={self.fencing_token!r})"

    @property
    def lost(self) -> bool:
        """True once a renewal found the lease taken or expired."""
        return self._lost.is_set()

    @property
    def stopping(self) -> bool:
        """True when the function should return: lease lost or scheduler shutting down."""
        return self._stopping.is_set()

    def wait(self, timeout: float) -> bool:
        """Sleep up to `timeout` seconds; returns True (early) when the function should stop."""
        return self._stopping.wait(timeout)

    def _stop(self, lost: bool = False) -> None:
        if lost:
            self._lost.set()
        self._stopping.set()


_LEASE: contextvars.ContextVar[Optional[Lease]] = contextvars.ContextVar(
    "flyer_sched_lease", default=None
)


def current_lease() -> Optional[Lease]:
    """The lease the calling leader function runs under, or None outside a leader."""
    return _LEASE.get()


class _Run:
    """One execution of the leader function, in a thread or as a task on the scheduler's loop."""

    def __init__(self, leader: Leader, lease: Lease, wake: threading.Event) -> None:
        self.finished = threading.Event()
        self.raised = False
        self._leader = leader
        self._lease = lease
        self._wake = wake
        self._future: Any = None
        loop = leader.scheduler.flyer_loop
        if leader.is_async:
            if loop is None:
                raise RuntimeError("an async leader needs a running asyncio scheduler")
            self._future = asyncio.run_coroutine_threadsafe(self._main_async(), loop)
            self._future.add_done_callback(lambda _: self._done())
        else:
            thread = threading.Thread(
                target=self._main, name=f"flyer-sched-leader:{leader.id}", daemon=True
            )
            thread.start()

    def _done(self) -> None:
        self.finished.set()
        self._wake.set()

    def _report(self, exc: Optional[BaseException]) -> None:
        fields = {"leader_id": self._leader.id, "fencing_token": self._lease.fencing_token}
        if exc is None or isinstance(exc, asyncio.CancelledError):
            logger.info("leader %s returned", self._leader.id, extra=fields)
        else:
            self.raised = True
            logger.error(
                "leader %s raised %s",
                self._leader.id,
                type(exc).__name__,
                exc_info=exc,
                extra=fields,
            )

    def _main(self) -> None:
        _LEASE.set(self._lease)
        try:
            self._leader.func(*self._leader.args, **self._leader.kwargs)
        except BaseException as exc:
            self._report(exc)
        else:
            self._report(None)
        finally:
            self._done()

    async def _main_async(self) -> None:
        _LEASE.set(self._lease)
        try:
            await self._leader.func(*self._leader.args, **self._leader.kwargs)
        except BaseException as exc:
            self._report(exc)
            if isinstance(exc, asyncio.CancelledError):
                raise
        else:
            self._report(None)

    def cancel(self) -> None:
        if self._future is not None:
            self._future.cancel()


class Leader:
    """A registered leader function and its campaign thread."""

    def __init__(
        self,
        func: Callable[..., Any],
        scheduler: FlyerScheduler,
        *,
        id: str,
        ttl: Optional[float],
        store: Any,
        retry_interval: Optional[float],
        args: Any = (),
        kwargs: Optional[Dict[str, Any]] = None,
        once: bool = False,
    ) -> None:
        if ttl is not None and not (isinstance(ttl, (int, float)) and 0 < ttl < float("inf")):
            raise ValueError(f"leader ttl={ttl!r}: expected a number of seconds > 0")
        if retry_interval is not None and not (
            isinstance(retry_interval, (int, float)) and retry_interval >= 0
        ):
            raise ValueError(f"leader retry_interval={retry_interval!r}: expected seconds >= 0")
        self.func = func
        self.scheduler = scheduler
        self.id = id
        self.args = tuple(args)
        self.kwargs = dict(kwargs or {})
        self.is_async = inspect.iscoroutinefunction(func)
        self.once = once
        self._ttl = ttl
        self._store_choice = store
        self._retry_interval = retry_interval
        self._thread: Optional[threading.Thread] = None
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._run: Optional[_Run] = None
        self.lease: Optional[Lease] = None

    @property
    def ttl(self) -> float:
        return self._ttl if self._ttl is not None else self.scheduler.flyer_settings.lock_ttl

    @property
    def name(self) -> str:
        return f"leader:{self.id}"

    def store(self) -> LockStore:
        return self.scheduler.flyer_store_for(self._store_choice)

    @property
    def running(self) -> bool:
        """Whether this process holds the lease and runs the function now."""
        return self.lease is not None and self._run is not None and not self._run.finished.is_set()

    def start(self) -> None:
        if self._thread is not None and self._thread.is_alive():
            return
        self._stop.clear()
        self._wake.clear()
        self._thread = threading.Thread(
            target=self._campaign, name=f"flyer-sched-campaign:{self.id}", daemon=True
        )
        self._thread.start()

    def stop(self, timeout: float) -> bool:
        """Ask the function to stop, release the lease; True when done within `timeout`."""
        self._stop.set()
        self._wake.set()
        lease, run = self.lease, self._run
        if lease is not None:
            lease._stop()
        if run is not None:
            run.cancel()
        thread = self._thread
        if thread is None:
            return True
        thread.join(timeout)
        return not thread.is_alive()

    def _campaign(self) -> None:
        fields = {"leader_id": self.id}
        store_down = False
        while not self._stop.is_set():
            ttl = self.ttl
            renew_every = renew_interval(ttl)
            token = secrets.token_hex(16)
            holder = holder_id()
            try:
                store = self.store()
                # After a store lost its data, wait one renewal interval before leading: by
                # then the leader that held the lost lease has found it gone and stopped.
                claim = store.claim_lease(self.name, token, holder, ttl, renew_every)
            except LockStoreError as exc:
                logger.log(
                    logging.DEBUG if store_down else logging.ERROR,
                    "leader %s: lock store unreachable: %s (said once until it answers)",
                    self.id,
                    exc,
                    extra={**fields, "error": str(exc)},
                )
                store_down = True
                self._stop.wait(renew_every)
                continue
            except Exception:
                logger.exception("leader %s: campaign failed", self.id, extra=fields)
                self._stop.wait(renew_every)
                continue
            if store_down:
                store_down = False
                logger.info("leader %s: lock store answers again", self.id, extra=fields)
            if not claim.acquired:
                left = claim.expires_in if claim.expires_in is not None else renew_every
                self._stop.wait(min(max(left, 0.0), renew_every) + 0.005)
                continue
            self._lead(store, token, holder, claim.fencing_token, ttl)
            if not self._stop.is_set():
                retry = self._retry_interval if self._retry_interval is not None else 1.0
                self._stop.wait(retry)

    def _lead(
        self, store: LockStore, token: str, holder: str, fence: Optional[int], ttl: float
    ) -> None:
        fields = {"leader_id": self.id, "lock_holder": holder, "fencing_token": fence}
        lease = Lease(self.id, fence, holder)
        self.lease = lease
        logger.info("leader %s: leading (fencing token %s)", self.id, fence, extra=fields)
        self._wake.clear()
        try:
            run = _Run(self, lease, self._wake)
        except Exception:
            logger.exception("leader %s: could not start", self.id, extra=fields)
            self._release(store, token, fields)
            self.lease = None
            return
        self._run = run
        last_ok = time.monotonic()

        def over() -> bool:
            # `once`: a function that returned has done its work; the lease stays held (so no
            # other process runs it again) until the scheduler stops or the lease is lost.
            ended = run.finished.is_set() and (run.raised or not self.once)
            return ended or self._stop.is_set()

        every = renew_interval(ttl)
        wait = every
        while not over():
            self._wake.wait(wait)
            self._wake.clear()
            if over():
                break
            wait = every
            try:
                if store.renew(self.name, token, ttl):
                    last_ok = time.monotonic()
                    continue
            except LockStoreError as exc:
                # Retry soon: when the store comes back without its data, this leader must
                # find its lease gone well within the renewal interval others wait after it.
                wait = every / 4
                if time.monotonic() - last_ok < ttl:
                    logger.warning(
                        "leader %s: renewal failed, retrying: %s",
                        self.id,
                        exc,
                        extra={**fields, "error": str(exc)},
                    )
                    continue
            logger.error("leader %s: lease lost, stopping the function", self.id, extra=fields)
            lease._stop(lost=True)
            run.cancel()
            break
        lease._stop()
        run.cancel()
        # Never campaign again while this run still executes: that would run it twice here.
        while not run.finished.wait(renew_interval(ttl)):
            if not lease.lost:
                try:
                    store.renew(self.name, token, ttl)
                except LockStoreError:
                    pass
        if not lease.lost:
            self._release(store, token, fields)
        self.lease = None
        self._run = None

    def _release(self, store: LockStore, token: str, fields: Dict[str, Any]) -> None:
        try:
            store.release(self.name, token)
        except LockStoreError as exc:
            logger.warning(
                "leader %s: release failed, the lease expires after its TTL: %s",
                self.id,
                exc,
                extra={**fields, "error": str(exc)},
            )
