"""Lifespan failures reported to the server in one line."""

from __future__ import annotations

import re

from starlette.types import ASGIApp, Message, Receive, Scope, Send

_QUALIFIED = re.compile(r"^(?:[A-Za-z_][A-Za-z0-9_]*\.)+(?=[A-Za-z_][A-Za-z0-9_]*: )")


def last_line(text: str) -> str:
    """The last line of a traceback, without the exception's module path."""
    lines = [line for line in str(text).strip().splitlines() if line.strip()]
    return _QUALIFIED.sub("", lines[-1].strip()) if lines else ""


class ShortLifespanFailuresMiddleware:
    """Starlette reports a failed start-up or shut-down with a whole traceback; flyer's
    lifespan has logged the error already, so the server is given only its last line."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "lifespan":
            await self.app(scope, receive, send)
            return

        async def short_failures(message: Message) -> None:
            if message["type"] in ("lifespan.startup.failed", "lifespan.shutdown.failed"):
                message = {**message, "message": last_line(message.get("message", ""))}
            await send(message)

        await self.app(scope, receive, short_failures)
