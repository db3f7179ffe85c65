"""flyer's middleware layers one by one, each around a small Starlette app on a real uvicorn,
and their composition in `RequestMiddleware`."""

from __future__ import annotations

from typing import Any, List

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, RedirectResponse, Response, StreamingResponse
from starlette.routing import Route

from flyer_core import create_app
from flyer_core._middleware import RequestMiddleware
from flyer_core._middleware.body_limit import BodyLimitMiddleware
from flyer_core._middleware.boundary import ErrorBoundaryMiddleware
from flyer_core._middleware.envelope import EnvelopeMiddleware
from flyer_core._middleware.proxy_headers import TrustedProxyMiddleware
from flyer_core._middleware.request_log import RequestLogMiddleware
from flyer_status import request_id_var


def layers(middleware: RequestMiddleware) -> List[type]:
    """The classes of the HTTP layers, outermost first, down to the wrapped app."""
    found, app = [], middleware.http
    while app is not middleware.app:
        found.append(type(app))
        app = app.app
    return found


def test_the_default_stack_leaves_out_what_is_not_configured(make_settings: Any) -> None:
    stack = create_app(None, make_settings(), plugins=[]).build_middleware_stack()
    assert layers(stack) == [
        RequestLogMiddleware,
        BodyLimitMiddleware,
        ErrorBoundaryMiddleware,
    ]


def test_each_setting_adds_its_layer_in_order(make_settings: Any) -> None:
    settings = make_settings(trusted_proxies="10.0.0.0/8", lang_negotiate=1, max_body_size=0)
    stack = create_app(None, settings, plugins=[]).build_middleware_stack()
    assert layers(stack) == [
        RequestLogMiddleware,
        TrustedProxyMiddleware,
        EnvelopeMiddleware,
        ErrorBoundaryMiddleware,
    ]


async def _crash(request: Request) -> Response:
    raise RuntimeError("kaput")


async def _crash_midway(request: Request) -> Response:
    async def body() -> Any:
        yield b"first part"
        raise RuntimeError("kaput after the start")

    return StreamingResponse(body())


async def _answer(request: Request, exc: Exception) -> Response:
    return PlainTextResponse(f"handled {type(exc).__name__}", status_code=500)


def _plain(*routes: Route) -> Starlette:
    return Starlette(routes=list(routes))


def test_error_boundary_answers_with_the_handler_unless_the_answer_started(
    serve: Any,
) -> None:
    inner = _plain(Route("/crash", _crash), Route("/midway", _crash_midway))
    # Starlette's own error middleware re-raises: the app below is its router, bare.
    app = ErrorBoundaryMiddleware(inner.router, error_handler=_answer)
    with serve(app) as url:
        crashed = httpx.get(url + "/crash")
        with pytest.raises(httpx.HTTPError):  # cut off mid-body: no second answer is sent
            httpx.get(url + "/midway")
    assert (crashed.status_code, crashed.text) == (500, "handled RuntimeError")


async def _liveness(scope: Any, receive: Any, send: Any) -> None:
    await PlainTextResponse("alive")(scope, receive, send)


def test_liveness_is_answered_before_the_app_for_get_and_head_only(serve: Any) -> None:
    inner = _plain(Route("/health_check", _crash, methods=["GET", "HEAD", "POST"]))
    app = ErrorBoundaryMiddleware(
        inner.router, _answer, liveness=_liveness, liveness_paths={"/health_check"}
    )
    with serve(app) as url:
        assert httpx.get(url + "/health_check").text == "alive"
        assert httpx.head(url + "/health_check").status_code == 200
        assert httpx.post(url + "/health_check").text == "handled RuntimeError"


async def _seen_id(request: Request) -> Response:
    return PlainTextResponse(request_id_var.get() or "")


def test_request_log_sets_the_id_and_both_headers_around_any_app(serve: Any) -> None:
    app = RequestLogMiddleware(_plain(Route("/id", _seen_id)), access_log=False)
    with serve(app) as url:
        kept = httpx.get(url + "/id", headers={"X-Request-ID": "abc-1"})
        made = httpx.get(url + "/id")
    assert kept.text == kept.headers["x-request-id"] == "abc-1"
    assert made.text == made.headers["x-request-id"] != "abc-1"
    assert float(made.headers["x-process-time"]) >= 0
    assert request_id_var.get() is None  # reset after each request


async def _to(request: Request) -> Response:
    return RedirectResponse(str(request.query_params["to"]))


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        ("http://127.0.0.1:{port}/a?b=1", "/a?b=1"),
        ("http://127.0.0.1:{port}//evil.example/x", "/evil.example/x"),
        ("https://elsewhere.example/a", "https://elsewhere.example/a"),
        ("/already/relative", "/already/relative"),
    ],
)
def test_redirects_to_this_server_become_relative(serve: Any, target: str, expected: str) -> None:
    app = ErrorBoundaryMiddleware(_plain(Route("/to", _to)).router)
    with serve(app) as url:
        port = url.rsplit(":", 1)[1]
        response = httpx.get(url + "/to", params={"to": target.format(port=port)})
    assert response.status_code == 307
    assert response.headers["location"] == expected


async def _client(request: Request) -> Response:
    client = request.client.host if request.client else ""
    return PlainTextResponse(f"{request.url.scheme} {client}")


def test_trusted_proxy_layer_alone(serve: Any) -> None:
    from ipaddress import ip_network

    app = TrustedProxyMiddleware(_plain(Route("/c", _client)), (ip_network("127.0.0.1/32"),))
    headers = {"X-Forwarded-For": "198.51.100.7, 127.0.0.1", "X-Forwarded-Proto": "https"}
    with serve(app) as url:
        assert httpx.get(url + "/c", headers=headers).text == "https 198.51.100.7"
        assert httpx.get(url + "/c").text == "http 127.0.0.1"


async def _echo_body(request: Request) -> Response:
    return PlainTextResponse(str(len(await request.body())))


def test_body_limit_layer_alone(serve: Any) -> None:
    app = BodyLimitMiddleware(_plain(Route("/b", _echo_body, methods=["POST"])), 10)
    with serve(app) as url:
        small = httpx.post(url + "/b", content=b"x" * 10)
        large = httpx.post(url + "/b", content=b"x" * 11)
    assert (small.status_code, small.text) == (200, "10")
    assert large.status_code == 413
    assert "larger than 10 bytes" in large.json()["detail"]
