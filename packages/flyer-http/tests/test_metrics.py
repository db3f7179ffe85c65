"""Metrics hooks: one event per retry, one outcome per call, and a broken hook breaks nothing."""

from __future__ import annotations

import logging
from typing import Any, List

import pytest

from flyer_http import CallOutcome, RetryEvent


def test_hooks_count_attempts_retries_and_outcome(
    upstream: Any, make_client: Any, fast: Any
) -> None:
    retries: List[RetryEvent] = []
    outcomes: List[CallOutcome] = []
    requests = make_client(retry=fast, on_retry=retries.append, on_complete=outcomes.append)
    url = upstream.script("/s", 503, "cut")
    assert requests.get(url, params={"token": "tok-secret"}).status_code == 200
    assert [(e.attempt, e.status, e.error) for e in retries] == [
        (1, 503, None),
        (2, None, "RemoteProtocolError"),
    ]
    assert retries[0].wait == pytest.approx(0.01)
    assert retries[0].host == "127.0.0.1"
    (outcome,) = outcomes
    assert (outcome.attempts, outcome.retries, outcome.status, outcome.outcome) == (
        3,
        2,
        200,
        "success",
    )
    assert not outcome.exhausted
    assert "tok-secret" not in outcome.url
    assert outcome.elapsed_ms >= retries[-1].elapsed_ms


def test_outcome_of_exhausted_and_failed_calls(
    upstream: Any, make_client: Any, fast: Any, closed_port: int
) -> None:
    outcomes: List[CallOutcome] = []
    requests = make_client(retry=fast.replace(attempts=2), on_complete=outcomes.append)
    requests.get(upstream.script("/s", 503, 503))
    requests.get(upstream.script("/t", 404))
    with pytest.raises(Exception, match="ConnectError"):
        requests.get(f"http://127.0.0.1:{closed_port}/")
    assert [(o.outcome, o.status, o.error, o.attempts, o.exhausted) for o in outcomes] == [
        ("failure", 503, None, 2, True),
        ("failure", 404, None, 1, False),
        ("error", None, "ConnectError", 2, True),
    ]


def test_hooks_run_with_logging_off(upstream: Any, make_client: Any, fast: Any) -> None:
    logger = logging.getLogger("flyer.http")
    outcomes: List[CallOutcome] = []
    retries: List[RetryEvent] = []
    previous = logger.disabled
    logger.disabled = True
    try:
        requests = make_client(retry=fast, on_retry=retries.append, on_complete=outcomes.append)
        requests.get(upstream.script("/s", 502))
    finally:
        logger.disabled = previous
    assert (len(retries), len(outcomes)) == (1, 1)


def test_a_failing_hook_is_logged_not_raised(
    upstream: Any, make_client: Any, fast: Any, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(event: Any) -> None:
        raise RuntimeError("metrics backend down")

    requests = make_client(retry=fast, on_retry=broken, on_complete=broken)
    assert requests.get(upstream.script("/s", 503)).status_code == 200
    failures = [r for r in caplog.records if "metrics hook" in r.getMessage()]
    assert len(failures) == 2
    assert failures[0].exc_info is not None
