"""Fixtures for flyer-sched's tests: fresh schedulers, stores, and fleets of worker processes."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, List, Optional

import pytest

WORKER = Path(__file__).with_name("sched_worker.py")
REDIS_URL = os.environ.get("FLYER_TEST_REDIS_URL") or "redis://127.0.0.1:6379/0"


def drop_keys(prefix: str) -> None:
    """Delete the shared Redis keys under `prefix` (never the whole db), if Redis answers."""
    try:
        import redis
    except ImportError:
        return
    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=0.5, socket_timeout=2)
    try:
        keys = list(client.scan_iter(match=f"{prefix}:*", count=500))
        if keys:
            client.delete(*keys)
    except redis.RedisError:
        pass
    finally:
        client.close()


class Fleet:
    """Worker processes that share one record file (see sched_worker.py)."""

    def __init__(self, directory: Path, name: str) -> None:
        self.directory = directory / name
        self.directory.mkdir(parents=True, exist_ok=True)
        self.record = self.directory / "record.jsonl"
        self.record.touch()
        self.procs: List[subprocess.Popen[bytes]] = []
        self.prefix = f"flyer-test:{uuid.uuid4().hex[:12]}"

    def spawn(self, config: Dict[str, Any], env: Optional[Dict[str, str]] = None) -> Any:
        environment = {k: v for k, v in os.environ.items() if not k.upper().startswith("FLYER_")}
        environment.update({"FLYER_SCHED_LOCK_PREFIX": self.prefix, **(env or {})})
        full = {"record": str(self.record), **config}
        index = len(self.procs)
        stderr = open(self.directory / f"worker{index}.log", "wb")  # noqa: SIM115
        proc = subprocess.Popen(
            [sys.executable, str(WORKER), json.dumps(full)],
            cwd=str(self.directory),
            env=environment,
            stdout=subprocess.DEVNULL,
            stderr=stderr,
        )
        stderr.close()
        self.procs.append(proc)
        return proc

    def records(self, event: Optional[str] = None) -> List[Dict[str, Any]]:
        lines = self.record.read_text().splitlines()
        rows = [json.loads(line) for line in lines if line.strip()]
        return [r for r in rows if event is None or r["event"] == event]

    def wait_for(
        self, predicate: Callable[[List[Dict[str, Any]]], Any], timeout: float
    ) -> Any:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = predicate(self.records())
            if found:
                return found
            dead = [p for p in self.procs if p.poll() not in (None, 0, -signal.SIGKILL)]
            if dead:
                raise AssertionError(f"worker exited with {dead[0].returncode}: {self.logs()}")
            time.sleep(0.05)
        raise AssertionError(f"timed out after {timeout}s; records: {self.records()[-20:]}")

    def logs(self) -> List[Dict[str, Any]]:
        rows: List[Dict[str, Any]] = []
        for path in sorted(self.directory.glob("worker*.log")):
            for line in path.read_text(errors="replace").splitlines():
                try:
                    rows.append(json.loads(line))
                except ValueError:
                    rows.append({"raw": line})
        return rows

    def wait_all(self, timeout: float) -> List[Optional[int]]:
        deadline = time.monotonic() + timeout
        for proc in self.procs:
            try:
                proc.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                pass
        return [p.poll() for p in self.procs]

    def kill_all(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait(10)


@pytest.fixture(scope="session")
def fleets(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[[str], Fleet]]:
    """`fleets(name)` makes a `Fleet`; every worker still running at the end is killed."""
    made: List[Fleet] = []
    root = tmp_path_factory.mktemp("fleets")

    def make(name: str) -> Fleet:
        fleet = Fleet(root, name)
        made.append(fleet)
        return fleet

    yield make
    for fleet in made:
        fleet.kill_all()
        drop_keys(fleet.prefix)


@pytest.fixture
def prefix() -> Iterator[str]:
    """A random key prefix, so tests never see each other's locks on the shared Redis."""
    value = f"flyer-test:{uuid.uuid4().hex[:12]}"
    yield value
    drop_keys(value)


@pytest.fixture
def redis_client(redis_url: str) -> Iterator[Any]:
    import redis

    client = redis.Redis.from_url(redis_url)
    yield client
    client.close()
