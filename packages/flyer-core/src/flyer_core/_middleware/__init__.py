"""flyer's request middleware: small pure-ASGI layers, composed in `RequestMiddleware`
outside the framework's whole stack, so they see every response.

HTTP requests pass, outermost first: the request id, `X-Process-Time` and access line; the
client behind trusted proxies; the request's envelope renderer; the body-size limit; the
error boundary with the liveness shortcut and relative redirects. Layers a configuration does
not need (no trusted proxies, the plain renderer, no body limit) are left out. The lifespan
gets one-line failure messages; a WebSocket gets a request id.
"""

from __future__ import annotations

from typing import AbstractSet, Any, Dict, List, Optional, Tuple

from starlette.types import ASGIApp, Receive, Scope, Send

from flyer_core._middleware.body_limit import BodyLimitMiddleware, BodyTooLarge, drain
from flyer_core._middleware.boundary import ErrorBoundaryMiddleware, ErrorHandler
from flyer_core._middleware.envelope import EnvelopeMiddleware, is_plain
from flyer_core._middleware.lifespan import ShortLifespanFailuresMiddleware
from flyer_core._middleware.proxy_headers import TrustedProxyMiddleware
from flyer_core._middleware.request_log import RequestLogMiddleware, new_request_id
from flyer_core._settings import Network
from flyer_status import EnvelopeRenderer

__all__ = ["BodyTooLarge", "RequestMiddleware", "drain", "new_request_id"]


class RequestMiddleware:
    """flyer's layers around `app` (the framework's stack), built once from the app's
    settings: the one place that says which layers run and in what order."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        access_log: bool = True,
        exclude: AbstractSet[str] = frozenset(),
        trusted_proxies: Tuple[Network, ...] = (),
        max_body_size: int = 0,
        renderer: Optional[EnvelopeRenderer] = None,
        negotiate_language: bool = False,
        liveness: Optional[ASGIApp] = None,
        liveness_paths: AbstractSet[str] = frozenset(),
        error_handler: Optional[ErrorHandler] = None,
    ) -> None:
        self.app = app
        self.error_handler = error_handler
        renderer = renderer if renderer is not None else EnvelopeRenderer()
        # Outermost first, as (class, keyword arguments): Starlette's middleware list.
        layers: List[Tuple[Any, Dict[str, Any]]] = [
            (RequestLogMiddleware, {"access_log": access_log, "exclude": exclude}),
        ]
        if trusted_proxies:
            layers.append((TrustedProxyMiddleware, {"trusted_proxies": trusted_proxies}))
        if negotiate_language or not is_plain(renderer):
            options = {"renderer": renderer, "negotiate_language": negotiate_language}
            layers.append((EnvelopeMiddleware, options))
        if max_body_size:
            options = {"max_body_size": max_body_size, "renderer": renderer}
            layers.append((BodyLimitMiddleware, options))
        boundary = {
            "error_handler": error_handler,
            "liveness": liveness,
            "liveness_paths": liveness_paths,
        }
        layers.append((ErrorBoundaryMiddleware, boundary))
        stack = app
        for cls, options in reversed(layers):
            stack = cls(stack, **options)
        self.http = stack
        self.lifespan = ShortLifespanFailuresMiddleware(app)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self.lifespan(scope, receive, send)
        else:
            await self.http(scope, receive, send)
