"""Waiting between attempts, and the switch that removes those waits in test suites."""

from __future__ import annotations

import os
import threading

_lock = threading.Lock()
_no_wait_depth = 0


def waits_enabled() -> bool:
    """False inside `flyer_http.testing.no_wait()` or when `FLYER_HTTP_NO_WAIT` is set to 1/true."""
    if _no_wait_depth:
        return False
    flag = os.environ.get("FLYER_HTTP_NO_WAIT", "")
    return flag.strip().lower() not in {"1", "true", "yes", "on"}


def push_no_wait() -> None:
    global _no_wait_depth
    with _lock:
        _no_wait_depth += 1


def pop_no_wait() -> None:
    global _no_wait_depth
    with _lock:
        _no_wait_depth -= 1
