"""`threadpool` and `single_job`: FastFlyer's background loops and once-per-fleet jobs."""

from __future__ import annotations

import signal
import time
from collections import Counter
from typing import Any, Callable, List

import pytest

from flyer_sched import ThreadPool, current_tick, threadpool
from flyer_sched._lock import lock_spec_of


def _wait(predicate: Callable[[], Any], timeout: float = 30.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.01)
    raise AssertionError("condition not met in time")


def beat(pool: ThreadPool, name: str, beats: List[str]) -> None:
    while not pool.is_stopped():
        beats.append(name)
        pool.sleep(0.02)


def test_a_single_job_loop_runs_in_one_process_and_moves_when_it_stops(
    make_scheduler: Callable[..., Any],
) -> None:
    beats: List[str] = []
    pools = {name: ThreadPool(make_scheduler(lock_ttl=1.0)) for name in "ab"}
    for name, pool in pools.items():
        task = pool.submit_task(beat, pool, name, beats)
        assert task.id == f"threadpool:{beat.__module__}:beat"
    pools["a"].scheduler.start()
    _wait(lambda: "a" in beats)
    pools["b"].scheduler.start()
    time.sleep(0.3)
    assert set(beats) == {"a"}
    stopped = time.monotonic()
    pools["a"].scheduler.shutdown()  # the loop sees is_stopped(), returns, the lease is freed
    _wait(lambda: "b" in beats)
    assert time.monotonic() - stopped < 10
    assert beats[-1] == "b"
    assert "b" not in beats[: beats.index("b")]


def test_submit_returns_the_function_and_single_job_false_runs_everywhere(
    make_scheduler: Callable[..., Any],
) -> None:
    beats: List[str] = []
    pools = [ThreadPool(make_scheduler()) for _ in range(2)]
    for index, pool in enumerate(pools):

        @pool.submit(single_job=False)
        def everywhere(pool: ThreadPool = pool, index: int = index) -> None:
            beat(pool, str(index), beats)

        assert callable(everywhere)
        assert everywhere.__name__ == "everywhere"
        pool.scheduler.start()
    _wait(lambda: {"0", "1"} <= set(beats))


def test_sleep_is_cut_short_at_shutdown_and_a_returned_task_is_not_run_again(
    make_scheduler: Callable[..., Any],
) -> None:
    scheduler = make_scheduler()
    pool = ThreadPool(scheduler)
    woke: List[bool] = []
    once: List[int] = []

    @pool.submit
    def sleeper() -> None:
        woke.append(pool.sleep(60))

    pool.submit_task(once.append, 1)
    assert pool.is_stopped()  # outside a task: whether the scheduler is stopped
    scheduler.start()
    assert not pool.is_stopped()
    _wait(lambda: once)
    time.sleep(1.5)  # longer than the retry interval: a finished task stays finished
    assert once == [1]
    started = time.monotonic()
    scheduler.shutdown()
    assert woke == [True]
    assert time.monotonic() - started < 10
    assert pool.is_stopped()
    assert pool.get_task(
        f"threadpool:{sleeper.__module__}:test_sleep_is_cut_short_at_shutdown_and_a_returned_task_is_not_run_again.sleeper"
    )


def test_threadpool_errors_name_the_argument() -> None:
    with pytest.raises(ValueError, match="single_job='yes': expected True or False"):
        threadpool.submit_task(print, single_job="yes")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="needs a function"):
        threadpool.submit_task("app.tasks:loop")  # type: ignore[arg-type]


def test_single_job_on_add_job_and_scheduled_job_is_lock(
    make_scheduler: Callable[..., Any],
) -> None:
    ran: List[Any] = []
    schedulers = [make_scheduler(), make_scheduler()]
    for scheduler in schedulers:

        def tick() -> None:
            ran.append(current_tick().scheduled_time)

        job = scheduler.add_job(tick, "interval", seconds=0.2, id="single", single_job=True)
        assert lock_spec_of(job.func) is not None

        @scheduler.scheduled_job("interval", seconds=0.2, id="decorated", single_job=True)
        def decorated() -> None:
            ran.append(("decorated", current_tick().scheduled_time))

        assert lock_spec_of(scheduler.get_job("decorated").func) is not None
        scheduler.start()
    _wait(lambda: len([r for r in ran if isinstance(r, tuple)]) >= 4 and len(ran) >= 10)
    for scheduler in schedulers:
        scheduler.shutdown()
    assert [r for r, n in Counter(ran).items() if n > 1] == [], "a tick ran twice"
    with pytest.raises(ValueError, match="single_job='yes': expected True or False"):
        schedulers[0].add_job(print, "interval", seconds=1, id="bad", single_job="yes")


@pytest.mark.slow
def test_the_loop_moves_to_another_process_after_sigkill(
    fleets: Callable[[str], Any], redis_url: str
) -> None:
    fleet = fleets("threadpool")
    config = {"mode": "threadpool", "scheduler": "background", "job_id": "-", "duration": 60}
    env = {"FLYER_REDIS_URL": redis_url}
    procs = [fleet.spawn(config, env) for _ in range(2)]
    first = fleet.wait_for(lambda rows: [r for r in rows if r["event"] == "leading"], 30)[0]
    time.sleep(1.0)
    holder = next(p for p in procs if p.pid == first["pid"])
    holder.send_signal(signal.SIGKILL)
    killed = time.time()
    takeover = fleet.wait_for(
        lambda rows: [r for r in rows if r["event"] == "leading" and r["t"] > killed], 30
    )[0]
    for proc in procs:
        proc.terminate()
    fleet.wait_all(20)
    rows = fleet.records()
    assert takeover["pid"] != holder.pid
    assert takeover["fence"] > first["fence"]
    leading = [r for r in rows if r["event"] == "leading"]
    assert [r["pid"] for r in leading] == [holder.pid, takeover["pid"]]
    beats = [r for r in rows if r["event"] == "beat"]
    assert {r["pid"] for r in beats if r["t"] < killed} == {holder.pid}
    print(f"threadpool failover after SIGKILL: {takeover['t'] - killed:.2f}s (lease TTL 4 s)")
    assert takeover["t"] - killed < 4.0 * 2  # the TTL, with room for a busy machine
