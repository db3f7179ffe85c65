"""Route templates: the full template with the router prefix, never a raw path."""

from __future__ import annotations

from typing import Any, Dict

import httpx
from fastapi import APIRouter, FastAPI

from flyer_telemetry._routes import UNMATCHED, route_template


async def _scope_of(app: FastAPI, path: str) -> Dict[str, Any]:
    seen: Dict[str, Any] = {}

    async def recorder(scope: Any, receive: Any, send: Any) -> None:
        await app(scope, receive, send)
        seen.update(scope)

    transport = httpx.ASGITransport(app=recorder)  # type: ignore[arg-type]
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        await client.get(path)
    return seen


async def test_templates_include_router_prefixes_with_parameters_named() -> None:
    app = FastAPI()
    users = APIRouter(prefix="/users/{user_id}")

    @users.get("/orders/{order_id}")
    async def order(user_id: str, order_id: int) -> Dict[str, Any]:
        return {}

    @users.get("")
    async def user(user_id: str) -> Dict[str, Any]:
        return {}

    app.include_router(users, prefix="/api")
    scope = await _scope_of(app, "/api/users/alice/orders/7")
    assert route_template(scope) == "/api/users/{user_id}/orders/{order_id}"
    scope = await _scope_of(app, "/api/users/bob")
    assert route_template(scope) == "/api/users/{user_id}"
    assert route_template(await _scope_of(app, "/nowhere/at/all")) == UNMATCHED


async def test_one_router_under_two_prefixes_keeps_each_prefix() -> None:
    app = FastAPI()
    items = APIRouter(prefix="/items")

    @items.get("/{item_id}")
    async def item(item_id: int) -> Dict[str, Any]:
        return {}

    app.include_router(items, prefix="/v1")
    app.include_router(items, prefix="/v2")
    for _ in range(2):  # the second time from what was learnt the first
        assert route_template(await _scope_of(app, "/v1/items/3")) == "/v1/items/{item_id}"
        assert route_template(await _scope_of(app, "/v2/items/4")) == "/v2/items/{item_id}"
