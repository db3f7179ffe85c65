"""`app.state` of a flyer app: values built on first use (`FlyerState.flyer_lazy`)."""

from __future__ import annotations

import threading
import time
from typing import List

import pytest

from flyer_core import FlyerState, create_app


def test_a_flyer_app_state_is_a_flyer_state() -> None:
    app = create_app(None, plugins=[])
    assert isinstance(app.state, FlyerState)
    app.state.answer = 42
    assert app.state.answer == 42


def test_a_lazy_value_is_built_when_first_read_and_then_kept() -> None:
    state = FlyerState()
    calls: List[int] = []

    def build() -> object:
        calls.append(1)
        return object()

    state.flyer_lazy("thing", build)
    assert calls == []
    assert state.flyer_pending("thing")
    first = state.thing
    assert calls == [1]
    assert state.thing is first
    assert state["thing"] is first
    assert not state.flyer_pending("thing")
    assert calls == [1]


def test_item_access_builds_it_too() -> None:
    state = FlyerState()
    state.flyer_lazy("thing", lambda: "built")
    assert state["thing"] == "built"
    assert state.thing == "built"


def test_threads_racing_for_it_build_it_once() -> None:
    state = FlyerState()
    calls: List[int] = []

    def slow() -> object:
        calls.append(1)
        time.sleep(0.05)
        return object()

    state.flyer_lazy("thing", slow)
    seen: List[object] = []
    threads = [threading.Thread(target=lambda: seen.append(state.thing)) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert calls == [1]
    assert len(seen) == 8
    assert all(value is seen[0] for value in seen)


def test_setting_or_deleting_the_name_drops_its_factory() -> None:
    state = FlyerState()
    state.flyer_lazy("thing", lambda: pytest.fail("the factory ran"))
    state.thing = "mine"
    assert state.thing == "mine"
    assert not state.flyer_pending("thing")

    state.flyer_lazy("other", lambda: pytest.fail("the factory ran"))
    del state.other
    assert not state.flyer_pending("other")
    with pytest.raises(AttributeError):
        state.other  # noqa: B018


def test_a_lazy_value_replaces_a_value_set_before() -> None:
    state = FlyerState()
    state.thing = "old"
    state.flyer_lazy("thing", lambda: "new")
    assert state.thing == "new"


def test_a_failing_factory_raises_each_read_and_stays_pending() -> None:
    state = FlyerState()
    attempts: List[int] = []

    def broken() -> object:
        attempts.append(1)
        raise RuntimeError("no")

    state.flyer_lazy("thing", broken)
    for _ in range(2):
        with pytest.raises(RuntimeError):
            state.thing  # noqa: B018
    assert attempts == [1, 1]
    assert state.flyer_pending("thing")


def test_an_unknown_name_is_still_an_attribute_error_or_a_key_error() -> None:
    state = FlyerState()
    with pytest.raises(AttributeError):
        state.missing  # noqa: B018
    with pytest.raises(KeyError):
        state["missing"]
    assert getattr(state, "missing", None) is None
    state["set"] = 1  # item access on every Starlette release flyer supports
    assert state.set == 1
    assert state["set"] == 1
    del state["set"]
    with pytest.raises(KeyError):
        state["set"]
