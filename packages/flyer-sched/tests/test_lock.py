"""`lock()` inside one process: ids, alignment, ticks, skips, store errors, hooks and logs."""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from datetime import datetime, timezone
from typing import Any, Callable, List

import pytest

from flyer_sched import (
    BackgroundScheduler,
    RedisLockStore,
    RunEvent,
    SchedSettings,
    current_tick,
)
from flyer_sched._store import EPOCH, tick_of


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


def test_ancestor_readme_calls_work(make_scheduler: Callable[..., Any]) -> None:
    scheduler = make_scheduler()
    ran: List[Any] = []

    @scheduler.lock()
    def customfunc() -> None:
        ran.append(current_tick())

    job = scheduler.add_job(customfunc, "interval", seconds=5, id="customjob")
    assert job.id == "customjob"
    assert scheduler.get_job("customjob") is not None
    assert customfunc.__name__ == "customfunc"


def test_default_ids_are_module_and_qualname_and_url_safe(
    make_scheduler: Callable[..., Any],
) -> None:
    scheduler = make_scheduler()

    @scheduler.lock()
    def nested() -> None:
        pass

    def plain() -> None:
        pass

    locked = scheduler.add_job(nested, "interval", seconds=5)
    unlocked = scheduler.add_job(plain, "interval", seconds=5)
    module = __name__
    assert locked.id == f"{module}:test_default_ids_are_module_and_qualname_and_url_safe.nested"
    assert unlocked.id == f"{module}:test_default_ids_are_module_and_qualname_and_url_safe.plain"
    assert "<" not in locked.id
    assert " " not in locked.id
    with pytest.raises(ValueError, match="is taken: pass id="):
        scheduler.add_job(plain, "interval", seconds=7)
    assert scheduler.add_job(plain, "interval", seconds=7, id="plain-7").id == "plain-7"
    named = scheduler.lock("reports.daily")(lambda: None)
    assert scheduler.add_job(named, "cron", hour=3).id == "reports.daily"


def test_locked_interval_jobs_align_to_the_epoch(make_scheduler: Callable[..., Any]) -> None:
    scheduler = make_scheduler()
    locked = scheduler.lock()(lambda: None)
    job = scheduler.add_job(locked, "interval", seconds=7, id="aligned")
    assert job.trigger.start_date == EPOCH
    scheduler.start(paused=True)
    next_run = scheduler.get_job("aligned").next_run_time
    assert tick_of(next_run) % 7_000_000 == 0
    start = datetime(2024, 1, 1, 0, 0, 3, tzinfo=timezone.utc)
    given = scheduler.add_job(locked, "interval", seconds=7, id="given", start_date=start)
    assert given.trigger.start_date == start


def test_rescheduling_a_locked_job_keeps_it_aligned(make_scheduler: Callable[..., Any]) -> None:
    scheduler = make_scheduler()
    locked = scheduler.lock()(lambda: None)
    scheduler.add_job(locked, "cron", minute=5, id="moved")
    scheduler.start(paused=True)
    job = scheduler.reschedule_job("moved", trigger="interval", seconds=9)
    assert job.trigger.start_date == EPOCH
    assert tick_of(job.next_run_time) % 9_000_000 == 0
    with pytest.raises(ValueError, match="jitter"):
        scheduler.reschedule_job("moved", trigger="interval", seconds=9, jitter=2)


def test_locked_jobs_refuse_jitter(make_scheduler: Callable[..., Any]) -> None:
    scheduler = make_scheduler()
    locked = scheduler.lock()(lambda: None)
    with pytest.raises(ValueError, match="jitter=3"):
        scheduler.add_job(locked, "interval", seconds=10, jitter=3, id="j")
    plain = scheduler.add_job(lambda: None, "interval", seconds=10, jitter=3, id="ok")
    assert plain.trigger.jitter == 3


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"ttl": 0}, "lock ttl=0"),
        ({"ttl": "soon"}, "lock ttl='soon'"),
        ({"store": "etcd"}, "lock store='etcd'"),
        ({"on_store_error": "retry"}, "lock on_store_error='retry'"),
        ({"id": ""}, "lock id=''"),
    ],
)
def test_bad_lock_arguments_fail_at_decoration(
    make_scheduler: Callable[..., Any], kwargs: Any, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        make_scheduler().lock(**kwargs)(lambda: None)


def test_bare_decorator_and_direct_calls(make_scheduler: Callable[..., Any]) -> None:
    scheduler = make_scheduler()
    seen: List[Any] = []

    @scheduler.lock
    def report(x: int) -> int:
        seen.append(current_tick())
        return x * 2

    assert report(21) == 42
    tick = seen[0]
    assert tick.manual
    assert tick.fencing_token is not None
    assert tick.lock_id == tick.job_id
    assert current_tick() is None


def test_a_direct_call_while_another_holds_the_lock_is_skipped(
    make_scheduler: Callable[..., Any],
) -> None:
    scheduler = make_scheduler()
    entered, release = threading.Event(), threading.Event()

    @scheduler.lock(id="exclusive")
    def slow() -> str:
        entered.set()
        release.wait(5)
        return "ran"

    results: List[Any] = []
    worker = threading.Thread(target=lambda: results.append(slow()))
    worker.start()
    assert entered.wait(5)
    assert slow() is None  # the run lock is held by the other call
    release.set()
    worker.join(5)
    assert results == ["ran"]


def test_scheduled_ticks_run_once_each_across_two_schedulers_sharing_a_store(
    make_scheduler: Callable[..., Any],
) -> None:
    runs: List[Any] = []
    schedulers = [make_scheduler(), make_scheduler()]
    for scheduler in schedulers:

        @scheduler.lock(id="shared")
        def job() -> None:
            tick = current_tick()
            runs.append((tick.scheduled_time, tick.fencing_token))

        scheduler.add_job(job, "interval", seconds=0.25, id="shared", coalesce=False)
    for scheduler in schedulers:
        scheduler.start()
    time.sleep(1.6)
    for scheduler in schedulers:
        scheduler.shutdown()
    ticks = [t for t, _ in runs]
    assert len(ticks) >= 4
    assert len(set(ticks)) == len(ticks)
    assert all(tick_of(t) % 250_000 == 0 for t in ticks)
    fences = [f for _, f in sorted(runs)]
    assert fences == sorted(fences)


def test_every_run_is_logged_once_with_structured_fields_and_hooks_get_events(
    make_scheduler: Callable[..., Any], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="flyer.sched")
    winner, loser = make_scheduler(), make_scheduler()
    events: List[RunEvent] = []
    winner.add_run_hook(events.append)
    loser.add_run_hook(events.append)
    winner.add_run_hook(lambda event: 1 / 0)  # a broken hook is logged, never fatal

    for scheduler in (winner, loser):

        @scheduler.lock(id="logged")
        def job() -> None:
            time.sleep(0.05)

        scheduler.add_job(job, "interval", seconds=0.5, id="logged")

    def failing() -> None:
        raise RuntimeError("boom")

    winner.add_job(failing, "interval", seconds=0.5, id="failing")
    winner.start()
    _wait(lambda: any(e.job_id == "failing" for e in events))
    loser.start()
    _wait(lambda: len({e.scheduled_time for e in events if e.job_id == "logged"}) >= 2)
    time.sleep(0.1)
    winner.shutdown()
    loser.shutdown()

    failed = next(e for e in events if e.job_id == "failing")
    assert (failed.outcome, failed.error) == ("error", "RuntimeError: boom")
    logged = [e for e in events if e.job_id == "logged"]
    assert {e.outcome for e in logged} <= {"success", "skipped"}
    by_tick: dict = {}
    for event in logged:
        by_tick.setdefault(event.scheduled_time, []).append(event.outcome)
    assert all(outcomes.count("success") == 1 for outcomes in by_tick.values())
    success = next(e for e in logged if e.outcome == "success")
    assert success.holder
    assert success.fencing_token
    assert success.duration >= 0.05

    records = [r for r in caplog.records if r.name == "flyer.sched" and hasattr(r, "outcome")]
    line = next(
        r
        for r in records
        if r.job_id == "logged"
        and r.outcome == "success"
        and r.tick == success.scheduled_time.isoformat()
    )
    assert line.levelno == logging.INFO
    assert line.lock_holder
    assert line.fencing_token
    assert line.duration_ms >= 50
    error_line = next(r for r in records if r.job_id == "failing")
    assert error_line.levelno == logging.ERROR
    assert error_line.outcome == "error"
    skipped = [r for r in records if r.job_id == "logged" and r.outcome == "skipped"]
    assert all(r.levelno == logging.DEBUG and r.reason in ("done", "busy") for r in skipped)
    assert any("run hook" in r.getMessage() for r in caplog.records)


def test_unreachable_store_skips_with_an_error_or_runs_when_told(
    make_scheduler: Callable[..., Any], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="flyer.sched")
    down = RedisLockStore(url=f"redis://127.0.0.1:{_closed_port()}/0")
    scheduler = make_scheduler(store=down)
    runs: List[str] = []

    @scheduler.lock(id="careful")
    def careful() -> None:
        runs.append("careful")

    @scheduler.lock(id="eager", on_store_error="run")
    def eager() -> None:
        runs.append("eager")

    assert careful() is None
    eager()
    assert runs == ["eager"]
    skipped = next(r for r in caplog.records if getattr(r, "lock_id", None) == "careful")
    assert skipped.levelno == logging.ERROR
    assert skipped.reason == "lock_store_unreachable"
    assert "redis lock store" in skipped.error
    assert any(
        r.levelno == logging.ERROR and "running without the lock" in r.getMessage()
        for r in caplog.records
    )
    ran = [
        r
        for r in caplog.records
        if getattr(r, "lock_id", None) == "eager" and getattr(r, "outcome", None) == "success"
    ]
    assert ran
    assert ran[0].reason == "unlocked"


def test_settings_policy_run_applies_to_every_lock(make_scheduler: Callable[..., Any]) -> None:
    down = RedisLockStore(url=f"redis://127.0.0.1:{_closed_port()}/0")
    scheduler = make_scheduler(store=down, on_store_error="run")
    assert scheduler.lock()(lambda: "ran")() == "ran"


def test_a_renewal_that_finds_the_lock_gone_marks_it_lost(
    make_scheduler: Callable[..., Any], redis_url: str, prefix: str, redis_client: Any
) -> None:
    store = RedisLockStore(url=redis_url, prefix=prefix)
    scheduler = make_scheduler(store=store)
    seen: List[bool] = []

    @scheduler.lock(id="fragile", ttl=0.3)
    def fragile() -> None:
        tick = current_tick()
        redis_client.delete(f"{prefix}:{{job:fragile}}:run")  # as if it had expired
        deadline = time.monotonic() + 3
        while not tick.lock_lost and time.monotonic() < deadline:
            time.sleep(0.02)
        seen.append(tick.lock_lost)

    fragile()
    assert seen == [True]
    store.close()


def test_long_jobs_are_renewed_past_their_ttl(make_scheduler: Callable[..., Any]) -> None:
    scheduler = make_scheduler()

    @scheduler.lock(id="long", ttl=1.2)
    def long() -> bool:
        time.sleep(3.0)
        return current_tick().lock_lost

    other = make_scheduler().lock(id="long", ttl=1.2)(lambda: "second")
    results: List[Any] = []
    thread = threading.Thread(target=lambda: results.append(long()))
    thread.start()
    time.sleep(2.0)  # past the TTL: only renewal keeps the lock
    assert other() is None
    thread.join(30)
    assert results == [False]
    assert other() == "second"


def test_one_renewal_thread_serves_every_running_job(make_scheduler: Callable[..., Any]) -> None:
    scheduler = make_scheduler()
    inside, release = threading.Barrier(21), threading.Event()
    lost: List[bool] = []

    def job() -> None:
        inside.wait(30)
        release.wait(30)
        lost.append(current_tick().lock_lost)

    workers = [
        threading.Thread(target=scheduler.lock(id=f"many-{n}", ttl=1.2)(job)) for n in range(20)
    ]
    for worker in workers:
        worker.start()
    inside.wait(30)
    time.sleep(2.0)  # past the TTL: every lock lives on renewals only
    renewers = [t for t in threading.enumerate() if t.name == "flyer-sched-renewer"]
    assert len(renewers) == 1
    assert all(scheduler.lock_store.status(f"job:many-{n}").holder for n in range(20))
    release.set()
    for worker in workers:
        worker.join(30)
    assert lost == [False] * 20


def test_run_now_runs_here_without_claiming_a_tick_or_moving_the_schedule(
    make_scheduler: Callable[..., Any],
) -> None:
    scheduler = make_scheduler()
    ticks: List[Any] = []

    @scheduler.lock(id="now")
    def job() -> None:
        ticks.append(current_tick())

    scheduler.add_job(job, "interval", hours=1, id="now")
    scheduler.start()
    before = scheduler.get_job("now").next_run_time
    scheduler.run_job_now("now")
    _wait(lambda: ticks)
    assert ticks[0].manual
    assert ticks[0].fencing_token
    assert scheduler.get_job("now").next_run_time == before
    assert scheduler.lock_store.status("job:now").last_tick is None


def test_pausing_a_locked_job_pauses_it_for_every_process_sharing_the_store(
    make_scheduler: Callable[..., Any],
) -> None:
    here, elsewhere = make_scheduler(), make_scheduler()
    runs: List[str] = []
    for name, scheduler in (("here", here), ("elsewhere", elsewhere)):

        @scheduler.lock(id="pausable")
        def job(name: str = name) -> None:
            runs.append(name)

        scheduler.add_job(job, "interval", seconds=0.2, id="pausable")
    here.start()
    elsewhere.start()
    here.pause_job("pausable")
    assert here.get_job("pausable").next_run_time is None
    assert elsewhere.get_job("pausable").next_run_time is not None  # APScheduler state is local
    info = elsewhere.job_info(elsewhere.get_job("pausable"))
    assert info["paused"] is True
    assert info["locked"] is True
    runs.clear()
    time.sleep(0.7)
    assert runs == []  # ... but the lock store pauses it everywhere
    here.resume_job("pausable")
    _wait(lambda: runs)
    assert here.get_job("pausable").next_run_time is not None


def test_a_scheduler_restarts_for_many_lifespans_and_keeps_its_jobs(
    make_scheduler: Callable[..., Any],
) -> None:
    scheduler = make_scheduler()
    ticks: List[Any] = []

    @scheduler.lock(id="restart")
    def job() -> None:
        ticks.append(current_tick().scheduled_time)

    scheduler.add_job(job, "interval", seconds=0.2, id="restart")
    paused = scheduler.add_job(lambda: None, "interval", seconds=0.2, id="paused")
    paused.pause()
    for _ in range(3):
        ticks.clear()
        scheduler.start()
        _wait(lambda: ticks)
        scheduler.shutdown()
        assert scheduler.get_job("restart") is not None
    assert scheduler.get_job("paused").next_run_time is None
    assert threading.active_count() < 20


def test_listing_shows_fleet_state(make_scheduler: Callable[..., Any]) -> None:
    scheduler = make_scheduler()
    gate = threading.Event()

    @scheduler.lock(id="listed")
    def job() -> None:
        gate.wait(5)

    scheduler.add_job(job, "interval", hours=1, id="listed", name="Listed job")
    scheduler.add_job(lambda: None, "cron", hour=4, id="nightly")
    pending = {j["id"]: j for j in scheduler.list_jobs()}
    assert pending["listed"]["next_run_time"] is None  # not scheduled before start
    scheduler.start()
    scheduler.run_job_now("listed")
    _wait(lambda: scheduler.list_jobs()[0]["lock_holder"])
    listed, nightly = scheduler.list_jobs()
    assert listed["id"] == "listed"
    assert listed["name"] == "Listed job"
    assert listed["locked"]
    assert listed["lock_holder"].endswith(f":{os.getpid()}")
    assert listed["trigger"] == "interval[1:00:00]"
    assert listed["scheduler"] == "background"
    assert datetime.fromisoformat(listed["next_run_time"]) > datetime.now(timezone.utc)
    assert nightly["locked"] is False
    assert nightly["lock_holder"] is None
    assert nightly["trigger"].startswith("cron[")
    gate.set()


def test_timezone_comes_from_settings_and_utc_is_the_default() -> None:
    default = BackgroundScheduler(settings=SchedSettings())
    default.add_job(lambda: None, "cron", hour=1, id="a")
    assert str(default.timezone) == "UTC"
    shanghai = BackgroundScheduler(settings=SchedSettings(timezone="Asia/Shanghai"))
    job = shanghai.add_job(lambda: None, "cron", hour=1, id="b")
    assert str(job.trigger.timezone) == "Asia/Shanghai"
    explicit = BackgroundScheduler(timezone="Europe/Berlin", settings=SchedSettings())
    explicit.add_job(lambda: None, "cron", hour=1, id="c")
    assert str(explicit.timezone) == "Europe/Berlin"


def test_constructing_a_scheduler_starts_nothing() -> None:
    before = threading.active_count()
    scheduler = BackgroundScheduler()
    scheduler.lock()(lambda: None)
    assert threading.active_count() == before
    assert not scheduler.running


def test_a_removed_run_hook_hears_no_more_runs(make_scheduler: Callable[..., Any]) -> None:
    scheduler = make_scheduler()
    kept: List[RunEvent] = []
    removed: List[RunEvent] = []
    scheduler.add_run_hook(kept.append)
    scheduler.add_run_hook(removed.append)

    @scheduler.lock(id="called", store="memory")
    def job() -> int:
        return 1

    assert job() == 1  # a direct call is reported too (manual)
    scheduler.remove_run_hook(removed.append)
    scheduler.remove_run_hook(removed.append)  # twice: no error
    assert job() == 1
    assert [(e.job_id, e.outcome, e.manual) for e in kept] == [("called", "success", True)] * 2
    assert len(removed) == 1
