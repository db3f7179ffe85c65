"""flyer's request middleware: small pure-ASGI layers, one concern each, outside FastAPI's
stack so they see every response. `edge` puts them together, in one place.
"""

from __future__ import annotations

import asyncio
import ipaddress
import os
import re
from time import perf_counter
from typing import Any, Awaitable, Callable, FrozenSet, Iterable, List, Optional, Set, Tuple
from urllib.parse import urlsplit, urlunsplit

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from flyer_core._logging import log_request
from flyer_core._settings import Network
from flyer_status import EnvelopeRenderer, preferred_language, renderer_var, request_id_var

_VALID_ID = re.compile(rb"^[A-Za-z0-9._~:+/=-]{1,128}$")


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


def edge(
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
) -> ASGIApp:
    """flyer's middleware around `app` (FastAPI's built stack), in the one place they are
    put together. Outermost first, each one concern; a layer whose setting is off is left out:

    1. `ProxyHeaders`: client and scheme from trusted proxies (with `flyer_trusted_proxies`).
    2. `RequestId`: the request id, in the context of the request and in `X-Request-ID`;
       `X-Process-Time`, and the access line (with `flyer_access_log`): what every request
       gets at its start and end, in the one coroutine of the request that ends after it.
    3. `Language`: the envelope renderer of the request (an offset, another language).
    4. `ErrorBoundary`: the 500 envelope for any error, in place of Starlette's
       ServerErrorMiddleware; liveness probes are answered here, before routing.
    5. `RelativeRedirects`: a redirect back to this server never names a host.
    6. `BodyLimit`: the 413 envelope for a body over `flyer_max_body_size`.
    7. `LifespanMessages`: a failed start-up or shutdown reported in one line.

    A layer with nothing to do after the request hands back the inner app's awaitable
    instead of awaiting it (no coroutine of its own); one that adds a header or watches the
    status wraps `send` in a plain function. Liveness probes pass three layers (five with
    proxies and a renderer to publish).
    """
    renderer = renderer if renderer is not None else EnvelopeRenderer()
    app = LifespanMessages(app)
    if max_body_size:
        app = BodyLimit(app, max_body_size, renderer)
    app = RelativeRedirects(app)
    app = ErrorBoundary(app, error_handler, liveness, liveness_paths)
    # Plugins' routes find the app's renderer in `renderer_var`; the plain one they get
    # without it is the same unless there is an offset or another language.
    if negotiate_language or renderer.code_base or renderer.lang != "en":
        app = Language(app, renderer, negotiate_language)
    app = RequestId(app, access_log=access_log, exclude=exclude)
    if trusted_proxies:
        app = ProxyHeaders(app, trusted_proxies)
    return app


class LifespanMessages:
    """A failed lifespan start-up or shutdown reported with the error's last line: the
    traceback was logged already, and servers print the whole message."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    def __call__(self, scope: Scope, receive: Receive, send: Send) -> Awaitable[None]:
        if scope["type"] != "lifespan":
            return self.app(scope, receive, send)
        return self._lifespan(scope, receive, send)

    async def _lifespan(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def short_failures(message: Message) -> None:
            if message["type"] in ("lifespan.startup.failed", "lifespan.shutdown.failed"):
                message = {**message, "message": _last_line(message.get("message", ""))}
            await send(message)

        await self.app(scope, receive, short_failures)


class ProxyHeaders:
    """`X-Forwarded-For` and `X-Forwarded-Proto`, believed only from a trusted peer (as
    uvicorn's proxy headers, with `flyer_trusted_proxies` as the trusted list)."""

    def __init__(self, app: ASGIApp, trusted_proxies: Tuple[Network, ...]) -> None:
        self.app = app
        self.trusted_proxies = trusted_proxies

    def __call__(self, scope: Scope, receive: Receive, send: Send) -> Awaitable[None]:
        if scope["type"] == "http":
            self._from_proxy(scope)
        return self.app(scope, receive, send)

    def _from_proxy(self, scope: Scope) -> None:
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


class RequestId:
    """A sane incoming `X-Request-ID` is kept, anything else replaced by a fresh id; the id
    is in `request_id_var` (every log line of the request, the envelope) while the request
    runs, and in the response's `X-Request-ID`. WebSocket connections get one too.

    Every HTTP answer gets `X-Process-Time` (seconds from here until the response starts),
    and with `access_log` the request's access line (`flyer.access`, INFO: `log_request`)
    when it ends, unless its path is in `exclude`."""

    def __init__(
        self, app: ASGIApp, *, access_log: bool = False, exclude: FrozenSet[str] = frozenset()
    ) -> None:
        self.app = app
        self.access_log = access_log
        self.exclude = exclude

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind == "lifespan":
            await self.app(scope, receive, send)
            return
        start = perf_counter()
        incoming: Optional[bytes] = None
        for name, value in scope["headers"]:
            if name == b"x-request-id":
                incoming = value  # the last one, as before
        if incoming is not None and _VALID_ID.match(incoming):
            request_id, raw_id = incoming.decode("ascii"), incoming
        else:
            request_id = os.urandom(16).hex()
            raw_id = request_id.encode("ascii")
        token = request_id_var.set(request_id)
        try:
            if kind != "http":
                await self.app(scope, receive, send)
                return
            id_header = (b"x-request-id", raw_id)
            status = 0

            # A plain function handing back `send`'s awaitable: one coroutine less per message.
            def send_with_id(message: Message) -> Awaitable[None]:
                nonlocal status
                if message["type"] == "http.response.start":
                    status = message["status"]
                    elapsed = (b"x-process-time", b"%.6f" % (perf_counter() - start))
                    # A new header list (the app's may be a response's own), same message.
                    message["headers"] = [*message.get("headers", ()), elapsed, id_header]
                return send(message)

            if not self.access_log or scope["path"] in self.exclude:
                await self.app(scope, receive, send_with_id)
                return
            try:
                await self.app(scope, receive, send_with_id)
            finally:
                log_request(scope, status or 500, start)
        finally:
            request_id_var.reset(token)


class Language:
    """The envelope renderer of the request in `renderer_var`: the app's (with its code
    offset and language), or, with `flyer_lang_negotiate`, the one `Accept-Language` prefers."""

    def __init__(self, app: ASGIApp, renderer: EnvelopeRenderer, negotiate: bool) -> None:
        self.app = app
        self.renderer = renderer
        self.negotiate = negotiate

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        renderer = self.renderer
        if self.negotiate:
            renderer = _negotiated(renderer, scope["headers"])
        token = renderer_var.set(renderer)
        try:
            await self.app(scope, receive, send)
        finally:
            renderer_var.reset(token)


class ErrorBoundary:
    """The outermost error handler: an error the framework did not answer gets the 500
    envelope from `error_handler` (in place of Starlette's ServerErrorMiddleware, which
    `debug=True` keeps: then the error goes on to it). Liveness probes (`GET`/`HEAD` on
    `liveness_paths`) are answered here, before routing and the framework's middleware."""

    def __init__(
        self,
        app: ASGIApp,
        error_handler: Optional[Callable[[Request, Exception], Awaitable[Response]]] = None,
        liveness: Optional[ASGIApp] = None,
        liveness_paths: FrozenSet[str] = frozenset(),
    ) -> None:
        self.app = app
        self.error_handler = error_handler
        self.liveness = liveness
        self.liveness_paths = liveness_paths

    def __call__(self, scope: Scope, receive: Receive, send: Send) -> Awaitable[None]:
        if scope["type"] != "http":
            return self.app(scope, receive, send)
        if (
            self.liveness is not None
            and scope["path"] in self.liveness_paths
            and scope["method"] in ("GET", "HEAD")
        ):
            return self.liveness(scope, receive, send)
        return self._guarded(scope, receive, send)

    async def _guarded(self, scope: Scope, receive: Receive, send: Send) -> None:
        started = False

        def watching(message: Message) -> Awaitable[None]:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            return send(message)

        try:
            await self.app(scope, receive, watching)
        except Exception as exc:
            if self.error_handler is None:
                if not started:
                    raise
                return  # ServerErrorMiddleware (debug) answered and re-raised: logged once
            # flyer's 500 handler logs the error and answers, unless the response had started.
            response = await self.error_handler(Request(scope), exc)
            if not started:
                await response(scope, receive, send)


class RelativeRedirects:
    """A 3xx `Location` pointing back at this server made relative (see
    `_relative_locations`)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    def __call__(self, scope: Scope, receive: Receive, send: Send) -> Awaitable[None]:
        if scope["type"] != "http":
            return self.app(scope, receive, send)

        def relative(message: Message) -> Awaitable[None]:
            if message["type"] == "http.response.start" and 300 <= message["status"] < 400:
                message["headers"] = _relative_locations(scope, message.get("headers", ()))
            return send(message)

        return self.app(scope, receive, relative)


class BodyLimit:
    """A request body over `limit` bytes: a declared `Content-Length` over it is answered
    413 in the envelope at once (the body then read and dropped, bounded, so the client
    reads the answer instead of a reset); a chunked body raises `BodyTooLarge` (413) when it
    passes the limit as it streams."""

    def __init__(self, app: ASGIApp, limit: int, renderer: EnvelopeRenderer) -> None:
        self.app = app
        self.limit = limit
        self.renderer = renderer

    def __call__(self, scope: Scope, receive: Receive, send: Send) -> Awaitable[None]:
        if scope["type"] != "http":
            return self.app(scope, receive, send)
        length: Optional[bytes] = None
        chunked = False
        for name, value in scope["headers"]:
            if name == b"content-length":
                length = value
            elif name == b"transfer-encoding":
                chunked = True
        limit = self.limit
        if length is not None and _too_long(length, limit):
            return self._reject(scope, receive, send)
        if chunked:
            # A declared length is delivered exactly (the server's parser stops there);
            # only a chunked body can grow past the limit while it streams.
            receive = _limited(receive, limit)
        return self.app(scope, receive, send)

    async def _reject(self, scope: Scope, receive: Receive, send: Send) -> None:
        limit = self.limit
        payload = (renderer_var.get() or self.renderer).render(
            413,
            "",
            f"the request body is larger than {limit} bytes",
            None,
            request_id_var.get() or "",
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
