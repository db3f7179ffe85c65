"""Every error flyer answers, over a real uvicorn: HTTP status, envelope, request id, log line."""

from __future__ import annotations

from typing import Any, Dict, Iterator

import httpx
import pytest
from fastapi import APIRouter, HTTPException
from pydantic import BaseModel

from flyer_core import (
    FlyerError,
    ThirdPartyError,
    ThirdPartyTimeoutError,
    ThirdPartyUnavailableError,
    create_app,
    status,
)
from flyer_core.schemas import DataResponse, PageInfo, PageResponse

ENVELOPE_KEYS = {"code", "message", "detail", "data", "request_id"}


class Item(BaseModel):
    itemId: int
    name: str


def business_router() -> APIRouter:
    router = APIRouter(tags=["demo"])

    @router.get("/items/{item_id}", response_model=DataResponse[Item])
    async def get_item(item_id: int) -> Dict[str, Any]:
        return {"code": status.HTTP_200_OK, "data": {"itemId": item_id, "name": "x"}}

    @router.get("/items", response_model=PageResponse[Item])
    def list_items(size: int = 2) -> Dict[str, Any]:
        rows = [{"itemId": i, "name": f"n{i}"} for i in range(size)]
        return {"data": rows, "pageInfo": PageInfo(total=size, offset=0, size=size)}

    @router.post("/items", response_model=DataResponse[Item])
    async def create_item(item: Item) -> Dict[str, Any]:
        return {"data": item}

    @router.get("/teapot")
    async def teapot() -> None:
        raise HTTPException(418, "no coffee", headers={"X-Brew": "tea"})

    @router.get("/detail-dict")
    async def detail_dict() -> None:
        raise HTTPException(409, detail={"conflict": "name"})

    @router.get("/flyer-error")
    async def flyer_error() -> None:
        raise FlyerError(404, "no such item", detail="item 7")

    @router.get("/business-code")
    async def business_code() -> None:
        raise FlyerError(4001, "quota exceeded", http_status=409, data={"left": 0})

    @router.get("/timeout")
    async def timeout() -> None:
        raise ThirdPartyTimeoutError("billing did not answer")

    @router.get("/unavailable")
    def unavailable() -> None:
        raise ThirdPartyUnavailableError("billing is down")

    @router.get("/third-party")
    async def third_party() -> None:
        raise ThirdPartyError("upstream broke", detail="HTTP 500")

    @router.get("/boom")
    async def boom() -> None:
        raise RuntimeError("secret token abc in /srv/app/config.py")

    @router.get("/boom-sync")
    def boom_sync() -> None:
        raise KeyError("/etc/passwd")

    @router.post("/upload")
    async def upload(payload: Dict[str, Any]) -> Dict[str, Any]:
        return {"data": len(payload)}

    return router


@pytest.fixture
def url(serve: Any, make_settings: Any) -> Iterator[str]:
    app = create_app(None, make_settings(max_body_size="1k"), plugins=[])
    app.include_router(business_router(), prefix="/flyer")
    with serve(app) as base:
        yield base


def call(url: str, method: str, path: str, **kwargs: Any) -> httpx.Response:
    with httpx.Client(base_url=url, timeout=10) as client:
        return client.request(method, path, **kwargs)


def check(response: httpx.Response, http_status: int, code: int, logs: Any) -> Dict[str, Any]:
    assert response.status_code == http_status, response.text
    body = response.json()
    assert set(body) == ENVELOPE_KEYS
    assert body["code"] == code
    request_id = response.headers["x-request-id"]
    assert body["request_id"] == request_id
    assert float(response.headers["x-process-time"]) >= 0
    access = logs.wait(logger="flyer.access", request_id=request_id)
    assert len(access) == 1, access
    assert access[0]["status"] == http_status
    assert access[0]["path"] == response.request.url.path
    return body


def test_success_in_the_envelope(url: str, logs: Any) -> None:
    body = check(call(url, "GET", "/flyer/items/7"), 200, 200, logs)
    assert body["data"] == {"itemId": 7, "name": "x"}

    page = call(url, "GET", "/flyer/items", params={"size": 3}).json()
    assert page["pageInfo"] == {"total": 3, "offset": 0, "size": 3}
    assert len(page["data"]) == 3
    assert page["request_id"]


def test_validation_error_lists_each_bad_field(url: str, logs: Any) -> None:
    response = call(url, "POST", "/flyer/items", json={"itemId": "x"})
    body = check(response, 422, 422, logs)
    fields = {tuple(f["loc"]) for f in body["data"]}
    assert fields == {("body", "itemId"), ("body", "name")}
    assert "body.itemId" in body["detail"]
    assert "body.name" in body["detail"]
    assert "/" not in body["detail"].replace("body.", "")


def test_path_validation_error(url: str, logs: Any) -> None:
    body = check(call(url, "GET", "/flyer/items/abc"), 422, 422, logs)
    assert body["data"][0]["loc"] == ["path", "item_id"]


def test_http_exception_keeps_its_headers_and_detail(url: str, logs: Any) -> None:
    response = call(url, "GET", "/flyer/teapot")
    body = check(response, 418, 418, logs)
    assert response.headers["x-brew"] == "tea"
    assert body["detail"] == "no coffee"

    body = check(call(url, "GET", "/flyer/detail-dict"), 409, 409, logs)
    assert body["data"] == {"conflict": "name"}


def test_not_found_and_method_not_allowed(url: str, logs: Any) -> None:
    body = check(call(url, "GET", "/no/such/path"), 404, 404, logs)
    assert body["message"] == "Not Found"
    response = call(url, "DELETE", "/flyer/items/1")
    check(response, 405, 405, logs)
    assert "GET" in response.headers["allow"]


def test_flyer_errors(url: str, logs: Any) -> None:
    body = check(call(url, "GET", "/flyer/flyer-error"), 404, 404, logs)
    assert (body["message"], body["detail"]) == ("no such item", "item 7")
    body = check(call(url, "GET", "/flyer/business-code"), 409, 4001, logs)
    assert body["data"] == {"left": 0}


@pytest.mark.parametrize(
    ("path", "http_status", "code"),
    [
        ("/flyer/timeout", 504, 604),
        ("/flyer/unavailable", 503, 603),
        ("/flyer/third-party", 502, 600),
    ],
)
def test_third_party_errors_travel_as_gateway_statuses(
    url: str, logs: Any, path: str, http_status: int, code: int
) -> None:
    check(call(url, "GET", path), http_status, code, logs)


@pytest.mark.parametrize("path", ["/flyer/boom", "/flyer/boom-sync"])
def test_unhandled_error_is_a_generic_500_logged_once(url: str, logs: Any, path: str) -> None:
    response = call(url, "GET", path)
    body = check(response, 500, 500, logs)
    assert body["message"] == "Internal Server Error"
    assert body["detail"] == ""
    assert body["data"] is None
    assert "Traceback" not in response.text
    assert "/srv" not in response.text
    assert "/etc" not in response.text
    assert "secret" not in response.text
    errors = [r for r in logs.read() if r.get("level") == "error"]
    assert len(errors) == 1, errors
    assert errors[0]["request_id"] == body["request_id"]
    assert "Traceback" in errors[0]["exception"]


def test_body_limit_by_content_length(url: str, logs: Any) -> None:
    response = call(url, "POST", "/flyer/upload", json={"x": "y" * 2000})
    body = check(response, 413, 413, logs)
    assert "1024" in body["detail"]


def test_body_limit_while_streaming(url: str, logs: Any) -> None:
    def chunks() -> Iterator[bytes]:
        yield b'{"x": "'
        for _ in range(20):
            yield b"y" * 100
        yield b'"}'

    response = call(
        url, "POST", "/flyer/upload", content=chunks(), headers={"content-type": "application/json"}
    )
    assert "content-length" not in response.request.headers
    check(response, 413, 413, logs)
    # A small chunked body still goes through.
    small = call(
        url,
        "POST",
        "/flyer/upload",
        content=iter([b'{"a": 1}']),
        headers={"content-type": "application/json"},
    )
    assert small.json()["data"] == 1


def test_status_code_base_offsets_error_codes(serve: Any, make_settings: Any, logs: Any) -> None:
    app = create_app(None, make_settings(status_code_base=10000), plugins=[])
    app.include_router(business_router(), prefix="/flyer")
    with serve(app) as base:
        check(call(base, "GET", "/nope"), 404, 10404, logs)
        check(call(base, "GET", "/flyer/timeout"), 504, 10604, logs)
        assert call(base, "GET", "/flyer/items/1").json()["code"] == 200


def test_openapi_documents_the_envelope(url: str) -> None:
    doc = call(url, "GET", "/flyer/openapi.json").json()
    schemas = doc["components"]["schemas"]
    operation = doc["paths"]["/flyer/items/{item_id}"]["get"]
    ok = operation["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
    ok_schema = schemas[ok.rsplit("/", 1)[1]]
    assert set(ok_schema["properties"]) == ENVELOPE_KEYS
    assert ok_schema["properties"]["data"]["anyOf"][0]["$ref"].endswith("/Item")
    for code in ("422", "500"):
        ref = operation["responses"][code]["content"]["application/json"]["schema"]["$ref"]
        assert set(schemas[ref.rsplit("/", 1)[1]]["properties"]) == ENVELOPE_KEYS
    assert "HTTPValidationError" not in schemas
    ready = doc["paths"]["/flyer/ready"]["get"]["responses"]
    assert {"200", "503"} <= set(ready)


def test_request_id_from_error_responses_is_the_one_sent(url: str, logs: Any) -> None:
    response = call(url, "GET", "/missing", headers={"X-Request-ID": "abc-123"})
    body = check(response, 404, 404, logs)
    assert body["request_id"] == "abc-123"


class _Jobs:
    """A plugin mounting a management-style route that raises FlyerError, as plugins should."""

    name = "jobs"

    def setup(self, app: Any, settings: Any) -> None:
        from flyer_status import FlyerError

        @app.get(f"{settings.base_url}/jobs/{{job_id}}")
        async def show(job_id: str) -> None:
            raise FlyerError(404, "Not Found", f"no scheduled job with id {job_id!r}")

        @app.post(f"{settings.base_url}/jobs/{{job_id}}/run")
        def run(job_id: str) -> Any:
            # As flyer-sched's router builds its errors: the current app's renderer, in a
            # sync route (thread pool) too.
            from fastapi.responses import JSONResponse

            from flyer_status import current_renderer

            body = current_renderer().body(409, "Conflict", f"job {job_id!r} is already running")
            return JSONResponse(body, status_code=409)

    async def check(self) -> bool:
        return False


def test_one_renderer_offsets_every_error_once(serve: Any, make_settings: Any, logs: Any) -> None:
    """413 from the middleware, 503 from readiness, a plugin's error, a 404: one offset each."""
    from flyer_status import EnvelopeRenderer

    settings = make_settings(
        status_code_base=10000, max_body_size="1k", management_open_without_auth=1
    )
    app = create_app(None, settings, plugins=[_Jobs()])
    renderer = app.state.flyer_envelope
    assert isinstance(renderer, EnvelopeRenderer)
    assert renderer.code(404) == 10404
    with serve(app) as base:
        too_big = call(base, "POST", "/flyer/jobs/x", content=b"x" * 4096)
        assert too_big.status_code == 413
        assert too_big.json()["code"] == 10413
        check(call(base, "GET", "/flyer/ready"), 503, 10503, logs)
        body = check(call(base, "GET", "/flyer/jobs/nightly"), 404, 10404, logs)
        assert body["message"] == "Not Found"
        assert body["detail"] == "no scheduled job with id 'nightly'"
        check(call(base, "GET", "/flyer/nope"), 404, 10404, logs)
        body = check(call(base, "POST", "/flyer/jobs/nightly/run"), 409, 10409, logs)
        assert body["message"] == "Conflict"
