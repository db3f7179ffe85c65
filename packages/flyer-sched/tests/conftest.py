"""Fixtures for flyer-sched's tests: fresh schedulers, stores, and fleets of worker processes."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
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


class Zygote:
    """One warm interpreter that forks worker processes on request (see sched_worker.py)."""

    def __init__(self, directory: Path) -> None:
        self.exits = directory / "exits.jsonl"
        self.exits.touch()
        self._mutex = threading.Lock()
        self.proc = subprocess.Popen(
            [sys.executable, str(WORKER), "zygote", str(self.exits)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
        )

    def spawn(self, config: Dict[str, Any]) -> Worker:
        assert self.proc.stdin is not None
        assert self.proc.stdout is not None
        with self._mutex:
            self.proc.stdin.write((json.dumps(config) + "\n").encode())
            self.proc.stdin.flush()
            pid = int(self.proc.stdout.readline())
        return Worker(self, pid)

    def exit_code(self, pid: int) -> Optional[int]:
        for line in self.exits.read_text().splitlines():
            row = json.loads(line)
            if row["pid"] == pid:
                return int(row["code"])
        return None

    def close(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.close()  # the zygote kills what is left and exits
        try:
            self.proc.wait(15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)
        finally:
            assert self.proc.stdout is not None
            self.proc.stdout.close()


class Worker:
    """A forked worker, driven like a `subprocess.Popen`."""

    def __init__(self, zygote: Zygote, pid: int) -> None:
        self.zygote = zygote
        self.pid = pid

    def poll(self) -> Optional[int]:
        return self.zygote.exit_code(self.pid)

    @property
    def returncode(self) -> Optional[int]:
        return self.poll()

    def wait(self, timeout: float) -> int:
        deadline = time.monotonic() + timeout
        while (code := self.poll()) is None:
            if time.monotonic() > deadline:
                raise subprocess.TimeoutExpired(f"worker {self.pid}", timeout)
            time.sleep(0.02)
        return code

    def send_signal(self, signum: int) -> None:
        if self.poll() is None:
            try:
                os.kill(self.pid, signum)
            except ProcessLookupError:
                pass

    def terminate(self) -> None:
        self.send_signal(signal.SIGTERM)

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)


class Fleet:
    """Worker processes that share one record file (see sched_worker.py)."""

    def __init__(self, zygote: Zygote, directory: Path, name: str) -> None:
        self.zygote = zygote
        self.directory = directory / name
        self.directory.mkdir(parents=True, exist_ok=True)
        self.record = self.directory / "record.jsonl"
        self.record.touch()
        self.procs: List[Worker] = []
        self.prefix = f"flyer-test:{uuid.uuid4().hex[:12]}"

    def spawn(self, config: Dict[str, Any], env: Optional[Dict[str, str]] = None) -> Worker:
        full = {
            "record": str(self.record),
            "log": str(self.directory / f"worker{len(self.procs)}.log"),
            "env": {"FLYER_SCHED_LOCK_PREFIX": self.prefix, **(env or {})},
            **config,
        }
        worker = self.zygote.spawn(full)
        self.procs.append(worker)
        return worker

    def records(self, event: Optional[str] = None) -> List[Dict[str, Any]]:
        lines = self.record.read_text().splitlines()
        rows = [json.loads(line) for line in lines if line.strip()]
        return [r for r in rows if event is None or r["event"] == event]

    def wait_for(self, predicate: Callable[[List[Dict[str, Any]]], Any], timeout: float) -> Any:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = predicate(self.records())
            if found:
                return found
            dead = [p for p in self.procs if p.poll() not in (None, 0, -signal.SIGKILL)]
            if dead:
                raise AssertionError(f"worker exited with {dead[0].poll()}: {self.logs()}")
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
            proc.kill()


class PrivateRedis:
    """A private redis-server (no persistence) a test may freeze, thaw, kill and restart."""

    def __init__(self, directory: Path) -> None:
        import socket

        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            self.port = int(sock.getsockname()[1])
        self.directory = directory
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: Optional[subprocess.Popen[bytes]] = None

    def start(self) -> None:
        import shutil
        import socket

        binary = shutil.which("redis-server") or "/usr/bin/redis-server"
        self.process = subprocess.Popen(
            [
                binary,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.directory),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 30
        while True:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    return
            except OSError:
                if time.monotonic() > deadline or self.process.poll() is not None:
                    raise RuntimeError(
                        f"private redis-server on {self.port} did not start"
                    ) from None
                time.sleep(0.02)

    def freeze(self) -> None:
        """SIGSTOP: connections are accepted by the kernel, nothing is answered."""
        assert self.process is not None
        self.process.send_signal(signal.SIGSTOP)

    def thaw(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGCONT)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGCONT)
            self.process.kill()
            self.process.wait(10)
        self.process = None


@pytest.fixture(scope="session")
def private_redises(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[[], Any]]:
    """`private_redises()` starts another private redis-server; all are killed at the end."""
    import shutil

    if not (shutil.which("redis-server") or Path("/usr/bin/redis-server").exists()):
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail("redis-server binary not found")
        pytest.skip("redis-server binary not found")
    made: List[PrivateRedis] = []

    def make() -> PrivateRedis:
        server = PrivateRedis(tmp_path_factory.mktemp("redis"))
        server.start()
        made.append(server)
        return server

    yield make
    for server in made:
        server.stop()


@pytest.fixture(scope="session")
def fleets(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[[str], Fleet]]:
    """`fleets(name)` makes a `Fleet`; every worker still running at the end is killed."""
    made: List[Fleet] = []
    root = tmp_path_factory.mktemp("fleets")
    zygote = Zygote(root)

    def make(name: str) -> Fleet:
        fleet = Fleet(zygote, root, name)
        made.append(fleet)
        return fleet

    yield make
    for fleet in made:
        fleet.kill_all()
    zygote.close()
    for fleet in made:
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


@pytest.fixture
def memory_store() -> Any:
    from flyer_sched import MemoryLockStore

    return MemoryLockStore()


@pytest.fixture
def make_scheduler(memory_store: Any) -> Iterator[Callable[..., Any]]:
    """`make_scheduler("background"|"asyncio", store=...)`: fresh schedulers, shut down after."""
    from flyer_sched import AsyncIOScheduler, BackgroundScheduler, SchedSettings

    made: List[Any] = []

    def make(kind: str = "background", store: Any = None, **settings: Any) -> Any:
        options = {"lock_backend": "memory", "lock_ttl": 5.0, **settings}
        cls = AsyncIOScheduler if kind == "asyncio" else BackgroundScheduler
        scheduler = cls(settings=SchedSettings(**options))
        scheduler.lock_store = store if store is not None else memory_store
        made.append(scheduler)
        return scheduler

    yield make
    for scheduler in made:
        if scheduler.running:
            scheduler.shutdown(wait=scheduler.flyer_name == "background")


@pytest.fixture
def serve() -> Callable[[Any], Any]:
    """`with serve(app) as client:` runs `app` under uvicorn (lifespan on) on a loopback port
    in a thread and yields an `httpx.Client` for it; the server stops at the end."""
    import contextlib
    import socket

    import httpx
    import uvicorn

    @contextlib.contextmanager
    def run(app: Any) -> Iterator[Any]:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        config = uvicorn.Config(
            app, host="127.0.0.1", port=port, lifespan="on", log_level="warning"
        )
        server = uvicorn.Server(config)
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        try:
            deadline = time.monotonic() + 15
            while not server.started:
                assert thread.is_alive(), "the server stopped during start-up"
                assert time.monotonic() < deadline, "the server did not start in time"
                time.sleep(0.02)
            with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10) as client:
                yield client
        finally:
            server.should_exit = True
            thread.join(15)
            assert not thread.is_alive(), "the server did not stop"

    return run
