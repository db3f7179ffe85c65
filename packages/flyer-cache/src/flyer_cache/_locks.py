"""Per-key locks inside one process: only one caller recomputes a given key at a time.

Threads share `KeyLocks`; each event loop gets its own table in `AsyncKeyLocks`. Entries are
reference-counted and vanish when nobody holds or waits for them, so the tables stay as
small as the number of keys being computed right now.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import weakref
from typing import AsyncIterator, Dict, Iterator, List

from flyer_cache._forksafe import ForkSafeLock, reset_after_fork


class _Slot:
    __slots__ = ("lock", "users")

    def __init__(self, lock: threading.Lock) -> None:
        self.lock = lock
        self.users = 0


class KeyLocks:
    """A lock per key, for threads. `hold(key, timeout)` yields whether the lock was got."""

    def __init__(self) -> None:
        self._guard = ForkSafeLock()
        self._slots: Dict[str, _Slot] = {}
        self._registered = False

    def _after_fork_in_child(self) -> None:
        # The parent's threads are gone: so are the locks they held.
        self._slots = {}

    @contextlib.contextmanager
    def hold(self, key: str, timeout: float) -> Iterator[bool]:
        with self._guard:
            if not self._registered:
                reset_after_fork(self)
                self._registered = True
            slot = self._slots.get(key)
            if slot is None:
                slot = self._slots[key] = _Slot(threading.Lock())
            slot.users += 1
        acquired = slot.lock.acquire(timeout=timeout)
        try:
            yield acquired
        finally:
            if acquired:
                slot.lock.release()
            with self._guard:
                slot.users -= 1
                if slot.users == 0 and self._slots.get(key) is slot:
                    del self._slots[key]

    def active(self) -> List[str]:
        """Keys with a holder or waiter right now."""
        with self._guard:
            return sorted(self._slots)


class _AsyncSlot:
    __slots__ = ("busy", "released", "users")

    def __init__(self) -> None:
        self.busy = False
        self.released = asyncio.Event()
        self.users = 0


class AsyncKeyLocks:
    """A lock per key and event loop, for tasks. `hold(key, timeout)` yields whether it was got.

    Built on an `asyncio.Event` rather than `asyncio.Lock`: waiting for an event with a
    timeout cannot leave a lock acquired by a cancelled waiter.
    """

    def __init__(self) -> None:
        self._guard = ForkSafeLock()
        self._loops: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Dict[str, _AsyncSlot]] = (
            weakref.WeakKeyDictionary()
        )

    def _table(self) -> Dict[str, _AsyncSlot]:
        loop = asyncio.get_running_loop()
        with self._guard:
            table = self._loops.get(loop)
            if table is None:
                table = self._loops[loop] = {}
            return table

    @contextlib.asynccontextmanager
    async def hold(self, key: str, timeout: float) -> AsyncIterator[bool]:
        table = self._table()
        slot = table.get(key)
        if slot is None:
            slot = table[key] = _AsyncSlot()
        slot.users += 1
        acquired = False
        try:
            loop = asyncio.get_running_loop()
            deadline = loop.time() + timeout
            while slot.busy:
                remaining = deadline - loop.time()
                if remaining <= 0:
                    break
                try:
                    await asyncio.wait_for(slot.released.wait(), remaining)
                except asyncio.TimeoutError:
                    pass
            if not slot.busy:
                slot.busy = True
                slot.released.clear()
                acquired = True
            yield acquired
        finally:
            if acquired:
                slot.busy = False
                slot.released.set()
            slot.users -= 1
            if slot.users == 0 and table.get(key) is slot:
                del table[key]

    def active(self) -> List[str]:
        """Keys with a holder or waiter in the running loop."""
        return sorted(self._table())
