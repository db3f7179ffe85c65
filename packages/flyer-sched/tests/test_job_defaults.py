"""`add_job` keywords left out take the scheduler's job defaults, as in APScheduler."""

from __future__ import annotations

from typing import Any, List

from flyer_sched import BackgroundScheduler


def tick() -> None:
    pass


def test_left_out_keywords_take_the_job_defaults_and_given_ones_win() -> None:
    scheduler = BackgroundScheduler(
        job_defaults={"misfire_grace_time": 7, "coalesce": False, "max_instances": 3}
    )
    scheduler.start(paused=True)  # APScheduler applies the defaults to jobs of a started one
    try:
        defaulted = scheduler.add_job(tick, "interval", seconds=60, id="defaulted")
        assert (defaulted.misfire_grace_time, defaulted.coalesce, defaulted.max_instances) == (
            7,
            False,
            3,
        )
        given = scheduler.add_job(
            tick,
            "interval",
            seconds=60,
            id="given",
            misfire_grace_time=None,
            coalesce=True,
            max_instances=1,
            next_run_time=None,
        )
        assert (given.misfire_grace_time, given.coalesce, given.max_instances) == (None, True, 1)
        # next_run_time=None: added paused; left out: scheduled from the trigger.
        assert scheduler.get_job("given").next_run_time is None
        assert scheduler.get_job("defaulted").next_run_time is not None
    finally:
        scheduler.shutdown(wait=False)


def test_a_listener_added_without_a_mask_hears_every_event() -> None:
    from apscheduler.events import (
        EVENT_JOBSTORE_ADDED,
        EVENT_SCHEDULER_SHUTDOWN,
        EVENT_SCHEDULER_STARTED,
    )

    scheduler = BackgroundScheduler()
    heard: List[Any] = []
    scheduler.add_listener(heard.append)
    scheduler.start(paused=True)
    scheduler.shutdown(wait=False)
    codes = {event.code for event in heard}
    # Events of three kinds, as EVENT_ALL takes them (a narrower mask would drop some).
    assert {EVENT_JOBSTORE_ADDED, EVENT_SCHEDULER_STARTED, EVENT_SCHEDULER_SHUTDOWN} <= codes
