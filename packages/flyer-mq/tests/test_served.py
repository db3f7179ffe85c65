"""A project served like `flyer serve -w 2` (gunicorn, two uvicorn workers), on each real
broker: a worker SIGKILLed while handling a message does not lose it; SIGTERM with messages in
flight loses none; the AsyncAPI page renders offline. (500 POSTs handled exactly once with
their request ids: test_generated_project.py, on a `flyer create` project.) Slow: these run
on the oldest and newest Python only."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import textwrap
import time
import uuid
from pathlib import Path
from typing import Any, Callable, ContextManager, Dict, Iterator

import httpx
import pytest

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        sys.version_info < (3, 10),
        reason="flyer-mq needs Python 3.10+: FastStream 0.7 does not install here",
    ),
]

REDIS_URL = os.environ.get("FLYER_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")

ORDERS = """
import asyncio
import os
from typing import Any, Dict

import redis.asyncio as aioredis
from flyer_core import APIRouter
from flyer_mq import MQRouter, publish
from flyer_status import get_request_id

TOPIC = os.environ["MQ_TEST_TOPIC"]
KEY = os.environ["MQ_TEST_KEY"]
router = APIRouter(prefix="/orders")
mq = MQRouter()
_client = None


def store():
    global _client
    if _client is None:
        _client = aioredis.Redis.from_url(os.environ["MQ_TEST_REDIS"])
    return _client


@router.post("")
async def place(order: Dict[str, Any]) -> Dict[str, Any]:
    await publish(order, TOPIC)
    return {"data": {"request_id": get_request_id()}}


@router.post("/slow")
async def place_slow(order: Dict[str, Any]) -> Dict[str, Any]:
    await publish(order, TOPIC + ".slow")
    return {"data": {"request_id": get_request_id()}}


@mq.subscriber(TOPIC)
async def on_order(order: Dict[str, Any]) -> None:
    n = str(order["n"])
    pipe = store().pipeline()
    pipe.hincrby(KEY + ":count", n, 1)
    pipe.hset(KEY + ":rid", n, get_request_id() or "")
    await pipe.execute()


@router.post("/steady")
async def place_steady(order: Dict[str, Any]) -> Dict[str, Any]:
    await publish(order, TOPIC + ".steady")
    return {"data": {"request_id": get_request_id()}}


@mq.subscriber(TOPIC + ".steady")
async def on_steady_order(order: Dict[str, Any]) -> None:
    n = str(order["n"])
    db = store()
    await db.hincrby(KEY + ":deliveries", n, 1)
    await asyncio.sleep(1.0)  # 40 take 20 s on two workers: SIGTERM finds them in flight
    await db.hset(KEY + ":done", n, os.getpid())


@mq.subscriber(TOPIC + ".slow")
async def on_slow_order(order: Dict[str, Any]) -> None:
    n = str(order["n"])
    db = store()
    await db.hincrby(KEY + ":deliveries", n, 1)
    if await db.set(KEY + ":first:" + n, os.getpid(), nx=True):
        # The first delivery hangs until its worker is killed.
        await asyncio.sleep(600)
    await db.hset(KEY + ":done", n, os.getpid())
"""

MAIN = """
from flyer_core import create_app

app = create_app()
"""


@pytest.fixture
def serve_project(tmp_path: Path, unused_port: int) -> Callable[..., ContextManager[str]]:
    """`with serve_project(url, topic, key) as base:` a project with the app package above,
    served by flyer's production runner with two workers; `base` is its URL."""
    import contextlib

    # A group of its own, the same for every server of the test (one service restarted):
    # consumers of other tests' topics stay out of its rebalances.
    group = f"g{uuid.uuid4().hex[:10]}"

    @contextlib.contextmanager
    def serve(broker_url: str, topic: str, key: str, **extra: str) -> Iterator[str]:
        project = tmp_path / "project"
        (project / "app" / "orders").mkdir(parents=True, exist_ok=True)
        (project / "app" / "__init__.py").write_text("")
        (project / "app" / "orders" / "__init__.py").write_text(textwrap.dedent(ORDERS))
        (project / "main.py").write_text(textwrap.dedent(MAIN))
        env = {k: v for k, v in os.environ.items() if not k.lower().startswith("flyer_")}
        env.update(
            flyer_mq_url=broker_url,
            flyer_mq_group=group,
            flyer_access_log="0",
            flyer_graceful_timeout="10",
            flyer_log_format="json",
            MQ_TEST_TOPIC=topic,
            MQ_TEST_KEY=key,
            MQ_TEST_REDIS=REDIS_URL,
            PYTHONDONTWRITEBYTECODE="1",
        )
        env.update(extra)
        log = tmp_path / "server.log"
        runner = (
            "from flyer_core import run_prod; "
            f"run_prod('main:app', workers=2, host='127.0.0.1', port={unused_port})"
        )
        with log.open("wb") as out:
            process = subprocess.Popen(
                [sys.executable, "-c", runner],
                cwd=str(project),
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        base = f"http://127.0.0.1:{unused_port}"
        try:
            deadline = time.monotonic() + 90
            while True:
                try:
                    if httpx.get(base + "/flyer/ready", timeout=2).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                if process.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(
                        f"server did not get ready:\n{log.read_text(errors='replace')[-4000:]}"
                    )
                time.sleep(0.3)
            serve.log = log  # type: ignore[attr-defined]
            yield base
        finally:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(60)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(10)

    return serve


@pytest.fixture
def records() -> Iterator[Any]:
    import redis

    client = redis.Redis.from_url(REDIS_URL, decode_responses=True)
    key = f"flyer-mq-test:{uuid.uuid4().hex[:12]}"
    client.key = key  # type: ignore[attr-defined]
    yield client
    for name in client.scan_iter(key + ":*"):
        client.delete(name)
    client.close()


async def _post_all(base: str, path: str, count: int) -> Dict[str, str]:
    """POST `count` orders (16 at a time), each with its own request id: n -> request id."""
    sent: Dict[str, str] = {}
    limit = asyncio.Semaphore(16)
    async with httpx.AsyncClient(base_url=base, timeout=30) as http:

        async def one(n: int) -> None:
            request_id = f"req-{n}-{uuid.uuid4().hex[:8]}"
            async with limit:
                answer = await http.post(path, json={"n": n}, headers={"X-Request-ID": request_id})
            assert answer.status_code == 200, answer.text
            sent[str(n)] = request_id

        await asyncio.gather(*(one(n) for n in range(count)))
    return sent


def _wait(condition: Callable[[], bool], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "not true in time"
        time.sleep(0.2)


@pytest.mark.parametrize("kind", ["kafka", "rabbit", "nats", "redis"])
def test_a_message_whose_worker_is_killed_is_redelivered_and_handled(
    kind: str, url_of: Any, topic: str, serve_project: Any, records: Any
) -> None:
    broker_url = url_of(kind)
    key = records.key
    with serve_project(broker_url, topic, key) as base:
        asyncio.run(_post_all(base, "/flyer/orders/slow", 1))
        _wait(lambda: records.get(key + ":first:0") is not None, timeout=60)
        os.kill(int(records.get(key + ":first:0")), signal.SIGKILL)
        # Redelivered once the broker sees the consumer gone (Kafka: session timeout;
        # NATS: ack wait; Redis: the claim idle time) and handled by a live worker.
        _wait(lambda: records.hget(key + ":done", "0") is not None, timeout=120)
        assert int(records.hget(key + ":deliveries", "0")) >= 2


@pytest.mark.parametrize("kind", ["kafka", "rabbit", "nats", "redis"])
def test_sigterm_with_messages_in_flight_loses_none(
    kind: str, url_of: Any, topic: str, serve_project: Any, records: Any
) -> None:
    key = records.key
    with serve_project(url_of(kind), topic, key) as base:
        asyncio.run(_post_all(base, "/flyer/orders/steady", 40))
        _wait(lambda: records.hlen(key + ":deliveries") >= 2, timeout=60)
    # The server got SIGTERM with messages in flight and queued: each finished there or is
    # handled by the next server.
    with serve_project(url_of(kind), topic, key):
        _wait(lambda: records.hlen(key + ":done") >= 40, timeout=120)
    assert sorted(records.hgetall(key + ":done"), key=int) == [str(n) for n in range(40)]


CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-extensions",
    "--no-first-run",
    "--no-default-browser-check",
    # Nothing resolves but loopback: a page that reaches for a CDN finds no host.
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
    "--virtual-time-budget=20000",
]


def test_the_asyncapi_page_renders_in_chromium_with_only_loopback(
    url_of: Any, topic: str, serve_project: Any, records: Any, tmp_path: Path
) -> None:
    import shutil

    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        pytest.fail("chromium is not installed (Debian package chromium)")
    open_docs = {"flyer_management_open_without_auth": "1"}
    with serve_project(url_of("rabbit"), topic, records.key, **open_docs) as base:
        result = subprocess.run(
            [chromium, *CHROMIUM_FLAGS, f"--user-data-dir={tmp_path / 'profile'}",
             "--dump-dom", f"{base}/flyer/asyncapi"],
            capture_output=True, timeout=120, check=False,
        )  # fmt: skip
    dom = result.stdout.decode(errors="replace")
    assert result.returncode == 0, result.stderr.decode(errors="replace")[-2000:]
    # The component rendered the document: the channels are in the page, not only the shell.
    assert f"{topic}.steady" in dom, dom[-2000:]
    assert "asyncapi" in dom.lower()
