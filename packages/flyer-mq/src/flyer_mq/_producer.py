"""FastFlyer's blocking `Producer`, on any broker flyer-mq speaks."""

from __future__ import annotations

import asyncio
import logging
import threading
from typing import TYPE_CHECKING, Any, Iterable, Optional, Union

from flyer_mq._headers import outgoing_headers
from flyer_mq._settings import MQSettings, parse_url
from flyer_mq._support import SUPPORTED, UNSUPPORTED_REASON

if TYPE_CHECKING:
    from flyer_mq._service import Service

logger = logging.getLogger("flyer.mq")


class Producer:
    """`Producer(servers_list, topic, retries=3, **kw).send(msg, topic=None, timeout=10) -> bool`.

    `servers_list` is FastFlyer's Kafka bootstrap list (`"h1:9092,h2:9092"` or a list of
    `host:port`) or any `flyer_mq_url` (`amqp://...`, `nats://...`, `redis://...`,
    `mqtt://...`). Safe to call from any thread: the connection lives on a thread and event
    loop of its own, opened on the first `send`. `send` waits up to `timeout` seconds for
    the broker's confirmation, tries `retries` more times after a failure, and returns
    whether the message was delivered; it never raises for a broker error. `kw` pass through
    to every publish. Call `close()` (or use `with`) when done.
    """

    def __init__(
        self,
        servers_list: Union[str, Iterable[str]],
        topic: Optional[str] = None,
        retries: int = 3,
        **kw: Any,
    ) -> None:
        if not SUPPORTED:
            raise RuntimeError(UNSUPPORTED_REASON)
        if isinstance(servers_list, str):
            text = servers_list.strip()
        else:
            text = ",".join(str(s).strip() for s in servers_list)
        url = parse_url(text if "://" in text else f"kafka://{text}", "servers_list")
        if url is None:
            raise ValueError("servers_list: expected host:port entries or a broker URL")
        if isinstance(retries, bool) or not isinstance(retries, int) or retries < 0:
            raise ValueError(f"retries={retries!r}: expected an integer >= 0")
        self.settings = MQSettings(url=url)
        self.topic = topic
        self.retries = retries
        self.options = kw
        self._lock = threading.Lock()
        self._loop: Optional[asyncio.AbstractEventLoop] = None
        self._thread: Optional[threading.Thread] = None
        self._service: Optional[Service] = None
        self._closed = False

    def __repr__(self) -> str:
        return f"Producer({self.settings.url.redacted if self.settings.url else ''!r}, topic={self.topic!r})"

    def __enter__(self) -> Producer:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def _start_loop(self) -> asyncio.AbstractEventLoop:
        with self._lock:
            if self._closed:
                raise RuntimeError("Producer is closed")
            if self._loop is None:
                loop = asyncio.new_event_loop()
                thread = threading.Thread(
                    target=loop.run_forever, name="flyer-mq-producer", daemon=True
                )
                thread.start()
                self._loop, self._thread = loop, thread
            return self._loop

    async def _publish(self, msg: Any, topic: str, headers: Any) -> None:
        if self._service is None:
            from flyer_mq._service import Service

            service = Service(self.settings)
            await service.start()
            self._service = service
        await self._service.publish(msg, topic, headers=headers, **self.options)

    async def _drop_connection(self) -> None:
        service, self._service = self._service, None
        if service is not None:
            try:
                await service.stop()
            except Exception:  # already broken: the next try connects afresh
                pass

    def send(self, msg: Any, topic: Optional[str] = None, timeout: float = 10) -> bool:
        """Publish `msg` to `topic` (else the producer's topic); True once the broker took it."""
        destination = topic or self.topic
        if not destination:
            raise ValueError("Producer.send: no topic (give one here or to Producer)")
        loop = self._start_loop()
        headers = outgoing_headers()  # the caller's request id, read in the caller's thread
        for attempt in range(self.retries + 1):
            future = asyncio.run_coroutine_threadsafe(
                asyncio.wait_for(self._publish(msg, destination, headers), timeout), loop
            )
            try:
                future.result(timeout + 1)
                return True
            except Exception as exc:
                future.cancel()
                logger.warning(
                    "mq producer send failed",
                    extra={
                        "destination": destination,
                        "attempt": attempt + 1,
                        "error": type(exc).__name__,
                    },
                )
                asyncio.run_coroutine_threadsafe(self._drop_connection(), loop).result(timeout)
        return False

    def close(self) -> None:
        """Disconnect and stop the producer's thread. Idempotent."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            loop, thread = self._loop, self._thread
        if loop is None or thread is None:
            return
        try:
            asyncio.run_coroutine_threadsafe(self._drop_connection(), loop).result(15)
        finally:
            loop.call_soon_threadsafe(loop.stop)
            thread.join(15)
            loop.close()
