"""Real processes, real Redis: once per tick across a fleet, renewal, crashes, failover, and
Redis stopped under running schedulers, then started again (a private server, never the shared
one).

The scenarios take seconds each, so one module fixture starts them all at once in threads and
each test waits for its own result; the outage test (first in the file) runs meanwhile. The
module costs about as long as its longest scenario.
"""

from __future__ import annotations

import signal
import threading
import time
from collections import Counter
from concurrent.futures import Future
from typing import Any, Callable, Dict, List

import pytest

pytestmark = pytest.mark.slow

INTERVAL = 1.0
TTL = 4.0  # flyer_sched_lock_ttl's default
WINDOW = 15.5  # the four once-per-tick workers all schedule the job for this long


def _run(target: Callable[..., Dict[str, Any]], *args: Any) -> Future[Dict[str, Any]]:
    future: Future[Dict[str, Any]] = Future()

    def body() -> None:
        try:
            future.set_result(target(*args))
        except BaseException as exc:
            future.set_exception(exc)

    threading.Thread(target=body, daemon=True).start()
    return future


def once_per_tick(fleet: Any, scheduler: str, env: Dict[str, str]) -> Dict[str, Any]:
    config = {
        "mode": "lock",
        "scheduler": scheduler,
        "job_id": "fleet:tick",
        "interval": INTERVAL,
        "duration": 90,
        "job_seconds": 0.05,
        "ttl": 5,
        # A process still busy with tick T (say, starved of CPU on a shared machine) may try
        # T+1 anyway; the lock, not APScheduler's per-process limit, keeps runs unique.
        "max_instances": 3,
    }
    procs = []
    for _ in range(4):
        procs.append(fleet.spawn(config, env))
        time.sleep(0.4)  # processes start at different moments
    fleet.wait_for(lambda rows: len([r for r in rows if r["event"] == "ready"]) == 4, 60)
    time.sleep(WINDOW)  # all four schedule the job for this long
    for proc in procs:
        proc.terminate()
        time.sleep(0.3)  # ... and stop at different moments
    codes = fleet.wait_all(30)
    return {"codes": codes, "records": fleet.records(), "logs": fleet.logs()}


def long_jobs(fleet: Any, env: Dict[str, str]) -> Dict[str, Any]:
    config = {
        "mode": "lock",
        "scheduler": "background",
        "job_id": "fleet:long",
        "interval": INTERVAL,
        "duration": 10,
        "job_seconds": 3.0,
        "ttl": 1.5,
    }
    fleet.spawn(config, env)
    fleet.spawn(config, env)
    codes = fleet.wait_all(40)
    return {"codes": codes, "records": fleet.records()}


def killed_holder(fleet: Any, env: Dict[str, str]) -> Dict[str, Any]:
    config = {
        "mode": "lock",
        "scheduler": "background",
        "job_id": "fleet:kill",
        "interval": INTERVAL,
        "duration": 60,
        # default TTL and renewal: what a user gets
    }
    holder = fleet.spawn({**config, "job_seconds": 60}, env)
    first = fleet.wait_for(
        lambda rows: [r for r in rows if r["event"] == "start" and r["pid"] == holder.pid], 30
    )[0]
    other = fleet.spawn({**config, "job_seconds": 0.05}, env)
    fleet.wait_for(
        lambda rows: [r for r in rows if r["event"] == "ready" and r["pid"] == other.pid], 30
    )
    time.sleep(max(0.0, first["t"] + 2.5 * TTL - time.time()))  # held for more than 2 TTLs
    holder.send_signal(signal.SIGKILL)
    killed = time.time()
    fleet.wait_for(
        lambda rows: [
            r for r in rows if r["event"] == "start" and r["pid"] == other.pid and r["t"] > killed
        ],
        30,
    )
    time.sleep(1.5)
    other.terminate()
    logs = fleet.logs()
    codes = fleet.wait_all(20)
    return {
        "codes": codes,
        "records": fleet.records(),
        "killed": killed,
        "holder": holder.pid,
        "other": other.pid,
        "logs": logs,
    }


def failover(fleet: Any, env: Dict[str, str]) -> Dict[str, Any]:
    config = {
        "mode": "leader",
        "scheduler": "background",
        "job_id": "fleet:leader",
        "duration": 40,
        "ttl": 2,
    }
    procs = []
    for _ in range(3):
        procs.append(fleet.spawn(config, env))
        time.sleep(0.2)
    fleet.wait_for(lambda rows: len([r for r in rows if r["event"] == "ready"]) == 3, 30)
    first = fleet.wait_for(lambda rows: [r for r in rows if r["event"] == "leading"], 30)[0]
    time.sleep(max(0.0, first["t"] + 2.5 - time.time()))  # a few renewals past one TTL
    leader = next(p for p in procs if p.pid == first["pid"])
    leader.send_signal(signal.SIGKILL)
    killed = time.time()
    fleet.wait_for(
        lambda rows: [r for r in rows if r["event"] == "leading" and r["pid"] != leader.pid], 30
    )
    time.sleep(1.0)
    stopped = time.time()
    for proc in procs:
        if proc.poll() is None:
            proc.terminate()
    codes = fleet.wait_all(20)
    return {
        "codes": codes,
        "records": fleet.records(),
        "killed": killed,
        "stopped": stopped,
        "leader": leader.pid,
        "ttl": 2.0,
    }


@pytest.fixture(scope="module")
def scenarios(fleets: Callable[[str], Any], request: pytest.FixtureRequest) -> Dict[str, Any]:
    """Start every scenario now, in parallel; each value is a Future of its result."""
    started: Dict[str, Any] = {}
    file_fleet = fleets("file")
    file_env = {
        "FLYER_SCHED_LOCK_BACKEND": "file",
        "FLYER_SCHED_LOCK_DIR": str(file_fleet.directory / "locks"),
    }
    started["file"] = _run(once_per_tick, file_fleet, "background", file_env)
    try:
        redis_url = request.getfixturevalue("redis_url")
    except pytest.skip.Exception as skip:
        reason = str(skip)
        for name in ("redis", "asyncio", "long", "kill", "leader"):
            started[name] = reason
        return started
    env = {"FLYER_REDIS_URL": redis_url}
    started["redis"] = _run(once_per_tick, fleets("redis"), "background", env)
    started["asyncio"] = _run(once_per_tick, fleets("asyncio"), "asyncio", env)
    started["long"] = _run(long_jobs, fleets("long"), env)
    started["kill"] = _run(killed_holder, fleets("kill"), env)
    started["leader"] = _run(failover, fleets("leader"), env)
    return started


@pytest.mark.usefixtures("scenarios")  # the other scenarios run meanwhile
def test_redis_outage_skips_ticks_with_one_error_per_process_then_resumes(
    private_redis: Any, fleets: Callable[[str], Any]
) -> None:
    fleet = fleets("outage")
    env = {"FLYER_REDIS_URL": private_redis.url}
    config = {
        "mode": "lock",
        "scheduler": "background",
        "job_id": "outage:tick",
        "interval": 1,
        "duration": 90,
        "job_seconds": 0.05,
        "ttl": 3,
        "max_instances": 3,
    }
    procs = [fleet.spawn(config, env), fleet.spawn(config, env)]
    fleet.wait_for(lambda rows: len([r for r in rows if r["event"] == "ready"]) == 2, 60)
    time.sleep(3.0)
    private_redis.stop()
    down = time.time()
    time.sleep(3.5)
    restarting = time.time()  # the server may answer before start() returns
    private_redis.start()
    up = time.time()
    time.sleep(5.5)
    end = time.time()
    for proc in procs:
        proc.terminate()
    assert fleet.wait_all(30) == [0, 0], fleet.logs()[-20:]

    starts = [r for r in fleet.records() if r["event"] == "start"]
    ticks = [r["tick"] for r in starts]
    assert sorted(t for t, n in Counter(ticks).items() if n > 1) == []
    assert [r for r in starts if r["t"] < down], "nothing ran before the outage"
    # A fencing token is the Redis server's clock at the claim: no claim while it was down.
    claimed_while_down = [r for r in starts if down < r["fence"] / 1e6 < restarting]
    assert claimed_while_down == [], "claimed without the store"

    # Said once per process at ERROR (not once per tick), and its end once at INFO.
    logs = fleet.logs()
    errors = [
        r for r in logs if r.get("level") == "ERROR" and r.get("reason") == "lock_store_unreachable"
    ]
    assert len(errors) == 2, [r["msg"] for r in errors]
    assert all(r["outcome"] == "skipped" and r["error"] for r in errors)
    assert all("lock store is unreachable" in r["msg"] for r in errors)
    again = [r for r in logs if "runs again" in r.get("msg", "")]
    assert len(again) == 2, [r["msg"] for r in again]

    # Runs resume once the store is back: every tick from 2 s after the restart ran.
    step = 1_000_000
    first = (int((up + 2.0) * 1_000_000) // step + 1) * step
    expected = set(range(first, int((end - 1.0) * 1_000_000), step))
    assert expected
    assert sorted(expected - set(ticks)) == []
    # Fencing tokens keep increasing even though the restarted Redis lost every key.
    fences = [r["fence"] for r in sorted(starts, key=lambda r: r["tick"])]
    assert fences == sorted(fences)


def _result(scenarios: Dict[str, Any], name: str) -> Dict[str, Any]:
    value = scenarios[name]
    if isinstance(value, str):
        pytest.skip(value)
    result: Dict[str, Any] = value.result(timeout=120)
    return result


def _check_once_per_tick(result: Dict[str, Any]) -> None:
    assert result["codes"] == [0, 0, 0, 0], result["logs"][-20:]
    records: List[Dict[str, Any]] = result["records"]
    starts = [r for r in records if r["event"] == "start"]
    ends = [r for r in records if r["event"] == "end"]
    ticks = [r["tick"] for r in starts]
    duplicates = sorted(t for t, n in Counter(ticks).items() if n > 1)
    assert duplicates == [], f"ticks run more than once: {duplicates}"
    assert sorted(r["tick"] for r in ends) == sorted(ticks)
    assert not any(r["lost"] for r in ends)

    ready = max(r["t"] for r in records if r["event"] == "ready")
    stopping = min(r["t"] for r in records if r["event"] == "stopping")
    assert stopping - ready >= 15, "the four processes overlapped for too short a time"
    step = int(INTERVAL * 1_000_000)
    first = (int(ready * 1_000_000) // step + 1) * step
    expected = set(range(first, int((stopping - 1.0) * 1_000_000), step))
    assert len(expected) >= 12
    missing = sorted(expected - set(ticks))
    assert missing == [], f"ticks nobody ran: {missing}"
    # Fencing tokens grow with the ticks, whichever process ran them.
    fences = [r["fence"] for r in sorted(starts, key=lambda r: r["tick"])]
    assert fences == sorted(fences)
    assert len(set(fences)) == len(fences)


def test_redis_four_processes_run_every_tick_exactly_once(scenarios: Dict[str, Any]) -> None:
    _check_once_per_tick(_result(scenarios, "redis"))


def test_file_backend_four_processes_run_every_tick_exactly_once(
    scenarios: Dict[str, Any],
) -> None:
    _check_once_per_tick(_result(scenarios, "file"))


def test_asyncio_scheduler_four_processes_run_every_tick_exactly_once(
    scenarios: Dict[str, Any],
) -> None:
    _check_once_per_tick(_result(scenarios, "asyncio"))


def test_job_longer_than_ttl_keeps_its_lock_and_nobody_overlaps(
    scenarios: Dict[str, Any],
) -> None:
    result = _result(scenarios, "long")
    assert result["codes"] == [0, 0]
    starts = {r["tick"]: r for r in result["records"] if r["event"] == "start"}
    ends = {r["tick"]: r for r in result["records"] if r["event"] == "end"}
    assert len(starts) == len([r for r in result["records"] if r["event"] == "start"])
    runs = sorted((starts[t]["t"], ends[t]["t"], starts[t]["pid"]) for t in ends)
    assert len(runs) >= 2
    for (_, end, _), (start, _, _) in zip(runs, runs[1:]):
        assert start >= end - 0.05, f"a run started while another was in its lock: {runs}"
    assert all(end - start >= 2.9 for start, end, _ in runs)  # 3 s jobs under a 1.5 s TTL
    assert not any(r["lost"] for r in ends.values())


def test_sigkilled_holder_blocks_the_job_at_most_5_seconds_with_default_settings(
    scenarios: Dict[str, Any],
) -> None:
    result = _result(scenarios, "kill")
    killed, ttl = result["killed"], TTL
    starts = [r for r in result["records"] if r["event"] == "start"]
    holder_starts = [r for r in starts if r["pid"] == result["holder"]]
    other_starts = [r for r in starts if r["pid"] == result["other"]]
    assert len(holder_starts) == 1
    # While the holder lived (its job renewed past two TTLs), nobody else ran.
    assert [r for r in other_starts if r["t"] < killed] == []
    assert killed - holder_starts[0]["t"] >= 2 * ttl
    # After the kill, the lock expired within its TTL and the next tick ran: counted in ticks
    # (scheduled times), which a busy machine delays but does not move.
    after = [r for r in other_starts if r["t"] > killed]
    assert after, "no tick ran after the holder died"
    blocked = after[0]["tick"] / 1e6 - killed
    print(f"SIGKILLed holder: next run for the tick {blocked:.2f}s after the kill")
    assert blocked <= ttl + INTERVAL + 0.25, f"the job stood still {blocked:.2f}s"
    assert after[0]["fence"] > holder_starts[0]["fence"]
    assert len({r["tick"] for r in starts}) == len(starts), "a tick ran twice"
    # The survivor said once, at WARNING, why it skipped the ticks, naming the holder.
    warned = [r for r in result["logs"] if r.get("level") == "WARNING" and r.get("reason")]
    assert [(r["reason"], r["lock_holder"].rsplit(":", 1)[1]) for r in warned] == [
        ("busy", str(result["holder"]))
    ]
    assert "still holds the lock" in warned[0]["msg"]
    assert result["codes"][1] == 0


def test_leader_fails_over_within_lease_ttl_after_sigkill(scenarios: Dict[str, Any]) -> None:
    result = _result(scenarios, "leader")
    killed, ttl, old = result["killed"], result["ttl"], result["leader"]
    rows = [r for r in result["records"] if r["t"] < result["stopped"]]
    leading = [r for r in rows if r["event"] == "leading"]
    assert [r["pid"] for r in leading if r["t"] < killed] == [old]
    takeovers = [r for r in leading if r["t"] > killed]
    assert len(takeovers) == 1, f"more than one process took over: {takeovers}"
    takeover = takeovers[0]
    # Failover takes about one TTL; twice that (and 2 s) is room for a loaded machine.
    assert takeover["t"] - killed <= 2 * ttl + 2, f"failover took {takeover['t'] - killed:.2f}s"
    assert takeover["fence"] > leading[0]["fence"]
    # Never two leaders at once: nobody but the old leader beat before the takeover.
    beats = [r for r in rows if r["event"] == "beat"]
    assert all(r["pid"] == old for r in beats if r["t"] < takeover["t"])
    assert all(r["pid"] == takeover["pid"] for r in beats if r["t"] >= takeover["t"])
    survivors = [code for code in result["codes"] if code != -signal.SIGKILL]
    assert survivors == [0, 0]
