"""A scripted HTTP server on a loopback port, and clients to drive against it (sync and async).

The server is the standard library's `ThreadingHTTPServer`, so these tests run with nothing
but flyer-http and its test tools installed. Each path can be given a script: a list of
steps played one per request, after which the path answers 200 with an echo of the request:

- `503` or `(429, {"Retry-After": "1"})` or `(200, {...}, b"body")`: answer with that status;
- `("stall", seconds)`: wait that long (or until the server stops), then answer 200;
- `"cut"`: send headers promising 100 bytes, send 10, close the connection;
- `"drop"`: close the connection without answering.
"""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable, Dict, Iterator, List, Optional, Tuple

import pytest

import flyer_http


class Received:
    """One request as the server saw it."""

    def __init__(self, method: str, path: str, headers: Dict[str, str], body: bytes) -> None:
        self.method = method
        self.path = path
        self.headers = headers
        self.body = body
        self.at = time.monotonic()
        self.wall = time.time()  # comparable with an HTTP date


class Upstream:
    """The scripted server: `.url`, `.script(path, *steps)`, `.received`, `.hits(path)`."""

    def __init__(self) -> None:
        self.received: List[Received] = []
        self._scripts: Dict[str, List[Any]] = {}
        self._lock = threading.Lock()
        self.stopping = threading.Event()
        upstream = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def _read_body(self) -> bytes:
                if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
                    chunks = []
                    while True:
                        size = int(self.rfile.readline().strip().split(b";")[0], 16)
                        chunk = self.rfile.read(size)
                        self.rfile.readline()
                        if not size:
                            return b"".join(chunks)
                        chunks.append(chunk)
                return self.rfile.read(int(self.headers.get("Content-Length") or 0))

            def _handle(self) -> None:
                body = self._read_body()
                path = self.path.split("?")[0]
                headers = {k.lower(): v for k, v in self.headers.items()}
                with upstream._lock:
                    upstream.received.append(Received(self.command, self.path, headers, body))
                    script = upstream._scripts.get(path)
                    step = script.pop(0) if script else None
                if isinstance(step, tuple) and step[0] == "stall":
                    upstream.stopping.wait(step[1])
                    step = None
                if step == "drop":
                    self.close_connection = True
                    return
                if step == "cut":
                    self.send_response(200)
                    self.send_header("Content-Length", "100")
                    self.end_headers()
                    self.wfile.write(b"0123456789")
                    self.wfile.flush()
                    self.close_connection = True
                    return
                status, extra, payload = 200, {}, None
                if isinstance(step, int):
                    status = step
                elif isinstance(step, tuple):
                    status, extra = step[0], step[1]
                    payload = step[2] if len(step) > 2 else None
                if payload is None:
                    payload = json.dumps(
                        {
                            "method": self.command,
                            "path": self.path,
                            "headers": headers,
                            "body": body.decode("latin-1"),
                        }
                    ).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                for name, value in extra.items():
                    self.send_header(name, value)
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(payload)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = do_HEAD = _handle

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        # A client that timed out has gone away; writing to it fails, as expected.
        self.server.handle_error = lambda request, address: None  # type: ignore[method-assign]
        self.port = self.server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self._thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()

    def script(self, path: str, *steps: Any) -> str:
        """Play `steps` for the next requests to `path`; returns the full URL."""
        with self._lock:
            self._scripts[path] = list(steps)
        return self.url + path

    def hits(self, path: str) -> List[Received]:
        with self._lock:
            return [r for r in self.received if r.path.split("?")[0] == path]

    def close(self) -> None:
        self.stopping.set()
        self.server.shutdown()
        self.server.server_close()
        self._thread.join(5)


@pytest.fixture
def upstream() -> Iterator[Upstream]:
    server = Upstream()
    try:
        yield server
    finally:
        server.close()


class Driver:
    """A `Client` or an `AsyncClient` behind one synchronous face, so tests cover both."""

    def __init__(self, kind: str, kwargs: Dict[str, Any]) -> None:
        self.kind = kind
        self.loop: Optional[asyncio.AbstractEventLoop] = None
        if kind == "sync":
            self.client: Any = flyer_http.Client(**kwargs)
        else:
            self.loop = asyncio.new_event_loop()
            self.client = flyer_http.AsyncClient(**kwargs)

    def _run(self, value: Any) -> Any:
        return value if self.loop is None else self.loop.run_until_complete(value)

    def request(self, method: str, url: str, **kwargs: Any) -> Any:
        return self._run(self.client.request(method, url, **kwargs))

    def get(self, url: str, **kwargs: Any) -> Any:
        return self._run(self.client.get(url, **kwargs))

    def post(self, url: str, **kwargs: Any) -> Any:
        return self._run(self.client.post(url, **kwargs))

    def stream_bytes(self, method: str, url: str, **kwargs: Any) -> Tuple[int, bytes]:
        """Status and body of a streamed call, read chunk by chunk."""
        if self.loop is None:
            with self.client.stream(method, url, **kwargs) as response:
                return response.status_code, b"".join(response.iter_bytes())

        async def read() -> Tuple[int, bytes]:
            async with self.client.stream(method, url, **kwargs) as response:
                return response.status_code, b"".join([c async for c in response.aiter_bytes()])

        return self._run(read())

    def close(self) -> None:
        if self.loop is None:
            self.client.close()
        else:
            self.loop.run_until_complete(self.client.aclose())
            # As asyncio.run() does: finish async generators httpx left suspended.
            self.loop.run_until_complete(self.loop.shutdown_asyncgens())
            self.loop.close()


@pytest.fixture(params=["sync", "async"])
def make_client(request: pytest.FixtureRequest) -> Iterator[Callable[..., Driver]]:
    """`make_client(**kwargs)`: a Client (or an AsyncClient, in the async run) with kwargs."""
    drivers: List[Driver] = []

    def make(**kwargs: Any) -> Driver:
        driver = Driver(request.param, kwargs)
        drivers.append(driver)
        return driver

    make.kind = request.param  # type: ignore[attr-defined]

    try:
        yield make
    finally:
        for driver in drivers:
            driver.close()


@pytest.fixture
def closed_port() -> int:
    """A loopback port nothing listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


#: A policy that retries quickly: tests measure attempts, not patience.
FAST = flyer_http.RetryPolicy(multiplier=0.01, max_wait=0.05, jitter=0)


@pytest.fixture
def fast() -> flyer_http.RetryPolicy:
    return FAST
