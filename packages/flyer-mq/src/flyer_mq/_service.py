"""`Service`: one app's broker, its mounted routers and its publisher.

Imported only where FastStream is installed (Python 3.10+).
"""

from __future__ import annotations

import logging
from typing import Any, Dict, List, Optional

from flyer_mq._brokers import (
    Publisher,
    make_broker,
    make_router,
    publisher,
    subscribe,
    subscriber_options,
)
from flyer_mq._headers import outgoing_headers
from flyer_mq._middleware import HandleMiddleware, Seen
from flyer_mq._router import MQRouter
from flyer_mq._settings import BrokerURL, MQSettings

logger = logging.getLogger("flyer.mq")


class Service:
    """A FastStream broker for `settings.url`; `mount` routers, then `start` and `stop`."""

    def __init__(self, settings: MQSettings, graceful_timeout: float = 15.0) -> None:
        if settings.url is None:
            raise ValueError("flyer_mq_url is not set")
        self.settings = settings
        self.url: BrokerURL = settings.url
        self.kind = self.url.kind
        # No broker-wide middleware: `publish` adds the headers, and each subscriber's own
        # middleware (HandleMiddleware) those of what its handler publishes.
        self.broker = make_broker(self.url, graceful_timeout=graceful_timeout)
        self.publisher = Publisher(self.broker, self.kind, settings.publish_timeout)
        self.destinations: List[str] = []
        self.running = False
        self._seen: Optional[Seen] = None

    def mount(self, router: MQRouter) -> None:
        """Every subscription of `router` on the broker (before `start`)."""
        for sub in router.subscriptions:
            seen = self._idempotency() if sub.idempotent else None
            middleware = HandleMiddleware.bound(
                sub.destination, self.settings.retries, self._dead_letter, seen
            )
            own = make_router(self.kind, [middleware])
            handler: Any = sub.handler
            for destination, options in router.publishes(sub.handler):
                handler = publisher(own, self.kind, destination, options)(handler)
            options = subscriber_options(self.kind, sub.destination, self.settings, sub.options)
            for decorate in subscribe(own, self.kind, sub.destination, options):
                decorate(handler)
            self.broker.include_router(own)
            self.destinations.append(sub.destination)

    def _idempotency(self) -> Seen:
        """The Redis that remembers handled message ids (created once, connects lazily)."""
        if self._seen is None:
            url = self.settings.idempotency_url
            if url is None and self.url.kind == "redis":
                url = self.url
            if url is None:
                raise ValueError(
                    "flyer_mq_idempotency_url is not set: idempotent=True subscribers need a "
                    "redis:// URL to remember handled message ids"
                )
            import redis.asyncio

            client = redis.asyncio.Redis.from_url(url.raw)
            self._seen = Seen(client, self.settings.group, self.settings.idempotency_ttl)
        return self._seen

    async def start(self) -> None:
        await self.broker.start()
        self.running = True
        logger.info(
            "mq connected",
            extra={
                "broker": self.kind,
                "url": self.url.redacted,
                "subscriptions": self.destinations,
            },
        )

    async def stop(self) -> None:
        """Stop consuming, let in-flight handlers finish (the graceful timeout), disconnect."""
        if not self.running:
            return
        self.running = False
        await self.broker.stop()
        if self._seen is not None:
            await self._seen.client.aclose()
        logger.info("mq disconnected", extra={"broker": self.kind})

    async def ping(self, timeout: float = 3.0) -> bool:
        return bool(self.running and await self.broker.ping(timeout))

    async def publish(
        self,
        message: Any,
        destination: str,
        *,
        headers: Optional[Dict[str, str]] = None,
        correlation_id: Optional[str] = None,
        **options: Any,
    ) -> Any:
        merged = outgoing_headers()
        if headers:
            merged.update(headers)
        return await self.publisher.publish(
            message, destination, headers=merged, correlation_id=correlation_id, **options
        )

    async def _dead_letter(self, body: Any, destination: str, headers: Dict[str, str]) -> bool:
        if self.kind == "mqtt":
            return False  # MQTT keeps nothing nobody subscribed to: the message is logged
        target = destination + self.settings.dead_letter_suffix
        await self.publish(body, target, headers=headers)
        return True
