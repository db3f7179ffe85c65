"""Readiness: `SELECT 1` through an engine's pool, answered within a deadline."""

from __future__ import annotations

import asyncio
import os
import threading
import time
import weakref
from typing import TYPE_CHECKING, Any, Dict, Optional

from flyer_db._settings import DEFAULT_TIMEOUT as DEFAULT_TIMEOUT
from flyer_db._url import safe_url

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine


class _Probe:
    """One `SELECT 1` running in a daemon thread, so a hung server cannot hold the caller."""

    def __init__(self, engine: Engine) -> None:
        self.done = threading.Event()
        self.pid = os.getpid()  # a forked child inherits the probe but not its thread
        self.error: Optional[BaseException] = None
        self.started = time.monotonic()
        self.elapsed = 0.0
        thread = threading.Thread(
            target=self._run, args=(engine,), name="flyer-db-check", daemon=True
        )
        thread.start()

    def _run(self, engine: Engine) -> None:
        from sqlalchemy import text

        try:
            with engine.connect() as connection:
                connection.execute(text("SELECT 1")).scalar()
        except BaseException as error:
            self.error = error
        finally:
            self.elapsed = time.monotonic() - self.started
            self.done.set()


_lock = threading.Lock()
_running: weakref.WeakKeyDictionary[Engine, _Probe] = weakref.WeakKeyDictionary()


def check_engine(engine: Engine, timeout: float = DEFAULT_TIMEOUT) -> Dict[str, Any]:
    """Whether `engine` answers `SELECT 1` within `timeout` seconds.

    Returns `{"ok": bool, "url": <URL without password>, "elapsed_ms": float}` plus
    `"error"` when not ok. Never raises for a database problem and never waits longer than
    `timeout`: a probe still waiting on an unresponsive server keeps running in the
    background (bounded by the driver's connect timeout), and later checks wait for it
    instead of piling up new connections.
    """
    if not timeout > 0:
        raise ValueError(f"timeout={timeout!r}: expected a number of seconds > 0")
    with _lock:
        probe = _running.get(engine)
        if probe is None or probe.done.is_set() or probe.pid != os.getpid():
            probe = _running[engine] = _Probe(engine)
    result: Dict[str, Any] = {"ok": False, "url": safe_url(engine.url)}
    if not probe.done.wait(timeout):
        result["elapsed_ms"] = round(timeout * 1000, 1)
        result["error"] = f"no answer within {timeout:g} s"
        return result
    result["elapsed_ms"] = round(probe.elapsed * 1000, 1)
    if probe.error is None:
        result["ok"] = True
    else:
        original = getattr(probe.error, "orig", None) or probe.error
        result["error"] = f"{type(original).__name__}: {original}"[:300]
    return result


async def acheck_engine(engine: Engine, timeout: float = DEFAULT_TIMEOUT) -> Dict[str, Any]:
    """`check_engine` for the event loop: the wait happens in a worker thread."""
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(None, check_engine, engine, timeout)
