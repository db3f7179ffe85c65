"""flyer's schedulers drive APScheduler through its public API: a fresh APScheduler scheduler
per lifespan, with the jobs, listeners, job stores and executors carried over."""

from __future__ import annotations

import io
import re
import time
from pathlib import Path
from typing import Any, Callable, List

from apscheduler.events import EVENT_JOB_EXECUTED

SRC = Path(__file__).parent.parent / "src" / "flyer_sched"


def _wait(predicate: Callable[[], Any], timeout: float = 30.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.01)
    raise AssertionError("condition not met in time")


def test_no_apscheduler_internals_in_the_source() -> None:
    # APScheduler's private attributes: schedulers', job stores', jobs', executors'.
    private = re.compile(
        r"(?<!flyer_sched)\._(jobstores|jobstores_lock|pending_jobs|jobstore_alias|eventloop|"
        r"instances|executors|executors_lock|lookup_executor|lookup_jobstore|process_jobs|"
        r"start_timer|stop_timer|configure|create_default_executor|create_lock|pool|"
        r"pending_futures|logger|scheduler|dispatch_event|real_add_job|main_loop|timeout)\b"
    )
    found = [
        f"{path.name}:{number}: {line.strip()}"
        for path in sorted(SRC.glob("*.py"))
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if private.search(line)
    ]
    assert found == []
    ignores = sum(p.read_text().count("type: ignore") for p in SRC.glob("*.py"))
    assert ignores <= 2


def test_jobs_listeners_and_pauses_carry_over_from_one_lifespan_to_the_next(
    make_scheduler: Callable[..., Any],
) -> None:
    scheduler = make_scheduler()
    executed: List[str] = []
    ran: List[str] = []
    scheduler.add_listener(lambda event: executed.append(event.job_id), EVENT_JOB_EXECUTED)
    scheduler.add_job(lambda: ran.append("tick"), "interval", seconds=0.1, id="tick")
    scheduler.add_job(lambda: ran.append("held"), "interval", seconds=0.1, id="held")
    scheduler.pause_job("held")
    scheduler.add_job(lambda: ran.append("gone"), "interval", seconds=0.1, id="gone")
    scheduler.remove_job("gone")
    for _ in range(3):
        count = len(ran)
        scheduler.start()
        _wait(lambda count=count: len(ran) > count and "tick" in executed)
        scheduler.shutdown()
        assert not scheduler.running
        assert {job.id for job in scheduler.get_jobs()} == {"tick", "held"}
        executed.clear()
    assert set(ran) == {"tick"}
    held = scheduler.get_job("held")
    assert held.next_run_time is None  # still paused
    out = io.StringIO()
    scheduler.print_jobs(out=out)
    assert "interval[0:00:00.100000], paused" in out.getvalue()
    scheduler.modify_job("tick", name="renamed")
    assert scheduler.get_job("tick").name == "renamed"


def test_executors_report_errors_and_refuse_a_run_past_max_instances(
    make_scheduler: Callable[..., Any], caplog: Any
) -> None:
    import threading

    from apscheduler.events import EVENT_JOB_ERROR, EVENT_JOB_MAX_INSTANCES

    scheduler = make_scheduler()
    errors: List[Any] = []
    refused: List[str] = []
    scheduler.add_listener(errors.append, EVENT_JOB_ERROR)
    scheduler.add_listener(lambda event: refused.append(event.job_id), EVENT_JOB_MAX_INSTANCES)

    def broken_listener(event: Any) -> None:
        raise RuntimeError("listener bug")

    scheduler.add_listener(broken_listener, EVENT_JOB_ERROR)
    release = threading.Event()

    def fails() -> None:
        raise ValueError("job bug")

    scheduler.add_job(fails, "interval", seconds=0.1, id="fails")
    scheduler.add_job(release.wait, "interval", seconds=0.05, id="slow", max_instances=1)
    scheduler.start()

    def listener_bug_logged() -> bool:
        return any(r.getMessage() == "Error notifying listener" for r in caplog.records)

    try:
        # The bad listener runs after `errors.append`: its log line can come a moment later.
        _wait(lambda: errors and "slow" in refused and listener_bug_logged())
    finally:
        release.set()
    assert errors[0].job_id == "fails"
    assert isinstance(errors[0].exception, ValueError)
    scheduler.shutdown()
