"""flyer-http inside a real flyer-core app served by uvicorn: the inbound request id goes out
as `X-Request-ID` on calls made through `Client`, `AsyncClient` and the plugin's shared
client, and an upstream that times out comes back to the caller as the 60x envelope."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable, Dict, Iterator, List

import pytest
from fastapi import APIRouter, Request

from flyer_core import create_app, load_settings
from flyer_http import AsyncClient, Client, RetryPolicy
from flyer_http._plugin import HttpPlugin


class _Upstream:
    """A loopback server recording the X-Request-ID of each request; `/slow` stalls."""

    def __init__(self) -> None:
        self.seen: List[Dict[str, Any]] = []
        self.release = threading.Event()
        upstream = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                upstream.seen.append({"path": self.path, "id": self.headers.get("X-Request-ID")})
                if self.path == "/slow":
                    upstream.release.wait(10)
                body = json.dumps({"id": self.headers.get("X-Request-ID")}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.server.handle_error = lambda request, address: None  # type: ignore[method-assign]
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}
        )
        self.thread.start()

    def close(self) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(5)


@pytest.fixture
def upstream() -> Iterator[_Upstream]:
    server = _Upstream()
    try:
        yield server
    finally:
        server.close()


def _app(upstream_url: str) -> Any:
    settings = load_settings(None, environ={"flyer_http_timeout": "0.3"})
    app = create_app(apps=None, settings=settings, plugins=[HttpPlugin()])
    router = APIRouter()
    sync_client = Client()
    no_retry = RetryPolicy(attempts=1)

    @router.get("/sync")
    def via_client() -> Any:  # runs in the threadpool: the context travels with it
        return sync_client.get(upstream_url + "/sync").json()

    @router.get("/async")
    async def via_async_client() -> Any:
        async with AsyncClient() as client:
            return (await client.get(upstream_url + "/async")).json()

    @router.get("/shared")
    async def via_shared_client(request: Request) -> Any:
        return (await request.app.state.http.get(upstream_url + "/shared")).json()

    @router.get("/own-id")
    async def caller_header_wins(request: Request) -> Any:
        response = await request.app.state.http.get(
            upstream_url + "/own-id", headers={"X-Request-ID": "chosen-by-caller"}
        )
        return response.json()

    @router.get("/slow")
    async def upstream_times_out(request: Request) -> Any:
        return (await request.app.state.http.get(upstream_url + "/slow", retry=no_retry)).json()

    app.include_router(router, prefix=settings.base_url)
    return app


@pytest.mark.parametrize("path", ["/sync", "/async", "/shared"])
def test_inbound_request_id_reaches_the_upstream(
    upstream: _Upstream, path: str, serve_app: Callable[..., Any]
) -> None:
    with serve_app(_app(upstream.url)) as client:
        response = client.get("/flyer" + path, headers={"X-Request-ID": "itest-abc-123"})
        generated = client.get("/flyer" + path)
    assert response.status_code == 200, response.text
    assert response.json() == {"id": "itest-abc-123"}
    own_id = generated.headers["x-request-id"]
    assert own_id
    assert own_id != "itest-abc-123"
    assert [s["id"] for s in upstream.seen] == ["itest-abc-123", own_id]


def test_caller_set_header_wins(upstream: _Upstream, serve_app: Callable[..., Any]) -> None:
    with serve_app(_app(upstream.url)) as client:
        response = client.get("/flyer/own-id", headers={"X-Request-ID": "inbound-1"})
    assert response.status_code == 200, response.text
    assert upstream.seen == [{"path": "/own-id", "id": "chosen-by-caller"}]


def test_upstream_timeout_becomes_the_604_envelope(
    upstream: _Upstream, serve_app: Callable[..., Any]
) -> None:
    app = _app(upstream.url)
    with serve_app(app) as client:
        shared = app.state.http
        response = client.get("/flyer/slow", headers={"X-Request-ID": "slow-1"})
        upstream.release.set()
    assert response.status_code == 504, response.text
    body = response.json()
    assert body["code"] == 604
    assert body["request_id"] == "slow-1"
    assert upstream.seen == [{"path": "/slow", "id": "slow-1"}]
    assert shared.timeout.read == 0.3  # flyer_http_timeout reached the plugin's client
    assert shared.is_closed  # and the app's shutdown closed it
