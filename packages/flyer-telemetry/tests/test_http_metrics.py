"""flyer-http calls, retries and outcomes counted for every client of the app's process, the
ready-made `flyer_http.requests` / `aiorequests` included, against a real loopback upstream."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Dict, Iterator

import httpx
import pytest
from fastapi import APIRouter

import flyer_http
from flyer_core import create_app
from flyer_telemetry import TelemetryPlugin, http_metrics_hooks


class Upstream:
    """`/ok` answers 200; `/flaky` 503 once, then 200; `/down` always 503."""

    def __init__(self) -> None:
        seen: Dict[str, int] = {}
        lock = threading.Lock()

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                with lock:
                    seen[self.path] = seen.get(self.path, 0) + 1
                    count = seen[self.path]
                ok = self.path == "/ok" or (self.path == "/flaky" and count > 1)
                body = b"{}"
                self.send_response(200 if ok else 503)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def upstream() -> Iterator[Upstream]:
    found = Upstream()
    yield found
    found.close()


def _samples(text: str, name: str) -> Dict[str, float]:
    return {
        line.rsplit(" ", 1)[0]: float(line.rsplit(" ", 1)[1])
        for line in text.splitlines()
        if line.startswith(name + "{")
    }


async def test_calls_of_the_ready_made_and_own_clients_are_counted(
    monkeypatch: pytest.MonkeyPatch, upstream: Upstream
) -> None:
    for name, value in {
        "flyer_http_retry_attempts": "3",
        "flyer_http_retry_multiplier": "0.01",
        "flyer_http_retry_max_wait": "0.02",
    }.items():
        monkeypatch.setenv(name, value)
    app = create_app(apps=None, env_file=None, plugins=[TelemetryPlugin()])
    router = APIRouter()

    @router.get("/relay/{path}")
    async def relay(path: str) -> Dict[str, Any]:
        answer = await flyer_http.aiorequests.get(f"{upstream.url}/{path}")
        return {"data": answer.status_code}

    @router.get("/relay-sync/{path}")
    def relay_sync(path: str) -> Dict[str, Any]:
        return {"data": flyer_http.requests.get(f"{upstream.url}/{path}").status_code}

    app.include_router(router, prefix="/flyer")
    transport = httpx.ASGITransport(app=app)
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            for path, status in (("ok", 200), ("flaky", 200), ("down", 503)):
                assert (await client.get(f"/flyer/relay/{path}")).json()["data"] == status
            assert (await client.get("/flyer/relay-sync/ok")).json()["data"] == 200
            # A client of the app's own, built with the hooks: counted once, not twice.
            async with flyer_http.AsyncClient(**http_metrics_hooks()) as own:
                assert (await own.get(f"{upstream.url}/ok")).status_code == 200
            text = (await client.get("/flyer/metrics")).text
        await flyer_http.release_default_clients()
    assert _samples(text, "flyer_http_client_calls_total") == {
        'flyer_http_client_calls_total{host="127.0.0.1",method="GET",outcome="success"}': 4.0,
        'flyer_http_client_calls_total{host="127.0.0.1",method="GET",outcome="failure"}': 1.0,
    }
    # One retry for /flaky, two for /down (three attempts, all 503).
    assert _samples(text, "flyer_http_client_retries_total") == {
        'flyer_http_client_retries_total{host="127.0.0.1",method="GET"}': 3.0
    }


async def test_nothing_counted_once_the_app_stopped(upstream: Upstream) -> None:
    plugin = TelemetryPlugin()
    app = create_app(apps=None, env_file=None, plugins=[plugin])
    async with app.router.lifespan_context(app):
        pass
    async with flyer_http.AsyncClient() as client:
        assert (await client.get(f"{upstream.url}/ok")).status_code == 200
    assert plugin.metrics is not None
    assert "flyer_http_client_calls_total{" not in plugin.metrics.render().decode()
