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
