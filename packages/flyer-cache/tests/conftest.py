"""Fixtures for flyer-cache's tests: namespaced keys on the real Redis, and extra servers
(Unix socket, TLS, sentinel) started on private ports for the tests that need them."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
import uuid
from pathlib import Path
from typing import Any, Callable, Iterator, List

import pytest
import redis

import flyer_cache


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_until(check: Callable[[], bool], what: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 10
    while not check():
        if time.monotonic() > deadline or process.poll() is not None:
            process.kill()
            process.wait(5)
            raise RuntimeError(f"{what} did not start")
        time.sleep(0.02)


def _tcp_answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return True
    except OSError:
        return False


def _redis_binary() -> str:
    binary = shutil.which("redis-server") or "/usr/bin/redis-server"
    if not Path(binary).exists():
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail("redis-server binary not found")
        pytest.skip("redis-server binary not found")
    return binary


class _Servers:
    """Starts redis-server processes and stops every one of them at teardown."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.processes: List[subprocess.Popen[bytes]] = []

    def start(self, args: List[str], ready: Callable[[], bool], what: str) -> None:
        process = subprocess.Popen(
            [_redis_binary(), *args],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            cwd=self.workdir,
        )
        self.processes.append(process)
        _wait_until(ready, what, process)

    def stop_all(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                process.terminate()
                process.wait(10)


@pytest.fixture
def servers(tmp_path: Path) -> Iterator[_Servers]:
    started = _Servers(tmp_path)
    try:
        yield started
    finally:
        started.stop_all()


@pytest.fixture
def ns() -> str:
    """A key namespace no other test (or engineer) uses."""
    return f"flyer-cache-test:{uuid.uuid4().hex[:12]}"


@pytest.fixture
def redis_client(redis_url: str, ns: str) -> Iterator[redis.Redis]:
    """The shared client for the real Redis; keys under `ns` are deleted afterwards."""
    client = flyer_cache.from_url(redis_url)
    try:
        yield client
    finally:
        keys = list(client.scan_iter(match=f"{ns}*", count=1000))
        if keys:
            client.delete(*keys)


@pytest.fixture
def admin(redis_url: str) -> Iterator[redis.Redis]:
    """A plain redis-py client (no flyer pool) for CLIENT KILL and inspection."""
    client = redis.Redis.from_url(redis_url)
    try:
        yield client
    finally:
        client.close()


@pytest.fixture(autouse=True)
def _fresh_default_backend() -> Iterator[None]:
    """Each test starts with no default store chosen, and leaves none behind."""
    flyer_cache.set_default_backend(None)
    yield
    flyer_cache.set_default_backend(None)


@pytest.fixture
async def aclose() -> Any:
    """Closes this event loop's shared asyncio pools after the test (no unclosed sockets)."""
    yield
    await flyer_cache.close_async_pools()


@pytest.fixture
def unix_redis(servers: _Servers, tmp_path: Path) -> str:
    """A private redis-server listening on a Unix socket only; its `unix://` URL."""
    path = tmp_path / "redis.sock"
    servers.start(
        ["--port", "0", "--unixsocket", str(path), "--save", "", "--appendonly", "no"],
        path.exists,
        "redis-server on a Unix socket",
    )
    return f"unix://{path}?db=0"


@pytest.fixture
def tls_redis(servers: _Servers, tmp_path: Path) -> str:
    """A private redis-server speaking TLS only (self-signed cert); its `rediss://` URL."""
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("openssl not found: cannot make a test certificate")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        [
            openssl, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
            "-nodes", "-keyout", str(key), "-out", str(cert), "-days", "2",
            "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
        ],
        check=True,
        capture_output=True,
    )  # fmt: skip
    port = _free_port()
    servers.start(
        [
            "--port", "0", "--tls-port", str(port), "--bind", "127.0.0.1",
            "--tls-cert-file", str(cert), "--tls-key-file", str(key),
            "--tls-ca-cert-file", str(cert), "--tls-auth-clients", "no",
            "--save", "", "--appendonly", "no",
        ],
        lambda: _tcp_answers(port),
        "redis-server with TLS",
    )  # fmt: skip
    return f"rediss://127.0.0.1:{port}/0?ssl_ca_certs={cert}"


@pytest.fixture
def sentinel_url(servers: _Servers, private_redis: Any, tmp_path: Path) -> str:
    """A real sentinel watching the private Redis as `mymaster`; a `redis+sentinel://` URL."""
    port = _free_port()
    conf = tmp_path / "sentinel.conf"
    conf.write_text(
        f"port {port}\nbind 127.0.0.1\ndir {tmp_path}\n"
        f"sentinel monitor mymaster 127.0.0.1 {private_redis.port} 1\n"
    )
    servers.start([str(conf), "--sentinel"], lambda: _tcp_answers(port), "redis sentinel")
    return f"redis+sentinel://127.0.0.1:{port}/mymaster/0"


@pytest.fixture
def free_port() -> int:
    """A loopback port nothing listens on right now."""
    return _free_port()


@pytest.fixture
def connection_gone(admin: redis.Redis) -> Callable[[str], bool]:
    """`connection_gone(name)`: whether the client named `name` leaves CLIENT LIST within 2 s.

    A client closes its socket at once, but the server drops it from CLIENT LIST
    asynchronously, so an immediate look can still see it.
    """

    def gone(name: str, timeout: float = 2.0) -> bool:
        deadline = time.monotonic() + timeout
        while name in [c.get("name") for c in admin.client_list()]:
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.01)
        return True

    return gone
