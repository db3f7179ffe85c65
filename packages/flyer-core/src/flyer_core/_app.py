"""`create_app`: business routers in, a production service out."""

from __future__ import annotations

from contextlib import asynccontextmanager, contextmanager
from typing import (
    Any,
    AsyncIterator,
    Callable,
    Dict,
    FrozenSet,
    Iterable,
    Iterator,
    List,
    Mapping,
    Optional,
    Sequence,
    Union,
)

from fastapi import Depends, FastAPI
from fastapi.responses import JSONResponse
from starlette.middleware.cors import CORSMiddleware
from starlette.middleware.errors import ServerErrorMiddleware
from starlette.requests import Request
from starlette.routing import BaseRoute, Route
from starlette.types import ASGIApp

from flyer_core._auth import AuthDependency, auth_dependencies, basic_auth
from flyer_core._discovery import discover_apps, enabled_apps
from flyer_core._docs import asset, docs_pages, html_endpoint, redirect_to
from flyer_core._fastpath import compile_routes, include_router_eagerly
from flyer_core._handlers import AUTH_RESPONSES, ERROR_RESPONSES, ErrorHandlers
from flyer_core._health import Liveness, ReadyData, ready
from flyer_core._logging import configure_logging, flush_access_lines, logger
from flyer_core._middleware import edge
from flyer_core._plugins import (
    LoadedPlugin,
    discover_plugins,
    given_plugins,
    plugin_names,
    setup_plugins,
    start_plugins,
    stop_plugins,
)
from flyer_core._route import FlyerRoute
from flyer_core._settings import DEFAULT_ENV_FILE, Settings, load_settings
from flyer_core._state import FlyerState
from flyer_status import EnvelopeRenderer, FlyerError
from flyer_status.schemas import DataResponse, ErrorResponse

Lifespan = Callable[[Any], Any]


class _FlyerFastAPI(FastAPI):
    """FastAPI with flyer's request middleware outside everything else.

    Outermost, it is the error boundary in place of Starlette's ServerErrorMiddleware (kept
    with `debug=True`), so even an unhandled error gets the envelope, its request id,
    X-Process-Time and access line.
    """

    flyer_request_options: Mapping[str, Any] = {}
    flyer_routes: Sequence[BaseRoute] = ()
    flyer_fast_routes = False
    flyer_probe_paths: FrozenSet[str] = frozenset()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Values plugins build on first use (`app.state.flyer_lazy`), not at start-up.
        self.state = FlyerState()

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http" and scope["path"] in self.flyer_probe_paths:
            # A liveness probe goes straight to the middleware stack, as Starlette sends every
            # request, without FastAPI's per-request check for its native telemetry (which
            # does not record probes, as flyer's metrics do not): about 1 µs of a 9 µs probe.
            if self.root_path:
                scope["root_path"] = self.root_path
            scope["app"] = self
            if self.middleware_stack is None:
                self.middleware_stack = self.build_middleware_stack()
            await self.middleware_stack(scope, receive, send)
            return
        await super().__call__(scope, receive, send)

    def include_router(self, router: Any, **kwargs: Any) -> None:
        # With compiled routes on, a router's routes come in as concrete routes (see
        # _fastpath.include_router_eagerly), which can be compiled; otherwise FastAPI's own.
        if self.flyer_fast_routes and include_router_eagerly(self.router, router, **kwargs):
            return
        super().include_router(router, **kwargs)

    def build_middleware_stack(self) -> ASGIApp:
        """FastAPI's stack inside flyer's middleware (`_middleware.edge`), built on the first
        request, once every route is in. The one place flyer changes what FastAPI built, each
        change measured worth it (`bench/core.py --in-process-only`, a `DataResponse` route):

        - flyer's own routes (liveness, readiness, docs, "/") move behind the business
          routes, which then match first: 36.3 -> 28.5 µs per request;
        - Starlette's ServerErrorMiddleware is left out when flyer's error boundary calls the
          same 500 handler (not with `debug=True`): 32.5 -> 28.5 µs;
        - with `flyer_fast_routes`, ordinary routes get compiled handlers (`_fastpath`).
        """
        own = set(map(id, self.flyer_routes))
        routes = self.router.routes
        routes[:] = [r for r in routes if id(r) not in own] + [r for r in routes if id(r) in own]
        if self.flyer_fast_routes:
            compile_routes(routes)
        stack = super().build_middleware_stack()
        options = dict(self.flyer_request_options)
        if type(stack) is ServerErrorMiddleware and stack.handler is not None and not stack.debug:
            # flyer's middleware is already the outermost error boundary: it calls the 500
            # handler itself, and the request goes through one layer less.
            options["error_handler"] = stack.handler
            stack = stack.app
        return edge(stack, **options)


def _lifespan(user_lifespan: Optional[Lifespan]) -> Lifespan:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[Any]:
        plugins: List[LoadedPlugin] = app.state.flyer_plugins
        timeout = max(float(app.state.flyer_settings.graceful_timeout), 1.0)
        await start_plugins(plugins, timeout)  # a failure is logged and raised as one line
        try:
            if user_lifespan is None:
                logger.info("app started", plugins=plugin_names(plugins))
                yield None
            else:
                async with user_lifespan(app) as state:
                    logger.info("app started", plugins=plugin_names(plugins))
                    yield state
        except Exception as exc:
            # The server only shows the last line of a failed lifespan: the traceback goes here.
            logger.error("app lifespan failed", error=type(exc).__name__, exc_info=exc)
            raise
        finally:
            await stop_plugins(plugins, timeout)
            logger.info("app stopped")
            flush_access_lines()

    return lifespan


def create_app(
    apps: Optional[str] = "app",
    settings: Optional[Settings] = None,
    *,
    plugins: Optional[Iterable[Any]] = None,
    env_file: Optional[str] = DEFAULT_ENV_FILE,
    **fastapi_kwargs: Any,
) -> FastAPI:
    """Build the app: settings, logging, middleware, error envelope, built-in routes,
    plugins and every business router found under the `apps` package.

    `apps=None` discovers nothing (add routers yourself). `plugins=None` loads the installed
    `flyer.plugins` entry points; pass a list of plugin objects to choose them. Other keyword
    arguments go to `FastAPI(...)`. Raises `SettingsError` or `StartupError` (one line).
    """
    if settings is None:
        settings = load_settings(env_file)
    configure_logging(settings)
    base = settings.base_url
    auth = basic_auth(settings)

    kwargs: Dict[str, Any] = {
        "title": "flyer",
        "version": settings.version,
        "docs_url": None,
        "redoc_url": None,
        "openapi_url": None,
        "redirect_slashes": True,
    }
    kwargs.update(fastapi_kwargs)
    kwargs["responses"] = {**ERROR_RESPONSES, **(fastapi_kwargs.get("responses") or {})}
    kwargs["lifespan"] = _lifespan(fastapi_kwargs.get("lifespan"))
    # The one envelope renderer of this app: flyer_status_code_base is applied there only.
    renderer = EnvelopeRenderer(settings.status_code_base, settings.lang)
    app = _FlyerFastAPI(**kwargs)
    # The error envelope documented on every route is built once per model (see _route).
    app.router.route_class = FlyerRoute
    app.flyer_fast_routes = settings.fast_routes
    app.flyer_request_options = {
        "access_log": settings.access_log,
        "exclude": settings.access_log_excluded,
        "trusted_proxies": settings.trusted_proxy_networks,
        "max_body_size": settings.max_body_size,
        "renderer": renderer,
        "negotiate_language": settings.lang_negotiate,
    }
    app.state.flyer_settings = settings
    app.state.flyer_auth = auth
    app.state.flyer_envelope = renderer
    ErrorHandlers(renderer).install(app)

    # Liveness first in the route table: probes match on the first comparison.
    # Liveness is answered by the request middleware before routing; the routes stay for
    # other methods (405) and for anything that walks the route table.
    liveness = Liveness()
    liveness_paths = ("/health_check", "/health_check/async", f"{base}/health_check")
    app.router.routes[0:0] = [
        Route(path, liveness, methods=["GET", "HEAD"], include_in_schema=False)
        for path in liveness_paths
    ]
    app.flyer_request_options = {
        **app.flyer_request_options,
        "liveness": liveness,
        "liveness_paths": frozenset(liveness_paths),
    }
    app.flyer_probe_paths = frozenset(liveness_paths)
    app.add_api_route(
        f"{base}/ready",
        ready,
        methods=["GET"],
        tags=["flyer"],
        summary="Readiness: every plugin's check",
        response_model=None,
        responses={
            200: {"model": DataResponse[ReadyData], "description": "Ready"},
            503: {"model": ErrorResponse, "description": "Not ready: the failing checks named"},
        },
    )
    _add_docs(app, settings, auth)
    app.flyer_routes = list(app.router.routes)  # all flyer's so far

    if settings.cors_origin_list:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origin_list,
            allow_credentials=settings.cors_allow_credentials,
            allow_methods=[m.strip() for m in settings.cors_allow_methods.split(",") if m.strip()],
            allow_headers=[h.strip() for h in settings.cors_allow_headers.split(",") if h.strip()],
            expose_headers=["X-Request-ID", "X-Process-Time"],
        )

    loaded = discover_plugins() if plugins is None else given_plugins(plugins)
    app.state.flyer_plugins = loaded
    guard_responses = AUTH_RESPONSES if auth is not None else MANAGEMENT_RESPONSES
    with _guarded_routes(app, management_guard(settings, auth), guard_responses):
        setup_plugins(loaded, app, settings)

    # Every enabled app package, for plugins that read their own exports from them at start-up.
    app.state.flyer_app_modules = [] if apps is None else enabled_apps(apps)
    if apps is not None:
        for found in discover_apps(apps, app.state.flyer_app_modules):
            protected = auth is not None and found.auth
            app.include_router(
                found.router,
                prefix=base,
                dependencies=auth_dependencies(auth) if protected else None,
                responses=AUTH_RESPONSES if protected else None,
            )
            logger.debug("app mounted", app=found.name, prefix=base, auth=protected)
    return app


MANAGEMENT_RESPONSES: Dict[Union[int, str], Dict[str, Any]] = {
    403: {"model": ErrorResponse, "description": "Management routes are refused with auth off"},
}
MANAGEMENT_REFUSED = (
    "management routes need auth: set flyer_auth_enable=1 with flyer_auth_user and "
    "flyer_auth_pass, or flyer_management_open_without_auth=1 to serve them to anyone"
)


def management_guard(settings: Settings, auth: Optional[AuthDependency]) -> Optional[Any]:
    """The dependency every route a plugin mounts gets: flyer's Basic auth when it is on;
    with auth off, a refusal (403), unless `flyer_management_open_without_auth` is set."""
    if auth is not None:
        return auth
    if settings.management_open_without_auth:
        return None

    async def management_refused() -> None:
        raise FlyerError(403, "Forbidden", MANAGEMENT_REFUSED)

    return management_refused


@contextmanager
def _guarded_routes(
    app: FastAPI, guard: Optional[Any], responses: Mapping[Union[int, str], Any]
) -> Iterator[None]:
    """While plugins set up, every API route they add (`include_router`, `add_api_route`,
    `@app.get` ...) gets `guard` as a dependency: plugins mount management routes, and core,
    not each plugin, decides who may call them."""
    if guard is None:
        yield
        return
    router = app.router
    include_router, add_api_route = router.include_router, router.add_api_route
    guarded = [Depends(guard)]

    def guard_kwargs(kwargs: Dict[str, Any]) -> Dict[str, Any]:
        kwargs["dependencies"] = [*guarded, *(kwargs.get("dependencies") or ())]
        kwargs["responses"] = {**responses, **(kwargs.get("responses") or {})}
        return kwargs

    def guarded_include(*args: Any, **kwargs: Any) -> Any:
        return include_router(*args, **guard_kwargs(kwargs))

    def guarded_add(*args: Any, **kwargs: Any) -> Any:
        return add_api_route(*args, **guard_kwargs(kwargs))

    router.include_router = guarded_include  # type: ignore[method-assign]
    router.add_api_route = guarded_add  # type: ignore[method-assign]
    try:
        yield
    finally:
        del router.include_router
        del router.add_api_route


def _add_docs(app: FastAPI, settings: Settings, auth: Any) -> None:
    base = settings.base_url
    if not settings.openapi_enabled:
        return

    def add(path: str, endpoint: Any, guarded: bool = True) -> None:
        # Behind auth, a FastAPI route runs the auth dependency; without auth these need
        # nothing of FastAPI's (no parameter, no schema): a plain route, cheaper to build.
        if guarded and auth is not None:
            app.add_api_route(
                path, endpoint, include_in_schema=False, dependencies=auth_dependencies(auth)
            )
        else:
            app.add_route(path, endpoint, methods=["GET"], include_in_schema=False)

    async def openapi(request: Request) -> JSONResponse:
        return JSONResponse(request.app.openapi())

    add(f"{base}/openapi.json", openapi)
    if not settings.docs_enabled:
        return
    swagger, redoc = docs_pages(str(app.title))
    add(f"{base}/docs", html_endpoint(swagger))
    add(f"{base}/redoc", html_endpoint(redoc))
    add(f"{base}/static/{{name}}", asset)
    add("/", redirect_to(f"{base}/docs"), guarded=False)
