"""The FastStream middleware of each subscriber: request ids in and out, bounded retries, dead
letters, one log line.

Imported only where FastStream is installed (Python 3.10+).
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any, Awaitable, Callable, Dict, Optional

from faststream import BaseMiddleware

from flyer_mq._headers import REQUEST_ID_HEADER, incoming_request_id, outgoing_headers
from flyer_status import request_id_var

logger = logging.getLogger("flyer.mq")
# Pause between the tries of a handler that raised: 0.1 s, doubled each time, at most 2 s.
_BACKOFF_START, _BACKOFF_MAX = 0.1, 2.0


DeadLetter = Callable[[Any, str, Dict[str, str]], Awaitable[bool]]


class Seen:
    """Message ids handled already, in Redis: `flyer-mq:seen:<group>:<destination>:<id>`."""

    def __init__(self, client: Any, group: str, ttl: int) -> None:
        self.client = client
        self.group = group
        self.ttl = ttl

    def key(self, destination: str, message_id: str) -> str:
        return f"flyer-mq:seen:{self.group}:{destination}:{message_id}"

    async def handled(self, destination: str, message_id: str) -> bool:
        return bool(await self.client.exists(self.key(destination, message_id)))

    async def remember(self, destination: str, message_id: str) -> None:
        await self.client.set(self.key(destination, message_id), "1", ex=self.ttl)


class HandleMiddleware(BaseMiddleware[Any, Any]):
    """Per subscriber: binds the message's request id, tries the handler up to `tries` times,
    then hands the message to `dead_letter`; logs one line per message handled."""

    destination: str = ""
    tries: int = 3
    dead_letter: Optional[DeadLetter] = None
    seen: Optional[Seen] = None

    @classmethod
    def bound(
        cls, destination: str, tries: int, dead_letter: DeadLetter, seen: Optional[Seen] = None
    ) -> type:
        """A subclass of this middleware for one subscriber."""
        attributes = {
            "destination": destination,
            "tries": tries,
            "dead_letter": dead_letter,
            "seen": seen,
        }
        return type("HandleMiddleware", (cls,), attributes)

    # The request id of the message this instance handles (FastStream makes one instance per
    # message), for what its handler's return value is published with.
    request_id: Optional[str] = None

    async def publish_scope(self, call_next: Callable[[Any], Awaitable[Any]], cmd: Any) -> Any:
        """A message the handler's `@mq.publisher` publishes carries the request id of the
        message handled (and the trace context)."""
        cmd.add_headers(outgoing_headers(self.request_id), override=False)
        return await call_next(cmd)

    async def consume_scope(self, call_next: Callable[[Any], Awaitable[Any]], msg: Any) -> Any:
        request_id = self.request_id = incoming_request_id(getattr(msg, "headers", None))
        token = request_id_var.set(request_id)
        started = time.perf_counter()
        outcome = "ok"
        attempt = 0
        raw_id = getattr(msg, "message_id", None)
        seen = self.seen
        message_id = str(raw_id or "")
        try:
            if seen is not None and message_id and await seen.handled(self.destination, message_id):
                outcome = "duplicate"
                return None
            delay = _BACKOFF_START
            while True:
                attempt += 1
                try:
                    result = await call_next(msg)
                    if seen is not None and message_id:
                        await seen.remember(self.destination, message_id)
                    return result
                except Exception as exc:
                    if attempt >= self.tries:
                        outcome = await self._give_up(msg, exc, attempt)
                        if seen is not None and message_id:
                            await seen.remember(self.destination, message_id)
                        return None
                    logger.warning(
                        "mq handler failed, retrying",
                        extra={
                            "destination": self.destination,
                            "attempt": attempt,
                            "error": type(exc).__name__,
                        },
                        exc_info=exc,
                    )
                    await asyncio.sleep(delay)
                    delay = min(delay * 2, _BACKOFF_MAX)
        except BaseException:
            outcome = "error"
            raise
        finally:
            if logger.isEnabledFor(logging.INFO):
                logger.info(
                    "mq message",
                    extra={
                        "destination": self.destination,
                        "outcome": outcome,
                        "attempts": attempt,
                        "duration_ms": round((time.perf_counter() - started) * 1000, 2),
                        "message_id": raw_id,
                        "request_id": request_id,
                    },
                )
            request_id_var.reset(token)

    async def _give_up(self, msg: Any, exc: Exception, attempts: int) -> str:
        body = getattr(msg, "body", b"")
        size = len(body) if isinstance(body, (bytes, bytearray)) else None
        headers = {
            "x-flyer-dead-letter-from": self.destination,
            "x-flyer-error": type(exc).__name__,
            "x-flyer-attempts": str(attempts),
        }
        request_id = request_id_var.get()
        if request_id:
            headers[REQUEST_ID_HEADER] = request_id
        sent = False
        if self.dead_letter is not None:
            sent = await self.dead_letter(body, self.destination, headers)
        logger.error(
            "mq message dead-lettered" if sent else "mq message dropped after its last try",
            extra={
                "destination": self.destination,
                "attempts": attempts,
                "error": type(exc).__name__,
                "message_id": getattr(msg, "message_id", None),
                "size": size,
            },
            exc_info=exc,
        )
        return "dead_lettered" if sent else "dropped"
