"""flyer-sched inside a real flyer app under gunicorn with 4 workers.

Every worker starts the schedulers (flyer-core's plugin, found by entry point) and schedules
the same locked job; the job runs once per tick, fleet-wide. The management routes under
`/flyer/tasks` answer behind flyer's Basic auth, and pausing there pauses every worker.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import textwrap
import time
import uuid
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, List

import httpx
import pytest
import redis

pytestmark = [pytest.mark.services, pytest.mark.slow]

MAIN = textwrap.dedent(
    """
    import json, os

    from flyer_core import create_app
    from flyer_sched import background_scheduler, current_tick

    LOG = os.environ["TICK_LOG"]


    def append(row):
        fd = os.open(LOG, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            os.write(fd, (json.dumps(row) + "\\n").encode())
        finally:
            os.close(fd)


    @background_scheduler.lock()
    def tick():
        t = current_tick()
        append({"event": "run", "pid": os.getpid(), "tick": t.scheduled_time.timestamp(),
                "fence": t.fencing_token, "manual": t.manual})


    background_scheduler.add_job(
        tick, "interval", seconds=1, id="integration:tick", misfire_grace_time=5,
        coalesce=False, max_instances=3,
    )
    background_scheduler.add_run_hook(
        lambda e: append({"event": "outcome", "pid": os.getpid(),
                          "tick": e.scheduled_time.timestamp(), "outcome": e.outcome})
    )
    app = create_app(apps=None)
    """
)


def _rows(path: Path) -> List[Dict[str, Any]]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def _wait(predicate: Any, timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture(scope="module")
def served(
    tmp_path_factory: pytest.TempPathFactory,
    redis_url: str,
    free_port: Callable[[], int],
    flyer_env: Callable[..., Dict[str, str]],
    start_server: Callable[..., Any],
) -> Iterator[Dict[str, Any]]:
    """One server for the module (starting 4 workers is the slow part); the tests run in
    file order and the last one stops it."""
    tmp_path = tmp_path_factory.mktemp("sched_app")
    project = tmp_path / "project"
    project.mkdir()
    (project / "main.py").write_text(MAIN)
    port = free_port()
    prefix = f"flyer-it:{uuid.uuid4().hex[:10]}"
    ticks = tmp_path / "ticks.jsonl"
    env = flyer_env(
        TICK_LOG=str(ticks),
        FLYER_REDIS_URL=redis_url,
        FLYER_SCHED_LOCK_PREFIX=prefix,
        FLYER_AUTH_ENABLE="1",
        FLYER_AUTH_USER="ops",
        FLYER_AUTH_PASS="s3cret",
        FLYER_ACCESS_LOG="0",
        FLYER_GRACEFUL_TIMEOUT="10",
    )
    code = (
        "from flyer_core import run_prod; "
        f"run_prod('main:app', workers=4, host='127.0.0.1', port={port})"
    )
    server = start_server(
        [sys.executable, "-c", code], port=port, cwd=project, env=env, log=tmp_path / "server.log"
    )
    try:
        server.wait_until_up(60)
        with httpx.Client(base_url=server.url, timeout=10) as client:
            yield {"client": client, "ticks": ticks, "server": server.process, "log": tmp_path}
    finally:
        try:
            server.stop()
        finally:
            admin = redis.Redis.from_url(redis_url)
            keys = list(admin.scan_iter(match=f"{prefix}:*"))
            if keys:
                admin.delete(*keys)
            admin.close()


def test_four_gunicorn_workers_run_a_locked_job_once_per_tick(served: Dict[str, Any]) -> None:
    ticks: Path = served["ticks"]

    def four_workers_ticking() -> bool:
        outcomes: Dict[float, set] = defaultdict(set)
        for row in _rows(ticks):
            if row["event"] == "outcome":
                outcomes[row["tick"]].add(row["pid"])
        return any(len(pids) == 4 for pids in outcomes.values())

    _wait(four_workers_ticking, 60, "all four workers to schedule the job")
    started = time.time()
    time.sleep(8)
    ended = time.time()

    rows = _rows(ticks)
    runs = [r for r in rows if r["event"] == "run" and not r["manual"]]
    counts = Counter(r["tick"] for r in runs)
    assert [t for t, n in counts.items() if n > 1] == [], "a tick ran twice"
    window = [float(t) for t in range(int(started) + 1, int(ended) - 1)]
    assert len(window) >= 5
    assert [t for t in window if t not in counts] == [], "a tick nobody ran"
    # Every worker saw every tick of the window: one ran it, the others were told "done".
    outcomes: Dict[float, List[str]] = defaultdict(list)
    for row in rows:
        if row["event"] == "outcome" and row["tick"] in window:
            outcomes[row["tick"]].append(row["outcome"])
    for tick in window:
        assert sorted(outcomes[tick]) == ["skipped", "skipped", "skipped", "success"], tick


def test_management_routes_need_auth_and_act_on_the_whole_fleet(served: Dict[str, Any]) -> None:
    client: httpx.Client = served["client"]
    ticks: Path = served["ticks"]
    auth = ("ops", "s3cret")
    assert client.get("/flyer/tasks").status_code == 401
    assert client.get("/flyer/tasks", auth=("ops", "wrong")).status_code == 401
    assert client.post("/flyer/tasks/integration:tick/pause").status_code == 401

    listed = client.get("/flyer/tasks", auth=auth)
    assert listed.status_code == 200
    body = listed.json()
    assert set(body) == {"code", "message", "detail", "data", "request_id"}
    (job,) = [j for j in body["data"]["jobs"] if j["id"] == "integration:tick"]
    assert job["locked"] is True
    assert job["trigger"] == "interval[0:00:01]"
    _wait(lambda: _rows(ticks), 30, "a first run")

    paused = client.post("/flyer/tasks/integration:tick/pause", auth=auth)
    assert paused.status_code == 200
    assert paused.json()["data"]["paused"] is True
    paused_at = time.time()
    time.sleep(3.5)
    resumed_at = time.time()
    assert client.post("/flyer/tasks/integration:tick/resume", auth=auth).status_code == 200
    # Paused in the store, the job ran in no worker, whichever worker served the request.
    during = [
        r
        for r in _rows(ticks)
        if r["event"] == "run" and paused_at + 1.0 < r["fence"] / 1e6 < resumed_at
    ]
    assert during == []
    _wait(
        lambda: [r for r in _rows(ticks) if r["event"] == "run" and r["tick"] > resumed_at],
        10,
        "runs after resume",
    )

    ran = client.post("/flyer/tasks/integration:tick/run", auth=auth)
    assert ran.status_code == 202
    assert ran.json()["code"] == 202
    _wait(lambda: [r for r in _rows(ticks) if r.get("manual")], 10, "the manual run")

    missing = client.get("/flyer/tasks/no-such-job", auth=auth)
    assert missing.status_code == 404
    assert missing.json()["code"] == 404
    detail = client.get("/flyer/tasks/integration:tick", auth=auth).json()["data"]
    assert detail["last_run_time"]
    assert detail["fencing_token"]


def test_sigterm_stops_every_worker_and_its_scheduler(served: Dict[str, Any]) -> None:
    server: subprocess.Popen = served["server"]
    _wait(lambda: _rows(served["ticks"]), 30, "a first run")
    server.send_signal(signal.SIGTERM)
    assert server.wait(30) == 0
    stopped = time.time()
    time.sleep(2)
    late = [r for r in _rows(served["ticks"]) if r["event"] == "run" and r["tick"] > stopped]
    assert late == []
