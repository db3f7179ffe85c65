"""Process-wide hooks: what every flyer-http client calls after its own `on_retry` /
`on_complete` (flyer-telemetry counts calls with them). No httpx here: registering a hook
does not import it."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Callable, List, Optional, Tuple

if TYPE_CHECKING:  # the event classes load with the first call that reports one
    from flyer_http._metrics import OnComplete, OnRetry

# Hooks every client calls after its own, as tuples so a call reads them without a lock.
retry_hooks: Tuple[OnRetry, ...] = ()
complete_hooks: Tuple[OnComplete, ...] = ()
_registrations: List[Tuple[Optional[OnRetry], Optional[OnComplete]]] = []
_registrations_lock = threading.Lock()


def add_call_hooks(
    on_retry: Optional[OnRetry] = None, on_complete: Optional[OnComplete] = None
) -> Callable[[], None]:
    """Call `on_retry` / `on_complete` for every flyer-http client's calls in this process.

    They get the same `RetryEvent` / `CallOutcome` objects as a client's own hooks, after
    them, the ready-made clients included. A hook that raises is logged and the call goes
    on. Returns a function that removes this registration (calling it again does nothing).
    """
    for name, hook in (("on_retry", on_retry), ("on_complete", on_complete)):
        if hook is not None and not callable(hook):
            raise ValueError(f"{name}={hook!r}: expected a callable or None")
    registration = (on_retry, on_complete)
    with _registrations_lock:
        _registrations.append(registration)
        _publish()

    def remove() -> None:
        with _registrations_lock:
            for index, entry in enumerate(_registrations):
                if entry is registration:
                    del _registrations[index]
                    _publish()
                    return

    return remove


def _publish() -> None:
    global retry_hooks, complete_hooks
    retry_hooks = tuple(r for r, _ in _registrations if r is not None)
    complete_hooks = tuple(c for _, c in _registrations if c is not None)
