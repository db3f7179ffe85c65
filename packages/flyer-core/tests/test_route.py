"""flyer's route class builds one OpenAPI field per documented model, and the app's OpenAPI
document stays FastAPI's: the same app built with FastAPI's `APIRoute` documents the same."""

from __future__ import annotations

import json
from typing import Any, Dict, List, Optional, Union

import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute
from pydantic import BaseModel

import flyer_core._app
import flyer_core._fastpath
from flyer_core import APIRouter, create_app
from flyer_core._fastpath import unsupported_reason
from flyer_core._route import FlyerRoute
from flyer_status.schemas import DataResponse, ErrorResponse


class Item(BaseModel):
    itemId: int
    name: str
    note: Optional[str] = None


class Conflict(BaseModel):
    holder: str


def _router() -> APIRouter:
    router = APIRouter(tags=["corpus"])
    documented: Dict[Union[int, str], Dict[str, Any]] = {
        404: {"model": ErrorResponse, "description": "No such item"},
        409: {"model": Conflict},
        410: {"model": List[Item], "description": "Gone, with what replaced it"},
        "4XX": {"model": ErrorResponse},
        "default": {"description": "Anything else", "content": {"text/plain": {}}},
    }

    @router.get("/items/{item_id}", response_model=DataResponse[Item], responses=documented)
    async def get_item(item_id: int) -> Any:
        return {"data": {"itemId": item_id, "name": "widget"}}

    @router.put("/items/{item_id}", response_model=Item, responses={409: {"model": Conflict}})
    async def put_item(item_id: int, item: Item) -> Any:
        return item

    @router.delete(
        "/items/{item_id}",
        status_code=204,
        response_model=None,
        responses={404: {"model": ErrorResponse}},
    )
    async def delete_item(item_id: int) -> None:
        return None

    @router.get("/plain", responses={503: {"model": ErrorResponse}, 202: {"model": int}})
    def plain() -> Dict[str, str]:
        return {"ok": "yes"}

    return router


def _app(monkeypatch: pytest.MonkeyPatch, route_class: type) -> FastAPI:
    # Build the app with the route class given, in every place flyer picks it.
    monkeypatch.setattr(flyer_core._app, "FlyerRoute", route_class)
    monkeypatch.setattr(flyer_core._fastpath, "FlyerRoute", route_class)
    app = create_app(None)  # with every plugin installed here and its management routes
    app.include_router(_router(), prefix="/api")
    app.add_api_route("/direct", lambda: {}, responses={500: {"model": ErrorResponse}})
    monkeypatch.undo()
    return app


def _documented(app: FastAPI, model: Any, route_class: type = APIRoute) -> List[Any]:
    """The fields of every `responses` entry documenting `model`, route by route (routes of
    `route_class` and its subclasses)."""
    return [
        route.response_fields[code]
        for route in app.router.routes
        if isinstance(route, route_class)
        for code, response in route.responses.items()
        if response.get("model") is model
    ]


def test_every_route_documenting_a_model_shares_its_field(monkeypatch: pytest.MonkeyPatch) -> None:
    app = _app(monkeypatch, FlyerRoute)
    errors = _documented(app, ErrorResponse, FlyerRoute)
    assert len(errors) >= 5  # /ready: 422, 500, 503; /direct: 422, 500; plugins: theirs
    assert len({id(field) for field in errors}) == 1
    if unsupported_reason() is None:
        # Routers come in as concrete routes (see _fastpath), and they are flyer's too.
        assert all(type(r) is FlyerRoute for r in app.router.routes if isinstance(r, APIRoute))
        conflicts = _documented(app, Conflict)
        assert len(conflicts) == 2
        assert conflicts[0] is conflicts[1]
        # Not a model: its own field per route, as FastAPI builds it.
        assert len(_documented(app, List[Item])) == 1


def test_the_openapi_document_is_the_one_fastapis_routes_give(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    fastapis = _app(monkeypatch, APIRoute)
    flyers = _app(monkeypatch, FlyerRoute)
    assert len(_documented(fastapis, ErrorResponse)) == len(_documented(flyers, ErrorResponse))
    assert len({id(f) for f in _documented(fastapis, ErrorResponse)}) > 1  # FastAPI's: one each
    document = flyers.openapi()
    # The same document, key order included (openapi.json is served as it is built).
    assert json.dumps(document) == json.dumps(fastapis.openapi())
    assert "ErrorResponse" in document["components"]["schemas"]
    assert "Conflict" in document["components"]["schemas"]
    item = document["paths"]["/api/items/{item_id}"]["get"]["responses"]
    assert set(item) == {"200", "404", "409", "410", "4XX", "default", "422", "500"}


def test_a_model_documented_on_a_status_without_a_body_is_refused(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _app(monkeypatch, FlyerRoute)  # ErrorResponse's field is built and kept by now
    app = FastAPI()
    app.router.route_class = FlyerRoute
    with pytest.raises(AssertionError, match="Status code 304 must not have a response body"):
        app.add_api_route("/x", lambda: {}, responses={304: {"model": ErrorResponse}})


def test_flyers_routes_answer_as_before(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from fastapi.testclient import TestClient

    # No lifespan needed; Starlette's oldest TestClient also leaves a stream unclosed when
    # used as a context manager, which this suite's warnings-as-errors would report later.
    client = TestClient(_app(monkeypatch, FlyerRoute))
    assert client.get("/api/items/7").json()["data"] == {
        "itemId": 7,
        "name": "widget",
        "note": None,
    }
    assert client.get("/api/items/x").status_code == 422
    assert client.delete("/api/items/7").status_code == 204


def test_flyers_plain_routes_stay_starlette_routes(monkeypatch: pytest.MonkeyPatch) -> None:
    from starlette.routing import Route as StarletteRoute

    app = _app(monkeypatch, FlyerRoute)
    plain = {
        route.path: type(route)
        for route in app.router.routes
        if route.path == "/" or route.path.endswith(("/health_check", "/async", ".json", "/docs"))
    }
    assert len(plain) == 6, plain
    assert set(plain.values()) == {StarletteRoute}, plain
