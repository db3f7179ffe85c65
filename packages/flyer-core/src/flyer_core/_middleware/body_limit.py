"""`flyer_max_body_size`: 413 in the envelope, by `Content-Length` and while a body streams."""

from __future__ import annotations

import asyncio
from typing import Optional

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from flyer_status import EnvelopeRenderer, renderer_var, request_id_var

DRAIN_BYTES = 64 * 1024 * 1024
DRAIN_SECONDS = 10.0


class BodyTooLarge(HTTPException):
    """The request body is larger than `flyer_max_body_size` (HTTP 413)."""

    def __init__(self, limit: int, close: bool = False) -> None:
        headers = {"Connection": "close"} if close else None
        super().__init__(413, f"the request body is larger than {limit} bytes", headers)


class BodyLimitMiddleware:
    """Refuses a request body larger than `max_body_size` bytes. A declared length over the
    limit is answered before the app runs; a chunked body raises `BodyTooLarge` (answered by
    the app's handlers) when it grows past the limit. A declared length is delivered exactly
    (the server's parser stops there), so only a chunked body is counted while it streams."""

    def __init__(
        self, app: ASGIApp, max_body_size: int, renderer: Optional[EnvelopeRenderer] = None
    ) -> None:
        self.app = app
        self.max_body_size = max_body_size
        self.renderer = renderer if renderer is not None else EnvelopeRenderer()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        length: Optional[bytes] = None
        chunked = False
        for name, value in scope["headers"]:
            if name == b"content-length":
                length = value
            elif name == b"transfer-encoding":
                chunked = True
        limit = self.max_body_size
        if length is not None and _too_long(length, limit):
            await self._reject(scope, receive, send)
        elif chunked:
            await self.app(scope, _limited(receive, limit), send)
        else:
            await self.app(scope, receive, send)

    async def _reject(self, scope: Scope, receive: Receive, send: Send) -> None:
        """413 for a declared length over the limit: the answer goes out at once, then the
        body is read and dropped (bounded) before the connection closes, so the client reads
        the 413 instead of a reset."""
        detail = f"the request body is larger than {self.max_body_size} bytes"
        renderer = renderer_var.get() or self.renderer
        payload = renderer.render(413, "", detail, None, request_id_var.get() or "")
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(payload)).encode("ascii")),
                    (b"connection", b"close"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": payload, "more_body": True})
        if not any(n == b"expect" for n, _ in scope["headers"]):  # 100-continue: no body comes
            await drain(receive)
        await send({"type": "http.response.body", "body": b""})


def _too_long(length: bytes, limit: int) -> bool:
    try:
        return int(length) > limit
    except ValueError:
        return False


async def drain(receive: Receive) -> bool:
    """Read and drop the rest of a refused request body, at most `DRAIN_BYTES` within
    `DRAIN_SECONDS`: closing with unread data makes the kernel reset the connection, and the
    client loses the answer. True when the whole body was read."""

    async def read() -> bool:
        seen = 0
        while seen <= DRAIN_BYTES:
            message = await receive()
            if message["type"] != "http.request":
                return False
            seen += len(message.get("body", b""))
            if not message.get("more_body", False):
                return True
        return False

    try:
        return await asyncio.wait_for(read(), DRAIN_SECONDS)
    except asyncio.TimeoutError:
        return False


def _limited(receive: Receive, limit: int) -> Receive:
    seen = 0

    async def limited_receive() -> Message:
        nonlocal seen
        message = await receive()
        if message["type"] == "http.request":
            seen += len(message.get("body", b""))
            if seen > limit:
                # Read the rest first, so the client gets to read the 413; if it cannot be
                # read, the connection closes after the answer.
                if message.get("more_body", False) and not await drain(receive):
                    raise BodyTooLarge(limit, close=True)
                raise BodyTooLarge(limit)
        return message

    return limited_receive
