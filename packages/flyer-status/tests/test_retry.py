"""RetryPolicy: the tries-and-waits type flyer-http and flyer-db both extend."""

from __future__ import annotations

import copy
import pickle
from typing import Any, ClassVar, Dict, Mapping

import pytest

from flyer_status import RetryPolicy


def test_defaults_and_waits() -> None:
    policy = RetryPolicy(jitter=0)
    assert (policy.attempts, policy.max_delay, policy.multiplier, policy.max_wait) == (3, 60, 2, 10)
    assert [policy.wait(n) for n in range(1, 6)] == [2, 4, 8, 10, 10]
    assert policy.wait(10_000) == 10  # no overflow however many tries


def test_jitter_shortens_within_bounds() -> None:
    policy = RetryPolicy(multiplier=1, max_wait=100, jitter=0.5)
    waits = [policy.wait(3) for _ in range(200)]
    assert all(2 <= w <= 4 for w in waits)
    assert len(set(waits)) > 100


@pytest.mark.parametrize(
    ("names", "fields"),
    [
        ({"backoff": 0.5, "max_backoff": 3}, {"multiplier": 0.5, "max_wait": 3}),
        (
            {
                "stop_max_attempt_number": 5,
                "stop_max_delay": 30,
                "wait_exponential_multiplier": 1,
                "wait_exponential_max": 4,
            },
            {"attempts": 5, "max_delay": 30, "multiplier": 1, "max_wait": 4},
        ),
    ],
)
def test_every_name_sets_the_same_field(names: Dict[str, Any], fields: Dict[str, Any]) -> None:
    policy = RetryPolicy(**names)
    assert policy == RetryPolicy(**fields)
    assert policy.backoff == policy.multiplier
    assert policy.max_backoff == policy.max_wait
    assert RetryPolicy().replace(**names) == policy


def test_a_field_given_twice_is_refused() -> None:
    with pytest.raises(ValueError, match=r"backoff=1 conflicts with multiplier=2: pass one"):
        RetryPolicy(multiplier=2, backoff=1)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"attempts": 0}, r"RetryPolicy attempts=0: expected an integer >= 1"),
        ({"stop_max_attempt_number": 1.5}, r"stop_max_attempt_number=1.5: expected an integer"),
        ({"backoff": -1}, r"RetryPolicy backoff=-1: expected a number >= 0"),
        ({"max_delay": float("inf")}, r"max_delay=inf: expected a number >= 0"),
        ({"max_wait": True}, r"max_wait=True: expected a number >= 0"),
        ({"jitter": 2}, r"jitter=2: expected a number 0-1"),
    ],
)
def test_bad_values_name_the_argument_and_what_is_allowed(
    kwargs: Dict[str, Any], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        RetryPolicy(**kwargs)


def test_immutable_compared_hashed_copied_and_pickled_by_value() -> None:
    policy = RetryPolicy(attempts=4)
    with pytest.raises(AttributeError, match="immutable"):
        policy.attempts = 5  # type: ignore[misc]
    assert policy == RetryPolicy(attempts=4) != RetryPolicy()
    assert hash(policy) == hash(RetryPolicy(attempts=4))
    assert pickle.loads(pickle.dumps(policy)) == policy
    assert copy.copy(policy) == policy
    assert repr(policy) == (
        "RetryPolicy(attempts=4, max_delay=60.0, multiplier=2.0, max_wait=10.0, jitter=0.25)"
    )
    with pytest.raises(TypeError):
        RetryPolicy(4)  # type: ignore[misc]


def test_a_subclass_keeps_its_defaults_and_fields() -> None:
    class Slow(RetryPolicy):
        __slots__ = ("note",)
        DEFAULTS: ClassVar[Mapping[str, Any]] = {**RetryPolicy.DEFAULTS, "attempts": 7}

        def __init__(self, *, note: str = "", **names: Any) -> None:
            super().__init__(**names)
            object.__setattr__(self, "note", note)

    slow = Slow(note="x", backoff=1)
    assert (slow.attempts, slow.multiplier, slow.note) == (7, 1, "x")
    changed = slow.replace(stop_max_attempt_number=2)
    assert (type(changed), changed.attempts, changed.multiplier, changed.note) == (Slow, 2, 1, "x")
    assert slow != RetryPolicy(attempts=7, multiplier=1)
