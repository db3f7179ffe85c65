"""Run wrappers: entered in the thread or task that runs the job, around runs that execute only;
a wrapper that raises never fails the job, and the run hook still reports after the run."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from datetime import datetime
from typing import Any, Callable, Iterator, List, Tuple

import pytest

from flyer_sched import RunEvent


def _wait(predicate: Callable[[], Any], timeout: float = 30.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.01)
    raise AssertionError("condition not met in time")


async def _until(predicate: Callable[[], Any], timeout: float = 30.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        await asyncio.sleep(0.01)
    raise AssertionError("condition not met in time")


def _where() -> Tuple[int, Any]:
    try:
        task = asyncio.current_task()
    except RuntimeError:  # no running loop: a pool thread
        task = None
    return threading.get_ident(), task


class Recorder:
    """A wrapper noting where each run was entered and exited, and what it was told."""

    def __init__(self) -> None:
        self.seen: List[Tuple[str, str, datetime, bool, Tuple[int, Any]]] = []

    def __call__(self, job_id: str, scheduled_time: datetime, manual: bool) -> Any:
        @contextlib.contextmanager
        def around() -> Iterator[None]:
            self.seen.append(("enter", job_id, scheduled_time, manual, _where()))
            try:
                yield
            finally:
                self.seen.append(("exit", job_id, scheduled_time, manual, _where()))

        return around()


def test_a_sync_run_is_wrapped_in_the_thread_that_runs_it(
    make_scheduler: Callable[..., Any],
) -> None:
    scheduler = make_scheduler()
    wrapper = Recorder()
    ran: List[Tuple[str, datetime, Tuple[int, Any]]] = []
    events: List[RunEvent] = []
    scheduler.add_run_wrapper(wrapper)
    scheduler.add_run_hook(events.append)

    @scheduler.lock(id="plain")
    def plain() -> None:
        from flyer_sched import current_tick

        tick = current_tick()
        assert tick is not None
        assert wrapper.seen[-1][0] == "enter", "the job runs inside its wrapper"
        ran.append((tick.job_id, tick.scheduled_time, _where()))

    scheduler.add_job(plain, "interval", seconds=0.2, id="plain")
    scheduler.start()
    _wait(lambda: len(events) >= 2)
    scheduler.shutdown()
    assert len(wrapper.seen) == 2 * len(ran)
    for i, (job_id, scheduled_time, where) in enumerate(ran):
        enter, leave = wrapper.seen[2 * i], wrapper.seen[2 * i + 1]
        assert enter == ("enter", job_id, scheduled_time, False, where)
        assert leave == ("exit", job_id, scheduled_time, False, where)
        assert where[0] != threading.get_ident()
        assert where[1] is None
    # The run hook still reports after the run, with the claim's wait.
    done = [e for e in events if e.outcome == "success"]
    assert done
    assert all(e.lock_wait is not None for e in done)


async def test_a_coroutine_run_is_wrapped_in_its_task_and_a_plain_one_in_its_thread(
    make_scheduler: Callable[..., Any],
) -> None:
    scheduler = make_scheduler("asyncio")
    wrapper = Recorder()
    ran: List[Tuple[str, Tuple[int, Any]]] = []
    scheduler.add_run_wrapper(wrapper)

    @scheduler.lock(id="coro")
    async def coro() -> None:
        await asyncio.sleep(0)
        ran.append(("coro", _where()))

    def plain() -> None:
        ran.append(("plain", _where()))

    scheduler.add_job(coro, "interval", seconds=0.2, id="coro")
    scheduler.add_job(plain, "interval", seconds=0.2, id="plain")
    scheduler.start()
    await _until(lambda: {name for name, _ in ran} == {"coro", "plain"})
    assert await scheduler.aclose(5)
    loop_thread = threading.get_ident()
    for name, where in ran:
        entered = [w for kind, job, _, _, w in wrapper.seen if kind == "enter" and job == name]
        left = [w for kind, job, _, _, w in wrapper.seen if kind == "exit" and job == name]
        assert where in entered
        assert where in left
        if name == "coro":
            assert where[0] == loop_thread
            assert where[1] is not None
            assert where[1] is not asyncio.current_task()
        else:
            assert where[0] != loop_thread
            assert where[1] is None


def test_a_failing_wrapper_never_fails_the_job(
    make_scheduler: Callable[..., Any], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="flyer.sched")
    scheduler = make_scheduler()
    events: List[RunEvent] = []
    ran: List[str] = []
    scheduler.add_run_hook(events.append)
    exits: List[str] = []

    def broken_call(job_id: str, scheduled_time: datetime, manual: bool) -> Any:
        raise RuntimeError("cannot make one")

    class BrokenEnter:
        def __enter__(self) -> None:
            raise RuntimeError("cannot enter")

        def __exit__(self, *info: Any) -> None:
            exits.append("broken enter")  # never entered: never exited

    class BrokenExit:
        def __enter__(self) -> None:
            return None

        def __exit__(self, *info: Any) -> bool:
            exits.append("broken exit")
            raise RuntimeError("cannot exit")

    scheduler.add_run_wrapper(broken_call)
    scheduler.add_run_wrapper(lambda *args: BrokenEnter())
    scheduler.add_run_wrapper(lambda *args: BrokenExit())

    def job() -> None:
        ran.append("ran")

    scheduler.add_job(job, "interval", seconds=0.2, id="job")
    scheduler.start()
    _wait(lambda: len(events) >= 2)
    scheduler.shutdown()
    assert ran
    assert all(e.outcome == "success" for e in events), events
    assert exits
    assert set(exits) == {"broken exit"}
    messages = [r.getMessage() for r in caplog.records if r.name == "flyer.sched"]
    assert any("failed to enter" in m for m in messages), messages
    assert any("failed to exit" in m for m in messages), messages


def test_skipped_ticks_are_not_wrapped(
    make_scheduler: Callable[..., Any], memory_store: Any
) -> None:
    scheduler = make_scheduler()
    wrapper = Recorder()
    events: List[RunEvent] = []
    scheduler.add_run_wrapper(wrapper)
    scheduler.add_run_hook(events.append)

    @scheduler.lock(id="held")
    def held() -> None:
        raise AssertionError("ran while another process held the lock")

    scheduler.add_job(held, "interval", seconds=0.2, id="held")
    assert memory_store.claim("job:held", None, "x" * 32, "elsewhere:1", 60).acquired
    scheduler.start()
    _wait(lambda: len([e for e in events if e.outcome == "skipped"]) >= 3)
    scheduler.shutdown()
    assert wrapper.seen == []


def test_a_scheduler_without_wrappers_runs_as_before(make_scheduler: Callable[..., Any]) -> None:
    scheduler = make_scheduler()
    assert scheduler.flyer_wrappers.current == ()
    wrapper = Recorder()
    scheduler.add_run_wrapper(wrapper)
    scheduler.remove_run_wrapper(wrapper)
    scheduler.remove_run_wrapper(wrapper)  # twice: no error
    assert scheduler.flyer_wrappers.current == ()
