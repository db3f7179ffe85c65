"""The generated project under `flyer serve` refuses non-finite numbers with a 422, as its
own schema says (issue 15, finding 13): `Infinity` used to be stored and read back as null."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from typing import Iterator

import httpx
import pytest

# Each case runs `flyer` in its own process (a served project or the CLI): multi-process,
# so it runs where the slow tests run (Python 3.8 and the newest).
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    base = tmp_path_factory.mktemp("served")
    root = base / "shop"
    env = {k: v for k, v in os.environ.items() if not k.lower().startswith("flyer_")}
    env.update(
        {
            "PYTHONDONTWRITEBYTECODE": "1",
            "flyer_log_format": "json",
            "flyer_sched_lock_dir": str(base / "locks"),
        }
    )
    created = subprocess.run(
        [sys.executable, "-m", "flyer_cli", "create", "--no-lock", "shop", "--dir", str(root)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert created.returncode == 0, created.stderr
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    url = f"http://127.0.0.1:{port}"
    address = ["--host", "127.0.0.1", "--port", str(port)]
    log = base / "serve.log"
    with log.open("wb") as out:
        server = subprocess.Popen(
            [sys.executable, "-m", "flyer_cli", "serve", "-w", "1", *address],
            cwd=str(root),
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + 90
        while True:
            assert server.poll() is None, log.read_text()[-3000:]
            try:
                if httpx.get(url + "/health_check", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, log.read_text()[-3000:]
            time.sleep(0.2)
        yield url
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(60)
        finally:
            try:
                os.killpg(server.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass


@pytest.mark.parametrize("price", ["Infinity", "-Infinity", "NaN", "1e400", "-1e400"])
def test_a_non_finite_price_is_a_422(served: str, price: str) -> None:
    body = '{"name": "black hole", "price": ' + price + "}"
    reply = httpx.post(
        served + "/shop/items", content=body, headers={"Content-Type": "application/json"}
    )
    assert reply.status_code == 422, reply.text
    envelope = reply.json()
    assert envelope["code"] == 422
    assert "price" in reply.text
    listed = httpx.get(served + "/shop/items", params={"size": 100}).json()["data"]
    assert all(item["price"] is not None for item in listed)


def test_a_finite_price_is_stored(served: str) -> None:
    reply = httpx.post(served + "/shop/items", json={"name": "lamp", "price": 1e300})
    assert reply.status_code == 201, reply.text
    assert reply.json()["data"]["price"] == 1e300
