"""Fixtures every package's tests share: the real services and private Redis servers.

Service URLs come from FLYER_TEST_REDIS_URL, FLYER_TEST_MYSQL_URL and
FLYER_TEST_POSTGRES_URL, defaulting to this machine's loopback services. When nothing
answers, a test that needs the service is skipped with the reason, except under CI=true,
where a missing service is a failure. Imports nothing beyond the standard library and
pytest, so it loads in every package's environment.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
import urllib.parse
from pathlib import Path
from typing import Iterator

import pytest

DEFAULT_URLS = {
    "FLYER_TEST_REDIS_URL": "redis://127.0.0.1:6379/0",
    "FLYER_TEST_MYSQL_URL": "mysql+pymysql://root@127.0.0.1:3306/test",
    "FLYER_TEST_POSTGRES_URL": "postgresql+psycopg://postgres@127.0.0.1:5432/test",
}


def _answers(host: str, port: int, timeout: float = 1.0) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def _service_url(variable: str) -> str:
    url = os.environ.get(variable) or DEFAULT_URLS[variable]
    parsed = urllib.parse.urlsplit(url)
    host, port = parsed.hostname or "127.0.0.1", parsed.port
    assert port is not None, f"{variable}={url!r}: the URL needs an explicit port"
    if not _answers(host, port):
        reason = f"{variable}: nothing answers at {host}:{port}"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"{reason} (a missing service is a failure under CI=true)")
        pytest.skip(reason)
    return url


@pytest.fixture(scope="session")
def redis_url() -> str:
    """URL of the real Redis server (db 0). Tests namespace their keys; none flushes the db."""
    return _service_url("FLYER_TEST_REDIS_URL")


@pytest.fixture(scope="session")
def mysql_url() -> str:
    """SQLAlchemy URL of the real MariaDB/MySQL server (PyMySQL driver)."""
    return _service_url("FLYER_TEST_MYSQL_URL")


@pytest.fixture(scope="session")
def postgres_url() -> str:
    """SQLAlchemy URL of the real PostgreSQL server (psycopg 3 driver)."""
    return _service_url("FLYER_TEST_POSTGRES_URL")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def unused_tcp_port_() -> int:
    """A loopback port nothing listens on right now."""
    return free_port()


class RedisServer:
    """A private redis-server on a free loopback port, which a test may stop and restart.

    Fault tests use one so that stopping "the" Redis never disturbs other tests.
    """

    def __init__(self, workdir: Path) -> None:
        self.port = free_port()
        self.workdir = workdir
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
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
                str(self.workdir),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while not _answers("127.0.0.1", self.port, 0.2):
            if time.monotonic() > deadline or self.process.poll() is not None:
                raise RuntimeError(f"private redis-server on port {self.port} did not start")
            time.sleep(0.02)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(10)
        self.process = None

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None


@pytest.fixture
def private_redis(tmp_path: Path) -> Iterator[RedisServer]:
    """A started private redis-server; `.stop()` / `.start()` it to simulate an outage."""
    if not (shutil.which("redis-server") or Path("/usr/bin/redis-server").exists()):
        message = "redis-server binary not found"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message)
        pytest.skip(message)
    server = RedisServer(tmp_path)
    server.start()
    try:
        yield server
    finally:
        server.stop()
