"""`asyncio_scheduler`-style schedulers: loop binding, restarts, coroutine locks, bounded stop."""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any, Callable, List

import pytest

from flyer_sched import MemoryLockStore, current_tick
from flyer_sched._store import tick_of


async def _until(predicate: Callable[[], Any], timeout: float = 30.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        await asyncio.sleep(0.01)
    raise AssertionError("condition not met in time")


async def test_coroutine_and_plain_jobs_run_with_their_ticks(
    make_scheduler: Callable[..., Any],
) -> None:
    scheduler = make_scheduler("asyncio")
    seen: List[Any] = []

    @scheduler.lock()
    async def customfunc() -> None:
        tick = current_tick()
        await asyncio.sleep(0)
        seen.append(("async", tick.scheduled_time, tick.fencing_token))

    @scheduler.lock(id="plain")
    def plain() -> None:
        seen.append(("sync", current_tick().scheduled_time, current_tick().fencing_token))

    scheduler.add_job(customfunc, "interval", seconds=0.25, id="customjob")
    scheduler.add_job(plain, "interval", seconds=0.25)
    scheduler.start()
    assert scheduler.flyer_loop is asyncio.get_running_loop()
    await _until(lambda: {kind for kind, _, _ in seen} == {"async", "sync"})
    assert await scheduler.aclose(5)
    assert not scheduler.running
    assert all(tick_of(t) % 250_000 == 0 and fence for _, t, fence in seen)


def test_start_needs_a_running_loop(make_scheduler: Callable[..., Any]) -> None:
    with pytest.raises(RuntimeError, match="needs a running event loop"):
        make_scheduler("asyncio").start()


def test_restarts_on_a_new_loop_each_lifespan(make_scheduler: Callable[..., Any]) -> None:
    scheduler = make_scheduler("asyncio")
    loops: List[Any] = []

    @scheduler.lock(id="lifespans")
    async def job() -> None:
        loops.append(asyncio.get_running_loop())

    scheduler.add_job(job, "interval", seconds=0.2, id="lifespans")

    async def lifespan() -> None:
        scheduler.start()
        count = len(loops)
        await _until(lambda: len(loops) > count)
        scheduler.shutdown()
        assert not scheduler.running  # shutdown on the loop takes effect at once

    for _ in range(3):
        loop = asyncio.new_event_loop()  # a fresh loop per lifespan, as per app run
        try:
            loop.run_until_complete(lifespan())
        finally:
            loop.close()
    assert len(set(map(id, loops))) == 3
    assert scheduler.get_job("lifespans") is not None


def test_a_run_cut_off_with_its_loop_does_not_block_the_next_lifespan(
    make_scheduler: Callable[..., Any],
) -> None:
    scheduler = make_scheduler("asyncio")
    started: List[Any] = []

    async def job() -> None:
        started.append(asyncio.get_running_loop())
        await asyncio.sleep(30)  # still running when its lifespan ends

    scheduler.add_job(job, "interval", seconds=0.2, id="slow")

    async def lifespan() -> None:
        scheduler.start()
        count = len(started)
        await _until(lambda: len(started) > count)
        scheduler.shutdown()  # cancels the run; its loop closes before the run ends

    for _ in range(2):
        loop = asyncio.new_event_loop()
        try:
            loop.run_until_complete(lifespan())
        finally:
            loop.close()
    assert len(set(map(id, started))) == 2  # the second lifespan ran the job again


class _SlowClaims(MemoryLockStore):
    """A store that takes a while to answer a claim (a busy Redis, a slow disk)."""

    def __init__(self) -> None:
        super().__init__()
        self.claiming = threading.Event()

    def claim(self, *args: Any, **kwargs: Any) -> Any:
        self.claiming.set()
        time.sleep(0.3)
        return super().claim(*args, **kwargs)


@pytest.mark.parametrize("cut", ["while claiming", "while running"])
def test_a_locked_run_cut_off_with_its_loop_releases_its_lock(
    make_scheduler: Callable[..., Any], cut: str
) -> None:
    store = _SlowClaims()
    scheduler = make_scheduler("asyncio", store=store)
    started: List[Any] = []

    @scheduler.lock(id="held-over")
    async def job() -> None:
        started.append(asyncio.get_running_loop())
        await asyncio.sleep(30)  # holds the lock when its lifespan ends

    scheduler.add_job(job, "interval", seconds=0.2, id="held-over")

    async def lifespan(first: bool) -> None:
        scheduler.start()
        if first and cut == "while claiming":
            await _until(store.claiming.is_set)
        else:
            count = len(started)
            await _until(lambda: len(started) > count)
        scheduler.shutdown()  # cancels the run; its loop closes before the run ends

    loops = []
    for first in (True, False):
        loop = asyncio.new_event_loop()
        loops.append(loop)
        try:
            loop.run_until_complete(lifespan(first))
        finally:
            loop.close()
    # The lock taken in the first lifespan did not outlive it: the second one ran the job.
    assert any(ran is loops[1] for ran in started)


async def test_shutdown_from_another_thread_waits_for_the_loop(
    make_scheduler: Callable[..., Any],
) -> None:
    scheduler = make_scheduler("asyncio")
    scheduler.start()
    thread = threading.Thread(target=scheduler.shutdown)
    thread.start()
    await _until(lambda: not thread.is_alive())
    assert not scheduler.running


async def test_aclose_waits_for_running_jobs_then_gives_up_at_its_deadline(
    make_scheduler: Callable[..., Any],
) -> None:
    scheduler = make_scheduler("asyncio")
    finished: List[str] = []

    async def short() -> None:
        await asyncio.sleep(0.3)
        finished.append("short")

    async def endless() -> None:
        try:
            await asyncio.sleep(60)
        except asyncio.CancelledError:
            finished.append("cancelled")
            raise

    scheduler.add_job(short, "interval", hours=1, id="short")
    scheduler.add_job(endless, "interval", hours=1, id="endless")
    scheduler.start()
    scheduler.run_job_now("short")
    assert await scheduler.aclose(5) is True
    assert finished == ["short"]

    scheduler.start()
    scheduler.run_job_now("endless")
    await asyncio.sleep(0.05)
    started = time.monotonic()
    assert await scheduler.aclose(0.3) is False
    assert time.monotonic() - started < 15  # bounded by its timeout, not by the 60 s job
    await _until(lambda: "cancelled" in finished)


async def test_background_scheduler_aclose_is_bounded_too(
    make_scheduler: Callable[..., Any],
) -> None:
    scheduler = make_scheduler("background")
    release = threading.Event()
    scheduler.add_job(lambda: release.wait(5), "interval", hours=1, id="blocking")
    scheduler.start()
    scheduler.run_job_now("blocking")
    await asyncio.sleep(0.05)
    assert await scheduler.aclose(0.2) is False
    release.set()
    assert not scheduler.running
