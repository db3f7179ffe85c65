"""Skipped ticks: said once per cause at WARNING (with the reason and the holder), never
reported as executed (no APScheduler "executed successfully", no EVENT_JOB_EXECUTED)."""

from __future__ import annotations

import logging
import socket
import time
from typing import Any, Callable, List

import pytest
from apscheduler.events import EVENT_JOB_EXECUTED, EVENT_JOB_SUBMITTED

from flyer_sched import RedisLockStore, RunEvent


def _wait(predicate: Callable[[], Any], timeout: float = 30.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.01)
    raise AssertionError("condition not met in time")


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_ticks_skipped_while_another_holder_runs_are_warned_once_and_never_executed(
    make_scheduler: Callable[..., Any],
    memory_store: Any,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    scheduler = make_scheduler()
    events: List[RunEvent] = []
    executed: List[Any] = []
    runs: List[float] = []
    scheduler.add_run_hook(events.append)
    scheduler.add_listener(executed.append, EVENT_JOB_EXECUTED)

    @scheduler.lock(id="held")
    def held() -> None:
        runs.append(time.monotonic())

    scheduler.add_job(held, "interval", seconds=0.2, id="held")
    # Another process holds the job's run lock (a long run, or a holder that died).
    assert memory_store.claim("job:held", None, "x" * 32, "elsewhere:1", 60).acquired
    scheduler.start()
    _wait(lambda: len([e for e in events if e.outcome == "skipped"]) >= 4)
    assert runs == []
    assert executed == [], "a skipped tick was reported as executed to listeners"
    aps = [r.getMessage() for r in caplog.records if r.name.startswith("apscheduler")]
    assert not [m for m in aps if "executed successfully" in m or "Running job" in m], aps
    warnings = [
        r for r in caplog.records if r.name == "flyer.sched" and r.levelno >= logging.WARNING
    ]
    assert len(warnings) == 1, [r.getMessage() for r in warnings]
    (warning,) = warnings
    assert warning.levelno == logging.WARNING
    assert (warning.reason, warning.lock_holder) == ("busy", "elsewhere:1")
    assert "elsewhere:1" in warning.getMessage()
    assert "still holds" in warning.getMessage()

    # The holder finishes: the job runs again, and the change is said once at INFO.
    assert memory_store.release("job:held", "x" * 32)
    _wait(lambda: runs)
    _wait(lambda: executed)
    again = [r for r in caplog.records if "runs again" in r.getMessage()]
    assert len(again) == 1
    assert again[0].levelno == logging.INFO
    scheduler.pause()
    # A new cause (another holder) is warned about again.
    assert memory_store.claim("job:held", None, "y" * 32, "elsewhere:2", 60).acquired
    scheduler.resume()
    _wait(lambda: [r for r in caplog.records if getattr(r, "lock_holder", "") == "elsewhere:2"])
    warnings = [
        r for r in caplog.records if r.name == "flyer.sched" and r.levelno >= logging.WARNING
    ]
    assert [w.lock_holder for w in warnings] == ["elsewhere:1", "elsewhere:2"]


def test_an_unreachable_store_is_an_error_once_per_outage_not_per_tick(
    make_scheduler: Callable[..., Any], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    down = RedisLockStore(url=f"redis://127.0.0.1:{_closed_port()}/0")
    scheduler = make_scheduler(store=down)
    events: List[RunEvent] = []
    submitted: List[Any] = []
    executed: List[Any] = []
    scheduler.add_run_hook(events.append)
    scheduler.add_listener(submitted.append, EVENT_JOB_SUBMITTED)
    scheduler.add_listener(executed.append, EVENT_JOB_EXECUTED)

    @scheduler.lock(id="careful")
    def careful() -> None:
        raise AssertionError("ran without its lock")

    scheduler.add_job(careful, "interval", seconds=0.2, id="careful")
    scheduler.start()
    _wait(lambda: len(events) >= 4)
    assert {(e.outcome, e.reason) for e in events} == {("skipped", "lock_store_unreachable")}
    assert submitted
    assert executed == []
    loud = [r for r in caplog.records if r.name == "flyer.sched" and r.levelno >= logging.WARNING]
    assert len(loud) == 1, [r.getMessage() for r in loud]
    assert loud[0].levelno == logging.ERROR
    assert loud[0].reason == "lock_store_unreachable"
    assert "unreachable" in loud[0].getMessage()
    assert "redis lock store" in loud[0].error
