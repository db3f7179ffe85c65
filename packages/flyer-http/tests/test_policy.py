"""RetryPolicy: the defaults, the ancestor's names, the backoff, Retry-After parsing."""

from __future__ import annotations

import datetime
import email.utils
from typing import Any, Dict

import httpx
import pytest

from flyer_http import IDEMPOTENT_METHODS, RETRY_STATUSES, Client, RetryPolicy
from flyer_http._policy import resolve_policy, retry_after_seconds


def test_defaults_match_the_design() -> None:
    policy = RetryPolicy()
    assert (policy.attempts, policy.max_delay, policy.multiplier, policy.max_wait) == (
        3,
        60,
        2,
        10,
    )
    assert policy.statuses == {429, 502, 503, 504} == RETRY_STATUSES
    assert policy.methods == {"GET", "HEAD", "OPTIONS", "TRACE", "PUT", "DELETE"}
    assert policy.methods == IDEMPOTENT_METHODS
    assert "POST" not in policy.methods
    assert "PATCH" not in policy.methods
    for exc in [
        httpx.ConnectError,
        httpx.ConnectTimeout,
        httpx.ReadTimeout,
        httpx.WriteTimeout,
        httpx.PoolTimeout,
        httpx.ReadError,
        httpx.RemoteProtocolError,
    ]:
        assert issubclass(exc, policy.exceptions), exc
    assert not issubclass(httpx.LocalProtocolError, policy.exceptions)
    assert policy.respect_retry_after
    assert Client().retry == policy


def test_backoff_doubles_up_to_max_wait() -> None:
    policy = RetryPolicy(jitter=0)
    assert [policy.wait(n) for n in range(1, 6)] == [2, 4, 8, 10, 10]


def test_jitter_shortens_waits_within_bounds() -> None:
    policy = RetryPolicy(jitter=0.5)
    waits = [policy.wait(2) for _ in range(200)]
    assert all(2 <= w <= 4 for w in waits)
    assert len(set(waits)) > 100


def test_methods_are_upper_cased_and_policies_compare() -> None:
    assert RetryPolicy(methods=["get", "post"]).methods == {"GET", "POST"}
    assert RetryPolicy(attempts=5) == RetryPolicy().replace(attempts=5)
    assert hash(RetryPolicy()) == hash(RetryPolicy())


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"attempts": 0}, r"attempts=0: expected an integer >= 1"),
        ({"attempts": 2.5}, r"attempts=2.5: expected an integer >= 1"),
        ({"attempts": True}, r"attempts=True: expected an integer"),
        ({"max_delay": -1}, r"max_delay=-1: expected a number >= 0"),
        ({"max_delay": float("nan")}, r"max_delay=nan: expected a number >= 0"),
        ({"multiplier": "2"}, r"multiplier='2': expected a number >= 0"),
        ({"jitter": 1.5}, r"jitter=1.5: expected a number 0-1"),
        ({"methods": "GET"}, r"methods='GET': expected a collection of HTTP method names"),
        ({"statuses": [503, 700]}, r"statuses=\[503, 700\]: expected a collection of integers"),
        ({"exceptions": [httpx.ReadError]}, r"exceptions=\[.*\]: expected a tuple of exception"),
        ({"idempotency_header": ""}, r"idempotency_header='': expected a header name or None"),
    ],
)
def test_bad_values_say_what_is_allowed(kwargs: Dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        RetryPolicy(**kwargs)


def test_ancestor_names_set_the_matching_fields() -> None:
    names = {
        "stop_max_attempt_number": 5,
        "stop_max_delay": 30,
        "wait_exponential_multiplier": 1,
        "wait_exponential_max": 4,
    }
    policy = resolve_policy(None, names)
    assert policy == RetryPolicy(attempts=5, max_delay=30, multiplier=1, max_wait=4)
    base = RetryPolicy(statuses={500})
    assert resolve_policy(base, {"stop_max_attempt_number": 2}) == base.replace(attempts=2)
    assert resolve_policy(False, {"stop_max_delay": None}) is None
    with pytest.raises(ValueError, match=r"wait_exponential_max=-1: expected a number >= 0"):
        resolve_policy(None, {"wait_exponential_max": -1})


def test_retry_after_parsing() -> None:
    assert retry_after_seconds("7") == 7
    assert retry_after_seconds(" 0 ") == 0
    assert retry_after_seconds(None) is None
    assert retry_after_seconds("") is None
    assert retry_after_seconds("-3") is None
    assert retry_after_seconds("soon") is None
    assert retry_after_seconds("Mon, 99 Foo 2024 99:99:99 GMT") is None
    later = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(seconds=30)
    seconds = retry_after_seconds(email.utils.format_datetime(later, usegmt=True))
    assert seconds is not None
    assert 25 <= seconds <= 30  # whole seconds, minus however long this test was paused
    assert retry_after_seconds("Sun, 06 Nov 1994 08:49:37 GMT") == 0


def test_policy_is_the_shared_type_and_takes_every_name() -> None:
    import flyer_status

    policy = RetryPolicy(
        stop_max_attempt_number=5, stop_max_delay=30, backoff=1, max_backoff=4, statuses={500}
    )
    assert isinstance(policy, flyer_status.RetryPolicy)
    assert policy == RetryPolicy(attempts=5, max_delay=30, multiplier=1, max_wait=4, statuses={500})
    assert policy.replace(wait_exponential_max=8).max_wait == 8
    assert policy.replace(wait_exponential_max=8).statuses == {500}
    with pytest.raises(ValueError, match=r"stop_max_delay=1 conflicts with max_delay=2"):
        RetryPolicy(max_delay=2, stop_max_delay=1)
    with pytest.raises(ValueError, match=r"RetryPolicy max_delay=inf: expected a number >= 0"):
        RetryPolicy(max_delay=float("inf"))
