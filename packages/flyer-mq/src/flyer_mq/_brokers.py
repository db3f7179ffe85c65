"""One FastStream broker per `flyer_mq_url` kind, and the few calls that differ between them.

Imported only where FastStream is installed (Python 3.10+). Every subscription made here
shares the service's group (`flyer_mq_group`; on Kafka `<group>.<topic>`, one per topic), so
each message is handled by one worker of the service; acknowledgement comes after the handler
returns.
"""

from __future__ import annotations

import functools
import logging
import os
import re
import socket
import uuid
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence, Set

from faststream import AckPolicy

from flyer_mq._settings import BrokerURL, MQSettings

broker_logger = logging.getLogger("flyer.mq.broker")

# How long a Redis Streams message may stay unacknowledged (its consumer died) before
# another consumer of the group claims it, in milliseconds.
REDIS_CLAIM_IDLE_MS = 15_000


@functools.lru_cache(maxsize=1024)
def nats_stream_name(subject: str) -> str:
    """The JetStream stream that keeps `subject`: `flyer_` + the subject, `.` `*` `>` as `_`."""
    return "flyer_" + re.sub(r"[^A-Za-z0-9_-]", "_", subject)


def kafka_group_id(group: str, topic: str) -> str:
    """The Kafka consumer group of the service `group` for `topic`: `<group>.<topic>`."""
    return f"{group}.{topic}"


def consumer_name() -> str:
    """This process's consumer name (Redis Streams): host and pid."""
    return f"{socket.gethostname()}-{os.getpid()}"


def make_broker(
    url: BrokerURL,
    *,
    middlewares: Sequence[Any] = (),
    graceful_timeout: float = 15.0,
    log_level: int = logging.DEBUG,
) -> Any:
    """A FastStream broker for `url`; nothing connects until `await broker.start()`."""
    common: Dict[str, Any] = {
        "middlewares": tuple(middlewares),
        "graceful_timeout": graceful_timeout,
        "logger": broker_logger,
        "log_level": log_level,
    }
    if url.kind == "kafka":
        from faststream.kafka import KafkaBroker

        security = None
        if url.username is not None:
            from faststream.security import SASLPlaintext

            security = SASLPlaintext(username=url.username, password=url.password or "")
        return KafkaBroker(url.servers, acks="all", security=security, **common)
    if url.kind == "rabbit":
        from faststream.rabbit import RabbitBroker

        return RabbitBroker(url.raw, **common)
    if url.kind == "nats":
        from faststream.nats import NatsBroker

        return NatsBroker(_nats_servers(url), **common)
    if url.kind == "redis":
        from faststream.redis import RedisBroker

        return RedisBroker(url.raw, **common)
    from faststream.mqtt import MQTTBroker

    # One client id per connection: the broker drops a connection whose id another one takes.
    client_id = f"flyer-{consumer_name()}-{uuid.uuid4().hex[:8]}"
    return MQTTBroker(url.raw, client_id=client_id, **common)


def _nats_servers(url: BrokerURL) -> List[str]:
    auth = ""
    if url.username is not None:
        from urllib.parse import quote

        auth = quote(url.username, safe="")
        if url.password is not None:
            auth += ":" + quote(url.password, safe="")
        auth += "@"
    return [f"{url.scheme}://{auth}{host}:{port}" for host, port in url.hosts]


def make_router(kind: str, middlewares: Sequence[Any] = ()) -> Any:
    """An empty broker-specific FastStream router with `middlewares`."""
    if kind == "kafka":
        from faststream.kafka import KafkaRouter

        return KafkaRouter(middlewares=tuple(middlewares))
    if kind == "rabbit":
        from faststream.rabbit import RabbitRouter

        return RabbitRouter(middlewares=tuple(middlewares))
    if kind == "nats":
        from faststream.nats import NatsRouter

        return NatsRouter(middlewares=tuple(middlewares))
    if kind == "redis":
        from faststream.redis import RedisRouter

        return RedisRouter(middlewares=tuple(middlewares))
    from faststream.mqtt import MQTTRouter

    return MQTTRouter(middlewares=tuple(middlewares))


def subscriber_options(
    kind: str, destination: str, settings: MQSettings, options: Mapping[str, Any]
) -> Dict[str, Any]:
    """FastStream `subscriber(...)` keyword arguments: the group defaults of this service,
    then the caller's own `options` (which win)."""
    group = settings.group
    found: Dict[str, Any] = {"ack_policy": AckPolicy.NACK_ON_ERROR}
    if kind == "kafka":
        # A consumer group per topic: a worker's subscriptions to other topics do not join
        # it, so starting or stopping one does not rebalance the rest.
        found.update(group_id=kafka_group_id(group, destination), auto_offset_reset="earliest")
    elif kind == "rabbit":
        from faststream.rabbit import RabbitQueue

        found["queue"] = RabbitQueue(destination, durable=True)
    elif kind == "nats":
        from faststream.nats import JStream, PullSub

        # A durable pull consumer: every worker pulls from the one consumer of the group.
        found.update(
            durable=group,
            pull_sub=PullSub(batch_size=16, timeout=1.0),
            stream=JStream(nats_stream_name(destination), subjects=[destination]),
        )
    elif kind == "redis":
        from faststream.redis import StreamSub

        found["stream"] = StreamSub(destination, group=group, consumer=consumer_name())
    else:
        from faststream.mqtt import QoS

        # MQTT has no negative acknowledgement: a message is acknowledged once handled.
        found.update(qos=QoS.AT_LEAST_ONCE, shared=group, ack_policy=AckPolicy.REJECT_ON_ERROR)
    found.update(options)
    return found


def subscribe(router: Any, kind: str, destination: str, kwargs: Dict[str, Any]) -> List[Any]:
    """`router.subscriber(...)` for `destination`, with the kind's positional form.

    Redis Streams get a second subscriber in the same group that claims the messages a dead
    consumer left unacknowledged for `REDIS_CLAIM_IDLE_MS` (XAUTOCLAIM), so they are handled.
    """
    if kind == "rabbit":
        return [router.subscriber(kwargs.pop("queue"), **kwargs)]
    if kind == "redis":
        from faststream.redis import StreamSub

        stream = kwargs["stream"]
        subscribers = [router.subscriber(**kwargs)]
        if isinstance(stream, StreamSub) and stream.group and stream.min_idle_time is None:
            claimer = StreamSub(
                stream.name,
                group=stream.group,
                consumer=f"{stream.consumer}-claim",
                min_idle_time=REDIS_CLAIM_IDLE_MS,
            )
            claim = {**kwargs, "stream": claimer, "include_in_schema": False}
            subscribers.append(router.subscriber(**claim))
        return subscribers
    return [router.subscriber(destination, **kwargs)]


def publisher(router: Any, kind: str, destination: str, options: Mapping[str, Any]) -> Any:
    """`router.publisher(...)` for `destination` (the handler's return value is published)."""
    if kind == "redis":
        return router.publisher(stream=destination, **options)
    if kind == "nats":
        return router.publisher(destination, **{"stream": nats_stream_name(destination), **options})
    if kind == "mqtt":
        from faststream.mqtt import QoS

        return router.publisher(destination, **{"qos": QoS.AT_LEAST_ONCE, **options})
    return router.publisher(destination, **options)


class Publisher:
    """Publishes on a started broker, declaring what the destination needs first (a durable
    RabbitMQ queue, a JetStream stream) once per destination."""

    def __init__(self, broker: Any, kind: str, timeout: float) -> None:
        self.broker = broker
        self.kind = kind
        self.timeout = timeout
        self._declared: Set[str] = set()

    async def declare(self, destination: str) -> None:
        if destination in self._declared:
            return
        if self.kind == "rabbit":
            from faststream.rabbit import RabbitQueue

            await self.broker.declare_queue(RabbitQueue(destination, durable=True))
        elif self.kind == "nats":
            from nats.js.errors import BadRequestError

            js = self.broker.connection.jetstream()
            try:
                await js.add_stream(name=nats_stream_name(destination), subjects=[destination])
            except BadRequestError:
                pass  # it exists with another configuration: publish into it as it is
        self._declared.add(destination)

    async def publish(
        self,
        message: Any,
        destination: str,
        headers: Optional[Dict[str, str]] = None,
        correlation_id: Optional[str] = None,
        **options: Any,
    ) -> Any:
        if destination not in self._declared:
            await self.declare(destination)
        kind, publish = self.kind, self.broker.publish
        if kind == "kafka":
            return await publish(
                message, destination, headers=headers, correlation_id=correlation_id, **options
            )
        if kind == "rabbit":
            return await publish(
                message,
                queue=destination,
                headers=headers,
                correlation_id=correlation_id,
                persist=True,
                timeout=self.timeout,
                **options,
            )
        if kind == "nats":
            return await publish(
                message,
                destination,
                headers=headers,
                correlation_id=correlation_id,
                stream=nats_stream_name(destination),
                timeout=self.timeout,
                **options,
            )
        if kind == "redis":
            return await publish(
                message,
                stream=destination,
                headers=headers,
                correlation_id=correlation_id,
                **options,
            )
        from faststream.mqtt import QoS

        return await publish(
            message,
            destination,
            headers=headers,
            correlation_id=correlation_id,
            qos=QoS.AT_LEAST_ONCE,
            **options,
        )


Handler = Callable[..., Any]
