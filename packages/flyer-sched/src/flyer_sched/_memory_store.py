"""The memory lock store: one process, any number of threads and event loops."""

from __future__ import annotations

import threading
import time
from typing import Dict, Optional

from flyer_sched._store import Claim, LockStatus, LockStore, next_fence, now_us, tick_time


class _Run:
    __slots__ = ("expires", "holder", "token")

    def __init__(self, token: str, holder: str, expires: float) -> None:
        self.token = token
        self.holder = holder
        self.expires = expires


class _State:
    __slots__ = ("fence", "holder", "paused", "tick")

    def __init__(self) -> None:
        self.tick: Optional[int] = None
        self.fence: Optional[int] = None
        self.holder: Optional[str] = None
        self.paused = False


class MemoryLockStore(LockStore):
    """Locks in this process's memory: right for a single process (tests, one worker)."""

    kind = "memory"

    def __init__(self) -> None:
        self._mutex = threading.Lock()
        self._states: Dict[str, _State] = {}
        self._runs: Dict[str, _Run] = {}

    def __repr__(self) -> str:
        return "MemoryLockStore()"

    def _live_run(self, name: str, now: float) -> Optional[_Run]:
        run = self._runs.get(name)
        if run is not None and run.expires <= now:
            del self._runs[name]
            return None
        return run

    def claim(self, name: str, tick: Optional[int], token: str, holder: str, ttl: float) -> Claim:
        now = time.monotonic()
        with self._mutex:
            state = self._states.setdefault(name, _State())
            if state.paused:
                return Claim(False, "paused")
            if tick is not None and state.tick is not None and state.tick >= tick:
                return Claim(False, "done", holder=state.holder)
            run = self._live_run(name, now)
            if run is not None:
                return Claim(False, "busy", holder=run.holder, expires_in=run.expires - now)
            self._runs[name] = _Run(token, holder, now + ttl)
            if tick is not None:
                state.tick = tick
            state.holder = holder
            state.fence = next_fence(state.fence, now_us())
            return Claim(True, "acquired", fencing_token=state.fence, holder=holder)

    def renew(self, name: str, token: str, ttl: float) -> bool:
        now = time.monotonic()
        with self._mutex:
            run = self._live_run(name, now)
            if run is None or run.token != token:
                return False
            run.expires = now + ttl
            return True

    def release(self, name: str, token: str) -> bool:
        with self._mutex:
            run = self._live_run(name, time.monotonic())
            if run is None or run.token != token:
                return False
            del self._runs[name]
            return True

    def status(self, name: str) -> LockStatus:
        now = time.monotonic()
        with self._mutex:
            state = self._states.get(name) or _State()
            run = self._live_run(name, now)
            return LockStatus(
                holder=run.holder if run else None,
                expires_in=run.expires - now if run else None,
                last_tick=tick_time(state.tick) if state.tick is not None else None,
                last_holder=state.holder,
                fencing_token=state.fence,
                paused=state.paused,
            )

    def set_paused(self, name: str, paused: bool) -> None:
        with self._mutex:
            self._states.setdefault(name, _State()).paused = paused


#: One memory store per process, so both schedulers' "memory" locks see each other.
SHARED = MemoryLockStore()
