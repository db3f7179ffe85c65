"""flyer's request middleware: one pure-ASGI layer, outermost, so it sees every response.

Per HTTP request it takes a sane incoming `X-Request-ID` or makes one, puts it in
`flyer_status.request_id_var` and structlog's context, echoes it with `X-Process-Time`,
resolves the client behind trusted proxies only, enforces the body-size limit (413 in the
envelope, by `Content-Length` and while the body streams) and writes one access line.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import os
import re
from time import perf_counter
from typing import Any, Awaitable, Callable, FrozenSet, Iterable, List, Optional, Set, Tuple
from urllib.parse import urlsplit, urlunsplit

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from flyer_core._logging import access_logger, log_access
from flyer_core._settings import Network
from flyer_status import EnvelopeRenderer, preferred_language, renderer_var, request_id_var

_VALID_ID = re.compile(rb"^[A-Za-z0-9._~:+/=-]{1,128}$")
_INFO = logging.INFO


class BodyTooLarge(HTTPException):
    """The request body is larger than `flyer_max_body_size` (HTTP 413)."""

    def __init__(self, limit: int, close: bool = False) -> None:
        headers = {"Connection": "close"} if close else None
        super().__init__(413, f"the request body is larger than {limit} bytes", headers)


def new_request_id() -> str:
    """A fresh request id: 32 lower-case hex digits (128 bits from the operating system's
    random source, drawn per request, so no two processes, forked or not, share one)."""
    return os.urandom(16).hex()


_QUALIFIED = re.compile(r"^(?:[A-Za-z_][A-Za-z0-9_]*\.)+(?=[A-Za-z_][A-Za-z0-9_]*: )")


def _last_line(text: str) -> str:
    """The last line of a traceback, without the exception's module path."""
    lines = [line for line in str(text).strip().splitlines() if line.strip()]
    return _QUALIFIED.sub("", lines[-1].strip()) if lines else ""


def _negotiated(renderer: EnvelopeRenderer, headers: Any) -> EnvelopeRenderer:
    """`renderer` in the language the request's Accept-Language prefers (its own otherwise)."""
    for name, value in headers:
        if name == b"accept-language":
            language = preferred_language(value.decode("latin-1"))
            return renderer if language is None else renderer.localized(language)
    return renderer


class RequestMiddleware:
    """Request id, trusted client address, access log, X-Process-Time and body limit."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        access_log: bool = True,
        exclude: FrozenSet[str] = frozenset(),
        trusted_proxies: Tuple[Network, ...] = (),
        max_body_size: int = 0,
        renderer: Optional[EnvelopeRenderer] = None,
        negotiate_language: bool = False,
        liveness: Optional[ASGIApp] = None,
        liveness_paths: FrozenSet[str] = frozenset(),
        error_handler: Optional[Callable[[Request, Exception], Awaitable[Response]]] = None,
    ) -> None:
        self.app = app
        self.error_handler = error_handler
        self.liveness = liveness
        self.liveness_paths = liveness_paths
        self.access_log = access_log
        self.exclude = exclude
        self.trusted_proxies = trusted_proxies
        self.max_body_size = max_body_size
        self.renderer = renderer if renderer is not None else EnvelopeRenderer()
        # Plugins' routes find the app's renderer in `renderer_var`; the plain one they get
        # without it is the same unless there is an offset or another language.
        self.publish = bool(self.renderer.code_base) or self.renderer.lang != "en"
        self.negotiate_language = negotiate_language

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            if scope["type"] == "lifespan":
                await self._lifespan(scope, receive, send)
            else:
                await self._other(scope, receive, send)
            return
        start = perf_counter()
        incoming: Optional[bytes] = None
        length: Optional[bytes] = None
        chunked = False
        for name, value in scope["headers"]:
            if name == b"x-request-id":
                incoming = value
            elif name == b"content-length":
                length = value
            elif name == b"transfer-encoding":
                chunked = True
        if incoming is not None and _VALID_ID.match(incoming):
            request_id, raw_id = incoming.decode("ascii"), incoming
        else:
            request_id = os.urandom(16).hex()
            raw_id = request_id.encode("ascii")
        if self.trusted_proxies:
            self._from_proxy(scope)

        # Every log line of this request gets the id from this variable (see _logging).
        token = request_id_var.set(request_id)
        # The renderer of this request (its language, when negotiated) goes where handlers and
        # plugins' routes look; the default (no offset, English) costs nothing per request.
        renderer = self.renderer
        if self.negotiate_language:
            renderer = _negotiated(renderer, scope["headers"])
        renderer_token = (
            renderer_var.set(renderer) if self.publish or renderer is not self.renderer else None
        )
        id_header = (b"x-request-id", raw_id)
        status = 0

        # A plain function handing back `send`'s awaitable: one coroutine less per message.
        def send_with_headers(message: Message) -> Awaitable[None]:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message = dict(message)
                headers = message.get("headers", ())
                if 300 <= status < 400:
                    headers = _relative_locations(scope, headers)
                message["headers"] = [
                    *headers,
                    id_header,
                    (b"x-process-time", b"%.6f" % (perf_counter() - start)),
                ]
            return send(message)

        limit = self.max_body_size
        try:
            if limit and length is not None and _too_long(length, limit):
                await self._reject(scope, receive, send_with_headers, limit, request_id)
            elif (
                self.liveness is not None
                and scope["path"] in self.liveness_paths
                and scope["method"] in ("GET", "HEAD")
            ):
                # Probes skip routing and the framework's middleware: they cost almost nothing.
                await self.liveness(scope, receive, send_with_headers)
            else:
                if limit and chunked:
                    # A declared length is delivered exactly (the server's parser stops there);
                    # only a chunked body can grow past the limit while it streams.
                    receive = _limited(receive, limit)
                await self.app(scope, receive, send_with_headers)
        except Exception as exc:
            if self.error_handler is not None:
                # In place of Starlette's ServerErrorMiddleware: the 500 handler logs the error
                # and answers, unless the response had started.
                response = await self.error_handler(Request(scope), exc)
                if not status:
                    await response(scope, receive, send_with_headers)
            elif not status:
                raise
            # Otherwise ServerErrorMiddleware re-raised after calling flyer's handler (which
            # logged it) and sending its answer: once is enough.
        finally:
            if self.access_log and scope["path"] not in self.exclude:
                self._log(scope, status or 500, start, request_id)
            if renderer_token is not None:
                renderer_var.reset(renderer_token)
            request_id_var.reset(token)

    async def _reject(
        self, scope: Scope, receive: Receive, send: Send, limit: int, request_id: str
    ) -> None:
        """413 for a declared length over the limit: the answer goes out at once, then the
        body is read and dropped (bounded) before the connection closes, so the client reads
        the 413 instead of a reset."""
        payload = (renderer_var.get() or self.renderer).render(
            413, "", f"the request body is larger than {limit} bytes", None, request_id
        )
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

    def _from_proxy(self, scope: Scope) -> None:
        """`X-Forwarded-For` and `X-Forwarded-Proto`, believed only from a trusted peer (as
        uvicorn's proxy headers, with flyer_trusted_proxies as the trusted list)."""
        client = scope.get("client")
        if not client or not self._trusted(client[0]):
            return
        forwarded: List[bytes] = []
        proto: Optional[bytes] = None
        for name, value in scope["headers"]:
            if name == b"x-forwarded-for":
                forwarded.append(value)
            elif name == b"x-forwarded-proto":
                proto = value
        if proto is not None:
            scheme = proto.decode("latin-1").split(",")[-1].strip().lower()
            if scheme in ("http", "https"):
                scope["scheme"] = scheme
        if forwarded:
            self._resolve_client(scope, forwarded)

    def _resolve_client(self, scope: Scope, forwarded: List[bytes]) -> None:
        client = scope["client"]
        hops = [h.strip() for v in forwarded for h in v.decode("latin-1").split(",")]
        for hop in reversed(hops):
            if not hop:
                continue
            if not self._trusted(hop):
                scope["client"] = (hop, 0)
                return
        scope["client"] = (hops[0], 0) if hops and hops[0] else client

    def _trusted(self, host: str) -> bool:
        try:
            address = ipaddress.ip_address(host)
        except ValueError:
            return False
        return any(address in network for network in self.trusted_proxies)

    def _log(self, scope: Scope, status: int, start: float, request_id: str) -> None:
        if not access_logger.isEnabledFor(_INFO):
            return
        client = scope.get("client")
        log_access(
            scope["method"],
            scope["path"],
            status,
            (perf_counter() - start) * 1000,
            client[0] if client else "",
            request_id,
        )

    async def _lifespan(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def short_failures(message: Message) -> None:
            # Starlette reports a failed start-up with a whole traceback; the error was
            # logged already, so the server only needs its last line.
            if message["type"] in ("lifespan.startup.failed", "lifespan.shutdown.failed"):
                message = {**message, "message": _last_line(message.get("message", ""))}
            await send(message)

        await self.app(scope, receive, short_failures)

    async def _other(self, scope: Scope, receive: Receive, send: Send) -> None:
        request_id = new_request_id()
        for name, value in scope.get("headers", ()):
            if name == b"x-request-id" and _VALID_ID.match(value):
                request_id = value.decode("ascii")
        token = request_id_var.set(request_id)
        try:
            await self.app(scope, receive, send)
        finally:
            request_id_var.reset(token)


def _relative_locations(scope: Scope, headers: Iterable[Tuple[bytes, bytes]]) -> List[Any]:
    """The headers of a redirect with every `Location` that points back at this server made
    relative: a redirect is never built from the request's `Host` (which the client chose)
    nor carries the server's address or a scheme a TLS proxy in front does not use."""
    own = set()
    for name, value in scope["headers"]:
        if name == b"host":
            own.add(value.decode("latin-1").strip().lower())
    server = scope.get("server")
    if server:
        own.add(f"{server[0]}:{server[1]}".lower() if server[1] is not None else str(server[0]))
        own.add(str(server[0]).lower())
    out: List[Any] = []
    for name, value in headers:
        if name.lower() == b"location":
            value = _relative(value, own)
        out.append((name, value))
    return out


def _relative(location: bytes, own: Set[str]) -> bytes:
    parts = urlsplit(location.decode("latin-1"))
    if not parts.netloc or parts.netloc.lower() not in own:
        return location
    # "//host" or "/\host" would leave the site: one leading slash only.
    path = "/" + parts.path.lstrip("/\\")
    return urlunsplit(("", "", path, parts.query, parts.fragment)).encode("latin-1")


def _too_long(length: bytes, limit: int) -> bool:
    try:
        return int(length) > limit
    except ValueError:
        return False


DRAIN_BYTES = 64 * 1024 * 1024
DRAIN_SECONDS = 10.0


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
