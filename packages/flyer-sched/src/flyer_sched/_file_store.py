"""The file lock store: many processes on one host, coordinated with `fcntl.flock`.

Each lock name has a `.lock` file (held with `flock` for the few microseconds of a claim,
renew or release) and a `.json` state file replaced atomically, so a process killed at any
moment never leaves a half-written state. Expiry uses the wall clock, which every process on
the host shares.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import time
import urllib.parse
from typing import Any, Callable, Dict, Optional, Tuple, TypeVar

from flyer_sched._store import (
    Claim,
    LockStatus,
    LockStore,
    LockStoreError,
    next_fence,
    now_us,
    tick_time,
)

T = TypeVar("T")
_State = Dict[str, Any]


def default_lock_dir() -> str:
    """`<temp dir>/flyer-sched-<uid>`: shared by every process of one user on the host."""
    uid = os.getuid() if hasattr(os, "getuid") else 0
    return os.path.join(tempfile.gettempdir(), f"flyer-sched-{uid}")


def _file_stem(prefix: str, name: str) -> str:
    stem = urllib.parse.quote(f"{prefix}:{name}", safe="")
    if len(stem) > 150:
        digest = hashlib.sha256(stem.encode()).hexdigest()[:32]
        stem = f"{stem[:100]}-{digest}"
    return stem


class FileLockStore(LockStore):
    """Locks in files under `directory` (created on first use, mode 0700)."""

    kind = "file"

    def __init__(self, directory: Optional[str] = None, *, prefix: str = "flyer:sched") -> None:
        self._directory = directory
        self.prefix = prefix
        self._made = False

    def __repr__(self) -> str:
        return f"FileLockStore(directory={self._directory!r}, prefix={self.prefix!r})"

    @property
    def directory(self) -> str:
        """Where the lock files live."""
        if self._directory is None:
            self._directory = default_lock_dir()
        return self._directory

    def _paths(self, name: str) -> Tuple[str, str]:
        if not self._made:
            os.makedirs(self.directory, mode=0o700, exist_ok=True)
            self._made = True
        stem = os.path.join(self.directory, _file_stem(self.prefix, name))
        return stem + ".lock", stem + ".json"

    def _transact(self, name: str, change: Callable[[_State, float], Tuple[T, bool]]) -> T:
        import fcntl

        try:
            lock_path, state_path = self._paths(name)
            fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX)
                try:
                    with open(state_path, encoding="utf-8") as file:
                        state: _State = json.load(file)
                except FileNotFoundError:
                    state = {}
                result, changed = change(state, time.time())
                if changed:
                    temporary = state_path + ".tmp"
                    with open(temporary, "w", encoding="utf-8") as file:
                        json.dump(state, file)
                    os.replace(temporary, state_path)
                return result
            finally:
                os.close(fd)  # closing the descriptor drops the flock
        except (OSError, ValueError) as exc:
            raise LockStoreError(f"file lock store: {exc}") from exc

    @staticmethod
    def _live_run(state: _State, now: float) -> Optional[Dict[str, Any]]:
        run = state.get("run")
        if isinstance(run, dict) and float(run.get("expires", 0)) > now:
            return run
        return None

    def claim(self, name: str, tick: Optional[int], token: str, holder: str, ttl: float) -> Claim:
        def change(state: _State, now: float) -> Tuple[Claim, bool]:
            if state.get("paused"):
                return Claim(False, "paused"), False
            last = state.get("tick")
            if tick is not None and last is not None and int(last) >= tick:
                return Claim(False, "done", holder=state.get("holder")), False
            run = self._live_run(state, now)
            if run is not None:
                left = float(run["expires"]) - now
                return Claim(False, "busy", holder=run.get("holder"), expires_in=left), False
            state["run"] = {"token": token, "holder": holder, "expires": now + ttl}
            if tick is not None:
                state["tick"] = tick
            state["holder"] = holder
            fence = next_fence(state.get("fence"), now_us())
            state["fence"] = fence
            return Claim(True, "acquired", fencing_token=fence, holder=holder), True

        return self._transact(name, change)

    def renew(self, name: str, token: str, ttl: float) -> bool:
        def change(state: _State, now: float) -> Tuple[bool, bool]:
            run = self._live_run(state, now)
            if run is None or run.get("token") != token:
                return False, False
            run["expires"] = now + ttl
            return True, True

        return self._transact(name, change)

    def release(self, name: str, token: str) -> bool:
        def change(state: _State, now: float) -> Tuple[bool, bool]:
            run = self._live_run(state, now)
            if run is None or run.get("token") != token:
                return False, False
            state["run"] = None
            return True, True

        return self._transact(name, change)

    def status(self, name: str) -> LockStatus:
        def read(state: _State, now: float) -> Tuple[LockStatus, bool]:
            run = self._live_run(state, now)
            tick = state.get("tick")
            return LockStatus(
                holder=run.get("holder") if run else None,
                expires_in=float(run["expires"]) - now if run else None,
                last_tick=tick_time(int(tick)) if tick is not None else None,
                last_holder=state.get("holder"),
                fencing_token=state.get("fence"),
                paused=bool(state.get("paused")),
            ), False

        return self._transact(name, read)

    def set_paused(self, name: str, paused: bool) -> None:
        def change(state: _State, now: float) -> Tuple[None, bool]:
            state["paused"] = paused
            return None, True

        self._transact(name, change)

    def ping(self) -> bool:
        try:
            os.makedirs(self.directory, mode=0o700, exist_ok=True)
        except OSError:
            return False
        return os.access(self.directory, os.W_OK | os.X_OK)
