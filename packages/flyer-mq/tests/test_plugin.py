"""`MQPlugin` in flyer's app, against each real broker: a route publishes, a subscriber of
an app package handles it with the request id; readiness, AsyncAPI, retries and dead letters,
FastFlyer's `Producer` from a thread."""

from __future__ import annotations

import asyncio
import importlib.metadata
import logging
import sys
import threading
import types
import uuid
from typing import Any, Callable, List

import httpx
import pytest

from flyer_core import create_app
from flyer_mq import MQPlugin, Producer, publish

needs_faststream = pytest.mark.skipif(
    sys.version_info < (3, 10),
    reason="flyer-mq needs Python 3.10+: FastStream 0.7 does not install here",
)


def test_registered_as_the_mq_plugin() -> None:
    found = importlib.metadata.entry_points()
    group = (
        found.select(group="flyer.plugins")
        if hasattr(found, "select")
        else found.get("flyer.plugins", [])
    )
    (entry,) = [ep for ep in group if ep.name == "mq"]
    assert entry.value == "flyer_mq._plugin:MQPlugin"
    assert isinstance(entry.load()(), MQPlugin)


def test_a_bad_url_fails_validation_in_one_line_without_the_password() -> None:
    settings = types.SimpleNamespace(environ={"flyer_mq_url": "amqp://u:topsecret@h:0/"})
    with pytest.raises(ValueError, match=r"^flyer_mq_url='amqp://u:\*\*\*@h:0/': the port"):
        MQPlugin().validate_settings(settings)


async def test_off_without_a_url(mq_apps: Any, caplog: pytest.LogCaptureFixture) -> None:
    plugin = MQPlugin()
    with caplog.at_level(logging.INFO, logger="flyer.mq"):
        app = create_app(apps=mq_apps, env_file=None, plugins=[plugin])
    assert [r.getMessage() for r in caplog.records if r.name == "flyer.mq"] == [
        "mq off: flyer_mq_url is not set"
    ]
    assert not [r for r in app.router.routes if "asyncapi" in str(getattr(r, "path", ""))]
    async with app.router.lifespan_context(app):
        assert await plugin.check() == {"ok": True, "enabled": False}
        with pytest.raises(RuntimeError, match="no broker is connected"):
            await publish({"a": 1}, "nowhere")


async def wait_for(condition: Callable[[], bool], timeout: float = 30.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not condition():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"not true within {timeout:g}s")
        await asyncio.sleep(0.05)


def _lines(caplog: pytest.LogCaptureFixture, message: str) -> List[logging.LogRecord]:
    return [r for r in caplog.records if r.name == "flyer.mq" and r.getMessage() == message]


@needs_faststream
async def test_routes_publish_and_subscribers_handle_with_the_request_id(
    broker_url: str,
    mq_apps: Any,
    topic: str,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    monkeypatch.setenv("flyer_mq_url", broker_url)
    monkeypatch.setenv("flyer_mq_retries", "2")
    monkeypatch.setenv("flyer_management_open_without_auth", "1")
    caplog.set_level(logging.INFO, logger="flyer.mq")
    plugin = MQPlugin()
    app = create_app(apps=mq_apps, env_file=None, plugins=[plugin])
    orders = mq_apps.orders()
    transport = httpx.ASGITransport(app=app)
    async with app.router.lifespan_context(app), httpx.AsyncClient(
        transport=transport, base_url="http://test"
    ) as http:
        ids = [f"req-{uuid.uuid4().hex[:8]}" for _ in range(3)]
        for n, request_id in enumerate(ids):
            answer = await http.post(
                "/flyer/orders", json={"n": n}, headers={"X-Request-ID": request_id}
            )
            assert answer.status_code == 200, answer.text
            assert answer.json()["data"]["request_id"] == request_id
        await wait_for(lambda: len(orders.RECEIVED) >= 3)
        assert sorted(orders.RECEIVED, key=lambda r: r[0]["n"]) == [
            ({"n": n}, request_id) for n, request_id in enumerate(ids)
        ]
        # What the handler returned (its @mq.publisher) carries the request id too.
        await wait_for(lambda: len(orders.DONE) >= 3)
        assert sorted(orders.DONE, key=lambda r: r[0]["n"]) == [
            ({"n": n}, request_id) for n, request_id in enumerate(ids)
        ]
        handled = [r for r in _lines(caplog, "mq message") if r.destination == topic]
        assert [(r.outcome, r.attempts) for r in handled] == [("ok", 1)] * 3
        assert sorted(r.request_id for r in handled) == sorted(ids)
        assert all(r.duration_ms >= 0 for r in handled)

        ready = await http.get("/flyer/ready")
        assert ready.status_code == 200, ready.text
        assert (await plugin.check())["ok"] is True

        spec = (await http.get("/flyer/asyncapi.json")).json()
        assert spec["asyncapi"].startswith("3.")
        assert any(topic in str(channel) for channel in spec["channels"].values())
        page = await http.get("/flyer/asyncapi")
        assert page.status_code == 200
        assert "asyncapi/static/asyncapi-standalone.js" in page.text
        assert "https://" not in page.text
        script = await http.get("/flyer/asyncapi/static/asyncapi-standalone.js")
        assert script.status_code == 200
        assert "AsyncApiStandalone" in script.text

        # A handler that always raises: tried flyer_mq_retries times, then dead-lettered
        # (MQTT keeps no dead letters: the message is logged with its size and id instead).
        await http.post("/flyer/orders", json={"warm": True})  # the request id context
        failing = f"req-{uuid.uuid4().hex[:8]}"
        from flyer_status import request_id_var

        token = request_id_var.set(failing)
        try:
            await publish({"bad": 1}, topic + ".bad")
        finally:
            request_id_var.reset(token)
        await wait_for(lambda: len(orders.FAILED) >= 2)
        if broker_url.startswith("mqtt"):
            await wait_for(lambda: bool(_lines(caplog, "mq message dropped after its last try")))
            (dropped,) = _lines(caplog, "mq message dropped after its last try")
            assert dropped.size is not None
            assert dropped.size > 0
            assert dropped.attempts == 2
        else:
            await wait_for(lambda: len(orders.DEAD) >= 1)
            (dead,) = orders.DEAD
            assert dead[1] == failing
            await wait_for(lambda: bool(_lines(caplog, "mq message dead-lettered")))
        await asyncio.sleep(0.5)
        assert len(orders.FAILED) == 2  # not retried past its tries

        # FastFlyer's blocking Producer, from a thread of its own.
        results: List[bool] = []
        producer = Producer(broker_url, topic)
        thread = threading.Thread(target=lambda: results.append(producer.send({"n": 99})))
        thread.start()
        thread.join(60)
        producer.close()
        assert results == [True]
        await wait_for(lambda: any(order == {"n": 99} for order, _ in orders.RECEIVED))
    assert plugin.service is not None
    assert plugin.service.running is False
    assert "topsecret" not in caplog.text


@needs_faststream
def test_the_producer_takes_fastflyers_kafka_server_list(tansu_url: str, topic: str) -> None:
    servers = tansu_url[len("kafka://") :]
    with Producer([servers], topic, retries=1) as producer:
        assert producer.send({"hello": "kafka"}) is True
        assert producer.send(b"raw", topic=topic + ".other", timeout=10) is True


@needs_faststream
def test_the_producer_returns_false_when_the_broker_is_unreachable(
    topic: str, unused_port: int
) -> None:
    producer = Producer(f"amqp://guest:guest@127.0.0.1:{unused_port}/", topic, retries=1)
    try:
        assert producer.send({"n": 1}, timeout=3) is False
    finally:
        producer.close()
    with pytest.raises(RuntimeError, match="closed"):
        producer.send({"n": 2})


@pytest.mark.skipif(sys.version_info >= (3, 10), reason="checks the no-op of Python < 3.10")
async def test_a_no_op_with_one_log_line_before_python_3_10(
    mq_apps: Any, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("flyer_mq_url", "redis://127.0.0.1:6379")
    plugin = MQPlugin()
    with caplog.at_level(logging.INFO, logger="flyer.mq"):
        app = create_app(apps=mq_apps, env_file=None, plugins=[plugin])
    (line,) = [r.getMessage() for r in caplog.records if r.name == "flyer.mq"]
    assert line.startswith("mq off: flyer-mq needs Python 3.10+")
    async with app.router.lifespan_context(app):
        assert await plugin.check() == {"ok": True, "enabled": False}


@needs_faststream
async def test_an_idempotent_subscriber_handles_a_message_id_once(
    topic: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Any, url_of: Any
) -> None:
    import redis

    monkeypatch.setenv("flyer_mq_url", url_of("rabbit"))
    monkeypatch.setenv("flyer_mq_idempotency_url", url_of("redis"))
    monkeypatch.setenv("flyer_mq_group", f"g{uuid.uuid4().hex[:10]}")
    name = f"mqidem_{uuid.uuid4().hex[:8]}"
    (tmp_path / name / "once").mkdir(parents=True)
    (tmp_path / name / "__init__.py").write_text("")
    (tmp_path / name / "once" / "__init__.py").write_text(
        "from flyer_mq import MQRouter\n"
        "mq = MQRouter()\n"
        "CALLS = []\n"
        f"@mq.subscriber({topic!r}, idempotent=True)\n"
        "async def once(body: dict) -> None:\n"
        "    CALLS.append(body)\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    plugin = MQPlugin()
    app = create_app(apps=name, env_file=None, plugins=[plugin])
    try:
        async with app.router.lifespan_context(app):
            module = sys.modules[f"{name}.once"]
            await publish({"n": 1}, topic, message_id="order-1")
            await wait_for(lambda: len(module.CALLS) == 1)
            await publish({"n": 1}, topic, message_id="order-1")  # a duplicate delivery
            await publish({"n": 2}, topic, message_id="order-2")
            await wait_for(lambda: len(module.CALLS) == 2)
            await asyncio.sleep(0.5)
            assert module.CALLS == [{"n": 1}, {"n": 2}]
    finally:
        client = redis.Redis.from_url(url_of("redis"))
        for key in client.scan_iter(f"flyer-mq:seen:*:{topic}:*"):
            client.delete(key)
        client.close()
        for loaded in [m for m in sys.modules if m == name or m.startswith(name + ".")]:
            del sys.modules[loaded]


@needs_faststream
async def test_idempotent_subscribers_need_a_redis(
    topic: str, monkeypatch: pytest.MonkeyPatch, url_of: Any
) -> None:
    from flyer_mq import MQRouter, MQSettings
    from flyer_mq._service import Service

    mq = MQRouter()

    @mq.subscriber(topic, idempotent=True)
    async def once(body: dict) -> None: ...

    service = Service(MQSettings.from_env({"flyer_mq_url": url_of("rabbit")}))
    with pytest.raises(ValueError, match=r"^flyer_mq_idempotency_url is not set"):
        service.mount(mq)
