"""Helpers for the test suites of code that uses flyer-http.

`no_wait()` makes every client skip its backoff sleeps while keeping the retry decisions
(attempt counts, the delay cap, `Retry-After`) exactly as in production: the skipped
seconds still count against `max_delay`. Setting the environment variable
`FLYER_HTTP_NO_WAIT=1` does the same for a whole test run.
"""

from __future__ import annotations

import contextlib
from typing import Iterator

from flyer_http._clock import pop_no_wait, push_no_wait

__all__ = ["no_wait"]


@contextlib.contextmanager
def no_wait() -> Iterator[None]:
    """Within this block (any thread, any event loop) retries happen without sleeping."""
    push_no_wait()
    try:
        yield
    finally:
        pop_no_wait()
