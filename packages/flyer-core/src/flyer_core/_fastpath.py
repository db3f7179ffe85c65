"""Compiled handlers for ordinary routes: FastAPI's answer, without FastAPI's per-request work.

For each route FastAPI builds one handler that, per request, wraps the request in a `Request`
and two exit stacks, solves the dependency tree, looks each parameter up through generic
helpers and builds the response. For the most common route shape most of that is the same on
every request, so `compile_routes` works it out once, when the app serves its first request,
and gives the route an ASGI app that does only what is left:

- validate the path and query values with the route's own fields (`field.validate`),
- read and validate a JSON body with FastAPI's `request_body_to_args`,
- call the endpoint (coroutine or threadpool, as FastAPI does),
- serialize the return value with FastAPI's own `serialize_response` and answer.

The answer is FastAPI's by construction: the same validator, serializer and response class,
and every request the compiled app is not sure about (a validation error, a missing value, a
body that is not plain JSON, FastAPI's own telemetry on) goes to the route's FastAPI handler
unchanged, the body it had already read replayed. Routes of any other shape (dependencies,
`Request`/`Response`/`BackgroundTasks` parameters, headers and cookies, forms, streaming,
custom response or route classes, per-route body limits) keep FastAPI's handler; a debug line
says which and why. `flyer_fast_routes=0` turns it off.

FastAPI 0.16x includes routers lazily, in structures of its own; `include_router_eagerly`
includes a router the way FastAPI long did (one route per path operation, from public
attributes only) so that its routes are concrete and can be compiled.
"""

from __future__ import annotations

import copy
import functools
import inspect
import json
import logging
import sys
import uuid
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple, Union, get_origin

import fastapi
from fastapi import params
from fastapi.datastructures import Default, DefaultPlaceholder
from fastapi.dependencies.utils import request_body_to_args
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute, APIWebSocketRoute, serialize_response
from fastapi.utils import generate_unique_id, get_value_or_default, is_body_allowed_for_status_code
from starlette import routing
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import QueryParams
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from flyer_core._route import FlyerRoute

logger = logging.getLogger("flyer.routes")

# FastAPI's route class and flyer's (the same route, its documented models' fields shared).
_CONCRETE = (APIRoute, FlyerRoute)

# A dependency with this attribute is a check a compiled route can run itself: the attribute is
# a function of the ASGI scope that returns when the dependency would return None and raises
# what it would raise (flyer's Basic auth has one).
SCOPE_CHECK = "flyer_scope_check"

# Parameter types whose value is one string (or a Starlette-converted path value).
_SCALARS = (int, str, float, bool, uuid.UUID)
_UNIONS: Tuple[Any, ...] = (Union,)
if sys.version_info >= (3, 10):
    import types

    _UNIONS = (Union, types.UnionType)

try:  # FastAPI's telemetry (0.16x): a request it instruments is served by FastAPI itself
    from fastapi.telemetry import get_telemetry_data as telemetry_data
except ImportError:  # pragma: no cover - older FastAPI has none
    telemetry_data = None  # type: ignore[assignment]


@functools.lru_cache(maxsize=None)
def unsupported_reason() -> Optional[str]:
    """Why this FastAPI cannot have compiled routes, or None when it can: the compiled app
    mirrors the handler of a FastAPI that serializes a response model straight to JSON bytes."""
    try:
        parameters = inspect.signature(serialize_response).parameters
    except (TypeError, ValueError):  # pragma: no cover
        return "FastAPI's serialize_response cannot be inspected"
    if "dump_json" not in parameters or "endpoint_ctx" not in parameters:
        return f"FastAPI {fastapi.__version__} predates JSON-bytes response serialization"
    return None


def _route_reason(route: APIRoute) -> Optional[str]:
    """Why `route` keeps FastAPI's handler, or None when it can be compiled."""
    dependant = route.dependant
    if _scope_checks(dependant) is None:
        return "dependencies"
    for name in (
        "request_param_name",
        "websocket_param_name",
        "http_connection_param_name",
        "response_param_name",
        "background_tasks_param_name",
        "security_scopes_param_name",
    ):
        if getattr(dependant, name, None):
            return f"a {name[: -len('_param_name')].replace('_', ' ')} parameter"
    if dependant.header_params or dependant.cookie_params:
        return "header or cookie parameters"
    for field in [*dependant.path_params, *dependant.query_params]:
        if not _scalar(field):
            return f"parameter {field.name!r} is not a single scalar value"
    if len(dependant.body_params) > 1:
        return "more than one body parameter"
    if dependant.body_params:
        info = dependant.body_params[0].field_info
        if type(info) is not params.Body or getattr(info, "embed", False):
            return "a form, file or embedded body"
    for name in ("max_body_size", "stream_item_field"):
        if getattr(route, name, None) is not None:
            return name.replace("_", " ")
    if getattr(route, "is_json_stream", False) or getattr(route, "is_sse_stream", False):
        return "a streaming response"
    call = dependant.call
    if not (inspect.isfunction(call) or inspect.ismethod(call)):
        return "the endpoint is not a function"
    if inspect.isgeneratorfunction(call) or inspect.isasyncgenfunction(call):
        return "a generator endpoint"
    if _response_class(route) is not JSONResponse:
        return "a custom response class"
    return None


def _scope_checks(dependant: Any) -> Optional[List[Callable[[Scope], None]]]:
    """The scope checks that stand for all of `dependant`'s dependencies, or None when any
    dependency is not one (then FastAPI solves them)."""
    checks = []
    for sub in dependant.dependencies:
        check = getattr(sub.call, SCOPE_CHECK, None)
        if check is None or sub.name is not None:  # a value the endpoint would receive
            return None
        checks.append(check)
    return checks


def _scalar(field: Any) -> bool:
    info = field.field_info
    if getattr(info, "validation_alias", None) is not None:
        return False
    annotation = info.annotation
    if annotation in _SCALARS:
        return True
    if get_origin(annotation) not in _UNIONS:  # Optional[int] and int | None only
        return False
    args = getattr(annotation, "__args__", ())
    return all(a in _SCALARS or a is type(None) for a in args)


def _response_class(route: APIRoute) -> Any:
    response_class = route.response_class
    if isinstance(response_class, DefaultPlaceholder):
        return response_class.value
    return response_class


def _endpoint_context(call: Callable[..., Any]) -> Dict[str, Any]:
    """What FastAPI's errors say about the endpoint: its file, line and name."""
    context: Dict[str, Any] = {}
    try:
        source = inspect.getsourcefile(call)
        if source is not None:
            context["file"] = source
        context["line"] = inspect.getsourcelines(call)[1]
        context["function"] = call.__name__
    except (OSError, TypeError, AttributeError):
        return {}
    return context


def _replaying(messages: List[Message], receive: Receive) -> Receive:
    """`receive` that hands out `messages` first: the body the compiled app read, for the
    FastAPI handler that serves the request after all."""
    pending = list(messages)

    async def replay() -> Message:
        if pending:
            return pending.pop(0)
        return await receive()

    return replay


def compile_route(route: APIRoute) -> Optional[ASGIApp]:
    """The compiled ASGI app for `route`, or None (with a debug line) when it keeps FastAPI's."""
    reason = _route_reason(route)
    if reason is not None:
        logger.debug(
            "route served by FastAPI's handler: %s %s (%s)", route.path, route.methods, reason
        )
        return None
    fallback: ASGIApp = route.app
    dependant = route.dependant
    call = dependant.call
    assert call is not None
    is_coroutine = inspect.iscoroutinefunction(call)
    path_fields: Tuple[Tuple[str, str, Any, Tuple[str, ...]], ...] = tuple(
        (f.name, f.alias, f, ("path", f.alias)) for f in dependant.path_params
    )
    query_fields: Tuple[Tuple[str, str, Any, Tuple[str, ...], bool, Any], ...] = tuple(
        (
            f.name,
            f.alias,
            f,
            ("query", f.alias),
            # A missing value: FastAPI reports the required ones and validates a default
            # only when asked; the compiled app leaves both to it.
            f.field_info.is_required() or bool(getattr(f.field_info, "validate_default", False)),
            f.field_info.default,
        )
        for f in dependant.query_params
    )
    body_fields: List[Any] = list(dependant.body_params)
    checks = tuple(_scope_checks(dependant) or ())
    overrides = route.dependency_overrides_provider
    response_field = route.response_field
    status_code = route.status_code
    response_args: Dict[str, Any] = {"status_code": status_code} if status_code else {}
    use_dump_json = response_field is not None and isinstance(
        route.response_class, DefaultPlaceholder
    )
    response_class = _response_class(route)
    options: Dict[str, Any] = {
        "include": route.response_model_include,
        "exclude": route.response_model_exclude,
        "by_alias": route.response_model_by_alias,
        "exclude_unset": route.response_model_exclude_unset,
        "exclude_defaults": route.response_model_exclude_defaults,
        "exclude_none": route.response_model_exclude_none,
    }
    endpoint_path = dependant.path or route.path
    # What FastAPI's errors say about the endpoint, per method and mount path: made at the
    # first answer (finding the endpoint's source line reads its file).
    contexts: Dict[Tuple[str, str], Dict[str, Any]] = {}

    async def compiled(scope: Scope, receive: Receive, send: Send) -> None:
        if telemetry_data is not None and telemetry_data() is not None:
            await fallback(scope, receive, send)
            return
        # FastAPI's order: the body is read and parsed, dependencies are solved (a check
        # raises as the dependency would), then parameters and body are validated.
        decoded: Optional[Tuple[Any]] = None
        if body_fields:
            messages, body = await _read_body(receive)
            decoded = _json_body(scope, body) if body is not None else None
            if decoded is None:
                await fallback(scope, _replaying(messages, receive), send)
                return
            receive = _replaying(messages, receive)
        if checks:
            if overrides is not None and getattr(overrides, "dependency_overrides", None):
                await fallback(scope, receive, send)  # overridden: FastAPI solves them
                return
            for check in checks:
                check(scope)
        values: Dict[str, Any] = {}
        if path_fields:
            path_params = scope["path_params"]
            for name, alias, field, loc in path_fields:
                value, errors = field.validate(path_params[alias], values, loc=loc)
                if errors:
                    await fallback(scope, receive, send)
                    return
                values[name] = value
        if query_fields:
            query = QueryParams(scope["query_string"])
            for name, alias, field, loc, leave, default in query_fields:
                raw = query.get(alias)
                if raw is None:
                    if leave:
                        await fallback(scope, receive, send)
                        return
                    values[name] = copy.deepcopy(default)
                    continue
                value, errors = field.validate(raw, values, loc=loc)
                if errors:
                    await fallback(scope, receive, send)
                    return
                values[name] = value
        if decoded is not None:
            body_values, errors = await request_body_to_args(
                body_fields, received_body=decoded[0], embed_body_fields=False
            )
            if errors:
                await fallback(scope, receive, send)
                return
            values.update(body_values)

        if is_coroutine:
            raw_response = await call(**values)
        else:
            raw_response = await run_in_threadpool(call, **values)
        if isinstance(raw_response, Response):
            await raw_response(scope, receive, send)
            return
        key = (scope["method"], scope.get("root_path", ""))
        endpoint_context = contexts.get(key)
        if endpoint_context is None:
            path = f"{key[0]} {key[1].rstrip('/')}{endpoint_path}"
            endpoint_context = contexts[key] = {**_endpoint_context(call), "path": path}
        content = await serialize_response(
            field=response_field,
            response_content=raw_response,
            is_coroutine=is_coroutine,
            endpoint_ctx=endpoint_context,  # type: ignore[arg-type]
            dump_json=use_dump_json,
            **options,
        )
        if use_dump_json:
            response = Response(content=content, media_type="application/json", **response_args)
        else:
            response = response_class(content, **response_args)
        if not is_body_allowed_for_status_code(response.status_code):
            response.body = b""
        await response(scope, receive, send)

    return compiled


async def _read_body(receive: Receive) -> Tuple[List[Message], Optional[bytes]]:
    """Every message of the request body and the body, or None for the body when the client
    went away first (FastAPI's handler then says what it says about that)."""
    messages: List[Message] = []
    chunks: List[bytes] = []
    while True:
        message = await receive()
        messages.append(message)
        if message["type"] != "http.request":
            return messages, None
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return messages, b"".join(chunks)


def _json_body(scope: Scope, body: bytes) -> Optional[Tuple[Any]]:
    """The decoded body (in a 1-tuple) when it is a non-empty JSON document declared as
    exactly `application/json`; None for anything FastAPI's handler should judge."""
    if not body:
        return None
    for name, value in scope["headers"]:
        if name == b"content-type":
            if value != b"application/json":
                return None
            try:
                return (json.loads(body),)
            except Exception:  # FastAPI's handler answers a body it cannot parse
                return None
    return None


def compile_routes(routes: Sequence[Any]) -> int:
    """Give every concrete `APIRoute` in `routes` its compiled app where it can have one.
    Returns how many were compiled."""
    reason = unsupported_reason()
    if reason is not None:
        logger.debug("routes served by FastAPI's handlers: %s", reason)
        return 0
    compiled = 0
    for route in routes:
        if type(route) not in _CONCRETE:
            if isinstance(route, APIRoute):
                logger.debug("route served by its own route class: %s", route.path)
            continue
        fast = compile_route(route)
        if fast is not None:
            route.app = fast
            compiled += 1
    return compiled


# ---------------------------------------------------------------------------------------
# Including a router as concrete routes


@functools.lru_cache(maxsize=None)
def _default_lifespan() -> type:
    """The type of the lifespan a router gets when it is given none."""
    return type(fastapi.APIRouter().lifespan_context)


def _plain(router: Any) -> bool:
    """True when every route of `router` is one `include_router_eagerly` can copy."""
    if router.on_startup or router.on_shutdown:
        return False
    if type(router.lifespan_context) is not _default_lifespan():
        return False
    # Body and form limits (FastAPI 0.16x) live in its lazy inclusion: such routers stay there.
    if getattr(router, "max_body_size", None) is not None or getattr(router, "form_limits", None):
        return False
    for route in router.routes:
        if type(route) in _CONCRETE:
            if getattr(route, "max_body_size", None) is not None or getattr(
                route, "form_limits", None
            ):
                return False
        elif type(route) not in (routing.Route, APIWebSocketRoute, routing.WebSocketRoute):
            return False
    return True


def include_router_eagerly(
    target: Any,
    router: Any,
    *,
    prefix: str = "",
    tags: Optional[List[Any]] = None,
    dependencies: Optional[Sequence[Any]] = None,
    default_response_class: Any = None,
    responses: Optional[Dict[Any, Dict[str, Any]]] = None,
    callbacks: Optional[List[Any]] = None,
    deprecated: Optional[bool] = None,
    include_in_schema: bool = True,
    generate_unique_id_function: Any = None,
    **others: Any,
) -> bool:
    """Add `router`'s routes to `target` (an `APIRouter`) one by one, as FastAPI's
    `include_router` long did, so that they are concrete routes. False, with nothing added,
    when this FastAPI cannot have compiled routes, or the router or the call has anything this
    does not copy (then include it as usual)."""
    if unsupported_reason() is not None or any(value is not None for value in others.values()):
        return False
    if not _plain(router):
        return False
    if prefix:
        if not prefix.startswith("/") or prefix.endswith("/"):
            return False  # FastAPI's own include says what is wrong
    elif any(getattr(r, "path", None) == "" for r in router.routes):
        return False
    if default_response_class is None:
        default_response_class = Default(JSONResponse)
    if generate_unique_id_function is None:
        generate_unique_id_function = Default(generate_unique_id)
    responses = responses or {}
    extra: Dict[str, Any] = {}
    accepted = inspect.signature(target.add_api_route).parameters
    for route in router.routes:
        if type(route) in _CONCRETE:
            if "strict_content_type" in accepted:
                extra["strict_content_type"] = get_value_or_default(
                    route.strict_content_type,
                    router.strict_content_type,
                    target.strict_content_type,
                )
            target.add_api_route(
                prefix + route.path,
                route.endpoint,
                response_model=route.response_model,
                status_code=route.status_code,
                tags=[*(tags or ()), *(route.tags or ())],
                dependencies=[*(dependencies or ()), *(route.dependencies or ())],
                summary=route.summary,
                description=route.description,
                response_description=route.response_description,
                responses={**responses, **route.responses},
                deprecated=route.deprecated or deprecated or target.deprecated,
                methods=route.methods,
                operation_id=route.operation_id,
                response_model_include=route.response_model_include,
                response_model_exclude=route.response_model_exclude,
                response_model_by_alias=route.response_model_by_alias,
                response_model_exclude_unset=route.response_model_exclude_unset,
                response_model_exclude_defaults=route.response_model_exclude_defaults,
                response_model_exclude_none=route.response_model_exclude_none,
                include_in_schema=route.include_in_schema
                and target.include_in_schema
                and include_in_schema,
                response_class=get_value_or_default(
                    route.response_class,
                    router.default_response_class,
                    default_response_class,
                    target.default_response_class,
                ),
                name=route.name,
                route_class_override=FlyerRoute,  # the same route, its models' fields shared
                callbacks=[*(callbacks or ()), *(route.callbacks or ())],
                openapi_extra=route.openapi_extra,
                generate_unique_id_function=get_value_or_default(
                    route.generate_unique_id_function,
                    router.generate_unique_id_function,
                    generate_unique_id_function,
                    target.generate_unique_id_function,
                ),
                **extra,
            )
        elif type(route) is routing.Route:
            target.add_route(
                prefix + route.path,
                route.endpoint,
                methods=list(route.methods or []),
                include_in_schema=route.include_in_schema,
                name=route.name,
            )
        elif type(route) is APIWebSocketRoute:
            target.add_api_websocket_route(
                prefix + route.path,
                route.endpoint,
                dependencies=[*(dependencies or ()), *(route.dependencies or ())],
                name=route.name,
            )
        else:
            target.add_websocket_route(prefix + route.path, route.endpoint, name=route.name)
    return True


class APIRouter(fastapi.APIRouter):
    """FastAPI's `APIRouter`, whose `include_router` adds concrete routes (see
    `include_router_eagerly`) so that flyer can compile them; anything it cannot copy is
    included by FastAPI as usual."""

    def include_router(self, router: Any, **kwargs: Any) -> None:
        if include_router_eagerly(self, router, **kwargs):
            return
        super().include_router(router, **kwargs)
