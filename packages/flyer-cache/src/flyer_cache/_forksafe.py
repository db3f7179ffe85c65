"""Process-local state that a forked child must not inherit: locks held by the parent's threads.

A `fork()` copies every lock in the state it had, but not the threads holding them, so a
child that touches a lock some parent thread held at that instant waits forever. Objects
registered here get `_after_fork_in_child()` called in every child right after the fork
(the hook is installed on first registration, never at import).
"""

from __future__ import annotations

import os
import threading
import weakref
from typing import Protocol


class _ForkAware(Protocol):
    def _after_fork_in_child(self) -> None: ...


_registered: weakref.WeakSet[_ForkAware] = weakref.WeakSet()
_hook_installed = False
_install_lock = threading.Lock()


def _reset_all() -> None:
    global _install_lock
    _install_lock = threading.Lock()
    for obj in list(_registered):
        obj._after_fork_in_child()


def reset_after_fork(obj: _ForkAware) -> None:
    """Have `obj._after_fork_in_child()` run in each child process forked from now on."""
    global _hook_installed
    with _install_lock:
        if not _hook_installed and hasattr(os, "register_at_fork"):
            os.register_at_fork(after_in_child=_reset_all)
            _hook_installed = True
        _registered.add(obj)


class ForkSafeLock:
    """A `threading.Lock` that a forked child gets afresh, never in the state the parent left."""

    __slots__ = ("__weakref__", "_lock", "_registered")

    def __init__(self) -> None:
        # Registration waits for the first use, so that creating one at import is inert.
        self._lock = threading.Lock()
        self._registered = False

    def _after_fork_in_child(self) -> None:
        self._lock = threading.Lock()

    def __enter__(self) -> bool:
        if not self._registered:
            reset_after_fork(self)
            self._registered = True
        return self._lock.acquire()

    def __exit__(self, *exc: object) -> None:
        self._lock.release()
