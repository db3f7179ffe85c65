"""Soak: a generated project under `flyer serve -w 2`, access log on, driven by wrk.

After a warm-up, wrk sends a mix of the project's GET routes for FLYER_SOAK_SECONDS (60 by
default) over 32 connections. Asserted: no non-2xx answer, no socket error, every request
logged, the same two workers from start to end (none died or was restarted), each worker's RSS
grown by less than 10% over its post-warm-up size, and the demo heartbeat job (every second,
`@asyncio_scheduler.lock()`) run exactly once for every tick of the load window, by one worker
or the other. Skipped without wrk (Debian package), except under CI=true.
"""

from __future__ import annotations

import collections
import json
import os
import re
import shutil
import subprocess
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, NamedTuple, Set, Tuple

import pytest

PREFIX = "/demo"
SECONDS = int(os.environ.get("FLYER_SOAK_SECONDS") or 60)
WARMUP_SECONDS = 5
CONNECTIONS = 32
PATHS = [
    "/health_check",
    f"{PREFIX}/items",
    f"{PREFIX}/items/1",
    f"{PREFIX}/items?offset=1&size=5",
    f"{PREFIX}/users",
    f"{PREFIX}/users/1",
    f"{PREFIX}/users/1/following",
    f"{PREFIX}/heartbeat",
]
MIX = """
paths = {%s}
counter = 0
request = function()
  counter = counter + 1
  return wrk.format("GET", paths[(counter %% #paths) + 1])
end
"""

pytestmark = pytest.mark.slow


def _wrk() -> str:
    found = shutil.which("wrk")
    if found is None:
        reason = "wrk is not installed (Debian package `wrk`)"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"{reason}; it is required under CI=true")
        pytest.skip(reason)
    return found


def _children(pid: int) -> Set[int]:
    found = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.add(int(entry.name))
    return found


def _rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError(f"no VmRSS for {pid}")


class WrkRun(NamedTuple):
    requests: int
    non_2xx: int
    socket_errors: Dict[str, int]
    output: str


def _run_wrk(url: str, seconds: int, script: Path) -> WrkRun:
    done = subprocess.run(
        [_wrk(), "-t", "2", "-c", str(CONNECTIONS), "-d", f"{seconds}s", "-s", str(script), url],
        capture_output=True,
        text=True,
        timeout=seconds + 60,
        check=True,
    )
    output = done.stdout
    requests = re.search(r"(\d+) requests in", output)
    assert requests, output
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    errors = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output
    )
    socket_errors = (
        dict(zip(("connect", "read", "write", "timeout"), map(int, errors.groups())))
        if errors
        else {}
    )
    return WrkRun(
        int(requests.group(1)), int(non_2xx.group(1)) if non_2xx else 0, socket_errors, output
    )


@pytest.fixture(scope="module")
def served(
    tmp_path_factory: pytest.TempPathFactory, serve_project: Callable[..., Any]
) -> Iterator[Any]:
    """A generated project under `flyer serve -w 2`, access log on, heartbeat every second."""
    _wrk()
    base_dir = tmp_path_factory.mktemp("soak")
    with serve_project(
        base_dir,
        workers=2,
        flyer_log_format="json",
        flyer_access_log="1",
        flyer_heartbeat_seconds="1",
    ) as server:
        deadline = server.started + 90
        while len(_children(server.pid)) < 2 and time.monotonic() < deadline:
            time.sleep(0.2)
        yield server


def _tick(record: Dict[str, Any]) -> datetime:
    return datetime.fromisoformat(str(record["tick"]).replace("Z", "+00:00"))


def test_a_minute_of_load_loses_nothing(
    served: Any, tmp_path: Path, http_get: Callable[..., Tuple[int, bytes]]
) -> None:
    script = tmp_path / "mix.lua"
    script.write_text(MIX % ", ".join(json.dumps(p) for p in PATHS))
    for path in PATHS:  # every route of the mix answers 200 before the load starts
        assert http_get(served.url + path)[0] == 200, path

    warm = _run_wrk(served.url, WARMUP_SECONDS, script)
    assert warm.non_2xx == 0, warm.output
    workers = _children(served.pid)
    assert len(workers) == 2, workers
    time.sleep(1)
    before = {pid: _rss_kib(pid) for pid in workers}

    load_started = datetime.now().astimezone()
    load = _run_wrk(served.url, SECONDS, script)
    load_ended = datetime.now().astimezone()
    time.sleep(1)
    assert _children(served.pid) == workers, "a worker died or was restarted during the load"
    after = {pid: _rss_kib(pid) for pid in workers}
    time.sleep(2)  # the last ticks and access lines reach the log

    summary = (
        f"{SECONDS} s, {CONNECTIONS} connections: {load.requests} requests "
        f"({load.requests / SECONDS:.0f}/s); RSS KiB per worker before {before} after {after}"
    )
    print(summary)
    assert load.non_2xx == 0, load.output
    assert not any(load.socket_errors.values()), load.output
    assert load.requests > 0, load.output
    for pid in workers:
        growth = (after[pid] - before[pid]) / before[pid]
        assert growth < 0.10, f"worker {pid} RSS grew {growth:.1%}: {summary}"

    records = served.records()
    access = [r for r in records if r.get("logger") == "flyer.access"]
    assert len(access) >= warm.requests + load.requests, (len(access), warm.requests, load.requests)
    assert {r.get("status") for r in access} == {200}
    errors = [r for r in records if r.get("level") in ("error", "critical")]
    assert errors == [], errors[:3]

    # The heartbeat ran once per tick through the load: no tick twice, none missing.
    beats = [r for r in records if r.get("event") == "heartbeat"]
    window = [
        _tick(r)
        for r in beats
        if load_started + timedelta(seconds=1) <= _tick(r) <= load_ended - timedelta(seconds=1)
    ]
    per_tick = collections.Counter(window)
    twice = {str(t): n for t, n in per_tick.items() if n > 1}
    assert twice == {}, f"ticks run more than once: {twice}"
    expected = SECONDS - 2
    ticks = sorted(per_tick)
    assert ticks, f"no heartbeat during the load: {len(beats)} in all"
    missing = [
        str(a + timedelta(seconds=1))
        for a, b in zip(ticks, ticks[1:])
        if (b - a) > timedelta(seconds=1, milliseconds=500)
    ]
    assert missing == [], f"ticks skipped during the load: {missing}"
    assert len(ticks) >= expected - 1, (len(ticks), expected)
    runners = {r.get("pid") for r in beats}
    assert runners <= workers, (runners, workers)
