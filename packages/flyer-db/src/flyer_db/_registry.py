"""Every engine flyer-db made in this process: for readiness, shutdown and `fork()` safety."""

from __future__ import annotations

import os
import threading
import weakref
from typing import TYPE_CHECKING, Any, Callable, List

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

_engines: weakref.WeakSet[Engine] = weakref.WeakSet()
_fork_listeners: weakref.WeakSet[Any] = weakref.WeakSet()
_hook_lock = threading.Lock()
_hook_registered = False


def track(engine: Engine) -> Engine:
    """Remember `engine` (weakly) so readiness checks, shutdown and forks know about it."""
    _ensure_fork_hook()
    _engines.add(engine)
    return engine


def on_fork(listener: Any) -> None:
    """Call `listener._after_fork_in_child()` in every child process forked from now on."""
    _ensure_fork_hook()
    _fork_listeners.add(listener)


def engines() -> List[Engine]:
    """The engines still alive, oldest first is not promised."""
    return list(_engines)


def dispose_engines() -> int:
    """Close the idle pooled connections of every engine flyer-db made; returns how many engines.

    Engines stay usable: the next checkout opens a new connection.
    """
    alive = engines()
    for engine in alive:
        engine.dispose()
    return len(alive)


def _after_fork_in_child() -> None:
    # A child must never talk on its parent's sockets: drop (do not close) every pooled
    # connection it inherited, so the parent's connections stay intact.
    for engine in list(_engines):
        engine.dispose(close=False)
    for listener in list(_fork_listeners):
        callback: Callable[[], None] = listener._after_fork_in_child
        callback()


def _ensure_fork_hook() -> None:
    global _hook_registered
    if _hook_registered:
        return
    with _hook_lock:
        if not _hook_registered and hasattr(os, "register_at_fork"):
            os.register_at_fork(after_in_child=_after_fork_in_child)
        _hook_registered = True
