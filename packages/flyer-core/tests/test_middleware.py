"""Request id, access log, X-Process-Time, trusted proxies and CORS over a real uvicorn."""

from __future__ import annotations

import logging
import os
import re
from typing import Any, Dict

import httpx
import pytest
import structlog
from fastapi import APIRouter, Request

from flyer_core import create_app, get_request_id, logger
from flyer_core._middleware import new_request_id

leaf_log = logging.getLogger("flyer.leafpkg")


def router() -> APIRouter:
    r = APIRouter()

    @r.get("/work")
    async def work(request: Request) -> Dict[str, Any]:
        logger.info("async work", step=1)
        leaf_log.info("leaf call", extra={"upstream": "billing", "elapsed_ms": 3})
        logger.warn("ancestor style warn")
        client = request.client.host if request.client else ""
        return {"data": {"rid": get_request_id(), "client": client}}

    @r.get("/bound")
    async def bound() -> Dict[str, Any]:
        structlog.contextvars.bind_contextvars(tenant="acme", attempt=2)
        return {"data": None}

    @r.get("/sync-work")
    def sync_work() -> Dict[str, Any]:
        logger.info("sync work")
        leaf_log.warning("sync leaf")
        logger.error("ancestor style error")
        return {"data": {"rid": get_request_id()}}

    return r


@pytest.fixture
def app_factory(make_settings: Any) -> Any:
    def make(**variables: Any) -> Any:
        app = create_app(None, make_settings(**variables), plugins=[])
        app.include_router(router(), prefix="/flyer")
        return app

    return make


@pytest.mark.parametrize("path", ["/flyer/work", "/flyer/sync-work"])
def test_request_id_sent_in_is_echoed_and_on_every_log_line(
    serve: Any, app_factory: Any, logs: Any, path: str
) -> None:
    with serve(app_factory()) as url:
        response = httpx.get(url + path, headers={"X-Request-ID": "req-42.a:b"})
    assert response.headers["x-request-id"] == "req-42.a:b"
    assert response.json()["data"]["rid"] == "req-42.a:b"
    lines = [
        r
        for r in logs.read()
        if r.get("logger", "").startswith("flyer")
        and r["event"] not in ("app started", "app stopped")
    ]
    assert len(lines) == 4, lines  # three from the endpoint, one access line
    assert {r["request_id"] for r in lines} == {"req-42.a:b"}


def test_leaf_extra_fields_are_rendered(serve: Any, app_factory: Any, logs: Any) -> None:
    with serve(app_factory()) as url:
        httpx.get(url + "/flyer/work")
    (line,) = logs.where(event="leaf call")
    assert (line["upstream"], line["elapsed_ms"], line["logger"]) == ("billing", 3, "flyer.leafpkg")
    assert logs.where(event="ancestor style warn")[0]["level"] == "warning"


@pytest.mark.parametrize("sent", ["bad id with spaces", "x" * 200, '"quoted"', ""])
def test_insane_request_ids_are_replaced(serve: Any, app_factory: Any, sent: str) -> None:
    with serve(app_factory()) as url:
        response = httpx.get(url + "/flyer/work", headers={"X-Request-ID": sent})
    rid = response.headers["x-request-id"]
    assert rid != sent
    assert len(rid) == 32
    assert int(rid, 16) >= 0
    assert response.json()["data"]["rid"] == rid


def test_every_request_gets_its_own_id(serve: Any, app_factory: Any) -> None:
    with serve(app_factory()) as url, httpx.Client(base_url=url) as client:
        ids = {client.get("/flyer/work").headers["x-request-id"] for _ in range(5)}
    assert len(ids) == 5


def test_generated_ids_are_hex_and_unique() -> None:
    ids = [new_request_id() for _ in range(1000)]
    assert len(set(ids)) == len(ids)
    assert all(re.fullmatch("[0-9a-f]{32}", i) for i in ids), ids[:3]


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_a_forked_worker_never_reuses_the_parents_ids() -> None:
    new_request_id()
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: report its next ids and leave
        os.close(read)
        os.write(write, " ".join(new_request_id() for _ in range(300)).encode())
        os._exit(0)
    os.close(write)
    with os.fdopen(read) as pipe:
        child = set(pipe.read().split())
    os.waitpid(pid, 0)
    parent = {new_request_id() for _ in range(300)}
    assert len(child) == 300
    assert not child & parent


def test_access_log_line_fields(serve: Any, app_factory: Any, logs: Any) -> None:
    with serve(app_factory()) as url:
        response = httpx.get(url + "/flyer/work?x=1")
    (line,) = logs.where(logger="flyer.access")
    assert line["event"] == "request"
    assert line["method"] == "GET"
    assert line["path"] == "/flyer/work"
    assert line["status"] == 200
    assert line["client"] == "127.0.0.1"
    assert line["request_id"] == response.headers["x-request-id"]
    assert isinstance(line["duration_ms"], float)
    assert line["duration_ms"] >= 0
    assert "timestamp" in line
    assert line["level"] == "info"


def test_access_line_carries_the_structlog_context_bound_in_the_request(
    serve: Any, app_factory: Any, logs: Any
) -> None:
    with serve(app_factory()) as url, httpx.Client(base_url=url) as client:
        first = client.get("/flyer/bound")
        second = client.get("/flyer/work")
    access = {line["request_id"]: line for line in logs.where(logger="flyer.access")}
    bound = access[first.headers["x-request-id"]]
    assert (bound["tenant"], bound["attempt"], bound["path"]) == ("acme", 2, "/flyer/bound")
    # The bound keys come right after "event", as the processor chain puts them (their own
    # order follows the context's, which is not defined).
    keys = list(bound)
    assert keys[0] == "event"
    assert set(keys[1:3]) == {"tenant", "attempt"}
    plain = access[second.headers["x-request-id"]]
    assert "tenant" not in plain  # bound in one request, not leaked into the next


def test_access_log_off_and_excluded_paths(serve: Any, app_factory: Any, logs: Any) -> None:
    with serve(app_factory(access_log=0)) as url:
        httpx.get(url + "/flyer/work")
        httpx.get(url + "/nope")
    assert logs.where(logger="flyer.access") == []
    with serve(app_factory(access_log_exclude="/health_check,/flyer/work")) as url:
        httpx.get(url + "/health_check")
        httpx.get(url + "/flyer/work")
        httpx.get(url + "/flyer/sync-work")
    assert [r["path"] for r in logs.where(logger="flyer.access")] == ["/flyer/sync-work"]


def test_x_forwarded_for_ignored_without_trusted_proxies(serve: Any, app_factory: Any) -> None:
    with serve(app_factory()) as url:
        response = httpx.get(url + "/flyer/work", headers={"X-Forwarded-For": "203.0.113.9"})
    assert response.json()["data"]["client"] == "127.0.0.1"


def test_x_forwarded_for_from_a_trusted_proxy(serve: Any, app_factory: Any, logs: Any) -> None:
    with serve(app_factory(trusted_proxies="127.0.0.1, 10.0.0.0/8")) as url:
        # The client spoofs a hop; the rightmost untrusted address is the real client.
        headers = {"X-Forwarded-For": "1.2.3.4, 203.0.113.9, 10.1.2.3"}
        response = httpx.get(url + "/flyer/work", headers=headers)
    assert response.json()["data"]["client"] == "203.0.113.9"
    assert logs.where(logger="flyer.access")[0]["client"] == "203.0.113.9"


def test_x_forwarded_for_from_an_untrusted_peer(serve: Any, app_factory: Any) -> None:
    with serve(app_factory(trusted_proxies="10.0.0.1")) as url:
        response = httpx.get(url + "/flyer/work", headers={"X-Forwarded-For": "203.0.113.9"})
    assert response.json()["data"]["client"] == "127.0.0.1"


def test_no_header_leaks_the_server_address(serve: Any, app_factory: Any) -> None:
    with serve(app_factory(), server_header=False) as url:
        response = httpx.get(url + "/flyer/work")
    for value in response.headers.values():
        assert "127.0.0.1" not in value


def test_cors(serve: Any, app_factory: Any) -> None:
    with serve(app_factory(cors_origins="https://app.example")) as url:
        preflight = httpx.options(
            url + "/flyer/work",
            headers={"Origin": "https://app.example", "Access-Control-Request-Method": "GET"},
        )
        simple = httpx.get(url + "/flyer/work", headers={"Origin": "https://app.example"})
        other = httpx.get(url + "/flyer/work", headers={"Origin": "https://evil.example"})
    assert preflight.status_code == 200
    assert preflight.headers["access-control-allow-origin"] == "https://app.example"
    assert simple.headers["access-control-allow-origin"] == "https://app.example"
    assert "x-request-id" in simple.headers["access-control-expose-headers"].lower()
    assert "access-control-allow-origin" not in other.headers


def test_cors_off_by_default(serve: Any, app_factory: Any) -> None:
    with serve(app_factory()) as url:
        response = httpx.get(url + "/flyer/work", headers={"Origin": "https://app.example"})
    assert "access-control-allow-origin" not in response.headers


def test_flyer_middleware_is_the_error_boundary(make_settings: Any) -> None:
    from starlette.middleware.errors import ServerErrorMiddleware

    from flyer_core._middleware import (
        BodyLimit,
        ErrorBoundary,
        LifespanMessages,
        RelativeRedirects,
        RequestId,
    )

    def layers(app: Any) -> list:
        found = []
        while app is not None and len(found) < 50:
            found.append(app)
            app = getattr(app, "app", None)
        return found

    stack = layers(create_app(None, make_settings(), plugins=[]).build_middleware_stack())
    # One concern per layer, outermost first; the options that are off add none.
    assert [type(x) for x in stack[:5]] == [
        RequestId,
        ErrorBoundary,
        RelativeRedirects,
        BodyLimit,
        LifespanMessages,
    ]
    (boundary,) = [x for x in stack if isinstance(x, ErrorBoundary)]
    assert boundary.error_handler is not None
    assert not [x for x in stack if isinstance(x, ServerErrorMiddleware)]
    # debug=True keeps Starlette's traceback page, and flyer's middleware around it
    debug = layers(
        create_app(None, make_settings(), plugins=[], debug=True).build_middleware_stack()
    )
    (boundary,) = [x for x in debug if isinstance(x, ErrorBoundary)]
    assert boundary.error_handler is None
    assert [x for x in debug if isinstance(x, ServerErrorMiddleware)]


def test_unhandled_error_with_debug_on_keeps_the_request_id(
    serve: Any, make_settings: Any, logs: Any
) -> None:
    app = create_app(None, make_settings(), plugins=[], debug=True)
    boom = APIRouter()

    @boom.get("/boom")
    async def fail() -> None:
        raise RuntimeError("kaput")

    app.include_router(boom)
    with serve(app) as url:
        response = httpx.get(url + "/boom", headers={"X-Request-ID": "dbg-1"})
    assert response.status_code == 500
    assert response.headers["x-request-id"] == "dbg-1"
    (line,) = logs.wait(logger="flyer.access", request_id="dbg-1")
    assert line["status"] == 500


def _scheme_router() -> APIRouter:
    r = APIRouter()

    @r.get("/shop/")
    async def shop(request: Request) -> Dict[str, Any]:
        return {"data": {"scheme": request.url.scheme, "self": str(request.url_for("shop"))}}

    return r


@pytest.mark.parametrize("host", ["evil.example", "evil.example:8443", None])
def test_a_trailing_slash_redirect_is_never_built_from_the_host_header(
    serve: Any, make_settings: Any, host: Any
) -> None:
    app = create_app(None, make_settings(), plugins=[])
    app.include_router(_scheme_router(), prefix="/flyer")
    with serve(app) as url:
        headers = {"Host": host} if host else {}
        docs = httpx.get(url + "/flyer/docs/", headers=headers)
        shop = httpx.get(url + "/flyer/shop?x=1", headers=headers)
        sneaky = httpx.get(url + "//evil.example/", headers=headers)
    assert docs.status_code in (301, 302, 307, 308), docs.text
    assert docs.headers["location"] == "/flyer/docs"
    assert shop.headers["location"] == "/flyer/shop/?x=1"
    for response in (docs, shop, sneaky):
        location = response.headers.get("location", "")
        assert "evil.example" not in location or location.startswith("/evil"), location
        assert "127.0.0.1" not in location
        assert not location.startswith("//")


def test_x_forwarded_proto_from_a_trusted_proxy_keeps_https(serve: Any, make_settings: Any) -> None:
    app = create_app(None, make_settings(trusted_proxies="127.0.0.1"), plugins=[])
    app.include_router(_scheme_router(), prefix="/flyer")
    with serve(app) as url:
        proxied = {"X-Forwarded-Proto": "https", "Host": "api.example"}
        served = httpx.get(url + "/flyer/shop/", headers=proxied)
        redirect = httpx.get(url + "/flyer/shop", headers=proxied)
    assert served.json()["data"] == {"scheme": "https", "self": "https://api.example/flyer/shop/"}
    assert redirect.headers["location"] == "/flyer/shop/"  # relative: the browser keeps https


def test_x_forwarded_proto_from_an_untrusted_peer_is_ignored(
    serve: Any, make_settings: Any
) -> None:
    for trusted in ("", "10.0.0.1"):
        app = create_app(None, make_settings(trusted_proxies=trusted), plugins=[])
        app.include_router(_scheme_router(), prefix="/flyer")
        with serve(app) as url:
            served = httpx.get(url + "/flyer/shop/", headers={"X-Forwarded-Proto": "https"})
        assert served.json()["data"]["scheme"] == "http"
