"""Renewing the run locks of jobs in flight: one thread per process, whatever the job count.

The thread starts with the first locked run and ends after a minute without any; a forked
child starts afresh (the parent's locks are not its own). Starting a thread per run would
cost little CPU but, waiting on the GIL hand-off, up to 5 ms of latency now and then.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from typing import Callable, Dict, List, Optional

from flyer_sched._store import LockStore, LockStoreError, renew_interval

logger = logging.getLogger("flyer.sched")
_IDLE_EXIT = 60.0


class Renewal:
    """One held lock, renewed every ttl/4 from its creation until `stop()` or until it is found
    lost; call `.stop()` before releasing the lock."""

    def __init__(
        self,
        store: LockStore,
        name: str,
        token: str,
        ttl: float,
        on_lost: Callable[[], None],
        fields: Dict[str, object],
    ) -> None:
        self.store = store
        self.name = name
        self.token = token
        self.ttl = ttl
        self.every = renew_interval(ttl)
        self.on_lost = on_lost
        self.fields = fields
        self.due = time.monotonic() + self.every
        self.last_ok = time.monotonic()
        self._stopped = threading.Event()
        _RENEWER.add(self)

    def stop(self) -> None:
        """Stop renewing; a renewal in flight that then finds the token gone ends quietly."""
        self._stopped.set()
        _RENEWER.remove(self)

    def renew(self) -> None:
        if self._stopped.is_set():
            return
        now = time.monotonic()
        self.due = now + self.every
        label = self.fields.get("lock_id")
        try:
            if self.store.renew(self.name, self.token, self.ttl):
                self.last_ok = time.monotonic()
                return
        except LockStoreError as exc:
            if now - self.last_ok < self.ttl:
                logger.warning(
                    "lock %s: renewal failed, retrying: %s",
                    label,
                    exc,
                    extra={**self.fields, "error": str(exc)},
                )
                return
        if self._stopped.is_set():
            return  # released meanwhile: nothing was lost
        self._stopped.set()
        _RENEWER.remove(self)
        self.on_lost()
        logger.error(
            "lock %s: lost while the job runs (another process may run the next tick); "
            "check current_tick().lock_lost in long jobs",
            label,
            extra=self.fields,
        )


class _Renewer:
    def __init__(self) -> None:
        self._pid: Optional[int] = None
        self._cond = threading.Condition()
        self._items: Dict[int, Renewal] = {}
        self._thread: Optional[threading.Thread] = None
        self._wake_at = 0.0  # when the thread next wakes by itself

    def add(self, renewal: Renewal) -> None:
        if self._pid != os.getpid():  # first use, or a forked child: start afresh
            self._pid = os.getpid()
            self._cond = threading.Condition()
            self._items = {}
            self._thread = None
            self._wake_at = 0.0
        with self._cond:
            self._items[id(renewal)] = renewal
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(
                    target=self._loop, name="flyer-sched-renewer", daemon=True
                )
                self._thread.start()
            if renewal.due < self._wake_at:
                self._cond.notify()  # due before the thread would look again

    def remove(self, renewal: Renewal) -> None:
        with self._cond:
            self._items.pop(id(renewal), None)

    def _loop(self) -> None:
        cond = self._cond
        while True:
            with cond:
                if not self._items:
                    self._wake_at = time.monotonic() + _IDLE_EXIT
                    woken = cond.wait(_IDLE_EXIT)
                    if not self._items and not woken:  # a whole idle period: end
                        self._thread = None
                        return
                    continue
                now = time.monotonic()
                soonest = min(r.due for r in self._items.values())
                if soonest > now:
                    self._wake_at = soonest
                    cond.wait(soonest - now)
                    continue
                self._wake_at = now
                due: List[Renewal] = [r for r in self._items.values() if r.due <= now]
            for renewal in due:
                renewal.renew()


_RENEWER = _Renewer()


renew_while_held = Renewal  # start renewing `name` for `token`
