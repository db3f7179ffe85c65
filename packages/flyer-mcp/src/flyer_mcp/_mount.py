"""Mounting the MCP endpoint at `{base}/mcp` behind the app's own auth dependency."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable, Dict, List, Optional, Sequence, Tuple
from urllib.parse import urlsplit

from fastapi import Depends, FastAPI
from fastapi.openapi.utils import get_openapi
from fastapi.routing import APIRoute
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute
from starlette.types import ASGIApp, Receive, Scope, Send

from flyer_status import FlyerError, request_id_var

if TYPE_CHECKING:
    from flyer_mcp._server import McpEndpoint

# The operations of an OpenAPI path item.
OPENAPI_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")

REQUEST_ID_KEY = "flyer.request_id"
NOT_RUNNING = "the MCP endpoint is not running: the app's lifespan has not started it"


class _Forward(Response):
    """A response that lets an ASGI app answer the request itself (the SDK's transport)."""

    def __init__(self, asgi: ASGIApp) -> None:
        super().__init__()
        self.asgi = asgi

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.asgi(scope, receive, send)


def app_settings(app: FastAPI) -> Any:
    """flyer-core's settings of `app` (None for an app flyer did not build)."""
    return getattr(app.state, "flyer_settings", None)


def app_environ(app: FastAPI) -> Optional[Dict[str, str]]:
    """The `.env` + environment variables flyer read for `app` (None: use `os.environ`)."""
    environ = getattr(app_settings(app), "environ", None)
    return dict(environ) if environ is not None else None


def app_base(app: FastAPI, environ: Optional[Dict[str, str]]) -> str:
    """`flyer_base_url` of `app` (its settings, else the variable, else `/flyer`)."""
    base = getattr(app_settings(app), "base_url", None)
    if base is None:
        base = (environ or {}).get("flyer_base_url", "/flyer")
    return "/" + str(base).strip("/") if str(base).strip("/") else ""


def operation_keys(
    app: FastAPI, routes: Optional[Sequence[BaseRoute]] = None
) -> List[Tuple[str, str]]:
    """`(METHOD, path)` of every operation of `routes` (by default the routes `app` has now),
    as an OpenAPI document of them has it (built afresh: `app.openapi()` would cache a
    document without the routers still to come)."""
    routes = list(app.routes if routes is None else routes)
    spec = get_openapi(title=str(app.title), version=str(app.version), routes=routes)
    return [
        (method.upper(), path)
        for path, item in (spec.get("paths") or {}).items()
        for method in item
        if method in OPENAPI_METHODS
    ]


def origin_allowed(origin: str, host: Optional[str], allowed: List[str]) -> bool:
    """Whether a browser page from `origin` may call the MCP endpoint at `host`.

    MCP servers must check `Origin` (DNS rebinding): a page may call its own origin's server
    and, as with CORS, the origins of `flyer_cors_origins` (`*`: any).
    """
    if "*" in allowed or origin in allowed:
        return True
    return host is not None and urlsplit(origin).netloc.lower() == host.lower()


def mount(app: FastAPI, endpoint: McpEndpoint) -> None:
    """Serve `endpoint` at its path with the app's auth (flyer's Basic auth when it is on);
    a browser request from another origin is refused (403). Mounted again, the route moves.

    The route is added to the route table directly: routes a plugin adds through FastAPI's
    router get flyer's management guard, and the tools are the app's API, not management.
    """
    auth: Optional[Callable[..., Any]] = getattr(app.state, "flyer_auth", None)
    allowed = list(getattr(app_settings(app), "cors_origin_list", None) or ())

    async def mcp_endpoint(request: Request) -> Response:
        origin = request.headers.get("origin")
        if origin is not None and not origin_allowed(origin, request.headers.get("host"), allowed):
            raise FlyerError(
                403,
                "Forbidden",
                f"origin {origin!r} may not call {endpoint.path}: only the server's own origin "
                "and those in flyer_cors_origins may",
            )
        if not endpoint.running:
            raise FlyerError(503, "Service Unavailable", NOT_RUNNING)
        # The MCP server answers in a task of its own: the request id travels in the scope.
        request.scope[REQUEST_ID_KEY] = request_id_var.get()
        return _Forward(endpoint.handle)

    route = APIRoute(
        endpoint.path,
        mcp_endpoint,
        methods=["GET", "POST", "DELETE"],
        include_in_schema=False,
        dependencies=[Depends(auth)] if auth is not None else None,
        name="flyer_mcp",
    )
    routes = app.router.routes
    previous = getattr(app.state, "flyer_mcp_route", None)
    if previous is not None and previous in routes:
        routes[routes.index(previous)] = route  # mounted again at another path
    else:
        routes.append(route)
    app.state.flyer_mcp = endpoint
    app.state.flyer_mcp_route = route
