"""A project as `flyer create` writes it, with its orders example.

Fast: with no `flyer_mq_url` (or no flyer-mq importable) the orders app is off and the project
starts as before; with one, `router` and `mq` are exported.

Slow, on each real broker (Kafka: the tests' Tansu): the project served by flyer's production
runner with two workers takes 500 POSTs whose route publishes; its subscriber records every
order exactly once in Redis, each with the request id of the POST that placed it; FastFlyer's
`Producer.send` delivers to it from a thread.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path
from typing import Any, Dict, Iterator, List

import httpx
import pytest

needs_faststream = pytest.mark.skipif(
    sys.version_info < (3, 10),
    reason="flyer-mq needs Python 3.10+: FastStream 0.7 does not install here",
)
REDIS_URL = os.environ.get("FLYER_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
PREFIX = "/shop"
POSTS = 500


def _clean_env(**extra: str) -> Dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.lower().startswith("flyer_")}
    env.update(PYTHONDONTWRITEBYTECODE="1", **extra)
    return env


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`flyer create shop`; its orders topic renamed to one no other test run uses."""
    base = tmp_path_factory.mktemp("mq-project")
    created = subprocess.run(
        [sys.executable, "-m", "flyer_cli", "create", "shop", "--prefix", PREFIX, "--no-lock"],
        cwd=str(base),
        env=_clean_env(),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert created.returncode == 0, created.stderr
    root = base / "shop"
    module = root / "app" / "orders" / "module.py"
    text = module.read_text()
    assert 'ORDERS_TOPIC = "orders"' in text
    topic = f"orders-{uuid.uuid4().hex[:12]}"
    module.write_text(text.replace('ORDERS_TOPIC = "orders"', f"ORDERS_TOPIC = {topic!r}"))
    return root


def _orders_app(project: Path, env: Dict[str, str], block_mq: bool = False) -> List[str]:
    """Import the project's `app.orders` in a fresh interpreter: its enabled flag and exports."""
    code = (
        "import sys\n"
        + ("sys.modules['flyer_mq'] = None\n" if block_mq else "")
        + "import app.orders as o\n"
        "print(o.__ENABLED__, sorted(n for n in ('router', 'mq') if hasattr(o, n)))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=str(project),
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout.strip().splitlines()[-1].split(" ", 1)


def test_without_a_broker_the_orders_app_is_off(project: Path) -> None:
    assert _orders_app(project, _clean_env()) == ["False", "[]"]


@needs_faststream
def test_with_a_broker_url_the_orders_app_exports_router_and_mq(project: Path) -> None:
    env = _clean_env(flyer_mq_url="redis://127.0.0.1:6379/0")
    assert _orders_app(project, env) == ["True", "['mq', 'router']"]


def test_without_flyer_mq_installed_the_orders_app_is_off(project: Path) -> None:
    env = _clean_env(flyer_mq_url="redis://127.0.0.1:6379/0")
    assert _orders_app(project, env, block_mq=True) == ["False", "[]"]


@needs_faststream
def test_a_broker_url_in_dot_env_turns_the_orders_app_on(project: Path) -> None:
    env_file = project / ".env"
    env_file.write_text("flyer_mq_url=redis://127.0.0.1:6379/0\n")
    try:
        assert _orders_app(project, _clean_env()) == ["True", "['mq', 'router']"]
    finally:
        env_file.unlink()


@contextlib.contextmanager
def _serve(project: Path, port: int, **env: str) -> Iterator[str]:
    """The project under flyer's production runner, two workers; yields its base URL."""
    log = project / f"server-{port}.log"
    runner = (
        "from flyer_core import run_prod; "
        f"run_prod('main:app', workers=2, host='127.0.0.1', port={port})"
    )
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-c", runner],
            cwd=str(project),
            env=_clean_env(**env),
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                if httpx.get(base + PREFIX + "/ready", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"server did not get ready:\n{log.read_text(errors='replace')[-4000:]}")
            time.sleep(0.3)
        yield base
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(60)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(10)
        assert process.returncode == 0, log.read_text(errors="replace")[-4000:]


async def _place_orders(base: str, count: int) -> Dict[str, str]:
    """POST `count` orders (16 at a time), each with its own request id: order id -> request id."""
    placed: Dict[str, str] = {}
    limit = asyncio.Semaphore(16)
    async with httpx.AsyncClient(base_url=base, timeout=30) as http:

        async def one(n: int) -> None:
            request_id = f"req-{n}-{uuid.uuid4().hex[:8]}"
            async with limit:
                answer = await http.post(
                    PREFIX + "/orders",
                    json={"item": f"item-{n}", "quantity": 1 + n % 5},
                    headers={"X-Request-ID": request_id},
                )
            assert answer.status_code == 202, answer.text
            data = answer.json()["data"]
            assert data["request_id"] == request_id
            placed[data["id"]] = request_id

        await asyncio.gather(*(one(n) for n in range(count)))
    return placed


def _records(client: Any, ids: List[str]) -> Dict[str, Dict[str, str]]:
    pipe = client.pipeline(transaction=False)
    for order_id in ids:
        pipe.hgetall(f"orders:{order_id}")
    return dict(zip(ids, pipe.execute()))


def _wait_handled(client: Any, ids: List[str], timeout: float) -> Dict[str, Dict[str, str]]:
    deadline = time.monotonic() + timeout
    while True:
        found = _records(client, ids)
        missing = [i for i, record in found.items() if not record]
        if not missing:
            return found
        assert time.monotonic() < deadline, f"{len(missing)} orders never handled"
        time.sleep(0.2)


@pytest.mark.slow
@needs_faststream
def test_the_generated_project_handles_500_posted_orders_exactly_once(
    broker_url: str, project: Path, unused_port: int
) -> None:
    import redis

    from flyer_mq import Producer

    client = redis.Redis.from_url(REDIS_URL, decode_responses=True)
    ids: List[str] = []
    group = f"g{uuid.uuid4().hex[:10]}"
    try:
        settings = {
            "flyer_mq_url": broker_url,
            "flyer_mq_group": group,
            "flyer_redis_url": REDIS_URL,
            "flyer_access_log": "0",
            "flyer_log_format": "json",
        }
        with _serve(project, unused_port, **settings) as base:
            placed = asyncio.run(_place_orders(base, POSTS))
            ids.extend(placed)
            assert len(placed) == POSTS

            # FastFlyer's blocking producer, from a thread of its own.
            topic = (project / "app" / "orders" / "module.py").read_text()
            topic = topic.split("ORDERS_TOPIC = ", 1)[1].split("\n", 1)[0].strip("'\"")
            servers = (
                broker_url[len("kafka://") :] if broker_url.startswith("kafka://") else broker_url
            )
            sent_id = uuid.uuid4().hex
            ids.append(sent_id)
            delivered: List[bool] = []

            def send() -> None:
                with Producer(servers, topic) as producer:
                    delivered.append(producer.send({"id": sent_id, "item": "sent", "quantity": 1}))

            thread = threading.Thread(target=send)
            thread.start()
            thread.join(60)
            assert delivered == [True]

            records = _wait_handled(client, ids, timeout=120)
            # A duplicate would show as handled > 1: give one the time to arrive.
            time.sleep(1)
            records = _records(client, ids)
            assert {record["handled"] for record in records.values()} == {"1"}
            assert {i: records[i]["request_id"] for i in placed} == placed
            assert records[sent_id]["request_id"]  # a fresh id: it came from no request
            answer = httpx.get(f"{base}{PREFIX}/orders/{ids[0]}", timeout=10).json()["data"]
            assert answer == {"id": ids[0], "handled": 1, "request_id": placed[ids[0]]}
    finally:
        for start in range(0, len(ids), 200):
            client.delete(*[f"orders:{i}" for i in ids[start : start + 200]])
        client.close()
