"""FastFlyer's task module (a `threadpool.submit_task` loop and a
`scheduled_job(..., single_job=True)`), its imports changed to flyer's, under
`flyer serve -w 2`: the loop runs in one worker, the job once per tick, and the loop moves to
another worker when its worker is SIGKILLed.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import textwrap
import time
import uuid
from collections import Counter
from pathlib import Path
from typing import Any, Callable, Dict, List

import pytest

pytestmark = [pytest.mark.services, pytest.mark.slow]

# FastFlyer 0.1.37's generated app/tasks, with `from fastflyer import ...` changed to flyer's.
# The rows it writes (and `current_tick`, to count ticks) are the test's.
TASKS = textwrap.dedent(
    """
    import json
    import os
    import time

    from flyer_core import APIRouter
    from flyer_sched import background_scheduler, current_tick, threadpool

    router = APIRouter(prefix="/legacy", tags=["Legacy"])
    LOG = os.environ["TASK_LOG"]


    def append(row):
        row.update(pid=os.getpid(), t=time.time())
        fd = os.open(LOG, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            os.write(fd, (json.dumps(row) + "\\n").encode())
        finally:
            os.close(fd)


    def consume():
        append({"event": "loop-start"})
        while not threadpool.is_stopped():
            append({"event": "loop"})
            threadpool.sleep(0.2)
        append({"event": "loop-stop"})


    threadpool.submit_task(consume)


    @background_scheduler.scheduled_job(
        "interval", seconds=1, id="legacy:tick", misfire_grace_time=5, single_job=True
    )
    def tick():
        append({"event": "tick", "tick": current_tick().scheduled_time.timestamp()})
    """
)


def _rows(path: Path) -> List[Dict[str, Any]]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def _wait(predicate: Callable[[], Any], timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def test_fastflyer_task_module_under_two_workers(
    tmp_path: Path,
    redis_url: str,
    run_flyer: Callable[..., Any],
    free_port: Callable[[], int],
    flyer_env: Callable[..., Dict[str, str]],
    start_server: Callable[..., Any],
) -> None:
    created = run_flyer(
        "create", "demo", "--dir", str(tmp_path / "demo"), "--no-lock", cwd=tmp_path
    )
    assert created.returncode == 0, created.stderr
    root = tmp_path / "demo"
    (root / "app" / "legacy").mkdir()
    (root / "app" / "legacy" / "__init__.py").write_text(TASKS)
    log = tmp_path / "tasks.jsonl"
    port = free_port()
    prefix = f"flyer-it:{uuid.uuid4().hex[:10]}"
    env = flyer_env(
        TASK_LOG=str(log),
        FLYER_REDIS_URL=redis_url,
        FLYER_SCHED_LOCK_PREFIX=prefix,
        FLYER_ACCESS_LOG="0",
        FLYER_GRACEFUL_TIMEOUT="10",
    )
    flyer = Path(sys.executable).with_name("flyer")
    command = [str(flyer), "serve", "-w", "2", "--host", "127.0.0.1", "--port", str(port)]
    server = start_server(command, port=port, cwd=root, env=env, log=tmp_path / "serve.log")
    try:
        server.wait_until_up(90)
        _wait(lambda: len([r for r in _rows(log) if r["event"] == "loop"]) >= 10, 60, "loops")
        _wait(
            lambda: (
                len({r["pid"] for r in _rows(log) if r["event"] == "tick"}) >= 1
                and len([r for r in _rows(log) if r["event"] == "tick"]) >= 4
            ),
            60,
            "ticks",
        )
        rows = _rows(log)
        looping = {r["pid"] for r in rows if r["event"] in ("loop-start", "loop")}
        assert len(looping) == 1, f"the loop ran in {len(looping)} workers"
        (first,) = looping

        os.kill(first, signal.SIGKILL)
        killed = time.time()
        moved = _wait(
            lambda: [r for r in _rows(log) if r["event"] == "loop-start" and r["pid"] != first],
            60,
            "the loop to move to another worker",
        )[0]
        print(f"threadpool loop moved {moved['t'] - killed:.2f}s after SIGKILL of its worker")
        _wait(
            lambda: len([r for r in _rows(log) if r["event"] == "tick" and r["t"] > killed]) >= 3,
            60,
            "ticks after the kill",
        )
    finally:
        code = server.stop()
    assert code == 0, server.log_text()[-4000:]
    rows = _rows(log)
    ticks = Counter(r["tick"] for r in rows if r["event"] == "tick")
    assert [t for t, n in ticks.items() if n > 1] == [], "a tick ran twice"
    after = [r for r in rows if r["event"] == "loop" and r["t"] > moved["t"]]
    assert {r["pid"] for r in after} == {moved["pid"]}, "two workers looped at once"
    assert [r for r in rows if r["event"] == "loop-stop" and r["pid"] == moved["pid"]]
