"""Compiled routes answer exactly as FastAPI does: every request of a corpus is sent to the
same app built twice (flyer_fast_routes on and off) and the answers compared byte for byte
(status, headers, body), apart from X-Process-Time; the OpenAPI documents are equal too."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any, Dict, List, Optional, Tuple

import httpx
import pytest
from fastapi import Depends, Header, HTTPException, Request
from fastapi.responses import JSONResponse, PlainTextResponse
from fastapi.testclient import TestClient
from pydantic import BaseModel

from flyer_core import APIRouter, FlyerError, create_app
from flyer_core._fastpath import unsupported_reason
from flyer_status.schemas import DataResponse


class Item(BaseModel):
    itemId: int
    name: str
    price: float = 1.5
    note: Optional[str] = None


def _routers() -> List[APIRouter]:
    router = APIRouter(tags=["corpus"])

    @router.get("/items/{item_id}", response_model=DataResponse[Item])
    async def get_item(item_id: int) -> Any:
        return {"code": 200, "data": {"itemId": item_id, "name": "widget ✓"}}

    @router.get("/typed/{item_id:int}")
    async def typed(item_id: int, verbose: bool = False, ratio: float = 0.5) -> Dict[str, Any]:
        return {"id": item_id, "verbose": verbose, "ratio": ratio, "big": 1e16}

    @router.get("/search")
    def search(q: str, limit: int = 10, page: Optional[int] = None) -> Dict[str, Any]:
        return {"q": q, "limit": limit, "page": page}

    @router.get("/uuid/{key}", response_model=DataResponse[Dict[str, str]])
    async def by_uuid(key: uuid.UUID) -> Any:
        return DataResponse(data={"key": str(key)})

    @router.post("/items", response_model=Item, status_code=201)
    async def create(item: Item) -> Any:
        return item

    @router.post("/items/exclude", response_model=Item, response_model_exclude_none=True)
    async def create_excluding(item: Item) -> Any:
        return item

    @router.get("/raw")
    async def raw() -> Any:
        return JSONResponse({"raw": True}, status_code=202, headers={"X-Raw": "1"})

    @router.get("/text", response_class=PlainTextResponse)
    async def text() -> str:
        return "plain"

    @router.delete("/gone/{item_id}", status_code=204, response_model=None)
    async def gone(item_id: int) -> None:
        return None

    @router.get("/missing/{item_id}")
    async def missing(item_id: int) -> Any:
        if item_id == 1:
            raise HTTPException(404, "no such item", headers={"X-Why": "gone"})
        if item_id == 2:
            raise FlyerError(409, "Conflict", "taken")
        raise ValueError("boom")

    @router.get("/wrong", response_model=Item)
    async def wrong() -> Any:
        return {"itemId": "not a number"}

    def dependency(x: int = 1) -> int:
        return x

    @router.get("/dep")
    async def with_dependency(value: int = Depends(dependency)) -> Dict[str, int]:
        return {"value": value}

    @router.get("/header")
    async def with_header(x_token: str = Header("none")) -> Dict[str, str]:
        return {"token": x_token}

    @router.get("/request")
    async def with_request(request: Request) -> Dict[str, str]:
        return {"path": request.url.path}

    nested = APIRouter(prefix="/nested", tags=["inner"])

    @nested.get("/{name}", summary="A nested route")
    async def nested_route(name: str) -> Dict[str, str]:
        return {"name": name}

    router.include_router(nested, responses={418: {"description": "teapot"}})
    return [router]


# (method, path, headers, body)
REQUESTS: List[Tuple[str, str, Dict[str, str], Optional[bytes]]] = [
    ("GET", "/flyer/items/7", {}, None),
    ("GET", "/flyer/items/abc", {}, None),
    ("GET", "/flyer/items/7?extra=1", {}, None),
    ("HEAD", "/flyer/items/7", {}, None),
    ("POST", "/flyer/items/7", {}, None),
    ("GET", "/flyer/typed/5?verbose=yes&ratio=2.25", {}, None),
    ("GET", "/flyer/typed/5?verbose=maybe", {}, None),
    ("GET", "/flyer/typed/x", {}, None),
    ("GET", "/flyer/search?q=a", {}, None),
    ("GET", "/flyer/search?q=a&limit=3&page=2", {}, None),
    ("GET", "/flyer/search", {}, None),
    ("GET", "/flyer/search?q=a&limit=many", {}, None),
    ("GET", "/flyer/search?q=%E4%BD%A0&q=b", {}, None),
    ("GET", f"/flyer/uuid/{uuid.UUID(int=5)}", {}, None),
    ("GET", "/flyer/uuid/not-a-uuid", {}, None),
    ("POST", "/flyer/items", {"content-type": "application/json"}, b'{"itemId": 1, "name": "a"}'),
    (
        "POST",
        "/flyer/items",
        {"content-type": "application/json; charset=utf-8"},
        b'{"itemId": 2, "name": "b", "note": "\\u4f60"}',
    ),
    ("POST", "/flyer/items", {"content-type": "application/json"}, b'{"itemId": "x"}'),
    ("POST", "/flyer/items", {"content-type": "application/json"}, b'{"itemId": 1,'),
    ("POST", "/flyer/items", {"content-type": "application/json"}, b""),
    ("POST", "/flyer/items", {"content-type": "text/plain"}, b'{"itemId": 1, "name": "a"}'),
    ("POST", "/flyer/items", {}, b'{"itemId": 1, "name": "a"}'),
    ("POST", "/flyer/items", {"content-type": "application/json"}, b"[1, 2]"),
    ("POST", "/flyer/items", {"content-type": "application/json"}, b'{"itemId": 1e400}'),
    (
        "POST",
        "/flyer/items/exclude",
        {"content-type": "application/json"},
        b'{"itemId": 3, "name": "c"}',
    ),
    ("GET", "/flyer/raw", {}, None),
    ("GET", "/flyer/text", {}, None),
    ("DELETE", "/flyer/gone/3", {}, None),
    ("GET", "/flyer/missing/1", {}, None),
    ("GET", "/flyer/missing/2", {}, None),
    ("GET", "/flyer/missing/3", {}, None),
    ("GET", "/flyer/wrong", {}, None),
    ("GET", "/flyer/dep?x=4", {}, None),
    ("GET", "/flyer/header", {"x-token": "t"}, None),
    ("GET", "/flyer/request", {}, None),
    ("GET", "/flyer/nested/n%20m", {}, None),
    ("GET", "/flyer/nope", {}, None),
    ("GET", "/flyer/items/7/", {}, None),
    ("GET", "/flyer/items/7", {"accept-language": "zh"}, None),
]


def _app(monkeypatch: pytest.MonkeyPatch, fast: bool) -> Any:
    monkeypatch.setenv("flyer_fast_routes", "1" if fast else "0")
    monkeypatch.setenv("flyer_access_log", "0")
    app = create_app(None, plugins=[], env_file=None)
    for router in _routers():
        app.include_router(router, prefix="/flyer")
    return app


Answer = Tuple[int, List[Tuple[str, str]], bytes]


def _answers(
    app: Any, requests: List[Tuple[str, str, Dict[str, str], Optional[bytes]]], tag: str
) -> List[Answer]:
    """Every request's answer from `app`, called over ASGI in order, each with its own fixed
    `X-Request-ID` (the envelope carries it); `X-Process-Time` left out."""

    async def send_all() -> List[Answer]:
        transport = httpx.ASGITransport(app=app)
        found: List[Answer] = []
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            for number, (method, path, headers, body) in enumerate(requests):
                response = await client.request(
                    method,
                    path,
                    headers={**headers, "x-request-id": f"{tag}-{number}"},
                    content=body,
                    follow_redirects=False,
                )
                kept = [(k, v) for k, v in response.headers.items() if k != "x-process-time"]
                found.append((response.status_code, kept, response.content))
        return found

    return asyncio.run(send_all())


def test_compiled_routes_answer_byte_for_byte_as_fastapi(monkeypatch: pytest.MonkeyPatch) -> None:
    slow = _app(monkeypatch, fast=False)
    fast = _app(monkeypatch, fast=True)
    slow_answers, fast_answers = _answers(slow, REQUESTS, "req"), _answers(fast, REQUESTS, "req")
    for request, one, other in zip(REQUESTS, slow_answers, fast_answers):
        assert one == other, request
    statuses = {answer[0] for answer in fast_answers}
    assert {200, 201, 202, 204, 404, 409, 422, 500} <= statuses
    assert fast.openapi() == slow.openapi()

    compiled = {
        route.path
        for route in fast.router.routes
        if getattr(getattr(route, "app", None), "__name__", "") == "compiled"
    }
    if unsupported_reason() is not None:
        assert compiled == set()
        return
    assert {
        "/flyer/items/{item_id}",
        "/flyer/typed/{item_id:int}",
        "/flyer/search",
        "/flyer/uuid/{key}",
        "/flyer/items",
        "/flyer/items/exclude",
        "/flyer/raw",
        "/flyer/gone/{item_id}",
        "/flyer/missing/{item_id}",
        "/flyer/wrong",
        "/flyer/nested/{name}",
    } <= compiled
    # Shapes FastAPI keeps: dependencies, header parameters, a Request parameter, a custom
    # response class.
    assert not compiled & {"/flyer/dep", "/flyer/header", "/flyer/request", "/flyer/text"}
    assert not any(
        getattr(getattr(route, "app", None), "__name__", "") == "compiled"
        for route in slow.router.routes
    )


def _basic(user: str, password: str) -> str:
    import base64

    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


AUTH_REQUESTS: List[Tuple[str, str, Dict[str, str], Optional[bytes]]] = [
    (method, path, {**headers, **auth}, body)
    for auth in (
        {},
        {"authorization": _basic("ü-user", "päss")},
        {"authorization": _basic("ü-user", "wrong")},
        {"authorization": "Basic !!!"},
        {"authorization": "Bearer x"},
    )
    for method, path, headers, body in [
        ("GET", "/flyer/items/7", {}, None),
        ("GET", "/flyer/items/abc", {}, None),
        (
            "POST",
            "/flyer/items",
            {"content-type": "application/json"},
            b'{"itemId": 1, "name": "a"}',
        ),
        ("POST", "/flyer/items", {"content-type": "application/json"}, b'{"itemId": 1,'),
        ("POST", "/flyer/items", {"content-type": "application/json"}, b'{"itemId": "x"}'),
    ]
]


def test_routes_behind_basic_auth_are_compiled_and_answer_as_fastapi(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from fastapi import Depends as Depend

    monkeypatch.setenv("flyer_auth_enable", "1")
    monkeypatch.setenv("flyer_auth_user", "ü-user")
    monkeypatch.setenv("flyer_auth_pass", "päss")
    apps = []
    for fast in (False, True):
        monkeypatch.setenv("flyer_fast_routes", "1" if fast else "0")
        monkeypatch.setenv("flyer_access_log", "0")
        app = create_app(None, plugins=[], env_file=None)
        for router in _routers():
            app.include_router(router, prefix="/flyer", dependencies=[Depend(app.state.flyer_auth)])
        apps.append(app)
    answers = [_answers(app, AUTH_REQUESTS, "a") for app in apps]
    for request, one, other in zip(AUTH_REQUESTS, *answers):
        assert one == other, request
    assert {200, 201, 401, 422} <= {status for status, _, _ in answers[1]}
    assert apps[1].openapi() == apps[0].openapi()
    if unsupported_reason() is None:
        compiled = {
            route.path
            for route in apps[1].router.routes
            if getattr(getattr(route, "app", None), "__name__", "") == "compiled"
        }
        assert {"/flyer/items/{item_id}", "/flyer/items"} <= compiled
        assert "/flyer/dep" not in compiled


def test_a_router_with_form_limits_is_included_by_fastapi(monkeypatch: pytest.MonkeyPatch) -> None:
    import inspect

    import fastapi

    if "form_limits" not in inspect.signature(fastapi.APIRouter).parameters:
        pytest.skip(f"FastAPI {fastapi.__version__} has no form limits")
    router = APIRouter(form_limits={"max_files": 1})  # type: ignore[call-arg]

    @router.get("/limited")
    async def limited() -> Dict[str, str]:
        return {"ok": "1"}

    monkeypatch.setenv("flyer_access_log", "0")
    app = create_app(None, plugins=[], env_file=None)
    app.include_router(router, prefix="/flyer")
    # Not copied as a concrete route: FastAPI keeps the router's limits where it applies them.
    assert "/flyer/limited" not in {getattr(route, "path", None) for route in app.router.routes}
    with TestClient(app) as client:
        assert client.get("/flyer/limited").json() == {"ok": "1"}


async def _serve_once(app: Any, path: str) -> Any:
    """Start `app`'s lifespan, GET `path` over ASGI, stop the lifespan; the JSON answer."""
    inbox: asyncio.Queue[Dict[str, Any]] = asyncio.Queue()
    outbox: asyncio.Queue[Dict[str, Any]] = asyncio.Queue()
    await inbox.put({"type": "lifespan.startup"})
    scope = {"type": "lifespan", "asgi": {"version": "3.0"}, "state": {}}
    task = asyncio.ensure_future(app(scope, inbox.get, outbox.put))
    assert (await outbox.get())["type"] == "lifespan.startup.complete"
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        answer = (await client.get(path)).json()
    await inbox.put({"type": "lifespan.shutdown"})
    assert (await outbox.get())["type"] == "lifespan.shutdown.complete"
    await task
    return answer


def test_a_router_fastapi_cannot_copy_is_included_as_usual(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A router with a lifespan of its own is left to FastAPI's inclusion: the lifespan runs
    exactly as when a bare FastAPI app includes it (FastAPI 0.110 runs none)."""
    from contextlib import asynccontextmanager

    from fastapi import FastAPI

    def router_and_events() -> Tuple[APIRouter, List[str]]:
        events: List[str] = []

        @asynccontextmanager
        async def lifespan(_: Any) -> Any:
            events.append("start")
            yield
            events.append("stop")

        router = APIRouter(lifespan=lifespan)

        @router.get("/ping")
        async def ping() -> Dict[str, str]:
            return {"pong": "1"}

        return router, events

    monkeypatch.setenv("flyer_access_log", "0")
    app = create_app(None, plugins=[], env_file=None)
    router, events = router_and_events()
    app.include_router(router, prefix="/flyer")
    bare = FastAPI()
    bare_router, bare_events = router_and_events()
    bare.include_router(bare_router, prefix="/flyer")

    assert asyncio.run(_serve_once(app, "/flyer/ping")) == {"pong": "1"}
    assert asyncio.run(_serve_once(bare, "/flyer/ping")) == {"pong": "1"}
    assert events == bare_events
