"""Fixtures for flyer-core's tests: real uvicorn servers on loopback ports, log capture."""

from __future__ import annotations

import json
import socket
import sys
import threading
import time
from contextlib import contextmanager
from typing import Any, Callable, ContextManager, Dict, Iterator, List

import pytest
import uvicorn


def pytest_configure(config: pytest.Config) -> None:
    # Starlette 1.x asks for httpx2 in its TestClient; the httpx we test with still works.
    config.addinivalue_line(
        "filterwarnings", "ignore:Using `httpx` with `starlette.testclient` is deprecated"
    )
    # The oldest Starlette (minimums) builds its TestClient with httpx's `app=` shortcut.
    config.addinivalue_line(
        "filterwarnings", "ignore:The 'app' shortcut is now deprecated:DeprecationWarning"
    )
    # uvicorn[standard] on older Pythons picks websockets' legacy implementation.
    config.addinivalue_line(
        "filterwarnings", "ignore:websockets.legacy is deprecated:DeprecationWarning"
    )
    config.addinivalue_line(
        "filterwarnings",
        "ignore:websockets.server.WebSocketServerProtocol is deprecated:DeprecationWarning",
    )


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def free_port() -> Callable[[], int]:
    """A function returning a loopback port nothing listens on."""
    return _free_port


@contextmanager
def _serve(app: Any, **config: Any) -> Iterator[str]:
    port = _free_port()
    server = uvicorn.Server(
        uvicorn.Config(
            app,
            host="127.0.0.1",
            port=port,
            log_config=None,
            access_log=False,
            lifespan="on",
            proxy_headers=False,  # as flyer's runners: only flyer_trusted_proxies counts
            **config,
        )
    )

    def run() -> None:
        try:
            server.run()
        except SystemExit:  # uvicorn exits when the app fails to start
            pass

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        if not thread.is_alive():
            raise RuntimeError("uvicorn did not start (see the log)")
        if time.monotonic() > deadline:
            server.should_exit = True
            raise RuntimeError("uvicorn did not start within 15 s")
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(15)


@pytest.fixture
def serve() -> Callable[..., ContextManager[str]]:
    """`with serve(app) as url:` runs `app` under a real uvicorn on a free loopback port."""
    return _serve


class LogLines:
    """The JSON log lines written to stdout so far (flyer's handler writes to sys.stdout)."""

    def __init__(self, capsys: pytest.CaptureFixture[str]) -> None:
        self.capsys = capsys
        self.lines: List[Dict[str, Any]] = []

    def read(self) -> List[Dict[str, Any]]:
        out = self.capsys.readouterr().out
        for line in out.splitlines():
            line = line.strip()
            if line.startswith("{"):
                self.lines.append(json.loads(line))
        return self.lines

    def where(self, **match: Any) -> List[Dict[str, Any]]:
        return [r for r in self.read() if all(r.get(k) == v for k, v in match.items())]

    def wait(self, timeout: float = 5, **match: Any) -> List[Dict[str, Any]]:
        """Like `where`, polling until a line matches: the access line follows the response."""
        deadline = time.monotonic() + timeout
        found = self.where(**match)
        while not found and time.monotonic() < deadline:
            time.sleep(0.01)
            found = self.where(**match)
        return found


@pytest.fixture
def logs(capsys: pytest.CaptureFixture[str]) -> LogLines:
    return LogLines(capsys)


@pytest.fixture
def make_settings(tmp_path: Any) -> Callable[..., Any]:
    """Settings from the given variables only (no .env, not the process environment)."""
    from flyer_core import load_settings

    def make(**variables: Any) -> Any:
        env = {"flyer_log_format": "json"}
        env.update({f"flyer_{k}": str(v) for k, v in variables.items()})
        return load_settings(None, env)

    return make


@pytest.fixture(autouse=True)
def _restore_logging() -> Iterator[None]:
    import logging

    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    for handler in list(root.handlers):
        if handler not in handlers:
            root.removeHandler(handler)
            handler.close()
    root.setLevel(level)


@pytest.fixture
def fresh_modules(tmp_path: Any) -> Iterator[None]:
    """Forget the modules a test imported from its tmp dir (and only those)."""
    yield
    root = str(tmp_path)
    for name, module in list(sys.modules.items()):
        if str(getattr(module, "__file__", None) or "").startswith(root):
            del sys.modules[name]
