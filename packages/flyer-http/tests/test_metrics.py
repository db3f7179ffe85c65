"""Metrics hooks: one event per retry, one outcome per call, and a broken hook breaks nothing."""

from __future__ import annotations

import logging
from typing import Any, List

import pytest

import flyer_http
from flyer_http import CallOutcome, RetryEvent, _defaults


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


def test_process_wide_hooks_see_every_client_after_its_own(
    upstream: Any, make_client: Any, fast: Any
) -> None:
    seen: List[Any] = []
    remove = flyer_http.add_call_hooks(
        on_retry=lambda e: seen.append(("global", e)),
        on_complete=lambda o: seen.append(("global", o)),
    )
    try:
        requests = make_client(
            retry=fast,
            on_retry=lambda e: seen.append(("own", e)),
            on_complete=lambda o: seen.append(("own", o)),
        )
        assert requests.get(upstream.script("/s", 503)).status_code == 200
        plain = make_client()
        assert plain.get(upstream.script("/t", 404)).status_code == 404
    finally:
        remove()
    assert [who for who, _ in seen] == ["own", "global", "own", "global", "global"]
    assert seen[0][1] is seen[1][1]
    assert isinstance(seen[0][1], RetryEvent)
    assert seen[2][1] is seen[3][1]
    assert isinstance(seen[2][1], CallOutcome)
    assert (seen[3][1].attempts, seen[3][1].status) == (2, 200)
    assert (seen[4][1].attempts, seen[4][1].status, seen[4][1].outcome) == (1, 404, "failure")
    remove()  # a second call does nothing
    make_client().get(upstream.script("/u"))
    assert len(seen) == 5


def test_process_wide_hooks_reach_the_ready_made_clients(
    upstream: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_defaults, "_clients", {})
    outcomes: List[CallOutcome] = []
    remove = flyer_http.add_call_hooks(on_complete=outcomes.append)
    try:
        assert flyer_http.requests.get(upstream.script("/s")).status_code == 200
    finally:
        remove()
        flyer_http.requests.close()
    assert [(o.method, o.status) for o in outcomes] == [("GET", 200)]


def test_a_failing_process_wide_hook_is_logged_not_raised(
    upstream: Any, make_client: Any, fast: Any, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(event: Any) -> None:
        raise RuntimeError("metrics backend down")

    outcomes: List[CallOutcome] = []
    remove = flyer_http.add_call_hooks(on_retry=broken, on_complete=broken)
    try:
        requests = make_client(retry=fast, on_complete=outcomes.append)
        assert requests.get(upstream.script("/s", 503)).status_code == 200
    finally:
        remove()
    failures = [r for r in caplog.records if "metrics hook" in r.getMessage()]
    assert len(failures) == 2
    assert len(outcomes) == 1


def test_add_call_hooks_rejects_what_it_cannot_call() -> None:
    with pytest.raises(ValueError, match=r"on_complete=1: expected a callable or None"):
        flyer_http.add_call_hooks(on_complete=1)  # type: ignore[arg-type]
