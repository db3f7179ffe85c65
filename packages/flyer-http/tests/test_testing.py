"""The test mode: retries without the waits, and the same decisions as with them."""

from __future__ import annotations

import time
from typing import Any

import pytest

from flyer_http import RetryPolicy
from flyer_http.testing import no_wait

SLOW = RetryPolicy(attempts=4, max_delay=25, multiplier=10, max_wait=10, jitter=0)


def test_no_wait_skips_the_backoff(upstream: Any, make_client: Any) -> None:
    url = upstream.script("/s", 503, 503, 503)
    started = time.monotonic()
    with no_wait():
        response = make_client(retry=SLOW).get(url)
    assert time.monotonic() - started < 10  # with the waits: 20 s
    # Waits of 10 s and 10 s fit in 25 s; a third would not: the same stop as in real time.
    assert response.status_code == 503
    assert len(upstream.hits("/s")) == 3


def test_no_wait_keeps_retry_after_within_the_cap(upstream: Any, make_client: Any) -> None:
    url = upstream.script("/s", (503, {"Retry-After": "20"}), (503, {"Retry-After": "20"}))
    with no_wait():
        assert make_client(retry=SLOW).get(url).status_code == 503
    assert len(upstream.hits("/s")) == 2


def test_environment_switch(
    upstream: Any, make_client: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FLYER_HTTP_NO_WAIT", "1")
    url = upstream.script("/s", 503, 503)
    started = time.monotonic()
    assert make_client(retry=SLOW).get(url).status_code == 200
    assert time.monotonic() - started < 10  # with the waits: 20 s


def test_waits_come_back_after_the_block(upstream: Any, make_client: Any) -> None:
    with no_wait(), no_wait():
        pass
    policy = RetryPolicy(multiplier=0.3, max_wait=0.3, jitter=0)
    url = upstream.script("/s", 503)
    assert make_client(retry=policy).get(url).status_code == 200
    first, second = (r.at for r in upstream.hits("/s"))
    assert second - first >= 0.3
